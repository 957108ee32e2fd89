//! The gateway's authentication, routing, health and composed RPCs; the backends' own
//! authentication (mTLS service identity, bearer tokens) and their event streams and journals.

use futures::StreamExt;
use prost::Message;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use weft_proto::weft::catalog::v1::catalog_internal_service_client::CatalogInternalServiceClient;
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::catalog::v1::{
    CreateDataProductRequest, CreateDomainRequest, DataProduct, Domain, ListDomainsRequest,
};
use weft_proto::weft::common::v1::WatchEventsRequest;
use weft_proto::weft::gateway::v1::portal_service_client::PortalServiceClient;
use weft_proto::weft::gateway::v1::{
    GetCallerRequest, GetProductOverviewRequest, QueryAuditRequest as PortalQueryAuditRequest,
};
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::governance::v1::{CreateProjectRequest, Project};
use weft_proto::weft::lineage::v1::ListJobsRequest;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::provisioning::v1::provisioning_service_client::ProvisioningServiceClient;
use weft_proto::weft::provisioning::v1::{ListBlueprintsRequest, ReconcileEnvironmentRequest};
use weft_runtime::ServiceKind;
use weft_testkit::{Bearer, TestSuite};
use weft_tests::catalog;

fn create_domain(id: &str) -> CreateDomainRequest {
    CreateDomainRequest {
        domain_id: id.into(),
        domain: Some(Domain {
            display_name: id.to_uppercase(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn every_call_needs_a_valid_token_except_health_and_reflection() {
    let suite = TestSuite::start(weft_testkit::Backend::Sqlite)
        .await
        .unwrap();
    let mut anonymous = CatalogServiceClient::new(suite.gateway_channel());
    let error = anonymous
        .list_domains(ListDomainsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    for token in [
        "garbage",
        &weft_runtime::auth::issue_hs256_token(
            &[7; 32],
            "users/eve",
            &[],
            std::time::Duration::from_secs(60),
        )
        .unwrap(),
    ] {
        let error = catalog(&suite, token)
            .list_domains(ListDomainsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "{token}");
    }
    let mut portal = PortalServiceClient::new(suite.gateway_channel());
    assert_eq!(
        portal
            .get_caller(GetCallerRequest {})
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );

    // Health answers for every public service without a token.
    let mut health = HealthClient::new(suite.gateway_channel());
    for kind in ServiceKind::ALL {
        let status = health
            .check(HealthCheckRequest {
                service: kind.public_service_name().into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, 1, "{kind} is not SERVING at the gateway");
    }
    suite.stop().await.unwrap();
}

#[tokio::test]
async fn the_gateway_routes_every_public_service_and_knows_its_caller() {
    let suite = TestSuite::start(weft_testkit::Backend::Sqlite)
        .await
        .unwrap();
    let token = suite.token("users/carol", &["analysts"]);
    let channel = suite.gateway_channel();
    let bearer = Bearer(token.clone());

    let mut portal = PortalServiceClient::with_interceptor(channel.clone(), bearer.clone());
    let caller = portal
        .get_caller(GetCallerRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(caller.principal.unwrap().subject, "users/carol");
    assert!(!caller.admin);
    let admin = PortalServiceClient::with_interceptor(channel.clone(), Bearer(suite.admin_token()))
        .get_caller(GetCallerRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(admin.admin);

    // Governance answers through the gateway, as the authenticated caller.
    let projects = GovernanceServiceClient::with_interceptor(channel.clone(), bearer.clone())
        .create_project(CreateProjectRequest {
            project_id: "routed".into(),
            project: Some(Project::default()),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(projects.members[0].principal, "users/carol");

    // Lineage answers through the gateway.
    let jobs = LineageServiceClient::with_interceptor(channel.clone(), bearer.clone())
        .list_jobs(ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(jobs.jobs.is_empty());

    // Provisioning answers through the gateway: the built-in blueprint is seeded at start.
    let blueprints = ProvisioningServiceClient::with_interceptor(channel.clone(), bearer.clone())
        .list_blueprints(ListBlueprintsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(blueprints.blueprints[0].name, "blueprints/postgres");

    // A bad request is answered by the service itself, after authentication.
    let refused = ProvisioningServiceClient::with_interceptor(channel.clone(), bearer.clone())
        .reconcile_environment(ReconcileEnvironmentRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    // The gateway's own RPCs are held to their declared rules like the forwarded ones: DESCRIBE
    // on the product for its overview, administrators only for the merged audit.
    let overview = GetProductOverviewRequest {
        name: "domains/a/dataProducts/b".into(),
    };
    let refused = portal
        .get_product_overview(overview.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = portal
        .query_audit(PortalQueryAuditRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("administrators"), "{refused:?}");
    let mut admin_portal =
        PortalServiceClient::with_interceptor(channel.clone(), Bearer(suite.admin_token()));
    for status in [
        admin_portal
            .get_product_overview(overview)
            .await
            .unwrap_err(),
        admin_portal
            .query_audit(PortalQueryAuditRequest::default())
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    }
    suite.stop().await.unwrap();
}

#[tokio::test]
async fn backends_trust_forwarded_principals_only_from_service_certificates() {
    let suite = TestSuite::start(weft_testkit::Backend::Sqlite)
        .await
        .unwrap();
    let principal = weft_runtime::auth::encode_principal(&weft_runtime::Principal {
        subject: "users/admin".into(),
        groups: vec!["weft-admins".into()],
    });
    let forged = MetadataValue::from_bytes(&principal);

    // TLS without a client certificate: a forged principal header is refused...
    let mut direct =
        CatalogServiceClient::new(suite.backend_channel(ServiceKind::Catalog, None).unwrap());
    let mut request = tonic::Request::new(ListDomainsRequest::default());
    request
        .metadata_mut()
        .insert_bin(weft_runtime::auth::PRINCIPAL_METADATA_KEY, forged.clone());
    assert_eq!(
        direct.list_domains(request).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    // ...a user's bearer token would bypass the gateway's authorization: refused...
    let mut with_token = CatalogServiceClient::with_interceptor(
        suite.backend_channel(ServiceKind::Catalog, None).unwrap(),
        Bearer(suite.token("users/dave", &[])),
    );
    let refused = with_token
        .create_domain(create_domain("direct"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("gateway"), "{refused:?}");
    // ...an administrator's token is accepted.
    let mut as_admin = CatalogServiceClient::with_interceptor(
        suite.backend_channel(ServiceKind::Catalog, None).unwrap(),
        Bearer(suite.admin_token()),
    );
    as_admin
        .create_domain(create_domain("direct"))
        .await
        .unwrap();

    // The gateway's certificate may forward a principal...
    let mut as_gateway = CatalogServiceClient::new(
        suite
            .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Gateway))
            .unwrap(),
    );
    let mut request = tonic::Request::new(create_domain("forwarded"));
    request
        .metadata_mut()
        .insert_bin(weft_runtime::auth::PRINCIPAL_METADATA_KEY, forged.clone());
    as_gateway.create_domain(request).await.unwrap();
    // ...another service's may not (it never calls public RPCs for a user).
    let mut as_lineage = CatalogServiceClient::new(
        suite
            .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Lineage))
            .unwrap(),
    );
    let mut request = tonic::Request::new(create_domain("from-lineage"));
    request
        .metadata_mut()
        .insert_bin(weft_runtime::auth::PRINCIPAL_METADATA_KEY, forged);
    let refused = as_lineage.create_domain(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");

    // Internal RPCs need a service certificate, whatever the token.
    let mut internal = CatalogInternalServiceClient::with_interceptor(
        suite.backend_channel(ServiceKind::Catalog, None).unwrap(),
        Bearer(suite.admin_token()),
    );
    let error = internal
        .watch_events(WatchEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    suite.stop().await.unwrap();
}

#[tokio::test]
async fn watch_events_streams_every_change_in_order_and_the_journal_verifies() {
    for backend in weft_testkit::backends() {
        let suite = TestSuite::start(backend).await.unwrap();
        let mut client = catalog(&suite, &suite.token("users/erin", &["weft-admins"]));
        let mut internal = CatalogInternalServiceClient::new(
            suite
                .backend_channel(ServiceKind::Catalog, Some(ServiceKind::Governance))
                .unwrap(),
        );
        let mut stream = internal
            .watch_events(WatchEventsRequest {
                after_sequence: 0,
                types: vec![],
            })
            .await
            .unwrap()
            .into_inner();

        client.create_domain(create_domain("sales")).await.unwrap();
        client
            .create_data_product(CreateDataProductRequest {
                parent: "domains/sales".into(),
                data_product_id: "orders".into(),
                data_product: Some(DataProduct {
                    display_name: "Orders".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();

        let mut events = Vec::new();
        while events.len() < 2 {
            let event = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
                .await
                .expect("events arrive")
                .unwrap()
                .unwrap();
            events.push(event);
        }
        assert_eq!(events[0].r#type, "domain.created");
        assert_eq!(events[1].r#type, "data_product.created");
        assert!(events[0].sequence < events[1].sequence);
        assert_eq!(events[1].actor, "users/erin");
        let payload = events[0].payload.as_ref().unwrap();
        assert_eq!(
            payload.type_url,
            "type.googleapis.com/weft.catalog.v1.Domain"
        );
        assert_eq!(
            Domain::decode(payload.value.as_slice()).unwrap().name,
            "domains/sales"
        );

        // Resuming after the first event starts at the second; type filters apply.
        let resumed = internal
            .watch_events(WatchEventsRequest {
                after_sequence: events[0].sequence,
                types: vec!["data_product.created".into()],
            })
            .await
            .unwrap()
            .into_inner()
            .next()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resumed.event_id, events[1].event_id);
        let error = internal
            .watch_events(WatchEventsRequest {
                after_sequence: -1,
                types: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);

        let db = weft_storage::connect(&suite.database_urls[&ServiceKind::Catalog])
            .await
            .unwrap();
        let report = weft_storage::journal::verify_chain(&db).await.unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.records, 2);
        db.close().await.unwrap();
        suite.stop().await.unwrap();
    }
}
