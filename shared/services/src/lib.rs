//! The one place that knows which server runs for a `ServiceKind`: `weft serve <service>` and
//! the test kit (which runs the five in one process) both start services here, so a test runs
//! exactly what an operator runs.

use tokio::net::TcpListener;
use weft_runtime::{ServiceConfig, ServiceKind};

/// Runs `kind` with `config` on an already bound listener until `shutdown` completes.
pub async fn serve(
    kind: ServiceKind,
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    match kind {
        ServiceKind::Gateway => weft_gateway::serve(config, listener, shutdown).await,
        ServiceKind::Catalog => weft_catalog::serve(config, listener, shutdown).await,
        ServiceKind::Governance => weft_governance::serve(config, listener, shutdown).await,
        ServiceKind::Provisioning => weft_provisioning::serve(config, listener, shutdown).await,
        ServiceKind::Lineage => weft_lineage::serve(config, listener, shutdown).await,
    }
}
