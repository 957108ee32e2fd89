//! Sealed secrets (an environment's SECRET parameters, its generated password), one row per
//! owner and key, written in the caller's transaction so a secret commits with its resource.
//! The rows hold ciphertext only (`domain::sealing`); nothing here sees a clear value.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, QueryFilter, Set};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

pub mod secret {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "provisioning_secrets")]
    pub struct Model {
        /// The resource the secret belongs to, e.g. "environments/churn".
        #[sea_orm(primary_key, auto_increment = false)]
        pub owner: String,
        /// A parameter's name, or "password" for the generated login.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Nonce and ciphertext (see `domain::sealing`).
        pub sealed: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Writes (or replaces) the sealed secret `key` of `owner`.
pub async fn put<C: ConnectionTrait>(
    conn: &C,
    owner: &str,
    key: &str,
    sealed: Vec<u8>,
) -> Result<(), ApiError> {
    secret::Entity::insert(secret::ActiveModel {
        owner: Set(owner.to_string()),
        key: Set(key.to_string()),
        sealed: Set(sealed),
    })
    .on_conflict(
        OnConflict::columns([secret::Column::Owner, secret::Column::Key])
            .update_column(secret::Column::Sealed)
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The sealed secret `key` of `owner`, if any.
pub async fn get<C: ConnectionTrait>(
    conn: &C,
    owner: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(
        secret::Entity::find_by_id((owner.to_string(), key.to_string()))
            .one(conn)
            .await
            .map_err(db_error)?
            .map(|row| row.sealed),
    )
}

/// Forgets every secret of `owner`.
pub async fn delete_all<C: ConnectionTrait>(conn: &C, owner: &str) -> Result<(), ApiError> {
    secret::Entity::delete_many()
        .filter(secret::Column::Owner.eq(owner))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
