//! The data plane: what an environment is made of on PostgreSQL (`Step`s), and applying them
//! (`postgres`). Names of roles and schemas are derived from validated ids and checked against
//! PostgreSQL's identifier rules here once more; every statement is built by the database's own
//! `format()` (`%I` quotes identifiers, `%L` escapes literals), never by splicing text.

pub mod grants;
pub mod holdings;
pub mod introspect;
pub mod pools;
pub mod postgres;
pub mod row_filter;
pub mod scram;

use weft_proto::weft::provisioning::v1::DeploymentAction;

use crate::sealing::Secret;

/// Longest identifier PostgreSQL keeps (longer ones are silently truncated: refused here).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Whether `name` is a plain lowercase identifier within PostgreSQL's limit.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= MAX_IDENTIFIER_BYTES
}

/// The comment Weft puts on what it creates: what it drops must carry it.
pub fn marker(environment: &str) -> String {
    format!("weft:{environment}")
}

/// One change of the data plane.
#[derive(Debug, Clone)]
pub enum Step {
    /// A login role for the environment (created, or its password set when it is Weft's).
    EnsureLoginRole {
        role: String,
        password: Secret,
        environment: String,
    },
    /// CONNECT on the environment's database.
    GrantConnect { role: String, database: String },
    /// A schema owned by the environment's role (a producer's).
    EnsureSchema {
        schema: String,
        owner: String,
        environment: String,
    },
    /// Drops the producer's schema if it is Weft's and empty (RESTRICT: tables are never
    /// dropped by Weft).
    DropSchema { schema: String, environment: String },
    /// Drops the environment's role if it is Weft's, with every privilege granted to it here.
    DropRole { role: String, environment: String },
    /// A new password for the environment's role.
    SetPassword { role: String, password: Secret },
}

impl Step {
    /// The step as a deployment shows it (never a secret).
    pub fn action(&self) -> DeploymentAction {
        let (kind, target, description) = match self {
            Step::EnsureLoginRole { role, .. } => (
                "CREATE_ROLE",
                role.clone(),
                format!("create login role {role} (or set its password when it is Weft's)"),
            ),
            Step::GrantConnect { role, database } => (
                "GRANT",
                database.clone(),
                format!("grant CONNECT on database {database} to {role}"),
            ),
            Step::EnsureSchema { schema, owner, .. } => (
                "CREATE_SCHEMA",
                schema.clone(),
                format!("create schema {schema} owned by {owner}"),
            ),
            Step::DropSchema { schema, .. } => (
                "DROP_SCHEMA",
                schema.clone(),
                format!("drop schema {schema} if it is Weft's and empty"),
            ),
            Step::DropRole { role, .. } => (
                "DROP_ROLE",
                role.clone(),
                format!("revoke what {role} holds here and drop it if it is Weft's"),
            ),
            Step::SetPassword { role, .. } => (
                "ALTER_ROLE",
                role.clone(),
                format!("set a new password for {role}"),
            ),
        };
        DeploymentAction {
            description,
            kind: kind.to_string(),
            target,
            succeeded: false,
            error: String::new(),
        }
    }
}

/// Where an environment lives: the admin connection and the database.
#[derive(Debug, Clone)]
pub struct Target {
    pub admin_url: Secret,
    /// The database to use; the URL's when `None`.
    pub database: Option<String>,
}
