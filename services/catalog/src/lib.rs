//! Weft's catalog service: the business data catalog (domains and data products so far).

pub mod api;
pub mod domain;
pub mod storage;

use std::future::Future;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_proto::weft::catalog::v1::catalog_internal_service_server::CatalogInternalServiceServer;
use weft_proto::weft::catalog::v1::catalog_service_server::CatalogServiceServer;
use weft_runtime::interceptors::{InternalAuth, PublicAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::api::{CatalogApi, CatalogInternalApi};
use crate::domain::Catalog;
use crate::storage::migrations::Migrator;

/// Runs the catalog on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Catalog).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let catalog = Catalog::new(store);
    let max_message_bytes = config.max_message_bytes;

    let mut server = GrpcServer::new(ServiceKind::Catalog, config);
    server.add_service(InterceptedService::new(
        CatalogServiceServer::new(CatalogApi::new(catalog.clone()))
            .max_decoding_message_size(max_message_bytes),
        PublicAuth(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        CatalogInternalServiceServer::new(CatalogInternalApi::new(catalog))
            .max_decoding_message_size(max_message_bytes),
        InternalAuth(authenticator),
    ));
    server.serve(listener, async { Ok(()) }, shutdown).await
}
