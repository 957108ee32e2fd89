//! Applying steps to a PostgreSQL data plane: one connection as the environment's admin, every
//! step of a deployment in one transaction (all or nothing; the failing step named with its
//! error), statements built by PostgreSQL's `format()` from bound values. sqlx's statement
//! logging is off on these connections: a statement may hold a password verifier.

use std::str::FromStr;
use std::time::Duration;

use futures::future::BoxFuture;
use log::LevelFilter;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use weft_proto::weft::provisioning::v1::DeploymentAction;

use super::{Step, Target, marker, scram};

/// Longest wait for the data plane to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a statement may run on the data plane.
const STATEMENT_TIMEOUT_MS: &str = "30000";

/// Connection options of `target` (never logged; errors say what is wrong, not the URL).
pub fn options(target: &Target) -> Result<PgConnectOptions, String> {
    let refused =
        || "admin_url is not a PostgreSQL URL (postgres://user:password@host:port/database)";
    let url = target.admin_url.expose();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(refused().to_string());
    }
    let mut options = PgConnectOptions::from_str(url)
        .map_err(|_| refused().to_string())?
        .log_statements(LevelFilter::Off)
        .log_slow_statements(LevelFilter::Off, Duration::from_secs(3600))
        .application_name("weft-provisioning")
        .options([("statement_timeout", STATEMENT_TIMEOUT_MS)]);
    if let Some(database) = &target.database {
        options = options.database(database);
    }
    Ok(options)
}

/// The database `target` names: its `database`, else its URL's.
pub fn database_of(target: &Target) -> Result<String, String> {
    if let Some(database) = &target.database {
        return Ok(database.clone());
    }
    options(target)?
        .get_database()
        .map(str::to_string)
        .ok_or_else(|| "set the database parameter or name a database in admin_url".to_string())
}

/// Host and port of `target` as OpenLineage names a PostgreSQL namespace
/// ("postgres://host:port").
pub fn namespace_of(target: &Target) -> Result<String, String> {
    let options = options(target)?;
    Ok(format!(
        "postgres://{}:{}",
        options.get_host(),
        options.get_port()
    ))
}

pub async fn connect(target: &Target) -> Result<PgConnection, String> {
    let options = options(target)?;
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(format!(
            "cannot connect to the data plane: {}",
            message(&error)
        )),
        Err(_) => Err(format!(
            "cannot connect to the data plane: no answer in {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

/// Whether `role` exists on the data plane of `connection`.
pub async fn role_exists(connection: &mut PgConnection, role: &str) -> Result<bool, String> {
    role_comment(connection, role)
        .await
        .map(|comment| comment.is_some())
}

/// What a deployment did: each step's action, and whether all of them were kept.
pub struct Outcome {
    pub actions: Vec<DeploymentAction>,
    pub succeeded: bool,
}

/// Applies `steps` in one transaction on `target`.
pub async fn apply(target: &Target, steps: &[Step]) -> Outcome {
    let mut actions: Vec<DeploymentAction> = steps.iter().map(Step::action).collect();
    let failed = |actions: &mut Vec<DeploymentAction>, at: usize, error: String| {
        for (index, action) in actions.iter_mut().enumerate() {
            action.succeeded = false;
            action.error = match index.cmp(&at) {
                std::cmp::Ordering::Less => {
                    "not kept: the deployment's transaction was rolled back".to_string()
                }
                std::cmp::Ordering::Equal => error.clone(),
                std::cmp::Ordering::Greater => "not run".to_string(),
            };
        }
    };
    if steps.is_empty() {
        return Outcome {
            actions,
            succeeded: true,
        };
    }
    let mut connection = match connect(target).await {
        Ok(connection) => connection,
        Err(error) => {
            failed(&mut actions, 0, error);
            return Outcome {
                actions,
                succeeded: false,
            };
        }
    };
    let result = async {
        let mut transaction = connection
            .begin()
            .await
            .map_err(|error| (0, message(&error)))?;
        for (index, step) in steps.iter().enumerate() {
            run(&mut transaction, step)
                .await
                .map_err(|error| (index, error))?;
        }
        transaction.commit().await.map_err(|error| {
            (
                steps.len() - 1,
                format!("commit failed: {}", message(&error)),
            )
        })
    }
    .await;
    let _ = connection.close().await;
    match result {
        Ok(()) => {
            for action in &mut actions {
                action.succeeded = true;
            }
            Outcome {
                actions,
                succeeded: true,
            }
        }
        Err((at, error)) => {
            failed(&mut actions, at, error);
            Outcome {
                actions,
                succeeded: false,
            }
        }
    }
}

/// One step (boxed: sqlx's executor lifetimes otherwise defeat the `Send` proof of callers).
fn run<'a>(connection: &'a mut PgConnection, step: &'a Step) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(run_step(connection, step))
}

async fn run_step(connection: &mut PgConnection, step: &Step) -> Result<(), String> {
    match step {
        Step::EnsureLoginRole {
            role,
            password,
            environment,
        } => {
            let verifier = scram::verifier(password.expose()).map_err(|e| e.to_string())?;
            match role_comment(connection, role).await? {
                None => {
                    execute(
                        connection,
                        "CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L",
                        &[role, &verifier],
                    )
                    .await?;
                    execute(
                        connection,
                        "COMMENT ON ROLE %I IS %L",
                        &[role, &marker(environment)],
                    )
                    .await
                }
                Some(comment) if comment == marker(environment) => {
                    execute(
                        connection,
                        "ALTER ROLE %I WITH LOGIN PASSWORD %L",
                        &[role, &verifier],
                    )
                    .await
                }
                Some(_) => Err(format!(
                    "role {role} exists and is not this environment's: Weft does not take over roles it did not create"
                )),
            }
        }
        Step::GrantConnect { role, database } => {
            execute(
                connection,
                "GRANT CONNECT ON DATABASE %I TO %I",
                &[database, role],
            )
            .await
        }
        Step::EnsureSchema {
            schema,
            owner,
            environment,
        } => match schema_comment(connection, schema).await? {
            None => {
                execute(
                    connection,
                    "CREATE SCHEMA %I AUTHORIZATION %I",
                    &[schema, owner],
                )
                .await?;
                execute(
                    connection,
                    "COMMENT ON SCHEMA %I IS %L",
                    &[schema, &marker(environment)],
                )
                .await
            }
            Some(comment) if comment == marker(environment) => {
                execute(connection, "ALTER SCHEMA %I OWNER TO %I", &[schema, owner]).await
            }
            Some(_) => Err(format!(
                "schema {schema} exists and is not this environment's: Weft does not take over schemas it did not create"
            )),
        },
        Step::DropSchema {
            schema,
            environment,
        } => match schema_comment(connection, schema).await? {
            None => Ok(()),
            Some(comment) if comment == marker(environment) => {
                execute(connection, "DROP SCHEMA %I RESTRICT", &[schema])
                    .await
                    .map_err(|error| {
                        format!("schema {schema} is kept: {error} (Weft never drops tables: move or drop them first)")
                    })
            }
            Some(_) => Err(format!("schema {schema} is not this environment's: kept")),
        },
        Step::DropRole { role, environment } => match role_comment(connection, role).await? {
            None => Ok(()),
            Some(comment) if comment == marker(environment) => {
                execute(connection, "DROP OWNED BY %I", &[role]).await?;
                execute(connection, "DROP ROLE %I", &[role]).await
            }
            Some(_) => Err(format!("role {role} is not this environment's: kept")),
        },
        Step::SetPassword { role, password } => {
            if !role_comment(connection, role)
                .await?
                .is_some_and(|comment| comment.starts_with("weft:"))
            {
                return Err(format!("role {role} is missing or not Weft's: reconcile the environment"));
            }
            let verifier = scram::verifier(password.expose()).map_err(|e| e.to_string())?;
            execute(connection, "ALTER ROLE %I WITH PASSWORD %L", &[role, &verifier]).await
        }
    }
}

/// `None` when `role` does not exist, else its comment ("" when none).
fn role_comment<'a>(
    connection: &'a mut PgConnection,
    role: &str,
) -> BoxFuture<'a, Result<Option<String>, String>> {
    Box::pin(comment_of(
        connection,
        "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1",
        role.to_string(),
    ))
}

/// `None` when `schema` does not exist, else its comment ("" when none).
fn schema_comment<'a>(
    connection: &'a mut PgConnection,
    schema: &str,
) -> BoxFuture<'a, Result<Option<String>, String>> {
    Box::pin(comment_of(
        connection,
        "SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace WHERE nspname = $1",
        schema.to_string(),
    ))
}

async fn comment_of(
    connection: &mut PgConnection,
    query: &'static str,
    name: String,
) -> Result<Option<String>, String> {
    let row = sqlx::query(query)
        .bind(name)
        .fetch_optional(&mut *connection)
        .await
        .map_err(|error| message(&error))?;
    row.map(|row| row.try_get::<String, _>(0).map_err(|error| message(&error)))
        .transpose()
}

/// Runs the statement PostgreSQL's `format(template, args…)` builds.
fn execute<'a>(
    connection: &'a mut PgConnection,
    template: &'static str,
    args: &[&str],
) -> BoxFuture<'a, Result<(), String>> {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    Box::pin(execute_owned(connection, template, args))
}

async fn execute_owned(
    connection: &mut PgConnection,
    template: &'static str,
    args: Vec<String>,
) -> Result<(), String> {
    let statement: String = sqlx::query_scalar("SELECT format($1, VARIADIC $2::text[])")
        .bind(template)
        .bind(args)
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| message(&error))?;
    sqlx::Executor::execute(&mut *connection, statement.as_str())
        .await
        .map_err(|error| message(&error))?;
    Ok(())
}

/// What went wrong, in words that hold no connection string.
pub fn describe(error: &sqlx::Error) -> String {
    message(error)
}

fn message(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(error) => error.message().to_string(),
        sqlx::Error::Io(error) => format!("network error: {error}"),
        sqlx::Error::Tls(_) => "TLS error".to_string(),
        sqlx::Error::Configuration(_) => "the admin_url is not valid".to_string(),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => "no connection".to_string(),
        other => format!("data plane error ({})", kind_of(other)),
    }
}

fn kind_of(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Protocol(_) => "protocol",
        sqlx::Error::RowNotFound => "no row",
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decoding",
        _ => "other",
    }
}
