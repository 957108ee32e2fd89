//! What a caller may see of the catalog: listings and search (open to every authenticated
//! caller at the gateway) return only the resources the caller may DESCRIBE, as governance
//! decides (its internal BatchCheck, one call per page; for search's counts also its
//! DescribeScope). Administrators see everything; an unreachable governance refuses the
//! listing (fail closed).

use tonic::transport::Channel;
use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::{
    AccessQuery, BatchCheckRequest, DescribeScopeRequest, FindMissingPrincipalsRequest,
};
use weft_runtime::{ApiError, Caller};

use crate::search::{Scope, Visible};

#[derive(Clone)]
pub struct Visibility {
    client: GovernanceInternalServiceClient<Channel>,
}

impl Visibility {
    pub fn new(governance: Channel) -> Self {
        Self {
            client: GovernanceInternalServiceClient::new(governance),
        }
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
        let allowed = weft_access_checks::describable(
            &self.client,
            caller,
            &asked,
            caller.catalog_position,
            "what you may see",
        )
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
        let mut request = tonic::Request::new(DescribeScopeRequest {
            principal: caller.principal.subject.clone(),
            groups: caller.principal.groups.clone(),
            min_catalog_sequence: caller.catalog_position,
        });
        request.set_timeout(weft_access_checks::DECISION_TIMEOUT);
        let scope = self
            .client
            .clone()
            .describe_scope(request)
            .await
            .map_err(|status| {
                tracing::warn!(%status, "governance could not say what a caller may see");
                ApiError::Unavailable(
                    "governance is unavailable: what you may see can not be decided".to_string(),
                )
            })?
            .into_inner();
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
        let request = BatchCheckRequest {
            queries: vec![AccessQuery {
                principal: caller.principal.subject.clone(),
                permission: permission as i32,
                resource: resource.to_string(),
            }],
            groups: caller.principal.groups.clone(),
            min_catalog_sequence: caller.catalog_position,
        };
        let response = weft_access_checks::batch_check(&self.client, request, "access").await?;
        Ok(response.decisions[0].allowed)
    }

    /// Those of `principals` that are Weft's to manage (projects) and do not exist.
    pub async fn missing_principals(&self, principals: &[String]) -> Result<Vec<String>, ApiError> {
        let mut request = tonic::Request::new(FindMissingPrincipalsRequest {
            principals: principals.to_vec(),
        });
        request.set_timeout(weft_access_checks::DECISION_TIMEOUT);
        let response = self
            .client
            .clone()
            .find_missing_principals(request)
            .await
            .map_err(|status| {
                tracing::warn!(%status, "governance could not say which principals exist");
                ApiError::Unavailable(
                    "governance is unavailable: owners can not be checked".to_string(),
                )
            })?;
        Ok(response.into_inner().missing)
    }
}
