//! What of the catalog a subject may DESCRIBE, as lists the catalog's search index can filter on
//! before it counts (search's `total_size` and facets count only what the caller may see): the
//! principals it acts as (what they own is visible), the resources granted to them (visible
//! with everything inside) and single resources of column-restricted grants. Domains and
//! published products are every caller's and need no list. Whatever the lists can not say (a
//! tag-based grant, a guardrail that may decide DESCRIBE, a column filter on a grant above the
//! assets) makes the scope inexact, and the catalog then asks BatchCheck about each match.

use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::grant;

use super::AccessIndex;
use super::decision::filtered_columns;
use super::nodes::NodeKind;
use weft_runtime::Caller;

/// Most resources a scope lists; past it the scope is inexact (the catalog checks each match).
pub const MAX_SCOPE_RESOURCES: usize = 10_000;

/// A subject's DESCRIBE scope (see the module's comment).
#[derive(Debug, Default, PartialEq)]
pub struct DescribeScope {
    pub everything: bool,
    pub principals: Vec<String>,
    pub subtrees: Vec<String>,
    pub resources: Vec<String>,
    pub exact: bool,
}

impl DescribeScope {
    fn inexact(principals: Vec<String>) -> Self {
        Self {
            principals,
            ..Self::default()
        }
    }
}

impl AccessIndex {
    pub fn describe_scope(&self, caller: &Caller) -> DescribeScope {
        if caller.is_admin {
            return DescribeScope {
                everything: true,
                exact: true,
                ..DescribeScope::default()
            };
        }
        let acting = self
            .memberships()
            .acting_as(caller.subject(), &caller.principal.groups);
        let principals: Vec<String> = acting.iter().map(|a| a.principal.clone()).collect();
        // Every role may use DESCRIBE (a VIEWER only that), so no acting principal is skipped.
        if self
            .guardrails()
            .may_decide(&acting, weft_proto::permission_name(Permission::Describe))
        {
            return DescribeScope::inexact(principals);
        }
        let mut subtrees = Vec::new();
        let mut resources = Vec::new();
        for principal in &principals {
            for grant in self.grants_of(principal) {
                let resource = match &grant.target {
                    Some(grant::Target::Resource(resource)) => resource,
                    Some(grant::Target::TagExpression(_)) => {
                        return DescribeScope::inexact(principals);
                    }
                    None => continue,
                };
                let column_filter = grant.data_filter.as_ref().filter(|filter| {
                    !filter.include_columns.is_empty() || !filter.exclude_columns.is_empty()
                });
                match (column_filter, self.node(resource)) {
                    (None, _) => subtrees.push(resource.clone()),
                    (Some(filter), Some(node)) if node.kind == NodeKind::Asset => {
                        let columns = filtered_columns(filter, node.column_paths());
                        if !columns.is_empty() {
                            resources.push(resource.clone());
                            resources.extend(
                                columns
                                    .into_iter()
                                    .map(|column| format!("{resource}#{column}")),
                            );
                        }
                    }
                    // Columns restricted above an asset (CreateGrant refuses it; a grant stored
                    // otherwise would hide some columns of every asset below, more than a list
                    // says cheaply).
                    (Some(_), _) => return DescribeScope::inexact(principals),
                }
                if subtrees.len() + resources.len() > MAX_SCOPE_RESOURCES {
                    return DescribeScope::inexact(principals);
                }
            }
        }
        subtrees.sort();
        subtrees.dedup();
        resources.sort();
        resources.dedup();
        DescribeScope {
            everything: false,
            principals,
            subtrees,
            resources,
            exact: true,
        }
    }
}
