//! A table for every resource kind of a service: indexed columns (name, kind, parent, subject,
//! state, revision, times) next to the encoded protobuf of the resource, and the three shapes
//! every mutation takes (create / update / delete), each in one write transaction with its outbox
//! event ("<kind>.created|updated|deleted", the resource as payload), its journal record and,
//! for creates, its idempotency record. Etags are the stored revision.
//!
//! The kinds (`Resource`) are declared next to their messages in `weft_proto::resource`.
//! Governance (and the services after it) keep their resources here. The catalog predates it and
//! keeps its own table with side tables of labels (`weft_catalog::storage::resources`).

use futures::future::BoxFuture;
use prost::Message;
use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use serde_json::json;
pub use weft_proto::resource::{Resource, StandardFields};
use weft_proto::time::timestamp as to_timestamp;
use weft_runtime::ApiError;

use crate::Store;
use crate::entities::resource;
use crate::idempotency::{IdempotencyKey, decode_replay, replay_on_conflict};
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

/// Inserts a new resource at revision 1; ALREADY_EXISTS if the name is taken.
pub async fn insert<R: Resource, C: ConnectionTrait>(conn: &C, value: &R) -> Result<R, ApiError> {
    let time = now();
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

/// Conditions for List filters.
pub fn parent_is(parent: &str) -> SimpleExpr {
    resource::Column::Parent.eq(parent)
}

pub fn subject_is(subject: &str) -> SimpleExpr {
    resource::Column::Subject.eq(subject)
}

pub fn state_is(state: &str) -> SimpleExpr {
    resource::Column::State.eq(state)
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
    get(conn, value.name()).await
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
fn revision_of(etag: &str) -> i64 {
    etag.parse().unwrap_or_default()
}

/// Creates the resource `build` returns (it checks references inside the transaction and sets
/// the name and output fields). `method` names the RPC for the journal and idempotency.
pub async fn create<R, B>(
    store: &Store,
    actor: &str,
    method: &'static str,
    request_id: &str,
    request: &impl Message,
    build: B,
) -> Result<R, ApiError>
where
    R: Resource,
    B: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<R, ApiError>>,
{
    let key = IdempotencyKey::from_request(method, request_id, request)?;
    replay_on_conflict(store, key.as_ref(), async {
        let txn = store.begin_write(actor).await?;
        if let Some(key) = &key
            && let Some(stored) = key.replay(txn.conn()).await?
        {
            return decode_replay(&stored);
        }
        let value = build(txn.conn()).await?;
        let created = insert(txn.conn(), &value).await?;
        if let Some(key) = &key {
            key.remember(txn.conn(), &created).await?;
        }
        let detail = json!({ "request_id": request_id });
        txn.commit(vec![change(method, "created", &created, detail)])
            .await?;
        Ok(created)
    })
    .await
}

/// Changes resource `name`: `apply` receives the current value and returns the new one (merging
/// the masked fields and validating, with the transaction for reference checks). `verb` names
/// the event, e.g. "updated" or "revoked".
#[allow(clippy::too_many_arguments)]
pub async fn update<R, A>(
    store: &Store,
    actor: &str,
    method: &'static str,
    verb: &str,
    name: &str,
    etag: &str,
    detail: serde_json::Value,
    apply: A,
) -> Result<R, ApiError>
where
    R: Resource,
    A: for<'c> FnOnce(&'c DatabaseTransaction, R) -> BoxFuture<'c, Result<R, ApiError>>,
{
    let txn = store.begin_write(actor).await?;
    let current: R = get(txn.conn(), name).await?;
    check_etag(name, etag, current.etag())?;
    let revision = revision_of(current.etag());
    let updated = apply(txn.conn(), current).await?;
    let saved = update_row(txn.conn(), &updated, revision).await?;
    txn.commit(vec![change(method, verb, &saved, detail)])
        .await?;
    Ok(saved)
}

/// Deletes resource `name` once `guard` (e.g. "is not in use") passes.
pub async fn delete<R, G>(
    store: &Store,
    actor: &str,
    method: &'static str,
    name: &str,
    etag: &str,
    guard: G,
) -> Result<R, ApiError>
where
    R: Resource,
    G: for<'c> FnOnce(&'c DatabaseTransaction, &'c R) -> BoxFuture<'c, Result<(), ApiError>>,
{
    let txn = store.begin_write(actor).await?;
    let current: R = get(txn.conn(), name).await?;
    check_etag(name, etag, current.etag())?;
    guard(txn.conn(), &current).await?;
    let result = resource::Entity::delete_many()
        .filter(resource::Column::Name.eq(name))
        .filter(resource::Column::Kind.eq(R::KIND))
        .filter(resource::Column::Revision.eq(revision_of(current.etag())))
        .exec(txn.conn())
        .await
        .map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(ApiError::stale_etag(name));
    }
    txn.commit(vec![change(method, "deleted", &current, json!({}))])
        .await?;
    Ok(current)
}
