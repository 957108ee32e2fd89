//! Weft's lineage service. This process boots with its own database, migrations, health,
//! reflection and outbox stream; the RPCs of `weft.lineage.v1.LineageService` are built by later
//! issues and until then answer UNIMPLEMENTED (the generated default of every method).

use std::future::Future;

use sea_orm_migration::prelude::*;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::lineage::v1::lineage_internal_service_server::{
    LineageInternalService, LineageInternalServiceServer,
};
use weft_proto::weft::lineage::v1::lineage_service_server::{LineageService, LineageServiceServer};
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};
use weft_storage::Store;
use weft_storage::service::{EventStream, watch_events};

/// The lineage database's migrations: the shared outbox, journal and idempotency tables so far.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(weft_storage::migration::CreateRuntimeTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("lineage_migrations").into_iden()
    }
}

/// `weft.lineage.v1.LineageService`: every RPC answers UNIMPLEMENTED until its issue lands.
pub struct LineageApi;

impl LineageService for LineageApi {}

/// `weft.lineage.v1.LineageInternalService`: the outbox stream.
pub struct LineageInternalApi {
    store: Store,
}

#[tonic::async_trait]
impl LineageInternalService for LineageInternalApi {
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

/// Runs the lineage service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Lineage).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let mut server = GrpcServer::new(ServiceKind::Lineage, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    server.add_service(InterceptedService::new(
        LineageServiceServer::new(LineageApi),
        BehindGateway(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        LineageInternalServiceServer::new(LineageInternalApi { store }),
        InternalAuth(authenticator),
    ));
    server.serve(listener, async { Ok(()) }, shutdown).await
}
