//! tonic interceptors that authenticate every call before it reaches a service's adapter: public
//! RPCs need a caller (at the gateway a bearer token; at a backend a principal forwarded by the
//! gateway, or an administrator's token); internal RPCs need a Weft service certificate.

use tonic::{Request, Status};

use crate::auth::{Authenticator, Caller, MIN_CATALOG_SEQUENCE_HEADER};
use crate::config::ServiceKind;

/// Authenticates public RPCs and puts the `Caller` into the request's extensions.
#[derive(Clone)]
pub struct PublicAuth(pub Authenticator);

impl tonic::service::Interceptor for PublicAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let certs = request.peer_certs();
        let caller = self
            .0
            .authenticate(request.metadata(), certs.as_deref().map(Vec::as_slice))?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// Authenticates the public RPCs of a backend service, which the gateway authorizes: a principal
/// forwarded by the gateway, or an administrator's bearer token (see
/// `Authenticator::authenticate_behind_gateway`).
#[derive(Clone)]
pub struct BehindGateway(pub Authenticator);

impl tonic::service::Interceptor for BehindGateway {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let certs = request.peer_certs();
        let mut caller = self
            .0
            .authenticate_behind_gateway(request.metadata(), certs.as_deref().map(Vec::as_slice))?;
        // Set by the gateway (what the caller caused or saw); a bad value is ignored.
        caller.catalog_position = request
            .metadata()
            .get(MIN_CATALOG_SEQUENCE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i64>().ok())
            .unwrap_or_default()
            .max(0);
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The calling Weft service of an internal RPC, in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingService(pub ServiceKind);

/// Admits internal RPCs only from peers with a Weft service certificate.
#[derive(Clone)]
pub struct InternalAuth(pub Authenticator);

impl tonic::service::Interceptor for InternalAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let certs = request.peer_certs();
        let service = self
            .0
            .authenticate_service(certs.as_deref().map(Vec::as_slice))?;
        request.extensions_mut().insert(CallingService(service));
        Ok(request)
    }
}

/// The authenticated caller of a request that passed `PublicAuth`.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("request was not authenticated"))
}
