//! The migration creating the shared `weft_resources` table (see `resources`); a service whose
//! resources live there runs it after `CreateRuntimeTables`.

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
