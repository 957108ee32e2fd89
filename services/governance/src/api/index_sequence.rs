//! Tells the gateway which of governance's outbox sequences a response reflects
//! (`x-weft-index-sequence`), so that a decision the gateway cached before a change made through
//! it is dropped before the change's response reaches the caller: a revoked grant or a deleted
//! policy takes effect for the caller's very next request, without waiting for governance's
//! event stream to reach the gateway. Mutations answer only once their own events are applied
//! to the index, so the sequence read after the handler covers them.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::server::NamedService;
use weft_runtime::auth::INDEX_SEQUENCE_HEADER;

use crate::engine::Engine;

/// Wraps governance's public service; adds the header to every response.
#[derive(Clone)]
pub struct WithIndexSequence<S> {
    inner: S,
    engine: Arc<Engine>,
}

impl<S> WithIndexSequence<S> {
    pub fn new(inner: S, engine: Arc<Engine>) -> Self {
        Self { inner, engine }
    }
}

impl<S: NamedService> NamedService for WithIndexSequence<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<Body>> for WithIndexSequence<S>
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
        let engine = self.engine.clone();
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            response.headers_mut().insert(
                INDEX_SEQUENCE_HEADER,
                http::HeaderValue::from(engine.index_sequence()),
            );
            Ok(response)
        })
    }
}
