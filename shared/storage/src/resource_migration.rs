//! The migrations creating the shared `weft_resources` table and the side tables of labeled
//! kinds (see `resources`); a service whose resources live there runs both after
//! `CreateRuntimeTables`.

use sea_orm_migration::prelude::*;

pub struct CreateResourceTable;

impl MigrationName for CreateResourceTable {
    fn name(&self) -> &str {
        "m0001_weft_resources"
    }
}

#[derive(DeriveIden)]
enum WeftResources {
    Table,
    Name,
    Kind,
    Parent,
    Subject,
    State,
    Revision,
    CreateTime,
    UpdateTime,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateResourceTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WeftResources::Table)
                    .col(
                        ColumnDef::new(WeftResources::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(WeftResources::Kind).string().not_null())
                    .col(ColumnDef::new(WeftResources::Parent).string().null())
                    .col(ColumnDef::new(WeftResources::Subject).string().null())
                    .col(ColumnDef::new(WeftResources::State).string().null())
                    .col(
                        ColumnDef::new(WeftResources::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftResources::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftResources::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftResources::Body).binary().not_null())
                    .to_owned(),
            )
            .await?;
        // Listings filter by kind and one indexed column, in name order.
        for (index, column) in [
            ("weft_resources_kind_name", None),
            ("weft_resources_kind_parent", Some(WeftResources::Parent)),
            ("weft_resources_kind_subject", Some(WeftResources::Subject)),
            ("weft_resources_kind_state", Some(WeftResources::State)),
        ] {
            let mut statement = Index::create();
            statement
                .name(index)
                .table(WeftResources::Table)
                .col(WeftResources::Kind);
            if let Some(column) = column {
                statement.col(column);
            }
            manager
                .create_index(statement.col(WeftResources::Name).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WeftResources::Table).to_owned())
            .await
    }
}

/// The side tables of labeled kinds: owners, tags and references, each keyed by the resource
/// (or "<resource>#<part path>") and indexed by what List filters and in-use checks look up.
pub struct CreateResourceLabelTables;

impl MigrationName for CreateResourceLabelTables {
    fn name(&self) -> &str {
        "m0002_weft_resource_labels"
    }
}

#[derive(DeriveIden)]
enum WeftResourceOwners {
    Table,
    Resource,
    Principal,
}

#[derive(DeriveIden)]
enum WeftResourceTags {
    Table,
    Resource,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum WeftResourceReferences {
    Table,
    Resource,
    Target,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateResourceLabelTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WeftResourceOwners::Table)
                    .col(
                        ColumnDef::new(WeftResourceOwners::Resource)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftResourceOwners::Principal)
                            .string()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(WeftResourceOwners::Resource)
                            .col(WeftResourceOwners::Principal),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("weft_resource_owners_principal")
                    .table(WeftResourceOwners::Table)
                    .col(WeftResourceOwners::Principal)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeftResourceTags::Table)
                    .col(
                        ColumnDef::new(WeftResourceTags::Resource)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftResourceTags::Key).string().not_null())
                    .col(ColumnDef::new(WeftResourceTags::Value).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(WeftResourceTags::Resource)
                            .col(WeftResourceTags::Key)
                            .col(WeftResourceTags::Value),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("weft_resource_tags_key_value")
                    .table(WeftResourceTags::Table)
                    .col(WeftResourceTags::Key)
                    .col(WeftResourceTags::Value)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeftResourceReferences::Table)
                    .col(
                        ColumnDef::new(WeftResourceReferences::Resource)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftResourceReferences::Target)
                            .string()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(WeftResourceReferences::Resource)
                            .col(WeftResourceReferences::Target),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("weft_resource_references_target")
                    .table(WeftResourceReferences::Table)
                    .col(WeftResourceReferences::Target)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WeftResourceOwners::Table.into_iden(),
            WeftResourceTags::Table.into_iden(),
            WeftResourceReferences::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
