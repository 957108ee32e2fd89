//! Waiting for services to report SERVING over `grpc.health.v1` (used by `weft up` and tests).

use std::time::{Duration, Instant};

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Polls `channel` until every named service is SERVING; returns those still not serving when
/// `timeout` runs out (empty on success).
pub async fn wait_serving(channel: Channel, services: &[&str], timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let mut client = HealthClient::new(channel);
    loop {
        let mut still = Vec::new();
        for name in pending {
            let serving = client
                .check(HealthCheckRequest {
                    service: name.clone(),
                })
                .await
                .is_ok_and(|response| response.get_ref().status == 1);
            if !serving {
                still.push(name);
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() >= deadline {
            return pending;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
