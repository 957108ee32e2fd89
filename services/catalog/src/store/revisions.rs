//! Published revisions of data products: immutable, one row per revision.

use prost::Message;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use weft_proto::weft::catalog::v1::DataProductRevision;
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::revision;

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    product: &str,
    number: i64,
    value: &DataProductRevision,
) -> Result<(), ApiError> {
    revision::ActiveModel {
        data_product: Set(product.to_string()),
        revision: Set(number),
        body: Set(value.encode_to_vec()),
    }
    .insert(conn)
    .await
    .map_err(weft_storage::resources::insert_error(&value.name))?;
    Ok(())
}

fn decode(row: revision::Model) -> Result<DataProductRevision, ApiError> {
    DataProductRevision::decode(row.body.as_slice()).map_err(ApiError::internal)
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    product: &str,
    number: i64,
) -> Result<Option<DataProductRevision>, ApiError> {
    revision::Entity::find_by_id((product.to_string(), number))
        .one(conn)
        .await
        .map_err(db_error)?
        .map(decode)
        .transpose()
}

/// The newest revision number of `product` (0 if never published).
pub async fn latest_number<C: ConnectionTrait>(conn: &C, product: &str) -> Result<i64, ApiError> {
    let latest = revision::Entity::find()
        .filter(revision::Column::DataProduct.eq(product))
        .order_by_desc(revision::Column::Revision)
        .one(conn)
        .await
        .map_err(db_error)?;
    Ok(latest.map_or(0, |row| row.revision))
}

/// Revisions of `product`, newest first, below `before` if given.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    product: &str,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<DataProductRevision>, ApiError> {
    let mut query = revision::Entity::find()
        .filter(revision::Column::DataProduct.eq(product))
        .order_by_desc(revision::Column::Revision)
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(revision::Column::Revision.lt(before));
    }
    query
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(decode)
        .collect()
}

pub async fn delete_all<C: ConnectionTrait>(conn: &C, product: &str) -> Result<(), ApiError> {
    revision::Entity::delete_many()
        .filter(revision::Column::DataProduct.eq(product))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
