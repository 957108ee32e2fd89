//! A consumer role's privileges made equal to what governance grants it: for every granted
//! table, USAGE on its schema, SELECT on exactly the effective columns and one row-level
//! security policy named after the role (its predicate compiled from governance's row-filter
//! tree; `TRUE` when every row is granted); every other table privilege and Weft policy of the
//! role is revoked, whoever granted it (drift included). Read from PostgreSQL's own catalogs,
//! applied in one transaction, each table behind a savepoint so one bad table fails alone.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use weft_proto::weft::common::v1::Expr;

use super::holdings::{self, Holdings, TableName};
use super::postgres;
use super::row_filter::{self, Quotes};

/// What a role may read of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableAccess {
    pub schema: String,
    pub table: String,
    /// Columns granted; the whole table when empty.
    pub columns: Vec<String>,
    pub row_filter: Option<Expr>,
}

impl TableAccess {
    pub fn key(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

/// What converging may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing: only the drift is found.
    Look,
    /// Everything: the role's privileges are made equal to what is granted.
    Repair,
    /// What changed in the grants since `applied` (tables newly granted, granted differently or
    /// no longer granted); a table that differs while its grant did not is drift, left as it
    /// is. Without `applied` (after a start) it repairs.
    ApplyChanges,
}

/// What converging did to one table.
#[derive(Debug, Clone, Default)]
pub struct TableOutcome {
    pub statements: Vec<String>,
    pub error: Option<String>,
}

/// What converging a role did: per granted table ("schema.table"), the tables revoked, and
/// how the data plane differed from what is granted before (the drift).
#[derive(Debug, Default)]
pub struct Converged {
    pub granted: BTreeMap<String, TableOutcome>,
    pub revoked: BTreeMap<String, TableOutcome>,
    pub drift: Vec<String>,
    /// Granted tables found as they should be (nothing applied).
    pub unchanged: BTreeSet<String>,
}

/// A role's privileges and Weft policy on one table, as PostgreSQL's catalogs hold them.
struct Actual {
    table_wide: bool,
    policy: bool,
    policy_comment: String,
    row_security: bool,
    columns: Vec<String>,
}

impl Actual {
    /// Whether the table is exactly as `access` (whose statements are summed up by `marker`)
    /// would make it.
    fn matches(&self, access: &TableAccess, marker: &str) -> bool {
        let columns_match = if access.columns.is_empty() {
            self.table_wide
        } else {
            let granted: BTreeSet<&str> = self.columns.iter().map(String::as_str).collect();
            let wanted: BTreeSet<&str> = access.columns.iter().map(String::as_str).collect();
            !self.table_wide && granted == wanted
        };
        columns_match
            && self.policy
            && self.policy_comment == marker
            && (access.row_filter.is_none() || self.row_security)
    }
}

/// "weft:" and a hash of what a table's grant and policy say.
fn marker_of(select: &str, predicate: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{select}\n{predicate}").as_bytes());
    format!("weft:{}", hex::encode(&digest[..12]))
}

impl Actual {
    /// `role`'s privileges and policy on `table` as `holdings` found them; `None` when the table
    /// does not exist.
    fn of(holdings: &Holdings, role: &str, table: &TableName) -> Option<Actual> {
        let row_security = *holdings.row_security.get(table)?;
        let policy = holdings.own_policy(role, table);
        Some(Actual {
            table_wide: holdings.table_wide.contains(table),
            policy: policy.is_some(),
            policy_comment: policy.unwrap_or_default().to_string(),
            row_security,
            columns: holdings
                .columns
                .get(table)
                .map(|columns| columns.iter().cloned().collect())
                .unwrap_or_default(),
        })
    }
}

/// Makes `role`'s privileges on the data plane of `connection` equal to `desired`, as far as
/// `mode` lets it. The drift is how the data plane differs from `applied`, what Weft last made
/// it (none is looked for without it: a change of grants is not drift).
pub fn converge<'a>(
    connection: &'a mut PgConnection,
    role: &'a str,
    desired: &'a [TableAccess],
    applied: Option<&'a [TableAccess]>,
    mode: Mode,
) -> BoxFuture<'a, Result<Converged, String>> {
    Box::pin(async move {
        let mut transaction = connection.begin().await.map_err(|e| e.to_string())?;
        let asked: Vec<TableName> = desired
            .iter()
            .chain(applied.unwrap_or_default())
            .map(|access| (access.schema.clone(), access.table.clone()))
            .collect();
        let holdings = holdings::read(&mut transaction, role, &asked).await?;
        let held = holdings.tables();
        let drift = match applied {
            Some(applied) => drift(&holdings, role, applied, &held),
            None => Vec::new(),
        };
        if mode == Mode::Look {
            return Ok(Converged {
                drift,
                ..Converged::default()
            });
        }
        // With ApplyChanges, only what Weft applied before is revoked or re-granted.
        let only_changes = match (mode, applied) {
            (Mode::ApplyChanges, Some(applied)) => Some(applied),
            _ => None,
        };
        let applied_tables: BTreeSet<TableName> = only_changes
            .unwrap_or_default()
            .iter()
            .map(|access| (access.schema.clone(), access.table.clone()))
            .collect();
        let may_revoke =
            |table: &TableName| only_changes.is_none() || applied_tables.contains(table);
        let schemas_held = &holdings.schemas;
        let wanted: BTreeSet<(String, String)> = desired
            .iter()
            .map(|access| (access.schema.clone(), access.table.clone()))
            .collect();

        let mut quotes = Quotes::default();
        quotes.identifier(role);
        for (schema, table) in held.iter().chain(wanted.iter()) {
            quotes.identifier(schema);
            quotes.identifier(table);
        }
        for schema in schemas_held {
            quotes.identifier(schema);
        }
        let mut filter_errors = BTreeMap::new();
        for access in desired {
            for column in &access.columns {
                quotes.identifier(column);
            }
            if let Some(filter) = &access.row_filter
                && let Err(error) = row_filter::collect(filter, &mut quotes, 0)
            {
                filter_errors.insert(access.key(), error);
            }
        }
        quotes.resolve(&mut transaction).await?;
        let q = |raw: &str| quotes.quoted_identifier(raw).map(str::to_string);
        let role_q = q(role)?;

        let mut converged = Converged {
            drift,
            ..Converged::default()
        };
        for (schema, table) in held.difference(&wanted) {
            if !may_revoke(&(schema.clone(), table.clone())) {
                continue;
            }
            let table_q = format!("{}.{}", q(schema)?, q(table)?);
            let statements = vec![
                format!("REVOKE ALL ON TABLE {table_q} FROM {role_q}"),
                format!("DROP POLICY IF EXISTS {role_q} ON {table_q}"),
            ];
            let outcome = run_savepointed(&mut transaction, statements).await;
            converged
                .revoked
                .insert(format!("{schema}.{table}"), outcome);
        }
        for access in desired {
            let key = access.key();
            if only_changes.is_some_and(|applied| applied.contains(access)) {
                // Granted as before: whatever differs on it is drift, reported only.
                converged
                    .granted
                    .insert(key.clone(), TableOutcome::default());
                converged.unchanged.insert(key);
                continue;
            }
            if let Some(error) = filter_errors.remove(&key) {
                converged.granted.insert(
                    key,
                    TableOutcome {
                        statements: Vec::new(),
                        error: Some(error),
                    },
                );
                continue;
            }
            let table_q = format!("{}.{}", q(&access.schema)?, q(&access.table)?);
            let select = if access.columns.is_empty() {
                "SELECT".to_string()
            } else {
                let columns: Vec<String> = access
                    .columns
                    .iter()
                    .map(|c| q(c))
                    .collect::<Result<_, _>>()?;
                format!("SELECT ({})", columns.join(", "))
            };
            let predicate = match &access.row_filter {
                Some(filter) => row_filter::render(filter, &quotes)?,
                None => "TRUE".to_string(),
            };
            // What this table's privileges and policy are made of, kept as the policy's comment:
            // a round that finds it unchanged touches nothing (no lock on the producer's table).
            let marker = marker_of(&select, &predicate);
            let current = Actual::of(
                &holdings,
                role,
                &(access.schema.clone(), access.table.clone()),
            );
            if current.as_ref().is_some_and(|current| {
                schemas_held.contains(&access.schema) && current.matches(access, &marker)
            }) {
                converged.granted.insert(key, TableOutcome::default());
                converged.unchanged.insert(access.key());
                continue;
            }
            let mut statements = vec![
                format!("GRANT USAGE ON SCHEMA {} TO {role_q}", q(&access.schema)?),
                format!("REVOKE ALL ON TABLE {table_q} FROM {role_q}"),
                format!("GRANT {select} ON TABLE {table_q} TO {role_q}"),
                format!("DROP POLICY IF EXISTS {role_q} ON {table_q}"),
                format!(
                    "CREATE POLICY {role_q} ON {table_q} AS PERMISSIVE FOR SELECT TO {role_q} USING ({predicate})"
                ),
                // The marker is hex made here, never user text.
                format!("COMMENT ON POLICY {role_q} ON {table_q} IS '{marker}'"),
            ];
            if access.row_filter.is_some() {
                statements.push(format!("ALTER TABLE {table_q} ENABLE ROW LEVEL SECURITY"));
            }
            let outcome = run_savepointed(&mut transaction, statements).await;
            converged.granted.insert(key, outcome);
        }
        let granted_schemas: BTreeSet<&str> = converged
            .granted
            .iter()
            .filter(|(_, outcome)| outcome.error.is_none())
            .filter_map(|(key, _)| key.split_once('.').map(|(schema, _)| schema))
            .collect();
        let applied_schemas: BTreeSet<&str> = applied_tables
            .iter()
            .map(|(schema, _)| schema.as_str())
            .collect();
        for schema in schemas_held {
            if !granted_schemas.contains(schema.as_str())
                && (only_changes.is_none() || applied_schemas.contains(schema.as_str()))
            {
                let statement = format!("REVOKE ALL ON SCHEMA {} FROM {role_q}", q(schema)?);
                let outcome = run_savepointed(&mut transaction, vec![statement]).await;
                converged
                    .revoked
                    .insert(format!("schema {schema}"), outcome);
            }
        }
        transaction.commit().await.map_err(|e| e.to_string())?;
        Ok(converged)
    })
}

/// Runs `statements` behind a savepoint: all of them, or none with the error.
async fn run_savepointed(connection: &mut PgConnection, statements: Vec<String>) -> TableOutcome {
    let result = async {
        let mut savepoint = connection.begin().await.map_err(|e| e.to_string())?;
        for statement in &statements {
            savepoint
                .execute(statement.as_str())
                .await
                .map_err(|e| postgres::describe(&e))?;
        }
        savepoint.commit().await.map_err(|e| e.to_string())
    }
    .await;
    TableOutcome {
        error: result.err(),
        statements,
    }
}

/// How `role`'s privileges differ from `desired`: privileges on tables nothing grants, a
/// table-wide privilege where columns are granted, missing or extra columns, a missing policy,
/// row-level security off where a row filter applies.
fn drift(
    holdings: &Holdings,
    role: &str,
    desired: &[TableAccess],
    held: &BTreeSet<TableName>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (schema, table) in held {
        if !desired
            .iter()
            .any(|access| &access.schema == schema && &access.table == table)
        {
            found.push(format!(
                "unexpected privileges of {role} on {schema}.{table}"
            ));
        }
    }
    for access in desired {
        let key = access.key();
        let Some(Actual {
            table_wide,
            policy,
            row_security,
            columns,
            ..
        }) = Actual::of(
            holdings,
            role,
            &(access.schema.clone(), access.table.clone()),
        )
        else {
            found.push(format!("table {key} does not exist on the data plane"));
            continue;
        };
        if access.columns.is_empty() {
            if !table_wide {
                found.push(format!("missing SELECT of {role} on {key}"));
            }
        } else {
            if table_wide {
                found.push(format!(
                    "unexpected table-wide privileges of {role} on {key}"
                ));
            }
            let granted: BTreeSet<&str> = columns.iter().map(String::as_str).collect();
            let wanted: BTreeSet<&str> = access.columns.iter().map(String::as_str).collect();
            let missing: Vec<&str> = wanted.difference(&granted).copied().collect();
            let extra: Vec<&str> = granted.difference(&wanted).copied().collect();
            if !missing.is_empty() {
                found.push(format!(
                    "missing SELECT of {role} on {key} ({})",
                    missing.join(", ")
                ));
            }
            if !extra.is_empty() {
                found.push(format!(
                    "unexpected SELECT of {role} on {key} ({})",
                    extra.join(", ")
                ));
            }
        }
        if !policy {
            found.push(format!("missing row policy {role} on {key}"));
        }
        if access.row_filter.is_some() && !row_security {
            found.push(format!("row-level security is off on {key}"));
        }
    }
    found
}
