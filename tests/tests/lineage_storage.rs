//! Lineage's storage, on SQLite and PostgreSQL: two replicas on one database (a batch one
//! writes reaches the other's in-memory graph through the outbox, as one
//! `lineage.events.ingested` event for the whole call; the call is one journal record naming
//! what it wrote; raw events are kept compressed), and raw events written before compression
//! stay readable and keep their idempotency across the migration.

use std::collections::BTreeSet;
use std::time::Duration;
use weft_runtime::Caller;

use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use sea_orm_migration::MigratorTrait;
use weft_lineage::domain::Lineage;
use weft_lineage::store::entities::event;
use weft_lineage::store::migrations::Migrator;
use weft_lineage::store::reads::raw_event_json;
use weft_proto::weft::lineage::v1::{Direction, GetDatasetRequest, GetLineageGraphRequest};
use weft_storage::Store;
use weft_storage::journal::{AuditQuery, query};
use weft_tests::openlineage::{Step, dataset_id, run_event};

const NAMESPACE: &str = "postgres://dw.example:5432";
const RUN: &str = "0194a0b0-0000-7000-8000-0000000000a1";

fn step(job: &'static str, input: &'static str, output: &'static str) -> Step<'static> {
    Step {
        job,
        input_namespace: NAMESPACE,
        input,
        input_fields: &["id"],
        output_namespace: NAMESPACE,
        output,
        output_fields: &["id"],
        columns: &[("id", "id", "IDENTITY", false)],
    }
}

/// A fresh lineage database on `backend`, migrated up to `steps` migrations (all when `None`).
async fn migrated(
    backend: &weft_testkit::Backend,
    dir: &std::path::Path,
    steps: Option<u32>,
) -> (String, sea_orm::DatabaseConnection) {
    let url = weft_testkit::fresh_database(backend, dir, "lineage")
        .await
        .unwrap();
    let db = weft_storage::connect(&url).await.unwrap();
    Migrator::up(&db, steps).await.unwrap();
    (url, db)
}

/// The first ten journal records `question` selects.
async fn journal(
    lineage: &Lineage,
    question: AuditQuery,
) -> Vec<weft_storage::entities::journal::Model> {
    let question = AuditQuery {
        limit: 10,
        ..question
    };
    query(lineage.store().db(), &question).await.unwrap()
}

async fn replica(url: &str) -> Lineage {
    let db = weft_storage::connect(url).await.unwrap();
    Lineage::open(Store::new(db, "lineage")).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_written_by_one_replica_reaches_the_other_and_is_one_journal_record() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let (url, _) = migrated(&backend, dir.path(), None).await;
        let writer = replica(&url).await;
        let reader = replica(&url).await;
        let follower = tokio::spawn(reader.clone().follow_outbox(0));

        let second = "0194a0b0-0000-7000-8000-0000000000a2";
        let extract = step("extract", "shop.orders", "raw.orders");
        let clean = step("clean", "raw.orders", "clean.orders");
        let events = vec![
            run_event(
                "START",
                RUN,
                "2026-11-20T10:00:00Z",
                &extract,
                serde_json::json!({}),
            ),
            run_event(
                "COMPLETE",
                RUN,
                "2026-11-20T10:01:00Z",
                &extract,
                serde_json::json!({}),
            ),
            run_event(
                "COMPLETE",
                second,
                "2026-11-20T10:02:00Z",
                &clean,
                serde_json::json!({}),
            ),
            "not an event".to_string(),
        ];
        let outcome = writer
            .ingest_events(&airflow(), events.clone())
            .await
            .unwrap();
        assert_eq!((outcome.succeeded, outcome.created), (3, 3));
        assert_eq!(outcome.failed.len(), 1);

        // The reader never ingested anything: its graph learns the batch from the outbox.
        let request = GetLineageGraphRequest {
            node: dataset_id(NAMESPACE, "shop.orders"),
            direction: Direction::Downstream as i32,
            ..Default::default()
        };
        let mut reached = Vec::new();
        for _ in 0..100 {
            match reader.get_lineage_graph(&request) {
                Ok(graph) if graph.nodes.len() == 5 => {
                    reached = graph.nodes.iter().map(|n| n.id.clone()).collect();
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        reached.sort();
        assert_eq!(
            reached,
            [
                dataset_id(NAMESPACE, "clean.orders"),
                dataset_id(NAMESPACE, "raw.orders"),
                dataset_id(NAMESPACE, "shop.orders"),
                "job:etl:clean".to_string(),
                "job:etl:extract".to_string(),
            ]
        );

        // The raw copies are kept compressed and read back as the events sent.
        let rows = event::Entity::find()
            .all(writer.store().db())
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        for row in &rows {
            assert!(row.body.is_empty());
            let stored = row.body_zstd.as_deref().unwrap();
            let text = raw_event_json(row).unwrap();
            assert!(
                stored.len() < text.len() / 2,
                "{} of {}",
                stored.len(),
                text.len()
            );
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                events[..3]
                    .iter()
                    .any(|sent| serde_json::from_str::<serde_json::Value>(sent).unwrap() == value)
            );
        }

        // One journal record for the call, naming the jobs it wrote; re-sending the same events
        // creates nothing and records nothing.
        let again = writer
            .ingest_events(&airflow(), events[..3].to_vec())
            .await
            .unwrap();
        assert_eq!((again.succeeded, again.created), (3, 0));
        let records = journal(
            &writer,
            AuditQuery {
                actions: vec!["IngestEvents".into(), "IngestEvent".into()],
                ..Default::default()
            },
        )
        .await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].actor, "users/airflow");
        assert_eq!(records[0].action, "IngestEvents");
        let detail: serde_json::Value = serde_json::from_str(&records[0].detail_json).unwrap();
        assert_eq!(detail["events"], 3);
        assert_eq!(detail["calls"]["IngestEvents"], 1);
        assert_eq!(detail["kinds"]["RunEvent"], 3);
        assert_eq!(
            detail["subjects"],
            serde_json::json!(["job:etl:clean", "job:etl:extract"])
        );
        // A call that wrote under one job names it as the record's resource.
        writer
            .ingest_event(
                &airflow(),
                &run_event(
                    "START",
                    "0194a0b0-0000-7000-8000-0000000000a3",
                    "2026-11-20T11:00:00Z",
                    &clean,
                    serde_json::json!({}),
                ),
            )
            .await
            .unwrap();
        let records = journal(
            &writer,
            AuditQuery {
                resource: Some("job:etl:clean".into()),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0].action, "IngestEvent");
        follower.abort();
    }
}

/// Concurrent small calls are written together (group commit): each still gets its own answer,
/// a group is journaled under its own actor (one record per group, counting its calls and
/// events), and an event in flight twice is new once.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_single_events_are_each_answered_and_journaled() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let (url, _) = migrated(&backend, dir.path(), None).await;
        let lineage = replica(&url).await;
        let extract = step("extract", "shop.orders", "raw.orders");
        let event = |n: usize| {
            run_event(
                "START",
                &format!("0194a0b0-0000-7000-8000-{n:012x}"),
                "2026-11-20T10:00:00Z",
                &extract,
                serde_json::json!({}),
            )
        };
        // 40 events from one pipeline, 10 from another, and event 0 sent four more times.
        let mut calls = Vec::new();
        for n in 0..50 {
            let actor = if n < 40 {
                "users/airflow"
            } else {
                "users/dagster"
            };
            calls.push((actor, event(n)));
        }
        for _ in 0..4 {
            calls.push(("users/airflow", event(0)));
        }
        let tasks: Vec<_> = calls
            .into_iter()
            .map(|(actor, json)| {
                let lineage = lineage.clone();
                tokio::spawn(async move {
                    lineage
                        .ingest_event(&Caller::new(actor, Vec::new(), false), &json)
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            created += usize::from(task.await.unwrap().unwrap());
        }
        assert_eq!(created, 50);

        let rows = event::Entity::find()
            .all(lineage.store().db())
            .await
            .unwrap();
        assert_eq!(rows.len(), 50);
        let records = |actor: &str| AuditQuery {
            actor: Some(actor.to_string()),
            actions: vec!["IngestEvent".into()],
            limit: 100,
            ..Default::default()
        };
        let airflow = query(lineage.store().db(), &records("users/airflow"))
            .await
            .unwrap();
        let dagster = query(lineage.store().db(), &records("users/dagster"))
            .await
            .unwrap();
        // Every new event is in exactly one record of its actor, every call that wrote one too.
        let totals = |records: &[weft_storage::entities::journal::Model]| {
            records.iter().fold((0, 0), |(calls, events), record| {
                let detail: serde_json::Value = serde_json::from_str(&record.detail_json).unwrap();
                assert_eq!(record.resource, "job:etl:extract");
                (
                    calls + detail["calls"]["IngestEvent"].as_u64().unwrap(),
                    events + detail["events"].as_u64().unwrap(),
                )
            })
        };
        assert_eq!(totals(&airflow), (40, 40), "{airflow:?}");
        assert_eq!(totals(&dagster), (10, 10), "{dagster:?}");
        // Every run is in the graph's run history.
        let runs = lineage
            .list_runs(&weft_proto::weft::lineage::v1::ListRunsRequest {
                job: "job:etl:extract".into(),
                page_size: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(runs.runs.len(), 50);
    }
}

/// Migrations before raw events were compressed.
const BEFORE_COMPRESSION: u32 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn raw_events_stored_as_text_before_compression_stay_readable_and_known() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let (_, db) = migrated(&backend, dir.path(), Some(BEFORE_COMPRESSION)).await;
        // An event ingested before: its raw copy as text, under its key.
        let sent = run_event(
            "START",
            RUN,
            "2026-11-20T10:00:00Z",
            &step("extract", "shop.orders", "raw.orders"),
            serde_json::json!({}),
        );
        let parsed = weft_lineage::openlineage::ParsedEvent::parse(&sent).unwrap();
        let text = weft_lineage::openlineage::stored_json_text(&parsed.stored_json).unwrap();
        let columns = [
            "key",
            "kind",
            "job",
            "run_id",
            "event_time",
            "received_time",
            "body",
        ];
        let insert = Query::insert()
            .into_table(Alias::new("lineage_events"))
            .columns(columns.map(Alias::new))
            .values_panic([
                parsed.key.clone().into(),
                "RunEvent".into(),
                "job:etl:extract".into(),
                RUN.into(),
                0i64.into(),
                0i64.into(),
                text.clone().into(),
            ])
            .to_owned();
        db.execute(db.get_database_backend().build(&insert))
            .await
            .unwrap();

        Migrator::up(&db, None).await.unwrap();
        let rows = event::Entity::find().all(&db).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].body_zstd, None);
        assert_eq!(raw_event_json(&rows[0]).unwrap(), text);
        // Sent again after the upgrade, it is recognised: nothing new.
        let lineage = Lineage::open(Store::new(db.clone(), "lineage"))
            .await
            .unwrap();
        assert!(!lineage.ingest_event(&airflow(), &sent).await.unwrap());

        // The migration rolls back (compressed rows get their text back) and forward again.
        let later = run_event(
            "COMPLETE",
            RUN,
            "2026-11-20T10:05:00Z",
            &step("extract", "shop.orders", "raw.orders"),
            serde_json::json!({}),
        );
        assert!(lineage.ingest_event(&airflow(), &later).await.unwrap());
        Migrator::down(&db, Some(1)).await.unwrap();
        let texts: Vec<String> = event::Entity::find()
            .select_only()
            .column(event::Column::Body)
            .into_tuple::<String>()
            .all(&db)
            .await
            .unwrap();
        let values: BTreeSet<String> = texts
            .iter()
            .map(|text| {
                serde_json::from_str::<serde_json::Value>(text).unwrap()["eventType"].to_string()
            })
            .collect();
        assert_eq!(
            values,
            BTreeSet::from(["\"START\"".to_string(), "\"COMPLETE\"".to_string()])
        );
        Migrator::up(&db, None).await.unwrap();
        let rows = event::Entity::find().all(&db).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(
            rows.iter()
                .all(|row| row.body_zstd.is_none() && !row.body.is_empty())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dataset_named_only_by_column_lineage_is_a_dataset_until_an_event_lists_it() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let (url, _) = migrated(&backend, dir.path(), None).await;
        let lineage = replica(&url).await;
        let extract = step("extract", "shop.orders", "raw.orders");
        // The run lists its output only; the output's column lineage names the input.
        let mut event: serde_json::Value = serde_json::from_str(&run_event(
            "COMPLETE",
            RUN,
            "2026-11-20T10:00:00Z",
            &extract,
            serde_json::json!({}),
        ))
        .unwrap();
        event["inputs"] = serde_json::json!([]);
        assert!(
            lineage
                .ingest_event(&airflow(), &event.to_string())
                .await
                .unwrap()
        );
        let get = |name: &str| GetDatasetRequest {
            id: dataset_id(NAMESPACE, name),
        };
        let named = lineage.get_dataset(&get("shop.orders")).await.unwrap();
        assert_eq!(
            (named.namespace.as_str(), named.name.as_str()),
            (NAMESPACE, "shop.orders")
        );
        assert!(named.fields.is_empty() && named.current_version.is_empty());
        assert_eq!(named.update_time.unwrap().seconds, 1_795_168_800);

        // An event that lists it, even one sent late (older), gives it its schema.
        let earlier = run_event(
            "START",
            RUN,
            "2026-11-20T09:59:00Z",
            &extract,
            serde_json::json!({}),
        );
        assert!(lineage.ingest_event(&airflow(), &earlier).await.unwrap());
        let listed = lineage.get_dataset(&get("shop.orders")).await.unwrap();
        assert_eq!(listed.fields.len(), 1);
        assert_eq!(listed.fields[0].name, "id");
        assert!(!listed.current_version.is_empty());
        // Its update time stays the newest event's.
        assert_eq!(listed.update_time, named.update_time);
        // The output kept what it had.
        let output = lineage.get_dataset(&get("raw.orders")).await.unwrap();
        assert_eq!(output.fields.len(), 1);
    }
}

/// The pipeline the tests ingest as.
fn airflow() -> Caller {
    Caller::new("users/airflow", Vec::new(), false)
}
