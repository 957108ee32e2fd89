//! The shared server bootstrap: health is NOT_SERVING until warm-up ends, request ids are kept or
//! generated and echoed, shutdown stops accepting and returns, a failed warm-up stops the server.

use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Endpoint;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use weft_proto::weft::lineage::v1::lineage_service_server::LineageServiceServer;
use weft_runtime::{GrpcServer, ServiceConfig, ServiceKind};

const SERVICE: &str = "weft.lineage.v1.LineageService";

/// A service whose every RPC answers UNIMPLEMENTED (the generated defaults): the bootstrap is
/// what is tested here.
struct Unimplemented;

impl weft_proto::weft::lineage::v1::lineage_service_server::LineageService for Unimplemented {}

fn config() -> ServiceConfig {
    let mut config = ServiceConfig::defaults(ServiceKind::Lineage);
    config.auth.hs256_secret = Some("bootstrap-test-secret-0123456789abcdef".into());
    config.shutdown_grace = Duration::from_secs(1);
    config
}

async fn status(client: &mut HealthClient<tonic::transport::Channel>) -> Option<i32> {
    client
        .check(HealthCheckRequest {
            service: SERVICE.into(),
        })
        .await
        .ok()
        .map(|response| response.into_inner().status)
}

#[tokio::test]
async fn health_follows_warm_up_and_shutdown_and_request_ids_are_echoed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut server = GrpcServer::new(ServiceKind::Lineage, config());
    server.add_service(LineageServiceServer::new(Unimplemented));
    let (ready, warmed_up) = tokio::sync::oneshot::channel::<()>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(
        listener,
        async move {
            let _ = warmed_up.await;
            Ok(())
        },
        async move {
            let _ = stopped.await;
        },
    ));

    let channel = Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    let mut health = HealthClient::new(channel.clone());
    let mut before = None;
    for _ in 0..100 {
        before = status(&mut health).await;
        if before.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(before, Some(2), "NOT_SERVING before warm-up");
    ready.send(()).unwrap();
    let pending =
        weft_runtime::probe::wait_serving(channel.clone(), &[SERVICE, ""], Duration::from_secs(5))
            .await;
    assert!(pending.is_empty(), "{pending:?}");

    // A request id the client sends is kept; one is generated otherwise.
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: SERVICE.into(),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "req-42".parse().unwrap());
    let response = health.check(request).await.unwrap();
    assert_eq!(response.metadata().get("x-request-id").unwrap(), "req-42");
    let response = health
        .check(HealthCheckRequest {
            service: SERVICE.into(),
        })
        .await
        .unwrap();
    let generated = response
        .metadata()
        .get("x-request-id")
        .expect("a generated request id");
    assert!(uuid::Uuid::parse_str(generated.to_str().unwrap()).is_ok());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), serving)
        .await
        .expect("shutdown completes within the grace period")
        .unwrap()
        .unwrap();
    let refused = Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err(), "no new connection after shutdown");
}

#[tokio::test]
async fn a_failed_warm_up_stops_the_server_with_its_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = GrpcServer::new(ServiceKind::Lineage, config());
    let result = server
        .serve(
            listener,
            async { anyhow::bail!("index rebuild failed") },
            std::future::pending(),
        )
        .await;
    assert!(format!("{:#}", result.unwrap_err()).contains("index rebuild failed"));
}
