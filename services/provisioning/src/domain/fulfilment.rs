//! Fulfilment: for every ACTIVE consumer environment, the data plane is made equal to what
//! governance lets the environment's project SELECT of the catalog's assets that live on that
//! data plane (location namespace `postgres://host:port`, name `database.schema.table`): the
//! effective columns and rows as governance's ExplainAccess gives them (include / exclude
//! lists, guardrail forbids on columns, the union of the grants' row filters, tag-based grants
//! included). Everything else the role holds there is revoked. Each granted asset is reported
//! to governance (GRANTED or GRANT_FAILED with the error) for every grant that gave it.
//! Runs when a projected grant, policy, subscription or asset changes, when an environment
//! becomes ACTIVE, and every reconcile interval (so drift made by hand is repaired).

use prost::Message;
use weft_proto::weft::catalog::v1::Asset;
use weft_proto::weft::governance::v1::{FulfilmentReport, FulfilmentState};
use weft_proto::weft::provisioning::v1::{
    Blueprint, Environment, EnvironmentKind, EnvironmentState,
};
use weft_runtime::ApiError;
use weft_storage::{projection, resources};

use super::Provisioning;
use super::parameters;
use crate::dataplane::grants::{self, TableAccess};
use crate::dataplane::postgres;

impl Provisioning {
    /// Fulfils every ACTIVE consumer environment; an environment that fails is logged and
    /// the others go on. Returns how many were converged.
    pub async fn fulfil_all(&self) -> Result<usize, ApiError> {
        let environments = resources::list::<Environment, _>(
            self.store().db(),
            vec![resources::state_is(EnvironmentState::Active.as_str_name())],
            None,
            10_000,
        )
        .await?;
        let mut assets = Vec::new();
        let mut undecodable = 0;
        projection::for_each_node(self.store().db(), projection::CATALOG, |row| {
            if row.kind == "asset" {
                match Asset::decode(row.payload.as_slice()) {
                    Ok(asset) => assets.push(asset),
                    Err(_) => undecodable += 1,
                }
            }
        })
        .await?;
        if undecodable > 0 {
            tracing::warn!(
                undecodable,
                "projected assets that do not decode were skipped"
            );
        }
        let mut converged = 0;
        for environment in environments {
            if environment.kind() == EnvironmentKind::Producer {
                continue;
            }
            match self.fulfil(&environment, &assets).await {
                Ok(()) => converged += 1,
                Err(error) => tracing::warn!(
                    environment = %environment.name,
                    %error,
                    "fulfilment of an environment failed; it is tried again"
                ),
            }
        }
        Ok(converged)
    }

    async fn fulfil(&self, environment: &Environment, assets: &[Asset]) -> Result<(), ApiError> {
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let target = self.target_of(environment, &blueprint).await?;
        let unusable = |error: String| ApiError::precondition(error, Vec::new());
        let namespace = postgres::namespace_of(&target).map_err(unusable)?;
        let database = postgres::database_of(&target).map_err(unusable)?;
        let id = environment
            .name
            .strip_prefix("environments/")
            .unwrap_or_default();
        let role = parameters::role_name(id);

        let mut desired = Vec::new();
        let mut given_by: Vec<(String, String, Vec<String>)> = Vec::new();
        for asset in assets {
            let Some(location) = &asset.location else {
                continue;
            };
            if location.namespace != namespace {
                continue;
            }
            let parts: Vec<&str> = location.name.split('.').collect();
            let [asset_database, schema, table] = parts.as_slice() else {
                continue;
            };
            if *asset_database != database {
                continue;
            }
            let explained = self
                .fulfilment
                .explain_select(&environment.project, &asset.name)
                .await?;
            if !explained.decision.as_ref().is_some_and(|d| d.allowed) {
                continue;
            }
            let columns = if explained.effective_columns.is_empty() {
                asset
                    .schema
                    .iter()
                    .flat_map(|schema| schema.columns.iter().map(|c| c.name.clone()))
                    .collect()
            } else {
                explained
                    .effective_columns
                    .iter()
                    .filter(|column| !column.contains('.'))
                    .cloned()
                    .collect()
            };
            let grants: Vec<String> = explained
                .factors
                .iter()
                .filter(|factor| factor.permits && factor.source.starts_with("grants/"))
                .map(|factor| factor.source.clone())
                .collect();
            let access = TableAccess {
                schema: schema.to_string(),
                table: table.to_string(),
                columns,
                row_filter: explained
                    .effective_row_filter
                    .and_then(|filter| filter.expr),
            };
            given_by.push((asset.name.clone(), access.key(), grants));
            desired.push(access);
        }
        let converged = grants::converge(&target, &role, &desired)
            .await
            .map_err(|error| ApiError::Unavailable(format!("{}: {error}", environment.name)))?;
        let mut reports = Vec::new();
        for (asset, key, grants) in given_by {
            let outcome = converged.granted.get(&key);
            let error = outcome.and_then(|o| o.error.clone()).unwrap_or_default();
            let state = if error.is_empty() {
                FulfilmentState::Granted
            } else {
                FulfilmentState::GrantFailed
            };
            for grant in grants {
                reports.push(FulfilmentReport {
                    grant,
                    asset: asset.clone(),
                    state: state as i32,
                    error: error.clone(),
                });
            }
        }
        for (table, outcome) in &converged.revoked {
            if let Some(error) = &outcome.error {
                tracing::warn!(environment = %environment.name, table, error, "a revoke failed");
            }
        }
        self.fulfilment.report(reports).await
    }
}
