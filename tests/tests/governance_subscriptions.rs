//! Subscriptions through the gateway, on SQLite and PostgreSQL: a project requests a published
//! product, SUBSCRIBE rules run, an owner approves (grants appear, access follows) or rejects,
//! the requester cancels, auto-approval, cancelling and revoking take the grants away, and the
//! invalid transitions are refused.

use std::time::Duration;

use tonic::Code;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, CreateAssetRequest, CreateDataProductRequest, DataProduct, Location,
    PublishDataProductRequest, Schema, SubscriptionPolicy,
};
use weft_proto::weft::common::v1::{DataFilter, Permission};
use weft_proto::weft::governance::v1::*;
use weft_tests::{
    Catalog, Governance, catalog, domain_request, governance, may_select, on_every_backend,
    precondition_violations,
};

const DOMAIN: &str = "domains/sales";

fn product_name(id: &str) -> String {
    format!("{DOMAIN}/dataProducts/{id}")
}

fn asset_name(product: &str, id: &str) -> String {
    format!("{}/assets/{id}", product_name(product))
}

/// A published product meeting the default rules, with the given assets.
async fn publish_product(client: &mut Catalog, id: &str, assets: &[&str], auto_approve: bool) {
    client
        .create_data_product(CreateDataProductRequest {
            parent: DOMAIN.into(),
            data_product_id: id.into(),
            data_product: Some(DataProduct {
                display_name: id.into(),
                description: format!("The {id} of the sales domain, one row per event."),
                owners: vec!["users/olivia".into()],
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
    for asset in assets {
        let column = |name: &str, data_type: &str| Column {
            name: name.into(),
            r#type: data_type.into(),
            nullable: true,
            description: format!("The {name}."),
            ..Default::default()
        };
        client
            .create_asset(CreateAssetRequest {
                parent: product_name(id),
                asset_id: asset.to_string(),
                asset: Some(Asset {
                    display_name: asset.to_string(),
                    kind: AssetKind::Table as i32,
                    location: Some(Location {
                        namespace: "postgres://db.example:5432".into(),
                        name: format!("sales.{id}.{asset}"),
                    }),
                    schema: Some(Schema {
                        columns: vec![
                            column("region", "string"),
                            column("amount", "decimal(10,2)"),
                        ],
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    client
        .publish_data_product(PublishDataProductRequest {
            name: product_name(id),
            etag: String::new(),
        })
        .await
        .expect("the product meets the default rules");
}

fn request_for(
    product: &str,
    assets: Vec<String>,
    filter: Option<DataFilter>,
) -> CreateSubscriptionRequestRequest {
    CreateSubscriptionRequestRequest {
        subscription_request: Some(SubscriptionRequest {
            project: "projects/churn".into(),
            data_product: product_name(product),
            assets,
            justification: "Training the churn model on last year's orders.".into(),
            requested_filter: filter,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Creates a request, retrying while governance's projection has not seen the publish yet.
async fn request(
    client: &mut Governance,
    wanted: CreateSubscriptionRequestRequest,
) -> Result<SubscriptionRequest, tonic::Status> {
    for _ in 0..100 {
        match client.create_subscription_request(wanted.clone()).await {
            Err(status)
                if status.code() == Code::FailedPrecondition
                    && precondition_violations(&status)
                        .iter()
                        .any(|(kind, _)| kind == "NOT_PUBLISHED") =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(status) if status.code() == Code::NotFound => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            other => return other.map(|r| r.into_inner()),
        }
    }
    panic!("the projection never showed the published product");
}

#[tokio::test]
async fn a_project_requests_an_owner_approves_and_access_follows_the_subscription() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut bob = governance(&suite, &suite.token("users/bob", &[]));
        let mut alice = governance(&suite, &suite.token("users/alice", &[]));
        let mut carl = governance(&suite, &suite.token("users/carl", &[]));
        admin_catalog
            .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
            .await
            .unwrap();
        publish_product(&mut admin_catalog, "orders", &["orders", "returns"], false).await;
        bob.create_project(CreateProjectRequest {
            project_id: "churn".into(),
            project: Some(Project {
                display_name: "Churn".into(),
                members: vec![
                    ProjectMember {
                        principal: "users/bob".into(),
                        role: ProjectRole::Owner as i32,
                    },
                    ProjectMember {
                        principal: "users/alice".into(),
                        role: ProjectRole::Consumer as i32,
                    },
                    ProjectMember {
                        principal: "users/carl".into(),
                        role: ProjectRole::Viewer as i32,
                    },
                ],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
        let orders = asset_name("orders", "orders");

        // Only OWNERs and CONTRIBUTORs of the project request.
        for client in [&mut alice, &mut carl] {
            let status = request(client, request_for("orders", vec![], None))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied);
        }
        // A SUBSCRIBE rule refuses a short justification.
        admin
            .create_rule(CreateRuleRequest {
                rule_id: "justified".into(),
                rule: Some(Rule {
                    expression: "size(request.justification) >= 20".into(),
                    message: "explain the need in at least 20 characters".into(),
                    action: RuleAction::Subscribe as i32,
                    severity: RuleSeverity::Block as i32,
                    enabled: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let mut terse = request_for("orders", vec![], None);
        terse.subscription_request.as_mut().unwrap().justification = "need it".into();
        let status = request(&mut bob, terse).await.unwrap_err();
        assert_eq!(
            precondition_violations(&status),
            vec![("RULE_VIOLATION".to_string(), "rules/justified".to_string())]
        );

        let pending = request(
            &mut bob,
            request_for(
                "orders",
                vec![orders.clone()],
                Some(DataFilter {
                    row_filter_text: "region = 'EU'".into(),
                    ..Default::default()
                }),
            ),
        )
        .await
        .unwrap();
        assert_eq!(pending.state(), SubscriptionRequestState::Pending);
        assert_eq!(pending.requested_by, "users/bob");
        assert_eq!(
            pending.requested_filter.as_ref().unwrap().row_filter_text,
            "region = 'EU'"
        );
        assert!(!may_select(&mut alice, &orders).await);

        // Only owners (or approvers) decide.
        let status = alice
            .approve_subscription_request(ApproveSubscriptionRequestRequest {
                name: pending.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let approved = olivia
            .approve_subscription_request(ApproveSubscriptionRequestRequest {
                name: pending.name.clone(),
                comment: "EU rows only, and no amounts.".into(),
                etag: pending.etag.clone(),
                approved_filter: Some(DataFilter {
                    exclude_columns: vec!["amount".into()],
                    row_filter_text: "region = 'EU'".into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(approved.state(), SubscriptionRequestState::Approved);
        assert_eq!(approved.decided_by, "users/olivia");
        let subscription = bob
            .get_subscription(GetSubscriptionRequest {
                name: approved.subscription.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(subscription.state(), SubscriptionState::Active);
        assert_eq!(subscription.assets.len(), 1);
        assert_eq!(subscription.assets[0].asset, orders);
        assert!(
            matches!(
                subscription.assets[0].state(),
                FulfilmentState::GrantPending | FulfilmentState::NotApplicable
            ),
            "{subscription:?}"
        );
        // Provisioning reports it: the project has no environment on the asset's data plane.
        let mut fulfilment = subscription.assets[0].state();
        for _ in 0..300 {
            fulfilment = bob
                .get_subscription(GetSubscriptionRequest {
                    name: approved.subscription.clone(),
                })
                .await
                .unwrap()
                .into_inner()
                .assets[0]
                .state();
            if fulfilment != FulfilmentState::GrantPending {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(fulfilment, FulfilmentState::NotApplicable);
        let grant = admin
            .get_grant(GetGrantRequest {
                name: subscription.assets[0].grant.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(grant.principal, "projects/churn");
        assert_eq!(grant.subscription, subscription.name);
        assert_eq!(grant.data_filter.unwrap().row_filter_text, "region = 'EU'");

        // The project's consumer may now read EU rows; the viewer may not read.
        assert!(may_select(&mut alice, &orders).await);
        assert!(!may_select(&mut carl, &orders).await);
        assert!(!may_select(&mut alice, &asset_name("orders", "returns")).await);
        let explained = alice
            .explain_access(ExplainAccessRequest {
                query: Some(AccessQuery {
                    principal: String::new(),
                    permission: Permission::Select as i32,
                    resource: orders.clone(),
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(explained.effective_columns, vec!["region"]);
        assert_eq!(explained.effective_row_filter_text, "region = 'EU'");

        // A decided request stays decided.
        let status = olivia
            .approve_subscription_request(ApproveSubscriptionRequestRequest {
                name: pending.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);

        // Reject one, cancel another; a cancelled request cannot be approved.
        let second = request(&mut bob, request_for("orders", vec![], None))
            .await
            .unwrap();
        assert_eq!(second.assets.len(), 2, "all of the product's assets");
        let rejected = olivia
            .reject_subscription_request(RejectSubscriptionRequestRequest {
                name: second.name.clone(),
                comment: "Use the EU subscription.".into(),
                etag: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rejected.state(), SubscriptionRequestState::Rejected);
        let third = request(&mut bob, request_for("orders", vec![], None))
            .await
            .unwrap();
        let status = alice
            .cancel_subscription_request(CancelSubscriptionRequestRequest {
                name: third.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let cancelled = bob
            .cancel_subscription_request(CancelSubscriptionRequestRequest {
                name: third.name.clone(),
                etag: third.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cancelled.state(), SubscriptionRequestState::Cancelled);
        let status = olivia
            .approve_subscription_request(ApproveSubscriptionRequestRequest {
                name: third.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let pending_now = bob
            .list_subscription_requests(ListSubscriptionRequestsRequest {
                filter: "project = \"projects/churn\" AND state = PENDING".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .subscription_requests;
        assert!(pending_now.is_empty(), "{pending_now:?}");
        for filter in ["state = BOGUS", "owner = \"users/bob\""] {
            let status = bob
                .list_subscription_requests(ListSubscriptionRequestsRequest {
                    filter: filter.into(),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{filter}");
        }

        // The project cancels its subscription: the grant is revoked and access goes.
        let ended = bob
            .cancel_subscription(CancelSubscriptionRequest {
                name: subscription.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ended.state(), SubscriptionState::Cancelled);
        assert_eq!(ended.assets[0].state(), FulfilmentState::RevokePending);
        assert!(!may_select(&mut alice, &orders).await);
        let revoked_grant = admin
            .get_grant(GetGrantRequest {
                name: subscription.assets[0].grant.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(revoked_grant.state(), GrantState::Revoked);
        let status = olivia
            .revoke_subscription(RevokeSubscriptionRequest {
                name: subscription.name.clone(),
                comment: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);

        // A product that approves automatically; its owner revokes.
        publish_product(&mut admin_catalog, "prices", &["prices"], true).await;
        let automatic = request(&mut bob, request_for("prices", vec![], None))
            .await
            .unwrap();
        assert_eq!(automatic.state(), SubscriptionRequestState::Approved);
        assert_eq!(automatic.decided_by, "services/governance");
        let prices = asset_name("prices", "prices");
        assert!(may_select(&mut alice, &prices).await);
        let status = bob
            .revoke_subscription(RevokeSubscriptionRequest {
                name: automatic.subscription.clone(),
                comment: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "the subscriber cancels, owners revoke"
        );
        let revoked = olivia
            .revoke_subscription(RevokeSubscriptionRequest {
                name: automatic.subscription.clone(),
                comment: "The prices product is being retired.".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(revoked.state(), SubscriptionState::Revoked);
        assert!(!may_select(&mut alice, &prices).await);

        // Bad requests.
        let mut unknown = request_for("orders", vec![asset_name("orders", "nope")], None);
        unknown.subscription_request.as_mut().unwrap().justification = String::new();
        let status = bob.create_subscription_request(unknown).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let status = bob
            .create_subscription_request(request_for("nope", vec![], None))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    });
}

#[tokio::test]
async fn only_the_parties_read_requests_subscriptions_and_grants() {
    on_every_backend!(|suite| {
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        let mut admin = governance(&suite, &suite.admin_token());
        let mut olivia = governance(&suite, &suite.token("users/olivia", &[]));
        let mut bob = governance(&suite, &suite.token("users/bob", &[]));
        let mut mallory = governance(&suite, &suite.token("users/mallory", &[]));
        admin_catalog
            .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
            .await
            .unwrap();
        publish_product(&mut admin_catalog, "orders", &["orders"], true).await;
        bob.create_project(CreateProjectRequest {
            project_id: "churn".into(),
            project: Some(Project {
                display_name: "Churn".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
        let secret_filter = DataFilter {
            row_filter_text: "region = 'confidential-region'".into(),
            ..Default::default()
        };
        let approved = request(
            &mut bob,
            request_for(
                "orders",
                vec![asset_name("orders", "orders")],
                Some(secret_filter),
            ),
        )
        .await
        .unwrap();
        assert_eq!(approved.state(), SubscriptionRequestState::Approved);
        let subscription = approved.subscription.clone();
        let grants = |client: &mut Governance| {
            let mut client = client.clone();
            async move {
                client
                    .list_grants(ListGrantsRequest {
                        filter: "principal = \"projects/churn\"".into(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .grants
            }
        };
        let the_grant = grants(&mut bob).await;
        assert_eq!(the_grant.len(), 1, "the project's member reads its grant");
        let grant_name = the_grant[0].name.clone();

        // Parties: the requester and project, the product's owner, an administrator.
        for (who, client) in [
            ("bob", &mut bob),
            ("olivia", &mut olivia),
            ("admin", &mut admin),
        ] {
            let listed = client
                .list_subscription_requests(ListSubscriptionRequestsRequest::default())
                .await
                .unwrap()
                .into_inner();
            assert_eq!(listed.subscription_requests.len(), 1, "{who}");
            let listed = client
                .list_subscriptions(ListSubscriptionsRequest::default())
                .await
                .unwrap()
                .into_inner();
            assert_eq!(listed.subscriptions.len(), 1, "{who}");
            assert_eq!(grants(client).await.len(), 1, "{who}");
            client
                .get_grant(GetGrantRequest {
                    name: grant_name.clone(),
                })
                .await
                .unwrap();
            client
                .get_subscription(GetSubscriptionRequest {
                    name: subscription.clone(),
                })
                .await
                .unwrap();
        }
        // Anyone else: as if none existed, the row filter's literal included.
        let listed = mallory
            .list_subscription_requests(ListSubscriptionRequestsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.subscription_requests.is_empty());
        let listed = mallory
            .list_subscriptions(ListSubscriptionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.subscriptions.is_empty());
        assert!(grants(&mut mallory).await.is_empty());
        let all = mallory
            .list_grants(ListGrantsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(all.grants.is_empty(), "{:?}", all.grants);
        let hidden = mallory
            .get_grant(GetGrantRequest {
                name: grant_name.clone(),
            })
            .await
            .unwrap_err();
        let absent = mallory
            .get_grant(GetGrantRequest {
                name: "grants/0194a0b0-0000-7000-8000-000000000001".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        assert_eq!(absent.code(), Code::NotFound);
        for status in [
            mallory
                .get_subscription(GetSubscriptionRequest {
                    name: subscription.clone(),
                })
                .await
                .unwrap_err(),
            mallory
                .get_subscription_request(GetSubscriptionRequestRequest {
                    name: approved.name.clone(),
                })
                .await
                .unwrap_err(),
        ] {
            assert_eq!(status.code(), Code::NotFound, "{status:?}");
            assert!(!status.message().contains("confidential"));
        }
    });
}
