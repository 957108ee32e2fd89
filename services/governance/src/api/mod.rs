//! Governance's tonic adapter: authenticates (through the interceptor), unwraps the request,
//! calls the domain, and maps `ApiError` to `Status`. No rules live here.

use tonic::{Request, Response, Status};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::governance::v1::governance_internal_service_server::GovernanceInternalService;
use weft_proto::weft::governance::v1::governance_service_server::GovernanceService;
use weft_proto::weft::governance::v1::*;
use weft_runtime::ServiceKind;
use weft_runtime::interceptors::{CallingService, caller};
use weft_storage::service::{EventStream, watch_events};

use crate::domain::Governance;
use weft_runtime::Caller;

/// `weft.governance.v1.GovernanceService`.
pub struct GovernanceApi {
    governance: Governance,
}

impl GovernanceApi {
    pub fn new(governance: Governance) -> Self {
        Self { governance }
    }

    /// The caller of an authenticated public request, once the catalog projection reflects
    /// what the caller has caused or seen of the catalog (the gateway says how far): a grant on
    /// a domain created a moment ago finds the domain (read-your-writes across services).
    async fn caller_of<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let position = caller(request)?.catalog_position;
        let engine = self.governance.engine();
        if position > engine.catalog_position() {
            engine
                .reach_catalog_position(position, CATALOG_POSITION_WAIT)
                .await;
        }
        caller(request)
    }
}

#[tonic::async_trait]
impl GovernanceService for GovernanceApi {
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_user(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<User>, Status> {
        Ok(Response::new(
            self.governance.get_user(&request.into_inner().name).await?,
        ))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        Ok(Response::new(
            self.governance.list_users(request.into_inner()).await?,
        ))
    }

    async fn update_user(
        &self,
        request: Request<UpdateUserRequest>,
    ) -> Result<Response<User>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_user(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_user(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_group(
        &self,
        request: Request<CreateGroupRequest>,
    ) -> Result<Response<Group>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_group(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_group(
        &self,
        request: Request<GetGroupRequest>,
    ) -> Result<Response<Group>, Status> {
        Ok(Response::new(
            self.governance
                .get_group(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_groups(
        &self,
        request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        Ok(Response::new(
            self.governance.list_groups(request.into_inner()).await?,
        ))
    }

    async fn update_group(
        &self,
        request: Request<UpdateGroupRequest>,
    ) -> Result<Response<Group>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_group(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_group(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_project(
        &self,
        request: Request<CreateProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_project(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_project(
        &self,
        request: Request<GetProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        Ok(Response::new(
            self.governance
                .get_project(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_projects(
        &self,
        request: Request<ListProjectsRequest>,
    ) -> Result<Response<ListProjectsResponse>, Status> {
        Ok(Response::new(
            self.governance.list_projects(request.into_inner()).await?,
        ))
    }

    async fn update_project(
        &self,
        request: Request<UpdateProjectRequest>,
    ) -> Result<Response<Project>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_project(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_project(
        &self,
        request: Request<DeleteProjectRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_project(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_service_account(
        &self,
        request: Request<CreateServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_service_account(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_service_account(
        &self,
        request: Request<GetServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        Ok(Response::new(
            self.governance
                .get_service_account(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_service_accounts(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        Ok(Response::new(
            self.governance
                .list_service_accounts(request.into_inner())
                .await?,
        ))
    }

    async fn update_service_account(
        &self,
        request: Request<UpdateServiceAccountRequest>,
    ) -> Result<Response<ServiceAccount>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_service_account(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_service_account(
        &self,
        request: Request<DeleteServiceAccountRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_service_account(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_policy(
        &self,
        request: Request<CreatePolicyRequest>,
    ) -> Result<Response<Policy>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_policy(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_policy(
        &self,
        request: Request<GetPolicyRequest>,
    ) -> Result<Response<Policy>, Status> {
        Ok(Response::new(
            self.governance
                .get_policy(&request.into_inner().name)
                .await?,
        ))
    }

    async fn list_policies(
        &self,
        request: Request<ListPoliciesRequest>,
    ) -> Result<Response<ListPoliciesResponse>, Status> {
        Ok(Response::new(
            self.governance.list_policies(request.into_inner()).await?,
        ))
    }

    async fn update_policy(
        &self,
        request: Request<UpdatePolicyRequest>,
    ) -> Result<Response<Policy>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_policy(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_policy(
        &self,
        request: Request<DeletePolicyRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_policy(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_rule(
        &self,
        request: Request<CreateRuleRequest>,
    ) -> Result<Response<Rule>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_rule(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_rule(&self, request: Request<GetRuleRequest>) -> Result<Response<Rule>, Status> {
        Ok(Response::new(
            self.governance.get_rule(&request.into_inner().name).await?,
        ))
    }

    async fn list_rules(
        &self,
        request: Request<ListRulesRequest>,
    ) -> Result<Response<ListRulesResponse>, Status> {
        Ok(Response::new(
            self.governance.list_rules(request.into_inner()).await?,
        ))
    }

    async fn update_rule(
        &self,
        request: Request<UpdateRuleRequest>,
    ) -> Result<Response<Rule>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .update_rule(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn delete_rule(
        &self,
        request: Request<DeleteRuleRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .delete_rule(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn evaluate_rules(
        &self,
        request: Request<EvaluateRulesRequest>,
    ) -> Result<Response<EvaluateRulesResponse>, Status> {
        Ok(Response::new(
            self.governance.evaluate_rules(request.into_inner()).await?,
        ))
    }

    async fn create_subscription_request(
        &self,
        request: Request<CreateSubscriptionRequestRequest>,
    ) -> Result<Response<SubscriptionRequest>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_subscription_request(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_subscription_request(
        &self,
        request: Request<GetSubscriptionRequestRequest>,
    ) -> Result<Response<SubscriptionRequest>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .read_subscription_request(&caller, &request.into_inner().name)
                .await?,
        ))
    }

    async fn list_subscription_requests(
        &self,
        request: Request<ListSubscriptionRequestsRequest>,
    ) -> Result<Response<ListSubscriptionRequestsResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .list_subscription_requests(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn approve_subscription_request(
        &self,
        request: Request<ApproveSubscriptionRequestRequest>,
    ) -> Result<Response<SubscriptionRequest>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .approve_subscription_request(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn reject_subscription_request(
        &self,
        request: Request<RejectSubscriptionRequestRequest>,
    ) -> Result<Response<SubscriptionRequest>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .reject_subscription_request(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn cancel_subscription_request(
        &self,
        request: Request<CancelSubscriptionRequestRequest>,
    ) -> Result<Response<SubscriptionRequest>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .cancel_subscription_request(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_subscription(
        &self,
        request: Request<GetSubscriptionRequest>,
    ) -> Result<Response<Subscription>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .read_subscription(&caller, &request.into_inner().name)
                .await?,
        ))
    }

    async fn list_subscriptions(
        &self,
        request: Request<ListSubscriptionsRequest>,
    ) -> Result<Response<ListSubscriptionsResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .list_subscriptions(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn revoke_subscription(
        &self,
        request: Request<RevokeSubscriptionRequest>,
    ) -> Result<Response<Subscription>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .revoke_subscription(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn cancel_subscription(
        &self,
        request: Request<CancelSubscriptionRequest>,
    ) -> Result<Response<Subscription>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .cancel_subscription(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn query_audit(
        &self,
        request: Request<QueryAuditRequest>,
    ) -> Result<Response<QueryAuditResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .query_audit(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn create_grant(
        &self,
        request: Request<CreateGrantRequest>,
    ) -> Result<Response<Grant>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .create_grant(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn get_grant(
        &self,
        request: Request<GetGrantRequest>,
    ) -> Result<Response<Grant>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .read_grant(&caller, &request.into_inner().name)
                .await?,
        ))
    }

    async fn list_grants(
        &self,
        request: Request<ListGrantsRequest>,
    ) -> Result<Response<ListGrantsResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(
            self.governance
                .list_grants(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn revoke_grant(
        &self,
        request: Request<RevokeGrantRequest>,
    ) -> Result<Response<Grant>, Status> {
        let caller = self.caller_of(&request).await?;
        let response = self
            .governance
            .revoke_grant(&caller, request.into_inner())
            .await?;
        Ok(Response::new(response))
    }

    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        let answer = self.governance.check(&caller, request.into_inner());
        // Before answering: the decision's audit record is queued (see `DecisionLog`).
        self.governance.decision_log().settle().await;
        Ok(Response::new(answer?))
    }

    async fn batch_check(
        &self,
        request: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        let answer = self.governance.batch_check(&caller, request.into_inner());
        // Before answering: the decision's audit record is queued (see `DecisionLog`).
        self.governance.decision_log().settle().await;
        Ok(Response::new(answer?))
    }

    async fn explain_access(
        &self,
        request: Request<ExplainAccessRequest>,
    ) -> Result<Response<ExplainAccessResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        let answer = self
            .governance
            .explain_access(&caller, request.into_inner());
        // Before answering: the decision's audit record is queued (see `DecisionLog`).
        self.governance.decision_log().settle().await;
        Ok(Response::new(answer?))
    }

    async fn list_effective_permissions(
        &self,
        request: Request<ListEffectivePermissionsRequest>,
    ) -> Result<Response<ListEffectivePermissionsResponse>, Status> {
        let caller = self.caller_of(&request).await?;
        Ok(Response::new(self.governance.list_effective_permissions(
            &caller,
            request.into_inner(),
        )?))
    }

    async fn who_has_access(
        &self,
        request: Request<WhoHasAccessRequest>,
    ) -> Result<Response<WhoHasAccessResponse>, Status> {
        Ok(Response::new(
            self.governance.who_has_access(request.into_inner())?,
        ))
    }
}

/// Longest wait for the catalog projection to reach the position a BatchCheck asks for: the
/// projection usually follows within milliseconds; past this the decision is made on what it has.
const CATALOG_POSITION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `weft.governance.v1.GovernanceInternalService`: the outbox stream and the gateway's
/// BatchCheck and rule evaluation. Fulfilment reports come with provisioning.
pub struct GovernanceInternalApi {
    governance: Governance,
    admin_group: String,
}

impl GovernanceInternalApi {
    pub fn new(governance: Governance, admin_group: String) -> Self {
        Self {
            governance,
            admin_group,
        }
    }
}

impl GovernanceInternalApi {
    /// Waits (bounded) until the catalog projection reflects `position` (0: at once), so that
    /// the answer sees what the caller caused or saw.
    async fn at_catalog_position(&self, position: i64) {
        self.governance
            .engine()
            .reach_catalog_position(position, CATALOG_POSITION_WAIT)
            .await;
    }
}

/// "services/{name}" of the Weft service calling (its certificate says which).
fn calling_service<T>(request: &Request<T>) -> Result<String, Status> {
    match request.extensions().get::<CallingService>() {
        Some(CallingService(service)) => Ok(format!("services/{}", service.as_str())),
        None => Err(Status::unauthenticated("no calling service")),
    }
}

#[tonic::async_trait]
impl GovernanceInternalService for GovernanceInternalApi {
    async fn watch_events(
        &self,
        request: Request<WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(watch_events(
            self.governance.store(),
            request.into_inner(),
        )?))
    }

    /// The catalog's publish flow (it passes the descriptor it is about to publish).
    async fn evaluate_rules(
        &self,
        request: Request<EvaluateRulesRequest>,
    ) -> Result<Response<EvaluateRulesResponse>, Status> {
        Ok(Response::new(
            self.governance.evaluate_rules(request.into_inner()).await?,
        ))
    }

    /// The gateway (authorization) or the catalog (visibility) asks for the principal each
    /// question names, with that principal's token groups (trusted: the caller holds a service
    /// certificate).
    async fn batch_check(
        &self,
        request: Request<BatchCheckRequest>,
    ) -> Result<Response<BatchCheckResponse>, Status> {
        let asker = calling_service(&request)?;
        let request = request.into_inner();
        self.at_catalog_position(request.min_catalog_sequence).await;
        let answer = self
            .governance
            .batch_check_for_service(request, &self.admin_group, &asker);
        // Before answering: the decisions' audit records are queued (see `DecisionLog`).
        self.governance.decision_log().settle().await;
        Ok(Response::new(answer?))
    }

    /// The catalog's search asks what its caller may see before it counts matches.
    async fn describe_scope(
        &self,
        request: Request<DescribeScopeRequest>,
    ) -> Result<Response<DescribeScopeResponse>, Status> {
        calling_service(&request)?;
        let request = request.into_inner();
        self.at_catalog_position(request.min_catalog_sequence).await;
        Ok(Response::new(
            self.governance
                .describe_scope_for_service(request, &self.admin_group)?,
        ))
    }

    /// The catalog checks that the owners and approvers it is given exist.
    async fn find_missing_principals(
        &self,
        request: Request<FindMissingPrincipalsRequest>,
    ) -> Result<Response<FindMissingPrincipalsResponse>, Status> {
        Ok(Response::new(
            self.governance
                .find_missing_principals(request.into_inner())?,
        ))
    }

    /// Provisioning reports how grants were applied on the data plane.
    async fn report_fulfilment(
        &self,
        request: Request<ReportFulfilmentRequest>,
    ) -> Result<Response<ReportFulfilmentResponse>, Status> {
        if request.extensions().get::<CallingService>()
            != Some(&CallingService(ServiceKind::Provisioning))
        {
            return Err(Status::permission_denied(
                "ReportFulfilment is provisioning's: only it fulfils grants",
            ));
        }
        let reporter = Caller::service(ServiceKind::Provisioning);
        Ok(Response::new(
            self.governance
                .report_fulfilment(&reporter, request.into_inner())
                .await?,
        ))
    }

    /// Provisioning's fulfilment asks what a project may read of assets.
    async fn explain_access_for_service(
        &self,
        request: Request<ExplainAccessForServiceRequest>,
    ) -> Result<Response<ExplainAccessForServiceResponse>, Status> {
        if request.extensions().get::<CallingService>()
            != Some(&CallingService(ServiceKind::Provisioning))
        {
            return Err(Status::permission_denied(
                "ExplainAccessForService is provisioning's: only it fulfils grants",
            ));
        }
        // Provisioning may ask about any principal (as an administrator may).
        Ok(Response::new(
            self.governance
                .explain_access_for_service(request.into_inner())?,
        ))
    }

    /// Provisioning shows environments and hands credentials to their project's members.
    async fn list_caller_projects(
        &self,
        request: Request<ListCallerProjectsRequest>,
    ) -> Result<Response<ListCallerProjectsResponse>, Status> {
        Ok(Response::new(
            self.governance.list_caller_projects(request.into_inner())?,
        ))
    }

    /// The gateway's gathered public Check calls: each caller is who the gateway authenticated
    /// (trusted as the principal header of a forwarded call is), and gets what Check would have
    /// answered it, an error included.
    async fn check_for_callers(
        &self,
        request: Request<CheckForCallersRequest>,
    ) -> Result<Response<CheckForCallersResponse>, Status> {
        // Only the gateway speaks for callers (as only it may forward a principal).
        if request.extensions().get::<CallingService>()
            != Some(&CallingService(ServiceKind::Gateway))
        {
            return Err(Status::permission_denied(
                "CheckForCallers is the gateway's: only it authenticates callers",
            ));
        }
        let checks = request.into_inner().checks;
        // The round is decided at the newest position one of its callers needs (each call
        // alone would have waited for its own; the wait is bounded).
        let position = checks
            .iter()
            .map(|check| check.min_catalog_sequence)
            .max()
            .unwrap_or_default();
        self.at_catalog_position(position).await;
        let calls = checks
            .into_iter()
            .map(|check| {
                let is_admin = check.groups.contains(&self.admin_group);
                let caller = Caller::new(check.principal, check.groups, is_admin);
                (caller, check.request.unwrap_or_default())
            })
            .collect();
        let answers = self.governance.check_for_callers(calls);
        // Before answering: the decisions' audit records are queued (see `DecisionLog`).
        self.governance.decision_log().settle().await;
        let (outcomes, index_sequence) = answers?;
        let outcomes = outcomes
            .into_iter()
            .map(|outcome| CheckOutcome {
                outcome: Some(match outcome {
                    Ok(response) => check_outcome::Outcome::Response(response),
                    Err(error) => {
                        let status = Status::from(error);
                        check_outcome::Outcome::Error(CallError {
                            code: status.code() as i32,
                            message: status.message().to_string(),
                            details: status.details().to_vec(),
                        })
                    }
                }),
            })
            .collect();
        Ok(Response::new(CheckForCallersResponse {
            outcomes,
            index_sequence,
        }))
    }
}
