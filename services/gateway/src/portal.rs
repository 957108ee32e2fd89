//! `weft.gateway.v1.PortalService`: the gateway's own composed RPCs. GetCaller is served; the
//! composed views (overview, impact report, merged audit) come with the issues that build the
//! services they join, and answer UNIMPLEMENTED until then.

use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::Principal;
use weft_proto::weft::gateway::v1::portal_service_server::PortalService;
use weft_proto::weft::gateway::v1::{GetCallerRequest, GetCallerResponse};
use weft_runtime::interceptors::caller;

pub struct PortalApi;

#[tonic::async_trait]
impl PortalService for PortalApi {
    async fn get_caller(
        &self,
        request: Request<GetCallerRequest>,
    ) -> Result<Response<GetCallerResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(GetCallerResponse {
            principal: Some(Principal {
                subject: caller.principal.subject,
                groups: caller.principal.groups,
            }),
            admin: caller.is_admin,
        }))
    }
}
