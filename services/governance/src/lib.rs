//! Weft's governance service: principals and projects, grants with data filters (Lake Formation
//! model), Cedar guardrails, and access decisions served from an in-memory index fed by
//! governance's own outbox and a projection of the catalog's event stream.
//! CEL metadata rules are evaluated for the catalog's publish flow and for subscription
//! requests, whose approval creates grants.
//! QueryAudit reads its hash-chained journal, which also records decisions on data permissions.

pub mod access;
pub mod api;
pub mod decision_log;
pub mod domain;
pub mod follow;
pub mod store;

use std::future::Future;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_proto::weft::governance::v1::governance_internal_service_server::GovernanceInternalServiceServer;
use weft_proto::weft::governance::v1::governance_service_server::GovernanceServiceServer;
use weft_runtime::auth::INDEX_SEQUENCE_HEADER;
use weft_runtime::interceptors::{BehindGateway, InternalAuth};
use weft_runtime::sequence_header::WithSequenceHeader;
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::api::{GovernanceApi, GovernanceInternalApi};
use crate::decision_log::DecisionLog;
use crate::domain::Governance;
use crate::follow::engine::Engine;
use crate::store::migrations::Migrator;

/// Runs the governance service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store =
        weft_storage::service::open_store::<Migrator>(&config, ServiceKind::Governance).await?;
    let authenticator = Authenticator::from_config(&config.auth)?;
    let catalog = weft_runtime::tls::channel(&config, ServiceKind::Catalog)?;
    let admin_group = config.auth.admin_group.clone();
    let max_message_bytes = config.max_message_bytes;
    // The index is rebuilt from governance's own database: decisions do not wait for the
    // catalog, which may be down; the projection catches up once it answers.
    let engine = Engine::rebuild(store.clone()).await?;
    let decision_log = DecisionLog::with_queue(
        store.clone(),
        config.governance.decision_audit_sample_rate,
        config.governance.decision_audit_when_full,
        config.governance.decision_audit_queue,
    );
    let governance = Governance::new(store.clone(), engine.clone(), decision_log.clone());
    governance.seed_default_rules().await?;

    let mut server = GrpcServer::new(ServiceKind::Governance, config);
    server.on_draining({
        let store = store.clone();
        move || store.end_streams()
    });
    let index_position = engine.clone();
    server.add_service(WithSequenceHeader::new(
        InterceptedService::new(
            GovernanceServiceServer::new(GovernanceApi::new(governance.clone()))
                .max_decoding_message_size(max_message_bytes),
            BehindGateway(authenticator.clone()),
        ),
        INDEX_SEQUENCE_HEADER,
        move || index_position.index_sequence(),
    ));
    server.add_service(InterceptedService::new(
        GovernanceInternalServiceServer::new(GovernanceInternalApi::new(governance, admin_group))
            .max_decoding_message_size(max_message_bytes),
        InternalAuth(authenticator),
    ));
    let tasks = server.background_tasks();
    let warm_up = async move {
        engine.catch_up().await?;
        tasks.spawn(engine.clone().tail_own_outbox());
        tasks.spawn(engine.follow_catalog(catalog));
        Ok(())
    };
    let served = server.serve(listener, warm_up, shutdown).await;
    // After the last request: the decisions it journaled are written before the process ends.
    decision_log.close().await;
    served
}
