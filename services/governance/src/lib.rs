//! Weft's governance service. This process boots with its own database, migrations, health,
//! reflection and outbox stream; the RPCs of `weft.governance.v1.GovernanceService` are built by later
//! issues and until then answer UNIMPLEMENTED (the generated default of every method).

use std::future::Future;

use sea_orm_migration::prelude::*;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::governance::v1::governance_internal_service_server::{
    GovernanceInternalService, GovernanceInternalServiceServer,
};
use weft_proto::weft::governance::v1::governance_service_server::{
    GovernanceService, GovernanceServiceServer,
};
use weft_runtime::interceptors::{InternalAuth, PublicAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};
use weft_storage::Store;
use weft_storage::service::{EventStream, watch_events};

/// The governance database's migrations: the shared outbox, journal and idempotency tables so far.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(weft_storage::migration::CreateRuntimeTables)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("governance_migrations").into_iden()
    }
}

/// `weft.governance.v1.GovernanceService`: every RPC answers UNIMPLEMENTED until its issue lands.
pub struct GovernanceApi;

impl GovernanceService for GovernanceApi {}

/// `weft.governance.v1.GovernanceInternalService`: the outbox stream.
pub struct GovernanceInternalApi {
    store: Store,
}

#[tonic::async_trait]
impl GovernanceInternalService for GovernanceInternalApi {
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

/// Runs the governance service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Governance).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let mut server = GrpcServer::new(ServiceKind::Governance, config);
    server.add_service(InterceptedService::new(
        GovernanceServiceServer::new(GovernanceApi),
        PublicAuth(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        GovernanceInternalServiceServer::new(GovernanceInternalApi { store }),
        InternalAuth(authenticator),
    ));
    server.serve(listener, async { Ok(()) }, shutdown).await
}
