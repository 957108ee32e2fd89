//! The real openlineage-python client (HTTP transport, bearer token, gzip) sends a three-job
//! pipeline to the gateway's `/api/v1/lineage`; the stored graph is then read over gRPC. The
//! transport's edge cases (a batch with an invalid event, bad bodies, no token) are driven with
//! plain HTTP by the same script. SQLite and PostgreSQL. `tests/setup.sh` installs the client.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use weft_proto::weft::lineage::v1::*;
use weft_tests::lineage;

const WAREHOUSE: &str = "postgres://dw.example:5432";

#[tokio::test(flavor = "multi_thread")]
async fn the_openlineage_python_client_sends_a_pipeline_over_http() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/openlineage_pipeline.py");
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let suite = weft_testkit::TestSuite::start(backend).await.unwrap();
        let token = suite.token("users/airflow", &[]);
        let url = format!("http://{}", suite.gateway_address());
        let (script, sent_token) = (script.clone(), token.clone());
        let output = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(script)
                .arg(url)
                .arg(sent_token)
                .output()
        })
        .await
        .unwrap()
        .expect("python3 runs (tests/setup.sh installs openlineage-python)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "the client failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_str(stdout.trim()).unwrap();

        // The batch kept its two valid events (the same one twice) and reported the invalid one.
        assert_eq!(report["batch"][0], 200, "{report}");
        let batch = &report["batch"][1];
        assert_eq!(batch["status"], "partial_success");
        assert_eq!(batch["summary"]["received"], 3);
        assert_eq!(batch["summary"]["successful"], 2);
        assert_eq!(batch["failed_events"][0]["index"], 1);
        assert_eq!(batch["failed_events"][0]["path"], "$.run.runId");
        assert_eq!(report["gzip_batch"], 200);
        assert_eq!(report["invalid_single"][0], 400);
        assert_eq!(report["invalid_single"][1]["path"], "$.run.runId");
        assert_eq!(report["not_json"], 400);
        assert_eq!(report["not_array"], 400);
        assert_eq!(report["anonymous"], 401);
        assert_eq!(report["forged"], 401);

        // What the client sent is the graph lineage serves over gRPC.
        let mut client = lineage(&suite, &token);
        let raw = format!("dataset:{WAREHOUSE}:py.raw_customers");
        let graph = client
            .get_lineage_graph(GetLineageGraphRequest {
                node: raw.clone(),
                direction: Direction::Both as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<&str> = graph.nodes.iter().map(|n| n.id.as_str()).collect();
        for expected in [
            "job:py:py_extract",
            "job:py:py_mask",
            "job:py:py_revenue",
            "dataset:postgres://db.example:5432:shop.public.customers",
            "dataset:postgres://dw.example:5432:py.clean_customers",
            "dataset:postgres://dw.example:5432:py.customer_count",
        ] {
            assert!(ids.contains(&expected), "{expected} missing from {ids:?}");
        }
        let columns = client
            .get_column_lineage(GetColumnLineageRequest {
                column: format!("column:{WAREHOUSE}:py.raw_customers#email"),
                direction: Direction::Downstream as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(columns.edges.len(), 1);
        assert!(columns.edges[0].masking);
        let runs = client
            .list_runs(ListRunsRequest {
                job: "job:py:py_revenue".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs;
        assert_eq!(runs[0].state(), RunState::Fail);
        assert_eq!(runs[0].error_message, "relation py.raw_customers is locked");
        let runs = client
            .list_runs(ListRunsRequest {
                job: "job:py:py_extract".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs;
        assert_eq!(runs[0].state(), RunState::Complete);
        suite.stop().await.unwrap();
    }
}
