//! QueryAudit over governance's hash-chained journal: every mutation (and, once recorded,
//! every data-permission decision), newest first, filtered by actor, resource (or under it),
//! actions, outcome and time. Page tokens carry the last sequence returned.

use weft_proto::weft::common::v1::{AuditOutcome, AuditRecord};
use weft_proto::weft::governance::v1::{QueryAuditRequest, QueryAuditResponse};
use weft_runtime::ApiError;
use weft_runtime::paging::PageRequest;
use weft_storage::journal::{self, AuditQuery};
use weft_storage::write::db_error;

use super::{Governance, require_admin};
use weft_runtime::Caller;

fn to_time(timestamp: &prost_types::Timestamp) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    weft_proto::time::date_time(timestamp)
        .ok_or_else(|| ApiError::invalid("start_time", "is out of range"))
}

impl Governance {
    pub async fn query_audit(
        &self,
        caller: &Caller,
        request: QueryAuditRequest,
    ) -> Result<QueryAuditResponse, ApiError> {
        require_admin(caller, "query the audit journal")?;
        let fingerprint = format!(
            "audit?{}&{}&{:?}&{}&{:?}&{:?}",
            request.actor,
            request.resource,
            request.actions,
            request.outcome,
            request.start_time,
            request.end_time
        );
        let page = PageRequest::parse(request.page_size, &request.page_token, &fingerprint)?;
        let outcome = match AuditOutcome::try_from(request.outcome) {
            Ok(AuditOutcome::Unspecified) => None,
            Ok(outcome) => Some(
                outcome
                    .as_str_name()
                    .trim_start_matches("AUDIT_OUTCOME_")
                    .to_string(),
            ),
            Err(_) => return Err(ApiError::invalid("outcome", "is not an outcome")),
        };
        let query = AuditQuery {
            actor: Some(request.actor.clone()).filter(|a| !a.is_empty()),
            resource: Some(request.resource.clone()).filter(|r| !r.is_empty()),
            actions: request.actions.clone(),
            outcome,
            start_time: request.start_time.as_ref().map(to_time).transpose()?,
            end_time: request.end_time.as_ref().map(to_time).transpose()?,
            before_sequence: page.after_number()?,
            limit: page.fetch_limit(),
        };
        let rows = journal::query(self.store().db(), &query)
            .await
            .map_err(db_error)?;
        // Keyed by sequence, the page token's position (newest first).
        let mut keyed: Vec<(String, AuditRecord)> = rows
            .into_iter()
            .map(|row| {
                (
                    row.seq.to_string(),
                    AuditRecord {
                        service: "governance".to_string(),
                        sequence: row.seq,
                        time: Some(prost_types::Timestamp {
                            seconds: row.time.timestamp(),
                            nanos: row.time.timestamp_subsec_nanos() as i32,
                        }),
                        actor: row.actor,
                        action: row.action,
                        resource: row.resource,
                        outcome: AuditOutcome::from_str_name(&format!(
                            "AUDIT_OUTCOME_{}",
                            row.outcome
                        ))
                        .unwrap_or(AuditOutcome::Unspecified)
                            as i32,
                        detail_json: row.detail_json,
                        hash: row.hash,
                        previous_hash: row.previous_hash,
                    },
                )
            })
            .collect();
        let next_page_token = page.finish(&mut keyed, |(sequence, _)| sequence);
        Ok(QueryAuditResponse {
            records: keyed.into_iter().map(|(_, record)| record).collect(),
            next_page_token,
            dropped_decision_records: self.decision_log().dropped() as i64,
        })
    }
}
