//! sea-orm entities of the catalog's own tables. Each resource row keeps its indexed columns
//! (name, kind, parent, state, revision) next to the encoded protobuf of the whole resource;
//! owners and tags are also kept in side tables so that List filters can use indexes.

pub mod resource {
    use sea_orm::entity::prelude::*;

    /// Every catalog resource, whatever its kind (see `storage::resources`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub kind: String,
        pub parent: Option<String>,
        pub state: Option<String>,
        pub revision: i64,
        pub create_time: DateTimeUtc,
        pub update_time: DateTimeUtc,
        /// The encoded protobuf message of the resource.
        pub body: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod owner {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_owners")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub principal: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub value: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod reference {
    use sea_orm::entity::prelude::*;

    /// A resource referring to another by name: a glossary term (attached, or related by isA /
    /// classifies) or a metadata form type. (The table was created for term links.)
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "catalog_term_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource: String,
        #[sea_orm(primary_key, auto_increment = false)]
        /// The referenced resource's name.
        pub term: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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
