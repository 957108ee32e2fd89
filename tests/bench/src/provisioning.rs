//! Provisioning: how soon a grant is enforced on a real PostgreSQL data plane, and how fast a
//! reconcile finds and repairs drift. `weft up` (release build) with a data plane of the
//! bench's own (`initdb`, scram-sha-256, as the tests use).
//!
//! 1. Approve → first successful `SELECT`: `--consumers` projects, each with a consumer
//!    environment and a pending subscription request, are approved at once; each consumer holds
//!    a session of its own login and polls its table; the latency of a consumer is from the
//!    start of its approve call to its first `SELECT` that succeeds. Revoke → first refused
//!    `SELECT` the same way (each grant revoked at once). Floor, in the same run: the same
//!    statements (schema usage, column privileges, row-level security, a policy per role) for
//!    as many roles, applied by one client in one transaction.
//! 2. Reconcile: `--roles` consumer environments × `--grants-per-role` grants (one per table),
//!    converged; then `--drifted-percent` of the roles get a privilege granted by hand; the
//!    figure is the time until every one is revoked again (detected and repaired by the
//!    reconcile loop, whose interval is set to 1 s, so it includes up to 1 s of waiting).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use futures::{StreamExt, stream};
use sqlx::{Connection, PgConnection};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::catalog::v1::*;
use weft_proto::weft::common::v1::{DataFilter, Permission};
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::provisioning::v1::provisioning_service_client::ProvisioningServiceClient;
use weft_testkit::Bearer;
use weft_tests::data_plane::DataPlane;
use weft_tests::{consumer_environment, credentials_when_active};

use crate::report::Latencies;
use crate::suite::{RunningSuite, weft_binary};

#[derive(Args)]
pub struct ProvisioningArgs {
    /// Subscriptions approved (then revoked) at once.
    #[arg(long, default_value_t = 100)]
    consumers: usize,
    /// Consumer environments of the reconcile scenario.
    #[arg(long, default_value_t = 1_000)]
    roles: usize,
    /// Grants (tables) per role in the reconcile scenario.
    #[arg(long, default_value_t = 10)]
    grants_per_role: usize,
    /// Roles given a privilege by hand before the reconcile is timed.
    #[arg(long, default_value_t = 1.0)]
    drifted_percent: f64,
    /// The gateway's port (the services take the next four).
    #[arg(long, default_value_t = 18_400)]
    port: u16,
    /// The `weft` binary (default: next to this one).
    #[arg(long)]
    weft: Option<PathBuf>,
}

type Catalog = CatalogServiceClient<InterceptedService<Channel, Bearer>>;
type Governance = GovernanceServiceClient<InterceptedService<Channel, Bearer>>;
type Provisioning = ProvisioningServiceClient<InterceptedService<Channel, Bearer>>;

struct Clients {
    channel: Channel,
    secret: String,
}

impl Clients {
    fn bearer(&self, subject: &str, groups: &[&str]) -> anyhow::Result<Bearer> {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        Ok(Bearer(weft_runtime::auth::issue_hs256_token(
            self.secret.trim().as_bytes(),
            subject,
            &groups,
            Duration::from_secs(6 * 3600),
        )?))
    }
    fn catalog(&self, subject: &str, groups: &[&str]) -> anyhow::Result<Catalog> {
        Ok(CatalogServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(subject, groups)?,
        ))
    }
    fn governance(&self, subject: &str, groups: &[&str]) -> anyhow::Result<Governance> {
        Ok(GovernanceServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(subject, groups)?,
        ))
    }
    fn provisioning(&self, subject: &str) -> anyhow::Result<Provisioning> {
        Ok(ProvisioningServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer(subject, &[])?,
        ))
    }
}

const ADMINS: &[&str] = &["weft-admins"];
/// Calls in flight while setting up (environments, grants), as a few busy clients would.
const CONCURRENCY: usize = 16;

pub async fn run(args: ProvisioningArgs) -> anyhow::Result<()> {
    let weft = weft_binary(args.weft.as_deref())?;
    let plane = DataPlane::start()?;
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let suite = RunningSuite::start_with_env(
        &weft,
        &data_dir,
        args.port,
        &[("WEFT_PROVISIONING__RECONCILE_INTERVAL", "1s")],
    )
    .await?;
    println!(
        "weft-bench provisioning: suite up in {:.1} s; data plane on port {}",
        suite.startup.as_secs_f64(),
        plane.port
    );
    let clients = Clients {
        channel: Endpoint::from_shared(suite.gateway.clone())?.connect_lazy(),
        secret: std::fs::read_to_string(data_dir.join("jwt.secret"))?,
    };
    let result = async {
        approve_and_revoke(&clients, &plane, &args).await?;
        reconcile(&clients, &plane, &args).await
    }
    .await;
    suite.stop().await?;
    result
}

async fn admin_session(plane: &DataPlane) -> anyhow::Result<PgConnection> {
    Ok(PgConnection::connect(&plane.admin_url("postgres")).await?)
}

async fn execute(session: &mut PgConnection, statement: &str) -> anyhow::Result<()> {
    sqlx::query(statement).execute(session).await?;
    Ok(())
}

/// A table of the producer's schema with an EU and a US row.
async fn producer_table(admin: &mut PgConnection, table: &str) -> anyhow::Result<()> {
    execute(
        admin,
        &format!("CREATE TABLE sales.{table} (id int, region text, amount int)"),
    )
    .await?;
    execute(
        admin,
        &format!("INSERT INTO sales.{table} VALUES (1, 'EU', 10), (2, 'US', 20)"),
    )
    .await
}

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.into(),
        r#type: data_type.into(),
        nullable: true,
        description: format!("The {name}."),
        ..Default::default()
    }
}

/// A published product of domain `sales` with one asset per table.
async fn product(
    catalog: &mut Catalog,
    plane: &DataPlane,
    id: &str,
    tables: &[String],
) -> anyhow::Result<String> {
    let name = format!("domains/sales/dataProducts/{id}");
    catalog
        .create_data_product(CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: id.into(),
            data_product: Some(DataProduct {
                display_name: id.into(),
                description: format!("The {id} of the sales domain, one row per order."),
                owners: vec!["users/olivia".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?;
    for table in tables {
        catalog
            .create_asset(CreateAssetRequest {
                parent: name.clone(),
                asset_id: table.replace('_', "-"),
                asset: Some(Asset {
                    display_name: table.clone(),
                    description: format!("The {table} table."),
                    kind: AssetKind::Table as i32,
                    location: Some(Location {
                        namespace: format!("postgres://127.0.0.1:{}", plane.port),
                        name: format!("postgres.sales.{table}"),
                    }),
                    schema: Some(Schema {
                        columns: vec![
                            column("id", "int"),
                            column("region", "string"),
                            column("amount", "int"),
                        ],
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    catalog
        .publish_data_product(PublishDataProductRequest {
            name: name.clone(),
            etag: String::new(),
        })
        .await?;
    Ok(name)
}

/// Creates project `p{i}` of `users/c{i}` with a consumer environment; returns its login.
async fn consumer(
    clients: &Clients,
    plane: &DataPlane,
    i: usize,
) -> anyhow::Result<(String, String)> {
    let subject = format!("users/c{i}");
    clients
        .governance(&subject, &[])?
        .create_project(CreateProjectRequest {
            project_id: format!("p{i}"),
            project: Some(Project::default()),
            request_id: String::new(),
        })
        .await?;
    let mut provisioning = clients.provisioning(&subject)?;
    provisioning
        .create_environment(consumer_environment(
            &format!("projects/p{i}"),
            &format!("p{i}"),
            &plane.admin_url("postgres"),
        ))
        .await?;
    let name = format!("environments/p{i}");
    let handed = credentials_when_active(&mut provisioning, &name, Duration::from_secs(600))
        .await
        .ok_or_else(|| anyhow::anyhow!("{name} not ACTIVE within 10 minutes"))?;
    Ok((handed.username, handed.password))
}

async fn approve_and_revoke(
    clients: &Clients,
    plane: &DataPlane,
    args: &ProvisioningArgs,
) -> anyhow::Result<()> {
    let n = args.consumers;
    let mut admin = admin_session(plane).await?;
    execute(&mut admin, "CREATE SCHEMA sales").await?;
    producer_table(&mut admin, "orders").await?;
    let mut catalog = clients.catalog("users/admin", ADMINS)?;
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
        .await?;
    let product = product(&mut catalog, plane, "orders", &["orders".to_string()]).await?;

    let started = Instant::now();
    let logins: Vec<(String, String)> = stream::iter(0..n)
        .map(|i| consumer(clients, plane, i))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    println!(
        "  {n} consumer environments ACTIVE in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // A pending request per consumer (the projection may not have seen the publish yet).
    let mut pending = Vec::with_capacity(n);
    for i in 0..n {
        let mut governance = clients.governance(&format!("users/c{i}"), &[])?;
        let request = CreateSubscriptionRequestRequest {
            subscription_request: Some(SubscriptionRequest {
                project: format!("projects/p{i}"),
                data_product: product.clone(),
                justification: "Benchmarking the time to enforce a grant.".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let created = loop {
            match governance
                .create_subscription_request(request.clone())
                .await
            {
                Ok(created) => break created.into_inner(),
                Err(status) if Instant::now() > deadline => anyhow::bail!("{status:?}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        pending.push(created.name);
    }

    // Each consumer's own session, refused before the approval.
    let mut sessions = Vec::with_capacity(n);
    for (user, password) in &logins {
        let mut session = PgConnection::connect(&plane.url(user, password, "postgres")).await?;
        anyhow::ensure!(
            sqlx::query("SELECT id, region FROM sales.orders")
                .fetch_all(&mut session)
                .await
                .is_err(),
            "{user} reads the table before any approval"
        );
        sessions.push(session);
    }

    // Approve all at once; each consumer polls until its SELECT succeeds.
    let olivia = clients.governance("users/olivia", &[])?;
    let mut tasks = Vec::new();
    for (request, mut session) in pending.into_iter().zip(sessions) {
        let mut olivia = olivia.clone();
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            olivia
                .approve_subscription_request(ApproveSubscriptionRequestRequest {
                    name: request,
                    approved_filter: Some(DataFilter {
                        exclude_columns: vec!["amount".into()],
                        row_filter_text: "region = 'EU'".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await?;
            let latency = poll(&mut session, true, start).await?;
            Ok::<_, anyhow::Error>((latency, session))
        }));
    }
    let mut granted = Latencies::default();
    let mut sessions = Vec::with_capacity(n);
    for task in tasks {
        let (latency, session) = task.await??;
        granted.record(latency);
        sessions.push(session);
    }

    // Revoke every grant at once; each consumer polls until its SELECT is refused.
    let mut admin_governance = clients.governance("users/admin", ADMINS)?;
    let grants = admin_governance
        .list_grants(ListGrantsRequest {
            filter: "state=ACTIVE".into(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .grants;
    let mut by_principal: BTreeMap<String, String> = grants
        .into_iter()
        .map(|grant| (grant.principal, grant.name))
        .collect();
    let mut tasks = Vec::new();
    for (i, mut session) in sessions.into_iter().enumerate() {
        let grant = by_principal
            .remove(&format!("projects/p{i}"))
            .ok_or_else(|| anyhow::anyhow!("no grant of projects/p{i}"))?;
        let mut admin_governance = admin_governance.clone();
        tasks.push(tokio::spawn(async move {
            let start = Instant::now();
            admin_governance
                .revoke_grant(RevokeGrantRequest {
                    name: grant,
                    etag: String::new(),
                })
                .await?;
            poll(&mut session, false, start).await
        }));
    }
    let mut revoked = Latencies::default();
    for task in tasks {
        revoked.record(task.await??);
    }

    // The floor: the same statements for as many roles, by one client in one transaction.
    producer_table(&mut admin, "orders_floor").await?;
    for i in 0..n {
        execute(&mut admin, &format!("CREATE ROLE floor_{i} NOLOGIN")).await?;
    }
    let started = Instant::now();
    let mut transaction = sqlx::Connection::begin(&mut admin).await?;
    execute(
        &mut transaction,
        "ALTER TABLE sales.orders_floor ENABLE ROW LEVEL SECURITY",
    )
    .await?;
    for i in 0..n {
        execute(
            &mut transaction,
            &format!("GRANT USAGE ON SCHEMA sales TO floor_{i}"),
        )
        .await?;
        execute(
            &mut transaction,
            &format!("GRANT SELECT (id, region) ON sales.orders_floor TO floor_{i}"),
        )
        .await?;
        execute(
            &mut transaction,
            &format!(
                "CREATE POLICY floor_{i} ON sales.orders_floor FOR SELECT TO floor_{i} \
                 USING (region = 'EU')"
            ),
        )
        .await?;
    }
    transaction.commit().await?;
    let floor_grant = started.elapsed();
    let started = Instant::now();
    let mut transaction = sqlx::Connection::begin(&mut admin).await?;
    for i in 0..n {
        execute(
            &mut transaction,
            &format!("REVOKE ALL ON sales.orders_floor FROM floor_{i}"),
        )
        .await?;
        execute(
            &mut transaction,
            &format!("DROP POLICY floor_{i} ON sales.orders_floor"),
        )
        .await?;
    }
    transaction.commit().await?;
    let floor_revoke = started.elapsed();

    println!("  approve → first successful SELECT, {n} at once:");
    println!("    weft   {}", granted.summary());
    println!(
        "    floor  {:>8.2} ms (the same statements, one client, one transaction)",
        floor_grant.as_secs_f64() * 1000.0
    );
    println!("  revoke → first refused SELECT, {n} at once:");
    println!("    weft   {}", revoked.summary());
    println!("    floor  {:>8.2} ms", floor_revoke.as_secs_f64() * 1000.0);
    Ok(())
}

/// Polls the consumer's table every 20 ms until a `SELECT` succeeds (`allowed`) or is refused;
/// returns the time since `start`.
async fn poll(
    session: &mut PgConnection,
    allowed: bool,
    start: Instant,
) -> anyhow::Result<Duration> {
    let deadline = start + Duration::from_secs(300);
    loop {
        let outcome = sqlx::query("SELECT id, region FROM sales.orders")
            .fetch_all(&mut *session)
            .await;
        if outcome.is_ok() == allowed {
            return Ok(start.elapsed());
        }
        anyhow::ensure!(Instant::now() < deadline, "not reached in 300 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn reconcile(
    clients: &Clients,
    plane: &DataPlane,
    args: &ProvisioningArgs,
) -> anyhow::Result<()> {
    let (roles, per_role) = (args.roles, args.grants_per_role);
    let mut admin = admin_session(plane).await?;
    let tables: Vec<String> = (0..per_role).map(|t| format!("r{t}")).collect();
    for table in &tables {
        producer_table(&mut admin, table).await?;
    }
    producer_table(&mut admin, "drift").await?;
    let mut catalog = clients.catalog("users/admin", ADMINS)?;
    let product = product(&mut catalog, plane, "reconciled", &tables).await?;

    // Roles 100.. (the approve scenario used 0..consumers).
    let first = args.consumers;
    let started = Instant::now();
    let logins: Vec<(String, String)> = stream::iter(first..first + roles)
        .map(|i| consumer(clients, plane, i))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    println!(
        "  {roles} consumer environments ACTIVE in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let governance = clients.governance("users/admin", ADMINS)?;
    let requests: Vec<CreateGrantRequest> = (first..first + roles)
        .flat_map(|i| tables.iter().map(move |table| (i, table.replace('_', "-"))))
        .map(|(i, asset)| CreateGrantRequest {
            grant: Some(Grant {
                principal: format!("projects/p{i}"),
                target: Some(grant::Target::Resource(format!("{product}/assets/{asset}"))),
                permissions: vec![Permission::Select as i32],
                data_filter: Some(DataFilter {
                    exclude_columns: vec!["amount".into()],
                    row_filter_text: "region = 'EU'".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .collect();
    let total = requests.len();
    let results: Vec<_> = stream::iter(requests)
        .map(|request| {
            let mut governance = governance.clone();
            async move { governance.create_grant(request).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for result in results {
        result?;
    }
    println!(
        "  {total} grants created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Converged: every role holds its columns of every table.
    let expected = (roles * per_role) as i64;
    let started = Instant::now();
    let mut last_said = Instant::now();
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_roles r, pg_class c \
              WHERE c.relnamespace = 'sales'::regnamespace AND c.relname ~ '^r[0-9]+$' \
                AND NOT r.rolsuper AND r.rolname !~ '^pg_' \
                AND has_column_privilege(r.oid, c.oid, 'region', 'SELECT')",
        )
        .fetch_one(&mut admin)
        .await?;
        if held == expected {
            break;
        }
        if last_said.elapsed() > Duration::from_secs(30) {
            println!("    {held} of {expected} so far");
            last_said = Instant::now();
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "{held} of {expected} grants on the data plane after 30 min"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "  {expected} grants on the data plane {:.1} s after the last was created",
        started.elapsed().as_secs_f64()
    );
    // Let a full round find everything as it should be (it then only reads).
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Drift: a privilege granted by hand to 1% of the roles.
    let drifted: Vec<&String> = logins
        .iter()
        .map(|(user, _)| user)
        .step_by((100.0 / args.drifted_percent).round().max(1.0) as usize)
        .collect();
    for user in &drifted {
        execute(
            &mut admin,
            &format!("GRANT SELECT ON sales.drift TO \"{user}\""),
        )
        .await?;
    }
    let started = Instant::now();
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.table_privileges \
              WHERE table_schema = 'sales' AND table_name = 'drift' AND grantee <> 'weft_admin'",
        )
        .fetch_one(&mut admin)
        .await?;
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{left} hand-made privileges left after 10 min"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let repaired = started.elapsed();
    println!(
        "  reconcile of {roles} roles × {per_role} grants, {} drifted: detected and repaired in {:.2} s \
         (includes up to the 1 s interval)",
        drifted.len(),
        repaired.as_secs_f64()
    );
    Ok(())
}
