//! What a producer environment's schemas hold, read from PostgreSQL's catalogs: tables, views
//! (plain and materialized), their columns with types as PostgreSQL names them, nullability,
//! comments and primary keys. Names come back as bound parameters, never spliced.

use std::collections::BTreeMap;

use sqlx::Connection;
use weft_proto::weft::provisioning::v1::{IntrospectedColumn, IntrospectedTable};

use super::{Target, postgres};

/// Most tables one introspection returns.
pub const MAX_TABLES: usize = 10_000;

/// The tables of `schemas` whose names match one of `patterns` (all when empty); `true` when
/// more matched than `MAX_TABLES`.
pub async fn tables(
    target: &Target,
    schemas: &[String],
    patterns: &[String],
) -> Result<(Vec<IntrospectedTable>, bool), String> {
    let mut connection = postgres::connect(target).await?;
    let patterns: Vec<String> = if patterns.is_empty() {
        vec!["%".to_string()]
    } else {
        patterns.to_vec()
    };
    let relations: Vec<(i64, String, String, bool, String)> = sqlx::query_as(
        "SELECT c.oid::bigint, n.nspname::text, c.relname::text, c.relkind IN ('v', 'm'), \
                coalesce(obj_description(c.oid, 'pg_class'), '') \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
            AND n.nspname = ANY($1) \
            AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' \
            AND c.relname LIKE ANY($2) \
          ORDER BY n.nspname, c.relname \
          LIMIT $3",
    )
    .bind(schemas)
    .bind(&patterns)
    .bind((MAX_TABLES + 1) as i64)
    .fetch_all(&mut connection)
    .await
    .map_err(|error| postgres::describe(&error))?;
    let truncated = relations.len() > MAX_TABLES;
    let oids: Vec<i64> = relations.iter().take(MAX_TABLES).map(|r| r.0).collect();
    let columns: Vec<(i64, String, String, bool, String, bool)> = sqlx::query_as(
        "SELECT a.attrelid::bigint, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                NOT a.attnotnull, coalesce(col_description(a.attrelid, a.attnum), ''), \
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid \
                          AND i.indisprimary AND a.attnum = ANY(i.indkey)) \
           FROM pg_attribute a \
          WHERE a.attrelid = ANY($1::bigint[]::oid[]) AND a.attnum > 0 AND NOT a.attisdropped \
          ORDER BY a.attrelid, a.attnum",
    )
    .bind(&oids)
    .fetch_all(&mut connection)
    .await
    .map_err(|error| postgres::describe(&error))?;
    let _ = connection.close().await;
    let mut by_table: BTreeMap<i64, Vec<IntrospectedColumn>> = BTreeMap::new();
    for (oid, name, r#type, nullable, comment, primary_key) in columns {
        by_table.entry(oid).or_default().push(IntrospectedColumn {
            name,
            r#type,
            nullable,
            comment,
            primary_key,
        });
    }
    let tables = relations
        .into_iter()
        .take(MAX_TABLES)
        .map(|(oid, schema, table, view, comment)| IntrospectedTable {
            schema,
            table,
            view,
            columns: by_table.remove(&oid).unwrap_or_default(),
            comment,
        })
        .collect();
    Ok((tables, truncated))
}
