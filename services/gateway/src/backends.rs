//! Connections to the backend services (mTLS when configured) and the task that mirrors their
//! health into the gateway's own health service, so `grpc.health.v1` at the gateway answers for
//! every public service.

use std::time::Duration;

use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;
use weft_runtime::ServiceKind;

/// How often backend health is polled once every backend serves; while one does not (at start),
/// it is polled every `HEALTH_POLL_INTERVAL_STARTING`.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_secs(2);
const HEALTH_POLL_INTERVAL_STARTING: Duration = Duration::from_millis(100);

/// Polls each backend's health and reports it under the backend's public service name.
pub async fn mirror_health(reporter: HealthReporter, backends: Vec<(ServiceKind, Channel)>) {
    let mut last: Vec<Option<ServingStatus>> = vec![None; backends.len()];
    loop {
        for (index, (kind, channel)) in backends.iter().enumerate() {
            let name = kind.public_service_name();
            let status = match HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: name.to_string(),
                })
                .await
            {
                Ok(response) if response.get_ref().status == 1 => ServingStatus::Serving,
                _ => ServingStatus::NotServing,
            };
            if last[index] != Some(status) {
                tracing::info!(backend = %kind, ?status, "backend health changed");
                reporter.set_service_status(name, status).await;
                last[index] = Some(status);
            }
        }
        let all_serving = last
            .iter()
            .all(|status| *status == Some(ServingStatus::Serving));
        tokio::time::sleep(if all_serving {
            HEALTH_POLL_INTERVAL
        } else {
            HEALTH_POLL_INTERVAL_STARTING
        })
        .await;
    }
}
