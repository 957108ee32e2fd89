//! The migration creating the shared tables; each service's migrator runs it first.

use sea_orm_migration::prelude::*;

pub struct CreateRuntimeTables;

impl MigrationName for CreateRuntimeTables {
    fn name(&self) -> &str {
        "m0000_weft_runtime_tables"
    }
}

#[derive(DeriveIden)]
enum WeftOutbox {
    Table,
    Seq,
    EventId,
    EventType,
    Resource,
    Actor,
    OccurTime,
    PayloadType,
    Payload,
}

#[derive(DeriveIden)]
enum WeftJournal {
    Table,
    Seq,
    Time,
    Actor,
    Action,
    Resource,
    Outcome,
    DetailJson,
    PreviousHash,
    Hash,
}

#[derive(DeriveIden)]
enum WeftIdempotency {
    Table,
    RequestId,
    Method,
    RequestHash,
    Response,
    CreateTime,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRuntimeTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WeftOutbox::Table)
                    .col(
                        ColumnDef::new(WeftOutbox::Seq)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WeftOutbox::EventId)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(WeftOutbox::EventType).string().not_null())
                    .col(ColumnDef::new(WeftOutbox::Resource).string().not_null())
                    .col(ColumnDef::new(WeftOutbox::Actor).string().not_null())
                    .col(
                        ColumnDef::new(WeftOutbox::OccurTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftOutbox::PayloadType).string().not_null())
                    .col(ColumnDef::new(WeftOutbox::Payload).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeftJournal::Table)
                    .col(
                        ColumnDef::new(WeftJournal::Seq)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WeftJournal::Time)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftJournal::Actor).string().not_null())
                    .col(ColumnDef::new(WeftJournal::Action).string().not_null())
                    .col(ColumnDef::new(WeftJournal::Resource).string().not_null())
                    .col(ColumnDef::new(WeftJournal::Outcome).string().not_null())
                    .col(ColumnDef::new(WeftJournal::DetailJson).text().not_null())
                    .col(
                        ColumnDef::new(WeftJournal::PreviousHash)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftJournal::Hash).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("weft_journal_resource")
                    .table(WeftJournal::Table)
                    .col(WeftJournal::Resource)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeftIdempotency::Table)
                    .col(
                        ColumnDef::new(WeftIdempotency::RequestId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WeftIdempotency::Method).string().not_null())
                    .col(
                        ColumnDef::new(WeftIdempotency::RequestHash)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftIdempotency::Response)
                            .binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WeftIdempotency::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(WeftIdempotency::RequestId)
                            .col(WeftIdempotency::Method),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WeftOutbox::Table.into_iden(),
            WeftJournal::Table.into_iden(),
            WeftIdempotency::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
