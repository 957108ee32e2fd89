//! Provisioning's migrations, run at start.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(weft_storage::migration::CreateRuntimeTables),
            Box::new(weft_storage::resource_migration::CreateResourceTable),
            Box::new(weft_storage::resource_migration::CreateResourceLabelTables),
            Box::new(CreateSecrets),
            Box::new(weft_storage::projection::CreateProjectionTables),
            Box::new(CreateFulfilments),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("provisioning_migrations").into_iden()
    }
}

struct CreateSecrets;

impl MigrationName for CreateSecrets {
    fn name(&self) -> &str {
        "m0004_provisioning_secrets"
    }
}

#[derive(DeriveIden)]
enum ProvisioningSecrets {
    Table,
    Owner,
    Key,
    Sealed,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateSecrets {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProvisioningSecrets::Table)
                    .col(
                        ColumnDef::new(ProvisioningSecrets::Owner)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ProvisioningSecrets::Key).string().not_null())
                    .col(
                        ColumnDef::new(ProvisioningSecrets::Sealed)
                            .binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ProvisioningSecrets::Owner)
                            .col(ProvisioningSecrets::Key),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProvisioningSecrets::Table).to_owned())
            .await
    }
}

struct CreateFulfilments;

impl MigrationName for CreateFulfilments {
    fn name(&self) -> &str {
        "m0006_provisioning_fulfilments"
    }
}

#[derive(DeriveIden)]
enum ProvisioningFulfilments {
    Table,
    Environment,
    Asset,
    Grant,
    State,
    Statements,
    Error,
    UpdateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateFulfilments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ProvisioningFulfilments as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(ColumnDef::new(F::Environment).string().not_null())
                    .col(ColumnDef::new(F::Asset).string().not_null())
                    .col(ColumnDef::new(F::Grant).string().not_null())
                    .col(ColumnDef::new(F::State).string().not_null())
                    .col(ColumnDef::new(F::Statements).text().not_null())
                    .col(ColumnDef::new(F::Error).text().not_null())
                    .col(
                        ColumnDef::new(F::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(F::Environment)
                            .col(F::Asset)
                            .col(F::Grant),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(ProvisioningFulfilments::Table)
                    .to_owned(),
            )
            .await
    }
}
