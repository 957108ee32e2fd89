//! Drift: how the data plane differs from what fulfilment last applied (kept in memory per
//! environment; the first round after a start only converges), recorded on the environment
//! when it changes (an update: its event on the outbox and its journal record).

use weft_proto::weft::provisioning::v1::{Drift, Environment};
use weft_runtime::ApiError;
use weft_storage::resources::{self, Edit};

use super::Provisioning;

impl Provisioning {
    /// Keeps the drift found on the environment when it differs from what is kept: an update
    /// of the environment (its event on the outbox, its journal record), nothing otherwise.
    pub(super) async fn record_drift(
        &self,
        environment: &Environment,
        found: Vec<String>,
        repaired: bool,
    ) -> Result<(), ApiError> {
        let kept: Vec<&str> = environment
            .drifts
            .iter()
            .map(|drift| drift.description.as_str())
            .collect();
        let same = kept.len() == found.len() && kept.iter().zip(&found).all(|(a, b)| a == b);
        if same
            && environment
                .drifts
                .iter()
                .all(|drift| drift.repaired == repaired)
        {
            return Ok(());
        }
        if found.is_empty() && kept.is_empty() {
            return Ok(());
        }
        if !found.is_empty() {
            tracing::warn!(environment = %environment.name, drifts = found.len(), repaired, "drift on the data plane");
        }
        let now = Some(weft_proto::time::timestamp(weft_storage::write::now()));
        let drifts: Vec<Drift> = found
            .into_iter()
            .map(|description| Drift {
                description,
                repaired,
                detect_time: now,
            })
            .collect();
        let count = drifts.len();
        let result = resources::update(
            self.store(),
            super::deployments::DEPLOYER,
            Edit::new("Reconcile", &environment.name, "")
                .verb("drift_detected")
                .detail(serde_json::json!({ "drifts": count, "repaired": repaired })),
            move |_, mut stored: Environment| {
                Box::pin(async move {
                    stored.drifts = drifts;
                    Ok(stored)
                })
            },
        )
        .await;
        match result {
            // Changed meanwhile: the next round records it.
            Ok(_) | Err(ApiError::Aborted(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
