//! Lineage joined with the catalog and governance, through the gateway on SQLite and
//! PostgreSQL: datasets link to the catalog assets at their location; a `pii=email` tag on a
//! source column propagates two hops downstream along DIRECT column lineage but not through a
//! masking step, shows in the catalog as inherited with its path, takes part in tag-based grants,
//! and goes away when the source tag is removed; the impact report names the affected assets,
//! products, owners and subscribers; bad arguments are refused.

use std::time::Duration;

use serde_json::json;
use tonic::Code;
use weft_proto::weft::catalog::v1::catalog_internal_service_client::CatalogInternalServiceClient;
use weft_proto::weft::catalog::v1::{
    Asset, ColumnInheritedTags, CreateDataProductRequest, DataProduct, GetAssetRequest,
    InheritedTag, PublishDataProductRequest, Schema, SetInheritedTagsRequest, SubscriptionPolicy,
    UpdateAssetRequest,
};
use weft_proto::weft::common::v1::{Permission, Tag};
use weft_proto::weft::gateway::v1::GetImpactReportRequest;
use weft_proto::weft::gateway::v1::portal_service_client::PortalServiceClient;
use weft_proto::weft::governance::v1::*;
use weft_proto::weft::lineage::v1::{
    AnalyzeImpactRequest, Direction, GetDatasetRequest, GetLineageGraphRequest,
    GetLineageGraphResponse, IngestEventsRequest, ListDatasetsRequest, NodeKind,
};
use weft_runtime::ServiceKind;
use weft_testkit::{Bearer, TestSuite};
use weft_tests::openlineage::{Step, column_id, dataset_id, run_event};
use weft_tests::{
    Catalog, bad_fields, catalog, create_table_asset, declare_classification,
    disable_default_rules, domain_request, governance, lineage, may_select, on_every_backend,
    precondition_violations, string_column,
};

const SHOP: &str = "postgres://shop.example:5432";
const WAREHOUSE: &str = "postgres://dw.example:5432";
const SALES: &str = "domains/sales/dataProducts/orders";
const MARKETING: &str = "domains/sales/dataProducts/contacts";

const EXTRACT: Step<'static> = Step {
    job: "extract_orders",
    input_namespace: SHOP,
    input: "shop.public.orders",
    input_fields: &["id", "email"],
    output_namespace: WAREHOUSE,
    output: "raw.orders",
    output_fields: &["id", "email"],
    columns: &[
        ("id", "id", "IDENTITY", false),
        ("email", "email", "IDENTITY", false),
    ],
};
const CONTACTS: Step<'static> = Step {
    job: "build_contacts",
    input_namespace: WAREHOUSE,
    input: "raw.orders",
    input_fields: &["id", "email"],
    output_namespace: WAREHOUSE,
    output: "mart.contacts",
    output_fields: &["contact"],
    columns: &[("contact", "email", "IDENTITY", false)],
};
const MASK: Step<'static> = Step {
    job: "mask_orders",
    input_namespace: WAREHOUSE,
    input: "raw.orders",
    input_fields: &["id", "email"],
    output_namespace: WAREHOUSE,
    output: "clean.orders",
    output_fields: &["id", "email_hash"],
    columns: &[
        ("id", "id", "IDENTITY", false),
        ("email_hash", "email", "TRANSFORMATION", true),
    ],
};

fn asset_name(product: &str, id: &str) -> String {
    format!("{product}/assets/{id}")
}

fn pii() -> Tag {
    Tag {
        key: "pii".into(),
        value: "email".into(),
    }
}

async fn create_product(client: &mut Catalog, name: &str, owner: &str, auto_approve: bool) {
    let (parent, id) = name.split_once("/dataProducts/").unwrap();
    client
        .create_data_product(CreateDataProductRequest {
            parent: parent.into(),
            data_product_id: id.into(),
            data_product: Some(DataProduct {
                display_name: id.into(),
                description: format!("The {id} of the sales domain."),
                owners: vec![owner.into()],
                subscription_policy: Some(SubscriptionPolicy {
                    auto_approve,
                    approvers: vec![],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

/// The inherited tags of an asset's column, as the catalog shows them.
async fn inherited(client: &mut Catalog, asset: &str, column: &str) -> Vec<InheritedTag> {
    let asset = client
        .get_asset(GetAssetRequest { name: asset.into() })
        .await
        .unwrap()
        .into_inner();
    asset
        .schema
        .unwrap()
        .columns
        .into_iter()
        .find(|c| c.name == column)
        .unwrap()
        .inherited_tags
}

/// Waits (at most 10 s) until the column's inherited tags satisfy `done`.
async fn wait_inherited(
    client: &mut Catalog,
    asset: &str,
    column: &str,
    done: impl Fn(&[InheritedTag]) -> bool,
) -> Vec<InheritedTag> {
    for _ in 0..100 {
        let tags = inherited(client, asset, column).await;
        if done(&tags) {
            return tags;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{asset}#{column} never reached the expected inherited tags: {:?}",
        inherited(client, asset, column).await
    );
}

async fn subject_may_select(suite: &TestSuite, subject: &str, resource: &str) -> bool {
    may_select(&mut governance(suite, &suite.token(subject, &[])), resource).await
}

/// Waits (at most 10 s) until `subject`'s SELECT on `resource` is decided `allowed`.
async fn wait_decision(suite: &TestSuite, subject: &str, resource: &str, allowed: bool) {
    for _ in 0..100 {
        if subject_may_select(suite, subject, resource).await == allowed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("SELECT on {resource} by {subject} never became {allowed}");
}

/// The catalog and a pipeline: `orders` (email tagged pii=email) feeds `raw_orders`, which
/// feeds `contacts` (another product, another owner) directly and `clean_orders` through a
/// masking hash.
async fn set_up(suite: &TestSuite) {
    disable_default_rules(suite).await;
    let mut admin = catalog(suite, &suite.admin_token());
    declare_classification(&mut admin, "pii", &["email"]).await;
    admin
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    create_product(&mut admin, SALES, "users/olivia", false).await;
    create_product(&mut admin, MARKETING, "users/mia", true).await;
    create_table_asset(
        &mut admin,
        SALES,
        "orders",
        (SHOP, "shop.public.orders"),
        vec![
            string_column("id", &[]),
            string_column("email", &["pii=email"]),
        ],
    )
    .await;
    create_table_asset(
        &mut admin,
        SALES,
        "raw-orders",
        (WAREHOUSE, "raw.orders"),
        vec![string_column("id", &[]), string_column("email", &[])],
    )
    .await;
    create_table_asset(
        &mut admin,
        SALES,
        "clean-orders",
        (WAREHOUSE, "clean.orders"),
        vec![string_column("id", &[]), string_column("email_hash", &[])],
    )
    .await;
    create_table_asset(
        &mut admin,
        MARKETING,
        "contacts",
        (WAREHOUSE, "mart.contacts"),
        vec![string_column("contact", &[])],
    )
    .await;
    admin
        .publish_data_product(PublishDataProductRequest {
            name: MARKETING.into(),
            etag: String::new(),
        })
        .await
        .unwrap();

    let mut pipeline = lineage(suite, &suite.lineage_producer_token("users/airflow"));
    let mut events = Vec::new();
    for (index, step) in [EXTRACT, CONTACTS, MASK].iter().enumerate() {
        let run = format!("0194a0b0-0000-7000-8000-00000000010{index}");
        let time = format!("2026-11-23T0{index}:00:00Z");
        events.push(run_event("COMPLETE", &run, &time, step, json!({})));
    }
    let outcome = pipeline
        .ingest_events(IngestEventsRequest {
            events_json: events,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

/// Project "projects/growth" of users/gus, subscribed to the contacts product (auto-approved).
async fn subscribe_growth(suite: &TestSuite) {
    let mut gus = governance(suite, &suite.token("users/gus", &[]));
    gus.create_project(CreateProjectRequest {
        project_id: "growth".into(),
        project: Some(Project {
            display_name: "Growth".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let wanted = CreateSubscriptionRequestRequest {
        subscription_request: Some(SubscriptionRequest {
            project: "projects/growth".into(),
            data_product: MARKETING.into(),
            justification: "Reaching customers who ordered last month.".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    for _ in 0..100 {
        match gus.create_subscription_request(wanted.clone()).await {
            Ok(created) => {
                assert_eq!(
                    created.into_inner().state(),
                    SubscriptionRequestState::Approved
                );
                return;
            }
            // Governance's projection has not seen the publish yet.
            Err(status)
                if status.code() == Code::NotFound
                    || precondition_violations(&status)
                        .iter()
                        .any(|(kind, _)| kind == "NOT_PUBLISHED") =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) => panic!("subscription refused: {status}"),
        }
    }
    panic!("governance never saw the published contacts product");
}

#[tokio::test(flavor = "multi_thread")]
async fn classification_tags_propagate_along_column_lineage_and_impact_reaches_subscribers() {
    on_every_backend!(|suite| {
        set_up(&suite).await;
        let mut admin = catalog(&suite, &suite.admin_token());
        let orders = asset_name(SALES, "orders");
        let raw = asset_name(SALES, "raw-orders");
        let clean = asset_name(SALES, "clean-orders");
        let contacts = asset_name(MARKETING, "contacts");
        let source_column = column_id(SHOP, "shop.public.orders", "email");
        let raw_email = column_id(WAREHOUSE, "raw.orders", "email");
        let contact = column_id(WAREHOUSE, "mart.contacts", "contact");

        // Two hops downstream, with the path that carried it.
        let tags = wait_inherited(&mut admin, &contacts, "contact", |t| !t.is_empty()).await;
        assert_eq!(
            tags,
            vec![InheritedTag {
                tag: Some(pii()),
                source: format!("{orders}#email"),
                path: vec![source_column.clone(), raw_email.clone(), contact.clone()],
            }]
        );
        // Each asset is updated in its own transaction: the other one may come a moment later.
        let one_hop = wait_inherited(&mut admin, &raw, "email", |t| !t.is_empty()).await;
        assert_eq!(one_hop.len(), 1);
        assert_eq!(
            one_hop[0].path,
            vec![source_column.clone(), raw_email.clone()]
        );
        // Not through the masking hash, and not onto columns it does not flow into.
        assert!(inherited(&mut admin, &clean, "email_hash").await.is_empty());
        assert!(inherited(&mut admin, &raw, "id").await.is_empty());

        // Lineage nodes carry their catalog link and the column's tags.
        let mut client = lineage(&suite, &suite.token("users/olivia", &[]));
        let graph = client
            .get_lineage_graph(GetLineageGraphRequest {
                node: contact.clone(),
                direction: Direction::Upstream as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let node = graph.nodes.iter().find(|n| n.id == contact).unwrap();
        assert_eq!(
            (node.asset.as_str(), node.data_product.as_str()),
            (contacts.as_str(), MARKETING)
        );
        assert_eq!(node.tags, vec![pii()]);
        let source = graph.nodes.iter().find(|n| n.id == source_column).unwrap();
        assert_eq!(source.asset, orders);
        let datasets = client
            .get_lineage_graph(GetLineageGraphRequest {
                node: dataset_id(WAREHOUSE, "raw.orders"),
                direction: Direction::Both as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for dataset in datasets
            .nodes
            .iter()
            .filter(|n| n.kind() == NodeKind::Dataset)
        {
            assert!(
                !dataset.asset.is_empty(),
                "{} is in the catalog",
                dataset.id
            );
        }
        let dataset = client
            .get_dataset(GetDatasetRequest {
                id: dataset_id(WAREHOUSE, "mart.contacts"),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(dataset.asset, contacts);

        // The inherited tag takes part in tag-based grants.
        governance(&suite, &suite.admin_token())
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "users/dpo".into(),
                    target: Some(grant::Target::TagExpression(TagExpression {
                        clauses: vec![TagClause {
                            key: "pii".into(),
                            values: vec!["email".into()],
                        }],
                    })),
                    permissions: vec![Permission::Select as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        wait_decision(&suite, "users/dpo", &format!("{contacts}#contact"), true).await;
        assert!(!subject_may_select(&suite, "users/dpo", &format!("{clean}#email_hash")).await);

        // The impact report: affected datasets with assets, products, owners, subscribers.
        subscribe_growth(&suite).await;
        let mut portal = PortalServiceClient::with_interceptor(
            suite.gateway_channel(),
            Bearer(suite.token("users/olivia", &[])),
        );
        let report = portal
            .get_impact_report(GetImpactReportRequest {
                node: orders.clone(),
                depth: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let affected: Vec<(String, i32, String)> = report
            .datasets
            .iter()
            .map(|d| (d.dataset.clone(), d.distance, d.asset.clone()))
            .collect();
        assert_eq!(
            affected,
            vec![
                (dataset_id(WAREHOUSE, "raw.orders"), 1, raw.clone()),
                (dataset_id(WAREHOUSE, "clean.orders"), 2, clean.clone()),
                (dataset_id(WAREHOUSE, "mart.contacts"), 2, contacts.clone()),
            ]
        );
        assert_eq!(
            report.data_products,
            vec![MARKETING.to_string(), SALES.to_string()]
        );
        assert_eq!(report.owners, vec!["users/mia", "users/olivia"]);
        assert_eq!(report.subscribers, vec!["projects/growth"]);
        let marketing = report
            .datasets
            .iter()
            .find(|d| d.asset == contacts)
            .unwrap();
        assert_eq!(marketing.owners, vec!["users/mia"]);
        assert_eq!(marketing.subscribers, vec!["projects/growth"]);
        assert_eq!(report.propagated_tags, vec![pii()]);
        assert!(!report.truncated);

        // Depth 1 and a column: only what that column's values reach.
        let near = portal
            .get_impact_report(GetImpactReportRequest {
                node: dataset_id(SHOP, "shop.public.orders"),
                depth: 1,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(near.datasets.len(), 1);
        assert_eq!(near.subscribers, Vec::<String>::new());
        let by_column = lineage(&suite, &suite.token("users/olivia", &[]))
            .analyze_impact(AnalyzeImpactRequest {
                node: raw_email.clone(),
                depth: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let columns: Vec<(String, Vec<String>)> = by_column
            .datasets
            .iter()
            .map(|d| (d.dataset.clone(), d.columns.clone()))
            .collect();
        assert_eq!(
            columns,
            vec![
                (
                    dataset_id(WAREHOUSE, "clean.orders"),
                    vec!["email_hash".to_string()]
                ),
                (
                    dataset_id(WAREHOUSE, "mart.contacts"),
                    vec!["contact".to_string()]
                ),
            ]
        );

        // Turning the source tag off removes what it propagated, and the grant no longer
        // reaches the column.
        admin
            .update_asset(UpdateAssetRequest {
                asset: Some(Asset {
                    name: orders.clone(),
                    schema: Some(Schema {
                        columns: vec![string_column("id", &[]), string_column("email", &[])],
                    }),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["schema".into()],
                }),
            })
            .await
            .unwrap();
        wait_inherited(&mut admin, &contacts, "contact", <[InheritedTag]>::is_empty).await;
        wait_inherited(&mut admin, &raw, "email", <[InheritedTag]>::is_empty).await;
        wait_decision(&suite, "users/dpo", &format!("{contacts}#contact"), false).await;
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_impact_questions_and_foreign_tag_writers_are_refused() {
    on_every_backend!(|suite| {
        set_up(&suite).await;
        let mut client = lineage(&suite, &suite.token("users/olivia", &[]));
        let ask = |node: &str, depth: i32| AnalyzeImpactRequest {
            node: node.into(),
            depth,
        };
        let status = client.analyze_impact(ask("", 0)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["node"]);
        let status = client
            .analyze_impact(ask(&dataset_id(WAREHOUSE, "raw.orders"), -1))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["depth"]);
        let status = client
            .analyze_impact(ask("job:etl:extract_orders", 0))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), ["node"]);
        let status = client
            .analyze_impact(ask(&dataset_id(WAREHOUSE, "nowhere"), 0))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let status = client
            .analyze_impact(ask(&asset_name(SALES, "missing"), 0))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);

        // Inherited tags are lineage's: another service's certificate is refused, and a bad
        // request from lineage names its fields.
        let contacts = asset_name(MARKETING, "contacts");
        let set = |asset: &str, source: &str| SetInheritedTagsRequest {
            columns: vec![ColumnInheritedTags {
                asset: asset.into(),
                column: "contact".into(),
                tags: vec![InheritedTag {
                    tag: Some(pii()),
                    source: source.into(),
                    path: vec![],
                }],
            }],
        };
        let mut as_governance = CatalogInternalServiceClient::new(
            suite
                .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Governance))
                .unwrap(),
        );
        let status = as_governance
            .set_inherited_tags(set(&contacts, "x#y"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let mut as_lineage = CatalogInternalServiceClient::new(
            suite
                .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Lineage))
                .unwrap(),
        );
        let status = as_lineage
            .set_inherited_tags(set("domains/sales", ""))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&status),
            ["columns[0].asset", "columns[0].tags[0].source"]
        );
        // An asset that does not exist (any more) is skipped, not an error.
        let skipped = as_lineage
            .set_inherited_tags(set(&asset_name(SALES, "gone"), "x#y"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(skipped.updated, 0);
    });
}

#[tokio::test]
async fn catalog_links_are_shown_only_to_callers_who_may_describe_the_asset() {
    on_every_backend!(|suite| {
        set_up(&suite).await;
        let orders = asset_name(SALES, "orders");
        let contacts = asset_name(MARKETING, "contacts");
        let contact = column_id(WAREHOUSE, "mart.contacts", "contact");
        let source_column = column_id(SHOP, "shop.public.orders", "email");
        let mut olivia = lineage(&suite, &suite.token("users/olivia", &[]));
        let mut mallory = lineage(&suite, &suite.token("users/mallory", &[]));
        let graph_of = |client: &mut weft_tests::Lineage| {
            let mut client = client.clone();
            let node = contact.clone();
            async move {
                client
                    .get_lineage_graph(GetLineageGraphRequest {
                        node,
                        direction: Direction::Upstream as i32,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
            }
        };
        // The owner sees the links once lineage has projected the catalog, everyone the
        // published product's once governance has too.
        for _ in 0..100 {
            let owners = graph_of(&mut olivia).await;
            let others = graph_of(&mut mallory).await;
            if owners
                .nodes
                .iter()
                .any(|n| n.id == source_column && n.asset == orders)
                && others.nodes.iter().any(|n| n.asset == contacts)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Another caller sees the same lineage; the draft product's links are hidden, the
        // published one's shown.
        let owners_view = graph_of(&mut olivia).await;
        let others_view = graph_of(&mut mallory).await;
        let ids = |graph: &GetLineageGraphResponse| {
            graph.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&owners_view), ids(&others_view));
        let source = others_view
            .nodes
            .iter()
            .find(|n| n.id == source_column)
            .unwrap();
        assert_eq!(
            (source.asset.as_str(), source.data_product.as_str()),
            ("", "")
        );
        let published = others_view.nodes.iter().find(|n| n.id == contact).unwrap();
        assert_eq!(published.asset, contacts);
        let dataset = mallory
            .get_dataset(GetDatasetRequest {
                id: dataset_id(SHOP, "shop.public.orders"),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(dataset.asset, "");
        let listed = mallory
            .list_datasets(ListDatasetsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(
            listed
                .datasets
                .iter()
                .all(|d| d.asset.is_empty() || d.asset == contacts),
            "{:?}",
            listed.datasets
        );

        // Starting from the hidden asset's name is answered as for an absent asset.
        let hidden = mallory
            .analyze_impact(AnalyzeImpactRequest {
                node: orders.clone(),
                depth: 0,
            })
            .await
            .unwrap_err();
        let absent_name = asset_name(SALES, "absent");
        let absent = mallory
            .analyze_impact(AnalyzeImpactRequest {
                node: absent_name.clone(),
                depth: 0,
            })
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        assert_eq!(absent.code(), Code::NotFound);
        assert_eq!(
            hidden.message().replace(&orders, "ASSET"),
            absent.message().replace(&absent_name, "ASSET")
        );

        // Impact: the draft product, its owner and its assets are left out.
        let report = mallory
            .analyze_impact(AnalyzeImpactRequest {
                node: dataset_id(SHOP, "shop.public.orders"),
                depth: 0,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.data_products, vec![MARKETING.to_string()]);
        assert!(
            !report.owners.contains(&"users/olivia".to_string()),
            "{report:?}"
        );
        for dataset in &report.datasets {
            assert!(
                dataset.asset.is_empty() || dataset.asset == contacts,
                "{dataset:?}"
            );
        }
    });
}
