//! Two governance replicas on one database, on SQLite and PostgreSQL: a grant written through
//! one reaches the other's access index by the other's tail of the shared outbox alone (no call
//! on the second replica), and so does its revocation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm_migration::MigratorTrait;
use weft_governance::follow::engine::Engine;
use weft_governance::store::migrations::Migrator;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::{CreateGrantRequest, Grant, GrantState, grant};
use weft_storage::Store;
use weft_storage::resources::{self, Edit};

async fn replica(url: &str) -> Store {
    Store::new(weft_storage::connect(url).await.unwrap(), "governance")
}

/// Waits until `done` holds of the replica's index (the tail polls every 250 ms).
async fn eventually(engine: &Arc<Engine>, what: &str, done: impl Fn(&Engine) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(engine) {
        assert!(
            Instant::now() < deadline,
            "{what}: not seen by the other replica"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_written_by_one_replica_reaches_the_others_access_index() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let url = weft_testkit::fresh_database(&backend, dir.path(), "governance")
            .await
            .unwrap();
        let writer = replica(&url).await;
        Migrator::up(writer.db(), None).await.unwrap();
        let reader = Engine::rebuild(replica(&url).await).await.unwrap();
        let tail = tokio::spawn(reader.clone().tail_own_outbox());
        assert!(reader.index().grants_of("users/bob").is_empty());

        let grant = Grant {
            name: "grants/g1".into(),
            principal: "users/bob".into(),
            permissions: vec![Permission::Select as i32],
            target: Some(grant::Target::Resource("domains/sales".into())),
            state: GrantState::Active as i32,
            ..Default::default()
        };
        let request = CreateGrantRequest::default();
        let created: Grant =
            resources::create(&writer, "users/admin", "CreateGrant", "", &request, {
                let grant = grant.clone();
                move |_| Box::pin(async move { Ok(grant) })
            })
            .await
            .unwrap();
        eventually(&reader, "the grant", |engine| {
            engine.index().grants_of("users/bob").len() == 1
        })
        .await;
        let last = weft_storage::outbox::last_sequence(&writer).await.unwrap();
        eventually(&reader, "the sequence", |engine| {
            engine.index_sequence() == last
        })
        .await;

        let _: Grant = resources::delete(
            &writer,
            "users/admin",
            Edit::new("DeleteGrant", &created.name, &created.etag),
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await
        .unwrap();
        eventually(&reader, "the deletion", |engine| {
            engine.index().grants_of("users/bob").is_empty()
        })
        .await;
        tail.abort();
    }
}
