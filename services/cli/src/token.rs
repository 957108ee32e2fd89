//! `weft token issue`: mints an HS256 dev token with the secret `weft up` generated.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a dev token, e.g. `weft token issue --sub alice --group analysts`.
    Issue {
        /// Subject; "users/" is prepended unless it names a collection already.
        #[arg(long)]
        sub: String,
        /// Group memberships (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Lifetime, e.g. 1h, 30d.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        /// Data directory of `weft up` (holds the dev secret).
        #[arg(long, default_value = ".weft", env = "WEFT_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            sub,
            groups,
            ttl,
            data_dir,
        } => {
            let secret_file = data_dir.join("jwt.secret");
            let secret = std::fs::read_to_string(&secret_file).with_context(|| {
                format!(
                    "cannot read the dev secret {} (run `weft up` first)",
                    secret_file.display()
                )
            })?;
            let subject = if sub.contains('/') {
                sub
            } else {
                format!("users/{sub}")
            };
            let token = weft_runtime::auth::issue_hs256_token(
                secret.trim().as_bytes(),
                &subject,
                &groups,
                ttl,
            )?;
            println!("{token}");
            Ok(())
        }
    }
}
