//! ExplainAccessForService, governance's internal question of provisioning's fulfilment: many
//! questions in one call, answered in order with the effective columns; refused to any other
//! service; bounded in size; a bad question named by its index.

use std::time::Duration;

use tonic::Code;
use weft_proto::weft::common::v1::{DataFilter, Permission};
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_proto::weft::governance::v1::*;
use weft_runtime::ServiceKind;
use weft_testkit::{TestSuite, backends};
use weft_tests::{
    bad_fields, catalog, create_group, create_table_asset, domain_request, governance,
    product_request, string_column,
};

const PRODUCT: &str = "domains/sales/dataProducts/orders";
const ORDERS: &str = "domains/sales/dataProducts/orders/assets/orders";
const CUSTOMERS: &str = "domains/sales/dataProducts/orders/assets/customers";

fn select(principal: &str, resource: &str) -> AccessQuery {
    AccessQuery {
        principal: principal.into(),
        permission: Permission::Select as i32,
        resource: resource.into(),
    }
}

#[tokio::test]
async fn provisioning_asks_many_questions_in_one_call() {
    for backend in backends() {
        let suite = TestSuite::start(backend).await.unwrap();
        let mut admin_catalog = catalog(&suite, &suite.admin_token());
        admin_catalog
            .create_domain(domain_request("sales", "Sales", "", &["users/olivia"]))
            .await
            .unwrap();
        admin_catalog
            .create_data_product(product_request("domains/sales", "orders", "Orders"))
            .await
            .unwrap();
        for id in ["orders", "customers"] {
            create_table_asset(
                &mut admin_catalog,
                PRODUCT,
                id,
                ("postgres://db.example:5432", &format!("sales.public.{id}")),
                vec![string_column("region", &[]), string_column("email", &[])],
            )
            .await;
        }
        let mut admin = governance(&suite, &suite.admin_token());
        create_group(&mut admin, "analysts", "Analysts", &["users/alice"]).await;
        let mut granted = false;
        for _ in 0..100 {
            // Refused until governance's projection holds the asset.
            let grant = admin
                .create_grant(CreateGrantRequest {
                    grant: Some(Grant {
                        principal: "groups/analysts".into(),
                        target: Some(grant::Target::Resource(ORDERS.into())),
                        permissions: vec![Permission::Select as i32],
                        data_filter: Some(DataFilter {
                            exclude_columns: vec!["email".into()],
                            ..Default::default()
                        }),
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

        let as_provisioning = suite
            .backend_channel(ServiceKind::Governance, Some(ServiceKind::Provisioning))
            .unwrap();
        let mut provisioning = GovernanceInternalServiceClient::new(as_provisioning);
        let answers = provisioning
            .explain_access_for_service(ExplainAccessForServiceRequest {
                queries: vec![
                    select("groups/analysts", CUSTOMERS),
                    select("groups/analysts", ORDERS),
                ],
            })
            .await
            .unwrap()
            .into_inner()
            .explanations;
        assert_eq!(answers.len(), 2);
        let allowed =
            |answer: &ExplainAccessResponse| answer.decision.as_ref().is_some_and(|d| d.allowed);
        assert!(!allowed(&answers[0]), "no grant on customers: {answers:?}");
        assert!(allowed(&answers[1]), "{answers:?}");
        assert_eq!(answers[1].effective_columns, ["region"]);

        // A bad question is named by its index; nothing is answered.
        let status = provisioning
            .explain_access_for_service(ExplainAccessForServiceRequest {
                queries: vec![select("groups/analysts", ORDERS), select("", ORDERS)],
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["queries[1].principal"]);

        // Bounded: at most 1,000 questions a call.
        let status = provisioning
            .explain_access_for_service(ExplainAccessForServiceRequest {
                queries: vec![select("groups/analysts", ORDERS); 1_001],
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["queries"]);

        // Only provisioning may ask (it sees every principal's access).
        for other in [
            ServiceKind::Catalog,
            ServiceKind::Gateway,
            ServiceKind::Lineage,
        ] {
            let channel = suite
                .backend_channel(ServiceKind::Governance, Some(other))
                .unwrap();
            let status = GovernanceInternalServiceClient::new(channel)
                .explain_access_for_service(ExplainAccessForServiceRequest {
                    queries: vec![select("groups/analysts", ORDERS)],
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied, "{other:?}");
        }
        suite.stop().await.unwrap();
    }
}
