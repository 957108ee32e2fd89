//! Weft's provisioning service: blueprints, environments of projects on a PostgreSQL data
//! plane (a consumer's login role, a producer's schema), their deployments and credentials.
//! The data-plane fulfilment of governance's grants, drift reconciliation and introspection
//! are not built yet (their RPCs answer UNIMPLEMENTED).

pub mod api;
pub mod dataplane;
pub mod domain;
pub mod follow;
pub mod sealing;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_access_checks::Governance;
use weft_proto::weft::provisioning::v1::provisioning_internal_service_server::ProvisioningInternalServiceServer;
use weft_proto::weft::provisioning::v1::provisioning_service_server::ProvisioningServiceServer;
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::api::{ProvisioningApi, ProvisioningInternalApi};
use crate::domain::Provisioning;
use crate::sealing::Sealer;
use crate::store::migrations::Migrator;

/// Runs the provisioning service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Provisioning).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let key_file = config.provisioning.key_file(&config.data_dir);
    let sealer = Arc::new(Sealer::load_or_create(&key_file)?);
    // Who belongs to which project is governance's to say.
    let governance = Arc::new(Governance::new(weft_runtime::tls::channel(
        &config,
        ServiceKind::Governance,
    )?));
    let provisioning = Provisioning::new(store.clone(), governance, sealer);
    provisioning.seed_blueprints().await?;
    let max_message_bytes = config.max_message_bytes;

    let mut server = GrpcServer::new(ServiceKind::Provisioning, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    server.add_service(InterceptedService::new(
        ProvisioningServiceServer::new(ProvisioningApi::new(provisioning.clone()))
            .max_decoding_message_size(max_message_bytes),
        BehindGateway(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        ProvisioningInternalServiceServer::new(ProvisioningInternalApi::new(provisioning.clone()))
            .max_decoding_message_size(max_message_bytes),
        InternalAuth(authenticator),
    ));
    let tasks = server.background_tasks();
    let warm_up = async move {
        tasks.spawn(follow::deployer::run(provisioning));
        Ok(())
    };
    server.serve(listener, warm_up, shutdown).await
}
