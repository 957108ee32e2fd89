//! What a consumer environment should hold on its data plane: for each catalog asset there,
//! what governance's ExplainAccess lets the environment's project SELECT (one call for all).
//! The answer is kept per environment with the change generation it was asked at, and the
//! reconcile rounds that follow reuse it while nothing that could change it has come on the
//! projected streams (grants, policies, subscriptions, projects, assets) and it is younger than
//! `REUSE_FOR` (a bound on anything missed): a round that only looks for drift then reads the
//! data plane without asking governance thousands of times. Only an answer asked `SETTLE` after
//! the last change is reused: governance's own index and its projection of the catalog follow
//! the same events a moment later or earlier than provisioning does, and an answer asked in
//! between could be the old one. It is also what drift is measured against (what the last round
//! applied).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use weft_proto::weft::catalog::v1::Asset;
use weft_proto::weft::provisioning::v1::Environment;
use weft_runtime::ApiError;

use super::Provisioning;
use crate::dataplane::grants::TableAccess;

/// Longest a kept answer is reused without asking governance again.
const REUSE_FOR: Duration = Duration::from_secs(600);
/// How long after a change governance's answers are taken as reflecting it.
const SETTLE: Duration = Duration::from_secs(5);

/// Changes that may alter what environments are granted: each bumps the generation and wakes
/// the fulfiller.
#[derive(Default)]
pub struct Changes {
    wake: Notify,
    generation: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Changes {
    pub fn changed(&self) {
        *self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// The generation now, and whether it has been quiet for `SETTLE`.
    fn stamp(&self) -> Stamp {
        let generation = self.generation.load(Ordering::SeqCst);
        let last = *self
            .last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Stamp {
            generation,
            settled: last.is_none_or(|last| last.elapsed() >= SETTLE),
            asked: Instant::now(),
        }
    }

    /// Until the next change (or at most `limit`).
    pub async fn wait(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, self.wake.notified()).await;
    }
}

/// An asset granted to the environment: its table ("schema.table") and the grants giving it.
#[derive(Debug, Clone)]
pub struct Given {
    pub asset: String,
    pub table: String,
    pub grants: Vec<String>,
}

/// What an environment should hold.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    pub tables: Vec<TableAccess>,
    pub given: Vec<Given>,
}

/// When an answer was asked: the change generation then, whether it was settled, the time.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    generation: u64,
    settled: bool,
    asked: Instant,
}

/// What governance last answered for an environment, when it was asked, and what of it the
/// round applied (a table whose statements failed is left out: the next round tries it again).
pub struct Applied {
    desired: Desired,
    applied: Vec<TableAccess>,
    stamp: Stamp,
}

impl Provisioning {
    /// What `environment` should hold of `assets` on the data plane `namespace` / `database`;
    /// the kept answer when `reuse` and nothing changed since it was asked, settled. Returns
    /// when it was asked (read before governance is: a change meanwhile makes it stale).
    pub(super) async fn desired_of(
        &self,
        environment: &Environment,
        assets: &[Asset],
        namespace: &str,
        database: &str,
        reuse: bool,
    ) -> Result<(Desired, Stamp), ApiError> {
        let stamp = self.fulfiller.stamp();
        if reuse
            && let Some(kept) = self
                .applied
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&environment.name)
            && kept.stamp.settled
            && kept.stamp.generation == stamp.generation
            && kept.stamp.asked.elapsed() < REUSE_FOR
        {
            return Ok((kept.desired.clone(), kept.stamp));
        }
        // The assets on this data plane, with their schema and table there.
        let mut here: Vec<(&Asset, &str, &str)> = Vec::new();
        for asset in assets {
            let Some(location) = &asset.location else {
                continue;
            };
            if location.namespace != namespace {
                continue;
            }
            let parts: Vec<&str> = location.name.split('.').collect();
            if let [asset_database, schema, table] = parts.as_slice()
                && asset_database == &database
            {
                here.push((asset, schema, table));
            }
        }
        let names: Vec<String> = here
            .iter()
            .map(|(asset, _, _)| asset.name.clone())
            .collect();
        let explanations = self
            .fulfilment
            .explain_selects(&environment.project, &names)
            .await?;
        let mut desired = Desired::default();
        for ((asset, schema, table), explained) in here.into_iter().zip(explanations) {
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
            desired.given.push(Given {
                asset: asset.name.clone(),
                table: access.key(),
                grants,
            });
            desired.tables.push(access);
        }
        Ok((desired, stamp))
    }

    /// What the last round applied to `environment`; `None` after a start, unless `repair` is
    /// false (an explicit look for drift: measured against what is granted now).
    pub(super) fn last_applied(
        &self,
        environment: &str,
        desired: &[TableAccess],
        repair: bool,
    ) -> Option<Vec<TableAccess>> {
        let applied = self
            .applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(environment)
            .map(|applied| applied.applied.clone());
        match applied {
            Some(applied) => Some(applied),
            None if !repair => Some(desired.to_vec()),
            None => None,
        }
    }

    pub(super) fn remember_applied(
        &self,
        environment: &str,
        desired: Desired,
        applied: Vec<TableAccess>,
        stamp: Stamp,
    ) {
        self.applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                environment.to_string(),
                Applied {
                    desired,
                    applied,
                    stamp,
                },
            );
    }

    /// What the fulfiller waits on, and the projections tell of changes.
    pub fn fulfilment_changes(&self) -> Arc<Changes> {
        self.fulfiller.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_makes_answers_unsettled_and_stale() {
        let changes = Changes::default();
        let before = changes.stamp();
        assert!(before.settled, "nothing changed since the start");
        changes.changed();
        let after = changes.stamp();
        assert_eq!(after.generation, before.generation + 1);
        assert!(!after.settled, "asked right after a change: not reused");
    }
}
