//! The catalog's migrations, run at start.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(weft_storage::migration::CreateRuntimeTables),
            Box::new(CreateDomainsAndProducts),
            Box::new(OneResourceTable),
            Box::new(CreateTermLinks),
            Box::new(CreateAssetTables),
            Box::new(CreateRevisions),
            Box::new(IndexListingOrder),
            Box::new(weft_storage::resource_migration::CreateResourceTable),
            Box::new(weft_storage::resource_migration::CreateResourceLabelTables),
            Box::new(MoveToSharedResourceStore),
        ]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("catalog_migrations").into_iden()
    }
}

struct CreateDomainsAndProducts;

impl MigrationName for CreateDomainsAndProducts {
    fn name(&self) -> &str {
        "m0001_catalog_domains_and_products"
    }
}

#[derive(DeriveIden)]
enum CatalogDomains {
    Table,
    Name,
    Uid,
    ParentDomain,
    Revision,
    CreateTime,
    UpdateTime,
    Body,
}

#[derive(DeriveIden)]
enum CatalogDataProducts {
    Table,
    Name,
    Uid,
    Domain,
    LifecycleState,
    Revision,
    CreateTime,
    UpdateTime,
    Body,
}

#[derive(DeriveIden)]
enum CatalogOwners {
    Table,
    Resource,
    Principal,
}

#[derive(DeriveIden)]
enum CatalogTags {
    Table,
    Resource,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateDomainsAndProducts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogDomains::Table)
                    .col(
                        ColumnDef::new(CatalogDomains::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CatalogDomains::Uid)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(CatalogDomains::ParentDomain).string().null())
                    .col(
                        ColumnDef::new(CatalogDomains::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDomains::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDomains::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogDomains::Body).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_domains_parent")
                    .table(CatalogDomains::Table)
                    .col(CatalogDomains::ParentDomain)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CatalogDataProducts::Table)
                    .col(
                        ColumnDef::new(CatalogDataProducts::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::Uid)
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::Domain)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::LifecycleState)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogDataProducts::Body)
                            .binary()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_data_products_domain")
                    .table(CatalogDataProducts::Table)
                    .col(CatalogDataProducts::Domain)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CatalogOwners::Table)
                    .col(ColumnDef::new(CatalogOwners::Resource).string().not_null())
                    .col(ColumnDef::new(CatalogOwners::Principal).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(CatalogOwners::Resource)
                            .col(CatalogOwners::Principal),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_owners_principal")
                    .table(CatalogOwners::Table)
                    .col(CatalogOwners::Principal)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CatalogTags::Table)
                    .col(ColumnDef::new(CatalogTags::Resource).string().not_null())
                    .col(ColumnDef::new(CatalogTags::Key).string().not_null())
                    .col(ColumnDef::new(CatalogTags::Value).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(CatalogTags::Resource)
                            .col(CatalogTags::Key)
                            .col(CatalogTags::Value),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_tags_key_value")
                    .table(CatalogTags::Table)
                    .col(CatalogTags::Key)
                    .col(CatalogTags::Value)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CatalogTags::Table.into_iden(),
            CatalogOwners::Table.into_iden(),
            CatalogDataProducts::Table.into_iden(),
            CatalogDomains::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Moves domains and data products into one `catalog_resources` table that every resource kind
/// shares, and drops their own tables.
struct OneResourceTable;

impl MigrationName for OneResourceTable {
    fn name(&self) -> &str {
        "m0002_catalog_one_resource_table"
    }
}

#[derive(DeriveIden)]
enum CatalogResources {
    Table,
    Name,
    Kind,
    Parent,
    State,
    Revision,
    CreateTime,
    UpdateTime,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for OneResourceTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogResources::Table)
                    .col(
                        ColumnDef::new(CatalogResources::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CatalogResources::Kind).string().not_null())
                    .col(ColumnDef::new(CatalogResources::Parent).string().null())
                    .col(ColumnDef::new(CatalogResources::State).string().null())
                    .col(
                        ColumnDef::new(CatalogResources::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogResources::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogResources::UpdateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogResources::Body).binary().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_resources_kind_parent")
                    .table(CatalogResources::Table)
                    .col(CatalogResources::Kind)
                    .col(CatalogResources::Parent)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO catalog_resources (name, kind, parent, state, revision, create_time, update_time, body) \
             SELECT name, 'domain', parent_domain, NULL, revision, create_time, update_time, body FROM catalog_domains",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO catalog_resources (name, kind, parent, state, revision, create_time, update_time, body) \
             SELECT name, 'data_product', domain, lifecycle_state, revision, create_time, update_time, body \
             FROM catalog_data_products",
        )
        .await?;
        manager
            .drop_table(Table::drop().table(CatalogDataProducts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CatalogDomains::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Moving rows back is not supported; a down migration only removes the new table.
        manager
            .drop_table(Table::drop().table(CatalogResources::Table).to_owned())
            .await
    }
}

/// Links between resources and the glossary terms they carry.
struct CreateTermLinks;

impl MigrationName for CreateTermLinks {
    fn name(&self) -> &str {
        "m0003_catalog_term_links"
    }
}

#[derive(DeriveIden)]
enum CatalogTermLinks {
    Table,
    Resource,
    Term,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTermLinks {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogTermLinks::Table)
                    .col(
                        ColumnDef::new(CatalogTermLinks::Resource)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogTermLinks::Term).string().not_null())
                    .primary_key(
                        Index::create()
                            .col(CatalogTermLinks::Resource)
                            .col(CatalogTermLinks::Term),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_term_links_term")
                    .table(CatalogTermLinks::Table)
                    .col(CatalogTermLinks::Term)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogTermLinks::Table).to_owned())
            .await
    }
}

/// Schema versions of assets and the unique asset locations.
struct CreateAssetTables;

impl MigrationName for CreateAssetTables {
    fn name(&self) -> &str {
        "m0004_catalog_asset_tables"
    }
}

#[derive(DeriveIden)]
enum CatalogSchemaVersions {
    Table,
    Asset,
    Version,
    CreatedBy,
    CreateTime,
    Body,
}

#[derive(DeriveIden)]
enum CatalogAssetLocations {
    Table,
    Namespace,
    Name,
    Asset,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateAssetTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogSchemaVersions::Table)
                    .col(
                        ColumnDef::new(CatalogSchemaVersions::Asset)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSchemaVersions::Version)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSchemaVersions::CreatedBy)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSchemaVersions::CreateTime)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogSchemaVersions::Body)
                            .binary()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(CatalogSchemaVersions::Asset)
                            .col(CatalogSchemaVersions::Version),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CatalogAssetLocations::Table)
                    .col(
                        ColumnDef::new(CatalogAssetLocations::Namespace)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogAssetLocations::Name)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogAssetLocations::Asset)
                            .string()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(CatalogAssetLocations::Namespace)
                            .col(CatalogAssetLocations::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_asset_locations_asset")
                    .table(CatalogAssetLocations::Table)
                    .col(CatalogAssetLocations::Asset)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogAssetLocations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CatalogSchemaVersions::Table).to_owned())
            .await
    }
}

/// Published revisions of data products.
struct CreateRevisions;

impl MigrationName for CreateRevisions {
    fn name(&self) -> &str {
        "m0005_catalog_revisions"
    }
}

#[derive(DeriveIden)]
enum CatalogRevisions {
    Table,
    DataProduct,
    Revision,
    Body,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRevisions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogRevisions::Table)
                    .col(
                        ColumnDef::new(CatalogRevisions::DataProduct)
                            .string()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CatalogRevisions::Revision)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CatalogRevisions::Body).binary().not_null())
                    .primary_key(
                        Index::create()
                            .col(CatalogRevisions::DataProduct)
                            .col(CatalogRevisions::Revision),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogRevisions::Table).to_owned())
            .await
    }
}

/// Listing pages (`kind = ? [AND parent = ?] AND name > ? ORDER BY name`) read an index in order
/// instead of sorting every resource of the kind for each page (which made the search index
/// rebuild quadratic on SQLite).
struct IndexListingOrder;

impl MigrationName for IndexListingOrder {
    fn name(&self) -> &str {
        "m0006_catalog_listing_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IndexListingOrder {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("catalog_resources_kind_parent")
                    .table(CatalogResources::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_resources_kind_parent_name")
                    .table(CatalogResources::Table)
                    .col(CatalogResources::Kind)
                    .col(CatalogResources::Parent)
                    .col(CatalogResources::Name)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("catalog_resources_kind_name")
                    .table(CatalogResources::Table)
                    .col(CatalogResources::Kind)
                    .col(CatalogResources::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "catalog_resources_kind_parent_name",
            "catalog_resources_kind_name",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(CatalogResources::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("catalog_resources_kind_parent")
                    .table(CatalogResources::Table)
                    .col(CatalogResources::Kind)
                    .col(CatalogResources::Parent)
                    .to_owned(),
            )
            .await
    }
}

/// Moves the catalog's resources and their labels into the shared resource store's tables
/// (`weft_storage::resources`), keeping every row (revisions and times too, so etags stay
/// valid), and drops the catalog's own copies.
struct MoveToSharedResourceStore;

impl MigrationName for MoveToSharedResourceStore {
    fn name(&self) -> &str {
        "m0007_catalog_shared_resource_store"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MoveToSharedResourceStore {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in [
            "INSERT INTO weft_resources \
             (name, kind, parent, subject, state, revision, create_time, update_time, body) \
             SELECT name, kind, parent, NULL, state, revision, create_time, update_time, body \
             FROM catalog_resources",
            "INSERT INTO weft_resource_owners (resource, principal) \
             SELECT resource, principal FROM catalog_owners",
            "INSERT INTO weft_resource_tags (resource, key, value) \
             SELECT resource, key, value FROM catalog_tags",
            "INSERT INTO weft_resource_references (resource, target) \
             SELECT resource, term FROM catalog_term_links",
        ] {
            db.execute_unprepared(statement).await?;
        }
        for table in [
            CatalogResources::Table.into_iden(),
            CatalogOwners::Table.into_iden(),
            CatalogTags::Table.into_iden(),
            CatalogTermLinks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0007_catalog_shared_resource_store can not be undone: restore a backup taken \
             before the upgrade"
                .to_string(),
        ))
    }
}
