//! Fulfilment: for every ACTIVE consumer environment, the data plane is made equal to what
//! governance lets the environment's project SELECT of the catalog's assets that live on that
//! data plane (location namespace `postgres://host:port`, name `database.schema.table`): the
//! effective columns and rows as governance's ExplainAccess gives them (include / exclude
//! lists, guardrail forbids on columns, the union of the grants' row filters, tag-based grants
//! included). Everything else the role holds there is revoked. Each granted asset is reported
//! to governance (GRANTED or GRANT_FAILED with the error) for every grant that gave it.
//! Runs when a projected grant, policy, subscription or asset changes, when an environment
//! becomes ACTIVE, and every reconcile interval (so drift made by hand is repaired).

use std::collections::BTreeSet;

use prost::Message;
use weft_proto::weft::catalog::v1::Asset;
use weft_proto::weft::governance::v1::{
    FulfilmentReport, FulfilmentState, Grant, GrantState, grant,
};
use weft_proto::weft::provisioning::v1::{
    Blueprint, DriftHandling, Environment, EnvironmentKind, EnvironmentState,
    ReconcileEnvironmentRequest,
};
use weft_runtime::{ApiError, Caller};
use weft_storage::{projection, resources};

use super::Provisioning;
use super::desired::Given;
use super::members::MANAGE;
use super::parameters;
use crate::dataplane::grants::{self, Mode};
use crate::dataplane::postgres;
use crate::store::fulfilments::{self, Fulfilment};

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
        let assets = self.projected_assets().await?;
        let mut converged = 0;
        let mut fulfilled: BTreeSet<(String, String)> = BTreeSet::new();
        for environment in environments {
            if environment.kind() == EnvironmentKind::Producer {
                continue;
            }
            let mode = match environment.drift_handling() {
                DriftHandling::Report => Mode::ApplyChanges,
                DriftHandling::Repair | DriftHandling::Unspecified => Mode::Repair,
            };
            match self.fulfil(&environment, &assets, mode, true).await {
                Ok(pairs) => {
                    converged += 1;
                    fulfilled.extend(pairs);
                }
                Err(error) => tracing::warn!(
                    environment = %environment.name,
                    %error,
                    "fulfilment of an environment failed; it is tried again"
                ),
            }
        }
        self.report_not_applicable(&assets, &fulfilled).await?;
        Ok(converged)
    }

    /// The catalog's assets as provisioning's projection holds them.
    async fn projected_assets(&self) -> Result<Vec<Asset>, ApiError> {
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
        Ok(assets)
    }

    /// Looks for drift on one consumer environment now, and repairs it when asked; the
    /// environment comes back with the drift found.
    pub async fn reconcile_environment(
        &self,
        caller: &Caller,
        request: ReconcileEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        let environment = self
            .visible_environment(caller, &request.name, MANAGE, true, "ReconcileEnvironment")
            .await?;
        if environment.state() != EnvironmentState::Active {
            return Err(ApiError::precondition(
                format!(
                    "{} is {}: only an ACTIVE environment is reconciled",
                    environment.name,
                    environment.state().as_str_name()
                ),
                Vec::new(),
            ));
        }
        if environment.kind() == EnvironmentKind::Producer {
            return Err(ApiError::precondition(
                format!(
                    "{} is a producer environment: it holds no grants",
                    environment.name
                ),
                Vec::new(),
            ));
        }
        let assets = self.projected_assets().await?;
        let mode = if request.repair {
            Mode::Repair
        } else {
            Mode::Look
        };
        self.fulfil(&environment, &assets, mode, false).await?;
        resources::get(self.store().db(), &environment.name).await
    }

    /// Subscribed assets whose grant no consumer environment fulfils (the project has none on
    /// the asset's data plane, or the asset lives elsewhere) are reported NOT_APPLICABLE, so a
    /// subscription does not wait for provisioning forever.
    async fn report_not_applicable(
        &self,
        assets: &[Asset],
        fulfilled: &BTreeSet<(String, String)>,
    ) -> Result<(), ApiError> {
        let mut grants = Vec::new();
        projection::for_each_node(self.store().db(), projection::GOVERNANCE, |row| {
            if row.kind == "grant"
                && let Ok(grant) = Grant::decode(row.payload.as_slice())
            {
                grants.push(grant);
            }
        })
        .await?;
        let mut reports = Vec::new();
        for grant in grants {
            if grant.state() != GrantState::Active || grant.subscription.is_empty() {
                continue;
            }
            let Some(grant::Target::Resource(resource)) = &grant.target else {
                continue;
            };
            let inside = format!("{resource}/");
            for asset in assets
                .iter()
                .filter(|asset| &asset.name == resource || asset.name.starts_with(&inside))
            {
                if !fulfilled.contains(&(asset.name.clone(), grant.name.clone())) {
                    reports.push(report(
                        grant.name.clone(),
                        asset.name.clone(),
                        FulfilmentState::NotApplicable,
                        "",
                    ));
                }
            }
        }
        self.fulfilment.report(reports).await
    }

    /// Converges one environment as far as `mode` lets it (`Look`: only finds its drift);
    /// returns the (asset, grant) pairs it fulfils. The drift found is recorded on the
    /// environment. With `reuse`, what governance answered for it before is reused if nothing
    /// changed since.
    pub(crate) async fn fulfil(
        &self,
        environment: &Environment,
        assets: &[Asset],
        mode: Mode,
        reuse: bool,
    ) -> Result<Vec<(String, String)>, ApiError> {
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
        // The login itself first: a role dropped by hand is drift, recreated with its password.
        let mut drift = Vec::new();
        let unavailable =
            |error: String| ApiError::Unavailable(format!("{}: {error}", environment.name));
        let mut connection = self.planes.acquire(&target).await.map_err(unavailable)?;
        let exists = postgres::role_exists(&mut connection, &role)
            .await
            .map_err(unavailable)?;
        if !exists {
            drift.push(format!("role {role} is missing"));
            if mode != Mode::Repair {
                self.record_drift(environment, drift, false).await?;
                return Ok(Vec::new());
            }
            let password = self.password_of(&environment.name).await?;
            let steps = super::deployments::steps(
                environment,
                &blueprint,
                super::deployments::Operation::Create,
                password,
                &database,
            );
            let outcome = postgres::apply(&target, &steps).await;
            if !outcome.succeeded {
                self.record_drift(environment, drift, false).await?;
                return Err(ApiError::Unavailable(format!(
                    "{}: the missing role could not be recreated",
                    environment.name
                )));
            }
        }

        let (desired, stamp) = self
            .desired_of(environment, assets, &namespace, &database, reuse)
            .await?;
        let stored = fulfilments::of_environment(self.store().db(), &environment.name).await?;
        let granted_before: BTreeSet<(String, String)> = stored
            .iter()
            .filter(|row| row.state == state_name(FulfilmentState::Granted))
            .map(|row| (row.asset.clone(), row.grant.clone()))
            .collect();
        let starting: Vec<FulfilmentReport> = desired
            .given
            .iter()
            .flat_map(|given| {
                given
                    .grants
                    .iter()
                    .map(move |grant| (given.asset.clone(), grant.clone()))
            })
            .filter(|pair| !granted_before.contains(pair))
            .map(|(asset, grant)| report(grant, asset, FulfilmentState::GrantInProgress, ""))
            .collect();
        if mode != Mode::Look {
            self.fulfilment.report(starting).await?;
        }

        // The drift is measured against what the last round applied (the first round after a
        // start only converges); a reconcile asked for by a user, against what is granted now.
        let applied = self.last_applied(&environment.name, &desired.tables, mode != Mode::Look);
        // Drift is left as it is only where ApplyChanges knows what it applied before.
        let repaired = mode == Mode::Repair || (mode == Mode::ApplyChanges && applied.is_none());
        let converged = grants::converge(
            &mut connection,
            &role,
            &desired.tables,
            applied.as_deref(),
            mode,
        )
        .await
        .map_err(unavailable)?;
        drop(connection);
        drift.extend(converged.drift.iter().cloned());
        self.record_drift(environment, drift, repaired).await?;
        if mode == Mode::Look {
            return Ok(Vec::new());
        }
        let applied_now = desired
            .tables
            .iter()
            .filter(|access| {
                converged
                    .granted
                    .get(&access.key())
                    .is_none_or(|outcome| outcome.error.is_none())
            })
            .cloned()
            .collect();
        self.remember_applied(&environment.name, desired.clone(), applied_now, stamp);
        let now = weft_storage::write::now();
        let mut rows = Vec::new();
        let mut reports = Vec::new();
        let mut kept = BTreeSet::new();
        for Given {
            asset,
            table: key,
            grants,
        } in desired.given
        {
            let outcome = converged.granted.get(&key).cloned().unwrap_or_default();
            let error = outcome.error.clone().unwrap_or_default();
            let state = if error.is_empty() {
                FulfilmentState::Granted
            } else {
                FulfilmentState::GrantFailed
            };
            let unchanged = converged.unchanged.contains(&key);
            for grant in grants {
                kept.insert((asset.clone(), grant.clone()));
                if unchanged && granted_before.contains(&(asset.clone(), grant.clone())) {
                    // Already GRANTED and found as it should be: nothing to write or report.
                    continue;
                }
                reports.push(report(grant.clone(), asset.clone(), state, &error));
                rows.push(Fulfilment {
                    environment: environment.name.clone(),
                    asset: asset.clone(),
                    grant,
                    state: state_name(state),
                    statements: serde_json::to_string(&outcome.statements).unwrap_or_default(),
                    error: error.clone(),
                    update_time: now,
                });
            }
        }
        // What was granted before and is no longer: revoked (its table's revoke, if any).
        for row in stored {
            let pair = (row.asset.clone(), row.grant.clone());
            if kept.contains(&pair) || row.state == state_name(FulfilmentState::Revoked) {
                continue;
            }
            let table = assets
                .iter()
                .find(|asset| asset.name == row.asset)
                .and_then(|asset| asset.location.as_ref())
                .and_then(|location| location.name.split_once('.'))
                .map(|(_, table)| table.to_string());
            let outcome = table.and_then(|table| converged.revoked.get(&table).cloned());
            let error = outcome
                .as_ref()
                .and_then(|outcome| outcome.error.clone())
                .unwrap_or_default();
            let state = if error.is_empty() {
                FulfilmentState::Revoked
            } else {
                FulfilmentState::RevokeFailed
            };
            reports.push(report(row.grant.clone(), row.asset.clone(), state, &error));
            rows.push(Fulfilment {
                state: state_name(state),
                statements: outcome
                    .map(|outcome| serde_json::to_string(&outcome.statements).unwrap_or_default())
                    .unwrap_or_else(|| "[]".to_string()),
                error,
                update_time: now,
                ..row
            });
        }
        for (table, outcome) in &converged.revoked {
            if let Some(error) = &outcome.error {
                tracing::warn!(environment = %environment.name, table, error, "a revoke failed");
            }
        }
        let txn = self
            .store()
            .begin_write(super::deployments::DEPLOYER)
            .await?;
        for row in rows {
            fulfilments::put(txn.conn(), row).await?;
        }
        txn.commit(Vec::new()).await?;
        self.fulfilment.report(reports).await?;
        Ok(kept.into_iter().collect())
    }
}

fn report(grant: String, asset: String, state: FulfilmentState, error: &str) -> FulfilmentReport {
    FulfilmentReport {
        grant,
        asset,
        state: state as i32,
        error: error.to_string(),
    }
}

/// "GRANTED" for `FULFILMENT_STATE_GRANTED`.
pub fn state_name(state: FulfilmentState) -> String {
    state
        .as_str_name()
        .trim_start_matches("FULFILMENT_STATE_")
        .to_string()
}

impl Provisioning {
    /// A deleted environment's role is gone with its privileges: what it fulfilled is marked
    /// and reported REVOKED.
    pub(crate) async fn revoke_fulfilments(&self, environment: &str) -> Result<(), ApiError> {
        let revoked = state_name(FulfilmentState::Revoked);
        let rows: Vec<Fulfilment> = fulfilments::of_environment(self.store().db(), environment)
            .await?
            .into_iter()
            .filter(|row| row.state != revoked)
            .collect();
        let reports = rows
            .iter()
            .map(|row| {
                report(
                    row.grant.clone(),
                    row.asset.clone(),
                    FulfilmentState::Revoked,
                    "",
                )
            })
            .collect();
        let now = weft_storage::write::now();
        let txn = self
            .store()
            .begin_write(super::deployments::DEPLOYER)
            .await?;
        for row in rows {
            fulfilments::put(
                txn.conn(),
                Fulfilment {
                    state: revoked.clone(),
                    error: String::new(),
                    update_time: now,
                    ..row
                },
            )
            .await?;
        }
        txn.commit(Vec::new()).await?;
        self.fulfilment.report(reports).await
    }
}
