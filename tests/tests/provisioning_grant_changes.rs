//! What a subscription gives on the data plane follows what happens to it after the approval:
//! a column dropped from the asset's schema loses its privilege, and a cancelled subscription
//! takes the table away, each without a new grant or a reconcile asked for.

use std::time::Duration;

use prost_types::FieldMask;
use sqlx::{Connection, PgConnection};
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, CompatibilityMode, CreateAssetRequest, CreateDataProductRequest, DataProduct,
    Location, PublishDataProductRequest, Schema, UpdateAssetRequest,
};
use weft_proto::weft::governance::v1::*;
use weft_testkit::{TestSuite, backends};
use weft_tests::data_plane::DataPlane;
use weft_tests::{
    catalog, consumer_environment, credentials_when_active, disable_default_rules, domain_request,
    governance, provisioning, string_column, suite_reconciling_every_second,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";
const ASSET: &str = "domains/sales/dataProducts/orders/assets/orders";

/// Waits (at most 30 s) until the consumer's `query` succeeds or is refused as `wanted`.
async fn until(plane: &DataPlane, login: (&str, &str), query: &str, wanted: bool) {
    for _ in 0..300 {
        let mut session = PgConnection::connect(&plane.url(login.0, login.1, "postgres"))
            .await
            .unwrap();
        if sqlx::query(query).fetch_all(&mut session).await.is_ok() == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{query}: succeeding should be {wanted}; not reached in 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_column_and_a_cancelled_subscription_leave_the_data_plane() {
    for backend in backends() {
        let plane = DataPlane::start().unwrap();
        let suite = suite_reconciling_every_second(backend.clone()).await;
        run(&suite, &plane).await;
        suite.stop().await.unwrap();
    }
}

fn asset(plane: &DataPlane, columns: &[&str]) -> Asset {
    Asset {
        display_name: "Orders".into(),
        kind: AssetKind::Table as i32,
        location: Some(Location {
            namespace: format!("postgres://127.0.0.1:{}", plane.port),
            name: "postgres.sales.orders".into(),
        }),
        schema: Some(Schema {
            columns: columns.iter().map(|c| string_column(c, &[])).collect(),
        }),
        // Any change accepted: the test drops a column.
        compatibility: CompatibilityMode::None as i32,
        ..Default::default()
    }
}

async fn run(suite: &TestSuite, plane: &DataPlane) {
    disable_default_rules(suite).await;
    let mut admin = PgConnection::connect(&plane.admin_url("postgres"))
        .await
        .unwrap();
    for statement in [
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.orders (id int, region text, amount int)",
        "INSERT INTO sales.orders VALUES (1, 'EU', 10)",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
    let mut admin_catalog = catalog(suite, &suite.admin_token());
    admin_catalog
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin_catalog
        .create_data_product(CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: "orders".into(),
            data_product: Some(DataProduct {
                display_name: "Orders".into(),
                owners: vec!["users/olivia".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin_catalog
        .create_asset(CreateAssetRequest {
            parent: PRODUCT.into(),
            asset_id: "orders".into(),
            asset: Some(asset(plane, &["id", "region", "amount"])),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin_catalog
        .publish_data_product(PublishDataProductRequest {
            name: PRODUCT.into(),
            etag: String::new(),
        })
        .await
        .unwrap();

    // A project with a consumer environment subscribes; the owner approves.
    let alice = suite.token("users/alice", &[]);
    let mut alice_governance = governance(suite, &alice);
    alice_governance
        .create_project(CreateProjectRequest {
            project_id: "churn".into(),
            project: Some(Project::default()),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let mut owner = provisioning(suite, &alice);
    owner
        .create_environment(consumer_environment(
            "projects/churn",
            "churn",
            &plane.admin_url("postgres"),
        ))
        .await
        .unwrap();
    let credentials =
        credentials_when_active(&mut owner, "environments/churn", Duration::from_secs(30))
            .await
            .expect("the environment becomes ACTIVE");
    let login = (credentials.username.as_str(), credentials.password.as_str());
    let wanted = CreateSubscriptionRequestRequest {
        subscription_request: Some(SubscriptionRequest {
            project: "projects/churn".into(),
            data_product: PRODUCT.into(),
            justification: "Churn model features.".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let mut pending = None;
    for _ in 0..100 {
        // Refused until governance's projection holds the published product.
        match alice_governance
            .create_subscription_request(wanted.clone())
            .await
        {
            Ok(created) => {
                pending = Some(created.into_inner());
                break;
            }
            Err(status) if matches!(status.code(), Code::FailedPrecondition | Code::NotFound) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    let pending = pending.expect("the projection shows the published product");
    let approved = governance(suite, &suite.token("users/olivia", &[]))
        .approve_subscription_request(ApproveSubscriptionRequestRequest {
            name: pending.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    until(
        plane,
        login,
        "SELECT id, region, amount FROM sales.orders",
        true,
    )
    .await;

    // The asset's schema loses `amount`: its privilege goes, the others stay.
    admin_catalog
        .update_asset(UpdateAssetRequest {
            asset: Some(Asset {
                name: ASSET.into(),
                ..asset(plane, &["id", "region"])
            }),
            update_mask: Some(FieldMask {
                paths: vec!["schema".into()],
            }),
        })
        .await
        .unwrap();
    until(plane, login, "SELECT amount FROM sales.orders", false).await;
    until(plane, login, "SELECT id, region FROM sales.orders", true).await;

    // The project cancels its subscription: the table goes.
    alice_governance
        .cancel_subscription(CancelSubscriptionRequest {
            name: approved.subscription.clone(),
        })
        .await
        .unwrap();
    until(plane, login, "SELECT id FROM sales.orders", false).await;
}
