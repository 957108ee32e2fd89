//! sea-orm entities of the catalog's own tables (its resources and their labels live in the
//! shared resource store, `weft_storage::resources`).

pub mod schema_version {
    use sea_orm::entity::prelude::*;

    /// One immutable version of an asset's schema.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_schema_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub asset: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub created_by: String,
        pub create_time: DateTimeUtc,
        /// Encoded `weft.catalog.v1.Schema`.
        pub body: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod asset_location {
    use sea_orm::entity::prelude::*;

    /// The asset at an OpenLineage location (namespace + name), unique across the catalog.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_asset_locations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub namespace: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub asset: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod revision {
    use sea_orm::entity::prelude::*;

    /// An immutable published revision of a data product with its assets.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_revisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub data_product: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub revision: i64,
        /// Encoded `weft.catalog.v1.DataProductRevision`.
        pub body: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
