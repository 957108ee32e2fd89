//! `weft-bench`: measures Weft on realistic data, each figure next to a baseline measured in the
//! same run. Build and run in release mode:
//!
//! ```sh
//! cargo build --release -p weft -p weft-bench
//! target/release/weft-bench search --assets 1000000
//! target/release/weft-bench check
//! target/release/weft-bench check-gateway
//! target/release/weft-bench lineage
//! target/release/weft-bench provisioning
//! ```
//!
//! Scenarios live in their own modules so that later issues add theirs (governance checks,
//! lineage traversals) next to `search`.

mod check;
mod check_gateway;
mod data;
mod lineage;
mod provisioning;
mod report;
mod search;
mod suite;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: the services allocate many small, short-lived values
/// (JSON, protobuf, rows), where glibc spent about a third of ingest CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "weft-bench",
    about = "Weft's benchmark harness (run a release build)"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Catalog: load assets through the gateway, rebuild the search index, time searches, next to
    /// SQLite FTS5 over the same rows.
    Search(search::SearchArgs),
    /// Governance: Check decisions of the access index with 100k grants and 1k guardrails,
    /// next to Cedar alone deciding from one flat policy set.
    Check(check::CheckArgs),
    /// Governance: Check through the gateway over gRPC (`weft up`) at 1 and 32 clients, next to
    /// governance called directly and a bare tonic service.
    CheckGateway(check_gateway::GatewayCheckArgs),
    /// Lineage: OpenLineage ingest rates (in process on SQLite and PostgreSQL, and through the
    /// gateway), and traversals of a generated 1M-edge graph next to a recursive CTE.
    Lineage(lineage::LineageArgs),
    /// Provisioning: approve → first SELECT and revoke → first refused SELECT on a PostgreSQL
    /// data plane, next to the same statements in one transaction; reconcile of drift.
    Provisioning(provisioning::ProvisioningArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().scenario {
        Scenario::Search(args) => search::run(args).await,
        Scenario::Check(args) => check::run(args).await,
        Scenario::CheckGateway(args) => check_gateway::run(args).await,
        Scenario::Lineage(args) => lineage::run(args).await,
        Scenario::Provisioning(args) => provisioning::run(args).await,
    }
}
