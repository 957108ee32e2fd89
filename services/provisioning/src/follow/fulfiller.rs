//! The fulfiller: converges every consumer environment's privileges when governance's or the
//! catalog's projected stream brings a change of grants, policies, subscriptions or assets,
//! when an environment becomes ACTIVE, and every reconcile interval (drift made by hand).

use std::sync::Arc;
use std::time::Duration;

use weft_proto::weft::common::v1::Event;
use weft_storage::Change;
use weft_storage::projection::Projector;

use crate::domain::Provisioning;
use crate::domain::desired::Changes;

pub async fn run(provisioning: Provisioning, interval: Duration) {
    let changes = provisioning.fulfilment_changes();
    loop {
        // A round at start first: a process killed between taking a change from the stream
        // and applying it finds nothing new on the stream when it comes back, and must not
        // wait a whole interval to converge. (The projections catching up wake it again.)
        if let Err(error) = provisioning.fulfil_all().await {
            tracing::warn!(%error, "fulfilment round failed; it is tried again");
        }
        changes.wait(interval).await;
        // Changes come in bursts (a grant per asset of a subscription): one round for a burst.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps the payloads fulfilment reads (assets; grants, policies and subscriptions only as
/// triggers) and wakes the fulfiller when a batch brought any.
pub struct Triggers {
    pub changes: Arc<Changes>,
}

impl Projector for Triggers {
    fn keeps(&self, type_url: &str) -> bool {
        matches!(
            type_url.rsplit('/').next(),
            Some(
                "weft.catalog.v1.Asset"
                    | "weft.governance.v1.Grant"
                    | "weft.governance.v1.Policy"
                    | "weft.governance.v1.Subscription"
                    | "weft.governance.v1.Project"
            )
        )
    }

    fn apply(&self, _events: &[&Event]) -> Vec<Change> {
        Vec::new()
    }

    /// After the commit: a round woken now reads the batch, and the generation it reads marks
    /// what it asks governance as computed after these changes.
    fn committed(&self, _events: &[&Event]) {
        self.changes.changed();
    }
}
