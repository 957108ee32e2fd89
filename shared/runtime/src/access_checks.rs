//! Access decisions other Weft services ask of governance (the gateway's authorization, the
//! catalog's visibility filtering): governance's internal `BatchCheck`, bounded in time and
//! failing closed, so every caller refuses the same way when governance can not answer.

use std::time::Duration;

use tonic::transport::Channel;
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{BatchCheckRequest, BatchCheckResponse};

use crate::ApiError;

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
