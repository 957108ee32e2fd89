//! ListGrantFulfilments: what fulfilment did, per environment, asset and grant, for the
//! environments of the caller's projects (administrators: all).

use weft_proto::weft::governance::v1::FulfilmentState;
use weft_proto::weft::provisioning::v1::Environment;
use weft_proto::weft::provisioning::v1::{
    GrantFulfilment, ListGrantFulfilmentsRequest, ListGrantFulfilmentsResponse,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, filter};
use weft_storage::resources;

use super::Provisioning;
use super::fulfilment::state_name;
use crate::store::fulfilments;

impl Provisioning {
    /// The fulfilments of the environments the caller may see (administrators: all), filtered
    /// by `grant`, `asset`, `environment` or `state` (e.g. `state=GRANTED`).
    pub async fn list_grant_fulfilments(
        &self,
        caller: &Caller,
        request: ListGrantFulfilmentsRequest,
    ) -> Result<ListGrantFulfilmentsResponse, ApiError> {
        let terms = filter::parse(&request.filter, &["grant", "asset", "environment", "state"])?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("fulfilments?{}", request.filter),
        )?;
        let mut wanted = fulfilments::Filter::default();
        for term in &terms {
            let value = Some(term.value.clone());
            match term.field.as_str() {
                "grant" => wanted.grant = value,
                "asset" => wanted.asset = value,
                "environment" => wanted.environment = value,
                "state" => {
                    let full = format!(
                        "FULFILMENT_STATE_{}",
                        term.value.trim_start_matches("FULFILMENT_STATE_")
                    );
                    let state = FulfilmentState::from_str_name(&full).ok_or_else(|| {
                        ApiError::invalid(
                            "filter",
                            format!("'{}' is not a fulfilment state", term.value),
                        )
                    })?;
                    wanted.state = Some(state_name(state));
                }
                other => return Err(filter::unhandled(other)),
            }
        }
        if !caller.is_admin {
            let Some(mine) = self.own_environments(caller).await? else {
                return Ok(ListGrantFulfilmentsResponse::default());
            };
            let environments =
                resources::list::<Environment, _>(self.store().db(), vec![mine], None, 10_000)
                    .await?;
            let names: Vec<String> = environments.into_iter().map(|e| e.name).collect();
            wanted.environments = Some(names);
        }
        let after = match &page.after {
            Some(token) => {
                let mut parts = token.splitn(3, '\n').map(str::to_string);
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(environment), Some(asset), Some(grant)) => {
                        Some((environment, asset, grant))
                    }
                    _ => {
                        return Err(ApiError::invalid(
                            "page_token",
                            "is not a token from this listing",
                        ));
                    }
                }
            }
            None => None,
        };
        let rows = fulfilments::list(self.store().db(), wanted, after, page.fetch_limit()).await?;
        let mut listed: Vec<(String, GrantFulfilment)> = rows
            .into_iter()
            .map(|row| {
                let key = format!("{}\n{}\n{}", row.environment, row.asset, row.grant);
                let statements: Vec<String> =
                    serde_json::from_str(&row.statements).unwrap_or_default();
                (
                    key,
                    GrantFulfilment {
                        grant: row.grant,
                        asset: row.asset,
                        environment: row.environment,
                        state: row.state,
                        statements,
                        error: row.error,
                        update_time: Some(weft_proto::time::timestamp(row.update_time)),
                    },
                )
            })
            .collect();
        let next_page_token = page.finish(&mut listed, |(key, _)| key.as_str());
        Ok(ListGrantFulfilmentsResponse {
            fulfilments: listed
                .into_iter()
                .map(|(_, fulfilment)| fulfilment)
                .collect(),
            next_page_token,
        })
    }
}
