//! What a caller may see of the catalog: listings and search (open to every authenticated
//! caller at the gateway) return only the resources the caller may DESCRIBE, as governance
//! decides (`Decisions`: one BatchCheck per page; for search's counts also the DESCRIBE
//! scope). Administrators see everything; an unreachable governance refuses the listing
//! (fail closed).

use std::sync::Arc;

use weft_access_checks::Decisions;
use weft_proto::weft::common::v1::Permission;
use weft_runtime::{ApiError, Caller};

use crate::search::{Scope, Visible};

#[derive(Clone)]
pub struct Visibility {
    decisions: Arc<dyn Decisions>,
}

impl Visibility {
    pub fn new(decisions: Arc<dyn Decisions>) -> Self {
        Self { decisions }
    }

    /// Keeps the items whose resource (named by `name_of`) `caller` may DESCRIBE; `None` from
    /// `name_of` keeps the item unconditionally (e.g. glossary terms, visible to every caller).
    pub async fn retain_describable<T>(
        &self,
        caller: &Caller,
        items: &mut Vec<T>,
        name_of: impl Fn(&T) -> Option<&str>,
    ) -> Result<(), ApiError> {
        if caller.is_admin || items.is_empty() {
            return Ok(());
        }
        let names: Vec<Option<String>> = items
            .iter()
            .map(|item| name_of(item).map(str::to_string))
            .collect();
        let asked: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
        let allowed = self
            .decisions
            .describable(caller, &asked, "what you may see")
            .await?;
        let mut answers = allowed.into_iter();
        let keep: Vec<bool> = names
            .iter()
            .map(|name| name.is_none() || answers.next().unwrap_or(false))
            .collect();
        let mut keep = keep.into_iter();
        items.retain(|_| keep.next().unwrap_or(false));
        Ok(())
    }

    /// What of the index `caller` may see, as governance's DESCRIBE scope says; when the
    /// scope can not be a filter, `None`: each candidate must be asked (`retain_describable`).
    pub async fn visible(&self, caller: &Caller) -> Result<Option<Visible>, ApiError> {
        if caller.is_admin {
            return Ok(Some(Visible::Everything));
        }
        let scope = self.decisions.describe_scope(caller).await?;
        Ok(match scope {
            scope if scope.everything => Some(Visible::Everything),
            scope if scope.exact => Some(Visible::Scope(Scope {
                principals: scope.principals,
                subtrees: scope.subtrees,
                resources: scope.resources,
            })),
            _ => None,
        })
    }

    /// Whether governance allows `caller` `permission` on `resource` (administrators: always).
    pub async fn allowed(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
    ) -> Result<bool, ApiError> {
        if caller.is_admin {
            return Ok(true);
        }
        self.decisions.allowed(caller, permission, resource).await
    }

    /// Those of `principals` that are Weft's to manage (projects) and do not exist.
    pub async fn missing_principals(&self, principals: &[String]) -> Result<Vec<String>, ApiError> {
        self.decisions.missing_principals(principals).await
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use weft_proto::weft::governance::v1::DescribeScopeResponse;

    use super::*;

    /// Governance as a test wants it: DESCRIBE on what starts with `domains/sales`, and a
    /// scope that is a filter only when `exact`.
    struct Fake {
        exact: bool,
    }

    #[async_trait]
    impl Decisions for Fake {
        async fn describable(
            &self,
            _caller: &Caller,
            names: &[&str],
            _what: &str,
        ) -> Result<Vec<bool>, ApiError> {
            Ok(names
                .iter()
                .map(|name| name.starts_with("domains/sales"))
                .collect())
        }

        async fn allowed(
            &self,
            _caller: &Caller,
            _permission: Permission,
            resource: &str,
        ) -> Result<bool, ApiError> {
            Ok(resource.starts_with("domains/sales"))
        }

        async fn describe_scope(
            &self,
            _caller: &Caller,
        ) -> Result<DescribeScopeResponse, ApiError> {
            Ok(DescribeScopeResponse {
                exact: self.exact,
                subtrees: vec!["domains/sales".to_string()],
                ..Default::default()
            })
        }

        async fn missing_principals(
            &self,
            _principals: &[String],
        ) -> Result<Vec<String>, ApiError> {
            Ok(Vec::new())
        }
    }

    fn visibility(exact: bool) -> Visibility {
        Visibility::new(Arc::new(Fake { exact }))
    }

    #[tokio::test]
    async fn a_caller_keeps_what_governance_lets_it_describe_and_unnamed_items() {
        let caller = Caller::new("alice", Vec::new(), false);
        let mut items = vec![
            Some("domains/sales/dataProducts/orders"),
            Some("domains/finance"),
            None,
            Some("domains/sales"),
        ];
        visibility(true)
            .retain_describable(&caller, &mut items, |item| *item)
            .await
            .unwrap();
        assert_eq!(
            items,
            vec![
                Some("domains/sales/dataProducts/orders"),
                None,
                Some("domains/sales")
            ]
        );

        let admin = Caller::new("root", Vec::new(), true);
        let mut items = vec![Some("domains/finance")];
        visibility(true)
            .retain_describable(&admin, &mut items, |item| *item)
            .await
            .unwrap();
        assert_eq!(items, vec![Some("domains/finance")]);
    }

    #[tokio::test]
    async fn a_scope_is_a_filter_only_when_governance_says_it_is_exact() {
        let caller = Caller::new("alice", Vec::new(), false);
        match visibility(true).visible(&caller).await.unwrap() {
            Some(Visible::Scope(scope)) => assert_eq!(scope.subtrees, vec!["domains/sales"]),
            _ => panic!("an exact scope is a filter"),
        }
        assert!(visibility(false).visible(&caller).await.unwrap().is_none());
        let admin = Caller::new("root", Vec::new(), true);
        assert!(matches!(
            visibility(false).visible(&admin).await.unwrap(),
            Some(Visible::Everything)
        ));
        assert!(
            !visibility(true)
                .allowed(&caller, Permission::Update, "domains/finance")
                .await
                .unwrap()
        );
    }
}
