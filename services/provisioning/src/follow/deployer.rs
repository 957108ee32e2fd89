//! The deployer: runs every pending deployment (environments CREATING, UPDATING, DELETING),
//! woken by the call that made one pending and, as a safety net, every few seconds (a
//! deployment left by a crashed process, or by another replica, is picked up again).

use std::time::Duration;

use crate::domain::Provisioning;

/// Longest wait between two looks for pending deployments.
const SWEEP: Duration = Duration::from_secs(5);
/// Wait after a round that failed (the database unreachable).
const BACKOFF: Duration = Duration::from_secs(2);

pub async fn run(provisioning: Provisioning) {
    let wake = provisioning.deployer_wake();
    loop {
        match provisioning.deploy_pending().await {
            // Something ran: look again at once (more may be pending).
            Ok(ran) if ran > 0 => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "the deployer could not run pending deployments");
                tokio::time::sleep(BACKOFF).await;
            }
        }
        let _ = tokio::time::timeout(SWEEP, wake.notified()).await;
    }
}
