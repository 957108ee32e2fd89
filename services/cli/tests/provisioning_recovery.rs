//! Provisioning killed (SIGKILL) while it fulfils a batch of grants, and restarted by `weft up`,
//! converges to exactly the desired privileges: every granted table readable with its allowed
//! columns and filtered rows, no table-wide SELECT, no column beyond the grant, one row policy
//! per table (none doubled by a round that ran again), every fulfilment GRANTED. The data plane
//! is a PostgreSQL cluster of the test's own; the services run as `weft up` runs them.

mod common;

use std::time::{Duration, Instant};

use common::WeftUp;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;
use sqlx::{Connection, PgConnection, Row};
use weft_proto::weft::catalog::v1::*;
use weft_proto::weft::common::v1::{DataFilter, Permission};
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::provisioning::v1::*;
use weft_tests::data_plane::DataPlane;
use weft_tests::{consumer_environment, credentials_when_active};

/// Tables granted, one grant each, in batches with a kill during each batch.
const TABLES: usize = 24;
const BATCHES: usize = 3;
const PRODUCT: &str = "domains/sales/dataProducts/orders";

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        r#type: data_type.into(),
        nullable: true,
        ..Default::default()
    }
}

async fn admin_session(plane: &DataPlane) -> PgConnection {
    PgConnection::connect(&plane.admin_url("postgres"))
        .await
        .unwrap()
}

/// Retries a call that meets a service being restarted (`weft up` brings it back); any other
/// error fails the test.
async fn retried<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match call().await {
            Ok(response) => return response.into_inner(),
            Err(status)
                if Instant::now() < deadline
                    && matches!(
                        status.code(),
                        tonic::Code::Unavailable
                            | tonic::Code::Unknown
                            | tonic::Code::Cancelled
                            | tonic::Code::DeadlineExceeded
                            | tonic::Code::Internal
                    ) =>
            {
                eprintln!("{what}: {} (retried)", status.code());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("{what}: {status:?}"),
        }
    }
}

/// SIGKILLs provisioning at a random moment of the next `within`.
async fn kill_provisioning_soon(suite: &WeftUp, within: Duration) {
    let pause = rand::rng().random_range(0..within.as_millis() as u64);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    let pid = suite
        .service_pid("provisioning")
        .expect("provisioning runs");
    eprintln!("SIGKILL provisioning (pid {pid}) after {pause} ms");
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
}

async fn wait_restarted(suite: &WeftUp) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while suite.service_pid("provisioning").is_none() {
        assert!(
            Instant::now() < deadline,
            "weft up did not restart provisioning"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_killed_mid_batch_converges_with_nothing_doubled() {
    let plane = DataPlane::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let suite = WeftUp::start(&dir.path().join("data")).await;

    // Producer tables, each with an EU and a US row and a column no grant gives.
    let mut admin = admin_session(&plane).await;
    sqlx::query("CREATE SCHEMA sales")
        .execute(&mut admin)
        .await
        .unwrap();
    for table in 0..TABLES {
        sqlx::query(&format!(
            "CREATE TABLE sales.t{table} (id int, region text, secret text)"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        sqlx::query(&format!(
            "INSERT INTO sales.t{table} VALUES (1, 'EU', 'x'), (2, 'US', 'y')"
        ))
        .execute(&mut admin)
        .await
        .unwrap();
    }

    // The catalog knows them as assets of one product.
    let admin_groups = &["weft-admins"][..];
    let mut catalog = suite.catalog("users/admin", admin_groups);
    catalog
        .create_domain(CreateDomainRequest {
            domain_id: "sales".into(),
            domain: Some(Domain {
                display_name: "Sales".into(),
                owners: vec!["users/olivia".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    catalog
        .create_data_product(CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: "orders".into(),
            data_product: Some(DataProduct {
                display_name: "Orders".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    for table in 0..TABLES {
        catalog
            .create_asset(CreateAssetRequest {
                parent: PRODUCT.into(),
                asset_id: format!("t{table}"),
                asset: Some(Asset {
                    display_name: format!("Table {table}"),
                    kind: AssetKind::Table as i32,
                    location: Some(Location {
                        namespace: format!("postgres://127.0.0.1:{}", plane.port),
                        name: format!("postgres.sales.t{table}"),
                    }),
                    schema: Some(Schema {
                        columns: vec![
                            column("id", "int"),
                            column("region", "string"),
                            column("secret", "string"),
                        ],
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }

    // A consumer project with an environment on the data plane.
    suite
        .governance("users/ana", &[])
        .create_project(CreateProjectRequest {
            project_id: "analytics".into(),
            project: Some(Project::default()),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let mut owner = suite.provisioning("users/ana", &[]);
    owner
        .create_environment(consumer_environment(
            "projects/analytics",
            "analytics",
            &plane.admin_url("postgres"),
        ))
        .await
        .unwrap();
    let credentials = credentials_when_active(
        &mut owner,
        "environments/analytics",
        Duration::from_secs(30),
    )
    .await
    .expect("the environment becomes ACTIVE");
    let role = credentials.username.clone();

    // Grants in batches; provisioning is killed at a random moment while each batch is
    // being fulfilled, and `weft up` restarts it.
    let governance = suite.governance("users/admin", admin_groups);
    let per_batch = TABLES / BATCHES;
    for batch in 0..BATCHES {
        wait_restarted(&suite).await;
        let killing = kill_provisioning_soon(&suite, Duration::from_millis(1_500));
        let granting = async {
            for table in batch * per_batch..(batch + 1) * per_batch {
                let request = CreateGrantRequest {
                    grant: Some(Grant {
                        principal: "projects/analytics".into(),
                        target: Some(grant::Target::Resource(format!(
                            "{PRODUCT}/assets/t{table}"
                        ))),
                        permissions: vec![Permission::Select as i32],
                        data_filter: Some(DataFilter {
                            exclude_columns: vec!["secret".into()],
                            row_filter_text: "region = 'EU'".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    // The same key when retried: one grant, however often it is sent.
                    request_id: uuid::Uuid::new_v4().to_string(),
                };
                retried("create grant", || {
                    let mut client = governance.clone();
                    let request = request.clone();
                    async move { client.create_grant(request).await }
                })
                .await;
            }
        };
        tokio::join!(killing, granting);
    }
    wait_restarted(&suite).await;

    // Converged: every table readable as granted, within 30 s of the last restart (the
    // restarted process converges at start, not after a reconcile interval).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut session =
            PgConnection::connect(&plane.url(&role, &credentials.password, "postgres"))
                .await
                .unwrap();
        let mut readable = 0;
        for table in 0..TABLES {
            let rows = sqlx::query(&format!("SELECT id, region FROM sales.t{table}"))
                .fetch_all(&mut session)
                .await;
            if let Ok(rows) = rows {
                let regions: Vec<String> = rows.iter().map(|row| row.get("region")).collect();
                assert_eq!(regions, ["EU"], "sales.t{table}: only the filtered rows");
                readable += 1;
            }
        }
        if readable == TABLES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{readable} of {TABLES} tables readable 30 s after the last restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Exactly the desired privileges, read from PostgreSQL's catalogs.
    let mut admin = admin_session(&plane).await;
    for table in 0..TABLES {
        let relation = format!("sales.t{table}");
        let row = sqlx::query(
            "SELECT has_table_privilege($1, $2::regclass, 'SELECT') AS whole, \
                    has_column_privilege($1, $2::regclass, 'id', 'SELECT') AS id, \
                    has_column_privilege($1, $2::regclass, 'region', 'SELECT') AS region, \
                    has_column_privilege($1, $2::regclass, 'secret', 'SELECT') AS secret, \
                    (SELECT relrowsecurity FROM pg_class WHERE oid = $2::regclass) AS rls, \
                    (SELECT count(*) FROM pg_policy p \
                      WHERE p.polrelid = $2::regclass \
                        AND (SELECT oid FROM pg_roles WHERE rolname = $1) = ANY (p.polroles)) \
                      AS policies",
        )
        .bind(&role)
        .bind(&relation)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert!(
            !row.get::<bool, _>("whole"),
            "{relation}: no table-wide SELECT"
        );
        assert!(
            row.get::<bool, _>("id") && row.get::<bool, _>("region"),
            "{relation}"
        );
        assert!(
            !row.get::<bool, _>("secret"),
            "{relation}: the excluded column"
        );
        assert!(
            row.get::<bool, _>("rls"),
            "{relation}: row-level security on"
        );
        assert_eq!(row.get::<i64, _>("policies"), 1, "{relation}: one policy");
    }
    // No other privilege on any other relation, and no policy beyond one per table.
    let elsewhere: i64 = sqlx::query(
        "SELECT count(*) FROM information_schema.column_privileges \
          WHERE grantee = $1 AND table_schema <> 'sales'",
    )
    .bind(&role)
    .fetch_one(&mut admin)
    .await
    .unwrap()
    .get(0);
    assert_eq!(elsewhere, 0);
    let policies: i64 = sqlx::query(
        "SELECT count(*) FROM pg_policy p \
          WHERE (SELECT oid FROM pg_roles WHERE rolname = $1) = ANY (p.polroles)",
    )
    .bind(&role)
    .fetch_one(&mut admin)
    .await
    .unwrap()
    .get(0);
    assert_eq!(policies, TABLES as i64);

    // Every grant's fulfilment is recorded GRANTED, once.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = retried("list fulfilments", || {
            let mut client = owner.clone();
            async move {
                client
                    .list_grant_fulfilments(ListGrantFulfilmentsRequest {
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await
            }
        })
        .await
        .fulfilments;
        let granted = listed.iter().filter(|f| f.state == "GRANTED").count();
        let mut assets: Vec<&str> = listed.iter().map(|f| f.asset.as_str()).collect();
        assets.sort();
        assets.dedup();
        assert_eq!(
            assets.len(),
            listed.len(),
            "one fulfilment per asset: {listed:?}"
        );
        if granted == TABLES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{granted} of {TABLES} fulfilments GRANTED: {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    suite.stop();
}
