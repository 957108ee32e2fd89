//! `weft serve <service>`.

use std::path::Path;

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use weft_runtime::server::shutdown_signal;
use weft_runtime::{ServiceConfig, ServiceKind};

pub async fn run(service: &str, config_file: Option<&Path>) -> anyhow::Result<()> {
    let Some(kind) = ServiceKind::parse(service) else {
        bail!("unknown service '{service}': gateway, catalog, governance, provisioning or lineage");
    };
    let config = ServiceConfig::load(kind, config_file)?;
    let _telemetry =
        weft_runtime::telemetry::init(kind.as_str(), config.log_format, &config.log_level)?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
    weft_services::serve(kind, config, listener, shutdown_signal()).await
}
