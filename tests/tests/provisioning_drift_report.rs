//! An environment whose drift handling is REPORT: a privilege granted by hand is recorded as
//! drift (not repaired) and stays, while changes of what is granted are still applied (a
//! revoked grant's privileges go); switched to REPAIR (no redeployment), the hand-made
//! privilege is revoked. A drift handling that is not one is refused.

use std::time::Duration;

use prost_types::FieldMask;
use sqlx::{Connection, PgConnection};
use tonic::Code;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::provisioning::v1::*;
use weft_testkit::{TestSuite, backends};
use weft_tests::data_plane::DataPlane;
use weft_tests::{
    bad_fields, catalog, consumer_environment, create_table_asset, credentials_when_active,
    domain_request, governance, product_request, provisioning, string_column,
    suite_reconciling_every_second,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";

/// Whether the consumer's SELECT of `table` succeeds.
async fn readable(plane: &DataPlane, user: &str, password: &str, table: &str) -> bool {
    let mut session = PgConnection::connect(&plane.url(user, password, "postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("SELECT region FROM sales.{table}"))
        .fetch_all(&mut session)
        .await
        .is_ok()
}

/// Whether `role` holds SELECT on `sales.other` itself (read as the data plane's admin; its
/// use also needs USAGE on the schema, which goes with the last grant there).
async fn holds_other(admin: &mut PgConnection, role: &str) -> bool {
    sqlx::query_scalar("SELECT has_table_privilege($1, 'sales.other', 'SELECT')")
        .bind(role)
        .fetch_one(admin)
        .await
        .unwrap()
}

/// Waits (at most 30 s) until `table` is readable or refused as `wanted`.
async fn until_readable(plane: &DataPlane, login: (&str, &str), table: &str, wanted: bool) {
    for _ in 0..300 {
        if readable(plane, login.0, login.1, table).await == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sales.{table} readable should be {wanted}: not reached in 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_drift_is_kept_while_grant_changes_are_applied() {
    for backend in backends() {
        let plane = DataPlane::start().unwrap();
        let suite = suite_reconciling_every_second(backend.clone()).await;
        run(&suite, &plane).await;
        suite.stop().await.unwrap();
    }
}

async fn run(suite: &TestSuite, plane: &DataPlane) {
    let mut admin = PgConnection::connect(&plane.admin_url("postgres"))
        .await
        .unwrap();
    for statement in [
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.granted (id int, region text)",
        "CREATE TABLE sales.other (id int, region text)",
        "INSERT INTO sales.granted VALUES (1, 'EU')",
        "INSERT INTO sales.other VALUES (1, 'EU')",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
    let mut admin_catalog = catalog(suite, &suite.admin_token());
    admin_catalog
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin_catalog
        .create_data_product(product_request("domains/sales", "orders", "Orders"))
        .await
        .unwrap();
    let namespace = format!("postgres://127.0.0.1:{}", plane.port);
    for table in ["granted", "other"] {
        create_table_asset(
            &mut admin_catalog,
            PRODUCT,
            table,
            (&namespace, &format!("postgres.sales.{table}")),
            vec![string_column("id", &[]), string_column("region", &[])],
        )
        .await;
    }

    // A consumer environment that only reports drift.
    let alice = suite.token("users/alice", &[]);
    governance(suite, &alice)
        .create_project(CreateProjectRequest {
            project_id: "churn".into(),
            project: Some(Project::default()),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let mut owner = provisioning(suite, &alice);
    let mut request = consumer_environment("projects/churn", "churn", &plane.admin_url("postgres"));
    // Not a drift handling: refused at creation too, naming the field.
    if let Some(environment) = request.environment.as_mut() {
        environment.drift_handling = 7;
    }
    let status = owner.create_environment(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["environment.drift_handling"]);
    if let Some(environment) = request.environment.as_mut() {
        environment.drift_handling = DriftHandling::Report as i32;
    }
    let created = owner
        .create_environment(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.drift_handling(), DriftHandling::Report);
    let credentials =
        credentials_when_active(&mut owner, "environments/churn", Duration::from_secs(30))
            .await
            .expect("the environment becomes ACTIVE");
    let login = (credentials.username.as_str(), credentials.password.as_str());

    // A grant is applied.
    let mut admin_governance = governance(suite, &suite.admin_token());
    let grant = admin_governance
        .create_grant(CreateGrantRequest {
            grant: Some(Grant {
                principal: "projects/churn".into(),
                target: Some(grant::Target::Resource(format!("{PRODUCT}/assets/granted"))),
                permissions: vec![Permission::Select as i32],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    until_readable(plane, login, "granted", true).await;
    assert!(!readable(plane, login.0, login.1, "other").await);

    // A privilege granted by hand is recorded as drift, not repaired…
    sqlx::query(&format!("GRANT SELECT ON sales.other TO {}", login.0))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut recorded = Vec::new();
    for _ in 0..300 {
        recorded = owner
            .get_environment(GetEnvironmentRequest {
                name: "environments/churn".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .drifts;
        if !recorded.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        recorded[0].description.contains("sales.other") && !recorded[0].repaired,
        "{recorded:?}"
    );
    // …and stays over several reconcile rounds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(readable(plane, login.0, login.1, "other").await);

    // A change of what is granted is still applied: the revoked grant's privileges go (with
    // USAGE on the schema: nothing granted is left there), the hand-made one stays.
    admin_governance
        .revoke_grant(RevokeGrantRequest {
            name: grant.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    until_readable(plane, login, "granted", false).await;
    assert!(holds_other(&mut admin, login.0).await);

    // Not a drift handling: refused, naming the field.
    let current = owner
        .get_environment(GetEnvironmentRequest {
            name: "environments/churn".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let status = owner
        .update_environment(UpdateEnvironmentRequest {
            environment: Some(Environment {
                name: current.name.clone(),
                drift_handling: 7,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["drift_handling".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&status), ["environment.drift_handling"]);

    // Switched to REPAIR, without a redeployment: the hand-made privilege is revoked.
    let updated = owner
        .update_environment(UpdateEnvironmentRequest {
            environment: Some(Environment {
                name: current.name.clone(),
                etag: current.etag.clone(),
                drift_handling: DriftHandling::Repair as i32,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["drift_handling".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.state(), EnvironmentState::Active);
    assert_eq!(updated.drift_handling(), DriftHandling::Repair);
    for _ in 0..300 {
        if !holds_other(&mut admin, login.0).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the hand-made privilege was not repaired after switching to REPAIR");
}
