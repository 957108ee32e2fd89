//! The one resource store of every service: a table for all resource kinds, with indexed
//! columns (name, kind, parent, subject, state, revision, times) next to the encoded protobuf of
//! the resource, side tables of labeled kinds' owners, tags and references (`labels`), and the
//! three shapes every mutation takes (`mutations`: create / update / delete, each in one write
//! transaction with its outbox event, journal record and, for creates, idempotency record).
//! Etags are the stored revision; the store keeps both times.
//!
//! The kinds (`Resource`) are declared next to their messages in `weft_proto::resource`. The
//! row functions here run inside a caller's transaction, for writes that change several
//! resources at once.

pub mod labels;
mod mutations;

pub use mutations::{Edit, create, create_many, delete, update};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
pub use weft_proto::resource::{Labels, PartLabels, Resource, StandardFields};
use weft_proto::time::timestamp as to_timestamp;
use weft_runtime::ApiError;

use crate::entities::resource;
use crate::write::{Change, db_error, now};

fn decode<R: Resource>(row: resource::Model) -> Result<R, ApiError> {
    let mut value = R::decode(row.body.as_slice()).map_err(ApiError::internal)?;
    value.set_etag(row.revision.to_string());
    value.set_times(
        Some(to_timestamp(row.create_time)),
        Some(to_timestamp(row.update_time)),
    );
    Ok(value)
}

/// The stored body: the message without the fields kept as columns.
fn body<R: Resource>(value: &R) -> Vec<u8> {
    let mut stored = value.clone();
    stored.set_etag(String::new());
    stored.set_times(None, None);
    stored.encode_to_vec()
}

/// Maps an insert's unique-key violation to ALREADY_EXISTS, anything else to INTERNAL.
pub fn insert_error(resource: &str) -> impl Fn(DbErr) -> ApiError + '_ {
    move |error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::already_exists(resource),
        _ => db_error(error),
    }
}

/// Inserts a new resource at revision 1, created now; ALREADY_EXISTS if the name is taken.
pub async fn insert<R: Resource, C: ConnectionTrait>(conn: &C, value: &R) -> Result<R, ApiError> {
    insert_at(conn, value, now()).await
}

/// Like `insert`, created at `time` (the resources of one transaction share its time).
async fn insert_at<R: Resource, C: ConnectionTrait>(
    conn: &C,
    value: &R,
    time: DateTime<Utc>,
) -> Result<R, ApiError> {
    let row = resource::ActiveModel {
        name: Set(value.name().to_string()),
        kind: Set(R::KIND.to_string()),
        parent: Set(value.parent()),
        subject: Set(value.subject()),
        state: Set(value.state()),
        revision: Set(1),
        create_time: Set(time),
        update_time: Set(time),
        body: Set(body(value)),
    }
    .insert(conn)
    .await
    .map_err(insert_error(value.name()))?;
    if R::LABELED {
        labels::write(conn, value.name(), &value.labels(), false).await?;
    }
    decode(row)
}

pub async fn find<R: Resource, C: ConnectionTrait>(
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
pub async fn get<R: Resource, C: ConnectionTrait>(conn: &C, name: &str) -> Result<R, ApiError> {
    find(conn, name)
        .await?
        .ok_or_else(|| ApiError::not_found(name))
}

/// Resources of kind `R` matching every condition, by name, after `after`.
pub async fn list<R: Resource, C: ConnectionTrait>(
    conn: &C,
    conditions: Vec<Condition>,
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
        query = query.filter(condition.0);
    }
    query
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(decode)
        .collect()
}

/// Every resource of kind `R`, read page by page (for rebuilding in-memory indexes).
pub async fn all<R: Resource, C: ConnectionTrait>(conn: &C) -> Result<Vec<R>, ApiError> {
    const PAGE: u64 = 5_000;
    let mut every: Vec<R> = Vec::new();
    loop {
        let after = every.last().map(|r| r.name().to_string());
        let page = list::<R, _>(conn, vec![], after.as_deref(), PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        every.extend(page);
        if done {
            return Ok(every);
        }
    }
}

/// Every resource of kind `R` under `parent`, read page by page.
pub async fn all_children<R: Resource, C: ConnectionTrait>(
    conn: &C,
    parent: &str,
) -> Result<Vec<R>, ApiError> {
    const PAGE: u64 = 1_000;
    let mut every: Vec<R> = Vec::new();
    loop {
        let after = every.last().map(|r| r.name().to_string());
        let page = list::<R, _>(conn, vec![parent_is(parent)], after.as_deref(), PAGE).await?;
        let done = (page.len() as u64) < PAGE;
        every.extend(page);
        if done {
            return Ok(every);
        }
    }
}

/// How many resources of kind `R` have the parent `parent`.
pub async fn count_children<R: Resource, C: ConnectionTrait>(
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

/// A condition of a listing, built by the functions below; the domains combine them without
/// seeing the store's columns.
#[derive(Clone, Debug)]
pub struct Condition(SimpleExpr);

impl Condition {
    /// Matches when any of `conditions` does; `None` when there are none (a listing that can
    /// match nothing).
    pub fn any(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
        conditions
            .into_iter()
            .map(|c| c.0)
            .reduce(SimpleExpr::or)
            .map(Condition)
    }
}

/// Resources whose parent is `parent`.
pub fn parent_is(parent: &str) -> Condition {
    Condition(resource::Column::Parent.eq(parent))
}

/// Resources without a parent (e.g. top-level domains).
pub fn without_parent() -> Condition {
    Condition(resource::Column::Parent.is_null())
}

pub fn subject_is(subject: &str) -> Condition {
    Condition(resource::Column::Subject.eq(subject))
}

pub fn state_is(state: &str) -> Condition {
    Condition(resource::Column::State.eq(state))
}

pub fn state_is_not(state: &str) -> Condition {
    Condition(resource::Column::State.ne(state))
}

/// Labeled resources owned by `principal`.
pub fn owned_by(principal: &str) -> Condition {
    Condition(labels::owned_by(resource::Column::Name, principal))
}

/// Labeled resources carrying tag `tag` ("key" or "key=value").
pub fn tagged(tag: &str) -> Condition {
    Condition(labels::tagged(resource::Column::Name, tag))
}

/// Labeled resources referring to `name`.
pub fn referring_to(name: &str) -> Condition {
    Condition(labels::referring_to(resource::Column::Name, name))
}

/// Writes `value` if its stored revision is still `revision`; ABORTED otherwise. For
/// transactions that change several resources (`update` is the one-resource shape).
pub async fn update_row<R: Resource, C: ConnectionTrait>(
    conn: &C,
    value: &R,
    revision: i64,
) -> Result<R, ApiError> {
    let result = resource::Entity::update_many()
        .col_expr(resource::Column::Parent, value.parent().into())
        .col_expr(resource::Column::Subject, value.subject().into())
        .col_expr(resource::Column::State, value.state().into())
        .col_expr(resource::Column::Revision, (revision + 1).into())
        .col_expr(resource::Column::UpdateTime, now().into())
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
    if R::LABELED {
        labels::write(conn, value.name(), &value.labels(), true).await?;
    }
    get(conn, value.name()).await
}

/// Deletes resource `name` if its stored revision is still `revision` (ABORTED otherwise), with
/// its labels.
pub async fn delete_row<R: Resource, C: ConnectionTrait>(
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
    if R::LABELED {
        labels::delete_all(conn, name).await?;
    }
    Ok(())
}

/// The outbox event and journal record of one change of `value`.
pub fn change<R: Resource>(
    action: &str,
    verb: &str,
    value: &R,
    detail: serde_json::Value,
) -> Change {
    Change {
        action: action.to_string(),
        event_type: format!("{}.{verb}", R::KIND),
        resource: value.name().to_string(),
        payload: prost_types::Any {
            type_url: format!("type.googleapis.com/{}", R::MESSAGE),
            value: value.encode_to_vec(),
        },
        detail,
    }
}

/// Checks the etag a client sent (empty: no check).
pub fn check_etag(resource: &str, sent: &str, current: &str) -> Result<(), ApiError> {
    if !sent.is_empty() && sent != current {
        return Err(ApiError::stale_etag(resource));
    }
    Ok(())
}

/// The revision an etag stands for.
pub fn revision_of(etag: &str) -> i64 {
    etag.parse().unwrap_or_default()
}
