//! Governance as the other services' domains see it: small traits (`Decisions`,
//! `RuleEvaluator`, `Memberships`) so that a domain can be tested without a network, and their one
//! implementation over governance's internal gRPC service (`Governance`), bounded in time and
//! failing closed (UNAVAILABLE) like every other question to governance.

use std::time::Duration;

use async_trait::async_trait;
use tonic::transport::Channel;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{
    AccessQuery, BatchCheckRequest, DescribeScopeRequest, DescribeScopeResponse,
    EvaluateRulesRequest, EvaluateRulesResponse, ExplainAccessForServiceRequest,
    ExplainAccessResponse, FindMissingPrincipalsRequest, FulfilmentReport,
    ListCallerProjectsRequest, ProjectRole, ReportFulfilmentRequest,
};
use weft_runtime::{ApiError, Caller};

use crate::{DECISION_TIMEOUT, batch_check, describable};

/// How long an evaluation of governance's rules (e.g. before a publish) may take.
const EVALUATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Governance's access decisions about a caller. Administrators are not special here: the
/// domain that asks decides whether it asks at all.
#[async_trait]
pub trait Decisions: Send + Sync {
    /// Which of `names` `caller` may DESCRIBE, in order; `what` names the question in the
    /// UNAVAILABLE error ("governance is unavailable: {what} can not be decided").
    async fn describable(
        &self,
        caller: &Caller,
        names: &[&str],
        what: &str,
    ) -> Result<Vec<bool>, ApiError>;

    /// Whether `caller` holds `permission` on `resource`.
    async fn allowed(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
    ) -> Result<bool, ApiError>;

    /// What `caller` may DESCRIBE, as a filter when it can be one.
    async fn describe_scope(&self, caller: &Caller) -> Result<DescribeScopeResponse, ApiError>;

    /// Those of `principals` that are Weft's to manage (projects) and do not exist.
    async fn missing_principals(&self, principals: &[String]) -> Result<Vec<String>, ApiError>;
}

/// Governance's rules (CEL) evaluated on a descriptor of the thing about to change.
#[async_trait]
pub trait RuleEvaluator: Send + Sync {
    async fn evaluate(
        &self,
        request: EvaluateRulesRequest,
    ) -> Result<EvaluateRulesResponse, ApiError>;
}

/// Which projects a caller belongs to.
#[async_trait]
pub trait Memberships: Send + Sync {
    /// The projects `caller` is a member of (itself or by a group), with its strongest role.
    async fn projects_of(&self, caller: &Caller) -> Result<Vec<(String, ProjectRole)>, ApiError>;
}

/// What provisioning asks and tells governance while it fulfils grants on the data plane.
#[async_trait]
pub trait GrantFulfilment: Send + Sync {
    /// What `principal` may SELECT of each of `assets`: the decision, its effective columns
    /// and rows, in the order of `assets`.
    async fn explain_selects(
        &self,
        principal: &str,
        assets: &[String],
    ) -> Result<Vec<ExplainAccessResponse>, ApiError>;

    /// Tells governance how the grants' fulfilment went.
    async fn report(&self, reports: Vec<FulfilmentReport>) -> Result<(), ApiError>;
}

/// The traits above answered by governance's internal service.
#[derive(Clone)]
pub struct Governance {
    client: GovernanceInternalServiceClient<Channel>,
}

impl Governance {
    pub fn new(channel: Channel) -> Self {
        Self {
            client: GovernanceInternalServiceClient::new(channel),
        }
    }

    /// `request` with the deadline every question to governance has.
    fn bounded<T>(request: T, timeout: Duration) -> tonic::Request<T> {
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        request
    }
}

/// UNAVAILABLE for a question governance did not answer (the status is logged, not shown).
fn unavailable(status: tonic::Status, what: &str) -> ApiError {
    tracing::warn!(%status, "governance could not answer: {what}");
    ApiError::Unavailable(format!(
        "governance is unavailable: {what} can not be decided"
    ))
}

#[async_trait]
impl Decisions for Governance {
    async fn describable(
        &self,
        caller: &Caller,
        names: &[&str],
        what: &str,
    ) -> Result<Vec<bool>, ApiError> {
        describable(&self.client, caller, names, caller.catalog_position, what).await
    }

    async fn allowed(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
    ) -> Result<bool, ApiError> {
        let request = BatchCheckRequest {
            queries: vec![AccessQuery {
                principal: caller.principal.subject.clone(),
                permission: permission as i32,
                resource: resource.to_string(),
            }],
            groups: caller.principal.groups.clone(),
            min_catalog_sequence: caller.catalog_position,
        };
        let response = batch_check(&self.client, request, "access").await?;
        Ok(response.decisions[0].allowed)
    }

    async fn describe_scope(&self, caller: &Caller) -> Result<DescribeScopeResponse, ApiError> {
        let request = Self::bounded(
            DescribeScopeRequest {
                principal: caller.principal.subject.clone(),
                groups: caller.principal.groups.clone(),
                min_catalog_sequence: caller.catalog_position,
            },
            DECISION_TIMEOUT,
        );
        self.client
            .clone()
            .describe_scope(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| unavailable(status, "what you may see"))
    }

    async fn missing_principals(&self, principals: &[String]) -> Result<Vec<String>, ApiError> {
        let request = Self::bounded(
            FindMissingPrincipalsRequest {
                principals: principals.to_vec(),
            },
            DECISION_TIMEOUT,
        );
        self.client
            .clone()
            .find_missing_principals(request)
            .await
            .map(|response| response.into_inner().missing)
            .map_err(|status| {
                tracing::warn!(%status, "governance could not say which principals exist");
                ApiError::Unavailable(
                    "governance is unavailable: owners can not be checked".to_string(),
                )
            })
    }
}

#[async_trait]
impl RuleEvaluator for Governance {
    async fn evaluate(
        &self,
        request: EvaluateRulesRequest,
    ) -> Result<EvaluateRulesResponse, ApiError> {
        self.client
            .clone()
            .evaluate_rules(Self::bounded(request, EVALUATION_TIMEOUT))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| {
                ApiError::Unavailable(format!(
                    "governance could not evaluate the rules ({})",
                    status.message()
                ))
            })
    }
}

#[async_trait]
impl Memberships for Governance {
    async fn projects_of(&self, caller: &Caller) -> Result<Vec<(String, ProjectRole)>, ApiError> {
        let request = Self::bounded(
            ListCallerProjectsRequest {
                principal: caller.principal.subject.clone(),
                groups: caller.principal.groups.clone(),
            },
            DECISION_TIMEOUT,
        );
        let response = self
            .client
            .clone()
            .list_caller_projects(request)
            .await
            .map_err(|status| unavailable(status, "your projects"))?
            .into_inner();
        Ok(response
            .projects
            .into_iter()
            .map(|member| {
                let role = member.role();
                (member.principal, role)
            })
            .collect())
    }
}

#[async_trait]
impl GrantFulfilment for Governance {
    async fn explain_selects(
        &self,
        principal: &str,
        assets: &[String],
    ) -> Result<Vec<ExplainAccessResponse>, ApiError> {
        // Governance answers at most this many questions a call.
        const PER_CALL: usize = 1_000;
        let mut explanations = Vec::with_capacity(assets.len());
        for chunk in assets.chunks(PER_CALL) {
            let queries = chunk
                .iter()
                .map(|asset| AccessQuery {
                    principal: principal.to_string(),
                    permission: Permission::Select as i32,
                    resource: asset.clone(),
                })
                .collect();
            let request =
                Self::bounded(ExplainAccessForServiceRequest { queries }, DECISION_TIMEOUT);
            let answered = self
                .client
                .clone()
                .explain_access_for_service(request)
                .await
                .map_err(|status| unavailable(status, "what a grant gives"))?
                .into_inner()
                .explanations;
            if answered.len() != chunk.len() {
                return Err(ApiError::internal(format!(
                    "governance answered {} of {} questions",
                    answered.len(),
                    chunk.len()
                )));
            }
            explanations.extend(answered);
        }
        Ok(explanations)
    }

    async fn report(&self, reports: Vec<FulfilmentReport>) -> Result<(), ApiError> {
        if reports.is_empty() {
            return Ok(());
        }
        let request = Self::bounded(ReportFulfilmentRequest { reports }, DECISION_TIMEOUT);
        self.client
            .clone()
            .report_fulfilment(request)
            .await
            .map(|_| ())
            .map_err(|status| unavailable(status, "the fulfilment report"))
    }
}
