//! Access decisions over the in-memory index: Check, BatchCheck, ExplainAccess,
//! ListEffectivePermissions and WhoHasAccess. A caller asks about itself; only administrators
//! ask about other principals.

use std::collections::BTreeMap;

use weft_proto::weft::common::v1::{Permission, RowFilter};
use weft_proto::weft::governance::v1::*;
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, FieldErrors};

use super::Governance;
use super::row_filter;
use crate::access::AccessIndex;
use crate::access::decision::Evaluation;
use crate::decision_log::DecisionLog;
use weft_runtime::Caller;

/// Most questions of one BatchCheck (and of one ExplainAccessForService).
pub const MAX_BATCH: usize = 1_000;

/// Every permission, in enum order.
const PERMISSIONS: [Permission; 8] = [
    Permission::Describe,
    Permission::Select,
    Permission::Insert,
    Permission::Update,
    Permission::Delete,
    Permission::Alter,
    Permission::Drop,
    Permission::ManageGrants,
];

fn validate_query(errors: &mut FieldErrors, field: &str, query: &AccessQuery) -> Permission {
    if query.resource.is_empty() {
        errors.add(format!("{field}.resource"), "is required");
    }
    match Permission::try_from(query.permission) {
        Ok(Permission::Unspecified) | Err(_) => {
            errors.add(format!("{field}.permission"), "is required");
            Permission::Unspecified
        }
        Ok(permission) => permission,
    }
}

/// Who a question is about: the caller itself, or (administrators only) another principal,
/// with the groups governance knows for it.
fn subject_of(caller: &Caller, principal: &str, field: &str) -> Result<Caller, ApiError> {
    if principal.is_empty() || principal == caller.subject() {
        return Ok(caller.clone());
    }
    if !caller.is_admin {
        return Err(ApiError::PermissionDenied(format!(
            "only administrators may ask about another principal ({field})"
        )));
    }
    let mut errors = FieldErrors::new();
    weft_runtime::validate::principal(&mut errors, field, principal);
    errors.into_result()?;
    Ok(Caller::new(principal.to_string(), Vec::new(), false))
}

/// Decides one question and records it in the decision audit (data permissions, sampled).
fn decide(
    index: &AccessIndex,
    log: &DecisionLog,
    asker: &str,
    caller: &Caller,
    permission: Permission,
    resource: &str,
) -> AccessDecision {
    record(
        log,
        asker,
        caller,
        permission,
        resource,
        index.evaluate(caller, permission, resource, false),
    )
}

fn record(
    log: &DecisionLog,
    asker: &str,
    caller: &Caller,
    permission: Permission,
    resource: &str,
    evaluation: Evaluation,
) -> AccessDecision {
    log.record(
        asker,
        caller.subject(),
        permission,
        resource,
        evaluation.allowed,
        &evaluation.reason,
    );
    AccessDecision {
        allowed: evaluation.allowed,
        reason: evaluation.reason,
    }
}

impl Governance {
    pub fn check(&self, caller: &Caller, request: CheckRequest) -> Result<CheckResponse, ApiError> {
        self.check_on(&self.engine().index(), caller, request)
    }

    /// Check calls of several callers (gathered by the gateway), each decided and journaled as
    /// its own `check`, on one state of the index; with the sequence that state reflects.
    pub fn check_for_callers(
        &self,
        calls: Vec<(Caller, CheckRequest)>,
    ) -> Result<(Vec<Result<CheckResponse, ApiError>>, i64), ApiError> {
        if calls.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "checks",
                format!("must hold at most {MAX_BATCH} calls"),
            ));
        }
        let index_sequence = self.engine().index_sequence();
        let index = self.engine().index();
        let outcomes = calls
            .into_iter()
            .map(|(caller, request)| {
                if caller.subject().is_empty() {
                    return Err(ApiError::invalid(
                        "principal",
                        "is required (the caller the gateway authenticated)",
                    ));
                }
                self.check_on(&index, &caller, request)
            })
            .collect();
        Ok((outcomes, index_sequence))
    }

    fn check_on(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        request: CheckRequest,
    ) -> Result<CheckResponse, ApiError> {
        let query = request.query.unwrap_or_default();
        let mut errors = FieldErrors::new();
        let permission = validate_query(&mut errors, "query", &query);
        errors.into_result()?;
        let subject = subject_of(caller, &query.principal, "query.principal")?;
        let decision = decide(
            index,
            self.decision_log(),
            caller.subject(),
            &subject,
            permission,
            &query.resource,
        );
        Ok(CheckResponse {
            decision: Some(decision),
        })
    }

    /// Decides up to `MAX_BATCH` questions. `groups` (from the internal RPC) are the token's
    /// groups of the questions' principal as the gateway saw them.
    pub fn batch_check(
        &self,
        caller: &Caller,
        request: BatchCheckRequest,
    ) -> Result<BatchCheckResponse, ApiError> {
        if request.queries.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "queries",
                format!("must hold at most {MAX_BATCH} questions"),
            ));
        }
        let mut errors = FieldErrors::new();
        let mut questions = Vec::with_capacity(request.queries.len());
        for (position, query) in request.queries.iter().enumerate() {
            let field = format!("queries[{position}]");
            let permission = validate_query(&mut errors, &field, query);
            questions.push((permission, query));
        }
        errors.into_result()?;
        let index_sequence = self.engine().index_sequence();
        let catalog_sequence = self.engine().catalog_position();
        let index = self.engine().index();
        let mut decisions = Vec::with_capacity(questions.len());
        for (position, (permission, query)) in questions.into_iter().enumerate() {
            let subject = subject_of(
                caller,
                &query.principal,
                &format!("queries[{position}].principal"),
            )?;
            decisions.push(decide(
                &index,
                self.decision_log(),
                caller.subject(),
                &subject,
                permission,
                &query.resource,
            ));
        }
        Ok(BatchCheckResponse {
            decisions,
            index_sequence,
            catalog_sequence,
        })
    }

    /// BatchCheck for another Weft service (`asker`: the gateway's authorization, the catalog's
    /// visibility): each question names its principal, and `request.groups` are that
    /// principal's token groups.
    pub fn batch_check_for_service(
        &self,
        request: BatchCheckRequest,
        admin_group: &str,
        asker: &str,
    ) -> Result<BatchCheckResponse, ApiError> {
        if request.queries.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "queries",
                format!("must hold at most {MAX_BATCH} questions"),
            ));
        }
        let mut errors = FieldErrors::new();
        let mut questions = Vec::with_capacity(request.queries.len());
        for (position, query) in request.queries.iter().enumerate() {
            let field = format!("queries[{position}]");
            let permission = validate_query(&mut errors, &field, query);
            if query.principal.is_empty() {
                errors.add(format!("{field}.principal"), "is required");
            }
            questions.push((permission, query));
        }
        errors.into_result()?;
        let index_sequence = self.engine().index_sequence();
        let catalog_sequence = self.engine().catalog_position();
        let index = self.engine().index();
        let is_admin = request.groups.iter().any(|group| group == admin_group);
        let decisions = questions
            .into_iter()
            .map(|(permission, query)| {
                let subject =
                    Caller::new(query.principal.clone(), request.groups.clone(), is_admin);
                // A sub-resource, or a resource not projected yet, is decided on its nearest
                // known ancestor (a permission there covers everything inside it).
                let evaluation = match index.nearest_known(&query.resource) {
                    Some(known) if known != query.resource => {
                        index.evaluate_inside(&subject, permission, known)
                    }
                    _ => index.evaluate(&subject, permission, &query.resource, false),
                };
                record(
                    self.decision_log(),
                    asker,
                    &subject,
                    permission,
                    &query.resource,
                    evaluation,
                )
            })
            .collect();
        Ok(BatchCheckResponse {
            decisions,
            index_sequence,
            catalog_sequence,
        })
    }

    /// What `request.principal` (with its token's groups) may DESCRIBE, for another Weft
    /// service's filtering (the catalog's search counts).
    pub fn describe_scope_for_service(
        &self,
        request: DescribeScopeRequest,
        admin_group: &str,
    ) -> Result<DescribeScopeResponse, ApiError> {
        let mut errors = FieldErrors::new();
        weft_runtime::validate::principal(&mut errors, "principal", &request.principal);
        errors.into_result()?;
        let catalog_sequence = self.engine().catalog_position();
        let is_admin = request.groups.iter().any(|group| group == admin_group);
        let caller = Caller::new(request.principal, request.groups, is_admin);
        let scope = self.engine().index().describe_scope(&caller);
        Ok(DescribeScopeResponse {
            everything: scope.everything,
            principals: scope.principals,
            subtrees: scope.subtrees,
            resources: scope.resources,
            exact: scope.exact,
            catalog_sequence,
        })
    }

    pub fn explain_access(
        &self,
        caller: &Caller,
        request: ExplainAccessRequest,
    ) -> Result<ExplainAccessResponse, ApiError> {
        self.explain(caller, request, true)
    }

    /// ExplainAccess about any principal for provisioning's fulfilment, which asks it about
    /// every asset of its environments' data planes when grants change: not decisions a caller
    /// acts on, so they are not put in the decision audit (what provisioning applies is
    /// reported and kept by it). Answers in the order asked.
    pub fn explain_access_for_service(
        &self,
        request: ExplainAccessForServiceRequest,
    ) -> Result<ExplainAccessForServiceResponse, ApiError> {
        if request.queries.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "queries",
                format!("must hold at most {MAX_BATCH} questions"),
            ));
        }
        // An empty principal would mean the asker, an administrator: every question names one.
        let mut errors = FieldErrors::new();
        for (index, query) in request.queries.iter().enumerate() {
            if query.principal.is_empty() {
                errors.add(format!("queries[{index}].principal"), "is required");
            }
        }
        errors.into_result()?;
        let asker = Caller::new("services/provisioning", Vec::new(), true);
        let explanations = request
            .queries
            .into_iter()
            .enumerate()
            .map(|(index, query)| {
                self.explain_query(&asker, &format!("queries[{index}]"), query, false)
            })
            .collect::<Result<_, _>>()?;
        Ok(ExplainAccessForServiceResponse { explanations })
    }

    fn explain(
        &self,
        caller: &Caller,
        request: ExplainAccessRequest,
        journal: bool,
    ) -> Result<ExplainAccessResponse, ApiError> {
        self.explain_query(caller, "query", request.query.unwrap_or_default(), journal)
    }

    /// Explains `query` (its fields named under `field` in errors).
    fn explain_query(
        &self,
        caller: &Caller,
        field: &str,
        query: AccessQuery,
        journal: bool,
    ) -> Result<ExplainAccessResponse, ApiError> {
        let mut errors = FieldErrors::new();
        let permission = validate_query(&mut errors, field, &query);
        errors.into_result()?;
        let subject = subject_of(caller, &query.principal, &format!("{field}.principal"))?;
        let evaluation =
            self.engine()
                .index()
                .evaluate(&subject, permission, &query.resource, true);
        if journal {
            self.decision_log().record(
                caller.subject(),
                caller.subject(),
                permission,
                &query.resource,
                evaluation.allowed,
                &evaluation.reason,
            );
        }
        let effective_row_filter_text = evaluation
            .row_filter
            .as_ref()
            .map(row_filter::render)
            .unwrap_or_default();
        Ok(ExplainAccessResponse {
            decision: Some(AccessDecision {
                allowed: evaluation.allowed,
                reason: evaluation.reason,
            }),
            factors: evaluation
                .factors
                .into_iter()
                .map(|factor| DecisionFactor {
                    source: factor.source,
                    permits: factor.permits,
                    detail: factor.detail,
                    column: String::new(),
                })
                .chain(
                    evaluation
                        .column_denials
                        .into_iter()
                        .map(|denial| DecisionFactor {
                            source: denial.source,
                            permits: false,
                            detail: format!("{} is denied: {}", denial.column, denial.reason),
                            column: denial.column,
                        }),
                )
                .collect(),
            effective_columns: evaluation.columns,
            effective_row_filter: evaluation
                .row_filter
                .map(|expr| RowFilter { expr: Some(expr) }),
            effective_row_filter_text,
        })
    }

    /// The permissions a principal holds on `resource` and every catalog resource under it, in
    /// name order; resources where it holds nothing are left out.
    pub fn list_effective_permissions(
        &self,
        caller: &Caller,
        request: ListEffectivePermissionsRequest,
    ) -> Result<ListEffectivePermissionsResponse, ApiError> {
        let subject = subject_of(caller, &request.principal, "principal")?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("effective?{}&{}", caller.subject(), request.resource),
        )?;
        let index = self.engine().index();
        if !request.resource.is_empty() && index.node(&request.resource).is_none() {
            return Err(ApiError::not_found(request.resource));
        }
        let mut permissions = Vec::new();
        for node in index.nodes_under(&request.resource, page.after.as_deref()) {
            if permissions.len() as u64 >= page.fetch_limit() {
                break;
            }
            // A prefix match is not containment: "domains/sales" vs "domains/salesforce".
            if !request.resource.is_empty()
                && *node.name != *request.resource
                && !node.name.starts_with(&format!("{}/", request.resource))
            {
                continue;
            }
            let mut held = Vec::new();
            let mut grantable = Vec::new();
            for permission in PERMISSIONS {
                let evaluation = index.evaluate(&subject, permission, &node.name, false);
                if evaluation.allowed {
                    held.push(permission as i32);
                }
            }
            if held.is_empty() {
                continue;
            }
            if index
                .evaluate(&subject, Permission::ManageGrants, &node.name, false)
                .allowed
            {
                grantable = held.clone();
            }
            permissions.push(EffectivePermission {
                resource: node.name.to_string(),
                permissions: held,
                grantable,
            });
        }
        let next_page_token = page.finish(&mut permissions, |p| &p.resource);
        Ok(ListEffectivePermissionsResponse {
            permissions,
            next_page_token,
        })
    }

    /// The principals holding permissions on `resource` directly (grantees and owners, as
    /// named: a group is listed, not expanded), in name order.
    pub fn who_has_access(
        &self,
        request: WhoHasAccessRequest,
    ) -> Result<WhoHasAccessResponse, ApiError> {
        let wanted = match Permission::try_from(request.permission) {
            Ok(Permission::Unspecified) => None,
            Ok(permission) => Some(permission),
            Err(_) => return Err(ApiError::invalid("permission", "is not a permission")),
        };
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("who?{}&{}", request.resource, request.permission),
        )?;
        let index = self.engine().index();
        let Some(target) = index.target(&request.resource) else {
            return Err(ApiError::not_found(request.resource));
        };
        let mut candidates: BTreeMap<&str, ()> = BTreeMap::new();
        for node in &target.chain {
            for owner in &node.owners {
                candidates.insert(owner, ());
            }
        }
        for grantee in index.grantees() {
            candidates.insert(grantee, ());
        }
        let mut holders = Vec::new();
        for principal in candidates.keys() {
            if page
                .after
                .as_deref()
                .is_some_and(|after| *principal <= after)
            {
                continue;
            }
            if holders.len() as u64 >= page.fetch_limit() {
                break;
            }
            let holder = Caller::new(principal.to_string(), Vec::new(), false);
            let mut held = Vec::new();
            let mut via: Vec<String> = Vec::new();
            for permission in PERMISSIONS {
                if wanted.is_some_and(|w| w != permission) {
                    continue;
                }
                let evaluation = index.evaluate(&holder, permission, &request.resource, true);
                if evaluation.allowed {
                    held.push(permission as i32);
                    for factor in evaluation.factors.into_iter().filter(|f| f.permits) {
                        if !via.contains(&factor.source) {
                            via.push(factor.source);
                        }
                    }
                }
            }
            if !held.is_empty() {
                holders.push(AccessHolder {
                    principal: principal.to_string(),
                    permissions: held,
                    via,
                });
            }
        }
        let next_page_token = page.finish(&mut holders, |h| &h.principal);
        Ok(WhoHasAccessResponse {
            holders,
            next_page_token,
        })
    }
}
