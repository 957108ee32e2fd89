//! The outbox and WatchEvents: concurrent writers whose transactions commit in any order, and
//! readers (in-process and a separate "replica" store) that must see every event exactly once,
//! in sequence order, never skipping one. Plus the journal chain stays linear and verifies.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use sea_orm::{EntityTrait, PaginatorTrait};
use sea_orm_migration::prelude::*;
use weft_storage::entities::outbox;
use weft_storage::{Change, Store};

struct RuntimeOnly;

impl MigratorTrait for RuntimeOnly {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(weft_storage::migration::CreateRuntimeTables)]
    }
}

const WRITERS: usize = 8;
const WRITES_PER_WRITER: usize = 40;

fn change(writer: usize, index: usize) -> Change {
    Change {
        action: "Test".into(),
        event_type: "test.written".into(),
        resource: format!("tests/{writer}-{index}"),
        payload: prost_types::Any {
            type_url: "type.googleapis.com/test".into(),
            value: vec![writer as u8],
        },
        detail: serde_json::json!({ "writer": writer, "index": index }),
    }
}

async fn collect(store: Store, expected: usize) -> Vec<i64> {
    let stream = weft_storage::outbox::watch(store, 0, vec![]);
    tokio::pin!(stream);
    let mut sequences = Vec::new();
    while sequences.len() < expected {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("the watcher keeps receiving")
            .expect("the stream does not end")
            .expect("no error");
        sequences.push(event.sequence);
    }
    sequences
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_make_a_reader_skip_an_event() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let url = weft_testkit::fresh_database(&backend, dir.path(), "outbox")
            .await
            .unwrap();
        let db = weft_storage::connect(&url).await.unwrap();
        RuntimeOnly::up(&db, None).await.unwrap();
        let store = Store::new(db, "test");
        // A second store on its own pool, as another replica of the service would have: it is
        // not woken by this store's commits and must rely on polling.
        let replica = Store::new(weft_storage::connect(&url).await.unwrap(), "test");

        let rolled_back = (0..WRITES_PER_WRITER).filter(|i| i % 9 == 4).count() * WRITERS;
        let expected = WRITERS * WRITES_PER_WRITER - rolled_back;
        let local_reader = tokio::spawn(collect(store.clone(), expected));
        let replica_reader = tokio::spawn(collect(replica.clone(), expected));

        let writers = (0..WRITERS).map(|writer| {
            let store = store.clone();
            tokio::spawn(async move {
                for index in 0..WRITES_PER_WRITER {
                    let txn = store.begin_write("users/test").await.unwrap();
                    // Transactions of different lengths, so that they start and end interleaved.
                    let pause = ((writer * 7 + index * 3) % 5) as u64;
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    if index % 9 == 4 {
                        // A rolled-back transaction leaves a permanent gap readers must pass.
                        drop(txn);
                        continue;
                    }
                    txn.commit(vec![change(writer, index)]).await.unwrap();
                }
            })
        });
        for writer in writers {
            writer.await.unwrap();
        }
        let committed = outbox::Entity::find().count(store.db()).await.unwrap() as usize;
        assert_eq!(committed, expected);

        let local_reader = local_reader.await.unwrap();
        let replica_reader = replica_reader.await.unwrap();
        for (name, seen) in [("local", local_reader), ("replica", replica_reader)] {
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "{name} reader saw events out of order"
            );
            let all: BTreeSet<i64> = outbox::Entity::find()
                .all(store.db())
                .await
                .unwrap()
                .into_iter()
                .map(|row| row.seq)
                .collect();
            assert_eq!(
                seen.into_iter().collect::<BTreeSet<_>>(),
                all,
                "{name} reader missed events"
            );
        }

        let report = weft_storage::journal::verify_chain(store.db())
            .await
            .unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.records as usize, committed);
    }
}
