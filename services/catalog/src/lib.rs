//! Weft's catalog service: the business data catalog: domains, data products, assets with
//! versioned schemas, glossaries, tag keys, metadata forms and search.

pub mod api;
pub mod domain;
pub mod follow;
pub mod search;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_access_checks::Governance;
use weft_proto::weft::catalog::v1::catalog_internal_service_server::CatalogInternalServiceServer;
use weft_proto::weft::catalog::v1::catalog_service_server::CatalogServiceServer;
use weft_runtime::auth::CATALOG_SEQUENCE_HEADER;
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::sequence_header::WithSequenceHeader;
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::api::{CatalogApi, CatalogInternalApi};
use crate::domain::Catalog;
use crate::domain::publish_rules::PublishRules;
use crate::domain::visibility::Visibility;
use crate::search::SearchIndex;
use crate::store::migrations::Migrator;

/// Runs the catalog on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Catalog).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let search = SearchIndex::open(&config.data_dir.join("catalog-index"), store.clone())?;
    let governance = Arc::new(Governance::new(weft_runtime::tls::channel(
        &config,
        ServiceKind::Governance,
    )?));
    let catalog = Catalog::new(
        store.clone(),
        search.clone(),
        PublishRules::new(governance.clone()),
        Visibility::new(governance),
    );
    let max_message_bytes = config.max_message_bytes;

    let mut server = GrpcServer::new(ServiceKind::Catalog, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    let outbox_position = store.clone();
    server.add_service(WithSequenceHeader::new(
        InterceptedService::new(
            CatalogServiceServer::new(CatalogApi::new(catalog.clone()))
                .max_decoding_message_size(max_message_bytes),
            BehindGateway(authenticator.clone()),
        ),
        CATALOG_SEQUENCE_HEADER,
        move || outbox_position.outbox_position(),
    ));
    server.add_service(InterceptedService::new(
        CatalogInternalServiceServer::new(CatalogInternalApi::new(catalog))
            .max_decoding_message_size(max_message_bytes),
        InternalAuth(authenticator),
    ));
    // Warm-up: the search index catches up with the database (or is rebuilt) before the
    // catalog reports SERVING, then follows the outbox.
    let tasks = server.background_tasks();
    let warm_up = async move {
        let sequence = search.catch_up().await?;
        tasks.spawn(search.tail(sequence));
        Ok(())
    };
    server.serve(listener, warm_up, shutdown).await
}
