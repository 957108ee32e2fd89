//! Queries on `catalog_data_products`.

use prost::Message;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use weft_proto::weft::catalog::v1::{DataProduct, LifecycleState};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::data_product;
use super::{insert_error, labels};
use crate::domain::time::{from_timestamp, to_timestamp};

fn decode(row: data_product::Model) -> Result<DataProduct, ApiError> {
    let mut product = DataProduct::decode(row.body.as_slice()).map_err(ApiError::internal)?;
    product.etag = row.revision.to_string();
    product.create_time = Some(to_timestamp(row.create_time));
    product.update_time = Some(to_timestamp(row.update_time));
    Ok(product)
}

fn body(product: &DataProduct) -> Vec<u8> {
    let mut stored = product.clone();
    stored.etag.clear();
    stored.encode_to_vec()
}

fn state_name(product: &DataProduct) -> String {
    LifecycleState::try_from(product.lifecycle_state)
        .unwrap_or(LifecycleState::Unspecified)
        .as_str_name()
        .trim_start_matches("LIFECYCLE_STATE_")
        .to_string()
}

/// Inserts a new product (revision 1) in `domain`; ALREADY_EXISTS if the name is taken.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    domain: &str,
    product: &DataProduct,
) -> Result<DataProduct, ApiError> {
    let row = data_product::ActiveModel {
        name: Set(product.name.clone()),
        uid: Set(product.uid.clone()),
        domain: Set(domain.to_string()),
        lifecycle_state: Set(state_name(product)),
        revision: Set(1),
        create_time: Set(from_timestamp(product.create_time.as_ref())),
        update_time: Set(from_timestamp(product.update_time.as_ref())),
        body: Set(body(product)),
    }
    .insert(conn)
    .await
    .map_err(insert_error(&product.name))?;
    labels::replace(conn, &product.name, &product.owners, &product.tags).await?;
    decode(row)
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> Result<Option<DataProduct>, ApiError> {
    data_product::Entity::find_by_id(name)
        .one(conn)
        .await
        .map_err(db_error)?
        .map(decode)
        .transpose()
}

/// Column conditions for List filters.
pub fn in_domain(domain: &str) -> SimpleExpr {
    data_product::Column::Domain.eq(domain)
}

pub fn in_state(state: &str) -> SimpleExpr {
    data_product::Column::LifecycleState.eq(state)
}

pub fn name_column() -> data_product::Column {
    data_product::Column::Name
}

pub async fn list<C: ConnectionTrait>(
    conn: &C,
    conditions: Vec<SimpleExpr>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<DataProduct>, ApiError> {
    let mut query = data_product::Entity::find()
        .order_by_asc(data_product::Column::Name)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(data_product::Column::Name.gt(after));
    }
    for condition in conditions {
        query = query.filter(condition);
    }
    query
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(decode)
        .collect()
}

/// Writes `product` if its stored revision is still `revision`; ABORTED otherwise.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    product: &DataProduct,
    revision: i64,
) -> Result<DataProduct, ApiError> {
    let result = data_product::Entity::update_many()
        .col_expr(
            data_product::Column::LifecycleState,
            state_name(product).into(),
        )
        .col_expr(data_product::Column::Revision, (revision + 1).into())
        .col_expr(
            data_product::Column::UpdateTime,
            from_timestamp(product.update_time.as_ref()).into(),
        )
        .col_expr(data_product::Column::Body, body(product).into())
        .filter(data_product::Column::Name.eq(&product.name))
        .filter(data_product::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(&product.name));
    }
    labels::replace(conn, &product.name, &product.owners, &product.tags).await?;
    find(conn, &product.name)
        .await?
        .ok_or_else(|| ApiError::not_found(&product.name))
}

pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    revision: i64,
) -> Result<(), ApiError> {
    let result = data_product::Entity::delete_many()
        .filter(data_product::Column::Name.eq(name))
        .filter(data_product::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(name));
    }
    labels::delete(conn, name).await
}
