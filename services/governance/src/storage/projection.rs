//! The stored catalog projection: the last payload of every projected catalog resource (and
//! tag key), and the sequence of the catalog's stream it reflects. Both change in one
//! transaction, so a restart resumes exactly where the projection stopped.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

/// Source name of the catalog's stream in the cursor table.
pub const CATALOG: &str = "catalog";

pub mod node {
    use sea_orm::entity::prelude::*;

    /// One projected catalog resource: its last event payload.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "governance_catalog_nodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub kind: String,
        pub payload_type: String,
        pub payload: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cursor {
    use sea_orm::entity::prelude::*;

    /// How far a projection has read another service's stream.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "governance_projection_cursors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        pub sequence: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn cursor<C: ConnectionTrait>(conn: &C, source: &str) -> Result<i64, ApiError> {
    Ok(cursor::Entity::find_by_id(source)
        .one(conn)
        .await
        .map_err(db_error)?
        .map_or(0, |row| row.sequence))
}

pub async fn set_cursor<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    sequence: i64,
) -> Result<(), ApiError> {
    cursor::Entity::insert(cursor::ActiveModel {
        source: Set(source.to_string()),
        sequence: Set(sequence),
    })
    .on_conflict(
        OnConflict::column(cursor::Column::Source)
            .update_column(cursor::Column::Sequence)
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub async fn put_node<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    kind: &str,
    payload_type: &str,
    payload: &[u8],
) -> Result<(), ApiError> {
    node::Entity::insert(node::ActiveModel {
        name: Set(name.to_string()),
        kind: Set(kind.to_string()),
        payload_type: Set(payload_type.to_string()),
        payload: Set(payload.to_vec()),
    })
    .on_conflict(
        OnConflict::column(node::Column::Name)
            .update_columns([
                node::Column::Kind,
                node::Column::PayloadType,
                node::Column::Payload,
            ])
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub async fn remove_node<C: ConnectionTrait>(conn: &C, name: &str) -> Result<(), ApiError> {
    node::Entity::delete_many()
        .filter(node::Column::Name.eq(name))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Every stored node, page by page.
pub async fn all_nodes<C: ConnectionTrait>(conn: &C) -> Result<Vec<node::Model>, ApiError> {
    const PAGE: u64 = 5_000;
    let mut every: Vec<node::Model> = Vec::new();
    loop {
        let mut query = node::Entity::find()
            .order_by_asc(node::Column::Name)
            .limit(PAGE);
        if let Some(last) = every.last() {
            query = query.filter(node::Column::Name.gt(last.name.clone()));
        }
        let page = query.all(conn).await.map_err(db_error)?;
        let done = (page.len() as u64) < PAGE;
        every.extend(page);
        if done {
            return Ok(every);
        }
    }
}
