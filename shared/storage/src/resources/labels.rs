//! Owners, tags and glossary-term links of catalog resources, mirrored into side tables for List
//! filters and for "is it still in use" checks.

use sea_orm::sea_query::{Expr, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::{owner, reference, tag};

/// Replaces a resource's owners, tags and references.
pub async fn replace<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    owners: &[String],
    tags: &[Tag],
    references: &[String],
) -> Result<(), ApiError> {
    delete(conn, resource).await?;
    insert(conn, resource, owners, tags, references).await
}

/// Writes the owners, tags and references of a resource that has none yet.
pub async fn insert<C: ConnectionTrait>(
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
            term: Set(name.clone()),
        }))
        .exec(conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Tags and terms of one part of a resource (a column), by dotted path.
#[derive(Debug, Clone, Default)]
pub struct PartLabels {
    pub path: String,
    pub tags: Vec<Tag>,
    pub terms: Vec<String>,
}

/// Replaces the labels of a resource's parts (side-table rows "<resource>#<path>").
pub async fn replace_parts<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    parts: &[PartLabels],
) -> Result<(), ApiError> {
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
    insert_parts(conn, resource, parts).await
}

/// Writes the labels of the parts of a resource that has none yet.
pub async fn insert_parts<C: ConnectionTrait>(
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
            part.terms.iter().map(move |term| reference::ActiveModel {
                resource: Set(format!("{resource}#{}", part.path)),
                term: Set(term.clone()),
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

/// Removes a resource's owners, tags and term links.
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
        .filter(reference::Column::Term.eq(name))
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
pub fn referring_to(name_column: impl ColumnTrait, term: &str) -> SimpleExpr {
    name_column.in_subquery(
        Query::select()
            .column(reference::Column::Resource)
            .from(reference::Entity)
            .and_where(Expr::col(reference::Column::Term).eq(term))
            .to_owned(),
    )
}
