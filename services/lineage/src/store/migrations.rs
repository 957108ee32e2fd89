//! Lineage's migrations, run at start.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(weft_storage::migration::CreateRuntimeTables),
            Box::new(CreateLineageTables),
            Box::new(weft_storage::projection::CreateProjectionTables),
            Box::new(CompressRawEvents),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("lineage_migrations").into_iden()
    }
}

struct CreateLineageTables;

/// Raw events are kept zstd-compressed from now on (they were the largest write of ingestion):
/// a nullable `body_zstd` column; rows written before keep their text in `body`.
struct CompressRawEvents;

impl MigrationName for CompressRawEvents {
    fn name(&self) -> &str {
        "m0003_lineage_compressed_raw_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CompressRawEvents {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("lineage_events"))
                    .add_column(ColumnDef::new(Alias::new("body_zstd")).binary().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Compressed rows get their text back first: a rollback loses no raw event. Plain
        // statements over the two columns rather than the entity, whose later columns may not
        // exist at this step.
        use sea_orm::sea_query::{Expr, Query};
        use sea_orm::{ConnectionTrait, Value};
        let conn = manager.get_connection();
        let backend = conn.get_database_backend();
        let (table, key, body, body_zstd) = (
            Alias::new("lineage_events"),
            Alias::new("key"),
            Alias::new("body"),
            Alias::new("body_zstd"),
        );
        loop {
            let select = Query::select()
                .columns([key.clone(), body_zstd.clone()])
                .from(table.clone())
                .and_where(Expr::col(body_zstd.clone()).is_not_null())
                .limit(1_000)
                .to_owned();
            let rows = conn.query_all(backend.build(&select)).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let event_key: String = row.try_get_by_index(0)?;
                let stored: Vec<u8> = row.try_get_by_index(1)?;
                let text = crate::openlineage::stored_json_text(&stored)
                    .map_err(|error| DbErr::Custom(format!("raw event {event_key}: {error}")))?;
                let update = Query::update()
                    .table(table.clone())
                    .value(body.clone(), text)
                    .value(body_zstd.clone(), Value::Bytes(None))
                    .and_where(Expr::col(key.clone()).eq(event_key))
                    .to_owned();
                conn.execute(backend.build(&update)).await?;
            }
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("lineage_events"))
                    .drop_column(Alias::new("body_zstd"))
                    .to_owned(),
            )
            .await
    }
}

impl MigrationName for CreateLineageTables {
    fn name(&self) -> &str {
        "m0002_lineage_graph"
    }
}

/// Column types of the tables below.
enum Type {
    Text,
    BigInt,
    NullBigInt,
    Int,
    Bool,
}

fn column(name: &str, column_type: Type) -> ColumnDef {
    let mut column = ColumnDef::new(Alias::new(name));
    match column_type {
        Type::Text => column.text().not_null(),
        Type::BigInt => column.big_integer().not_null(),
        Type::NullBigInt => column.big_integer().null(),
        Type::Int => column.integer().not_null(),
        Type::Bool => column.boolean().not_null(),
    };
    column
}

/// (table, columns, primary key, secondary indexes).
type TableSpec = (
    &'static str,
    Vec<(&'static str, Type)>,
    Vec<&'static str>,
    Vec<Vec<&'static str>>,
);

fn tables() -> Vec<TableSpec> {
    use Type::*;
    vec![
        (
            "lineage_events",
            vec![
                ("key", Text),
                ("kind", Text),
                ("job", Text),
                ("run_id", Text),
                ("event_time", BigInt),
                ("received_time", BigInt),
                ("body", Text),
            ],
            vec!["key"],
            vec![vec!["received_time"], vec!["run_id"]],
        ),
        (
            "lineage_nodes",
            vec![
                ("id", Text),
                ("kind", Int),
                ("namespace", Text),
                ("name", Text),
                ("field", Text),
                ("first_seen", BigInt),
            ],
            vec!["id"],
            vec![vec!["kind", "namespace", "name"]],
        ),
        (
            "lineage_datasets",
            vec![
                ("id", Text),
                ("namespace", Text),
                ("name", Text),
                ("current_version", Text),
                ("fields_json", Text),
                ("facets_json", Text),
                ("update_time", BigInt),
            ],
            vec!["id"],
            vec![vec!["namespace", "name"]],
        ),
        (
            "lineage_dataset_versions",
            vec![
                ("dataset", Text),
                ("version", Text),
                ("fields_json", Text),
                ("create_time", BigInt),
            ],
            vec!["dataset", "version"],
            vec![],
        ),
        (
            "lineage_jobs",
            vec![
                ("id", Text),
                ("namespace", Text),
                ("name", Text),
                ("current_version", Text),
                ("job_type", Text),
                ("facets_json", Text),
                ("latest_run_id", Text),
                ("update_time", BigInt),
            ],
            vec!["id"],
            vec![vec!["namespace", "name"]],
        ),
        (
            "lineage_job_versions",
            vec![
                ("job", Text),
                ("version", Text),
                ("inputs_json", Text),
                ("outputs_json", Text),
                ("source", Text),
                ("create_time", BigInt),
            ],
            vec!["job", "version"],
            vec![],
        ),
        (
            "lineage_runs",
            vec![
                ("run_id", Text),
                ("job", Text),
                ("state", Int),
                ("state_time", BigInt),
                ("start_time", NullBigInt),
                ("end_time", NullBigInt),
                ("parent_run_id", Text),
                ("error_message", Text),
                ("inputs_json", Text),
                ("outputs_json", Text),
                ("facets_json", Text),
            ],
            vec!["run_id"],
            vec![vec!["job", "state_time"]],
        ),
        (
            "lineage_edges",
            vec![
                ("source", Text),
                ("target", Text),
                ("kind", Int),
                ("job", Text),
                ("valid_from", BigInt),
                ("valid_to", NullBigInt),
                ("subtype", Text),
                ("masking", Bool),
                ("description", Text),
            ],
            vec!["source", "target", "kind", "job", "valid_from"],
            vec![vec!["job", "valid_to"]],
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for CreateLineageTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, columns, primary_key, indexes) in tables() {
            let mut create = Table::create();
            create.table(Alias::new(table));
            for (name, column_type) in columns {
                create.col(column(name, column_type));
            }
            let mut key = Index::create();
            for name in &primary_key {
                key.col(Alias::new(*name));
            }
            create.primary_key(&mut key);
            manager.create_table(create).await?;
            for columns in indexes {
                let mut index = Index::create();
                index
                    .name(format!("{table}_{}", columns.join("_")))
                    .table(Alias::new(table));
                for name in columns {
                    index.col(Alias::new(name));
                }
                manager.create_index(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, ..) in tables() {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
