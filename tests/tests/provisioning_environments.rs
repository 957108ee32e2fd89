//! Provisioning's environments on a real PostgreSQL data plane (a scram-sha-256 cluster of the
//! test's own), through the gateway, on every metadata backend: who may create, see and use an
//! environment; parameters checked against the blueprint; deployments applied and kept; the
//! consumer's generated login works (and a wrong or rotated-away password does not); a producer
//! owns its schema and Weft never drops tables; roles Weft did not create are not taken over;
//! an unreachable data plane fails the deployment with a clear error; no secret is returned.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use sqlx::{Connection, PgConnection, Row};
use tonic::Code;
use weft_proto::weft::governance::v1::{CreateProjectRequest, Project, ProjectMember, ProjectRole};
use weft_proto::weft::provisioning::v1::provisioning_internal_service_client::ProvisioningInternalServiceClient;
use weft_proto::weft::provisioning::v1::*;
use weft_runtime::ServiceKind;
use weft_testkit::{TestSuite, backends};
use weft_tests::data_plane::DataPlane;
use weft_tests::{Provisioning, bad_fields, governance, provisioning};

fn text(value: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(value.to_string())),
    }
}

fn parameters(values: &[(&str, &str)]) -> Struct {
    Struct {
        fields: values
            .iter()
            .map(|(name, value)| (name.to_string(), text(value)))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn create(id: &str, kind: EnvironmentKind, values: &[(&str, &str)]) -> CreateEnvironmentRequest {
    CreateEnvironmentRequest {
        environment: Some(Environment {
            blueprint: "blueprints/postgres".into(),
            project: "projects/churn".into(),
            parameters: Some(parameters(values)),
            kind: kind as i32,
            ..Default::default()
        }),
        environment_id: id.into(),
        request_id: String::new(),
    }
}

/// Waits until the environment leaves its pending state.
async fn settled(client: &mut Provisioning, name: &str) -> Environment {
    for _ in 0..300 {
        let environment = client
            .get_environment(GetEnvironmentRequest { name: name.into() })
            .await
            .unwrap()
            .into_inner();
        if !matches!(
            environment.state(),
            EnvironmentState::Creating | EnvironmentState::Updating | EnvironmentState::Deleting
        ) {
            return environment;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} did not settle in 30s");
}

async fn credentials(
    client: &mut Provisioning,
    name: &str,
) -> Result<EnvironmentCredentials, tonic::Status> {
    client
        .get_environment_credentials(GetEnvironmentCredentialsRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn login(plane: &DataPlane, user: &str, password: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect(&plane.url(user, password, "postgres")).await
}

/// Whether `role` exists on the data plane.
async fn role_exists(admin: &mut PgConnection, role: &str) -> bool {
    sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(role)
        .fetch_optional(admin)
        .await
        .unwrap()
        .is_some()
}

/// Everything the services log during the test (every level, sqlx's statements included).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_on_a_postgres_data_plane() {
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .init();
    for backend in backends() {
        let plane = DataPlane::start().unwrap();
        let suite = TestSuite::start(backend.clone()).await.unwrap();
        let mut secrets = run(&suite, &plane).await;
        suite.stop().await.unwrap();
        secrets.push(plane.admin_password.clone());
        let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        // The capture works (the failed deployments were logged)…
        assert!(logs.contains("a deployment failed"), "nothing was captured");
        // …and neither Weft's logs nor the data plane's hold a password or an admin URL.
        for secret in &secrets {
            assert!(!logs.contains(secret.as_str()), "a secret was logged");
            assert!(
                !plane.log().contains(secret.as_str()),
                "the data plane logged a secret"
            );
        }
    }
}

/// Runs the scenario; returns every secret it saw (they must appear in no log).
async fn run(suite: &TestSuite, plane: &DataPlane) -> Vec<String> {
    let alice = suite.token("users/alice", &[]);
    let bob = suite.token("users/bob", &[]);
    let carol = suite.token("users/carol", &[]);
    let mallory = suite.token("users/mallory", &[]);
    governance(suite, &alice)
        .create_project(CreateProjectRequest {
            project_id: "churn".into(),
            project: Some(Project {
                members: vec![
                    ProjectMember {
                        principal: "users/alice".into(),
                        role: ProjectRole::Owner as i32,
                    },
                    ProjectMember {
                        principal: "users/bob".into(),
                        role: ProjectRole::Consumer as i32,
                    },
                    ProjectMember {
                        principal: "users/carol".into(),
                        role: ProjectRole::Viewer as i32,
                    },
                ],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let admin_url = plane.admin_url("postgres");
    let mut owner = provisioning(suite, &alice);

    // Only the project's OWNERs and CONTRIBUTORs create its environments, decided first.
    for (token, who) in [
        (&mallory, "a stranger"),
        (&bob, "a CONSUMER"),
        (&carol, "a VIEWER"),
    ] {
        let refused = provisioning(suite, token)
            .create_environment(create(
                "churn-consumer",
                EnvironmentKind::Consumer,
                &[("admin_url", &admin_url)],
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}: {refused:?}");
    }

    // Parameters are checked against the blueprint: every bad field named, the URL not echoed.
    let refused = owner
        .create_environment(create(
            "churn-consumer",
            EnvironmentKind::Consumer,
            &[
                ("colour", "blue"),
                ("schema", "Robert'); DROP TABLE x; --"),
                ("database", "pg_catalog"),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    let mut fields = bad_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "environment.parameters.admin_url",
            "environment.parameters.colour",
            "environment.parameters.database",
            "environment.parameters.schema",
        ]
    );
    let refused = owner
        .create_environment(create(
            "churn-consumer",
            EnvironmentKind::Consumer,
            &[("admin_url", "mysql://root:hunter2@db/x")],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&refused),
        vec!["environment.parameters.admin_url"]
    );
    assert!(!refused.message().contains("hunter2"), "{refused:?}");
    let mut unknown_blueprint = create("x", EnvironmentKind::Consumer, &[]);
    unknown_blueprint.environment.as_mut().unwrap().blueprint = "blueprints/nope".into();
    let refused = owner
        .create_environment(unknown_blueprint)
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&refused), vec!["environment.blueprint"]);

    // The plan shows the actions without applying them.
    let mut planned = create(
        "churn-consumer",
        EnvironmentKind::Consumer,
        &[("admin_url", &admin_url)],
    )
    .environment
    .unwrap();
    planned.name = "environments/churn-consumer".into();
    let plan = owner
        .plan_environment(PlanEnvironmentRequest {
            environment: Some(planned),
        })
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<&str> = plan.actions.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, vec!["CREATE_ROLE", "GRANT"]);
    assert_eq!(plan.actions[0].target, "weft_e_churn_consumer");
    let mut admin = login(plane, &plane.admin_user, &plane.admin_password)
        .await
        .unwrap();
    assert!(
        !role_exists(&mut admin, "weft_e_churn_consumer").await,
        "a plan applies nothing"
    );

    // A consumer environment: created, deployed, its login handed to the project's users.
    let created = owner
        .create_environment(create(
            "churn-consumer",
            EnvironmentKind::Consumer,
            &[("admin_url", &admin_url)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.state(), EnvironmentState::Creating);
    assert!(
        !created
            .parameters
            .unwrap_or_default()
            .fields
            .contains_key("admin_url")
    );
    let consumer = settled(&mut owner, "environments/churn-consumer").await;
    assert_eq!(consumer.state(), EnvironmentState::Active, "{consumer:?}");
    assert!(consumer.last_deployment.as_ref().unwrap().succeeded);
    let deployments = owner
        .list_deployments(ListDeploymentsRequest {
            parent: consumer.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .deployments;
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].operation, "CREATE");
    assert!(deployments[0].actions.iter().all(|a| a.succeeded));

    let mut user = provisioning(suite, &bob);
    let handed = credentials(&mut user, &consumer.name).await.unwrap();
    assert_eq!(handed.username, "weft_e_churn_consumer");
    assert!(!handed.connection_url.contains(&handed.password));
    assert!(
        handed
            .connection_url
            .ends_with(&format!("127.0.0.1:{}/postgres", plane.port))
    );
    let mut session = login(plane, &handed.username, &handed.password)
        .await
        .unwrap();
    let whoami: String = sqlx::query("SELECT current_user::text")
        .fetch_one(&mut session)
        .await
        .unwrap()
        .get(0);
    assert_eq!(whoami, "weft_e_churn_consumer");
    let wrong = login(plane, &handed.username, "not-the-password").await;
    assert!(wrong.is_err(), "a wrong password is refused");

    // Credentials: a VIEWER may see the environment but not use it; a stranger gets the same
    // refusal for this environment as for one that does not exist.
    let viewer = credentials(&mut provisioning(suite, &carol), &consumer.name)
        .await
        .unwrap_err();
    assert_eq!(viewer.code(), Code::PermissionDenied);
    provisioning(suite, &carol)
        .get_environment(GetEnvironmentRequest {
            name: consumer.name.clone(),
        })
        .await
        .unwrap();
    let mut stranger = provisioning(suite, &mallory);
    let hidden = credentials(&mut stranger, &consumer.name)
        .await
        .unwrap_err();
    let absent = credentials(&mut stranger, "environments/absent")
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::PermissionDenied);
    assert_eq!(
        hidden.message().replace(&consumer.name, "N"),
        absent.message().replace("environments/absent", "N")
    );
    let listed = stranger
        .list_environments(ListEnvironmentsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.environments.is_empty(), "{listed:?}");
    let listed = user
        .list_environments(ListEnvironmentsRequest {
            filter: "state=ACTIVE".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.environments.len(), 1);

    // Rotation: the new password works, the old one is refused at once.
    let rotated = user
        .rotate_environment_credentials(RotateEnvironmentCredentialsRequest {
            name: consumer.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.password, handed.password);
    login(plane, &rotated.username, &rotated.password)
        .await
        .unwrap();
    assert!(
        login(plane, &handed.username, &handed.password)
            .await
            .is_err()
    );
    assert_eq!(
        credentials(&mut user, &consumer.name)
            .await
            .unwrap()
            .password,
        rotated.password
    );

    // A producer environment owns its schema; Weft never drops the tables in it.
    let producer = owner
        .create_environment(create(
            "sales-producer",
            EnvironmentKind::Producer,
            &[("admin_url", &admin_url), ("schema", "sales")],
        ))
        .await
        .unwrap()
        .into_inner();
    let producer = settled(&mut owner, &producer.name).await;
    assert_eq!(producer.state(), EnvironmentState::Active, "{producer:?}");
    let login_of_producer = credentials(&mut owner, &producer.name).await.unwrap();
    let mut producing = login(
        plane,
        &login_of_producer.username,
        &login_of_producer.password,
    )
    .await
    .unwrap();
    for statement in [
        "CREATE TABLE sales.orders (id int PRIMARY KEY, note text)",
        "COMMENT ON COLUMN sales.orders.note IS 'free text'",
        "CREATE VIEW sales.recent AS SELECT id FROM sales.orders",
    ] {
        sqlx::query(statement)
            .execute(&mut producing)
            .await
            .unwrap();
    }

    // Introspection (internal, for the catalog's data sources) lists what the schema holds.
    let mut internal = ProvisioningInternalServiceClient::new(
        suite
            .backend_channel(ServiceKind::Provisioning, Some(ServiceKind::Catalog))
            .unwrap(),
    );
    let found = internal
        .introspect_environment(IntrospectEnvironmentRequest {
            name: producer.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<(&str, bool)> = found
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.view))
        .collect();
    assert_eq!(names, vec![("orders", false), ("recent", true)]);
    let columns = &found.tables[0].columns;
    assert_eq!(columns[0].name, "id");
    assert_eq!(columns[0].r#type, "integer");
    assert!(columns[0].primary_key && !columns[0].nullable);
    assert_eq!(columns[1].comment, "free text");
    assert!(columns[1].nullable && !columns[1].primary_key);
    let only_views = internal
        .introspect_environment(IntrospectEnvironmentRequest {
            name: producer.name.clone(),
            table_patterns: vec!["rec%".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(only_views.tables.len(), 1);
    let refused = internal
        .introspect_environment(IntrospectEnvironmentRequest {
            name: consumer.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let refused = internal
        .introspect_environment(IntrospectEnvironmentRequest {
            name: producer.name.clone(),
            table_patterns: vec!["x".repeat(300)],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&refused), vec!["table_patterns[0]"]);
    let deleting = owner
        .delete_environment(DeleteEnvironmentRequest {
            name: producer.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleting.state(), EnvironmentState::Deleting);
    let kept = settled(&mut owner, &producer.name).await;
    assert_eq!(kept.state(), EnvironmentState::DeleteFailed, "{kept:?}");
    let failed = kept.last_deployment.unwrap();
    let failing = failed
        .actions
        .iter()
        .find(|a| a.kind == "DROP_SCHEMA")
        .unwrap();
    assert!(failing.error.contains("never drops tables"), "{failing:?}");
    sqlx::query("DROP TABLE sales.orders CASCADE")
        .execute(&mut producing)
        .await
        .unwrap();
    drop(producing);
    owner
        .delete_environment(DeleteEnvironmentRequest {
            name: producer.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let gone = settled(&mut owner, &producer.name).await;
    assert_eq!(gone.state(), EnvironmentState::Deleted, "{gone:?}");
    assert!(!role_exists(&mut admin, &login_of_producer.username).await);
    let schema = sqlx::query("SELECT 1 FROM pg_namespace WHERE nspname = 'sales'")
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    assert!(schema.is_none());

    // A role Weft did not create is not taken over (nor dropped).
    sqlx::query("CREATE ROLE weft_e_taken LOGIN PASSWORD 'theirs'")
        .execute(&mut admin)
        .await
        .unwrap();
    owner
        .create_environment(create(
            "taken",
            EnvironmentKind::Consumer,
            &[("admin_url", &admin_url)],
        ))
        .await
        .unwrap();
    let taken = settled(&mut owner, "environments/taken").await;
    assert_eq!(taken.state(), EnvironmentState::CreateFailed);
    let action = &taken.last_deployment.unwrap().actions[0];
    assert!(
        action.error.contains("not this environment's"),
        "{action:?}"
    );
    assert!(login(plane, "weft_e_taken", "theirs").await.is_ok());

    // An unreachable data plane fails the deployment with a clear error and no secret in it.
    let closed = format!(
        "postgres://weft_admin:sup3r-s3cret@127.0.0.1:{}/postgres",
        closed_port()
    );
    owner
        .create_environment(create(
            "unreachable",
            EnvironmentKind::Consumer,
            &[("admin_url", &closed)],
        ))
        .await
        .unwrap();
    let unreachable = settled(&mut owner, "environments/unreachable").await;
    assert_eq!(unreachable.state(), EnvironmentState::CreateFailed);
    let action = &unreachable.last_deployment.as_ref().unwrap().actions[0];
    assert!(action.error.contains("cannot connect"), "{action:?}");
    assert!(!format!("{unreachable:?}").contains("sup3r-s3cret"));

    // Deleting the consumer drops its role; its credentials are gone with it.
    owner
        .delete_environment(DeleteEnvironmentRequest {
            name: consumer.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        settled(&mut owner, &consumer.name).await.state(),
        EnvironmentState::Deleted
    );
    assert!(!role_exists(&mut admin, "weft_e_churn_consumer").await);
    let after = credentials(&mut user, &consumer.name).await.unwrap_err();
    assert_eq!(after.code(), Code::FailedPrecondition, "{after:?}");

    // Blueprints: administrators' own; the built-in one is kept; one in use is kept.
    let admin_client = &mut provisioning(suite, &suite.admin_token());
    let refused = owner
        .create_blueprint(CreateBlueprintRequest {
            blueprint: Some(custom_blueprint()),
            blueprint_id: "analytics".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut secret_default = custom_blueprint();
    secret_default.parameters[0].default_value = Some(text("postgres://a:b@c/d"));
    let refused = admin_client
        .create_blueprint(CreateBlueprintRequest {
            blueprint: Some(secret_default),
            blueprint_id: "analytics".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&refused),
        vec!["blueprint.parameters[0].default_value"]
    );
    admin_client
        .create_blueprint(CreateBlueprintRequest {
            blueprint: Some(custom_blueprint()),
            blueprint_id: "analytics".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let builtin = admin_client
        .delete_blueprint(DeleteBlueprintRequest {
            name: "blueprints/postgres".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(builtin.code(), Code::FailedPrecondition, "{builtin:?}");
    // A custom blueprint's default is overridden by the environment; while an environment
    // uses the blueprint, it is kept.
    let mut analytics = create(
        "on-analytics",
        EnvironmentKind::Consumer,
        &[("admin_url", &admin_url), ("database", "postgres")],
    );
    analytics.environment.as_mut().unwrap().blueprint = "blueprints/analytics".into();
    owner.create_environment(analytics).await.unwrap();
    let on_analytics = settled(&mut owner, "environments/on-analytics").await;
    assert_eq!(
        on_analytics.state(),
        EnvironmentState::Active,
        "{on_analytics:?}"
    );
    let in_use = admin_client
        .delete_blueprint(DeleteBlueprintRequest {
            name: "blueprints/analytics".into(),
            etag: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Code::FailedPrecondition, "{in_use:?}");
    owner
        .delete_environment(DeleteEnvironmentRequest {
            name: on_analytics.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        settled(&mut owner, &on_analytics.name).await.state(),
        EnvironmentState::Deleted
    );
    admin_client
        .delete_blueprint(DeleteBlueprintRequest {
            name: "blueprints/analytics".into(),
            etag: String::new(),
        })
        .await
        .unwrap();
    vec![
        handed.password,
        rotated.password,
        login_of_producer.password,
        "sup3r-s3cret".to_string(),
    ]
}

fn custom_blueprint() -> Blueprint {
    Blueprint {
        kind: BlueprintKind::Postgres as i32,
        description: "the analytics cluster".into(),
        parameters: vec![
            BlueprintParameter {
                name: "admin_url".into(),
                r#type: ParameterType::Secret as i32,
                required: true,
                ..Default::default()
            },
            BlueprintParameter {
                name: "database".into(),
                r#type: ParameterType::String as i32,
                default_value: Some(text("analytics")),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
