//! Provisioning's tonic adapter: takes the caller the interceptor authenticated, unwraps the
//! request, calls the domain and maps `ApiError` to `Status`. No rules live here.

use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::provisioning::v1::provisioning_internal_service_server::ProvisioningInternalService;
use weft_proto::weft::provisioning::v1::provisioning_service_server::ProvisioningService;
use weft_proto::weft::provisioning::v1::*;
use weft_runtime::interceptors::caller;
use weft_storage::service::{EventStream, watch_events};

use crate::domain::Provisioning;

/// `weft.provisioning.v1.ProvisioningService`.
pub struct ProvisioningApi {
    provisioning: Provisioning,
}

impl ProvisioningApi {
    pub fn new(provisioning: Provisioning) -> Self {
        Self { provisioning }
    }
}

#[tonic::async_trait]
impl ProvisioningService for ProvisioningApi {
    async fn create_blueprint(
        &self,
        request: Request<CreateBlueprintRequest>,
    ) -> Result<Response<Blueprint>, Status> {
        let caller = caller(&request)?;
        let created = self
            .provisioning
            .create_blueprint(&caller, request.into_inner())
            .await?;
        Ok(Response::new(created))
    }

    async fn get_blueprint(
        &self,
        request: Request<GetBlueprintRequest>,
    ) -> Result<Response<Blueprint>, Status> {
        Ok(Response::new(
            self.provisioning
                .get_blueprint(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_blueprints(
        &self,
        request: Request<ListBlueprintsRequest>,
    ) -> Result<Response<ListBlueprintsResponse>, Status> {
        Ok(Response::new(
            self.provisioning
                .list_blueprints(request.into_inner())
                .await?,
        ))
    }

    async fn delete_blueprint(
        &self,
        request: Request<DeleteBlueprintRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request)?;
        self.provisioning
            .delete_blueprint(&caller, request.into_inner())
            .await?;
        Ok(Response::new(()))
    }

    async fn create_environment(
        &self,
        request: Request<CreateEnvironmentRequest>,
    ) -> Result<Response<Environment>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .create_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_environment(
        &self,
        request: Request<GetEnvironmentRequest>,
    ) -> Result<Response<Environment>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .get_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn list_environments(
        &self,
        request: Request<ListEnvironmentsRequest>,
    ) -> Result<Response<ListEnvironmentsResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .list_environments(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn update_environment(
        &self,
        request: Request<UpdateEnvironmentRequest>,
    ) -> Result<Response<Environment>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .update_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn delete_environment(
        &self,
        request: Request<DeleteEnvironmentRequest>,
    ) -> Result<Response<Environment>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .delete_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn plan_environment(
        &self,
        request: Request<PlanEnvironmentRequest>,
    ) -> Result<Response<PlanEnvironmentResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .plan_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn list_deployments(
        &self,
        request: Request<ListDeploymentsRequest>,
    ) -> Result<Response<ListDeploymentsResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .list_deployments(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_environment_credentials(
        &self,
        request: Request<GetEnvironmentCredentialsRequest>,
    ) -> Result<Response<EnvironmentCredentials>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .get_environment_credentials(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn reconcile_environment(
        &self,
        request: Request<ReconcileEnvironmentRequest>,
    ) -> Result<Response<Environment>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .reconcile_environment(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn list_grant_fulfilments(
        &self,
        request: Request<ListGrantFulfilmentsRequest>,
    ) -> Result<Response<ListGrantFulfilmentsResponse>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .list_grant_fulfilments(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn rotate_environment_credentials(
        &self,
        request: Request<RotateEnvironmentCredentialsRequest>,
    ) -> Result<Response<EnvironmentCredentials>, Status> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.provisioning
                .rotate_environment_credentials(&caller, request.into_inner())
                .await?,
        ))
    }
}

/// `weft.provisioning.v1.ProvisioningInternalService`: the outbox stream and introspection.
pub struct ProvisioningInternalApi {
    provisioning: Provisioning,
}

impl ProvisioningInternalApi {
    pub fn new(provisioning: Provisioning) -> Self {
        Self { provisioning }
    }
}

#[tonic::async_trait]
impl ProvisioningInternalService for ProvisioningInternalApi {
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch_events(
            self.provisioning.store(),
            request.into_inner(),
        )?))
    }

    async fn introspect_environment(
        &self,
        request: Request<IntrospectEnvironmentRequest>,
    ) -> Result<Response<IntrospectEnvironmentResponse>, Status> {
        Ok(Response::new(
            self.provisioning
                .introspect_environment(request.into_inner())
                .await?,
        ))
    }
}
