//! Governance `Check` through the gateway over gRPC: `weft up` from the release build (separate
//! processes, SQLite), the same mesh as the in-process `check` loaded through the gateway (10k
//! assets, 100k grants, 1k guardrails), then users asking about themselves at 1 and 32
//! concurrent clients. Next to it in the same run: the floor of a bare tonic service (gRPC
//! health `Check` served in this process) and the same decisions asked of governance directly
//! (mTLS, no gateway), which gives the gateway's overhead.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use futures::{StreamExt, TryStreamExt, stream};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, CreateAssetRequest, CreateDataProductRequest, CreateDomainRequest,
    CreateTagKeyRequest, DataProduct, Domain, Location, PublishDataProductRequest, Schema, TagKey,
};
use weft_proto::weft::common::v1::{DataFilter, Permission, Tag};
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::governance::v1::*;
use weft_runtime::ServiceKind;

use crate::check::{
    ASSETS_PER_PRODUCT, DOMAINS, PRODUCTS_PER_DOMAIN, USERS, asset_name, columns, domain_name,
    generate, micros, product_name, question,
};
use crate::report::{Latencies, resident_memory_mib};
use crate::suite::{RunningSuite, weft_binary};

#[derive(Args)]
pub struct GatewayCheckArgs {
    /// Grants loaded through the gateway.
    #[arg(long, default_value_t = 100_000)]
    grants: usize,
    /// Guardrail policies (10 per domain, the rest global).
    #[arg(long, default_value_t = 1_000)]
    policies: usize,
    /// Decisions timed per concurrency level.
    #[arg(long, default_value_t = 20_000)]
    decisions: usize,
    /// Gateway port of the suite (the services take the next four).
    #[arg(long, default_value_t = 7600)]
    port: u16,
    /// Concurrent clients of each measured series (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 32])]
    clients: Vec<usize>,
    /// Concurrent requests while loading.
    #[arg(long, default_value_t = 16)]
    load_concurrency: usize,
    /// The `weft` binary (default: next to this one).
    #[arg(long)]
    weft: Option<PathBuf>,
}

type Bearer = MetadataValue<tonic::metadata::Ascii>;

fn bearer(token: &str) -> anyhow::Result<Bearer> {
    Ok(format!("Bearer {token}").parse()?)
}

fn with_token<T>(message: T, token: &Bearer) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", token.clone());
    request
}

/// Runs `calls` with `concurrency` in flight, failing on the first error.
async fn concurrently<F>(
    what: &str,
    concurrency: usize,
    calls: impl Iterator<Item = F>,
) -> anyhow::Result<()>
where
    F: std::future::Future<Output = Result<(), tonic::Status>>,
{
    let started = Instant::now();
    let mut done = 0usize;
    let mut results = stream::iter(calls).buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        result.map_err(|status| anyhow::anyhow!("{what}: {status}"))?;
        done += 1;
    }
    println!(
        "  loaded {done} {what} in {:.1} s ({:.0}/s)",
        started.elapsed().as_secs_f64(),
        done as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn load(channel: &Channel, admin: &Bearer, args: &GatewayCheckArgs) -> anyhow::Result<usize> {
    let spec = generate(args.grants, args.policies)?;
    let catalog = CatalogServiceClient::new(channel.clone());
    let governance = GovernanceServiceClient::new(channel.clone());
    let parallel = args.load_concurrency;

    // The bench's products do not meet the default PUBLISH rules (no descriptions).
    for rule in [
        "rules/product-has-owner",
        "rules/product-described",
        "rules/columns-described",
        "rules/pii-classified",
    ] {
        governance
            .clone()
            .update_rule(with_token(
                UpdateRuleRequest {
                    rule: Some(Rule {
                        name: rule.into(),
                        enabled: false,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["enabled".into()],
                    }),
                },
                admin,
            ))
            .await?;
    }
    for (key, values, classification) in [
        ("tier", vec!["gold", "silver", "bronze"], false),
        ("pii", vec!["email", "phone"], true),
    ] {
        catalog
            .clone()
            .create_tag_key(with_token(
                CreateTagKeyRequest {
                    tag_key_id: key.into(),
                    tag_key: Some(TagKey {
                        allowed_values: values.into_iter().map(String::from).collect(),
                        classification,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            ))
            .await?;
    }
    concurrently(
        "domains",
        parallel,
        spec.domains.iter().enumerate().map(|(d, (owner, tier))| {
            let mut client = catalog.clone();
            let request = with_token(
                CreateDomainRequest {
                    domain_id: format!("d{d:03}"),
                    domain: Some(Domain {
                        display_name: format!("Domain {d}"),
                        owners: vec![owner.clone()],
                        tags: vec![Tag {
                            key: "tier".into(),
                            value: tier.clone(),
                        }],
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_domain(request).await.map(drop) }
        }),
    )
    .await?;
    let products: Vec<(usize, usize)> = (0..DOMAINS)
        .flat_map(|d| (0..PRODUCTS_PER_DOMAIN).map(move |p| (d, p)))
        .collect();
    concurrently(
        "data products",
        parallel,
        products.iter().map(|&(d, p)| {
            let mut client = catalog.clone();
            let request = with_token(
                CreateDataProductRequest {
                    parent: domain_name(d),
                    data_product_id: format!("p{p:02}"),
                    data_product: Some(DataProduct {
                        display_name: format!("Product {d}.{p}"),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_data_product(request).await.map(drop) }
        }),
    )
    .await?;
    let assets: Vec<(usize, usize, usize)> = products
        .iter()
        .flat_map(|&(d, p)| (0..ASSETS_PER_PRODUCT).map(move |a| (d, p, a)))
        .collect();
    concurrently(
        "assets",
        parallel,
        assets.iter().map(|&(d, p, a)| {
            let mut client = catalog.clone();
            let request = with_token(
                CreateAssetRequest {
                    parent: product_name(d, p),
                    asset_id: format!("a{a:02}"),
                    asset: Some(Asset {
                        kind: AssetKind::Table as i32,
                        location: Some(Location {
                            namespace: "postgres://bench:5432".into(),
                            name: format!("d{d:03}.p{p:02}.a{a:02}"),
                        }),
                        schema: Some(Schema { columns: columns() }),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_asset(request).await.map(drop) }
        }),
    )
    .await?;
    concurrently(
        "publishes",
        parallel,
        products.iter().map(|&(d, p)| {
            let mut client = catalog.clone();
            let request = with_token(
                PublishDataProductRequest {
                    name: product_name(d, p),
                    etag: String::new(),
                },
                admin,
            );
            async move { client.publish_data_product(request).await.map(drop) }
        }),
    )
    .await?;
    concurrently(
        "groups",
        parallel,
        spec.groups.iter().map(|group| {
            let mut client = governance.clone();
            let request = with_token(
                CreateGroupRequest {
                    group_id: group.name.trim_start_matches("groups/").into(),
                    group: Some(Group {
                        members: group.members.clone(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_group(request).await.map(drop) }
        }),
    )
    .await?;
    concurrently(
        "projects",
        parallel,
        spec.projects.iter().map(|project| {
            let mut client = governance.clone();
            let request = with_token(
                CreateProjectRequest {
                    project_id: project.name.trim_start_matches("projects/").into(),
                    project: Some(Project {
                        members: project.members.clone(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_project(request).await.map(drop) }
        }),
    )
    .await?;

    // Grants name catalog resources: wait until governance's projection holds the last asset.
    let last = asset_name(DOMAINS - 1, PRODUCTS_PER_DOMAIN - 1, ASSETS_PER_PRODUCT - 1);
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let decision = governance
            .clone()
            .check(with_token(
                CheckRequest {
                    query: Some(AccessQuery {
                        principal: String::new(),
                        permission: Permission::Describe as i32,
                        resource: last.clone(),
                    }),
                },
                admin,
            ))
            .await?
            .into_inner()
            .decision
            .unwrap_or_default();
        if decision.allowed {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "governance never projected {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    concurrently(
        "grants",
        parallel,
        spec.grants.iter().map(|(grant, _)| {
            let mut client = governance.clone();
            let request = with_token(
                CreateGrantRequest {
                    // The API takes the row filter as text (it parses and checks it).
                    grant: Some(Grant {
                        name: String::new(),
                        state: 0,
                        data_filter: grant.data_filter.clone().map(|filter| DataFilter {
                            row_filter: None,
                            ..filter
                        }),
                        ..grant.clone()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_grant(request).await.map(drop) }
        }),
    )
    .await?;
    concurrently(
        "guardrails",
        parallel,
        spec.guardrails.iter().map(|guardrail| {
            let mut client = governance.clone();
            let request = with_token(
                CreatePolicyRequest {
                    policy_id: guardrail.id.clone(),
                    policy: Some(Policy {
                        cedar: guardrail.text.clone(),
                        domain: guardrail.domain.clone(),
                        enabled: true,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                },
                admin,
            );
            async move { client.create_policy(request).await.map(drop) }
        }),
    )
    .await?;
    Ok(spec.grants.len())
}

/// One measured series: latencies, throughput and the share of questions allowed.
struct Series {
    latencies: Latencies,
    rate: f64,
    allowed: f64,
}

/// Asks `count` Check questions over `clients` connections made by `connect`; `ask` turns a
/// question into a call.
async fn measure<C, A, Fut>(
    count: usize,
    clients: usize,
    connect: C,
    ask: A,
) -> anyhow::Result<Series>
where
    C: Fn() -> anyhow::Result<Channel>,
    A: Fn(Channel, usize, StdRng) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(Vec<Duration>, usize)>> + Send + 'static,
{
    let per_client = count / clients;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let rng = StdRng::seed_from_u64(5_000 + client as u64);
        tasks.push(tokio::spawn(ask(connect()?, per_client, rng)));
    }
    let mut latencies = Latencies::default();
    let mut allowed = 0usize;
    for task in tasks {
        let (timed, granted) = task.await??;
        for latency in timed {
            latencies.record(latency);
        }
        allowed += granted;
    }
    let done = per_client * clients;
    Ok(Series {
        latencies,
        rate: done as f64 / started.elapsed().as_secs_f64(),
        allowed: allowed as f64 / done as f64,
    })
}

/// Asks governance `count` random questions over `channel`, each user about itself with its
/// own token (`on_behalf` false), or the administrator about the user (`on_behalf` true).
async fn ask_checks(
    channel: Channel,
    count: usize,
    mut rng: StdRng,
    tokens: Arc<HashMap<String, Bearer>>,
    admin: Option<Bearer>,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut client = GovernanceServiceClient::new(channel);
    let mut latencies = Vec::with_capacity(count);
    let mut allowed = 0usize;
    for _ in 0..count {
        let (subject, permission, resource) = question(&mut rng);
        let (token, principal) = match &admin {
            Some(admin) => (admin, subject.subject().to_string()),
            None => (&tokens[subject.subject()], String::new()),
        };
        let request = with_token(
            CheckRequest {
                query: Some(AccessQuery {
                    principal,
                    permission: permission as i32,
                    resource,
                }),
            },
            token,
        );
        let start = Instant::now();
        let decision = client.check(request).await?.into_inner().decision;
        latencies.push(start.elapsed());
        allowed += usize::from(decision.is_some_and(|d| d.allowed));
    }
    Ok((latencies, allowed))
}

async fn ask_health(
    channel: Channel,
    count: usize,
    _rng: StdRng,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut client = HealthClient::new(channel);
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        client.check(HealthCheckRequest::default()).await?;
        latencies.push(start.elapsed());
    }
    Ok((latencies, count))
}

fn row(what: &str, series: &Series) -> String {
    format!(
        "| {what} | p50 {:.0} µs, p99 {:.0} µs | {:.0}/s | {:.1}% |",
        micros(series.latencies.percentile(0.5)),
        micros(series.latencies.percentile(0.99)),
        series.rate,
        series.allowed * 100.0
    )
}

pub async fn run(args: GatewayCheckArgs) -> anyhow::Result<()> {
    let weft = weft_binary(args.weft.as_deref())?;
    let data = tempfile::tempdir()?;
    let suite = RunningSuite::start(&weft, data.path(), args.port).await?;
    // The suite is stopped whatever happened (its services would outlive this process).
    let result = run_on(&suite, data.path(), &args).await;
    suite.stop().await?;
    result
}

async fn run_on(
    suite: &RunningSuite,
    data: &std::path::Path,
    args: &GatewayCheckArgs,
) -> anyhow::Result<()> {
    println!(
        "weft-bench check-gateway: suite up in {:.1} s; loading through the gateway",
        suite.startup.as_secs_f64()
    );
    let gateway = suite.gateway.clone();
    let connect_gateway = move || Ok(Endpoint::from_shared(gateway.clone())?.connect_lazy());
    let admin = bearer(&suite.admin_token)?;
    let load_started = Instant::now();
    let grants = load(&connect_gateway()?, &admin, args).await?;
    println!("  loaded in {:.0} s", load_started.elapsed().as_secs_f64());
    let governance_pid = suite.pids.get("governance").copied();
    let governance_memory = governance_pid.and_then(resident_memory_mib);

    // A token per user (the dev secret of the suite's data directory).
    let secret = std::fs::read_to_string(data.join("jwt.secret"))?;
    let mut tokens = HashMap::with_capacity(USERS);
    for u in 0..USERS {
        let subject = format!("users/u{u:05}");
        let token = weft_runtime::auth::issue_hs256_token(
            secret.trim().as_bytes(),
            &subject,
            &[],
            Duration::from_secs(3600),
        )?;
        tokens.insert(subject, bearer(&token)?);
    }
    let tokens = Arc::new(tokens);

    // Governance directly: TLS to its port with the dev CA, the administrator's token.
    let governance_port = args.port
        + ServiceKind::ALL
            .iter()
            .position(|kind| *kind == ServiceKind::Governance)
            .expect("governance is a service") as u16;
    let ca = std::fs::read(data.join("tls").join("ca.pem"))?;
    let connect_direct = move || {
        Ok(
            Endpoint::from_shared(format!("https://127.0.0.1:{governance_port}"))?
                .tls_config(
                    ClientTlsConfig::new()
                        .domain_name(ServiceKind::Governance.tls_name())
                        .ca_certificate(Certificate::from_pem(&ca)),
                )?
                .connect_lazy(),
        )
    };

    // The floor: a bare tonic service (gRPC health) in this process.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_address = format!("http://{}", listener.local_addr()?);
    let (_reporter, health) = tonic_health::server::health_reporter();
    let floor = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(tokio_stream_from(listener)),
    );
    let connect_floor = move || Ok(Endpoint::from_shared(floor_address.clone())?.connect_lazy());

    let mut rows = Vec::new();
    for &clients in &args.clients {
        // Warm up the connections and governance's caches, then measure.
        let warm = |tokens: Arc<HashMap<String, Bearer>>| {
            move |channel, count, rng| ask_checks(channel, count, rng, tokens.clone(), None)
        };
        measure(2_000, clients, &connect_gateway, warm(tokens.clone())).await?;
        let through = measure(
            args.decisions,
            clients,
            &connect_gateway,
            warm(tokens.clone()),
        )
        .await?;
        let admin_token = admin.clone();
        let direct_tokens = tokens.clone();
        let direct = measure(
            args.decisions,
            clients,
            &connect_direct,
            move |channel, count, rng| {
                ask_checks(
                    channel,
                    count,
                    rng,
                    direct_tokens.clone(),
                    Some(admin_token.clone()),
                )
            },
        )
        .await?;
        let bare = measure(args.decisions, clients, &connect_floor, ask_health).await?;
        rows.push(row(
            &format!("{clients} client(s): through the gateway"),
            &through,
        ));
        rows.push(row(
            &format!("{clients} client(s): governance directly"),
            &direct,
        ));
        rows.push(row(
            &format!("{clients} client(s): floor, bare tonic service"),
            &bare,
        ));
    }
    floor.abort();

    println!();
    println!(
        "## Governance Check through the gateway over gRPC: {grants} grants, {} guardrails, {} assets (weft up, SQLite, release build)",
        args.policies,
        DOMAINS * PRODUCTS_PER_DOMAIN * ASSETS_PER_PRODUCT
    );
    println!();
    println!("| what | latency | throughput | allowed |");
    println!("| --- | --- | --- | --- |");
    for row in rows {
        println!("{row}");
    }
    println!(
        "| governance memory | {} after the load | — | — |",
        governance_memory.map_or("n/a".to_string(), |v| format!("{v:.0} MiB RSS"))
    );
    Ok(())
}

/// The accepted connections of `listener`, as tonic's server wants them.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
    .into_stream()
}
