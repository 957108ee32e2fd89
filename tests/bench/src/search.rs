//! The catalog search scenario (target: search p99 ≤ 20 ms at 1M assets, index ≥ 10k
//! assets/s), next to SQLite FTS5 over the same rows.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, BatchCreateAssetsRequest, Column, CreateAssetRequest,
    CreateDataProductRequest, CreateDomainRequest, CreateTagKeyRequest, DataProduct, Domain,
    Location, Schema, SearchRequest, SearchResultType, TagKey,
};
use weft_proto::weft::common::v1::Tag;
use weft_testkit::Bearer;

use crate::data::Generator;
use crate::report::{Latencies, resident_memory_mib, wait_until_idle};
use crate::suite::{RunningSuite, weft_binary};

type Client = CatalogServiceClient<InterceptedService<Channel, Bearer>>;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Assets to load (each with ~10 columns).
    #[arg(long, default_value_t = 1_000_000)]
    assets: usize,
    /// Queries of each kind to time.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Concurrent clients while loading.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Assets per BatchCreateAssets call while loading (1: one CreateAsset call per asset).
    #[arg(long, default_value_t = 250)]
    batch: usize,
    /// First of the five ports `weft up` uses.
    #[arg(long, default_value_t = 7600)]
    port: u16,
    /// The weft binary (default: next to weft-bench).
    #[arg(long)]
    weft: Option<PathBuf>,
    /// Keep the data directory here instead of a temporary one.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The --data-dir holds the catalog of an earlier run with the same --assets: measure the
    /// index rebuild and the queries of this build on it without loading again.
    #[arg(long, requires = "data_dir")]
    reuse_data: bool,
    /// Skip the SQLite FTS5 baseline (when re-measuring Weft alone next to a run that has it).
    #[arg(long)]
    no_baseline: bool,
}

const QUERIES: [(&str, &str); 3] = [
    ("single term", "invoices"),
    ("multi term", "customer email daily"),
    ("filtered + faceted", "refunds"),
];

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let weft = weft_binary(args.weft.as_deref())?;
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().join("weft"));
    println!(
        "weft-bench search: {} assets, data in {}",
        args.assets,
        data_dir.display()
    );

    if args.reuse_data {
        // A first start brings the reused index up to date (this build may index differently),
        // so that the next one is a start without a rebuild.
        RunningSuite::start(&weft, &data_dir, args.port)
            .await?
            .stop()
            .await?;
    }
    let suite = RunningSuite::start(&weft, &data_dir, args.port).await?;
    // The reference start: empty, or with the reused data and its index up to date.
    let reference_startup = suite.startup;
    println!("weft up ready in {:.2} s", reference_startup.as_secs_f64());
    let channel = Endpoint::from_shared(suite.gateway.clone())?
        .connect()
        .await?;
    let client = CatalogServiceClient::with_interceptor(channel, Bearer(suite.admin_token.clone()));
    let idle_rss = resident_memory_mib(suite.catalog_pid);

    let mut loaded = None;
    if !args.reuse_data {
        setup(&mut client.clone()).await?;
        let started = Instant::now();
        load(&client, args.assets, args.batch, args.concurrency).await?;
        let load_elapsed = started.elapsed();
        wait_indexed(&mut client.clone(), args.assets).await?;
        loaded = Some((load_elapsed, started.elapsed()));
    }
    let loaded_rss = resident_memory_mib(suite.catalog_pid);
    suite.stop().await?;

    // Index build: the catalog rebuilds its index from the database at start when it is missing.
    std::fs::remove_dir_all(data_dir.join("catalog-index"))?;
    let suite = RunningSuite::start(&weft, &data_dir, args.port).await?;
    // The restart's extra time over the reference start is the rebuild (the catalog reports
    // SERVING only once its index is built).
    let rebuild = suite.startup.saturating_sub(reference_startup);
    let channel = Endpoint::from_shared(suite.gateway.clone())?
        .connect()
        .await?;
    let mut client =
        CatalogServiceClient::with_interceptor(channel.clone(), Bearer(suite.admin_token.clone()));
    // Queries are timed once the catalog is done merging the rebuilt index's segments.
    let settled = wait_until_idle(suite.catalog_pid, Duration::from_secs(600)).await;
    println!(
        "catalog idle {:.1} s after the rebuild",
        settled.as_secs_f64()
    );
    let mut weft_latencies = Vec::new();
    for (label, query) in QUERIES {
        weft_latencies.push((
            label,
            time_weft(&mut client, query, label, args.queries).await?,
        ));
    }
    // The same queries as a plain user: the catalog asks governance for the caller's DESCRIBE
    // scope (one internal RPC) and filters on it inside the index, so that counts and facets
    // hold only what the caller may see; the page is then checked (BatchCheck).
    let secret = std::fs::read_to_string(data_dir.join("jwt.secret"))?;
    let reader = weft_runtime::auth::issue_hs256_token(
        secret.trim().as_bytes(),
        "users/bench-reader",
        &[],
        Duration::from_secs(3600),
    )?;
    let mut reader_client = CatalogServiceClient::with_interceptor(channel, Bearer(reader));
    let mut reader_latencies = Vec::new();
    for (label, query) in QUERIES {
        reader_latencies.push((
            label,
            time_weft(&mut reader_client, query, label, args.queries).await?,
        ));
    }
    let queried_rss = resident_memory_mib(suite.catalog_pid);
    suite.stop().await?;

    let fts = if args.no_baseline {
        None
    } else {
        Some(Fts5Baseline::run(temp.path(), args.assets, args.queries).await?)
    };

    let rate = |count: usize, elapsed: Duration| count as f64 / elapsed.as_secs_f64();
    println!();
    println!(
        "## Catalog search, {} assets (~{} columns each), release build",
        args.assets, 10
    );
    println!();
    println!("| what | Weft (tantivy, through the gateway) | baseline: SQLite FTS5, same rows |");
    println!("| --- | --- | --- |");
    let not_run = "(not run)".to_string();
    let fts_insert = fts.as_ref().map_or(not_run.clone(), |fts| {
        format!(
            "{:.0} assets/s (INSERT in one transaction)",
            rate(args.assets, fts.insert_elapsed)
        )
    });
    match loaded {
        Some((load_elapsed, _)) => println!(
            "| load | {:.0} assets/s ({} over gRPC, {} clients) | {fts_insert} |",
            rate(args.assets, load_elapsed),
            if args.batch > 1 {
                format!("BatchCreateAssets of {}", args.batch)
            } else {
                "CreateAsset".to_string()
            },
            args.concurrency,
        ),
        None => println!("| load | (data of an earlier run reused) | {fts_insert} |"),
    }
    println!(
        "| index build | {:.0} assets/s (rebuild at start: {:.1} s more than the reference start{}) | (included in the insert) |",
        rate(args.assets, rebuild),
        rebuild.as_secs_f64(),
        loaded.map_or(String::new(), |(_, follow)| format!(
            "; while loading, all searchable {:.1} s after the load began",
            follow.as_secs_f64()
        ))
    );
    for (index, (label, weft)) in weft_latencies.iter().enumerate() {
        let baseline = fts
            .as_ref()
            .map_or(not_run.clone(), |fts| fts.latencies[index].1.summary());
        println!("| {label} | {} | {baseline} |", weft.summary());
    }
    for (label, weft) in &reader_latencies {
        println!(
            "| {label}, as a plain user (visibility scope) | {} | — |",
            weft.summary()
        );
    }
    let mib = |value: Option<f64>| value.map_or("n/a".to_string(), |v| format!("{v:.0} MiB"));
    println!(
        "| catalog RSS | idle {}, after the load {}, after the queries {} | — |",
        mib(idle_rss),
        mib(loaded_rss),
        mib(queried_rss)
    );
    Ok(())
}

async fn setup(client: &mut Client) -> anyhow::Result<()> {
    client
        .create_tag_key(CreateTagKeyRequest {
            tag_key_id: "pii".into(),
            tag_key: Some(TagKey {
                allowed_values: vec!["email".into(), "phone".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?;
    let generator = Generator::new(7);
    for domain in generator.domains() {
        client
            .create_domain(CreateDomainRequest {
                domain_id: domain.to_string(),
                domain: Some(Domain {
                    display_name: domain.to_string(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    for (domain, subject) in generator.products() {
        client
            .create_data_product(CreateDataProductRequest {
                parent: format!("domains/{domain}"),
                data_product_id: subject.to_string(),
                data_product: Some(DataProduct {
                    display_name: subject.to_string(),
                    description: format!("All {subject} of the {domain} domain."),
                    owners: vec![format!("groups/{domain}-data")],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }
    Ok(())
}

fn asset_request(generated: crate::data::GeneratedAsset) -> CreateAssetRequest {
    CreateAssetRequest {
        parent: format!(
            "domains/{}/dataProducts/{}",
            generated.domain, generated.product
        ),
        asset_id: generated.id,
        asset: Some(Asset {
            kind: AssetKind::Table as i32,
            location: Some(Location {
                namespace: "postgres://warehouse:5432".into(),
                name: generated.table,
            }),
            description: generated.description,
            schema: Some(Schema {
                columns: generated
                    .columns
                    .into_iter()
                    .map(|(name, r#type, description, pii)| Column {
                        name: name.into(),
                        r#type: r#type.into(),
                        nullable: true,
                        description: description.into(),
                        tags: pii
                            .map(|value| Tag {
                                key: "pii".into(),
                                value: value.into(),
                            })
                            .into_iter()
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Loads the generated assets in calls of up to `batch` assets of one product (the generator
/// spreads assets over every product, so each product's assets are gathered until a batch is
/// full; the order of generation stays the FTS5 baseline's).
async fn load(
    client: &Client,
    assets: usize,
    batch: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let batch = batch.max(1);
    let mut generator = Generator::new(42);
    let mut pending: HashMap<String, Vec<CreateAssetRequest>> = HashMap::new();
    let mut next = 0;
    let batches = std::iter::from_fn(move || {
        while next < assets {
            let request = asset_request(generator.asset(next));
            next += 1;
            let parent = request.parent.clone();
            let gathered = pending.entry(parent.clone()).or_default();
            gathered.push(request);
            if gathered.len() >= batch {
                return pending.remove(&parent).map(|requests| (parent, requests));
            }
        }
        let parent = pending.keys().next().cloned()?;
        pending.remove(&parent).map(|requests| (parent, requests))
    });
    let progress = Instant::now();
    let mut done = 0;
    let mut stream = futures::stream::iter(batches)
        .map(|(parent, mut requests)| {
            let mut client = client.clone();
            async move {
                let count = requests.len();
                let result = if count == 1 {
                    client.create_asset(requests.remove(0)).await.map(drop)
                } else {
                    for request in &mut requests {
                        request.parent.clear();
                    }
                    client
                        .batch_create_assets(BatchCreateAssetsRequest {
                            parent,
                            requests,
                            request_id: String::new(),
                        })
                        .await
                        .map(drop)
                };
                (count, result)
            }
        })
        .buffer_unordered(concurrency);
    while let Some((count, result)) = stream.next().await {
        if let Err(error) = result {
            eprintln!("create failed ({count} assets): {error}");
        }
        let before = done;
        done += count;
        if done / 50_000 > before / 50_000 {
            eprintln!(
                "loaded {done} assets ({:.0}/s)",
                done as f64 / progress.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn wait_indexed(client: &mut Client, assets: usize) -> anyhow::Result<()> {
    loop {
        let response = client
            .search(SearchRequest {
                types: vec![SearchResultType::Asset as i32],
                page_size: 1,
                ..Default::default()
            })
            .await?
            .into_inner();
        if response.total_size as usize >= assets {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn weft_request(label: &str, query: &str) -> SearchRequest {
    let mut request = SearchRequest {
        query: query.into(),
        ..Default::default()
    };
    if label.starts_with("filtered") {
        request.domain = "domains/finance".into();
        request.tags = vec!["pii=email".into()];
        request.facets = vec!["type".into(), "domain".into(), "tag".into()];
    }
    request
}

async fn time_weft(
    client: &mut Client,
    query: &str,
    label: &str,
    count: usize,
) -> anyhow::Result<Latencies> {
    let mut latencies = Latencies::default();
    for _ in 0..count.min(20) {
        client.search(weft_request(label, query)).await?; // warm-up
    }
    for _ in 0..count {
        let started = Instant::now();
        client.search(weft_request(label, query)).await?;
        latencies.record(started.elapsed());
    }
    Ok(latencies)
}

/// The same documents in a SQLite FTS5 table, queried with bm25() ordering and GROUP BY facets.
struct Fts5Baseline {
    insert_elapsed: Duration,
    latencies: Vec<(&'static str, Latencies)>,
}

impl Fts5Baseline {
    async fn run(dir: &std::path::Path, assets: usize, queries: usize) -> anyhow::Result<Self> {
        let db = weft_storage::connect(&format!(
            "sqlite://{}?mode=rwc",
            dir.join("fts5.db").display()
        ))
        .await?;
        db.execute_unprepared(
            "CREATE VIRTUAL TABLE docs USING fts5(name UNINDEXED, display, text, domain UNINDEXED, type UNINDEXED, tags UNINDEXED)",
        )
        .await?;
        let mut generator = Generator::new(42);
        let started = Instant::now();
        let txn = db.begin().await?;
        for index in 0..assets {
            let asset = generator.asset(index);
            let name = format!(
                "domains/{}/dataProducts/{}/assets/{}",
                asset.domain, asset.product, asset.id
            );
            let column_names: Vec<&str> = asset.columns.iter().map(|c| c.0).collect();
            insert(
                &txn,
                &name,
                &asset.id,
                &format!(
                    "{} {} {}",
                    asset.description,
                    asset.table,
                    column_names.join(" ")
                ),
                asset.domain,
                "asset",
                "",
            )
            .await?;
            for (column, r#type, description, pii) in &asset.columns {
                let tags = pii
                    .map(|v| format!("pii=email pii={v}"))
                    .unwrap_or_default();
                insert(
                    &txn,
                    &format!("{name}#{column}"),
                    column,
                    &format!("{description} {type} {column}"),
                    asset.domain,
                    "column",
                    &tags,
                )
                .await?;
            }
        }
        txn.commit().await?;
        let insert_elapsed = started.elapsed();

        let mut latencies = Vec::new();
        for (label, query) in QUERIES {
            let mut timings = Latencies::default();
            let fts_query = query.split_whitespace().collect::<Vec<_>>().join(" AND ");
            for round in 0..queries + queries.min(20) {
                let started = Instant::now();
                if label.starts_with("filtered") {
                    let filter = "domain = 'finance' AND tags LIKE '%pii=email%'";
                    select(&db, &format!("SELECT name FROM docs WHERE docs MATCH $1 AND {filter} ORDER BY bm25(docs) LIMIT 20"), &fts_query).await?;
                    for facet in ["type", "domain", "tags"] {
                        select(&db, &format!("SELECT {facet}, count(*) FROM docs WHERE docs MATCH $1 AND {filter} GROUP BY {facet}"), &fts_query).await?;
                    }
                } else {
                    select(
                        &db,
                        "SELECT name FROM docs WHERE docs MATCH $1 ORDER BY bm25(docs) LIMIT 20",
                        &fts_query,
                    )
                    .await?;
                    select(
                        &db,
                        "SELECT count(*) FROM docs WHERE docs MATCH $1",
                        &fts_query,
                    )
                    .await?;
                }
                if round >= queries.min(20) {
                    timings.record(started.elapsed());
                }
            }
            latencies.push((label, timings));
        }
        Ok(Self {
            insert_elapsed,
            latencies,
        })
    }
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    display: &str,
    text: &str,
    domain: &str,
    kind: &str,
    tags: &str,
) -> anyhow::Result<()> {
    conn.execute(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "INSERT INTO docs (name, display, text, domain, type, tags) VALUES ($1, $2, $3, $4, $5, $6)",
        [name.into(), display.into(), text.into(), domain.into(), kind.into(), tags.into()],
    ))
    .await?;
    Ok(())
}

async fn select<C: ConnectionTrait>(conn: &C, sql: &str, query: &str) -> anyhow::Result<usize> {
    let rows = conn
        .query_all(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            sql,
            [query.into()],
        ))
        .await?;
    Ok(rows.len())
}
