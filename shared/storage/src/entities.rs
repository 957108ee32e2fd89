//! sea-orm entities of the tables every service has: outbox, journal, idempotency keys.

pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One domain event, appended in the same transaction as the change it describes.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_outbox")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        #[sea_orm(unique)]
        pub event_id: String,
        pub event_type: String,
        pub resource: String,
        pub actor: String,
        pub occur_time: DateTimeUtc,
        pub payload_type: String,
        pub payload: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod journal {
    use sea_orm::entity::prelude::*;

    /// One audit record; `hash` chains it to the previous record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_journal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub time: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub resource: String,
        pub outcome: String,
        pub detail_json: String,
        pub previous_hash: String,
        pub hash: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod idempotency {
    use sea_orm::entity::prelude::*;

    /// The answer given to a create with a `request_id`, replayed on a retry.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_idempotency")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub request_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub method: String,
        pub request_hash: String,
        pub response: Vec<u8>,
        pub create_time: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod resource {
    use sea_orm::entity::prelude::*;

    /// A resource of a service that keeps its resources in the shared table (see `resources`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub kind: String,
        pub parent: Option<String>,
        pub subject: Option<String>,
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

/// Side tables of labeled resource kinds (`resources::labels`): a resource's (or one of its
/// parts', "<name>#<path>") owners, tags and references, for List filters and in-use checks.
pub mod resource_owner {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_resource_owners")]
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

pub mod resource_tag {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_resource_tags")]
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

pub mod resource_reference {
    use sea_orm::entity::prelude::*;

    /// A resource referring to another by name (a glossary term, a metadata form type…).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_resource_references")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub resource: String,
        /// The referenced resource's name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub target: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
