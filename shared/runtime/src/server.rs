//! The one server bootstrap of every Weft process: health (NOT_SERVING until warmed up),
//! reflection v1 and v1alpha from the descriptor set, the tower layers, TLS / mTLS, and
//! graceful shutdown (stop accepting, drain, bounded grace period).

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::auth::Authenticator;
use crate::config::{ServiceConfig, ServiceKind};
use crate::interceptors::PublicAuth;
use crate::overload::ShedExceptHealthLayer;
use crate::telemetry;
use tonic::service::interceptor::InterceptedService;

const HEALTH_SERVICE_NAME: &str = "grpc.health.v1.Health";

/// A gRPC server under construction: add services, then `serve`.
pub struct GrpcServer {
    kind: ServiceKind,
    config: ServiceConfig,
    routes: RoutesBuilder,
    /// Services reported by health and listed by reflection.
    reflected: Vec<String>,
    /// Services whose health another component reports (the gateway mirrors its backends').
    health_managed_elsewhere: Vec<String>,
    health: HealthReporter,
    health_service:
        tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
    /// Needed to close health and reflection when `open_health_and_reflection` is false.
    authenticator: Option<Authenticator>,
    /// Run when shutdown begins, e.g. to end streams that would otherwise hold the drain.
    on_draining: Vec<Box<dyn FnOnce() + Send>>,
    /// Plain HTTP routes served on the same port (the gateway's OpenLineage transport).
    http_routes: Option<axum::Router>,
    /// The service's background tasks, stopped when `serve` returns.
    tasks: BackgroundTasks,
}

/// Background tasks of a service (outbox followers, projections, periodic jobs), typically
/// spawned by its warm-up; `GrpcServer::serve` aborts them when it returns, so a stopped service
/// leaves nothing running.
#[derive(Clone, Default)]
pub struct BackgroundTasks(std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>);

impl BackgroundTasks {
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0
            .lock()
            .expect("background tasks lock")
            .push(tokio::spawn(task));
    }

    fn abort_all(&self) {
        for task in self.0.lock().expect("background tasks lock").drain(..) {
            task.abort();
        }
    }
}

impl GrpcServer {
    pub fn new(kind: ServiceKind, config: ServiceConfig) -> Self {
        let health = HealthReporter::new();
        let health_service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(health.clone()),
        );
        Self {
            kind,
            config,
            routes: RoutesBuilder::default(),
            reflected: Vec::new(),
            health_managed_elsewhere: Vec::new(),
            health,
            health_service,
            authenticator: None,
            on_draining: Vec::new(),
            http_routes: None,
            tasks: BackgroundTasks::default(),
        }
    }

    /// Where the service spawns its background tasks (from its warm-up, usually).
    pub fn background_tasks(&self) -> BackgroundTasks {
        self.tasks.clone()
    }

    /// Runs `hook` when shutdown begins, before in-flight requests are drained (a service ends
    /// its endless WatchEvents streams there: `Store::end_streams`).
    pub fn on_draining(&mut self, hook: impl FnOnce() + Send + 'static) -> &mut Self {
        self.on_draining.push(Box::new(hook));
        self
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The health reporter, for services whose health depends on others (the gateway).
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.clone()
    }

    /// Adds a gRPC service, reported by health and listed by reflection.
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.reflected.push(S::NAME.to_string());
        self
    }

    /// Serves plain HTTP routes (HTTP/1.1 and HTTP/2) on the same port as gRPC. They pass
    /// through the same tower layers; they must authenticate their callers themselves.
    pub fn add_http_routes(&mut self, routes: axum::Router) -> &mut Self {
        self.http_routes = Some(match self.http_routes.take() {
            Some(existing) => existing.merge(routes),
            None => routes,
        });
        self
    }

    /// The authenticator that guards health and reflection when they are not left open.
    pub fn with_authenticator(&mut self, authenticator: Authenticator) -> &mut Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// Services whose health status is set by someone else: not turned SERVING at warm-up.
    pub fn health_managed_elsewhere(&mut self, names: Vec<&str>) -> &mut Self {
        self.health_managed_elsewhere
            .extend(names.into_iter().map(str::to_string));
        self
    }

    /// Serves on `listener` until `shutdown` resolves. Health answers NOT_SERVING until
    /// `warm_up` succeeds, then SERVING; on shutdown it turns NOT_SERVING, new connections are
    /// refused, in-flight requests get `shutdown_grace` to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        warm_up: impl Future<Output = anyhow::Result<()>> + Send + 'static,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let tasks = self.tasks.clone();
        let result = self.serve_until_stopped(listener, warm_up, shutdown).await;
        tasks.abort_all();
        result
    }

    async fn serve_until_stopped(
        mut self,
        listener: TcpListener,
        warm_up: impl Future<Output = anyhow::Result<()>> + Send + 'static,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let local_addr = listener.local_addr()?;
        self.reflected.sort();
        self.reflected.dedup();
        for name in &self.reflected {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        self.health
            .set_service_status("", ServingStatus::NotServing)
            .await;

        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(weft_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so that clients can decode the details of errors.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE_NAME);
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(weft_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc error details, so that clients can decode the details of errors.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE_NAME);
        for name in &self.reflected {
            reflection_v1 = reflection_v1.with_service_name(name.clone());
            reflection_v1alpha = reflection_v1alpha.with_service_name(name.clone());
        }
        let reflection_v1 = reflection_v1.build_v1().context("building reflection v1")?;
        let reflection_v1alpha = reflection_v1alpha
            .build_v1alpha()
            .context("building reflection v1alpha")?;
        if self.config.open_health_and_reflection {
            self.routes
                .add_service(self.health_service.clone())
                .add_service(reflection_v1)
                .add_service(reflection_v1alpha);
        } else {
            let authenticator = self.authenticator.clone().context(
                "open_health_and_reflection = false needs an authenticator (GrpcServer::with_authenticator)",
            )?;
            let guard = PublicAuth(authenticator);
            self.routes
                .add_service(InterceptedService::new(
                    self.health_service.clone(),
                    guard.clone(),
                ))
                .add_service(InterceptedService::new(reflection_v1, guard.clone()))
                .add_service(InterceptedService::new(reflection_v1alpha, guard));
        }

        let layers = ServiceBuilder::new()
            // Gives every request an id (kept if the client sent one) and echoes it back, so a
            // caller's report can be matched to the logs of every service it crossed.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            // One span per RPC, child of the caller's W3C trace context, carrying the request id.
            // Error statuses are logged at debug: most are the caller's (NOT_FOUND, INVALID_ARGUMENT);
            // server faults are logged as errors where they happen (ApiError::Internal).
            .layer(
                TraceLayer::new_for_grpc()
                    .make_span_with(rpc_span)
                    .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
            )
            // A bug that panics in a handler answers INTERNAL (and is logged) instead of resetting
            // the stream.
            .layer(CatchPanicLayer::custom(panic_response))
            // Bounds requests in flight across all connections and refuses at once
            // (RESOURCE_EXHAUSTED) what the bound can not take, except health checks, which an
            // overloaded service still answers (see `overload`).
            .layer(ShedExceptHealthLayer::new(
                self.config.max_concurrent_requests,
            ))
            .into_inner();

        let mut builder = tonic::transport::Server::builder()
            // Deadline for requests that set none (a client's grpc-timeout, if shorter, wins).
            .timeout(self.config.request_timeout)
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(30)));
        if let Some(tls) = crate::tls::server_tls_config(&self.config.tls)? {
            builder = builder
                .tls_config(tls)
                .context("invalid TLS configuration")?;
        }
        let mut routes = self.routes.routes();
        if let Some(http_routes) = self.http_routes.take() {
            // HTTP/1.1 clients (e.g. OpenLineage's HTTP transport) reach these routes.
            builder = builder.accept_http1(true);
            let grpc = std::mem::take(routes.axum_router_mut());
            *routes.axum_router_mut() = grpc.merge(http_routes);
        }
        let router = builder.layer(layers).add_routes(routes);

        let (stop_accepting, stop_signal) = tokio::sync::oneshot::channel::<()>();
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut server = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
            let _ = stop_signal.await;
        }));
        tracing::info!(service = %self.kind, address = %local_addr, tls = self.config.tls.is_enabled(), "listening");

        let health = self.health.clone();
        let reflected: Vec<String> = self
            .reflected
            .iter()
            .filter(|name| !self.health_managed_elsewhere.contains(name))
            .cloned()
            .collect();
        let kind = self.kind;
        let mut warm_up = tokio::spawn(async move {
            warm_up.await?;
            for name in &reflected {
                health
                    .set_service_status(name, ServingStatus::Serving)
                    .await;
            }
            health.set_service_status("", ServingStatus::Serving).await;
            tracing::info!(service = %kind, "serving");
            anyhow::Ok(())
        });

        let mut warmed_up = false;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                result = &mut server => {
                    return result.context("server task panicked")?.context("server failed");
                }
                result = &mut warm_up, if !warmed_up => {
                    result.context("warm-up panicked")??;
                    warmed_up = true;
                }
                () = &mut shutdown => break,
            }
        }

        tracing::info!(service = %self.kind, grace = ?self.config.shutdown_grace, "shutting down: draining requests");
        warm_up.abort();
        for name in &self.reflected {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        self.health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for hook in self.on_draining.drain(..) {
            hook();
        }
        let _ = stop_accepting.send(());
        match tokio::time::timeout(self.config.shutdown_grace, &mut server).await {
            Ok(result) => result
                .context("server task panicked")?
                .context("server failed")?,
            Err(_) => {
                tracing::warn!(service = %self.kind, "grace period over: closing remaining connections");
                server.abort();
            }
        }
        tracing::info!(service = %self.kind, "stopped");
        Ok(())
    }
}

fn rpc_span(request: &http::Request<Body>) -> tracing::Span {
    let path = request.uri().path();
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""));
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "rpc",
        rpc.service = service,
        rpc.method = method,
        request_id
    );
    telemetry::link_to_remote_parent(&span, request.headers());
    span
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> http::Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "request handler panicked");
    tonic::Status::internal("internal error").into_http()
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => stream,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("received SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("received SIGINT"),
    }
}
