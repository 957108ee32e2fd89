//! Grants (Lake Formation model): permissions on a catalog resource, or on every resource
//! matching a tag expression, to a principal, optionally restricted by a data filter on one
//! asset. Only an administrator, an owner of the resource, or a holder of each permission with
//! grant option (or of MANAGE_GRANTS) on it may grant or revoke.

use weft_proto::weft::common::v1::{DataFilter, Permission, RowFilter};
use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, validate};
use weft_storage::resources::{self, Edit};

use super::row_filter::{self, FilterError};
use super::{Governance, Indexed, list_filtered};
use crate::access::nodes::NodeKind;
use crate::access::{AccessIndex, tags};
use weft_runtime::Caller;

/// Most clauses of a tag expression, and values of one clause.
const MAX_CLAUSES: usize = 20;
const MAX_VALUES: usize = 100;
/// Most columns a data filter lists.
const MAX_FILTER_COLUMNS: usize = 1_000;

fn permission_name(permission: i32) -> String {
    Permission::try_from(permission)
        .map(|p| weft_proto::permission_name(p).to_string())
        .unwrap_or_else(|_| permission.to_string())
}

fn validate_tag_expression(errors: &mut FieldErrors, expression: &TagExpression) {
    let field = "grant.tag_expression";
    if expression.clauses.is_empty() {
        errors.add(format!("{field}.clauses"), "needs at least one clause");
    }
    if expression.clauses.len() > MAX_CLAUSES {
        errors.add(
            format!("{field}.clauses"),
            format!("must have at most {MAX_CLAUSES} clauses"),
        );
    }
    for (index, clause) in expression.clauses.iter().enumerate() {
        let clause_field = format!("{field}.clauses[{index}]");
        validate::resource_id(errors, &format!("{clause_field}.key"), &clause.key);
        if clause.values.len() > MAX_VALUES {
            errors.add(
                format!("{clause_field}.values"),
                format!("must list at most {MAX_VALUES} values"),
            );
        }
        if clause.values.iter().any(|v| v.is_empty() || v.len() > 256) {
            errors.add(
                format!("{clause_field}.values"),
                "values must be 1-256 characters",
            );
        }
        if expression.clauses[..index]
            .iter()
            .any(|c| c.key == clause.key)
        {
            errors.add(
                format!("{clause_field}.key"),
                "each key may appear in one clause only",
            );
        }
    }
}

/// Checks a data filter (reported under `field`) against the schema of asset `resource` and
/// returns it normalized (the row filter both as tree and as text).
pub(crate) fn check_data_filter(
    index: &AccessIndex,
    errors: &mut FieldErrors,
    field: &str,
    resource: Option<&str>,
    filter: &DataFilter,
) -> Option<DataFilter> {
    let node = resource.and_then(|resource| index.node(resource));
    let Some(node) = node.filter(|node| node.kind == NodeKind::Asset) else {
        errors.add(field, "a data filter applies to one asset");
        return None;
    };
    let resource = &node.name;
    if !filter.include_columns.is_empty() && !filter.exclude_columns.is_empty() {
        errors.add(field, "set include_columns or exclude_columns, not both");
    }
    for (list_field, columns) in [
        ("include_columns", &filter.include_columns),
        ("exclude_columns", &filter.exclude_columns),
    ] {
        if columns.len() > MAX_FILTER_COLUMNS {
            errors.add(
                format!("{field}.{list_field}"),
                format!("must list at most {MAX_FILTER_COLUMNS} columns"),
            );
            continue;
        }
        for (position, column) in columns.iter().enumerate() {
            if node.column_index.column_type(column).is_none() {
                errors.add(
                    format!("{field}.{list_field}[{position}]"),
                    format!("{resource} has no column '{column}'"),
                );
            }
        }
    }
    let report = |errors: &mut FieldErrors, name: &str, error: FilterError| {
        errors.add(format!("{field}.{name}"), error.to_string());
    };
    let checked = match (&filter.row_filter, filter.row_filter_text.trim()) {
        (Some(_), text) if !text.is_empty() => {
            errors.add(field, "set row_filter or row_filter_text, not both");
            None
        }
        (Some(tree), _) => match tree.expr.as_ref() {
            Some(expr) => match row_filter::check_tree(expr, &node.column_index) {
                Ok(checked) => Some(checked),
                Err(error) => {
                    report(errors, "row_filter", error);
                    None
                }
            },
            None => {
                errors.add(format!("{field}.row_filter.expr"), "is required");
                None
            }
        },
        (None, "") => None,
        (None, text) => match row_filter::check_text(text, &node.column_index) {
            Ok(checked) => Some(checked),
            Err(error) => {
                report(errors, "row_filter_text", error);
                None
            }
        },
    };
    let (row_filter, row_filter_text) = match checked {
        Some((expr, text)) => (Some(RowFilter { expr: Some(expr) }), text),
        None => (None, String::new()),
    };
    Some(DataFilter {
        include_columns: filter.include_columns.clone(),
        exclude_columns: filter.exclude_columns.clone(),
        row_filter,
        row_filter_text,
    })
}

impl Governance {
    /// PERMISSION_DENIED unless `subject` may grant (or revoke) `permissions` on `target`.
    pub(crate) fn require_grant_rights(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        grant: &Grant,
    ) -> Result<(), ApiError> {
        if caller.is_admin {
            return Ok(());
        }
        // Granting is managing: a project's rights are granted by its OWNERs only.
        let acting: Vec<_> = index
            .memberships()
            .acting_as(caller.subject(), &caller.principal.groups)
            .into_iter()
            .filter(|acting| acting.may_manage())
            .collect();
        // What the grant is on; a resource the projection does not know (yet, or at all) is
        // judged by its nearest known ancestor, so that only those with rights there learn
        // (from NOT_FOUND afterwards) that it does not exist.
        let target = match &grant.target {
            Some(grant::Target::Resource(resource)) => index
                .nearest_known(resource)
                .and_then(|known| index.target(known)),
            _ => None,
        };
        let held = |permission: i32| -> bool {
            acting.iter().any(|principal| {
                index.grants_of(&principal.principal).iter().any(|held| {
                    let rights = (held.grant_option && held.permissions.contains(&permission))
                        || held
                            .permissions
                            .contains(&(Permission::ManageGrants as i32));
                    rights
                        && match (&held.target, &grant.target) {
                            (
                                Some(grant::Target::Resource(on)),
                                Some(grant::Target::Resource(_)),
                            ) => target
                                .as_ref()
                                .is_some_and(|target| target.names().any(|name| name == on)),
                            (
                                Some(grant::Target::TagExpression(on)),
                                Some(grant::Target::TagExpression(wanted)),
                            ) => tags::implies(wanted, on),
                            (
                                Some(grant::Target::TagExpression(on)),
                                Some(grant::Target::Resource(_)),
                            ) => target.as_ref().is_some_and(|target| {
                                tags::matches(on, target.tags().iter().map(String::as_str))
                            }),
                            _ => false,
                        }
                })
            })
        };
        if let Some(target) = &target
            && target.chain.iter().any(|node| {
                node.owners
                    .iter()
                    .any(|owner| acting.iter().any(|a| &a.principal == owner))
            })
        {
            return Ok(());
        }
        // A grant of nothing asks for no right: it is judged as managing grants, so that the
        // caller's answer does not depend on whether the resource exists.
        let wanted: &[i32] = if grant.permissions.is_empty() {
            &[Permission::ManageGrants as i32]
        } else {
            &grant.permissions
        };
        let missing: Vec<String> = wanted
            .iter()
            .filter(|permission| !held(**permission))
            .map(|permission| permission_name(*permission))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ApiError::PermissionDenied(format!(
            "{} may not grant {} on {}: it needs them with grant option (or MANAGE_GRANTS), ownership, or administrator rights",
            caller.subject(),
            missing.join(", "),
            crate::access::grant_target(grant)
        )))
    }

    pub async fn create_grant(
        &self,
        caller: &Caller,
        request: CreateGrantRequest,
    ) -> Result<Grant, ApiError> {
        let Some(input) = request.grant.clone() else {
            return Err(ApiError::invalid("grant", "is required"));
        };
        let mut errors = FieldErrors::new();
        validate::principal(&mut errors, "grant.principal", &input.principal);
        if input.permissions.is_empty() {
            errors.add("grant.permissions", "needs at least one permission");
        }
        for (index, permission) in input.permissions.iter().enumerate() {
            if matches!(
                Permission::try_from(*permission),
                Err(_) | Ok(Permission::Unspecified)
            ) {
                errors.add(
                    format!("grant.permissions[{index}]"),
                    "must be DESCRIBE, SELECT, INSERT, UPDATE, DELETE, ALTER, DROP or MANAGE_GRANTS",
                );
            }
        }
        let mut permissions = input.permissions.clone();
        permissions.sort();
        permissions.dedup();
        if permissions.len() != input.permissions.len() {
            errors.add("grant.permissions", "must not repeat a permission");
        }
        let grant = {
            let index = self.engine().index();
            let mut grant = Grant {
                name: format!("grants/{}", uuid::Uuid::now_v7()),
                principal: input.principal,
                target: input.target,
                permissions,
                grant_option: input.grant_option,
                data_filter: None,
                state: GrantState::Active as i32,
                granted_by: caller.subject().to_string(),
                subscription: String::new(),
                create_time: None,
                etag: String::new(),
            };
            // A tag expression's shape (its sizes bound the work of matching it) reveals
            // nothing; it is checked first.
            if let Some(grant::Target::TagExpression(expression)) = &grant.target {
                validate_tag_expression(&mut errors, expression);
                errors.into_result()?;
                errors = FieldErrors::new();
            }
            // Authorized before the target and the filter are looked at: a caller without the
            // right to grant learns nothing of the resource (whether it exists, its columns).
            if grant.target.is_some() {
                self.require_grant_rights(&index, caller, &grant)?;
            }
            if grant.principal.starts_with("projects/")
                && !index.memberships().has_project(&grant.principal)
            {
                errors.add(
                    "grant.principal",
                    format!("{} does not exist", grant.principal),
                );
            }
            match &grant.target {
                None => errors.add("grant.target", "set resource or tag_expression"),
                Some(grant::Target::TagExpression(_)) => {}
                Some(grant::Target::Resource(resource)) => {
                    if resource.is_empty() {
                        errors.add("grant.resource", "is required");
                    } else if resource.contains('#') {
                        errors.add(
                            "grant.resource",
                            "grant on the asset; restrict columns with a data filter",
                        );
                    } else if index.node(resource).is_none() {
                        return Err(ApiError::not_found(resource.clone()));
                    }
                }
            }
            grant.data_filter = match &input.data_filter {
                Some(filter) if errors.is_empty() => {
                    let resource = match &grant.target {
                        Some(grant::Target::Resource(resource)) => Some(resource.as_str()),
                        _ => None,
                    };
                    check_data_filter(&index, &mut errors, "grant.data_filter", resource, filter)
                }
                _ => None,
            };
            errors.into_result()?;
            grant
        };
        let created = resources::create(
            self.store(),
            caller.subject(),
            "CreateGrant",
            &request.request_id,
            &request,
            move |_| Box::pin(async move { Ok(grant) }),
        )
        .await?;
        self.applied(created).await
    }

    /// The grant, if `subject` is a party to it (see `parties`); NOT_FOUND otherwise.
    pub async fn read_grant(&self, caller: &Caller, name: &str) -> Result<Grant, ApiError> {
        let grant = self.get_grant(name).await?;
        if self.may_read_grant(&self.engine().index(), caller, &grant) {
            return Ok(grant);
        }
        Err(ApiError::not_found(name))
    }

    pub(crate) async fn get_grant(&self, name: &str) -> Result<Grant, ApiError> {
        let mut errors = FieldErrors::new();
        if name.strip_prefix("grants/").is_none_or(str::is_empty) {
            errors.add("name", "must be a resource name of the form grants/{id}");
        }
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    /// The grants `subject` is a party to (a page may hold fewer than asked, AIP-158).
    pub async fn list_grants(
        &self,
        caller: &Caller,
        request: ListGrantsRequest,
    ) -> Result<ListGrantsResponse, ApiError> {
        let (mut grants, next_page_token) = list_filtered(
            self,
            "grants",
            &request.filter,
            &[
                ("principal", Indexed::Subject),
                ("resource", Indexed::Parent),
                ("state", Indexed::State),
            ],
            |value| {
                GrantState::from_str_name(&format!("GRANT_STATE_{value}"))
                    .or_else(|| GrantState::from_str_name(value))
                    .filter(|state| *state != GrantState::Unspecified)
                    .map(|state| state.as_str_name().to_string())
                    .ok_or_else(|| ApiError::invalid("filter", "state must be ACTIVE or REVOKED"))
            },
            request.page_size,
            &request.page_token,
        )
        .await?;
        {
            let index = self.engine().index();
            grants.retain(|grant: &Grant| self.may_read_grant(&index, caller, grant));
        }
        Ok(ListGrantsResponse {
            grants,
            next_page_token,
        })
    }

    /// Revokes a grant (the same rights as granting it); it is kept, REVOKED, for history.
    pub async fn revoke_grant(
        &self,
        caller: &Caller,
        request: RevokeGrantRequest,
    ) -> Result<Grant, ApiError> {
        let current = self.get_grant(&request.name).await?;
        if current.state() == GrantState::Revoked {
            return Err(ApiError::precondition(
                format!("{} is already revoked", current.name),
                vec![],
            ));
        }
        {
            let index = self.engine().index();
            self.require_grant_rights(&index, caller, &current)?;
        }
        let revoked = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("RevokeGrant", &request.name, &request.etag).verb("revoked"),
            |_, mut grant: Grant| {
                Box::pin(async move {
                    if grant.state() == GrantState::Revoked {
                        return Err(ApiError::precondition(
                            format!("{} is already revoked", grant.name),
                            vec![],
                        ));
                    }
                    grant.state = GrantState::Revoked as i32;
                    Ok(grant)
                })
            },
        )
        .await?;
        self.applied(revoked).await
    }
}
