//! Weft's provisioning service: blueprints, environments of projects on a PostgreSQL data
//! plane (a consumer's login role, a producer's schema), their deployments and credentials.
//! Governance's grants are fulfilled as PostgreSQL privileges and row-level security policies
//! of the consumer environments' roles (`domain::fulfilment`). Drift is found and repaired by
//! the fulfiller and ReconcileEnvironment. IntrospectEnvironment (internal) lists a producer
//! environment's tables for the catalog's data sources.

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
use weft_storage::projection;

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
    let provisioning = Provisioning::new(store.clone(), governance.clone(), governance, sealer);
    // The streams fulfilment follows (each connects lazily and catches up from its cursor).
    let catalog_stream = weft_runtime::tls::channel(&config, ServiceKind::Catalog)?;
    let governance_stream = weft_runtime::tls::channel(&config, ServiceKind::Governance)?;
    let reconcile_interval = config.provisioning.reconcile_interval;
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
        let triggers = Arc::new(follow::fulfiller::Triggers {
            changes: provisioning.fulfilment_changes(),
        });
        tasks.spawn(projection::follow(
            store.clone(),
            projection::Source::Catalog,
            catalog_stream,
            triggers.clone(),
        ));
        tasks.spawn(projection::follow(
            store,
            projection::Source::Governance,
            governance_stream,
            triggers,
        ));
        tasks.spawn(follow::deployer::run(provisioning.clone()));
        tasks.spawn(follow::fulfiller::run(provisioning, reconcile_interval));
        Ok(())
    };
    server.serve(listener, warm_up, shutdown).await
}
