//! `weft-bench lineage`: OpenLineage ingest rates, and traversals of a generated graph of about
//! 1M edges answered from lineage's in-memory graph, next to a recursive CTE over the same tables
//! in the same run (what Marquez does).
//!
//! - Ingest, in process (lineage's domain on a fresh database: SQLite, and PostgreSQL when a
//!   server URL is given): one event per call, one event per call from 32 callers at once
//!   (group commit), batches of 1,000, and 4 callers of batches at once; then through the gateway
//!   against `weft up` (SQLite): over gRPC one event per call and batches, and 32 callers each
//!   posting one event per request to the OpenLineage HTTP transport (`/api/v1/lineage`).
//! - Traversal: a layered pipeline graph (datasets and jobs in 12 layers, jobs reading 1-4
//!   inputs mostly from the layer below, 5 % of reads going to one of 100 hub datasets that
//!   end up with thousands of readers) written straight into lineage's tables, loaded by the
//!   service's own loader, then GetLineageGraph downstream and upstream at depth 1, 5, 10 and
//!   unbounded. The baseline runs the same questions as a recursive CTE; both must find the same
//!   nodes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait, Value};
use sea_orm_migration::MigratorTrait;
use serde_json::json;
use tonic::metadata::MetadataValue;
use weft_lineage::domain::Lineage;
use weft_lineage::store::migrations::Migrator;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::lineage::v1::{
    Direction, EdgeKind, GetLineageGraphRequest, IngestEventRequest, IngestEventsRequest, NodeKind,
};
use weft_storage::Store;
use weft_testkit::Backend;
use weft_tests::openlineage::{Step, run_event};

use crate::report::{Latencies, resident_memory_mib};
use crate::suite::{RunningSuite, weft_binary};

#[derive(clap::Args)]
pub struct LineageArgs {
    /// Edges of the generated graph (input and output edges).
    #[arg(long, default_value_t = 1_000_000)]
    edges: usize,
    /// Traversals timed per depth and direction.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Recursive-CTE traversals timed per depth and direction (the baseline is slow).
    #[arg(long, default_value_t = 20)]
    baseline_queries: usize,
    /// Events ingested per ingest measurement (one caller of single events: a tenth of it; 32
    /// callers of single events: a quarter).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// PostgreSQL server (a role that may create databases) for the PostgreSQL runs; default
    /// WEFT_TEST_POSTGRES_URL; skipped when neither is set.
    #[arg(long)]
    postgres: Option<String>,
    /// First of the five ports `weft up` uses.
    #[arg(long, default_value_t = 7700)]
    port: u16,
    /// The weft binary (default: next to weft-bench).
    #[arg(long)]
    weft: Option<PathBuf>,
    /// Measures ingestion only (no generated graph, no traversals).
    #[arg(long)]
    ingest_only: bool,
}

const BATCH: usize = 1_000;
/// Callers sending batches at the same time in the concurrent ingest measurement.
const CONCURRENT_CALLERS: usize = 4;
/// Callers sending single events at once.
const SINGLE_CALLERS: usize = 32;
const LAYERS: usize = 12;
const HUBS: usize = 100;
const DEPTHS: [(u32, &str); 4] = [(1, "1"), (5, "5"), (10, "10"), (0, "unbounded")];

pub async fn run(args: LineageArgs) -> anyhow::Result<()> {
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = args
        .postgres
        .clone()
        .or_else(|| std::env::var("WEFT_TEST_POSTGRES_URL").ok())
        .filter(|url| !url.is_empty())
    {
        backends.push(Backend::Postgres(url));
    }
    let temp = tempfile::tempdir()?;

    println!(
        "== OpenLineage ingest (events/s; each event a START or COMPLETE run event with schema and column lineage)"
    );
    let bodies: Vec<String> = (0..args.events).map(event).collect();
    let started = Instant::now();
    for body in &bodies {
        weft_lineage::openlineage::ParsedEvent::parse(body)
            .map_err(|fault| anyhow::anyhow!("{}: {}", fault.path, fault.message))?;
    }
    println!(
        "parsing and validating alone (spec and facet schemas, canonical key): {:.0}/s",
        args.events as f64 / started.elapsed().as_secs_f64()
    );
    for backend in &backends {
        ingest_in_process(backend, temp.path(), args.events).await?;
    }
    ingest_through_gateway(&args, temp.path()).await?;
    if args.ingest_only {
        return Ok(());
    }

    for backend in &backends {
        traversals(backend, temp.path(), &args).await?;
    }
    Ok(())
}

/// A run event: job `job` reads `t{job}` and writes `t{job + 1}` (6 columns, each a DIRECT
/// IDENTITY of the input's), so consecutive jobs chain into a pipeline.
fn event(index: usize) -> String {
    let job_index = (index / 2) % 1_000;
    let job = format!("job_{job_index:04}");
    let input = format!("warehouse.t{job_index:04}");
    let output = format!("warehouse.t{:04}", job_index + 1);
    const FIELDS: [&str; 6] = [
        "id",
        "customer_id",
        "email",
        "amount",
        "currency",
        "created_at",
    ];
    const COLUMNS: [(&str, &str, &str, bool); 6] = [
        ("id", "id", "IDENTITY", false),
        ("customer_id", "customer_id", "IDENTITY", false),
        ("email", "email", "IDENTITY", false),
        ("amount", "amount", "IDENTITY", false),
        ("currency", "currency", "IDENTITY", false),
        ("created_at", "created_at", "IDENTITY", false),
    ];
    let step = Step {
        job: &job,
        input_namespace: "postgres://dw.example:5432",
        input: &input,
        input_fields: &FIELDS,
        output_namespace: "postgres://dw.example:5432",
        output: &output,
        output_fields: &FIELDS,
        columns: &COLUMNS,
    };
    let run = format!("0194a0b0-0000-7000-8000-{:012x}", index / 2);
    let (event_type, second) = if index.is_multiple_of(2) {
        ("START", 0)
    } else {
        ("COMPLETE", 30)
    };
    let time = format!(
        "2026-11-{:02}T{:02}:{:02}:{second:02}Z",
        1 + (index / 2 / 1440) % 28,
        (index / 2 / 60) % 24,
        (index / 2) % 60
    );
    run_event(event_type, &run, &time, &step, json!({}))
}

async fn open_lineage(
    backend: &Backend,
    dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<Store> {
    let url = weft_testkit::fresh_database(backend, dir, name).await?;
    let db = weft_storage::connect(&url).await?;
    Migrator::up(&db, None).await?;
    Ok(Store::new(db, "lineage"))
}

async fn ingest_in_process(
    backend: &Backend,
    dir: &std::path::Path,
    events: usize,
) -> anyhow::Result<()> {
    let store = open_lineage(backend, dir, &format!("ingest_{backend}")).await?;
    let lineage = Lineage::open(store).await?;
    let single = (events / 10).max(2);
    let started = Instant::now();
    for index in 0..single {
        lineage.ingest_event(&bench_caller(), &event(index)).await?;
    }
    let single_rate = single as f64 / started.elapsed().as_secs_f64();
    // Many pipelines posting one event each at once (the OpenLineage HTTP transport's way).
    let concurrent_single = events / 4;
    let bodies: Vec<String> = (single..single + concurrent_single).map(event).collect();
    let concurrent_single_rate = rate_of_callers(
        &lineage,
        &bodies,
        SINGLE_CALLERS,
        |lineage, part| async move {
            for body in &part {
                lineage.ingest_event(&bench_caller(), body).await?;
            }
            Ok(())
        },
    )
    .await?;
    let first = single + concurrent_single;
    let bodies: Vec<String> = (first..first + events).map(event).collect();
    let started = Instant::now();
    send_batches(&lineage, &bodies).await?;
    let batch_rate = events as f64 / started.elapsed().as_secs_f64();
    // Several pipelines send at once: one batch parses while another writes.
    let first = first + events;
    let bodies: Vec<String> = (first..first + events).map(event).collect();
    let concurrent_rate = rate_of_callers(
        &lineage,
        &bodies,
        CONCURRENT_CALLERS,
        |lineage, part| async move { send_batches(&lineage, &part).await },
    )
    .await?;
    println!(
        "in process, {:<8}  single {single_rate:>8.0}/s, {SINGLE_CALLERS} callers of single events {concurrent_single_rate:>8.0}/s ({concurrent_single} events)   batches of {BATCH} {batch_rate:>8.0}/s ({events} events)   {CONCURRENT_CALLERS} callers at once {concurrent_rate:>8.0}/s",
        backend.to_string()
    );
    Ok(())
}

/// Events per second when `callers` tasks at once each `send` their share of `bodies`.
async fn rate_of_callers<SendPart, Sending>(
    lineage: &Lineage,
    bodies: &[String],
    callers: usize,
    send: SendPart,
) -> anyhow::Result<f64>
where
    SendPart: Fn(Lineage, Vec<String>) -> Sending,
    Sending: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let per_caller = bodies.len().div_ceil(callers);
    let started = Instant::now();
    let tasks: Vec<_> = bodies
        .chunks(per_caller)
        .map(|part| tokio::spawn(send(lineage.clone(), part.to_vec())))
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64())
}

/// Sends `bodies` in batches of `BATCH`, one after the other; every event must be accepted.
async fn send_batches(lineage: &Lineage, bodies: &[String]) -> anyhow::Result<()> {
    for chunk in bodies.chunks(BATCH) {
        let outcome = lineage
            .ingest_events(&bench_caller(), chunk.to_vec())
            .await?;
        anyhow::ensure!(outcome.failed.is_empty(), "refused: {:?}", outcome.failed);
    }
    Ok(())
}

async fn ingest_through_gateway(args: &LineageArgs, dir: &std::path::Path) -> anyhow::Result<()> {
    let weft = match weft_binary(args.weft.as_deref()) {
        Ok(weft) => weft,
        Err(error) => {
            println!("through the gateway: skipped ({error})");
            return Ok(());
        }
    };
    let data_dir = dir.join("weft-up");
    let suite = RunningSuite::start(&weft, &data_dir, args.port).await?;
    let channel = tonic::transport::Endpoint::from_shared(suite.gateway.clone())?
        .connect()
        .await?;
    let token: MetadataValue<_> = format!("Bearer {}", suite.admin_token).parse()?;
    let mut client =
        LineageServiceClient::with_interceptor(channel, move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
            Ok(request)
        });
    let single = (args.events / 10).max(2);
    let started = Instant::now();
    for index in 0..single {
        client
            .ingest_event(IngestEventRequest {
                event_json: event(index),
            })
            .await?;
    }
    let single_rate = single as f64 / started.elapsed().as_secs_f64();
    let bodies: Vec<String> = (single..single + args.events).map(event).collect();
    let started = Instant::now();
    for chunk in bodies.chunks(BATCH) {
        let outcome = client
            .ingest_events(IngestEventsRequest {
                events_json: chunk.to_vec(),
            })
            .await?
            .into_inner();
        anyhow::ensure!(outcome.failed.is_empty(), "refused: {:?}", outcome.failed);
    }
    let batch_rate = args.events as f64 / started.elapsed().as_secs_f64();
    let first = single + args.events;
    let concurrent_single = args.events / 4;
    let bodies: Vec<String> = (first..first + concurrent_single).map(event).collect();
    let http_rate = http_callers_rate(&suite, &bodies).await?;
    let memory = suite
        .pids
        .get("lineage")
        .and_then(|pid| resident_memory_mib(*pid));
    println!(
        "gateway, sqlite         gRPC single {single_rate:>8.0}/s ({single} events)   gRPC batches of {BATCH} {batch_rate:>8.0}/s ({} events)   HTTP {SINGLE_CALLERS} callers of single events {http_rate:>8.0}/s ({concurrent_single} events); lineage process RSS {}",
        args.events,
        memory.map_or("?".to_string(), |m| format!("{m:.0} MiB"))
    );
    suite.stop().await
}

/// Events per second when `SINGLE_CALLERS` callers at once post `bodies` one per request to
/// the gateway's OpenLineage HTTP transport (as pipelines with the HTTP transport do); every
/// event must be answered 201 Created.
async fn http_callers_rate(suite: &RunningSuite, bodies: &[String]) -> anyhow::Result<f64> {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: http::Uri = format!("{}/api/v1/lineage", suite.gateway).parse()?;
    let authorization = format!("Bearer {}", suite.admin_token);
    let per_caller = bodies.len().div_ceil(SINGLE_CALLERS);
    let started = Instant::now();
    let tasks: Vec<_> = bodies
        .chunks(per_caller)
        .map(|part| {
            let (client, uri, authorization) = (client.clone(), uri.clone(), authorization.clone());
            let part = part.to_vec();
            tokio::spawn(async move {
                for body in part {
                    let request = http::Request::post(uri.clone())
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .header(http::header::AUTHORIZATION, &authorization)
                        .body(Full::new(bytes::Bytes::from(body)))?;
                    let response = client.request(request).await?;
                    let status = response.status();
                    anyhow::ensure!(status == http::StatusCode::CREATED, "answered {status}");
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64())
}

/// The generated graph: node rows (id, kind, namespace, name) and input / output edges
/// (source, target, kind, job).
struct Generated {
    datasets: Vec<String>,
    nodes: Vec<(String, i32, String, String)>,
    edges: Vec<(String, String, i32, String)>,
}

fn generate(edges: usize) -> Generated {
    let mut rng = StdRng::seed_from_u64(5);
    // About 2.5 inputs and 1.5 outputs per job.
    let jobs = edges / 4;
    let per_layer = (jobs / LAYERS).max(1);
    let namespace = "postgres://dw.example:5432";
    let dataset = |layer: usize, n: usize| format!("dataset:{namespace}:l{layer:02}.t{n:06}");
    let mut nodes = Vec::new();
    let mut datasets = Vec::new();
    for layer in 0..=LAYERS {
        for n in 0..per_layer {
            let id = dataset(layer, n);
            nodes.push((
                id.clone(),
                NodeKind::Dataset as i32,
                namespace.to_string(),
                format!("l{layer:02}.t{n:06}"),
            ));
            datasets.push(id);
        }
    }
    let mut out = Vec::with_capacity(edges + 8);
    for j in 0..jobs {
        let layer = 1 + j % LAYERS;
        let job = format!("job:etl:job_{j:07}");
        nodes.push((
            job.clone(),
            NodeKind::Job as i32,
            "etl".into(),
            format!("job_{j:07}"),
        ));
        let mut inputs = HashSet::new();
        for _ in 0..rng.random_range(1..=4) {
            let input = if rng.random_bool(0.05) {
                dataset(0, rng.random_range(0..HUBS.min(per_layer)))
            } else if rng.random_bool(0.8) {
                dataset(layer - 1, rng.random_range(0..per_layer))
            } else {
                dataset(rng.random_range(0..layer), rng.random_range(0..per_layer))
            };
            inputs.insert(input);
        }
        let mut outputs = HashSet::new();
        for _ in 0..rng.random_range(1..=2) {
            outputs.insert(dataset(layer, rng.random_range(0..per_layer)));
        }
        for input in inputs {
            out.push((input, job.clone(), EdgeKind::Input as i32, job.clone()));
        }
        for output in outputs {
            out.push((job.clone(), output, EdgeKind::Output as i32, job.clone()));
        }
    }
    Generated {
        datasets,
        nodes,
        edges: out,
    }
}

/// Writes the graph into lineage's tables, 500 rows per statement.
async fn write_graph(store: &Store, graph: &Generated) -> anyhow::Result<()> {
    let txn = store.db().begin().await?;
    for chunk in graph.nodes.chunks(500) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("lineage_nodes"))
            .columns(["id", "kind", "namespace", "name", "field", "first_seen"].map(Alias::new));
        for (id, kind, namespace, name) in chunk {
            insert.values_panic([
                id.clone().into(),
                (*kind).into(),
                namespace.clone().into(),
                name.clone().into(),
                String::new().into(),
                0i64.into(),
            ]);
        }
        txn.execute(store.backend().build(&insert)).await?;
    }
    for chunk in graph.edges.chunks(500) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("lineage_edges")).columns(
            [
                "source",
                "target",
                "kind",
                "job",
                "valid_from",
                "valid_to",
                "subtype",
                "masking",
                "description",
            ]
            .map(Alias::new),
        );
        for (source, target, kind, job) in chunk {
            insert.values_panic([
                source.clone().into(),
                target.clone().into(),
                (*kind).into(),
                job.clone().into(),
                0i64.into(),
                Value::BigInt(None).into(),
                String::new().into(),
                false.into(),
                String::new().into(),
            ]);
        }
        txn.execute(store.backend().build(&insert)).await?;
    }
    // The baseline walks upstream by target; Weft's own tables need no such index.
    txn.execute_unprepared("CREATE INDEX bench_lineage_edges_target ON lineage_edges (target)")
        .await?;
    txn.commit().await?;
    // Fresh statistics, so the baseline's planner uses the indexes (fair to the CTE).
    store
        .db()
        .execute_unprepared("ANALYZE lineage_edges")
        .await?;
    Ok(())
}

/// The recursive CTE a SQL-backed lineage service runs: nodes reachable within `depth` hops
/// (edges), counted with the start.
fn cte(backend: DatabaseBackend, downstream: bool, start: &str, depth: u32) -> Statement {
    let (from, to) = if downstream {
        ("source", "target")
    } else {
        ("target", "source")
    };
    let (p1, p2) = match backend {
        DatabaseBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "WITH RECURSIVE reach(id, depth) AS ( \
           SELECT CAST({p1} AS TEXT), 0 \
           UNION \
           SELECT e.{to}, r.depth + 1 FROM reach r JOIN lineage_edges e ON e.{from} = r.id \
           WHERE e.kind IN (1, 2) AND e.valid_to IS NULL AND r.depth < {p2} \
         ) SELECT COUNT(DISTINCT id) FROM reach"
    );
    let limit = if depth == 0 { 1_000_000 } else { depth as i64 };
    Statement::from_sql_and_values(backend, sql, [start.into(), limit.into()])
}

async fn traversals(
    backend: &Backend,
    dir: &std::path::Path,
    args: &LineageArgs,
) -> anyhow::Result<()> {
    println!(
        "\n== Traversal on {backend}: generated graph, GetLineageGraph from memory vs recursive CTE"
    );
    let store = open_lineage(backend, dir, &format!("graph_{backend}")).await?;
    let graph = generate(args.edges);
    let started = Instant::now();
    write_graph(&store, &graph).await?;
    println!(
        "{} nodes, {} edges written in {:.1} s",
        graph.nodes.len(),
        graph.edges.len(),
        started.elapsed().as_secs_f64()
    );
    let pid = std::process::id();
    let before = resident_memory_mib(pid);
    let started = Instant::now();
    let lineage = Lineage::open(store.clone()).await?;
    let load = started.elapsed();
    let after = resident_memory_mib(pid);
    println!(
        "graph loaded by the service's loader in {:.1} s; resident memory +{} MiB",
        load.as_secs_f64(),
        match (before, after) {
            (Some(b), Some(a)) => format!("{:.0}", a - b),
            _ => "?".into(),
        }
    );

    let mut rng = StdRng::seed_from_u64(7);
    let starts: Vec<&String> = (0..args.queries)
        .map(|_| &graph.datasets[rng.random_range(0..graph.datasets.len())])
        .collect();
    println!(
        "{:<24} {:<44} {:<44} nodes found (mean), agreement",
        "direction, depth", "Weft (memory)", "baseline (recursive CTE)"
    );
    for downstream in [true, false] {
        for (depth, label) in DEPTHS {
            let mut weft = Latencies::default();
            let mut found = Vec::with_capacity(starts.len());
            let mut truncated = 0;
            for start in &starts {
                let request = GetLineageGraphRequest {
                    node: start.to_string(),
                    direction: if downstream {
                        Direction::Downstream
                    } else {
                        Direction::Upstream
                    } as i32,
                    depth: depth as i32,
                    max_nodes: 100_000,
                    time_budget: Some(prost_types::Duration::try_from(Duration::from_secs(30))?),
                    ..Default::default()
                };
                let began = Instant::now();
                let response = lineage.get_lineage_graph(&request)?;
                weft.record(began.elapsed());
                truncated += usize::from(response.truncated);
                found.push(response.nodes.len());
            }
            let mut baseline = Latencies::default();
            let mut agree = 0;
            let compared = args.baseline_queries.min(starts.len());
            for (start, weft_count) in starts.iter().zip(&found).take(compared) {
                let began = Instant::now();
                let row = store
                    .db()
                    .query_one(cte(store.backend(), downstream, start, depth))
                    .await?
                    .context("the CTE returns a row")?;
                baseline.record(began.elapsed());
                let count: i64 = row.try_get_by_index(0)?;
                agree += usize::from(count as usize == *weft_count);
            }
            let mean = found.iter().sum::<usize>() as f64 / found.len().max(1) as f64;
            println!(
                "{:<24} {:<44} {:<44} {mean:.0}, {agree}/{compared} equal{}",
                format!(
                    "{} {label}",
                    if downstream { "downstream" } else { "upstream" }
                ),
                weft.summary(),
                baseline.summary(),
                if truncated > 0 {
                    format!(", {truncated} truncated")
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(())
}

/// The caller the in-process ingestion acts as.
fn bench_caller() -> weft_runtime::Caller {
    weft_runtime::Caller::new("users/bench", Vec::new(), false)
}
