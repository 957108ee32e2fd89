//! Tells the caller which event sequence a service's answer reflects, in a response header, so
//! that what the caller does next can be decided on state at least that new:
//! - governance's public RPCs carry `x-weft-index-sequence` (its access index's position): the
//!   gateway drops decisions it cached before a change made through it, so a revoked grant takes
//!   effect for the caller's very next request;
//! - the catalog's public RPCs carry `x-weft-catalog-sequence` (its outbox position after the
//!   call): the gateway asks governance to decide the caller's next requests on a projection of
//!   the catalog at least that new (read-your-writes across services, Zanzibar's zookie).
//!
//! The position is read after the handler ran: a mutation's own events are covered.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;

/// Wraps a service; adds `header` with the position `position` reads to every response.
#[derive(Clone)]
pub struct WithSequenceHeader<S> {
    inner: S,
    header: &'static str,
    position: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl<S> WithSequenceHeader<S> {
    pub fn new(
        inner: S,
        header: &'static str,
        position: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            header,
            position: Arc::new(position),
        }
    }
}

impl<S: NamedService> NamedService for WithSequenceHeader<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<Body>> for WithSequenceHeader<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (header, position) = (self.header, self.position.clone());
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            response
                .headers_mut()
                .insert(header, http::HeaderValue::from(position()));
            Ok(response)
        })
    }
}
