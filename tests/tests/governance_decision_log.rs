//! Governance's journal of access decisions (`DecisionLog`), on SQLite and PostgreSQL: records
//! wait up to 50 ms to share a transaction, and what is queued when the log closes (the service
//! stops) is written before `close` returns.

use std::time::Duration;

use sea_orm::Database;
use sea_orm_migration::MigratorTrait;
use weft_governance::decision_log::DecisionLog;
use weft_governance::storage::migrations::Migrator;
use weft_proto::weft::common::v1::Permission;
use weft_storage::Store;
use weft_storage::entities::journal;
use weft_storage::journal::{AuditQuery, query};
use weft_testkit::Backend;

/// The writer's gathering time (`decision_log::LINGER`).
const LINGER: Duration = Duration::from_millis(50);

async fn store(backend: &Backend, dir: &tempfile::TempDir) -> Store {
    let url = weft_testkit::fresh_database(backend, dir.path(), "governance")
        .await
        .unwrap();
    let db = Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    Store::new(db, "governance")
}

async fn checks(store: &Store) -> Vec<journal::Model> {
    let checks = AuditQuery {
        actions: vec!["Check".to_string()],
        limit: 100,
        ..AuditQuery::default()
    };
    query(store.db(), &checks).await.unwrap()
}

#[tokio::test]
async fn records_still_queued_are_written_when_the_log_closes() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let store = store(&backend, &dir).await;
        let log = DecisionLog::start(store.clone(), 1.0);
        for user in 0..3 {
            let principal = format!("users/u{user}");
            log.record(
                "users/admin",
                &principal,
                Permission::Select,
                "a/b",
                user != 1,
                "why",
            );
        }
        // Not a data permission: not journaled.
        log.record(
            "users/admin",
            "users/u0",
            Permission::Describe,
            "a/b",
            true,
            "why",
        );
        log.close().await;

        let records = checks(&store).await;
        let mut outcomes: Vec<&str> = records.iter().map(|r| r.outcome.as_str()).collect();
        outcomes.sort();
        assert_eq!(outcomes, ["DENIED", "SUCCEEDED", "SUCCEEDED"]);
        assert!(
            records
                .iter()
                .all(|r| r.detail_json.contains("PERMISSION_SELECT"))
        );

        // After closing, nothing more is taken (and nothing panics).
        log.record(
            "users/admin",
            "users/u9",
            Permission::Select,
            "a/b",
            true,
            "why",
        );
        tokio::time::sleep(LINGER * 2).await;
        assert_eq!(checks(&store).await.len(), 3);
    }
}

#[tokio::test]
async fn records_are_written_within_the_linger_without_closing() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let store = store(&backend, &dir).await;
        let log = DecisionLog::start(store.clone(), 1.0);
        log.record(
            "users/admin",
            "users/u0",
            Permission::Insert,
            "a/b",
            true,
            "why",
        );
        let mut written = 0;
        for _ in 0..100 {
            written = checks(&store).await.len();
            if written == 1 {
                break;
            }
            tokio::time::sleep(LINGER).await;
        }
        assert_eq!(written, 1);
    }
}
