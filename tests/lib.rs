//! Helpers shared by the end-to-end tests: clients through the gateway, error-detail readers.

pub mod data_plane;
pub mod openlineage;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_types::StatusExt;
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::provisioning::v1::provisioning_service_client::ProvisioningServiceClient;
use weft_testkit::{Bearer, TestSuite};

pub type Catalog = CatalogServiceClient<InterceptedService<Channel, Bearer>>;

/// A catalog client through the gateway with `token`.
pub fn catalog(suite: &TestSuite, token: &str) -> Catalog {
    CatalogServiceClient::with_interceptor(suite.gateway_channel(), Bearer(token.to_string()))
}

pub type Governance = GovernanceServiceClient<InterceptedService<Channel, Bearer>>;

/// A governance client through the gateway with `token`.
pub fn governance(suite: &TestSuite, token: &str) -> Governance {
    GovernanceServiceClient::with_interceptor(suite.gateway_channel(), Bearer(token.to_string()))
}

pub type Provisioning = ProvisioningServiceClient<InterceptedService<Channel, Bearer>>;

/// A provisioning client through the gateway with `token`.
pub fn provisioning(suite: &TestSuite, token: &str) -> Provisioning {
    ProvisioningServiceClient::with_interceptor(suite.gateway_channel(), Bearer(token.to_string()))
}

pub type Lineage = LineageServiceClient<InterceptedService<Channel, Bearer>>;

/// A lineage client through the gateway with `token`.
pub fn lineage(suite: &TestSuite, token: &str) -> Lineage {
    LineageServiceClient::with_interceptor(suite.gateway_channel(), Bearer(token.to_string()))
}

/// A request creating domain `id` (under `parent`, "" for a top-level one) with `owners`.
pub fn domain_request(
    id: &str,
    display_name: &str,
    parent: &str,
    owners: &[&str],
) -> weft_proto::weft::catalog::v1::CreateDomainRequest {
    weft_proto::weft::catalog::v1::CreateDomainRequest {
        domain_id: id.into(),
        domain: Some(weft_proto::weft::catalog::v1::Domain {
            display_name: display_name.into(),
            parent_domain: parent.into(),
            owners: owners.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A request creating data product `id` in domain `parent`, with only a display name.
pub fn product_request(
    parent: &str,
    id: &str,
    display_name: &str,
) -> weft_proto::weft::catalog::v1::CreateDataProductRequest {
    weft_proto::weft::catalog::v1::CreateDataProductRequest {
        parent: parent.into(),
        data_product_id: id.into(),
        data_product: Some(weft_proto::weft::catalog::v1::DataProduct {
            display_name: display_name.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// The default PUBLISH rules governance seeds on first start.
pub const DEFAULT_RULES: [&str; 4] = [
    "rules/product-has-owner",
    "rules/product-described",
    "rules/columns-described",
    "rules/pii-classified",
];

/// Disables governance's default PUBLISH rules, for tests about something else than rules
/// (publishing then succeeds for products that do not meet them).
pub async fn disable_default_rules(suite: &TestSuite) {
    use weft_proto::weft::governance::v1::{Rule, UpdateRuleRequest};
    let mut admin = governance(suite, &suite.admin_token());
    for name in DEFAULT_RULES {
        admin
            .update_rule(UpdateRuleRequest {
                rule: Some(Rule {
                    name: name.to_string(),
                    enabled: false,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["enabled".to_string()],
                }),
            })
            .await
            .expect("default rule disabled");
    }
}

/// Declares tag keys (with their allowed values; any value when empty) through the gateway.
pub async fn declare_tag_keys(client: &mut Catalog, keys: &[(&str, &[&str])]) {
    for (key, values) in keys {
        client
            .create_tag_key(weft_proto::weft::catalog::v1::CreateTagKeyRequest {
                tag_key_id: key.to_string(),
                tag_key: Some(weft_proto::weft::catalog::v1::TagKey {
                    allowed_values: values.iter().map(|v| v.to_string()).collect(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("tag key declared");
    }
}

/// Declares `key` as a classification tag key (tags with it propagate along column lineage).
pub async fn declare_classification(client: &mut Catalog, key: &str, values: &[&str]) {
    client
        .create_tag_key(weft_proto::weft::catalog::v1::CreateTagKeyRequest {
            tag_key_id: key.to_string(),
            tag_key: Some(weft_proto::weft::catalog::v1::TagKey {
                allowed_values: values.iter().map(|v| v.to_string()).collect(),
                classification: true,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("classification tag key declared");
}

/// A described, nullable string column with `tags` ("key=value").
pub fn string_column(name: &str, tags: &[&str]) -> weft_proto::weft::catalog::v1::Column {
    weft_proto::weft::catalog::v1::Column {
        name: name.into(),
        r#type: "string".into(),
        nullable: true,
        description: format!("The {name}."),
        tags: tags
            .iter()
            .map(|tag| {
                let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
                weft_proto::weft::common::v1::Tag {
                    key: key.into(),
                    value: value.into(),
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// Creates table asset `id` in `product` at an OpenLineage location (namespace, name).
pub async fn create_table_asset(
    client: &mut Catalog,
    product: &str,
    id: &str,
    location: (&str, &str),
    columns: Vec<weft_proto::weft::catalog::v1::Column>,
) {
    use weft_proto::weft::catalog::v1::{Asset, AssetKind, CreateAssetRequest, Location, Schema};
    client
        .create_asset(CreateAssetRequest {
            parent: product.into(),
            asset_id: id.into(),
            asset: Some(Asset {
                kind: AssetKind::Table as i32,
                location: Some(Location {
                    namespace: location.0.into(),
                    name: location.1.into(),
                }),
                schema: Some(Schema { columns }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("asset created");
}

/// Creates governance group `id` with `members` (the client's token must be an administrator's).
pub async fn create_group(client: &mut Governance, id: &str, display_name: &str, members: &[&str]) {
    use weft_proto::weft::governance::v1::{CreateGroupRequest, Group};
    client
        .create_group(CreateGroupRequest {
            group_id: id.into(),
            group: Some(Group {
                display_name: display_name.into(),
                members: members.iter().map(|m| m.to_string()).collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("group created");
}

/// The caller's own access decision on `resource` (Check through the gateway).
pub async fn decide(
    client: &mut Governance,
    permission: weft_proto::weft::common::v1::Permission,
    resource: &str,
) -> weft_proto::weft::governance::v1::AccessDecision {
    use weft_proto::weft::governance::v1::{AccessQuery, CheckRequest};
    client
        .check(CheckRequest {
            query: Some(AccessQuery {
                principal: String::new(),
                permission: permission as i32,
                resource: resource.into(),
            }),
        })
        .await
        .expect("check answers")
        .into_inner()
        .decision
        .expect("a decision")
}

/// Whether the caller may SELECT `resource`.
pub async fn may_select(client: &mut Governance, resource: &str) -> bool {
    decide(
        client,
        weft_proto::weft::common::v1::Permission::Select,
        resource,
    )
    .await
    .allowed
}

/// The path of tool `tool` on PATH; panics with how to install it when missing.
pub fn require_tool(tool: &str, install: &str) -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| panic!("{tool} is not installed; run tests/setup.sh ({install})"))
}

/// Runs a command to success and returns its standard output.
pub fn run_tool(command: &mut std::process::Command) -> String {
    let output = command.output().expect("the tool runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// The fields named by a status's google.rpc.BadRequest.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// (field, description) of each google.rpc.BadRequest field violation.
pub fn bad_field_messages(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The (type, subject) of each google.rpc.PreconditionFailure violation.
pub fn precondition_violations(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_error_details()
        .precondition_failure()
        .map(|failure| {
            failure
                .violations
                .iter()
                .map(|v| (v.r#type.clone(), v.subject.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `body` against a fresh suite on every test database (SQLite, and PostgreSQL when set).
#[macro_export]
macro_rules! on_every_backend {
    (|$suite:ident| $body:block) => {
        for backend in weft_testkit::backends() {
            eprintln!("-- on {backend}");
            let $suite = weft_testkit::TestSuite::start(backend).await.expect("suite starts");
            $body
            $suite.stop().await.expect("suite stops cleanly");
        }
    };
}

/// CreateEnvironment of a consumer environment `id` of `project` from the built-in `postgres`
/// blueprint, on the data plane whose admin URL is `admin_url`.
pub fn consumer_environment(
    project: &str,
    id: &str,
    admin_url: &str,
) -> weft_proto::weft::provisioning::v1::CreateEnvironmentRequest {
    use prost_types::value::Kind;
    use weft_proto::weft::provisioning::v1::{
        CreateEnvironmentRequest, Environment, EnvironmentKind,
    };
    CreateEnvironmentRequest {
        environment: Some(Environment {
            blueprint: "blueprints/postgres".into(),
            project: project.into(),
            parameters: Some(prost_types::Struct {
                fields: std::collections::BTreeMap::from([(
                    "admin_url".to_string(),
                    prost_types::Value {
                        kind: Some(Kind::StringValue(admin_url.to_string())),
                    },
                )]),
            }),
            kind: EnvironmentKind::Consumer as i32,
            ..Default::default()
        }),
        environment_id: id.into(),
        request_id: String::new(),
    }
}

/// The credentials of environment `name`, once it is ACTIVE (they are refused before); `None`
/// when it is not within `within`.
pub async fn credentials_when_active(
    client: &mut Provisioning,
    name: &str,
    within: std::time::Duration,
) -> Option<weft_proto::weft::provisioning::v1::EnvironmentCredentials> {
    use weft_proto::weft::provisioning::v1::GetEnvironmentCredentialsRequest;
    let deadline = std::time::Instant::now() + within;
    loop {
        let asked = client
            .get_environment_credentials(GetEnvironmentCredentialsRequest { name: name.into() })
            .await;
        match asked {
            Ok(handed) => return Some(handed.into_inner()),
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(_) => return None,
        }
    }
}

/// The suite on `backend` with provisioning reconciling every second (the default minute is
/// longer than a test waits for drift to be found).
pub async fn suite_reconciling_every_second(backend: weft_testkit::Backend) -> TestSuite {
    TestSuite::start_with(backend, |kind, config| {
        if kind == weft_runtime::ServiceKind::Provisioning {
            config.provisioning.reconcile_interval = std::time::Duration::from_secs(1);
        }
    })
    .await
    .expect("the suite starts")
}
