//! Decisions: whether a subject holds a permission on a resource, and why; for data permissions
//! on an asset, the columns and rows it may use (Lake Formation's union of what each permitting
//! grant allows).

use std::cell::OnceCell;
use std::collections::BTreeSet;

use weft_proto::packed_strs::PackedStrs;
use weft_proto::weft::common::v1::{DataFilter, Expr, ExprList, Permission, expr};
use weft_proto::weft::governance::v1::{Grant, grant};

use super::memberships::Acting;
use super::nodes::{NodeKind, is_within};
use super::{AccessIndex, Target, grant_target, tags};
use weft_runtime::Caller;

/// Which part of an asset a source allows.
#[derive(Debug, Clone, PartialEq)]
pub enum Coverage {
    None,
    /// Every column, with this row filter (`None`: every row).
    All(Option<Expr>),
    /// These columns, with this row filter.
    Columns(BTreeSet<String>, Option<Expr>),
    /// Some columns, not worked out: the question was a decision, not an explanation.
    Some,
}

impl Coverage {
    /// `Some` when a source allows some columns (not worked out), else `None`.
    fn some_if(allows_some: bool) -> Self {
        if allows_some { Self::Some } else { Self::None }
    }
}

/// One grant, ownership or policy that took part in a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    /// "grants/…", "policies/…", "owner:<resource>" or "administrator".
    pub source: String,
    pub permits: bool,
    pub detail: String,
}

/// A decision with the factors that made it.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub allowed: bool,
    pub reason: String,
    pub factors: Vec<Factor>,
    /// For an asset: the columns allowed (every column path when unrestricted).
    pub columns: Vec<String>,
    /// For an asset: the rows allowed (`None`: every row).
    pub row_filter: Option<Expr>,
    /// For an asset, explained: the columns left out of `columns` because Check on them is
    /// denied, with what denies it (a guardrail's statement, usually).
    pub column_denials: Vec<ColumnDenial>,
}

/// A column of an allowed asset that the subject may still not use.
#[derive(Debug, Clone)]
pub struct ColumnDenial {
    pub column: String,
    /// The forbidding factor's source ("policies/…"), or "" when nothing covers the column.
    pub source: String,
    pub reason: String,
}

/// Whether `permission` is a data permission (column and row filters restrict it).
pub fn is_data_permission(permission: Permission) -> bool {
    matches!(
        permission,
        Permission::Select | Permission::Insert | Permission::Update | Permission::Delete
    )
}

fn grants_permission(grant: &Grant, permission: Permission) -> bool {
    // Any permission on a resource lets its holder see it.
    permission == Permission::Describe || grant.permissions.contains(&(permission as i32))
}

/// Whether a data filter leaves the column at `path` readable.
fn column_allowed(filter: &DataFilter, path: &str) -> bool {
    if !filter.include_columns.is_empty() {
        filter.include_columns.iter().any(|c| is_within(path, c))
    } else {
        !filter.exclude_columns.iter().any(|c| is_within(path, c))
    }
}

/// The columns of `asset` a data filter leaves readable.
pub(super) fn filtered_columns(filter: &DataFilter, all: &PackedStrs) -> BTreeSet<String> {
    all.iter()
        .filter(|path| column_allowed(filter, path))
        .map(str::to_string)
        .collect()
}

impl AccessIndex {
    /// What `grant` allows of `target` for `permission`; `inherited` are the target's own and
    /// inherited tags, read when a tag-based grant first needs them. Without `detail` (a
    /// decision, not an explanation) which columns of an asset a grant allows is not worked
    /// out, only whether it allows some.
    fn coverage(
        &self,
        grant: &Grant,
        permission: Permission,
        target: &Target<'_>,
        inherited: &OnceCell<Vec<String>>,
        detail: bool,
    ) -> Coverage {
        if !grants_permission(grant, permission) {
            return Coverage::None;
        }
        let row_filter = || {
            grant
                .data_filter
                .as_ref()
                .and_then(|filter| filter.row_filter.as_ref())
                .and_then(|row| row.expr.clone())
        };
        match &grant.target {
            Some(grant::Target::Resource(resource)) => {
                if !target.names().any(|name| name == resource) {
                    return Coverage::None;
                }
                let Some(filter) = &grant.data_filter else {
                    return Coverage::All(None);
                };
                let has_columns =
                    !filter.include_columns.is_empty() || !filter.exclude_columns.is_empty();
                let node = target.node();
                if !has_columns || node.kind != NodeKind::Asset {
                    return Coverage::All(row_filter());
                }
                match target.column {
                    Some(column) if column_allowed(filter, column) => Coverage::All(row_filter()),
                    Some(_) => Coverage::None,
                    None if !detail => Coverage::some_if(
                        node.column_paths()
                            .iter()
                            .any(|p| column_allowed(filter, p)),
                    ),
                    None => match filtered_columns(filter, node.column_paths()) {
                        columns if columns.is_empty() => Coverage::None,
                        columns => Coverage::Columns(columns, row_filter()),
                    },
                }
            }
            Some(grant::Target::TagExpression(expression)) => {
                let inherited = inherited.get_or_init(|| target.tags());
                if tags::matches(expression, inherited.iter().map(String::as_str)) {
                    return Coverage::All(None);
                }
                let node = target.node();
                if target.column.is_some() || node.kind != NodeKind::Asset {
                    return Coverage::None;
                }
                // Columns whose own tags complete the match (only a tagged column, or a field
                // of one, has tags the asset has not).
                let completes = |path: &&str| {
                    let mut extra = node
                        .column_tags()
                        .filter(|(tagged, _)| is_within(path, tagged))
                        .flat_map(|(_, tags)| tags.iter())
                        .peekable();
                    extra.peek().is_some()
                        && tags::matches(
                            expression,
                            inherited.iter().map(String::as_str).chain(extra),
                        )
                };
                if !detail {
                    return Coverage::some_if(node.column_paths().iter().any(|p| completes(&p)));
                }
                let columns: BTreeSet<String> = node
                    .column_paths()
                    .iter()
                    .filter(completes)
                    .map(str::to_string)
                    .collect();
                if columns.is_empty() {
                    Coverage::None
                } else {
                    Coverage::Columns(columns, None)
                }
            }
            None => Coverage::None,
        }
    }

    /// The owner among `acting` of the target or one of its ancestors, if any.
    /// The nearest resource of the chain owned by a principal the subject acts as, and whose
    /// ownership lets the subject use `permission` (a project's VIEWER only describes).
    fn owner_of<'a>(
        &'a self,
        acting: &[Acting],
        permission: Permission,
        target: &Target<'a>,
    ) -> Option<&'a str> {
        target
            .chain
            .iter()
            .find(|node| {
                node.owners.iter().any(|owner| {
                    acting
                        .iter()
                        .any(|a| &a.principal == owner && a.may_use(permission))
                })
            })
            .map(|node| &*node.name)
    }

    /// Decides (subject, permission, resource). With `explain`, every factor is collected and,
    /// for an asset, the allowed columns and rows; without, the first permit decides (then
    /// only forbids are looked for).
    pub fn evaluate(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
        explain: bool,
    ) -> Evaluation {
        self.evaluate_as(caller, permission, resource, explain, true)
    }

    /// Decides on a resource the projection does not know (yet) inside `ancestor`: what holds on
    /// the ancestor covers it, but not the ancestor's visibility to everyone (a draft product
    /// created a moment ago is not visible to all because its domain is).
    pub fn evaluate_inside(
        &self,
        caller: &Caller,
        permission: Permission,
        ancestor: &str,
    ) -> Evaluation {
        self.evaluate_as(caller, permission, ancestor, false, false)
    }

    fn evaluate_as(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
        explain: bool,
        visible_to_all: bool,
    ) -> Evaluation {
        let Some(target) = self.target(resource) else {
            // Worded as a refusal of an existing resource: a caller must not tell a hidden
            // resource from an absent one by the reason (AIP-211).
            return Evaluation {
                reason: nothing_gives(caller, permission, resource),
                ..Default::default()
            };
        };
        let acting = self
            .memberships()
            .acting_as(caller.subject(), &caller.principal.groups);
        let inherited = OnceCell::new();
        let grant_tags = OnceCell::new();
        let mut evaluation = Evaluation::default();
        let mut coverages: Vec<Coverage> = Vec::new();

        if caller.is_admin {
            evaluation.factors.push(Factor {
                source: "administrator".to_string(),
                permits: true,
                detail: format!("{} is an administrator", caller.subject()),
            });
            coverages.push(Coverage::All(None));
        }
        if (explain || coverages.is_empty())
            && let Some(owned) = self.owner_of(&acting, permission, &target)
        {
            evaluation.factors.push(Factor {
                source: format!("owner:{owned}"),
                permits: true,
                detail: format!("owners of {owned} hold every permission on it"),
            });
            coverages.push(Coverage::All(None));
        }
        if permission == Permission::Describe
            && visible_to_all
            && (explain || coverages.is_empty())
            && let Some(visible) = discoverable(&target)
        {
            evaluation.factors.push(Factor {
                source: format!("discoverable:{visible}"),
                permits: true,
                detail: "domains, and published data products with their assets, are visible \
                         to every principal"
                    .to_string(),
            });
            coverages.push(Coverage::All(None));
        }
        'grants: for principal in &acting {
            if !principal.may_use(permission) {
                continue;
            }
            for grant in self.candidate_grants(&principal.principal, &target, &grant_tags) {
                if !explain && !coverages.is_empty() {
                    break 'grants;
                }
                let coverage = self.coverage(grant, permission, &target, &inherited, explain);
                if coverage == Coverage::None {
                    continue;
                }
                evaluation.factors.push(Factor {
                    source: grant.name.clone(),
                    permits: true,
                    detail: format!("grant to {} on {}", grant.principal, grant_target(grant)),
                });
                coverages.push(coverage);
            }
        }
        let outcome = self
            .guardrails()
            .evaluate(self, &acting, permission, &target);
        for policy in &outcome.permits {
            evaluation.factors.push(Factor {
                source: policy.clone(),
                permits: true,
                detail: "guardrail permits".to_string(),
            });
            coverages.push(Coverage::All(None));
        }
        for policy in &outcome.forbids {
            evaluation.factors.push(Factor {
                source: policy.clone(),
                permits: false,
                detail: "guardrail forbids".to_string(),
            });
        }

        let forbidden = evaluation.factors.iter().find(|f| !f.permits);
        let permitted = evaluation.factors.iter().find(|f| f.permits);
        (evaluation.allowed, evaluation.reason) = match (forbidden, permitted) {
            (Some(forbid), _) => (false, format!("forbidden by {}", forbid.source)),
            (None, Some(permit)) => (true, describe_permit(&permit.source)),
            (None, None) => (false, nothing_gives(caller, permission, resource)),
        };
        if explain && evaluation.allowed && target.column.is_none() {
            let node = target.node();
            if node.kind == NodeKind::Asset {
                let (columns, row_filter) = union(&coverages, node.column_paths());
                // A column is effective when the decision on that column allows it, so that
                // ExplainAccess and Check agree by construction (a guardrail on Column
                // entities forbids some columns of an allowed asset).
                for column in columns {
                    let on_column = self.evaluate_as(
                        caller,
                        permission,
                        &format!("{}#{column}", node.name),
                        false,
                        visible_to_all,
                    );
                    if on_column.allowed {
                        evaluation.columns.push(column);
                        continue;
                    }
                    let source = on_column
                        .factors
                        .iter()
                        .find(|factor| !factor.permits)
                        .map(|factor| factor.source.clone())
                        .unwrap_or_default();
                    evaluation.column_denials.push(ColumnDenial {
                        column,
                        source,
                        reason: on_column.reason,
                    });
                }
                evaluation.row_filter = row_filter;
            }
        }
        evaluation
    }
}

/// What makes the target visible to everyone, if anything: a domain (the mesh's structure is
/// its members' to see), or a published or deprecated data product, the marketplace consumers
/// search and request access from. Guardrails can still forbid.
fn discoverable<'a>(target: &Target<'a>) -> Option<&'a str> {
    let node = target.node();
    if node.kind == NodeKind::Domain {
        return Some(&*node.name);
    }
    target
        .chain
        .iter()
        .find(|node| node.kind == NodeKind::DataProduct)
        .filter(|product| matches!(product.lifecycle.as_str(), "PUBLISHED" | "DEPRECATED"))
        .map(|product| &*product.name)
}

/// The reason of a refusal that nothing permits.
fn nothing_gives(caller: &Caller, permission: Permission, resource: &str) -> String {
    format!(
        "no grant, ownership or guardrail gives {} {} on {resource}",
        caller.subject(),
        weft_proto::permission_name(permission)
    )
}

fn describe_permit(source: &str) -> String {
    if let Some(resource) = source.strip_prefix("owner:") {
        format!("owner of {resource}")
    } else if let Some(resource) = source.strip_prefix("discoverable:") {
        format!("{resource} is visible to every principal")
    } else if source.starts_with("grants/") {
        format!("grant {source}")
    } else if source.starts_with("policies/") {
        format!("permitted by {source}")
    } else {
        source.to_string()
    }
}

/// Lake Formation's union: every column some source allows, and the rows any source allows
/// (a source without a row filter allows every row).
fn union(coverages: &[Coverage], all_columns: &PackedStrs) -> (Vec<String>, Option<Expr>) {
    let mut columns: BTreeSet<String> = BTreeSet::new();
    let mut filters: Vec<Expr> = Vec::new();
    let mut every_row = false;
    for coverage in coverages {
        let row_filter = match coverage {
            // Only decisions leave columns unworked out, and only explanations get here.
            Coverage::None | Coverage::Some => continue,
            Coverage::All(row_filter) => {
                columns.extend(all_columns.iter().map(str::to_string));
                row_filter
            }
            Coverage::Columns(allowed, row_filter) => {
                columns.extend(allowed.iter().cloned());
                row_filter
            }
        };
        match row_filter {
            None => every_row = true,
            Some(filter) if !filters.contains(filter) => filters.push(filter.clone()),
            Some(_) => {}
        }
    }
    let ordered: Vec<String> = all_columns
        .iter()
        .filter(|path| columns.contains(*path))
        .map(str::to_string)
        .collect();
    let row_filter = match (every_row, filters.len()) {
        (true, _) | (false, 0) => None,
        (false, 1) => filters.pop(),
        (false, _) => Some(Expr {
            kind: Some(expr::Kind::Or(ExprList { exprs: filters })),
        }),
    };
    (ordered, row_filter)
}
