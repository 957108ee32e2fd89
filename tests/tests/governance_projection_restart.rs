//! Governance's projection of the catalog survives restarts of either side, on SQLite and
//! PostgreSQL: governance stopped while the catalog keeps changing, then the catalog restarted
//! mid-stream; afterwards the projection holds exactly the catalog's resources in their last
//! state, its cursor is the catalog's last event, and no batch of the catalog's stream was
//! projected twice (the sequences governance reports projecting only ever grow).

use std::time::Duration;

use prost::Message;
use prost_types::FieldMask;
use sea_orm::{ConnectionTrait, Database, Statement};
use weft_proto::weft::catalog::v1::{
    DataProduct, DeleteDataProductRequest, UpdateDataProductRequest,
};
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::{AccessQuery, CheckRequest};
use weft_runtime::ServiceKind;
use weft_testkit::TestSuite;
use weft_tests::{Catalog, catalog, domain_request, governance, product_request};

fn product(id: &str) -> String {
    format!("domains/sales/dataProducts/{id}")
}

async fn create_products(client: &mut Catalog, ids: std::ops::Range<usize>) {
    for i in ids {
        client
            .create_data_product(product_request(
                "domains/sales",
                &format!("p{i}"),
                &format!("Product {i}"),
            ))
            .await
            .unwrap();
    }
}

/// The first column of every row `sql` returns from the database at `url`.
async fn query_column<T: sea_orm::TryGetable>(url: &str, sql: &str) -> Vec<T> {
    let db = Database::connect(url).await.unwrap();
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    let values = rows
        .iter()
        .map(|row| row.try_get_by_index::<T>(0).unwrap())
        .collect();
    db.close().await.unwrap();
    values
}

/// The catalog's last event and governance's cursor on it, once they are equal (at most 10 s).
async fn wait_caught_up(suite: &TestSuite) -> i64 {
    let catalog_db = &suite.database_urls[&ServiceKind::Catalog];
    let governance_db = &suite.database_urls[&ServiceKind::Governance];
    let head = query_column::<i64>(catalog_db, "SELECT MAX(seq) FROM weft_outbox").await[0];
    for _ in 0..100 {
        let cursor = query_column::<i64>(
            governance_db,
            "SELECT sequence FROM weft_projection_cursors WHERE source = 'catalog'",
        )
        .await;
        if cursor == [head] {
            return head;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("governance's projection never reached the catalog's sequence {head}");
}

#[tokio::test]
async fn the_projection_resumes_after_restarts_with_nothing_lost_or_doubled() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let mut suite = TestSuite::start(backend).await.unwrap();
        let mut admin = catalog(&suite, &suite.admin_token());
        admin
            .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
            .await
            .unwrap();
        create_products(&mut admin, 0..5).await;

        // Governance down while the catalog keeps changing.
        suite.stop_service(ServiceKind::Governance).await.unwrap();
        create_products(&mut admin, 5..10).await;
        admin
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(DataProduct {
                    name: product("p0"),
                    owners: vec!["users/zed".into()],
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["owners".into()],
                }),
            })
            .await
            .unwrap();
        suite.start_service(ServiceKind::Governance).await.unwrap();

        // The catalog restarted in the middle of the stream governance follows.
        create_products(&mut admin, 10..15).await;
        suite.stop_service(ServiceKind::Catalog).await.unwrap();
        suite.start_service(ServiceKind::Catalog).await.unwrap();
        create_products(&mut admin, 15..20).await;
        admin
            .delete_data_product(DeleteDataProductRequest {
                name: product("p1"),
                etag: String::new(),
            })
            .await
            .unwrap();

        let head = wait_caught_up(&suite).await;
        let governance_db = &suite.database_urls[&ServiceKind::Governance];
        // Exactly the catalog's resources: none lost, the deleted one gone.
        let nodes = query_column::<String>(
            governance_db,
            "SELECT name FROM weft_projected_resources WHERE source = 'catalog' ORDER BY name",
        )
        .await;
        let mut expected: Vec<String> = (0..20)
            .filter(|i| *i != 1)
            .map(|i| product(&format!("p{i}")))
            .collect();
        expected.push("domains/sales".into());
        expected.sort();
        assert_eq!(nodes, expected);
        // Each catalog batch projected once: the sequences reached only grow, up to the head.
        let reached: Vec<i64> = query_column::<Vec<u8>>(
            governance_db,
            "SELECT payload FROM weft_outbox WHERE event_type = 'catalog_projection.advanced' \
             ORDER BY seq",
        )
        .await
        .iter()
        .map(|payload| i64::decode(payload.as_slice()).unwrap())
        .collect();
        assert!(!reached.is_empty());
        assert!(
            reached.windows(2).all(|pair| pair[0] < pair[1]),
            "a batch was projected twice: {reached:?}"
        );
        assert_eq!(reached.last(), Some(&head));

        // Decisions use the last state: the new owner of p0, the deleted p1 unknown.
        let mut admin_governance = governance(&suite, &suite.admin_token());
        let mut decide = async |principal: &str, resource: String| {
            admin_governance
                .check(CheckRequest {
                    query: Some(AccessQuery {
                        principal: principal.into(),
                        permission: Permission::Alter as i32,
                        resource,
                    }),
                })
                .await
                .unwrap()
                .into_inner()
                .decision
                .unwrap()
        };
        assert!(decide("users/zed", product("p0")).await.allowed);
        assert!(!decide("users/zed", product("p2")).await.allowed);
        assert!(decide("users/olivia", product("p19")).await.allowed);
        let deleted = decide("users/olivia", product("p1")).await;
        assert!(!deleted.allowed);
        assert!(
            deleted
                .reason
                .starts_with("no grant, ownership or guardrail gives"),
            "{deleted:?}"
        );
        suite.stop().await.unwrap();
    }
}
