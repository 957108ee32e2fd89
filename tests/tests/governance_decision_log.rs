//! Governance's journal of access decisions (`DecisionLog`), on SQLite and PostgreSQL: records
//! wait up to 50 ms to share a transaction, what is queued when the log closes (the service
//! stops) is written before `close` returns, a full queue makes decisions wait (or, configured
//! so, drops and counts), and the gateway's refusals are journaled whatever their permission.

use std::time::Duration;

use sea_orm::Database;
use sea_orm_migration::MigratorTrait;
use weft_governance::decision_log::DecisionLog;
use weft_governance::store::migrations::Migrator;
use weft_proto::weft::common::v1::Permission;
use weft_runtime::config::AuditOverflow;
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
        let log = DecisionLog::start(store.clone(), 1.0, AuditOverflow::Wait);
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
        let log = DecisionLog::start(store.clone(), 1.0, AuditOverflow::Wait);
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

#[tokio::test]
async fn a_full_queue_makes_decisions_wait_or_is_counted_when_configured_to_drop() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        const RECORDS: usize = 40;
        for (when_full, expect_all) in [(AuditOverflow::Wait, true), (AuditOverflow::Drop, false)] {
            let dir = tempfile::tempdir().unwrap();
            let store = store(&backend, &dir).await;
            // A queue of 2: most records find it full.
            let log = DecisionLog::with_queue(store.clone(), 1.0, when_full, 2);
            for user in 0..RECORDS {
                log.record(
                    "users/admin",
                    &format!("users/u{user}"),
                    Permission::Select,
                    "a/b",
                    true,
                    "why",
                );
            }
            log.settle().await;
            log.close().await;
            let written = checks(&store).await.len();
            if expect_all {
                assert_eq!(written, RECORDS, "{when_full:?}: every record kept");
                assert_eq!(log.dropped(), 0);
            } else {
                assert!(log.dropped() > 0, "{when_full:?}: drops are counted");
                assert_eq!(written + log.dropped() as usize, RECORDS);
            }
        }
    }
}

#[tokio::test]
async fn the_gateways_refusals_are_journaled_whatever_their_permission() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let store = store(&backend, &dir).await;
        let log = DecisionLog::start(store.clone(), 0.0, AuditOverflow::Wait);
        let gateway = weft_governance::decision_log::GATEWAY_ASKER;
        // Refused by the gateway's authorization: journaled even with sampling off.
        log.record(
            gateway,
            "users/mallory",
            Permission::Alter,
            "a/b",
            false,
            "no",
        );
        // Allowed, or a listing's filtering (the catalog asks): not journaled.
        log.record(
            gateway,
            "users/olivia",
            Permission::Alter,
            "a/b",
            true,
            "owner",
        );
        log.record(
            "services/catalog",
            "users/mallory",
            Permission::Describe,
            "a/c",
            false,
            "no",
        );
        log.close().await;
        let records = checks(&store).await;
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].outcome, "DENIED");
        assert!(records[0].detail_json.contains("users/mallory"));
        assert!(records[0].detail_json.contains("PERMISSION_ALTER"));
    }
}

/// Configured to drop, a governance whose journal can not keep up answers at once and says how
/// many records it dropped (to administrators, through QueryAudit); configured to wait (the
/// default), it drops none.
#[tokio::test]
async fn query_audit_tells_administrators_how_many_decision_records_were_dropped() {
    use weft_proto::weft::governance::v1::{AccessQuery, CheckRequest, QueryAuditRequest};
    use weft_runtime::ServiceKind;
    use weft_testkit::TestSuite;

    for when_full in [AuditOverflow::Drop, AuditOverflow::Wait] {
        let suite = TestSuite::start_with(Backend::Sqlite, |kind, config| {
            if kind == ServiceKind::Governance {
                config.governance.decision_audit_when_full = when_full;
                config.governance.decision_audit_queue = 1;
            }
        })
        .await
        .expect("suite starts");
        // Concurrent callers: the gateway gathers their Checks into rounds whose records arrive
        // together, faster than a queue of one takes them.
        let callers = (0..16).map(|caller| {
            let mut client =
                weft_tests::governance(&suite, &suite.token(&format!("users/u{caller}"), &[]));
            tokio::spawn(async move {
                for _ in 0..25 {
                    client
                        .check(CheckRequest {
                            query: Some(AccessQuery {
                                principal: String::new(),
                                permission: Permission::Select as i32,
                                resource: "domains/sales".into(),
                            }),
                        })
                        .await
                        .unwrap();
                }
            })
        });
        for caller in callers.collect::<Vec<_>>() {
            caller.await.unwrap();
        }
        let mut admin = weft_tests::governance(&suite, &suite.admin_token());
        let audit = admin
            .query_audit(QueryAuditRequest {
                actions: vec!["Check".into()],
                page_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        match when_full {
            AuditOverflow::Drop => assert!(
                audit.dropped_decision_records > 0,
                "a queue of one drops under 16 callers"
            ),
            AuditOverflow::Wait => assert_eq!(audit.dropped_decision_records, 0),
        }
        // Only administrators read the journal, and so the count.
        let mut user = weft_tests::governance(&suite, &suite.token("users/u0", &[]));
        let refused = user
            .query_audit(QueryAuditRequest::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        suite.stop().await.expect("suite stops cleanly");
    }
}
