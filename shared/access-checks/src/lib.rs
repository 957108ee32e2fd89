//! Access decisions other Weft services ask of governance (the gateway's authorization, the
//! catalog's visibility filtering): governance's internal `BatchCheck`, bounded in time and
//! failing closed, so every caller refuses the same way when governance can not answer; and
//! the traits through which the services' domains ask governance (`governance`).

mod governance;

pub use governance::{Decisions, Governance, GrantFulfilment, Memberships, RuleEvaluator};

use std::time::Duration;

use tonic::transport::Channel;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{AccessQuery, BatchCheckRequest, BatchCheckResponse};

use weft_runtime::{ApiError, Caller};

/// Most questions governance takes in one BatchCheck.
const MAX_BATCH: usize = 1_000;

/// Longest wait for governance's decisions.
pub const DECISION_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks governance `request`; UNAVAILABLE ("… `what` can not be decided") when it does not
/// answer in time, INTERNAL when it answers another number of decisions than questions.
pub async fn batch_check(
    client: &GovernanceInternalServiceClient<Channel>,
    request: BatchCheckRequest,
    what: &str,
) -> Result<BatchCheckResponse, ApiError> {
    let questions = request.queries.len();
    let mut request = tonic::Request::new(request);
    request.set_timeout(DECISION_TIMEOUT);
    let response = client
        .clone()
        .batch_check(request)
        .await
        .map_err(|status| {
            tracing::warn!(%status, "governance could not decide {what}");
            ApiError::Unavailable(format!(
                "governance is unavailable: {what} can not be decided"
            ))
        })?
        .into_inner();
    if response.decisions.len() != questions {
        return Err(ApiError::internal(
            "governance answered another number of decisions than questions",
        ));
    }
    Ok(response)
}

/// Which of `names` `caller` may DESCRIBE, in order (administrators: all), asked of governance
/// in batches, decided on a catalog projection at least at `min_catalog_sequence`;
/// UNAVAILABLE (fail closed) when governance does not answer.
pub async fn describable(
    client: &GovernanceInternalServiceClient<Channel>,
    caller: &Caller,
    names: &[&str],
    min_catalog_sequence: i64,
    what: &str,
) -> Result<Vec<bool>, ApiError> {
    if caller.is_admin {
        return Ok(vec![true; names.len()]);
    }
    let mut allowed = Vec::with_capacity(names.len());
    for chunk in names.chunks(MAX_BATCH) {
        let request = BatchCheckRequest {
            queries: chunk
                .iter()
                .map(|name| AccessQuery {
                    principal: caller.principal.subject.clone(),
                    permission: Permission::Describe as i32,
                    resource: name.to_string(),
                })
                .collect(),
            groups: caller.principal.groups.clone(),
            min_catalog_sequence,
        };
        let response = batch_check(client, request, what).await?;
        allowed.extend(response.decisions.iter().map(|decision| decision.allowed));
    }
    Ok(allowed)
}
