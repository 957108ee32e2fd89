//! Lineage over gRPC through the gateway, on SQLite and PostgreSQL: OpenLineage events of a
//! three-job pipeline (column lineage, a masking step, a failed run) are ingested once
//! (idempotent), the graph answers upstream / downstream / depth / as-of / paged queries and
//! column lineage, runs keep their states, invalid events are refused with their JSON path and
//! never cost a batch its valid events, and the graph is the same after lineage restarts.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tonic::Code;
use weft_proto::weft::lineage::v1::*;
use weft_runtime::ServiceKind;
use weft_tests::openlineage::{
    Step, column_id as column, dataset_id as dataset, run_event as event,
};
use weft_tests::{Lineage, bad_field_messages, lineage, on_every_backend};

const PG: &str = "postgres://db.example:5432";
const WAREHOUSE: &str = "postgres://dw.example:5432";

const EXTRACT: Step<'static> = Step {
    job: "extract_orders",
    input_namespace: PG,
    input: "shop.public.orders",
    input_fields: &["id", "email", "amount"],
    output_namespace: WAREHOUSE,
    output: "raw.orders",
    output_fields: &["id", "email", "amount"],
    columns: &[
        ("id", "id", "IDENTITY", false),
        ("email", "email", "IDENTITY", false),
        ("amount", "amount", "IDENTITY", false),
    ],
};
const MASK: Step<'static> = Step {
    job: "mask_orders",
    input_namespace: WAREHOUSE,
    input: "raw.orders",
    input_fields: &["id", "email", "amount"],
    output_namespace: WAREHOUSE,
    output: "clean.orders",
    output_fields: &["id", "email_hash"],
    columns: &[
        ("id", "id", "IDENTITY", false),
        ("email_hash", "email", "TRANSFORMATION", true),
    ],
};
const REVENUE: Step<'static> = Step {
    job: "daily_revenue",
    input_namespace: WAREHOUSE,
    input: "raw.orders",
    input_fields: &["id", "email", "amount"],
    output_namespace: WAREHOUSE,
    output: "mart.revenue",
    output_fields: &["total"],
    columns: &[("total", "amount", "AGGREGATION", false)],
};

const RUN_1: &str = "0194a0b0-0000-7000-8000-000000000001";
const RUN_2: &str = "0194a0b0-0000-7000-8000-000000000002";
const RUN_3: &str = "0194a0b0-0000-7000-8000-000000000003";

fn pipeline() -> Vec<String> {
    let failure = json!({"errorMessage": {"_producer": "https://weft.test", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json",
                                          "message": "division by zero", "programmingLanguage": "SQL"}});
    vec![
        event("START", RUN_1, "2026-11-23T01:00:00Z", &EXTRACT, json!({})),
        event(
            "COMPLETE",
            RUN_1,
            "2026-11-23T01:05:00Z",
            &EXTRACT,
            json!({}),
        ),
        event("START", RUN_2, "2026-11-23T02:00:00Z", &MASK, json!({})),
        event("COMPLETE", RUN_2, "2026-11-23T02:01:30Z", &MASK, json!({})),
        event("START", RUN_3, "2026-11-23T03:00:00Z", &REVENUE, json!({})),
        event("FAIL", RUN_3, "2026-11-23T03:00:10Z", &REVENUE, failure),
    ]
}

async fn graph(
    client: &mut Lineage,
    node: &str,
    direction: Direction,
    depth: i32,
) -> GetLineageGraphResponse {
    client
        .get_lineage_graph(GetLineageGraphRequest {
            node: node.into(),
            direction: direction as i32,
            depth,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

fn node_ids(response: &GetLineageGraphResponse) -> BTreeSet<String> {
    response.nodes.iter().map(|n| n.id.clone()).collect()
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_is_ingested_once_and_its_graph_answers_bounded_queries() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let mut suite = weft_testkit::TestSuite::start(backend).await.unwrap();
        let token = suite.lineage_producer_token("users/airflow");
        let mut client = lineage(&suite, &token);
        for json in pipeline() {
            let created = client
                .ingest_event(IngestEventRequest { event_json: json })
                .await
                .unwrap()
                .into_inner()
                .created;
            assert!(created);
        }
        // The same event again (even re-serialized with other spacing) changes nothing.
        let again: Value = serde_json::from_str(&pipeline()[1]).unwrap();
        let again = client
            .ingest_event(IngestEventRequest {
                event_json: serde_json::to_string_pretty(&again).unwrap(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!again.created);

        let raw = dataset(WAREHOUSE, "raw.orders");
        let extract = "job:etl:extract_orders".to_string();
        let mask = "job:etl:mask_orders".to_string();
        let revenue = "job:etl:daily_revenue".to_string();
        let down = graph(&mut client, &raw, Direction::Downstream, 0).await;
        assert_eq!(
            node_ids(&down),
            set(&[
                raw.clone(),
                mask.clone(),
                revenue.clone(),
                dataset(WAREHOUSE, "clean.orders"),
                dataset(WAREHOUSE, "mart.revenue")
            ])
        );
        assert_eq!(down.edges.len(), 4);
        assert!(!down.truncated);
        let up = graph(&mut client, &raw, Direction::Upstream, 0).await;
        assert_eq!(
            node_ids(&up),
            set(&[
                raw.clone(),
                extract.clone(),
                dataset(PG, "shop.public.orders")
            ])
        );
        let edge = up.edges.iter().find(|e| e.target == raw).unwrap();
        assert_eq!(
            (edge.source.as_str(), edge.kind()),
            (extract.as_str(), EdgeKind::Output)
        );
        let near = graph(&mut client, &raw, Direction::Both, 1).await;
        assert_eq!(
            node_ids(&near),
            set(&[raw.clone(), extract.clone(), mask.clone(), revenue.clone()])
        );
        let states: Vec<(String, RunState)> = near
            .nodes
            .iter()
            .filter(|n| n.kind() == NodeKind::Job)
            .map(|n| (n.id.clone(), n.latest_run_state()))
            .collect();
        assert!(
            states.contains(&(revenue.clone(), RunState::Fail)),
            "{states:?}"
        );
        assert!(
            states.contains(&(extract.clone(), RunState::Complete)),
            "{states:?}"
        );

        // A node cap truncates instead of failing; pages split the nodes and every edge
        // comes once over the pages.
        let capped = client
            .get_lineage_graph(GetLineageGraphRequest {
                node: raw.clone(),
                direction: Direction::Both as i32,
                max_nodes: 3,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(capped.truncated);
        assert_eq!(capped.nodes.len(), 3);
        let mut paged = Vec::new();
        let mut edges = 0;
        let mut page_token = String::new();
        loop {
            let page = client
                .get_lineage_graph(GetLineageGraphRequest {
                    node: raw.clone(),
                    direction: Direction::Both as i32,
                    page_size: 2,
                    page_token: page_token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert!(page.nodes.len() <= 2);
            paged.extend(page.nodes.into_iter().map(|n| n.id));
            edges += page.edges.len();
            page_token = page.next_page_token;
            if page_token.is_empty() {
                break;
            }
        }
        let whole = graph(&mut client, &raw, Direction::Both, 0).await;
        assert_eq!(
            paged,
            whole.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>()
        );
        assert_eq!(edges, whole.edges.len());

        // Column lineage: email flows to clean.orders through a masking step.
        let email = column(WAREHOUSE, "raw.orders", "email");
        let columns = client
            .get_column_lineage(GetColumnLineageRequest {
                column: email.clone(),
                direction: Direction::Both as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            node_ids(&columns),
            set(&[
                email.clone(),
                column(PG, "shop.public.orders", "email"),
                column(WAREHOUSE, "clean.orders", "email_hash")
            ])
        );
        let masked = columns.edges.iter().find(|e| e.source == email).unwrap();
        assert!(masked.masking);
        assert_eq!(
            (masked.subtype.as_str(), masked.job.as_str(), masked.kind()),
            ("TRANSFORMATION", mask.as_str(), EdgeKind::Direct)
        );

        // Runs: states, times, the error of the failed one.
        let runs = client
            .list_runs(ListRunsRequest {
                job: revenue.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].state(), RunState::Fail);
        assert_eq!(runs[0].error_message, "division by zero");
        assert_eq!(runs[0].duration.unwrap().seconds, 10);
        assert_eq!(runs[0].inputs, vec![raw.clone()]);
        let dataset_row = client
            .get_dataset(GetDatasetRequest {
                id: dataset(WAREHOUSE, "clean.orders"),
            })
            .await
            .unwrap()
            .into_inner();
        let fields: Vec<_> = dataset_row.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(fields, ["id", "email_hash"]);
        let jobs = client
            .list_jobs(ListJobsRequest {
                namespace: "etl".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .jobs;
        assert_eq!(jobs.len(), 3);
        let extract_job = jobs.iter().find(|j| j.id == extract).unwrap();
        assert!(!extract_job.current_version.is_empty());
        assert_eq!(
            extract_job.latest_run.as_ref().unwrap().state(),
            RunState::Complete
        );

        // extract_orders changes: a later completed run writes raw.orders_v2 instead. The
        // graph now shows the new edge; as of before the change, the old one.
        let moved = Step {
            output: "raw.orders_v2",
            ..EXTRACT
        };
        let run_4 = "0194a0b0-0000-7000-8000-000000000004";
        for json in [
            event("START", run_4, "2026-11-23T05:00:00Z", &moved, json!({})),
            event("COMPLETE", run_4, "2026-11-23T05:03:00Z", &moved, json!({})),
        ] {
            client
                .ingest_event(IngestEventRequest { event_json: json })
                .await
                .unwrap();
        }
        let now = graph(&mut client, &extract, Direction::Downstream, 1).await;
        assert_eq!(
            node_ids(&now),
            set(&[extract.clone(), dataset(WAREHOUSE, "raw.orders_v2")])
        );
        let before = client
            .get_lineage_graph(GetLineageGraphRequest {
                node: extract.clone(),
                direction: Direction::Downstream as i32,
                depth: 1,
                as_of: Some(prost_types::Timestamp {
                    seconds: 1_795_392_000 + 4 * 3600,
                    nanos: 0,
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(node_ids(&before), set(&[extract.clone(), raw.clone()]));
        let jobs = client
            .list_jobs(ListJobsRequest {
                namespace: "etl".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .jobs;
        let changed = jobs.iter().find(|j| j.id == extract).unwrap();
        assert_ne!(changed.current_version, extract_job.current_version);

        // After a restart the graph is rebuilt from the database: same answers.
        let whole = graph(&mut client, &raw, Direction::Both, 0).await;
        assert!(
            !node_ids(&whole).contains(&extract),
            "extract no longer writes raw.orders"
        );
        suite.stop_service(ServiceKind::Lineage).await.unwrap();
        suite.start_service(ServiceKind::Lineage).await.unwrap();
        let mut client = lineage(&suite, &token);
        let reloaded = graph(&mut client, &raw, Direction::Both, 0).await;
        assert_eq!(node_ids(&reloaded), node_ids(&whole));
        assert_eq!(reloaded.edges.len(), whole.edges.len());
        let reloaded_now = graph(&mut client, &extract, Direction::Downstream, 1).await;
        assert_eq!(node_ids(&reloaded_now), node_ids(&now));
        suite.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_events_are_refused_with_their_path_and_spare_the_valid_ones() {
    on_every_backend!(|suite| {
        let token = suite.lineage_producer_token("users/airflow");
        let mut client = lineage(&suite, &token);
        let valid = pipeline();
        let no_run_id = valid[0].replace(RUN_1, "not-a-uuid");
        let status = client
            .ingest_event(IngestEventRequest {
                event_json: no_run_id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let messages = bad_field_messages(&status);
        assert_eq!(messages[0].0, "event_json");
        assert!(messages[0].1.starts_with("$.run.runId:"), "{messages:?}");
        let status = client
            .ingest_event(IngestEventRequest {
                event_json: "{\"eventTime\": 1}".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);

        let batch = client
            .ingest_events(IngestEventsRequest {
                events_json: vec![
                    valid[0].clone(),
                    no_run_id.clone(),
                    "not json".into(),
                    valid[1].clone(),
                ],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(batch.succeeded, 2);
        let failed: Vec<(i32, &str)> = batch
            .failed
            .iter()
            .map(|f| (f.index, f.path.as_str()))
            .collect();
        assert_eq!(failed, [(1, "$.run.runId"), (2, "$")]);
        let runs = client
            .list_runs(ListRunsRequest {
                job: "job:etl:extract_orders".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].state(), RunState::Complete);

        for (request, code, field) in [
            (
                GetLineageGraphRequest {
                    node: "dataset:nowhere:x".into(),
                    ..Default::default()
                },
                Code::NotFound,
                "",
            ),
            (
                GetLineageGraphRequest::default(),
                Code::InvalidArgument,
                "node",
            ),
            (
                GetLineageGraphRequest {
                    node: dataset(PG, "shop.public.orders"),
                    max_nodes: -1,
                    ..Default::default()
                },
                Code::InvalidArgument,
                "max_nodes",
            ),
            (
                GetLineageGraphRequest {
                    node: dataset(PG, "shop.public.orders"),
                    depth: -2,
                    ..Default::default()
                },
                Code::InvalidArgument,
                "depth",
            ),
            (
                GetLineageGraphRequest {
                    node: dataset(PG, "shop.public.orders"),
                    page_size: 1,
                    page_token: "forged".into(),
                    ..Default::default()
                },
                Code::InvalidArgument,
                "page_token",
            ),
        ] {
            let status = client.get_lineage_graph(request).await.unwrap_err();
            assert_eq!(status.code(), code, "{status:?}");
            if !field.is_empty() {
                assert_eq!(bad_field_messages(&status)[0].0, field);
            }
        }
        let status = client
            .get_column_lineage(GetColumnLineageRequest {
                column: dataset(PG, "shop.public.orders"),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let status = client
            .list_runs(ListRunsRequest {
                job: "job:etl:nothing".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let status = client
            .ingest_event(IngestEventRequest {
                event_json: valid[0].clone(),
            })
            .await;
        assert!(!status.unwrap().into_inner().created);

        // Only lineage producers (and administrators) may send events, valid or not.
        let mut reader = lineage(&suite, &suite.token("users/olivia", &["analysts"]));
        for status in [
            reader
                .ingest_events(IngestEventsRequest {
                    events_json: valid.clone(),
                })
                .await
                .unwrap_err(),
            reader
                .ingest_event(IngestEventRequest {
                    event_json: no_run_id.clone(),
                })
                .await
                .unwrap_err(),
        ] {
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            assert!(
                status.message().contains("weft-lineage-producers"),
                "{status:?}"
            );
        }
    });
}

/// The events these tests send are themselves valid OpenLineage: checked against ../shared's
/// copy of the spec (not the service's vendored one) and the column lineage facet's schema.
#[test]
fn the_test_events_validate_against_the_openlineage_spec() {
    let specs =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/openlineage");
    let read = |path: std::path::PathBuf| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}")),
        )
        .unwrap()
    };
    let spec = read(specs.join("OpenLineage.json"));
    let facet = read(specs.join("facets/ColumnLineageDatasetFacet.json"));
    let facet_id = facet["$id"].as_str().unwrap().to_string();
    let registry = jsonschema::Registry::new()
        .add(
            "https://openlineage.io/spec/2-0-2/OpenLineage.json",
            spec.clone(),
        )
        .unwrap()
        .add(facet_id.clone(), facet)
        .unwrap()
        .prepare()
        .unwrap();
    let build = |schema: Value| {
        jsonschema::options()
            .should_validate_formats(true)
            .offline()
            .with_registry(&registry)
            .build(&schema)
            .unwrap()
    };
    let event_schema = build(spec);
    let column_lineage = build(json!({"$ref": facet_id}));
    let moved = Step {
        output: "raw.orders_v2",
        ..EXTRACT
    };
    let mut events = pipeline();
    events.push(event(
        "COMPLETE",
        RUN_3,
        "2026-11-23T05:00:00Z",
        &moved,
        json!({}),
    ));
    for text in events {
        let event: Value = serde_json::from_str(&text).unwrap();
        let faults: Vec<String> = event_schema
            .iter_errors(&event)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(faults.is_empty(), "{faults:?}");
        for output in event["outputs"].as_array().unwrap() {
            assert!(
                column_lineage.is_valid(&output["facets"]),
                "{}",
                output["facets"]
            );
        }
    }
}
