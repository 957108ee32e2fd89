//! Load shedding that spares health checks. Requests in flight are bounded across all
//! connections (protecting the database pool and memory), and what the bound can not take is
//! refused at once with RESOURCE_EXHAUSTED rather than queued while clients time out. Health
//! checks (`grpc.health.v1.Health`) go around the bound: an overloaded service is still alive and
//! says so, and an orchestrator that restarted it for failing probes would only add to the load.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShed;
use tower::{BoxError, Layer, Service, ServiceExt};

/// The path prefix of the health service's RPCs.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// Bounds requests in flight to `max_concurrent`, shedding the rest, except health checks.
#[derive(Clone)]
pub struct ShedExceptHealthLayer {
    limit: GlobalConcurrencyLimitLayer,
}

impl ShedExceptHealthLayer {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            limit: GlobalConcurrencyLimitLayer::new(max_concurrent),
        }
    }
}

impl<S: Clone> Layer<S> for ShedExceptHealthLayer {
    type Service = ShedExceptHealth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ShedExceptHealth {
            limited: LoadShed::new(self.limit.layer(inner.clone())),
            plain: inner,
        }
    }
}

#[derive(Clone)]
pub struct ShedExceptHealth<S> {
    plain: S,
    limited: LoadShed<tower::limit::ConcurrencyLimit<S>>,
}

impl<S, B> Service<http::Request<B>> for ShedExceptHealth<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per request below (the limited path sheds when full).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with(HEALTH_PREFIX) {
            let plain = self.plain.clone();
            Box::pin(async move { plain.oneshot(request).await.map_err(Into::into) })
        } else {
            let limited = self.limited.clone();
            Box::pin(limited.oneshot(request))
        }
    }
}
