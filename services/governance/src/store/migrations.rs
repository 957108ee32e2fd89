//! Governance's migrations, run at start.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(weft_storage::migration::CreateRuntimeTables),
            Box::new(weft_storage::resource_migration::CreateResourceTable),
            Box::new(CreateCatalogProjection),
            Box::new(weft_storage::projection::CreateProjectionTables),
            Box::new(MoveCatalogProjection),
            Box::new(weft_storage::resource_migration::CreateResourceLabelTables),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("governance_migrations").into_iden()
    }
}

struct CreateCatalogProjection;

impl MigrationName for CreateCatalogProjection {
    fn name(&self) -> &str {
        "m0002_governance_catalog_projection"
    }
}

#[derive(DeriveIden)]
enum GovernanceCatalogNodes {
    Table,
    Name,
    Kind,
    PayloadType,
    Payload,
}

#[derive(DeriveIden)]
enum GovernanceProjectionCursors {
    Table,
    Source,
    Sequence,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCatalogProjection {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GovernanceCatalogNodes::Table)
                    .col(
                        ColumnDef::new(GovernanceCatalogNodes::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(GovernanceCatalogNodes::Kind)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GovernanceCatalogNodes::PayloadType)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(GovernanceCatalogNodes::Payload)
                            .binary()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GovernanceProjectionCursors::Table)
                    .col(
                        ColumnDef::new(GovernanceProjectionCursors::Source)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(GovernanceProjectionCursors::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(GovernanceCatalogNodes::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(GovernanceProjectionCursors::Table)
                    .to_owned(),
            )
            .await
    }
}

/// Moves the catalog projection into the shared projection tables (`weft_storage::projection`)
/// that lineage uses too, keeping the cursor: nothing is read from the catalog again.
struct MoveCatalogProjection;

impl MigrationName for MoveCatalogProjection {
    fn name(&self) -> &str {
        "m0003_governance_shared_projection"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MoveCatalogProjection {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Fixed statements, no input: plain SQL both SQLite and PostgreSQL accept.
        db.execute_unprepared(
            "INSERT INTO weft_projected_resources (source, name, kind, payload_type, payload) \
             SELECT 'catalog', name, kind, payload_type, payload FROM governance_catalog_nodes",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO weft_projection_cursors (source, sequence) \
             SELECT source, sequence FROM governance_projection_cursors",
        )
        .await?;
        CreateCatalogProjection.down(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        CreateCatalogProjection.up(manager).await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO governance_catalog_nodes (name, kind, payload_type, payload) \
             SELECT name, kind, payload_type, payload FROM weft_projected_resources \
             WHERE source = 'catalog'",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO governance_projection_cursors (source, sequence) \
             SELECT source, sequence FROM weft_projection_cursors",
        )
        .await
        .map(|_| ())
    }
}
