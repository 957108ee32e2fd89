//! One table for every catalog resource kind (domains, data products, assets, glossaries, terms,
//! tag keys, form types): indexed columns (name, kind, parent, state, revision, times) next to
//! the encoded protobuf of the resource. Typed access goes through `Stored`, so each kind needs
//! no storage code of its own beyond saying where its fields are.

use prost::Message;
use prost_types::Timestamp;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::resource;
use super::{insert_error, labels};
use weft_proto::time::{date_time, timestamp as to_timestamp};

/// The fields every resource message has (`name`, `etag`, `create_time`, `update_time`).
pub trait StandardFields {
    fn name(&self) -> &str;
    fn etag(&self) -> &str;
    fn create_time(&self) -> Option<&Timestamp>;
    fn update_time(&self) -> Option<&Timestamp>;
    fn set_etag(&mut self, etag: String);
    /// Replaces both times.
    fn set_times(&mut self, create_time: Option<Timestamp>, update_time: Option<Timestamp>);
}

/// A resource kind kept in `catalog_resources` (implemented in `storage::kinds`).
pub trait Stored: StandardFields + Message + Default + Clone {
    /// Value of the `kind` column, and the prefix of its event types, e.g. "domain".
    const KIND: &'static str;
    /// Its protobuf message in `weft.catalog.v1`, e.g. "Domain".
    const MESSAGE: &'static str;
    /// The indexed parent (a domain's parent domain, a product's domain…), if any.
    fn parent(&self) -> Option<String>;
    /// The indexed state (a product's lifecycle), if any.
    fn state(&self) -> Option<String> {
        None
    }
    fn owners(&self) -> &[String] {
        &[]
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
    /// Names the resource refers to: glossary terms (for a term, its isA and classifies
    /// relations) and metadata form types.
    fn references(&self) -> Vec<String> {
        Vec::new()
    }
    /// Tags and glossary terms of the resource's parts (an asset's columns) by dotted path, kept
    /// in the side tables under "<name>#<path>".
    fn part_labels(&self) -> Vec<labels::PartLabels> {
        Vec::new()
    }
}

fn decode<R: Stored>(row: resource::Model) -> Result<R, ApiError> {
    let mut value = R::decode(row.body.as_slice()).map_err(ApiError::internal)?;
    value.set_etag(row.revision.to_string());
    value.set_times(
        Some(to_timestamp(row.create_time)),
        Some(to_timestamp(row.update_time)),
    );
    Ok(value)
}

/// The stored body: the message without the fields kept as columns.
fn body<R: Stored>(value: &R) -> Vec<u8> {
    let mut stored = value.clone();
    stored.set_etag(String::new());
    stored.set_times(None, None);
    stored.encode_to_vec()
}

/// Mirrors the resource's owners, tags and term links (its own and its parts') into the side
/// tables.
/// Writes a resource's labels; `replacing` clears the previous ones first (a new resource has
/// none, which saves five statements per create).
async fn write_labels<R: Stored, C: ConnectionTrait>(
    conn: &C,
    value: &R,
    replacing: bool,
) -> Result<(), ApiError> {
    let name = value.name();
    let (owners, tags, references) = (value.owners(), value.tags(), value.references());
    let parts = value.part_labels();
    if replacing {
        labels::replace(conn, name, owners, tags, &references).await?;
        labels::replace_parts(conn, name, &parts).await
    } else {
        labels::insert(conn, name, owners, tags, &references).await?;
        labels::insert_parts(conn, name, &parts).await
    }
}

/// A resource's time as stored (the epoch when unset or out of range).
fn from_timestamp(time: Option<&Timestamp>) -> chrono::DateTime<chrono::Utc> {
    time.and_then(date_time).unwrap_or_default()
}

/// Inserts a new resource at revision 1; ALREADY_EXISTS if the name is taken.
pub async fn insert<R: Stored, C: ConnectionTrait>(conn: &C, value: &R) -> Result<R, ApiError> {
    let row = resource::ActiveModel {
        name: Set(value.name().to_string()),
        kind: Set(R::KIND.to_string()),
        parent: Set(value.parent()),
        state: Set(value.state()),
        revision: Set(1),
        create_time: Set(from_timestamp(value.create_time())),
        update_time: Set(from_timestamp(value.update_time())),
        body: Set(body(value)),
    }
    .insert(conn)
    .await
    .map_err(insert_error(value.name()))?;
    write_labels(conn, value, false).await?;
    decode(row)
}

pub async fn find<R: Stored, C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> Result<Option<R>, ApiError> {
    resource::Entity::find_by_id(name)
        .filter(resource::Column::Kind.eq(R::KIND))
        .one(conn)
        .await
        .map_err(db_error)?
        .map(decode)
        .transpose()
}

/// Like `find`, NOT_FOUND when absent.
pub async fn get<R: Stored, C: ConnectionTrait>(conn: &C, name: &str) -> Result<R, ApiError> {
    find(conn, name)
        .await?
        .ok_or_else(|| ApiError::not_found(name))
}

/// Resources of kind `R` matching every condition, by name, after `after`.
pub async fn list<R: Stored, C: ConnectionTrait>(
    conn: &C,
    conditions: Vec<SimpleExpr>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<R>, ApiError> {
    let mut query = resource::Entity::find()
        .filter(resource::Column::Kind.eq(R::KIND))
        .order_by_asc(resource::Column::Name)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(resource::Column::Name.gt(after));
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

/// Writes `value` if its stored revision is still `revision`; ABORTED otherwise.
pub async fn update<R: Stored, C: ConnectionTrait>(
    conn: &C,
    value: &R,
    revision: i64,
) -> Result<R, ApiError> {
    let result = resource::Entity::update_many()
        .col_expr(resource::Column::Parent, value.parent().into())
        .col_expr(resource::Column::State, value.state().into())
        .col_expr(resource::Column::Revision, (revision + 1).into())
        .col_expr(
            resource::Column::UpdateTime,
            from_timestamp(value.update_time()).into(),
        )
        .col_expr(resource::Column::Body, body(value).into())
        .filter(resource::Column::Name.eq(value.name()))
        .filter(resource::Column::Kind.eq(R::KIND))
        .filter(resource::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(value.name()));
    }
    write_labels(conn, value, true).await?;
    get(conn, value.name()).await
}

/// Deletes a resource if its stored revision is still `revision`; ABORTED otherwise.
pub async fn delete<R: Stored, C: ConnectionTrait>(
    conn: &C,
    name: &str,
    revision: i64,
) -> Result<(), ApiError> {
    let result = resource::Entity::delete_many()
        .filter(resource::Column::Name.eq(name))
        .filter(resource::Column::Kind.eq(R::KIND))
        .filter(resource::Column::Revision.eq(revision))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(name));
    }
    labels::delete(conn, name).await?;
    labels::replace_parts(conn, name, &[]).await
}

/// Resources of kind `R` whose parent is `parent`.
pub async fn count_children<R: Stored, C: ConnectionTrait>(
    conn: &C,
    parent: &str,
) -> Result<u64, ApiError> {
    resource::Entity::find()
        .filter(resource::Column::Kind.eq(R::KIND))
        .filter(resource::Column::Parent.eq(parent))
        .count(conn)
        .await
        .map_err(db_error)
}

/// Conditions for List filters.
pub fn parent_is(parent: Option<&str>) -> SimpleExpr {
    match parent {
        Some(parent) => resource::Column::Parent.eq(parent),
        None => resource::Column::Parent.is_null(),
    }
}

pub fn state_is(state: &str) -> SimpleExpr {
    resource::Column::State.eq(state)
}

pub fn owned_by(principal: &str) -> SimpleExpr {
    labels::owned_by(resource::Column::Name, principal)
}

pub fn tagged(tag: &str) -> SimpleExpr {
    labels::tagged(resource::Column::Name, tag)
}

pub fn referring_to(name: &str) -> SimpleExpr {
    labels::referring_to(resource::Column::Name, name)
}

/// Every resource of kind `R` under `parent`, read page by page.
pub async fn all_children<R: Stored, C: ConnectionTrait>(
    conn: &C,
    parent: &str,
) -> Result<Vec<R>, ApiError> {
    const PAGE: u64 = 1_000;
    let mut all: Vec<R> = Vec::new();
    loop {
        let after = all.last().map(|r| r.name().to_string());
        let page =
            list::<R, _>(conn, vec![parent_is(Some(parent))], after.as_deref(), PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}
