//! Lineage's storage: entities, migrations, and the queries the domain runs. Nothing here
//! builds SQL text from user input: every value is bound through sea-orm / sea-query.

pub mod entities;
pub mod migrations;
pub mod reads;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Iterable};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

/// Inserts `model` unless a row with the same primary key exists; true when inserted.
pub async fn insert_new<E, A, C>(conn: &C, model: A) -> Result<bool, ApiError>
where
    E: EntityTrait<ActiveModel = A>,
    E::Model: sea_orm::IntoActiveModel<A>,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let inserted = E::insert(model)
        .on_conflict(
            OnConflict::columns(E::PrimaryKey::iter())
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(db_error)?;
    Ok(inserted > 0)
}
