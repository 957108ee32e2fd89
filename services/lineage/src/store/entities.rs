//! sea-orm entities of lineage's tables. Times are microseconds since the epoch (BIGINT), the
//! same on SQLite and PostgreSQL; JSON documents are kept as text.

macro_rules! entity_boilerplate {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

/// Every ingested event, as received (canonical JSON), keyed by its hash: the idempotency key
/// and the raw history kept for the retention period. The JSON is kept zstd-compressed in
/// `body_zstd`; rows written before that have it as text in `body` (empty otherwise).
pub mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub kind: String,
        pub job: String,
        pub run_id: String,
        pub event_time: i64,
        pub received_time: i64,
        pub body: String,
        pub body_zstd: Option<Vec<u8>>,
    }

    entity_boilerplate!();
}

/// Every node of the graph (job, dataset, column) with its OpenLineage coordinates.
pub mod node {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_nodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: i32,
        pub namespace: String,
        pub name: String,
        pub field: String,
        pub first_seen: i64,
    }

    entity_boilerplate!();
}

pub mod dataset {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_datasets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub namespace: String,
        pub name: String,
        pub current_version: String,
        pub fields_json: String,
        pub facets_json: String,
        pub update_time: i64,
    }

    entity_boilerplate!();
}

/// A schema version of a dataset (a new one each time its schema facet changes).
pub mod dataset_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_dataset_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub dataset: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: String,
        pub fields_json: String,
        pub create_time: i64,
    }

    entity_boilerplate!();
}

pub mod job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub namespace: String,
        pub name: String,
        pub current_version: String,
        pub job_type: String,
        pub facets_json: String,
        pub latest_run_id: String,
        pub update_time: i64,
    }

    entity_boilerplate!();
}

/// A version of a job: what it read, wrote and ran (changes when any of them changes).
pub mod job_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_job_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub job: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: String,
        pub inputs_json: String,
        pub outputs_json: String,
        pub source: String,
        pub create_time: i64,
    }

    entity_boilerplate!();
}

pub mod run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub run_id: String,
        pub job: String,
        /// `weft.lineage.v1.RunState`.
        pub state: i32,
        /// Event time of the event that set `state`.
        pub state_time: i64,
        pub start_time: Option<i64>,
        pub end_time: Option<i64>,
        pub parent_run_id: String,
        pub error_message: String,
        pub inputs_json: String,
        pub outputs_json: String,
        pub facets_json: String,
    }

    entity_boilerplate!();
}

/// One span of an edge of the graph: current while `valid_to` is NULL.
pub mod edge {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_edges")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub target: String,
        /// `weft.lineage.v1.EdgeKind`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub job: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub valid_from: i64,
        pub valid_to: Option<i64>,
        pub subtype: String,
        pub masking: bool,
        pub description: String,
    }

    entity_boilerplate!();
}
