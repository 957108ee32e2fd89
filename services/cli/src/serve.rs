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
    serve_on(kind, config, listener, shutdown_signal()).await
}

/// Runs `kind` on an already bound listener (also used by the test kit).
pub async fn serve_on(
    kind: ServiceKind,
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    match kind {
        ServiceKind::Gateway => weft_gateway::serve(config, listener, shutdown).await,
        ServiceKind::Catalog => weft_catalog::serve(config, listener, shutdown).await,
        ServiceKind::Governance => weft_governance::serve(config, listener, shutdown).await,
        ServiceKind::Provisioning => weft_provisioning::serve(config, listener, shutdown).await,
        ServiceKind::Lineage => weft_lineage::serve(config, listener, shutdown).await,
    }
}
