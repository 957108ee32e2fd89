//! `weft audit verify`: recomputes each service's journal hash chain.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use weft_runtime::ServiceKind;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the journals of the services under a data directory, or one database by URL.
    Verify {
        /// Data directory of `weft up`.
        #[arg(long, default_value = ".weft", env = "WEFT_DATA_DIR")]
        data_dir: PathBuf,
        /// Verify this database instead (e.g. a service's PostgreSQL URL).
        #[arg(long)]
        database_url: Option<String>,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify {
        data_dir,
        database_url,
    } = command;
    let targets: Vec<(String, String)> = match database_url {
        Some(url) => vec![("database".to_string(), url)],
        None => ServiceKind::BACKENDS
            .iter()
            .map(|kind| (kind.to_string(), data_dir.join(format!("{kind}.db"))))
            .filter(|(_, path)| path.exists())
            .map(|(name, path)| (name, format!("sqlite://{}?mode=ro", path.display())))
            .collect(),
    };
    if targets.is_empty() {
        bail!("no service database under {}", data_dir.display());
    }
    let mut broken = 0;
    for (name, url) in targets {
        let db = weft_storage::connect(&url).await?;
        let report = weft_storage::journal::verify_chain(&db).await?;
        match report.broken {
            None => println!("{name}: intact ({} records)", report.records),
            Some((seq, reason)) => {
                broken += 1;
                println!(
                    "{name}: BROKEN at record {seq}: {reason} ({} records verified before it)",
                    report.records
                );
            }
        }
    }
    if broken > 0 {
        bail!("{broken} journal(s) failed verification");
    }
    Ok(())
}
