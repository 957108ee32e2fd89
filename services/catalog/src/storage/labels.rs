//! Owners and tags of catalog resources, mirrored into side tables for List filters.

use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::{owner, tag};

/// Replaces a resource's owners and tags.
pub async fn replace<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    owners: &[String],
    tags: &[Tag],
) -> Result<(), ApiError> {
    delete(conn, resource).await?;
    if !owners.is_empty() {
        owner::Entity::insert_many(owners.iter().map(|principal| owner::ActiveModel {
            resource: Set(resource.to_string()),
            principal: Set(principal.clone()),
        }))
        .exec(conn)
        .await
        .map_err(db_error)?;
    }
    if !tags.is_empty() {
        tag::Entity::insert_many(tags.iter().map(|t| tag::ActiveModel {
            resource: Set(resource.to_string()),
            key: Set(t.key.clone()),
            value: Set(t.value.clone()),
        }))
        .exec(conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Removes a resource's owners and tags.
pub async fn delete<C: ConnectionTrait>(conn: &C, resource: &str) -> Result<(), ApiError> {
    owner::Entity::delete_many()
        .filter(owner::Column::Resource.eq(resource))
        .exec(conn)
        .await
        .map_err(db_error)?;
    tag::Entity::delete_many()
        .filter(tag::Column::Resource.eq(resource))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// `name_column IN (resources owned by principal)`.
pub fn owned_by(name_column: impl ColumnTrait, principal: &str) -> SimpleExpr {
    name_column.in_subquery(
        Query::select()
            .column(owner::Column::Resource)
            .from(owner::Entity)
            .and_where(Expr::col(owner::Column::Principal).eq(principal))
            .to_owned(),
    )
}

/// `name_column IN (resources tagged key[=value])`; `tag` is "key" or "key=value".
pub fn tagged(name_column: impl ColumnTrait, tag_filter: &str) -> SimpleExpr {
    let mut query = Query::select();
    query.column(tag::Column::Resource).from(tag::Entity);
    match tag_filter.split_once('=') {
        Some((key, value)) => query
            .and_where(Expr::col(tag::Column::Key).eq(key))
            .and_where(Expr::col(tag::Column::Value).eq(value)),
        None => query.and_where(Expr::col(tag::Column::Key).eq(tag_filter)),
    };
    name_column.in_subquery(query.to_owned())
}
