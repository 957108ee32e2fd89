//! Weft's gateway: the one public endpoint. It authenticates every call (except health and
//! reflection, open by default), forwards the public RPCs of the four backends with the caller's
//! principal over mTLS, serves its own PortalService, reflection for the whole public API, and
//! health for every service.
//!
//! Authorization: every forwarded RPC is checked against the rule declared next to it in the
//! protos (`weft.common.v1.access`, read by `access_rules`), resource rules by governance through
//! a cache (`authorization`, `decision_cache`). The backends accept public calls only from the
//! gateway (or an administrator's token), so the rules can not be bypassed.

pub mod access_rules;
pub mod authorization;
pub mod backends;
pub mod check_gathering;
pub mod decision_cache;
pub mod openlineage_http;
pub mod portal;
pub mod proxy;
pub mod request_resource;

use std::future::Future;

use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use weft_proto::weft::gateway::v1::portal_service_server::PortalServiceServer;
use weft_runtime::interceptors::PublicAuth;
use weft_runtime::{Authenticator, GrpcServer, ServiceConfig, ServiceKind};

use crate::authorization::Authorizer;
use crate::check_gathering::CheckGathering;
use crate::proxy::{Authorized, Catalog, Governance, Lineage, Provisioning, Proxy};

/// Runs the gateway on `listener` until `shutdown` resolves.
pub async fn serve(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let authenticator = Authenticator::from_config(&config.auth)?;
    let rules = access_rules::AccessRules::load()?;
    tracing::info!(
        rpcs = rules.len(),
        "access rules loaded from the API descriptors"
    );

    let mut channels = Vec::new();
    for kind in ServiceKind::BACKENDS {
        channels.push((kind, weft_runtime::tls::channel(&config, kind)?));
    }
    let channel_of = |kind: ServiceKind| {
        channels
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, channel)| channel.clone())
            .expect("a channel per backend")
    };

    let authorizer = Authorizer::new(
        rules,
        config.auth.lineage_producer_group.clone(),
        channel_of(ServiceKind::Governance),
        config.max_message_bytes,
    );

    let lineage = Proxy::<Lineage>::new(
        channel_of(ServiceKind::Lineage),
        authenticator.clone(),
        authorizer.clone(),
    );
    let (check_gathering, send_check_rounds) = CheckGathering::new(
        channel_of(ServiceKind::Governance),
        authorizer.clone(),
        config.max_message_bytes,
    );
    let mut server = GrpcServer::new(ServiceKind::Gateway, config.clone());
    server.add_http_routes(openlineage_http::routes(
        lineage.clone(),
        config.max_message_bytes,
    ));
    server.with_authenticator(authenticator.clone());
    server
        .add_service(Proxy::<Catalog>::new(
            channel_of(ServiceKind::Catalog),
            authenticator.clone(),
            authorizer.clone(),
        ))
        .add_service(
            Proxy::<Governance>::new(
                channel_of(ServiceKind::Governance),
                authenticator.clone(),
                authorizer.clone(),
            )
            .with_check_gathering(check_gathering),
        )
        .add_service(Proxy::<Provisioning>::new(
            channel_of(ServiceKind::Provisioning),
            authenticator.clone(),
            authorizer.clone(),
        ))
        .add_service(lineage)
        // The gateway's own RPCs are held to their declared rules like the forwarded ones.
        .add_service(Authorized::new(
            InterceptedService::new(
                PortalServiceServer::new(portal::PortalApi::new(
                    channel_of(ServiceKind::Lineage),
                    channel_of(ServiceKind::Governance),
                ))
                .max_decoding_message_size(config.max_message_bytes),
                PublicAuth(authenticator.clone()),
            ),
            authenticator,
            authorizer.clone(),
        ));
    // The gateway reports the backends' health itself, from polling them.
    server.health_managed_elsewhere(
        ServiceKind::BACKENDS
            .map(|k| k.public_service_name())
            .to_vec(),
    );

    let tasks = server.background_tasks();
    tasks.spawn(authorizer.follow_governance());
    tasks.spawn(send_check_rounds);
    tasks.spawn(backends::mirror_health(server.health_reporter(), channels));
    server.serve(listener, async { Ok(()) }, shutdown).await
}
