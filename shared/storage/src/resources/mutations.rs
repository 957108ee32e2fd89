//! The three shapes every mutation of one resource takes. Each runs in one write transaction with
//! its outbox event ("<kind>.created|updated|deleted", the resource as payload) and journal
//! record; creates are idempotent by `request_id`; updates and deletes check the etag and the
//! revision. The caller's closure does the kind's rules (validation, reference checks) with the
//! transaction at hand, so the whole change commits or none of it.

use futures::future::BoxFuture;
use prost::Message;
use sea_orm::DatabaseTransaction;
use serde_json::json;
use weft_runtime::ApiError;

use super::{Resource, change, check_etag, delete_row, get, insert_at, revision_of, update_row};
use crate::Store;
use crate::idempotency::{IdempotencyKey, decode_replay, replay_on_conflict};
use crate::write::now;

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
    R: Resource + 'static,
    B: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<R, ApiError>>,
{
    create_many(
        store,
        actor,
        method,
        request_id,
        request,
        |conn| {
            let built = build(conn);
            Box::pin(async move { built.await.map(|value| vec![value]) })
        },
        |mut created| created.pop().unwrap_or_default(),
    )
    .await
}

/// Creates every resource `build` returns in one transaction, all or none, each with its event
/// and journal record; `respond` makes the answer (kept for idempotent replays).
pub async fn create_many<R, B, Response, F>(
    store: &Store,
    actor: &str,
    method: &'static str,
    request_id: &str,
    request: &impl Message,
    build: B,
    respond: F,
) -> Result<Response, ApiError>
where
    R: Resource,
    B: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<Vec<R>, ApiError>>,
    Response: Message + Default,
    F: FnOnce(Vec<R>) -> Response,
{
    let key = IdempotencyKey::from_request(method, request_id, request)?;
    replay_on_conflict(store, key.as_ref(), async {
        let txn = store.begin_write(actor).await?;
        if let Some(key) = &key
            && let Some(stored) = key.replay(txn.conn()).await?
        {
            return decode_replay(&stored);
        }
        let values = build(txn.conn()).await?;
        let time = now();
        let detail = json!({ "request_id": request_id });
        let mut created = Vec::with_capacity(values.len());
        let mut changes = Vec::with_capacity(values.len());
        for value in values {
            let value = insert_at(txn.conn(), &value, time).await?;
            changes.push(change(method, "created", &value, detail.clone()));
            created.push(value);
        }
        let response = respond(created);
        if let Some(key) = &key {
            key.remember(txn.conn(), &response).await?;
        }
        txn.commit(changes).await?;
        Ok(response)
    })
    .await
}

/// What an update or delete acts on and how it is recorded: the RPC (`method`), the event's verb
/// ("updated" unless set, e.g. "revoked" for "grant.revoked"), the resource and the etag the
/// client sent (empty: no check), and the journal's detail.
#[derive(Debug, Clone)]
pub struct Edit<'a> {
    method: &'static str,
    verb: &'static str,
    name: &'a str,
    etag: &'a str,
    detail: serde_json::Value,
}

impl<'a> Edit<'a> {
    pub fn new(method: &'static str, name: &'a str, etag: &'a str) -> Self {
        Self {
            method,
            verb: "updated",
            name,
            etag,
            detail: json!({}),
        }
    }

    /// The event's verb, e.g. "published" for "data_product.published".
    pub fn verb(mut self, verb: &'static str) -> Self {
        self.verb = verb;
        self
    }

    /// The fields an update mask named, recorded in the journal.
    pub fn mask<S: serde::Serialize>(self, fields: &[S]) -> Self {
        self.detail(json!({ "update_mask": fields }))
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Changes the resource `edit` names: `apply` receives the current value and returns the new one
/// (merging the masked fields and validating, with the transaction for reference checks).
pub async fn update<R, A>(
    store: &Store,
    actor: &str,
    edit: Edit<'_>,
    apply: A,
) -> Result<R, ApiError>
where
    R: Resource,
    A: for<'c> FnOnce(&'c DatabaseTransaction, R) -> BoxFuture<'c, Result<R, ApiError>>,
{
    let txn = store.begin_write(actor).await?;
    let current: R = get(txn.conn(), edit.name).await?;
    check_etag(edit.name, edit.etag, current.etag())?;
    let revision = revision_of(current.etag());
    let updated = apply(txn.conn(), current).await?;
    let saved = update_row(txn.conn(), &updated, revision).await?;
    txn.commit(vec![change(edit.method, edit.verb, &saved, edit.detail)])
        .await?;
    Ok(saved)
}

/// Deletes the resource `edit` names once `guard` (e.g. "is not in use") passes; returns what
/// was deleted.
pub async fn delete<R, G>(
    store: &Store,
    actor: &str,
    edit: Edit<'_>,
    guard: G,
) -> Result<R, ApiError>
where
    R: Resource,
    G: for<'c> FnOnce(&'c DatabaseTransaction, &'c R) -> BoxFuture<'c, Result<(), ApiError>>,
{
    let txn = store.begin_write(actor).await?;
    let current: R = get(txn.conn(), edit.name).await?;
    check_etag(edit.name, edit.etag, current.etag())?;
    guard(txn.conn(), &current).await?;
    delete_row::<R, _>(txn.conn(), edit.name, revision_of(current.etag())).await?;
    txn.commit(vec![change(edit.method, "deleted", &current, edit.detail)])
        .await?;
    Ok(current)
}
