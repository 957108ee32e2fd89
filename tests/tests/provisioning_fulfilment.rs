//! Grants enforced on the data: a project's consumer environment on a PostgreSQL data plane of
//! the test's own, an asset whose location is a table there, and governance's grants to the
//! project. The test logs in as the consumer with the credentials Weft hands out and sees
//! exactly what the grants give: the allowed columns (not `SELECT *`), only the rows of the
//! row filter (a value with quotes and `--` read as data), a Cedar forbid on a pii column
//! taking that column away, nothing after the revoke; a privilege granted by hand is revoked
//! again by the reconcile loop.

use std::time::Duration;

use sqlx::{Connection, PgConnection, Row};
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, CreateTagKeyRequest, Location, Schema, TagKey,
    UpdateAssetRequest,
};
use weft_proto::weft::common::v1::{DataFilter, Permission, Tag};
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::provisioning::v1::*;
use weft_testkit::{TestSuite, backends};
use weft_tests::data_plane::DataPlane;
use weft_tests::{
    catalog, consumer_environment, credentials_when_active, domain_request, governance,
    product_request, provisioning, suite_reconciling_every_second,
};

const ASSET: &str = "domains/sales/dataProducts/orders/assets/orders";

fn column(name: &str, data_type: &str, tags: &[(&str, &str)]) -> Column {
    Column {
        name: name.into(),
        r#type: data_type.into(),
        nullable: true,
        tags: tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.to_string(),
                value: value.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

async fn login(plane: &DataPlane, user: &str, password: &str) -> PgConnection {
    PgConnection::connect(&plane.url(user, password, "postgres"))
        .await
        .unwrap()
}

/// What the consumer reads: the regions of the rows it sees, or the error.
async fn regions(session: &mut PgConnection, query: &str) -> Result<Vec<String>, String> {
    sqlx::query(query)
        .fetch_all(session)
        .await
        .map(|rows| {
            rows.iter()
                .map(|row| row.get::<String, _>("region"))
                .collect()
        })
        .map_err(|error| error.to_string())
}

/// Polls `check` (on a fresh session each time) until it holds, for at most 30 s.
async fn eventually<F, Fut>(plane: &DataPlane, user: &str, password: &str, what: &str, check: F)
where
    F: Fn(PgConnection) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check(login(plane, user, password).await).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not reached in 30 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_become_privileges_and_row_policies_on_the_data_plane() {
    for backend in backends() {
        let plane = DataPlane::start().unwrap();
        let suite = suite_reconciling_every_second(backend.clone()).await;
        run(&suite, &plane).await;
        suite.stop().await.unwrap();
    }
}

async fn run(suite: &TestSuite, plane: &DataPlane) {
    // The producer's table, with rows of three regions (one with a quote and a comment marker).
    let mut admin = login(plane, &plane.admin_user, &plane.admin_password).await;
    for statement in [
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.orders (id int, region text, amount int, email text)",
        "INSERT INTO sales.orders VALUES (1, 'EU', 10, 'a@x'), (2, 'US', 20, 'b@x'), \
         (3, 'O''Brien''s -- shop', 30, 'c@x')",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }

    // The catalog knows the table as an asset of a product.
    let mut admin_catalog = catalog(suite, &suite.admin_token());
    admin_catalog
        .create_tag_key(CreateTagKeyRequest {
            tag_key_id: "pii".into(),
            tag_key: Some(TagKey {
                allowed_values: vec!["email".into()],
                classification: true,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin_catalog
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin_catalog
        .create_data_product(product_request("domains/sales", "orders", "Orders"))
        .await
        .unwrap();
    admin_catalog
        .create_asset(CreateAssetRequest {
            parent: "domains/sales/dataProducts/orders".into(),
            asset_id: "orders".into(),
            asset: Some(Asset {
                display_name: "Orders".into(),
                kind: AssetKind::Table as i32,
                location: Some(Location {
                    namespace: format!("postgres://127.0.0.1:{}", plane.port),
                    name: "postgres.sales.orders".into(),
                }),
                schema: Some(Schema {
                    columns: vec![
                        column("id", "int", &[]),
                        column("region", "string", &[]),
                        column("amount", "int", &[]),
                        column("email", "string", &[("pii", "email")]),
                    ],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();

    // A consumer project with an environment on the data plane.
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
    let (user, password) = (credentials.username.as_str(), credentials.password.as_str());

    // Nothing is granted yet: the table is refused.
    let mut session = login(plane, user, password).await;
    assert!(
        regions(&mut session, "SELECT region FROM sales.orders")
            .await
            .is_err()
    );

    // A grant without `amount`, rows of EU and of the quoted region only.
    let mut admin_governance = governance(suite, &suite.admin_token());
    let grant = admin_governance
        .create_grant(CreateGrantRequest {
            grant: Some(Grant {
                principal: "projects/churn".into(),
                target: Some(grant::Target::Resource(ASSET.into())),
                permissions: vec![Permission::Select as i32],
                data_filter: Some(DataFilter {
                    exclude_columns: vec!["amount".into()],
                    row_filter_text: "region = 'EU' OR region = 'O''Brien''s -- shop'".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    eventually(
        plane,
        user,
        password,
        "the grant is applied",
        |mut session| async move {
            regions(
                &mut session,
                "SELECT id, region, email FROM sales.orders ORDER BY id",
            )
            .await
            .is_ok()
        },
    )
    .await;
    let mut session = login(plane, user, password).await;
    let seen = regions(
        &mut session,
        "SELECT id, region, email FROM sales.orders ORDER BY id",
    )
    .await
    .unwrap();
    assert_eq!(
        seen,
        vec!["EU", "O'Brien's -- shop"],
        "only the filtered rows"
    );
    let star = regions(&mut session, "SELECT * FROM sales.orders")
        .await
        .unwrap_err();
    assert!(star.contains("permission denied"), "{star}");
    assert!(
        regions(&mut session, "SELECT region, amount FROM sales.orders")
            .await
            .is_err(),
        "the excluded column is refused"
    );

    // The fulfilment shows the statements applied: the literal quoted by the database.
    // (Recorded just after the data plane changed: it may take a moment.)
    let listed = listed_fulfilments(&mut owner, &format!("grant={}", grant.name)).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].state, "GRANTED");
    assert_eq!(listed[0].environment, "environments/churn");
    let policy = listed[0]
        .statements
        .iter()
        .find(|statement| statement.starts_with("CREATE POLICY"))
        .expect("a row policy");
    assert!(
        policy.contains("(region = 'O''Brien''s -- shop')"),
        "{policy}"
    );
    assert!(!listed[0].statements.iter().any(|s| s.contains(password)));
    let hidden = provisioning(suite, &suite.token("users/mallory", &[]))
        .list_grant_fulfilments(ListGrantFulfilmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(hidden.fulfilments.is_empty(), "{hidden:?}");

    // A round that finds the table as it should be touches nothing (the policy is not
    // recreated: no lock is taken on the producer's table every interval).
    let policy_oid = |mut admin: PgConnection| async move {
        let row = sqlx::query("SELECT oid::bigint FROM pg_policy WHERE polname = $1")
            .bind(user.to_string())
            .fetch_one(&mut admin)
            .await
            .unwrap();
        row.get::<i64, _>(0)
    };
    let before = policy_oid(login(plane, &plane.admin_user, &plane.admin_password).await).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let after = policy_oid(login(plane, &plane.admin_user, &plane.admin_password).await).await;
    assert_eq!(before, after, "two reconcile rounds later, the same policy");

    // A Cedar guardrail forbidding pii columns takes `email` away.
    admin_governance
        .create_policy(CreatePolicyRequest {
            policy_id: "no-pii".into(),
            policy: Some(Policy {
                description: "No PII to projects".into(),
                cedar: r#"forbid (principal, action == Weft::Action::"SELECT", resource is Weft::Column)
                        when { resource.classification.contains("pii=email") };"#
                    .into(),
                enabled: true,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    eventually(
        plane,
        user,
        password,
        "the forbidden column is revoked",
        |mut session| async move {
            regions(&mut session, "SELECT id, region, email FROM sales.orders")
                .await
                .is_err()
                && regions(&mut session, "SELECT id, region FROM sales.orders")
                    .await
                    .is_ok()
        },
    )
    .await;

    // A privilege granted by hand is drift: the reconcile loop revokes it.
    sqlx::query(&format!("GRANT SELECT ON sales.orders TO {user}"))
        .execute(&mut admin)
        .await
        .unwrap();
    eventually(
        plane,
        user,
        password,
        "the hand-made grant is revoked",
        |mut session| async move {
            regions(&mut session, "SELECT amount, region FROM sales.orders")
                .await
                .is_err()
        },
    )
    .await;

    // …and it is recorded on the environment as repaired drift.
    let mut drifted = Environment::default();
    for _ in 0..300 {
        drifted = owner
            .get_environment(GetEnvironmentRequest {
                name: "environments/churn".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if !drifted.drifts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        drifted
            .drifts
            .iter()
            .any(|drift| drift.description.contains("table-wide") && drift.repaired),
        "{:?}",
        drifted.drifts
    );

    // A consumer role dropped by hand is recreated by a reconcile, with the same login.
    for statement in [format!("DROP OWNED BY {user}"), format!("DROP ROLE {user}")] {
        sqlx::query(&statement).execute(&mut admin).await.unwrap();
    }
    let reconciled = owner
        .reconcile_environment(ReconcileEnvironmentRequest {
            name: "environments/churn".into(),
            repair: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        reconciled
            .drifts
            .iter()
            .any(|drift| drift.description.contains("is missing")),
        "{:?}",
        reconciled.drifts
    );
    let mut session = login(plane, user, password).await;
    assert_eq!(
        regions(
            &mut session,
            "SELECT id, region FROM sales.orders ORDER BY id"
        )
        .await
        .unwrap(),
        vec!["EU", "O'Brien's -- shop"]
    );
    let refused = provisioning(suite, &suite.token("users/mallory", &[]))
        .reconcile_environment(ReconcileEnvironmentRequest {
            name: "environments/churn".into(),
            repair: true,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    // A tag-based grant: a table becomes readable once its asset carries the tag, with no
    // new grant.
    sqlx::query("CREATE TABLE sales.customers (id int, name text)")
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sales.customers VALUES (1, 'Ada')")
        .execute(&mut admin)
        .await
        .unwrap();
    admin_catalog
        .create_tag_key(CreateTagKeyRequest {
            tag_key_id: "tier".into(),
            tag_key: Some(TagKey {
                allowed_values: vec!["gold".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let customers = admin_catalog
        .create_asset(CreateAssetRequest {
            parent: "domains/sales/dataProducts/orders".into(),
            asset_id: "customers".into(),
            asset: Some(Asset {
                display_name: "Customers".into(),
                kind: AssetKind::Table as i32,
                location: Some(Location {
                    namespace: format!("postgres://127.0.0.1:{}", plane.port),
                    name: "postgres.sales.customers".into(),
                }),
                schema: Some(Schema {
                    columns: vec![column("id", "int", &[]), column("name", "string", &[])],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    admin_governance
        .create_grant(CreateGrantRequest {
            grant: Some(Grant {
                principal: "projects/churn".into(),
                target: Some(grant::Target::TagExpression(TagExpression {
                    clauses: vec![TagClause {
                        key: "tier".into(),
                        values: vec!["gold".into()],
                    }],
                })),
                permissions: vec![Permission::Select as i32],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let names = |mut session: PgConnection| async move {
        sqlx::query("SELECT name FROM sales.customers")
            .fetch_all(&mut session)
            .await
            .map(|rows| rows.len())
    };
    // Give the fulfiller a round: the untagged table stays refused.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(names(login(plane, user, password).await).await.is_err());
    admin_catalog
        .update_asset(UpdateAssetRequest {
            asset: Some(Asset {
                name: customers.name.clone(),
                etag: customers.etag.clone(),
                tags: vec![Tag {
                    key: "tier".into(),
                    value: "gold".into(),
                }],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["tags".into()],
            }),
        })
        .await
        .unwrap();
    eventually(
        plane,
        user,
        password,
        "the tagged table is readable",
        |session| async move { names(session).await.is_ok_and(|rows| rows == 1) },
    )
    .await;

    // Revoked: the next query is refused.
    admin_governance
        .revoke_grant(RevokeGrantRequest {
            name: grant.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    eventually(
        plane,
        user,
        password,
        "the revoke is applied",
        |mut session| async move {
            regions(&mut session, "SELECT id, region FROM sales.orders")
                .await
                .is_err()
        },
    )
    .await;
    let revoked = listed_fulfilments(&mut owner, "state=REVOKED").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0].grant, grant.name);

    // Deleting the environment drops its role: what it still fulfilled is reported revoked.
    owner
        .delete_environment(DeleteEnvironmentRequest {
            name: "environments/churn".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let mut still_granted = Vec::new();
    for _ in 0..300 {
        still_granted = owner
            .list_grant_fulfilments(ListGrantFulfilmentsRequest {
                filter: "state=GRANTED".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .fulfilments;
        if still_granted.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(still_granted.is_empty(), "{still_granted:?}");
    assert_eq!(
        listed_fulfilments(&mut owner, "state=REVOKED").await.len(),
        2
    );
}

/// The fulfilments matching `filter`, once there are any (for at most 30 s).
async fn listed_fulfilments(
    client: &mut weft_tests::Provisioning,
    filter: &str,
) -> Vec<GrantFulfilment> {
    let mut listed = Vec::new();
    for _ in 0..300 {
        listed = client
            .list_grant_fulfilments(ListGrantFulfilmentsRequest {
                filter: filter.to_string(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .fulfilments;
        if !listed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listed
}
