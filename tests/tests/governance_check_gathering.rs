//! Public Check calls reach governance gathered by the gateway (`check_gathering`), on SQLite and
//! PostgreSQL: many callers asking at once each get their own answer (their own groups, their
//! own errors) and their own journal record; governance's internal CheckForCallers, which
//! carries the gathered calls, decides each as Check would and is the gateway's alone.

use std::time::Duration;

use tonic::Code;
use weft_proto::weft::common::v1::{AuditOutcome, AuditRecord, Permission};
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::*;
use weft_runtime::ServiceKind;
use weft_testkit::TestSuite;
use weft_tests::{
    bad_field_messages, catalog, create_group, create_table_asset, domain_request, governance,
    may_select, product_request, string_column,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";
const ASSET: &str = "domains/sales/dataProducts/orders/assets/orders";

/// Olivia's domain with one asset; the analysts group (alice) may SELECT it.
async fn register(suite: &TestSuite) {
    let mut admin_catalog = catalog(suite, &suite.admin_token());
    admin_catalog
        .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
        .await
        .unwrap();
    admin_catalog
        .create_data_product(product_request("domains/sales", "orders", "Orders"))
        .await
        .unwrap();
    create_table_asset(
        &mut admin_catalog,
        PRODUCT,
        "orders",
        ("postgres://db.example:5432", "sales.public.orders"),
        vec![string_column("region", &[]), string_column("email", &[])],
    )
    .await;
    let mut admin = governance(suite, &suite.admin_token());
    create_group(&mut admin, "analysts", "Analysts", &["users/alice"]).await;
    let mut olivia = governance(suite, &suite.token("users/olivia", &[]));
    let mut granted = false;
    for _ in 0..100 {
        // Refused until governance's projection holds the asset.
        let grant = olivia
            .create_grant(CreateGrantRequest {
                grant: Some(Grant {
                    principal: "groups/analysts".into(),
                    target: Some(grant::Target::Resource(ASSET.into())),
                    permissions: vec![Permission::Select as i32],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await;
        if grant.is_ok() {
            granted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(granted, "the catalog projection never reached governance");
    let mut alice = governance(suite, &suite.token("users/alice", &[]));
    assert!(may_select(&mut alice, ASSET).await);
}

/// What a Check call should return.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    Allowed,
    Denied,
    /// The error's code and a part of its message or a field it names.
    Refused(Code, &'static str),
}

fn query(principal: &str, resource: &str) -> CheckRequest {
    CheckRequest {
        query: Some(AccessQuery {
            principal: principal.into(),
            permission: Permission::Select as i32,
            resource: resource.into(),
        }),
    }
}

fn outcome_of(result: Result<CheckResponse, tonic::Status>) -> Expected {
    match result {
        Ok(response) if response.decision.as_ref().unwrap().allowed => Expected::Allowed,
        Ok(_) => Expected::Denied,
        Err(status) => {
            const ANOTHER: &str = "only administrators may ask about another principal";
            let fields = bad_field_messages(&status);
            let named = match status.message().contains(ANOTHER) {
                true => ANOTHER,
                false => ["query.resource", "principal"]
                    .into_iter()
                    .find(|known| fields.iter().any(|(field, _)| field == known))
                    .unwrap_or("something else"),
            };
            Expected::Refused(status.code(), named)
        }
    }
}

/// Check records journaled for `actor` on the asset, once `expected` of them are there.
async fn journaled(
    admin: &mut weft_tests::Governance,
    actor: &str,
    expected: usize,
) -> Vec<AuditRecord> {
    let mut records = Vec::new();
    for _ in 0..100 {
        records = admin
            .query_audit(QueryAuditRequest {
                actor: actor.into(),
                resource: ASSET.into(),
                actions: vec!["Check".into()],
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .records;
        if records.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    records
}

#[tokio::test]
async fn check_calls_of_many_callers_at_once_each_get_their_own_answer_and_record() {
    for backend in weft_testkit::backends() {
        eprintln!("-- on {backend}");
        let mut suite = TestSuite::start(backend).await.expect("suite starts");
        register(&suite).await;
        let alice = suite.token("users/alice", &[]);
        // Carol is no member in governance: her token says she is an analyst.
        let carol = suite.token("users/carol", &["groups/analysts"]);
        let bob = suite.token("users/bob", &[]);
        let admin = suite.admin_token();
        let cases = [
            (&alice, "", ASSET, Expected::Allowed),
            (&carol, "", ASSET, Expected::Allowed),
            (&bob, "", ASSET, Expected::Denied),
            (
                &bob,
                "users/alice",
                ASSET,
                Expected::Refused(
                    Code::PermissionDenied,
                    "only administrators may ask about another principal",
                ),
            ),
            (&admin, "users/alice", ASSET, Expected::Allowed),
            (&admin, "users/bob", ASSET, Expected::Denied),
            (
                &alice,
                "",
                "",
                Expected::Refused(Code::InvalidArgument, "query.resource"),
            ),
        ];
        const ROUNDS: usize = 8;
        let mut calls = Vec::new();
        for _ in 0..ROUNDS {
            for (token, principal, resource, expected) in &cases {
                let mut client = governance(&suite, token);
                let request = query(principal, resource);
                let expected = *expected;
                calls.push(tokio::spawn(async move {
                    let outcome = outcome_of(client.check(request).await.map(|r| r.into_inner()));
                    (outcome, expected)
                }));
            }
        }
        for call in futures::future::join_all(calls).await {
            let (outcome, expected) = call.unwrap();
            assert_eq!(outcome, expected);
        }

        // Each decided call is journaled once under its own caller; refused calls are not.
        let mut admin_client = governance(&suite, &admin);
        for (actor, expected) in [
            // (And one of `register`.)
            ("users/alice", vec![AuditOutcome::Succeeded; ROUNDS + 1]),
            ("users/carol", vec![AuditOutcome::Succeeded; ROUNDS]),
            ("users/bob", vec![AuditOutcome::Denied; ROUNDS]),
        ] {
            let records = journaled(&mut admin_client, actor, expected.len()).await;
            let outcomes: Vec<AuditOutcome> = records.iter().map(|r| r.outcome()).collect();
            assert_eq!(outcomes, expected, "{actor}");
        }
        let records = journaled(&mut admin_client, "users/admin", 2 * ROUNDS).await;
        assert_eq!(records.len(), 2 * ROUNDS);
        for (about, outcome) in [
            ("users/alice", AuditOutcome::Succeeded),
            ("users/bob", AuditOutcome::Denied),
        ] {
            let about_them: Vec<&AuditRecord> = records
                .iter()
                .filter(|r| r.detail_json.contains(&format!("\"{about}\"")))
                .collect();
            assert_eq!(about_them.len(), ROUNDS, "{about}");
            assert!(about_them.iter().all(|r| r.outcome() == outcome));
        }

        // The internal RPC itself: several callers in one call, each answered as Check would.
        let channel = suite
            .backend_channel(ServiceKind::Governance, Some(ServiceKind::Gateway))
            .unwrap();
        let mut as_gateway = GovernanceInternalServiceClient::new(channel);
        let call = |principal: &str, groups: &[&str], request: CheckRequest| CallerCheck {
            principal: principal.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            request: Some(request),
            min_catalog_sequence: 0,
        };
        let checks = vec![
            call("users/alice", &[], query("", ASSET)),
            call("users/carol", &["groups/analysts"], query("", ASSET)),
            call("users/bob", &[], query("users/alice", ASSET)),
            call("users/alice", &[], query("", "")),
            call("users/root", &["weft-admins"], query("users/bob", ASSET)),
            call("", &[], query("", ASSET)),
        ];
        let response = as_gateway
            .check_for_callers(CheckForCallersRequest {
                checks: checks.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(response.index_sequence > 0, "the grant is in the index");
        let outcomes: Vec<Expected> = response
            .outcomes
            .into_iter()
            .map(|outcome| {
                outcome_of(match outcome.outcome.expect("an outcome") {
                    check_outcome::Outcome::Response(response) => Ok(response),
                    check_outcome::Outcome::Error(error) => Err(tonic::Status::with_details(
                        Code::from_i32(error.code),
                        error.message,
                        error.details.into(),
                    )),
                })
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                Expected::Allowed,
                Expected::Allowed,
                Expected::Refused(
                    Code::PermissionDenied,
                    "only administrators may ask about another principal"
                ),
                Expected::Refused(Code::InvalidArgument, "query.resource"),
                Expected::Denied,
                Expected::Refused(Code::InvalidArgument, "principal"),
            ]
        );

        // DescribeScope (the catalog's search asks it): what alice may see, everything for an
        // administrator, and a principal that is none refused naming the field.
        let scope = |principal: &str, groups: &[&str]| DescribeScopeRequest {
            principal: principal.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            min_catalog_sequence: 0,
        };
        let seen = as_gateway
            .describe_scope(scope("users/alice", &[]))
            .await
            .unwrap()
            .into_inner();
        assert!(seen.exact && !seen.everything, "{seen:?}");
        assert!(seen.principals.contains(&"users/alice".to_string()));
        assert!(
            seen.subtrees
                .iter()
                .chain(&seen.resources)
                .any(|r| r == ASSET),
            "{seen:?}"
        );
        let root = as_gateway
            .describe_scope(scope("users/root", &["weft-admins"]))
            .await
            .unwrap()
            .into_inner();
        assert!(root.everything);
        let refused = as_gateway
            .describe_scope(scope("alice", &[]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(weft_tests::bad_fields(&refused), ["principal"]);

        // Too many calls at once, and any other service than the gateway: refused whole.
        let status = as_gateway
            .check_for_callers(CheckForCallersRequest {
                checks: vec![checks[0].clone(); 1_001],
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_field_messages(&status)[0].0, "checks");
        let channel = suite
            .backend_channel(ServiceKind::Governance, Some(ServiceKind::Catalog))
            .unwrap();
        let status = GovernanceInternalServiceClient::new(channel)
            .check_for_callers(CheckForCallersRequest { checks })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

        // Governance unreachable: every waiting caller is told so; then it answers again.
        suite.stop_service(ServiceKind::Governance).await.unwrap();
        let mut calls = Vec::new();
        for _ in 0..4 {
            let mut client = governance(&suite, &alice);
            calls.push(tokio::spawn(async move {
                client.check(query("", ASSET)).await.unwrap_err()
            }));
        }
        for call in futures::future::join_all(calls).await {
            assert_eq!(call.unwrap().code(), Code::Unavailable);
        }
        suite.start_service(ServiceKind::Governance).await.unwrap();
        let mut alice = governance(&suite, &alice);
        let mut answered = false;
        for _ in 0..100 {
            if let Ok(response) = alice.check(query("", ASSET)).await {
                answered = response.into_inner().decision.unwrap().allowed;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(answered, "Check answers again once governance is back");
        suite.stop().await.expect("suite stops cleanly");
    }
}
