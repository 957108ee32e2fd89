//! Subscriptions (DataZone's flow): a project's OWNER or CONTRIBUTOR requests a published product
//! (all or some assets, a justification, optionally a data filter on one asset); the SUBSCRIBE
//! rules run (BLOCK refuses, WARN is kept on the request); the product's owners or approvers
//! approve (optionally with their own filter) or reject, or the product approves automatically;
//! approval creates the subscription and one SELECT grant per asset to the project, in one
//! transaction. Cancelling or revoking the subscription revokes its grants. Each asset's
//! fulfilment stays GRANT_PENDING (REVOKE_PENDING) until provisioning applies it.

use prost_types::Timestamp;
use serde_json::{Value, json};
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, Violation};
use weft_storage::resources::{self, Edit};
use weft_storage::write::now;

use super::grants::check_data_filter;
use super::{Governance, Indexed, list_filtered};
use crate::access::AccessIndex;
use crate::access::nodes::NodeKind;
use weft_runtime::Caller;

/// What listings of requests and subscriptions filter on.
const SUBSCRIPTION_FIELDS: &[(&str, Indexed)] = &[
    ("project", Indexed::Subject),
    ("data_product", Indexed::Parent),
    ("state", Indexed::State),
];

/// Longest justification or comment.
const MAX_TEXT: usize = 2_000;

fn timestamp_now() -> Timestamp {
    weft_proto::time::timestamp(now())
}

fn state_name<E: std::fmt::Debug>(state: E) -> String {
    format!("{state:?}").to_uppercase()
}

/// FAILED_PRECONDITION: `name` is in `state`, not one the action allows.
fn wrong_state(name: &str, state: impl std::fmt::Debug, action: &str) -> ApiError {
    ApiError::precondition(
        format!("{name} is {} and cannot be {action}", state_name(state)),
        vec![Violation {
            kind: "STATE".to_string(),
            subject: name.to_string(),
            description: format!(
                "only a pending request (or an active subscription) can be {action}"
            ),
        }],
    )
}

/// The descriptor SUBSCRIBE rules see: the product and its assets as governance's projection
/// knows them (name, owners, tags, lifecycle; assets with their columns).
fn descriptor(index: &AccessIndex, product: &str) -> Value {
    let node = index.node(product);
    let assets: Vec<Value> = index
        .nodes_under(&format!("{product}/assets/"), None)
        .filter(|n| n.kind == NodeKind::Asset)
        .map(|asset| {
            let columns: Vec<Value> = asset
                .column_index
                .top_level()
                .map(|(name, kind, description)| {
                    json!({ "name": name, "type": kind, "description": description })
                })
                .collect();
            json!({ "name": asset.name, "tags": asset.tags, "schema": { "columns": columns } })
        })
        .collect();
    json!({
        "product": {
            "name": product,
            "owners": node.map(|n| n.owners.clone()).unwrap_or_default(),
            "tags": node.map(|n| n.tags.clone()).unwrap_or_default(),
            "lifecycle_state": node.map(|n| n.lifecycle.clone()).unwrap_or_default(),
        },
        "assets": assets,
    })
}

impl Governance {
    /// Whether `subject` may decide requests for `product`: an administrator, an owner of the
    /// product (or above it), or one of its approvers.
    pub(crate) fn may_approve(&self, index: &AccessIndex, caller: &Caller, product: &str) -> bool {
        if caller.is_admin {
            return true;
        }
        // Deciding requests is managing the product: a project that owns or approves it does
        // so through its OWNERs only.
        let acting: Vec<_> = index
            .memberships()
            .acting_as(caller.subject(), &caller.principal.groups)
            .into_iter()
            .filter(|acting| acting.may_manage())
            .collect();
        let Some(target) = index.target(product) else {
            return false;
        };
        let is = |principals: &[String]| {
            principals
                .iter()
                .any(|p| acting.iter().any(|a| &a.principal == p))
        };
        target.chain.iter().any(|node| is(&node.owners)) || is(&target.node().approvers)
    }

    /// Whether `subject` may act for `project` with at least `role` (OWNER is the strongest).
    fn has_project_role(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        project: &str,
        roles: &[ProjectRole],
    ) -> bool {
        caller.is_admin
            || index
                .memberships()
                .role_in(project, caller.subject(), &caller.principal.groups)
                .is_some_and(|role| roles.contains(&role))
    }

    pub async fn create_subscription_request(
        &self,
        caller: &Caller,
        request: CreateSubscriptionRequestRequest,
    ) -> Result<SubscriptionRequest, ApiError> {
        let input = request.subscription_request.clone().unwrap_or_default();
        let mut errors = FieldErrors::new();
        let field = |name: &str| format!("subscription_request.{name}");
        weft_runtime::validate::name(
            &mut errors,
            &field("project"),
            &input.project,
            &["projects"],
        );
        weft_runtime::validate::name(
            &mut errors,
            &field("data_product"),
            &input.data_product,
            &["domains", "dataProducts"],
        );
        if input.justification.trim().is_empty() {
            errors.add(field("justification"), "is required");
        } else if input.justification.chars().count() > MAX_TEXT {
            errors.add(
                field("justification"),
                format!("must be at most {MAX_TEXT} characters"),
            );
        }
        errors.into_result()?;
        let mut errors = FieldErrors::new();
        let (assets, requested_filter, descriptor) = {
            let index = self.engine().index();
            if !index.memberships().has_project(&input.project) {
                return Err(ApiError::not_found(input.project.clone()));
            }
            if !self.has_project_role(
                &index,
                caller,
                &input.project,
                &[ProjectRole::Owner, ProjectRole::Contributor],
            ) {
                return Err(ApiError::PermissionDenied(format!(
                    "only OWNERs and CONTRIBUTORs of {} may request subscriptions for it",
                    input.project
                )));
            }
            // A product the caller may not see is absent to it (a draft's existence, say).
            let Some(product) = index.node(&input.data_product).filter(|_| {
                index
                    .evaluate(caller, Permission::Describe, &input.data_product, false)
                    .allowed
            }) else {
                return Err(ApiError::not_found(input.data_product.clone()));
            };
            if product.lifecycle != "PUBLISHED" {
                return Err(ApiError::precondition(
                    format!("{} is not published", input.data_product),
                    vec![Violation {
                        kind: "NOT_PUBLISHED".to_string(),
                        subject: input.data_product.clone(),
                        description: "only published products can be subscribed to".to_string(),
                    }],
                ));
            }
            let available: Vec<String> = index
                .nodes_under(&format!("{}/assets/", input.data_product), None)
                .filter(|n| n.kind == NodeKind::Asset)
                .map(|n| n.name.to_string())
                .collect();
            let assets = if input.assets.is_empty() {
                available.clone()
            } else {
                for (position, asset) in input.assets.iter().enumerate() {
                    if !available.contains(asset) {
                        errors.add(
                            format!("subscription_request.assets[{position}]"),
                            format!("{asset} is not an asset of {}", input.data_product),
                        );
                    }
                }
                input.assets.clone()
            };
            if assets.is_empty() {
                errors.add(field("assets"), "the product has no assets");
            }
            let requested_filter = match &input.requested_filter {
                Some(filter) if assets.len() == 1 && errors.is_empty() => check_data_filter(
                    &index,
                    &mut errors,
                    &field("requested_filter"),
                    assets.first().map(String::as_str),
                    filter,
                ),
                Some(_) => {
                    errors.add(
                        field("requested_filter"),
                        "a data filter applies to one asset: request one asset",
                    );
                    None
                }
                None => None,
            };
            (
                assets,
                requested_filter,
                descriptor(&index, &input.data_product),
            )
        };
        errors.into_result()?;
        let mut pending = SubscriptionRequest {
            name: format!("subscriptionRequests/{}", uuid::Uuid::now_v7()),
            project: input.project.clone(),
            data_product: input.data_product.clone(),
            assets,
            justification: input.justification.clone(),
            requested_filter,
            state: SubscriptionRequestState::Pending as i32,
            requested_by: caller.subject().to_string(),
            ..Default::default()
        };
        let evaluation = self
            .evaluate_rules(EvaluateRulesRequest {
                action: RuleAction::Subscribe as i32,
                descriptor_json: descriptor.to_string(),
                request: Some(pending.clone()),
                domain: input
                    .data_product
                    .split_once("/dataProducts/")
                    .map(|(domain, _)| domain.to_string())
                    .unwrap_or_default(),
            })
            .await?;
        if evaluation.blocked {
            let violations = evaluation
                .violations
                .iter()
                .filter(|v| v.severity() == RuleSeverity::Block)
                .map(|v| Violation {
                    kind: "RULE_VIOLATION".to_string(),
                    subject: v.rule.clone(),
                    description: v.message.clone(),
                })
                .collect();
            return Err(ApiError::precondition(
                "the request breaks SUBSCRIBE rules",
                violations,
            ));
        }
        pending.warnings = evaluation.violations;
        let auto_approve = self
            .engine()
            .index()
            .node(&input.data_product)
            .is_some_and(|product| product.auto_approve);
        let created = resources::create(
            self.store(),
            caller.subject(),
            "CreateSubscriptionRequest",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(pending) }),
        )
        .await?;
        let created = self.applied(created).await?;
        // A retried create replays its first answer: approve only what is still pending now.
        let created = self.get_subscription_request(&created.name).await?;
        if auto_approve && created.state() == SubscriptionRequestState::Pending {
            let system = Caller::new("services/governance".to_string(), Vec::new(), true);
            return self
                .approve_subscription_request(
                    &system,
                    ApproveSubscriptionRequestRequest {
                        name: created.name.clone(),
                        approved_filter: None,
                        comment: "approved automatically by the product's subscription policy"
                            .into(),
                        etag: created.etag.clone(),
                    },
                )
                .await;
        }
        Ok(created)
    }

    /// The request, if `subject` is a party to it (see `parties`); NOT_FOUND otherwise.
    pub async fn read_subscription_request(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<SubscriptionRequest, ApiError> {
        let request = self.get_subscription_request(name).await?;
        if self.may_read_request(&self.engine().index(), caller, &request) {
            return Ok(request);
        }
        Err(ApiError::not_found(name))
    }

    pub(crate) async fn get_subscription_request(
        &self,
        name: &str,
    ) -> Result<SubscriptionRequest, ApiError> {
        if name
            .strip_prefix("subscriptionRequests/")
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid(
                "name",
                "must be subscriptionRequests/{id}",
            ));
        }
        resources::get(self.store().db(), name).await
    }

    /// The requests `subject` is a party to (a page may hold fewer than asked, AIP-158).
    pub async fn list_subscription_requests(
        &self,
        caller: &Caller,
        request: ListSubscriptionRequestsRequest,
    ) -> Result<ListSubscriptionRequestsResponse, ApiError> {
        let (mut subscription_requests, next_page_token) = list_filtered(
            self,
            "subscriptionRequests",
            &request.filter,
            SUBSCRIPTION_FIELDS,
            |state| {
                SubscriptionRequestState::from_str_name(&format!(
                    "SUBSCRIPTION_REQUEST_STATE_{state}"
                ))
                .map(|s| s.as_str_name().to_string())
                .ok_or_else(|| ApiError::invalid("filter", format!("'{state}' is not a state")))
            },
            request.page_size,
            &request.page_token,
        )
        .await?;
        {
            let index = self.engine().index();
            subscription_requests.retain(|request: &SubscriptionRequest| {
                self.may_read_request(&index, caller, request)
            });
        }
        Ok(ListSubscriptionRequestsResponse {
            subscription_requests,
            next_page_token,
        })
    }

    /// Approves a pending request: the subscription and a SELECT grant per asset to the project,
    /// in one transaction with the request's new state.
    pub async fn approve_subscription_request(
        &self,
        caller: &Caller,
        request: ApproveSubscriptionRequestRequest,
    ) -> Result<SubscriptionRequest, ApiError> {
        let current = self.get_subscription_request(&request.name).await?;
        let mut errors = FieldErrors::new();
        if request.comment.chars().count() > MAX_TEXT {
            errors.add("comment", format!("must be at most {MAX_TEXT} characters"));
        }
        let approved_filter = {
            let index = self.engine().index();
            if !self.may_approve(&index, caller, &current.data_product) {
                return Err(ApiError::PermissionDenied(format!(
                    "only owners and approvers of {} may decide its requests",
                    current.data_product
                )));
            }
            match &request.approved_filter {
                Some(filter) if current.assets.len() == 1 => check_data_filter(
                    &index,
                    &mut errors,
                    "approved_filter",
                    current.assets.first().map(String::as_str),
                    filter,
                ),
                Some(_) => {
                    errors.add("approved_filter", "a data filter applies to one asset");
                    None
                }
                None => current.requested_filter.clone(),
            }
        };
        errors.into_result()?;
        if current.state() != SubscriptionRequestState::Pending {
            return Err(wrong_state(&current.name, current.state(), "approved"));
        }
        resources::check_etag(&current.name, &request.etag, &current.etag)?;
        let txn = self.store().begin_write(caller.subject()).await?;
        let stored: SubscriptionRequest = resources::get(txn.conn(), &current.name).await?;
        if stored.state() != SubscriptionRequestState::Pending {
            return Err(wrong_state(&stored.name, stored.state(), "approved"));
        }
        let subscription_name = format!("subscriptions/{}", uuid::Uuid::now_v7());
        let mut changes = Vec::new();
        let mut fulfilment = Vec::new();
        for asset in &stored.assets {
            let grant = Grant {
                name: format!("grants/{}", uuid::Uuid::now_v7()),
                principal: stored.project.clone(),
                target: Some(grant::Target::Resource(asset.clone())),
                permissions: vec![Permission::Select as i32],
                grant_option: false,
                data_filter: approved_filter.clone(),
                state: GrantState::Active as i32,
                granted_by: caller.subject().to_string(),
                subscription: subscription_name.clone(),
                create_time: None,
                etag: String::new(),
            };
            let grant = resources::insert(txn.conn(), &grant).await?;
            changes.push(resources::change(
                "ApproveSubscriptionRequest",
                "created",
                &grant,
                json!({ "subscription_request": stored.name }),
            ));
            fulfilment.push(AssetFulfilment {
                asset: asset.clone(),
                grant: grant.name.clone(),
                state: FulfilmentState::GrantPending as i32,
                error: String::new(),
                update_time: Some(timestamp_now()),
            });
        }
        let subscription = Subscription {
            name: subscription_name.clone(),
            project: stored.project.clone(),
            data_product: stored.data_product.clone(),
            subscription_request: stored.name.clone(),
            state: SubscriptionState::Active as i32,
            data_filter: approved_filter,
            assets: fulfilment,
            ..Default::default()
        };
        let subscription = resources::insert(txn.conn(), &subscription).await?;
        changes.push(resources::change(
            "ApproveSubscriptionRequest",
            "created",
            &subscription,
            json!({ "subscription_request": stored.name }),
        ));
        let revision: i64 = stored.etag.parse().unwrap_or_default();
        let approved = SubscriptionRequest {
            state: SubscriptionRequestState::Approved as i32,
            decided_by: caller.subject().to_string(),
            decision_comment: request.comment.clone(),
            subscription: subscription_name,
            update_time: Some(timestamp_now()),
            ..stored
        };
        let approved = resources::update_row(txn.conn(), &approved, revision).await?;
        changes.push(resources::change(
            "ApproveSubscriptionRequest",
            "approved",
            &approved,
            json!({ "comment": request.comment }),
        ));
        txn.commit(changes).await?;
        self.applied(approved).await
    }

    /// Rejects (an owner or approver) or cancels (the requester, a project OWNER) a pending
    /// request.
    async fn close_request(
        &self,
        caller: &Caller,
        name: &str,
        etag: &str,
        comment: &str,
        cancel: bool,
    ) -> Result<SubscriptionRequest, ApiError> {
        let current = self.get_subscription_request(name).await?;
        if comment.chars().count() > MAX_TEXT {
            return Err(ApiError::invalid(
                "comment",
                format!("must be at most {MAX_TEXT} characters"),
            ));
        }
        {
            let index = self.engine().index();
            let allowed = if cancel {
                current.requested_by == caller.subject()
                    || self.has_project_role(
                        &index,
                        caller,
                        &current.project,
                        &[ProjectRole::Owner],
                    )
            } else {
                self.may_approve(&index, caller, &current.data_product)
            };
            if !allowed {
                return Err(ApiError::PermissionDenied(if cancel {
                    format!(
                        "only the requester or OWNERs of {} may cancel it",
                        current.project
                    )
                } else {
                    format!(
                        "only owners and approvers of {} may reject requests",
                        current.data_product
                    )
                }));
            }
        }
        let (method, verb, state) = if cancel {
            (
                "CancelSubscriptionRequest",
                "cancelled",
                SubscriptionRequestState::Cancelled,
            )
        } else {
            (
                "RejectSubscriptionRequest",
                "rejected",
                SubscriptionRequestState::Rejected,
            )
        };
        let decided_by = caller.subject().to_string();
        let comment = comment.to_string();
        let closed = resources::update(
            self.store(),
            caller.subject(),
            Edit::new(method, name, etag)
                .verb(verb)
                .detail(json!({ "comment": comment })),
            move |_, mut pending: SubscriptionRequest| {
                Box::pin(async move {
                    if pending.state() != SubscriptionRequestState::Pending {
                        return Err(wrong_state(&pending.name, pending.state(), verb));
                    }
                    pending.state = state as i32;
                    pending.decided_by = decided_by;
                    pending.decision_comment = comment;
                    pending.update_time = Some(timestamp_now());
                    Ok(pending)
                })
            },
        )
        .await?;
        self.applied(closed).await
    }

    pub async fn reject_subscription_request(
        &self,
        caller: &Caller,
        request: RejectSubscriptionRequestRequest,
    ) -> Result<SubscriptionRequest, ApiError> {
        self.close_request(
            caller,
            &request.name,
            &request.etag,
            &request.comment,
            false,
        )
        .await
    }

    pub async fn cancel_subscription_request(
        &self,
        caller: &Caller,
        request: CancelSubscriptionRequestRequest,
    ) -> Result<SubscriptionRequest, ApiError> {
        self.close_request(caller, &request.name, &request.etag, "", true)
            .await
    }

    /// The subscription, if `subject` is a party to it (see `parties`); NOT_FOUND otherwise.
    pub async fn read_subscription(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<Subscription, ApiError> {
        let subscription = self.get_subscription(name).await?;
        if self.may_read_subscription(&self.engine().index(), caller, &subscription) {
            return Ok(subscription);
        }
        Err(ApiError::not_found(name))
    }

    pub(crate) async fn get_subscription(&self, name: &str) -> Result<Subscription, ApiError> {
        if name
            .strip_prefix("subscriptions/")
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::invalid("name", "must be subscriptions/{id}"));
        }
        resources::get(self.store().db(), name).await
    }

    /// The subscriptions `subject` is a party to (a page may hold fewer than asked, AIP-158).
    pub async fn list_subscriptions(
        &self,
        caller: &Caller,
        request: ListSubscriptionsRequest,
    ) -> Result<ListSubscriptionsResponse, ApiError> {
        let (mut subscriptions, next_page_token) = list_filtered(
            self,
            "subscriptions",
            &request.filter,
            SUBSCRIPTION_FIELDS,
            |state| {
                SubscriptionState::from_str_name(&format!("SUBSCRIPTION_STATE_{state}"))
                    .map(|s| s.as_str_name().to_string())
                    .ok_or_else(|| ApiError::invalid("filter", format!("'{state}' is not a state")))
            },
            request.page_size,
            &request.page_token,
        )
        .await?;
        {
            let index = self.engine().index();
            subscriptions.retain(|subscription: &Subscription| {
                self.may_read_subscription(&index, caller, subscription)
            });
        }
        Ok(ListSubscriptionsResponse {
            subscriptions,
            next_page_token,
        })
    }

    /// Ends an active subscription (revoked by an owner, or cancelled by the project) and
    /// revokes its grants, in one transaction.
    async fn end_subscription(
        &self,
        caller: &Caller,
        name: &str,
        comment: &str,
        revoke: bool,
    ) -> Result<Subscription, ApiError> {
        let current = self.get_subscription(name).await?;
        {
            let index = self.engine().index();
            let allowed = if revoke {
                self.may_approve(&index, caller, &current.data_product)
            } else {
                self.has_project_role(
                    &index,
                    caller,
                    &current.project,
                    &[ProjectRole::Owner, ProjectRole::Contributor],
                )
            };
            if !allowed {
                return Err(ApiError::PermissionDenied(if revoke {
                    format!(
                        "only owners and approvers of {} may revoke its subscriptions",
                        current.data_product
                    )
                } else {
                    format!(
                        "only OWNERs and CONTRIBUTORs of {} may cancel its subscriptions",
                        current.project
                    )
                }));
            }
        }
        let (method, verb, state) = if revoke {
            ("RevokeSubscription", "revoked", SubscriptionState::Revoked)
        } else {
            (
                "CancelSubscription",
                "cancelled",
                SubscriptionState::Cancelled,
            )
        };
        let txn = self.store().begin_write(caller.subject()).await?;
        let stored: Subscription = resources::get(txn.conn(), name).await?;
        if stored.state() != SubscriptionState::Active {
            return Err(wrong_state(&stored.name, stored.state(), verb));
        }
        let mut changes = Vec::new();
        let mut ended = stored.clone();
        for fulfilment in &mut ended.assets {
            if let Some(mut grant) =
                resources::find::<Grant, _>(txn.conn(), &fulfilment.grant).await?
                && grant.state() == GrantState::Active
            {
                let revision: i64 = grant.etag.parse().unwrap_or_default();
                grant.state = GrantState::Revoked as i32;
                let grant = resources::update_row(txn.conn(), &grant, revision).await?;
                changes.push(resources::change(
                    method,
                    "revoked",
                    &grant,
                    json!({ "subscription": name }),
                ));
            }
            fulfilment.state = FulfilmentState::RevokePending as i32;
            fulfilment.update_time = Some(timestamp_now());
        }
        ended.state = state as i32;
        ended.update_time = Some(timestamp_now());
        let revision: i64 = stored.etag.parse().unwrap_or_default();
        let ended = resources::update_row(txn.conn(), &ended, revision).await?;
        changes.push(resources::change(
            method,
            verb,
            &ended,
            json!({ "comment": comment }),
        ));
        txn.commit(changes).await?;
        self.applied(ended).await
    }

    pub async fn revoke_subscription(
        &self,
        caller: &Caller,
        request: RevokeSubscriptionRequest,
    ) -> Result<Subscription, ApiError> {
        self.end_subscription(caller, &request.name, &request.comment, true)
            .await
    }

    pub async fn cancel_subscription(
        &self,
        caller: &Caller,
        request: CancelSubscriptionRequest,
    ) -> Result<Subscription, ApiError> {
        self.end_subscription(caller, &request.name, "", false)
            .await
    }
}
