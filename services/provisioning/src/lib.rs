//! Weft's provisioning service. This process boots with its own database, migrations, health,
//! reflection and outbox stream; the RPCs of `weft.provisioning.v1.ProvisioningService` are built by later
//! issues and until then answer UNIMPLEMENTED (the generated default of every method).

use std::future::Future;

use sea_orm_migration::prelude::*;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::provisioning::v1::provisioning_internal_service_server::{
    ProvisioningInternalService, ProvisioningInternalServiceServer,
};
use weft_proto::weft::provisioning::v1::provisioning_service_server::{
    ProvisioningService, ProvisioningServiceServer,
};
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};
use weft_storage::Store;
use weft_storage::service::{EventStream, watch_events};

/// The provisioning database's migrations: the shared outbox, journal and idempotency tables so far.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(weft_storage::migration::CreateRuntimeTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("provisioning_migrations").into_iden()
    }
}

/// `weft.provisioning.v1.ProvisioningService`: not built yet, every RPC answers UNIMPLEMENTED.
pub struct ProvisioningApi;

impl ProvisioningService for ProvisioningApi {}

/// `weft.provisioning.v1.ProvisioningInternalService`: the outbox stream.
pub struct ProvisioningInternalApi {
    store: Store,
}

#[tonic::async_trait]
impl ProvisioningInternalService for ProvisioningInternalApi {
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch_events(
            &self.store,
            request.into_inner(),
        )?))
    }
}

/// Runs the provisioning service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Provisioning).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let mut server = GrpcServer::new(ServiceKind::Provisioning, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    server.add_service(InterceptedService::new(
        ProvisioningServiceServer::new(ProvisioningApi),
        BehindGateway(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        ProvisioningInternalServiceServer::new(ProvisioningInternalApi { store }),
        InternalAuth(authenticator),
    ));
    server.serve(listener, async { Ok(()) }, shutdown).await
}
