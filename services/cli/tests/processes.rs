//! The `weft` binary as users run it, as real processes: `weft serve` killed with SIGKILL after
//! an acknowledged write loses nothing and its journal still verifies (`weft audit verify`);
//! `weft up` starts all five services, restarts one that dies, and stops them all on SIGTERM.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Process, WEFT, five_free_ports, free_port, wait_serving};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tonic::transport::Channel;
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::catalog::v1::{CreateDomainRequest, Domain, GetDomainRequest, SearchRequest};
use weft_proto::weft::gateway::v1::GetCallerRequest;
use weft_proto::weft::gateway::v1::portal_service_client::PortalServiceClient;
use weft_testkit::Bearer;

const SECRET: &str = "process-test-secret-0123456789abcdef";

fn serve_catalog(port: u16, database_url: &str, dir: &std::path::Path) -> Process {
    Process::spawn(
        Command::new(WEFT)
            .args(["serve", "catalog"])
            .env("WEFT_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("WEFT_DATA_DIR", dir)
            .env("WEFT_DATABASE_URL", database_url)
            .env("WEFT_AUTH__HS256_SECRET", SECRET)
            .env("WEFT_LOG_FORMAT", "json"),
    )
}

/// Names found by a search, waiting briefly for the index to follow the writes.
async fn search_names(
    client: &mut CatalogServiceClient<
        tonic::service::interceptor::InterceptedService<Channel, Bearer>,
    >,
    query: &str,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = client
            .search(SearchRequest {
                query: query.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if !response.results.is_empty() || Instant::now() > deadline {
            return response.results.into_iter().map(|r| r.name).collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn domain(id: &str) -> CreateDomainRequest {
    CreateDomainRequest {
        domain_id: id.into(),
        domain: Some(Domain {
            display_name: id.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_after_an_acknowledged_write_loses_nothing() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let dir = tempfile::tempdir().unwrap();
        let url = weft_testkit::fresh_database(&backend, dir.path(), "catalog")
            .await
            .unwrap();
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let token = weft_runtime::auth::issue_hs256_token(
            SECRET.as_bytes(),
            "users/kim",
            // A direct call to a backend (no gateway) needs an administrator's token.
            &["weft-admins".to_string()],
            Duration::from_secs(600),
        )
        .unwrap();

        let catalog = serve_catalog(port, &url, dir.path());
        let channel = wait_serving(&address, "weft.catalog.v1.CatalogService").await;
        let mut client = CatalogServiceClient::with_interceptor(channel, Bearer(token.clone()));
        let acknowledged = client
            .create_domain(domain("durable"))
            .await
            .unwrap()
            .into_inner();
        catalog.signal(Signal::SIGKILL);
        drop(catalog);

        let mut restarted = serve_catalog(port, &url, dir.path());
        let channel = wait_serving(&address, "weft.catalog.v1.CatalogService").await;
        let mut client = CatalogServiceClient::with_interceptor(channel, Bearer(token.clone()));
        let found = client
            .get_domain(GetDomainRequest {
                name: "domains/durable".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(found, acknowledged);
        client.create_domain(domain("after-restart")).await.unwrap();
        // The search index caught up with what was written before the kill.
        assert_eq!(
            search_names(&mut client, "durable").await,
            ["domains/durable"]
        );

        let verify = Command::new(WEFT)
            .args(["audit", "verify", "--database-url", &url])
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&verify.stdout);
        assert!(
            verify.status.success(),
            "{printed}{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(printed.contains("intact (2 records)"), "{printed}");

        // Without its index (derived state), the catalog rebuilds it from the database at start.
        restarted.signal(Signal::SIGTERM);
        restarted.expect_line("stopped", Duration::from_secs(15));
        drop(restarted);
        std::fs::remove_dir_all(dir.path().join("catalog-index")).unwrap();
        let rebuilt = serve_catalog(port, &url, dir.path());
        let channel = wait_serving(&address, "weft.catalog.v1.CatalogService").await;
        let mut client = CatalogServiceClient::with_interceptor(channel, Bearer(token.clone()));
        assert_eq!(
            search_names(&mut client, "restart").await,
            ["domains/after-restart"]
        );
        drop(rebuilt);

        // Tampering with a record breaks the chain, and verification says so.
        let db = weft_storage::connect(&url).await.unwrap();
        use sea_orm::ConnectionTrait;
        db.execute_unprepared("UPDATE weft_journal SET actor = 'users/mallory' WHERE seq = 1")
            .await
            .unwrap();
        db.close().await.unwrap();
        let verify = Command::new(WEFT)
            .args(["audit", "verify", "--database-url", &url])
            .output()
            .unwrap();
        assert!(!verify.status.success());
        assert!(String::from_utf8_lossy(&verify.stdout).contains("BROKEN at record 1"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn weft_up_runs_restarts_and_stops_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let base = five_free_ports();
    let mut up = Process::spawn(
        Command::new(WEFT)
            .args(["up", "--port", &base.to_string()])
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("WEFT_DATABASE_URL"),
    );
    up.expect_line("Weft is up", Duration::from_secs(60));
    let catalog_line = up.expect_line("catalog ", Duration::from_secs(5));
    let catalog_pid: i32 = catalog_line
        .split_whitespace()
        .skip_while(|word| *word != "pid")
        .nth(1)
        .and_then(|pid| pid.parse().ok())
        .expect("the summary shows the catalog's pid");
    for service in ["catalog", "governance", "provisioning", "lineage"] {
        assert!(
            data_dir.join(format!("{service}.db")).exists(),
            "{service} has its own database"
        );
    }
    // Provisioning's sealing key: generated once, its owner's only.
    let key = data_dir.join("provisioning.key");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&key).unwrap().trim().len(), 64);

    let gateway = format!("127.0.0.1:{base}");
    let channel = wait_serving(&gateway, "weft.catalog.v1.CatalogService").await;
    let admin_token = std::fs::read_to_string(data_dir.join("admin.token")).unwrap();
    let caller =
        PortalServiceClient::with_interceptor(channel.clone(), Bearer(admin_token.clone()))
            .get_caller(GetCallerRequest {})
            .await
            .unwrap()
            .into_inner();
    assert!(caller.admin);
    let mut catalog = CatalogServiceClient::with_interceptor(channel.clone(), Bearer(admin_token));
    catalog.create_domain(domain("sales")).await.unwrap();

    // `weft token issue` mints tokens the suite accepts.
    let issued = Command::new(WEFT)
        .args(["token", "issue", "--sub", "alice", "--group", "analysts"])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(issued.status.success());
    let alice = String::from_utf8(issued.stdout).unwrap().trim().to_string();
    let caller = PortalServiceClient::with_interceptor(channel.clone(), Bearer(alice))
        .get_caller(GetCallerRequest {})
        .await
        .unwrap()
        .into_inner();
    let principal = caller.principal.unwrap();
    assert_eq!(
        (principal.subject.as_str(), principal.groups),
        ("users/alice", vec!["analysts".to_string()])
    );

    // A service that dies is reported and restarted, and its data is still there.
    kill(Pid::from_raw(catalog_pid), Signal::SIGKILL).unwrap();
    up.expect_line("catalog exited", Duration::from_secs(10));
    up.expect_line("catalog restarted", Duration::from_secs(10));
    let channel = wait_serving(&gateway, "weft.catalog.v1.CatalogService").await;
    let _ = channel;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match catalog
            .get_domain(GetDomainRequest {
                name: "domains/sales".into(),
            })
            .await
        {
            Ok(found) => {
                assert_eq!(found.into_inner().name, "domains/sales");
                break;
            }
            Err(error) if Instant::now() < deadline => {
                eprintln!("waiting for the restarted catalog: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the restarted catalog does not answer: {error}"),
        }
    }

    up.signal(Signal::SIGTERM);
    up.expect_line("all services stopped", Duration::from_secs(30));
    let status = up.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let verify = Command::new(WEFT)
        .args(["audit", "verify"])
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("catalog: intact (1 records)"));
}
