//! Forwards the public RPCs of a backend service: the caller is authenticated and authorized
//! here (see `authorization`), its principal is sent to the backend in `x-weft-principal-bin`
//! over mTLS, and the HTTP/2 stream is passed through unchanged (unary and streaming alike), so
//! the gateway needs no code per RPC.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine;
use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::server::NamedService;
use tonic::transport::Channel;
use tower::ServiceExt;
use weft_runtime::auth::{
    MIN_CATALOG_SEQUENCE_HEADER, PRINCIPAL_METADATA_KEY, bearer_token, encode_principal,
};
use weft_runtime::{ApiError, Authenticator, Caller, telemetry};

use crate::authorization::Authorizer;
use crate::check_gathering::{CHECK_PATH, CheckGathering};

/// A backend's public gRPC service, as a type (tonic routes services by a const name).
pub trait Backend: Send + Sync + 'static {
    const NAME: &'static str;
}

macro_rules! backend {
    ($marker:ident, $name:literal) => {
        pub struct $marker;
        impl Backend for $marker {
            const NAME: &'static str = $name;
        }
    };
}

backend!(Catalog, "weft.catalog.v1.CatalogService");
backend!(Governance, "weft.governance.v1.GovernanceService");
backend!(Provisioning, "weft.provisioning.v1.ProvisioningService");
backend!(Lineage, "weft.lineage.v1.LineageService");

/// Forwards every RPC of backend `B` to `channel`.
pub struct Proxy<B> {
    channel: Channel,
    authenticator: Authenticator,
    authorizer: Arc<Authorizer>,
    /// Governance's public Check calls go through it instead of one by one.
    check_gathering: Option<CheckGathering>,
    backend: PhantomData<fn() -> B>,
}

impl<B> Clone for Proxy<B> {
    fn clone(&self) -> Self {
        Self {
            channel: self.channel.clone(),
            authenticator: self.authenticator.clone(),
            authorizer: self.authorizer.clone(),
            check_gathering: self.check_gathering.clone(),
            backend: PhantomData,
        }
    }
}

impl<B: Backend> Proxy<B> {
    pub fn new(
        channel: Channel,
        authenticator: Authenticator,
        authorizer: Arc<Authorizer>,
    ) -> Self {
        Self {
            channel,
            authenticator,
            authorizer,
            check_gathering: None,
            backend: PhantomData,
        }
    }
}

impl Proxy<Governance> {
    /// Answers public Check calls through `gathering` (see `check_gathering`).
    pub fn with_check_gathering(mut self, gathering: CheckGathering) -> Self {
        self.check_gathering = Some(gathering);
        self
    }
}

impl<B: Backend> NamedService for Proxy<B> {
    const NAME: &'static str = B::NAME;
}

impl<B: Backend> tower::Service<http::Request<Body>> for Proxy<B> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let channel = self.channel.clone();
        let authenticator = self.authenticator.clone();
        let authorizer = self.authorizer.clone();
        let check_gathering = self.check_gathering.clone();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            let (caller, mut request) =
                match admit(&authenticator, &authorizer, &path, request).await {
                    Ok(admitted) => admitted,
                    Err(error) => return Ok(error.into_status().into_http()),
                };
            if let Some(gathering) = &check_gathering
                && path == CHECK_PATH
            {
                return Ok(gathering
                    .serve(caller.principal, caller.catalog_position, request)
                    .await);
            }
            let principal = caller.principal;
            let headers = request.headers_mut();
            // The backend trusts this header from the gateway, so a client's copy is replaced.
            headers.remove(http::header::AUTHORIZATION);
            // What the caller caused or saw of the catalog: the backend's own decisions about it
            // (visibility, catalog links) are made at least there.
            headers.insert(
                MIN_CATALOG_SEQUENCE_HEADER,
                http::HeaderValue::from(caller.catalog_position),
            );
            let encoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(encode_principal(&principal));
            match http::HeaderValue::from_str(&encoded) {
                Ok(value) => {
                    headers.insert(PRINCIPAL_METADATA_KEY, value);
                }
                Err(_) => {
                    return Ok(ApiError::internal("unencodable principal")
                        .into_status()
                        .into_http());
                }
            }
            telemetry::inject_current_context(headers);
            match channel.oneshot(request).await {
                Ok(response) => {
                    // Before the caller sees the answer, so that its next request is decided
                    // on state that reflects it: governance's index, the catalog's changes.
                    authorizer.observe_governance_response(response.headers());
                    authorizer.observe_catalog_response(&principal.subject, response.headers());
                    Ok(response)
                }
                Err(error) => {
                    tracing::warn!(backend = B::NAME, %error, "backend unreachable");
                    Ok(
                        tonic::Status::unavailable(format!("{} is unavailable", B::NAME))
                            .into_http(),
                    )
                }
            }
        })
    }
}

/// One of the gateway's own services (PortalService), held to the rules declared next to its
/// RPCs as the forwarded ones are: authenticated and authorized here, then served by `inner`
/// (which reads the caller from the request as every service does).
#[derive(Clone)]
pub struct Authorized<S> {
    inner: S,
    authenticator: Authenticator,
    authorizer: Arc<Authorizer>,
}

impl<S> Authorized<S> {
    pub fn new(inner: S, authenticator: Authenticator, authorizer: Arc<Authorizer>) -> Self {
        Self {
            inner,
            authenticator,
            authorizer,
        }
    }
}

impl<S: NamedService> NamedService for Authorized<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<Body>> for Authorized<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: tonic::codegen::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tower::BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let authenticator = self.authenticator.clone();
        let authorizer = self.authorizer.clone();
        Box::pin(async move {
            let path = request.uri().path().to_string();
            match admit(&authenticator, &authorizer, &path, request).await {
                Ok((_, request)) => Ok(inner.oneshot(request).await?.map(Body::new)),
                Err(error) => Ok(error.into_status().into_http()),
            }
        })
    }
}

/// Authenticates and authorizes a public call: its caller (with the catalog position its call
/// is decided at) and the request to serve.
async fn admit(
    authenticator: &Authenticator,
    authorizer: &Authorizer,
    path: &str,
    request: http::Request<Body>,
) -> Result<(Caller, http::Request<Body>), ApiError> {
    let principal = authenticate(authenticator, request.headers())?;
    let mut caller = authenticator.verifier().caller(principal);
    caller.catalog_position =
        authorizer.catalog_position_of(&caller.principal.subject, request.headers());
    let request = authorizer.authorize(&caller, path, request).await?;
    Ok((caller, request))
}

fn authenticate(
    authenticator: &Authenticator,
    headers: &http::HeaderMap,
) -> Result<weft_runtime::Principal, ApiError> {
    let metadata = MetadataMap::from_headers(headers.clone());
    authenticator.verifier().verify(bearer_token(&metadata)?)
}
