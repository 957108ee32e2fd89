//! Per-RPC authorization of the forwarded public RPCs: the rule declared next to each RPC in the
//! protos (`weft.common.v1.access`) says who may call it; a resource rule is decided by
//! governance (its internal BatchCheck) on the resource named in the request, through a cache
//! emptied by governance's event stream. Deny by default: an RPC without a rule, an unreachable
//! governance or a resource governance does not know is refused.

use std::sync::Arc;
use std::time::Duration;

use tonic::body::Body;
use tonic::transport::Channel;
use weft_proto::weft::common::v1::{Audience, Permission, WatchEventsRequest};
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{AccessQuery, BatchCheckRequest};
use weft_runtime::auth::INDEX_SEQUENCE_HEADER;
use weft_runtime::{ApiError, Caller, access_checks, validate};

use crate::access_rules::{AccessRule, AccessRules};
use crate::decision_cache::{Decision, DecisionCache, Question};
use crate::request_resource;

/// Wait before following governance's event stream again after it failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

pub struct Authorizer {
    rules: AccessRules,
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
        let decision = self.decide(&question).await?;
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

    async fn decide(&self, question: &Question) -> Result<Decision, ApiError> {
        if let Some(decision) = self.cache.get(question) {
            return Ok(decision);
        }
        let request = BatchCheckRequest {
            queries: vec![AccessQuery {
                principal: question.principal.clone(),
                permission: question.permission as i32,
                resource: question.resource.clone(),
            }],
            groups: question.groups.clone(),
        };
        let response = access_checks::batch_check(&self.governance, request, "access").await?;
        let answer = &response.decisions[0];
        let decision = Decision {
            allowed: answer.allowed,
            reason: answer.reason.clone(),
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

/// A permission's short name, e.g. "ALTER".
fn permission_name(permission: Permission) -> &'static str {
    permission.as_str_name().trim_start_matches("PERMISSION_")
}
