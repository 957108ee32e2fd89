//! The side tables of labeled kinds (`Resource::LABELED`): owners, tags and references of a
//! resource and of its parts, mirrored from the resource on every write, for List filters and
//! for "is it still in use" checks.

use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use weft_proto::resource::{Labels, PartLabels};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::ApiError;

use crate::entities::{
    resource_owner as owner, resource_reference as reference, resource_tag as tag,
};
use crate::write::db_error;

/// Writes a resource's labels; `replacing` clears the previous ones first (a new resource has
/// none, which saves five statements per create).
pub(super) async fn write<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    labels: &Labels,
    replacing: bool,
) -> Result<(), ApiError> {
    if replacing {
        delete(conn, name).await?;
        delete_parts(conn, name).await?;
    }
    insert(conn, name, &labels.owners, &labels.tags, &labels.references).await?;
    insert_parts(conn, name, &labels.parts).await
}

/// Removes the labels of a resource and of its parts.
pub(super) async fn delete_all<C: ConnectionTrait>(conn: &C, name: &str) -> Result<(), ApiError> {
    delete(conn, name).await?;
    delete_parts(conn, name).await
}

/// Writes the owners, tags and references of a resource that has none yet.
async fn insert<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    owners: &[String],
    tags: &[Tag],
    references: &[String],
) -> Result<(), ApiError> {
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
    if !references.is_empty() {
        reference::Entity::insert_many(references.iter().map(|name| reference::ActiveModel {
            resource: Set(resource.to_string()),
            target: Set(name.clone()),
        }))
        .exec(conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Removes the labels of a resource's parts (side-table rows "<resource>#<path>").
async fn delete_parts<C: ConnectionTrait>(conn: &C, resource: &str) -> Result<(), ApiError> {
    // Rows of parts sort between "<resource>#" and "<resource>$" ('$' follows '#').
    let (low, high) = (format!("{resource}#"), format!("{resource}$"));
    tag::Entity::delete_many()
        .filter(tag::Column::Resource.gte(low.as_str()))
        .filter(tag::Column::Resource.lt(high.as_str()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    reference::Entity::delete_many()
        .filter(reference::Column::Resource.gte(low.as_str()))
        .filter(reference::Column::Resource.lt(high.as_str()))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Writes the labels of the parts of a resource that has none yet.
async fn insert_parts<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    parts: &[PartLabels],
) -> Result<(), ApiError> {
    let tags: Vec<tag::ActiveModel> = parts
        .iter()
        .flat_map(|part| {
            part.tags.iter().map(move |t| tag::ActiveModel {
                resource: Set(format!("{resource}#{}", part.path)),
                key: Set(t.key.clone()),
                value: Set(t.value.clone()),
            })
        })
        .collect();
    if !tags.is_empty() {
        tag::Entity::insert_many(tags)
            .exec(conn)
            .await
            .map_err(db_error)?;
    }
    let links: Vec<reference::ActiveModel> = parts
        .iter()
        .flat_map(|part| {
            part.references
                .iter()
                .map(move |target| reference::ActiveModel {
                    resource: Set(format!("{resource}#{}", part.path)),
                    target: Set(target.clone()),
                })
        })
        .collect();
    if !links.is_empty() {
        reference::Entity::insert_many(links)
            .exec(conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Removes a resource's own owners, tags and references.
async fn delete<C: ConnectionTrait>(conn: &C, resource: &str) -> Result<(), ApiError> {
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
    reference::Entity::delete_many()
        .filter(reference::Column::Resource.eq(resource))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// How many resources carry tag `key` (with `value`, if given).
pub async fn count_tag_uses<C: ConnectionTrait>(
    conn: &C,
    key: &str,
    value: Option<&str>,
) -> Result<u64, ApiError> {
    let mut query = tag::Entity::find().filter(tag::Column::Key.eq(key));
    if let Some(value) = value {
        query = query.filter(tag::Column::Value.eq(value));
    }
    query.count(conn).await.map_err(db_error)
}

/// The distinct values of tag `key` in use.
pub async fn tag_values_in_use<C: ConnectionTrait>(
    conn: &C,
    key: &str,
) -> Result<Vec<String>, ApiError> {
    use sea_orm::QuerySelect;
    tag::Entity::find()
        .select_only()
        .column(tag::Column::Value)
        .distinct()
        .filter(tag::Column::Key.eq(key))
        .into_tuple::<String>()
        .all(conn)
        .await
        .map_err(db_error)
}

/// How many resources (or parts of them) refer to `name`.
pub async fn count_references<C: ConnectionTrait>(conn: &C, name: &str) -> Result<u64, ApiError> {
    reference::Entity::find()
        .filter(reference::Column::Target.eq(name))
        .count(conn)
        .await
        .map_err(db_error)
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

/// `name_column IN (resources referring to name)`.
pub fn referring_to(name_column: impl ColumnTrait, target: &str) -> SimpleExpr {
    name_column.in_subquery(
        Query::select()
            .column(reference::Column::Resource)
            .from(reference::Entity)
            .and_where(Expr::col(reference::Column::Target).eq(target))
            .to_owned(),
    )
}
