//! Weft's lineage service: OpenLineage ingestion (spec 2-0-2), the lineage graph kept in memory
//! with bounded queries, column lineage and run history, the link to catalog assets (a
//! projection of the catalog's stream), impact analysis, and propagation of classification tags
//! along column lineage into the catalog.

pub mod api;
pub mod domain;
pub mod follow;
pub mod graph;
pub mod openlineage;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_access_checks::Governance;
use weft_proto::weft::lineage::v1::lineage_internal_service_server::LineageInternalServiceServer;
use weft_proto::weft::lineage::v1::lineage_service_server::LineageServiceServer;
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::api::{LineageApi, LineageInternalApi};
use crate::domain::Lineage;
use crate::domain::catalog_visibility::CatalogVisibility;
use crate::store::migrations::Migrator;

/// Runs the lineage service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Lineage).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    // Connects lazily: the catalog may start later; the projection catches up once it answers.
    let catalog = weft_runtime::tls::channel(&config, ServiceKind::Catalog)?;
    // Which catalog links a caller may see is governance's to decide.
    let governance = Arc::new(Governance::new(weft_runtime::tls::channel(
        &config,
        ServiceKind::Governance,
    )?));
    // The outbox position the graph is loaded at: the follower starts there, so no change
    // committed meanwhile is missed (applying one twice is harmless).
    let loaded_at = weft_storage::outbox::last_sequence(&store).await?;
    let lineage = Lineage::open(store.clone()).await?;
    let max_message_bytes = config.max_message_bytes;
    let retention = config.lineage.event_retention;

    let mut server = GrpcServer::new(ServiceKind::Lineage, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    server.add_service(InterceptedService::new(
        LineageServiceServer::new(LineageApi::new(
            lineage.clone(),
            CatalogVisibility::new(governance),
        ))
        .max_decoding_message_size(max_message_bytes),
        BehindGateway(authenticator.clone()),
    ));
    server.add_service(InterceptedService::new(
        LineageInternalServiceServer::new(LineageInternalApi::new(lineage.clone()))
            .max_decoding_message_size(max_message_bytes),
        InternalAuth(authenticator),
    ));
    let tasks = server.background_tasks();
    let warm_up = async move {
        tasks.spawn(lineage.clone().follow_outbox(loaded_at));
        tasks.spawn(lineage.clone().follow_catalog(catalog.clone()));
        tasks.spawn(lineage.clone().propagate_tags(catalog));
        tasks.spawn(lineage.enforce_retention(retention));
        Ok(())
    };
    server.serve(listener, warm_up, shutdown).await
}
