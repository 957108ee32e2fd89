//! Per-RPC authorization of the forwarded public RPCs: the rule declared next to each RPC in the
//! protos (`weft.common.v1.access`) says who may call it; a resource rule is decided by
//! governance (its internal BatchCheck) on the resource named in the request, through a cache
//! emptied by governance's event stream. Deny by default: an RPC without a rule, an unreachable
//! governance or a resource governance does not know is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::body::Body;
use tonic::transport::Channel;
use weft_proto::permission_name;
use weft_proto::weft::common::v1::{Audience, WatchEventsRequest};
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{AccessQuery, BatchCheckRequest};
use weft_runtime::auth::{
    CATALOG_SEQUENCE_HEADER, INDEX_SEQUENCE_HEADER, MIN_CATALOG_SEQUENCE_HEADER,
};
use weft_runtime::{ApiError, Caller, validate};

use crate::access_rules::{AccessRule, AccessRules};
use crate::decision_cache::{Decision, DecisionCache, Question};
use crate::request_resource;

/// Wait before following governance's event stream again after it failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Most callers whose catalog position is tracked (see `catalog_positions`).
const MAX_TRACKED_CALLERS: usize = 100_000;

pub struct Authorizer {
    rules: AccessRules,
    /// The newest catalog event sequence each caller has caused or seen through this gateway
    /// (from the catalog's `x-weft-catalog-sequence`): its later calls are decided on a
    /// projection at least that new (read-your-writes across services). An entry governance
    /// has caught up with is no longer needed; when full, those are dropped first.
    catalog_positions: Mutex<HashMap<String, i64>>,
    /// The newest catalog sequence governance's decisions reflected.
    governance_catalog_position: AtomicI64,
    /// The newest catalog sequence any catalog answer through this gateway carried: a position a
    /// client states is capped there, so that no client makes governance wait for a position
    /// that does not exist (each such call would hold a slot for the whole wait).
    newest_catalog_position: AtomicI64,
    /// Members may call AUDIENCE_LINEAGE_PRODUCER RPCs.
    lineage_producer_group: String,
    governance: GovernanceInternalServiceClient<Channel>,
    cache: DecisionCache,
    max_message_bytes: usize,
}

impl Authorizer {
    pub fn new(
        rules: AccessRules,
        lineage_producer_group: String,
        governance: Channel,
        max_message_bytes: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            rules,
            catalog_positions: Mutex::new(HashMap::new()),
            governance_catalog_position: AtomicI64::new(0),
            newest_catalog_position: AtomicI64::new(0),
            lineage_producer_group,
            governance: GovernanceInternalServiceClient::new(governance),
            cache: DecisionCache::new(),
            max_message_bytes,
        })
    }

    /// Authorizes the call of `caller` to the RPC at `path`; returns the request to forward.
    pub async fn authorize(
        &self,
        caller: &Caller,
        path: &str,
        request: http::Request<Body>,
    ) -> Result<http::Request<Body>, ApiError> {
        let Some(rule) = self.rules.get(path) else {
            return Err(ApiError::PermissionDenied(format!(
                "{path} is not a public RPC"
            )));
        };
        match rule.audience {
            Audience::Authenticated => Ok(request),
            Audience::Admin if caller.is_admin => Ok(request),
            Audience::Admin => Err(ApiError::PermissionDenied(format!(
                "{} is reserved to administrators",
                rule.method
            ))),
            Audience::LineageProducer
                if caller.is_admin
                    || caller
                        .principal
                        .groups
                        .contains(&self.lineage_producer_group) =>
            {
                Ok(request)
            }
            Audience::LineageProducer => Err(ApiError::PermissionDenied(format!(
                "{} is reserved to lineage producers (members of {})",
                rule.method, self.lineage_producer_group
            ))),
            // Administrators hold every permission: no need to read the request.
            _ if caller.is_admin => Ok(request),
            _ => self.authorize_on_resource(caller, rule, request).await,
        }
    }

    async fn authorize_on_resource(
        &self,
        caller: &Caller,
        rule: &AccessRule,
        request: http::Request<Body>,
    ) -> Result<http::Request<Body>, ApiError> {
        let (resource, request) = if rule.resource_field.is_empty() {
            (String::new(), request)
        } else {
            request_resource::read(
                request,
                &rule.input,
                &rule.resource_field,
                self.max_message_bytes,
            )
            .await?
        };
        let permission = permission_name(rule.permission);
        // Before governance looks it up: a name of any length reached its index's walks.
        if !resource.is_empty()
            && let Err(fault) = validate::catalog_resource_name(&resource)
        {
            return Err(ApiError::invalid(rule.resource_field.clone(), fault));
        }
        if resource.is_empty() {
            return Err(ApiError::PermissionDenied(format!(
                "{} needs {permission} on the catalog root, which only administrators hold",
                rule.method
            )));
        }
        let question = Question {
            principal: caller.principal.subject.clone(),
            groups: caller.principal.groups.clone(),
            permission: rule.permission,
            resource,
        };
        let decision = self.decide(&question, caller.catalog_position).await?;
        if decision.allowed {
            return Ok(request);
        }
        tracing::debug!(
            principal = %question.principal,
            resource = %question.resource,
            reason = %decision.reason,
            "denied"
        );
        // The same answer whether the resource exists or not (AIP-211).
        Err(ApiError::PermissionDenied(format!(
            "{} may not {permission} {} (or it does not exist); ExplainAccess tells why",
            question.principal, question.resource
        )))
    }

    /// Governance's decision on `question`, made on a catalog projection at least at
    /// `catalog_position`.
    async fn decide(
        &self,
        question: &Question,
        catalog_position: i64,
    ) -> Result<Decision, ApiError> {
        if let Some(decision) = self
            .cache
            .get(question)
            .filter(|decision| decision.catalog_sequence >= catalog_position)
        {
            return Ok(decision);
        }
        let request = BatchCheckRequest {
            queries: vec![AccessQuery {
                principal: question.principal.clone(),
                permission: question.permission as i32,
                resource: question.resource.clone(),
            }],
            groups: question.groups.clone(),
            min_catalog_sequence: catalog_position,
        };
        let response = weft_access_checks::batch_check(&self.governance, request, "access").await?;
        self.governance_catalog_position
            .fetch_max(response.catalog_sequence, Ordering::AcqRel);
        let answer = &response.decisions[0];
        let decision = Decision {
            allowed: answer.allowed,
            reason: answer.reason.clone(),
            catalog_sequence: response.catalog_sequence,
        };
        self.cache
            .put(question.clone(), decision.clone(), response.index_sequence);
        Ok(decision)
    }

    /// A governance response said which index sequence it reflects (see governance's
    /// `api::index_sequence`): decisions cached before it are dropped at once.
    pub fn observe_governance_response(&self, headers: &http::HeaderMap) {
        if let Some(sequence) = headers
            .get(INDEX_SEQUENCE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i64>().ok())
        {
            self.observe_index_sequence(sequence);
        }
    }

    /// A catalog response to `subject` said the catalog stood at the sequence in its
    /// `x-weft-catalog-sequence` header: `subject`'s later calls are decided at least there.
    pub fn observe_catalog_response(&self, subject: &str, headers: &http::HeaderMap) {
        let Some(sequence) = headers
            .get(CATALOG_SEQUENCE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i64>().ok())
        else {
            return;
        };
        self.newest_catalog_position
            .fetch_max(sequence, Ordering::AcqRel);
        if sequence <= self.governance_catalog_position.load(Ordering::Acquire) {
            // Governance's projection already reflects it: nothing to wait for.
            return;
        }
        let mut positions = self
            .catalog_positions
            .lock()
            .expect("catalog positions lock");
        if positions.len() >= MAX_TRACKED_CALLERS && !positions.contains_key(subject) {
            let reached = self.governance_catalog_position.load(Ordering::Acquire);
            positions.retain(|_, position| *position > reached);
            if positions.len() >= MAX_TRACKED_CALLERS {
                positions.clear();
            }
        }
        let position = positions.entry(subject.to_string()).or_default();
        *position = (*position).max(sequence);
    }

    /// The catalog position `subject`'s call must be decided at: what it caused or saw through
    /// this gateway, or what it says it saw (`x-weft-min-catalog-sequence`, e.g. through
    /// another replica; capped at the newest position this gateway has seen), whichever is
    /// newer.
    pub fn catalog_position_of(&self, subject: &str, headers: &http::HeaderMap) -> i64 {
        let stated = headers
            .get(MIN_CATALOG_SEQUENCE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<i64>().ok())
            .unwrap_or_default()
            .clamp(0, self.newest_catalog_position.load(Ordering::Acquire));
        let tracked = self
            .catalog_positions
            .lock()
            .expect("catalog positions lock")
            .get(subject)
            .copied()
            .unwrap_or_default();
        stated.max(tracked)
    }

    /// Governance answered from its index at `sequence` (see `observe_governance_response`).
    pub fn observe_index_sequence(&self, sequence: i64) {
        self.cache.reflects(sequence);
    }

    /// Follows governance's event stream, emptying the cache on every event, until the task is
    /// dropped.
    pub async fn follow_governance(self: Arc<Self>) {
        loop {
            if let Err(error) = self.follow_governance_once().await {
                tracing::warn!(%error, "governance events: stream interrupted; decisions not cached");
            }
            self.cache.disconnected();
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    }

    async fn follow_governance_once(&self) -> anyhow::Result<()> {
        let mut client = self.governance.clone();
        // Where governance's index stands: every later event may change a decision.
        let head = client
            .batch_check(BatchCheckRequest::default())
            .await?
            .into_inner()
            .index_sequence;
        let mut stream = client
            .watch_events(WatchEventsRequest {
                after_sequence: head,
                types: Vec::new(),
            })
            .await?
            .into_inner();
        self.cache.connected(head);
        while let Some(event) = stream.message().await? {
            self.cache.invalidate(event.sequence);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: i64) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(name, http::HeaderValue::from(value));
        headers
    }

    #[tokio::test]
    async fn a_callers_position_is_what_it_caused_or_states_up_to_the_newest_seen() {
        let governance =
            tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
        let authorizer = Authorizer::new(
            AccessRules::load().unwrap(),
            "producers".into(),
            governance,
            1 << 20,
        );
        let none = http::HeaderMap::new();
        let stated = headers(MIN_CATALOG_SEQUENCE_HEADER, 1_000_000);
        // Nothing seen yet: a stated position is capped at 0 (no wait for what does not exist).
        assert_eq!(authorizer.catalog_position_of("users/a", &stated), 0);
        // bob's call to the catalog answered at 42: bob's next calls are decided at 42 at least.
        authorizer.observe_catalog_response("users/bob", &headers(CATALOG_SEQUENCE_HEADER, 42));
        assert_eq!(authorizer.catalog_position_of("users/bob", &none), 42);
        assert_eq!(authorizer.catalog_position_of("users/a", &none), 0);
        // Another caller handed that position decides at it; more is capped at what was seen.
        assert_eq!(authorizer.catalog_position_of("users/a", &stated), 42);
        assert_eq!(
            authorizer.catalog_position_of("users/a", &headers(MIN_CATALOG_SEQUENCE_HEADER, 7)),
            7
        );
        assert_eq!(
            authorizer.catalog_position_of("users/a", &headers(MIN_CATALOG_SEQUENCE_HEADER, -5)),
            0
        );
    }
}
