//! Governance's CEL metadata rules and the catalog's publish flow, through the gateway on SQLite
//! and PostgreSQL: the default rules refuse a product that breaks them (every violation listed),
//! domain-scoped and WARN rules, versions, bad rules, and publishing refused while governance
//! cannot be reached (fail closed).

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, CreateDataProductRequest, CreateDomainRequest,
    DataProduct, Domain, GetDataProductRevisionRequest, Location, PublishDataProductRequest,
    Schema, UpdateAssetRequest, UpdateDataProductRequest,
};
use weft_proto::weft::common::v1::Tag;
use weft_proto::weft::governance::v1::*;
use weft_tests::{
    Catalog, DEFAULT_RULES, bad_field_messages, catalog, declare_tag_keys, governance,
    on_every_backend, precondition_violations,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";

fn column(name: &str, description: &str, tags: &[(&str, &str)]) -> Column {
    Column {
        name: name.into(),
        r#type: "string".into(),
        nullable: true,
        description: description.into(),
        tags: tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.to_string(),
                value: value.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

/// A product that breaks every default rule: no owner, a short description, a column without
/// description, a PII column without classification.
async fn register_careless_product(client: &mut Catalog) -> Asset {
    declare_tag_keys(client, &[("pii", &["email"]), ("classification", &[])]).await;
    client
        .create_domain(CreateDomainRequest {
            domain_id: "sales".into(),
            domain: Some(Domain {
                display_name: "Sales".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    client
        .create_data_product(CreateDataProductRequest {
            parent: "domains/sales".into(),
            data_product_id: "orders".into(),
            data_product: Some(DataProduct {
                display_name: "Sales orders".into(),
                description: "Orders.".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    client
        .create_asset(CreateAssetRequest {
            parent: PRODUCT.into(),
            asset_id: "orders".into(),
            asset: Some(Asset {
                display_name: "Orders".into(),
                kind: AssetKind::Table as i32,
                location: Some(Location {
                    namespace: "postgres://db.example:5432".into(),
                    name: "sales.public.orders".into(),
                }),
                schema: Some(Schema {
                    columns: vec![
                        column("region", "", &[]),
                        column("email", "Customer e-mail.", &[("pii", "email")]),
                    ],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn publish() -> PublishDataProductRequest {
    PublishDataProductRequest {
        name: PRODUCT.into(),
        etag: String::new(),
    }
}

fn new_rule(id: &str, expression: &str, severity: RuleSeverity, domain: &str) -> CreateRuleRequest {
    CreateRuleRequest {
        rule_id: id.into(),
        rule: Some(Rule {
            description: format!("The {id} rule."),
            expression: expression.into(),
            message: format!("{id} is broken"),
            action: RuleAction::Publish as i32,
            severity: severity as i32,
            domain: domain.into(),
            enabled: true,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn publishing_runs_the_rules_and_refuses_on_a_block_violation() {
    on_every_backend!(|suite| {
        let mut client = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let asset = register_careless_product(&mut client).await;

        // The default rules exist, version 1, and all four refuse this product.
        let rules = admin
            .list_rules(ListRulesRequest::default())
            .await
            .unwrap()
            .into_inner()
            .rules;
        let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
        names.sort();
        let mut defaults = DEFAULT_RULES.to_vec();
        defaults.sort();
        assert_eq!(names, defaults);
        assert!(rules.iter().all(|r| r.version == 1 && r.enabled));
        let refused = client.publish_data_product(publish()).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let mut violations = precondition_violations(&refused);
        violations.sort();
        let expected: Vec<(String, String)> = defaults
            .iter()
            .map(|rule| ("RULE_VIOLATION".to_string(), rule.to_string()))
            .collect();
        assert_eq!(violations, expected);

        // Fixed, it publishes, and the revision keeps the evaluation id.
        let product = client
            .update_data_product(UpdateDataProductRequest {
                data_product: Some(DataProduct {
                    name: PRODUCT.into(),
                    owners: vec!["users/olivia".into()],
                    description: "Every order placed on the web shop, one row per order.".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["owners".into(), "description".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        client
            .update_asset(UpdateAssetRequest {
                asset: Some(Asset {
                    schema: Some(Schema {
                        columns: vec![
                            column("region", "Sales region.", &[]),
                            column(
                                "email",
                                "Customer e-mail.",
                                &[("pii", "email"), ("classification", "confidential")],
                            ),
                        ],
                    }),
                    ..asset.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["schema".into()],
                }),
            })
            .await
            .unwrap();
        let published = client
            .publish_data_product(publish())
            .await
            .unwrap()
            .into_inner();
        assert_ne!(published.etag, product.etag);
        let revision = client
            .get_data_product_revision(GetDataProductRevisionRequest {
                name: published.published_revision.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            uuid::Uuid::parse_str(&revision.rule_evaluation_id).is_ok(),
            "{:?}",
            revision.rule_evaluation_id
        );

        // A WARN rule never blocks; a BLOCK rule of another domain does not apply here; one of
        // this domain does, alone.
        admin
            .create_rule(new_rule(
                "named-after-domain",
                "product.display_name.startsWith('Finance')",
                RuleSeverity::Warn,
                "domains/sales",
            ))
            .await
            .unwrap();
        admin
            .create_rule(new_rule(
                "two-assets-hr",
                "size(assets) >= 2",
                RuleSeverity::Block,
                "domains/hr",
            ))
            .await
            .unwrap();
        client.publish_data_product(publish()).await.unwrap();
        let two_assets = admin
            .create_rule(new_rule(
                "two-assets",
                "size(assets) >= 2",
                RuleSeverity::Block,
                "domains/sales",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(two_assets.version, 1);
        let refused = client.publish_data_product(publish()).await.unwrap_err();
        assert_eq!(
            precondition_violations(&refused),
            vec![("RULE_VIOLATION".to_string(), "rules/two-assets".to_string())]
        );
        // EvaluateRules shows WARN violations too, with the rule's version.
        let descriptor = serde_json::json!({
            "product": { "name": PRODUCT, "display_name": "Sales orders", "owners": ["users/olivia"],
                         "description": "Every order placed on the web shop." },
            "assets": [],
        });
        let evaluation = admin
            .evaluate_rules(EvaluateRulesRequest {
                action: RuleAction::Publish as i32,
                descriptor_json: descriptor.to_string(),
                request: None,
                domain: "domains/sales".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut found: Vec<(&str, i64, RuleSeverity)> = evaluation
            .violations
            .iter()
            .map(|v| (v.rule.as_str(), v.rule_version, v.severity()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("rules/named-after-domain", 1, RuleSeverity::Warn),
                ("rules/two-assets", 1, RuleSeverity::Block),
            ]
        );
        assert!(evaluation.blocked);

        // Every change makes a new version; a disabled rule is not evaluated.
        let disabled = admin
            .update_rule(UpdateRuleRequest {
                rule: Some(Rule {
                    enabled: false,
                    ..two_assets.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["enabled".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(disabled.version, 2);
        client.publish_data_product(publish()).await.unwrap();
    });
}

#[tokio::test]
async fn bad_rules_are_refused_with_the_compilers_message() {
    on_every_backend!(|suite| {
        let mut admin = governance(&suite, &suite.admin_token());
        let mut alice = governance(&suite, &suite.token("users/alice", &[]));
        let status = admin
            .create_rule(new_rule(
                "broken",
                "size(product.owners) >",
                RuleSeverity::Block,
                "",
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let messages = bad_field_messages(&status);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0].0, "rule.expression");
        assert!(!messages[0].1.is_empty());
        let mut unspecified = new_rule("vague", "true", RuleSeverity::Unspecified, "sales");
        unspecified.rule.as_mut().unwrap().action = 0;
        let status = admin.create_rule(unspecified).await.unwrap_err();
        let fields: Vec<String> = bad_field_messages(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, vec!["rule.action", "rule.severity", "rule.domain"]);
        let status = alice
            .create_rule(new_rule("mine", "true", RuleSeverity::Warn, ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = admin
            .evaluate_rules(EvaluateRulesRequest {
                action: RuleAction::Publish as i32,
                descriptor_json: "{not json".into(),
                request: None,
                domain: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_field_messages(&status)[0].0, "descriptor_json");
        let status = admin
            .update_rule(UpdateRuleRequest {
                rule: Some(Rule {
                    name: "rules/product-has-owner".into(),
                    etag: "41".into(),
                    enabled: false,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["enabled".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Aborted);
    });
}

#[tokio::test]
async fn publishing_is_refused_while_governance_cannot_be_reached() {
    for backend in weft_testkit::backends() {
        let suite = weft_testkit::TestSuite::start_with(backend, |kind, config| {
            if kind == weft_runtime::ServiceKind::Catalog {
                // Nothing listens there: governance is unreachable for the catalog.
                config.backends.governance = "https://127.0.0.1:9".into();
            }
        })
        .await
        .expect("suite starts");
        let mut client = catalog(&suite, &suite.admin_token());
        register_careless_product(&mut client).await;
        let refused = client.publish_data_product(publish()).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("publishing is refused"),
            "{}",
            refused.message()
        );
        suite.stop().await.expect("suite stops cleanly");
    }
}
