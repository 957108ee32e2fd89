//! Governance through the gateway, on SQLite and PostgreSQL: principals and projects, grants
//! with column and row filters and tag expressions, Cedar guardrails, and the decisions made
//! from the catalog projection (Check, BatchCheck, ExplainAccess, ListEffectivePermissions,
//! WhoHasAccess), with the bad paths.

use std::time::Duration;

use prost_types::FieldMask;
use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, CreateTagKeyRequest, Domain, Location, Schema,
    TagKey, UpdateDomainRequest,
};
use weft_proto::weft::common::v1::{AuditOutcome, DataFilter, Permission, Tag};
use weft_proto::weft::governance::v1::*;
use weft_tests::{
    Catalog, Governance, bad_field_messages, catalog, create_group, decide, domain_request,
    governance, on_every_backend, product_request,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";
const ASSET: &str = "domains/sales/dataProducts/orders/assets/orders";

fn column(name: &str, data_type: &str, tags: &[(&str, &str)]) -> Column {
    Column {
        name: name.into(),
        r#type: data_type.into(),
        nullable: true,
        description: format!("The {name}."),
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

/// A domain owned by olivia with one product and one asset of four columns, one tagged PII.
async fn register_catalog(admin: &mut Catalog) {
    admin
        .create_tag_key(CreateTagKeyRequest {
            tag_key_id: "pii".into(),
            tag_key: Some(TagKey {
                allowed_values: vec!["email".into(), "phone".into()],
                classification: true,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    admin
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin
        .create_data_product(product_request("domains/sales", "orders", "Orders"))
        .await
        .unwrap();
    admin
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
                        column("region", "string", &[]),
                        column("amount", "decimal(12,2)", &[]),
                        column("order_date", "date", &[]),
                        column("customer_email", "string", &[("pii", "email")]),
                    ],
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
}

/// Waits until governance's projection of the catalog holds the asset (the owner may see it).
async fn wait_for_projection(owner: &mut Governance) {
    for _ in 0..100 {
        if decide(owner, Permission::Describe, ASSET).await.allowed {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the catalog projection never reached governance");
}

fn grant_request(
    principal: &str,
    target: grant::Target,
    filter: Option<DataFilter>,
) -> CreateGrantRequest {
    CreateGrantRequest {
        grant: Some(Grant {
            principal: principal.into(),
            target: Some(target),
            permissions: vec![Permission::Select as i32],
            data_filter: filter,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn grants_filters_and_guardrails_decide_access_through_the_gateway() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut alice = governance(&suite, &suite.token("users/alice", &[]));
        let mut bob = governance(&suite, &suite.token("users/bob", &[]));
        register_catalog(&mut admin_catalog).await;

        // Principals: alice is an analyst; the analysts consume for the churn project.
        create_group(&mut admin, "analysts", "Analysts", &["users/alice"]).await;
        let project = bob
            .create_project(CreateProjectRequest {
                project_id: "churn".into(),
                project: Some(Project {
                    display_name: "Churn model".into(),
                    members: vec![ProjectMember {
                        principal: "groups/analysts".into(),
                        role: ProjectRole::Consumer as i32,
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            project.members[0].principal, "users/bob",
            "the creator owns it"
        );
        assert_eq!(project.members[0].role(), ProjectRole::Owner);

        wait_for_projection(&mut olivia).await;
        let denied = decide(&mut alice, Permission::Select, ASSET).await;
        assert!(!denied.allowed);
        assert!(denied.reason.contains("no grant"), "{}", denied.reason);

        // Only the owner (or a holder with grant option, or an admin) may grant.
        let filter = DataFilter {
            exclude_columns: vec!["customer_email".into()],
            row_filter_text: "region = 'EU' and amount > 100".into(),
            ..Default::default()
        };
        let refused = bob
            .create_grant(grant_request(
                "projects/churn",
                grant::Target::Resource(ASSET.into()),
                Some(filter.clone()),
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let eu = olivia
            .create_grant(grant_request(
                "projects/churn",
                grant::Target::Resource(ASSET.into()),
                Some(filter),
            ))
            .await
            .unwrap()
            .into_inner();
        let stored_filter = eu.data_filter.clone().unwrap();
        assert_eq!(
            stored_filter.row_filter_text,
            "region = 'EU' AND amount > 100"
        );
        assert!(stored_filter.row_filter.is_some(), "the tree is stored");
        assert_eq!(eu.granted_by, "users/olivia");
        assert_eq!(eu.state(), GrantState::Active);

        // Alice acts through her group's project.
        let allowed = decide(&mut alice, Permission::Select, ASSET).await;
        assert!(allowed.allowed, "{}", allowed.reason);
        assert_eq!(allowed.reason, format!("grant {}", eu.name));
        assert!(
            decide(&mut alice, Permission::Select, &format!("{ASSET}#region"))
                .await
                .allowed
        );
        assert!(
            !decide(
                &mut alice,
                Permission::Select,
                &format!("{ASSET}#customer_email")
            )
            .await
            .allowed
        );
        assert!(!decide(&mut alice, Permission::Insert, ASSET).await.allowed);
        let explained = alice
            .explain_access(ExplainAccessRequest {
                query: Some(AccessQuery {
                    principal: String::new(),
                    permission: Permission::Select as i32,
                    resource: ASSET.into(),
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            explained.effective_columns,
            vec!["region", "amount", "order_date"]
        );
        assert_eq!(
            explained.effective_row_filter_text,
            "region = 'EU' AND amount > 100"
        );
        assert_eq!(explained.factors.len(), 1);
        assert_eq!(explained.factors[0].source, eu.name);

        // A tag-based grant (by an admin) adds the PII column; rows become the union.
        let pii = admin
            .create_grant(grant_request(
                "users/alice",
                grant::Target::TagExpression(TagExpression {
                    clauses: vec![TagClause {
                        key: "pii".into(),
                        values: vec!["email".into()],
                    }],
                }),
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(
            decide(
                &mut alice,
                Permission::Select,
                &format!("{ASSET}#customer_email")
            )
            .await
            .allowed
        );

        // A tag-based grant covers what is tagged later, without a new grant: tier=gold on the
        // domain reaches the product's asset once the catalog's change is projected.
        let mut carol = governance(&suite, &suite.token("users/carol", &[]));
        admin
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "users/carol".into(),
                    target: Some(grant::Target::TagExpression(TagExpression {
                        clauses: vec![TagClause {
                            key: "tier".into(),
                            values: vec!["gold".into()],
                        }],
                    })),
                    permissions: vec![Permission::Select as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        assert!(!decide(&mut carol, Permission::Select, ASSET).await.allowed);
        admin_catalog
            .create_tag_key(CreateTagKeyRequest {
                tag_key_id: "tier".into(),
                tag_key: Some(TagKey::default()),
                request_id: String::new(),
            })
            .await
            .unwrap();
        admin_catalog
            .update_domain(UpdateDomainRequest {
                domain: Some(Domain {
                    name: "domains/sales".into(),
                    tags: vec![Tag {
                        key: "tier".into(),
                        value: "gold".into(),
                    }],
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["tags".into()],
                }),
            })
            .await
            .unwrap();
        let mut reached = false;
        for _ in 0..100 {
            if decide(&mut carol, Permission::Select, ASSET).await.allowed {
                reached = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            reached,
            "the domain's new tag reaches the asset through the projection"
        );

        // A guardrail forbids PII columns to anyone outside the privacy group.
        let policy = admin
            .create_policy(CreatePolicyRequest {
                policy_id: "no-pii".into(),
                policy: Some(Policy {
                    description: "PII columns only for privacy officers".into(),
                    cedar: r#"forbid (principal, action == Weft::Action::"SELECT", resource is Weft::Column)
                        when { resource.classification.contains("pii=email") }
                        unless { principal in Weft::Group::"groups/privacy" };"#
                        .into(),
                    enabled: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let forbidden = decide(
            &mut alice,
            Permission::Select,
            &format!("{ASSET}#customer_email"),
        )
        .await;
        assert!(!forbidden.allowed);
        assert_eq!(forbidden.reason, "forbidden by policies/no-pii");
        let mut officer = governance(&suite, &suite.token("users/alice", &["groups/privacy"]));
        assert!(
            decide(
                &mut officer,
                Permission::Select,
                &format!("{ASSET}#customer_email")
            )
            .await
            .allowed
        );

        // Disabling the policy lifts it.
        admin
            .update_policy(UpdatePolicyRequest {
                policy: Some(Policy {
                    enabled: false,
                    ..policy.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["enabled".into()],
                }),
            })
            .await
            .unwrap();
        assert!(
            decide(
                &mut alice,
                Permission::Select,
                &format!("{ASSET}#customer_email")
            )
            .await
            .allowed
        );

        // BatchCheck answers in order.
        let batch = alice
            .batch_check(BatchCheckRequest {
                queries: vec![
                    AccessQuery {
                        principal: String::new(),
                        permission: Permission::Select as i32,
                        resource: ASSET.into(),
                    },
                    AccessQuery {
                        principal: String::new(),
                        permission: Permission::Drop as i32,
                        resource: ASSET.into(),
                    },
                ],
                groups: vec![],
                min_catalog_sequence: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let answers: Vec<bool> = batch.decisions.iter().map(|d| d.allowed).collect();
        assert_eq!(answers, vec![true, false]);

        // Who has access, and what alice holds under the domain.
        let holders = olivia
            .who_has_access(WhoHasAccessRequest {
                resource: ASSET.into(),
                permission: Permission::Select as i32,
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .holders;
        let names: Vec<&str> = holders.iter().map(|h| h.principal.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "projects/churn",
                "users/alice",
                "users/carol",
                "users/olivia"
            ]
        );
        assert_eq!(holders[0].via, vec![eu.name.clone()]);
        assert_eq!(holders[3].via, vec!["owner:domains/sales".to_string()]);
        let effective = alice
            .list_effective_permissions(ListEffectivePermissionsRequest {
                principal: String::new(),
                resource: "domains/sales".into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .permissions;
        // The domain is visible to everyone; the asset is alice's to read too.
        assert_eq!(effective.len(), 2, "{effective:?}");
        assert_eq!(effective[0].resource, "domains/sales");
        assert_eq!(effective[0].permissions, vec![Permission::Describe as i32]);
        assert_eq!(effective[1].resource, ASSET);
        assert_eq!(
            effective[1].permissions,
            vec![Permission::Describe as i32, Permission::Select as i32]
        );

        // Revoking takes the access away and keeps the grant for history.
        let revoked = olivia
            .revoke_grant(RevokeGrantRequest {
                name: eu.name.clone(),
                etag: eu.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(revoked.state(), GrantState::Revoked);
        assert!(
            !decide(&mut alice, Permission::Select, &format!("{ASSET}#region"))
                .await
                .allowed
        );
        let again = olivia
            .revoke_grant(RevokeGrantRequest {
                name: eu.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition);
        let active = admin
            .list_grants(ListGrantsRequest {
                filter: "state = ACTIVE".into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .grants;
        assert_eq!(active.len(), 2, "{active:?}");
        assert!(active.iter().any(|g| g.name == pii.name));
        assert!(!active.iter().any(|g| g.name == eu.name));

        // The journal holds olivia's grant and its revocation, newest first, page by page.
        let query = |page_token: String| QueryAuditRequest {
            actor: "users/olivia".into(),
            actions: vec!["CreateGrant".into(), "RevokeGrant".into()],
            page_size: 1,
            page_token,
            ..Default::default()
        };
        let first = admin
            .query_audit(query(String::new()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.records.len(), 1);
        assert_eq!(first.records[0].action, "RevokeGrant");
        assert_eq!(first.records[0].resource, eu.name);
        assert_eq!(first.records[0].service, "governance");
        let second = admin
            .query_audit(query(first.next_page_token.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.records[0].action, "CreateGrant");
        assert!(second.records[0].sequence < first.records[0].sequence);
        assert!(second.next_page_token.is_empty());
        let status = alice.query_audit(query(String::new())).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        // Alice's decisions on SELECT of the asset (and its columns) were journaled, both ways;
        // decisions on DESCRIBE or DROP are not data decisions and are not.
        let mut outcomes = Vec::new();
        for _ in 0..50 {
            let records = admin
                .query_audit(QueryAuditRequest {
                    actor: "users/alice".into(),
                    resource: ASSET.into(),
                    actions: vec!["Check".into()],
                    page_size: 1000,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .records;
            outcomes = records.iter().map(|r| r.outcome()).collect();
            if outcomes.contains(&AuditOutcome::Succeeded)
                && outcomes.contains(&AuditOutcome::Denied)
            {
                assert!(
                    records
                        .iter()
                        .all(|r| r.detail_json.contains("PERMISSION_SELECT")
                            || r.detail_json.contains("PERMISSION_INSERT"))
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(outcomes.contains(&AuditOutcome::Succeeded), "{outcomes:?}");
        assert!(outcomes.contains(&AuditOutcome::Denied), "{outcomes:?}");
    });
}

#[tokio::test]
async fn bad_grants_policies_and_principals_are_refused_clearly() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut alice = governance(&suite, &suite.token("users/alice", &[]));
        register_catalog(&mut admin_catalog).await;
        wait_for_projection(&mut olivia).await;

        // Row filters: unknown column, type mismatch, function, each with its position.
        for (text, expected) in [
            ("colour = 'red'", "at position 1: unknown column 'colour'"),
            ("region = 42", "at position 10: column 'region' is a string"),
            (
                "lower(region) = 'eu'",
                "at position 1: functions are not allowed",
            ),
            (
                "order_date > 'soon'",
                "at position 14: column 'order_date' is a date",
            ),
        ] {
            let status = olivia
                .create_grant(grant_request(
                    "users/alice",
                    grant::Target::Resource(ASSET.into()),
                    Some(DataFilter {
                        row_filter_text: text.into(),
                        ..Default::default()
                    }),
                ))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{text}");
            let messages = bad_field_messages(&status);
            assert_eq!(messages.len(), 1, "{messages:?}");
            assert_eq!(messages[0].0, "grant.data_filter.row_filter_text");
            assert!(
                messages[0].1.contains(expected),
                "{text}: {}",
                messages[0].1
            );
        }
        // Columns that do not exist, a filter on a product, both column lists.
        let status = olivia
            .create_grant(grant_request(
                "users/alice",
                grant::Target::Resource(ASSET.into()),
                Some(DataFilter {
                    include_columns: vec!["region".into(), "nope".into()],
                    ..Default::default()
                }),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            bad_field_messages(&status)[0].0,
            "grant.data_filter.include_columns[1]"
        );
        let status = olivia
            .create_grant(grant_request(
                "users/alice",
                grant::Target::Resource(PRODUCT.into()),
                Some(DataFilter {
                    row_filter_text: "region = 'EU'".into(),
                    ..Default::default()
                }),
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        // Unknown resource, bad principal, no permission, empty tag expression.
        let status = olivia
            .create_grant(grant_request(
                "users/alice",
                grant::Target::Resource("domains/sales/dataProducts/nope".into()),
                None,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let mut bad = grant_request(
            "alice",
            grant::Target::TagExpression(TagExpression::default()),
            None,
        );
        bad.grant.as_mut().unwrap().permissions.clear();
        let status = admin.create_grant(bad).await.unwrap_err();
        let fields: Vec<String> = bad_field_messages(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            vec![
                "grant.principal",
                "grant.permissions",
                "grant.tag_expression.clauses"
            ]
        );
        // A grant with grant option lets its holder grant on, never more.
        let mut delegated =
            grant_request("users/alice", grant::Target::Resource(PRODUCT.into()), None);
        delegated.grant.as_mut().unwrap().grant_option = true;
        olivia.create_grant(delegated).await.unwrap();
        alice
            .create_grant(grant_request(
                "users/carl",
                grant::Target::Resource(ASSET.into()),
                None,
            ))
            .await
            .expect("SELECT with grant option on the product covers the asset");
        let mut wider = grant_request("users/carl", grant::Target::Resource(ASSET.into()), None);
        wider.grant.as_mut().unwrap().permissions = vec![Permission::Drop as i32];
        let status = alice.create_grant(wider).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains("DROP"), "{}", status.message());

        // Cedar: a policy that does not validate is refused with Cedar's message.
        let status = admin
            .create_policy(CreatePolicyRequest {
                policy_id: "bad".into(),
                policy: Some(Policy {
                    cedar: r#"permit (principal, action == Weft::Action::"READ", resource);"#
                        .into(),
                    enabled: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        let messages = bad_field_messages(&status);
        assert_eq!(messages[0].0, "policy.cedar");
        assert!(messages[0].1.contains("READ"), "{}", messages[0].1);
        let status = alice
            .create_policy(CreatePolicyRequest {
                policy_id: "mine".into(),
                policy: Some(Policy {
                    cedar: "permit (principal, action, resource);".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        // Decisions: only administrators ask about others; a query needs its fields.
        let status = alice
            .check(CheckRequest {
                query: Some(AccessQuery {
                    principal: "users/olivia".into(),
                    permission: Permission::Select as i32,
                    resource: ASSET.into(),
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = alice.check(CheckRequest { query: None }).await.unwrap_err();
        let fields: Vec<String> = bad_field_messages(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(fields, vec!["query.resource", "query.permission"]);
        let answer = admin
            .check(CheckRequest {
                query: Some(AccessQuery {
                    principal: "users/olivia".into(),
                    permission: Permission::Drop as i32,
                    resource: ASSET.into(),
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.decision.unwrap().reason, "owner of domains/sales");

        // Principals: admin-only kinds, member shapes, owners kept, etags, duplicates.
        let status = alice
            .create_group(CreateGroupRequest {
                group_id: "mine".into(),
                group: Some(Group::default()),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = admin
            .create_group(CreateGroupRequest {
                group_id: "Bad_Id".into(),
                group: Some(Group {
                    members: vec!["projects/x".into(), "users/a".into(), "users/a".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        let fields: Vec<String> = bad_field_messages(&status)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            vec!["group_id", "group.members[0]", "group.members"]
        );
        let project = alice
            .create_project(CreateProjectRequest {
                project_id: "churn".into(),
                project: Some(Project {
                    display_name: "Churn".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let duplicate = alice
            .create_project(CreateProjectRequest {
                project_id: "churn".into(),
                project: Some(Project::default()),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(duplicate.code(), Code::AlreadyExists);
        let status = olivia
            .update_project(UpdateProjectRequest {
                project: Some(Project {
                    description: "taken over".into(),
                    ..project.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = alice
            .update_project(UpdateProjectRequest {
                project: Some(Project {
                    members: vec![ProjectMember {
                        principal: "users/bob".into(),
                        role: ProjectRole::Viewer as i32,
                    }],
                    ..project.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["members".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(bad_field_messages(&status)[0].0, "project.members");
        let updated = alice
            .update_project(UpdateProjectRequest {
                project: Some(Project {
                    description: "Predicts churn.".into(),
                    ..project.clone()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_ne!(updated.etag, project.etag);
        let stale = alice
            .update_project(UpdateProjectRequest {
                project: Some(project.clone()),
                update_mask: Some(FieldMask {
                    paths: vec!["description".into()],
                }),
            })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted);
    });
}
