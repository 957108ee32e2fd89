//! `weft`: the one binary users run.
//!
//! - `weft up`: all five services as separate processes on loopback, with a dev CA for mTLS;
//! - `weft serve <service>`: one service, configured by file and `WEFT_*` variables;
//! - `weft token issue`: a dev bearer token;
//! - `weft audit verify`: checks the services' hash-chained journals.

mod audit;
mod serve;
mod token;
mod up;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: the services allocate many small, short-lived values
/// (JSON, protobuf, rows), where glibc spent about a third of ingest CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Weft: a self-hostable data mesh platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start all five services on loopback (gateway on 127.0.0.1:7400), SQLite under --data-dir.
    Up(up::UpArgs),
    /// Run one service: gateway, catalog, governance, provisioning or lineage.
    Serve {
        /// The service to run.
        service: String,
        /// TOML configuration file (also WEFT_CONFIG); WEFT_* variables override it.
        #[arg(long, env = "WEFT_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Dev tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Audit journal tools.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Serve { service, config } => serve::run(&service, config.as_deref()).await,
            Command::Token { command } => token::run(command),
            Command::Audit { command } => audit::run(command).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
