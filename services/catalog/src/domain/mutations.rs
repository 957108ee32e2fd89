//! The three shapes every catalog mutation takes. Each runs in one write transaction with its
//! outbox event ("<kind>.created|updated|deleted", the resource as payload) and journal record;
//! creates are idempotent by `request_id`; updates and deletes check the etag and the revision.

use futures::future::BoxFuture;
use prost::Message;
use sea_orm::DatabaseTransaction;
use serde_json::json;
use weft_runtime::ApiError;
use weft_storage::Change;
use weft_storage::idempotency::{IdempotencyKey, decode_replay, replay_on_conflict};
use weft_storage::write::now;

use super::Catalog;
use crate::storage::resources::{self, Stored};
use weft_proto::time::timestamp as to_timestamp;

/// Type URL prefix of event payloads.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/weft.catalog.v1.";

/// The outbox event and journal record of one change of `value`.
pub(crate) fn change<R: Stored>(
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
            type_url: format!("{TYPE_URL_PREFIX}{}", R::MESSAGE),
            value: value.encode_to_vec(),
        },
        detail,
    }
}

/// The revision an etag stands for (etags are the stored revision).
fn revision_of(etag: &str) -> i64 {
    etag.parse().unwrap_or_default()
}

/// Checks the etag a client sent (empty: no check).
pub(crate) fn check_etag(resource: &str, sent: &str, current: &str) -> Result<(), ApiError> {
    if !sent.is_empty() && sent != current {
        return Err(ApiError::stale_etag(resource));
    }
    Ok(())
}

impl Catalog {
    /// Creates the resource `build` returns (it checks references inside the transaction and
    /// sets the name and output fields). `method` names the RPC for the journal and idempotency.
    pub(crate) async fn create_resource<R, B>(
        &self,
        actor: &str,
        method: &'static str,
        request_id: &str,
        request: &impl Message,
        build: B,
    ) -> Result<R, ApiError>
    where
        R: Stored + 'static,
        B: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<R, ApiError>>,
    {
        self.create_resources(
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

    /// Creates every resource `build` returns in one transaction, all or none, each with its
    /// event and journal record; `respond` makes the answer (stored for idempotent replays).
    pub(crate) async fn create_resources<R, B, Response, F>(
        &self,
        actor: &str,
        method: &'static str,
        request_id: &str,
        request: &impl Message,
        build: B,
        respond: F,
    ) -> Result<Response, ApiError>
    where
        R: Stored,
        B: for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Result<Vec<R>, ApiError>>,
        Response: Message + Default,
        F: FnOnce(Vec<R>) -> Response,
    {
        let key = IdempotencyKey::from_request(method, request_id, request)?;
        replay_on_conflict(self.store(), key.as_ref(), async {
            let txn = self.store().begin_write(actor).await?;
            if let Some(key) = &key
                && let Some(stored) = key.replay(txn.conn()).await?
            {
                return decode_replay(&stored);
            }
            let values = build(txn.conn()).await?;
            let time = to_timestamp(now());
            let detail = json!({ "request_id": request_id });
            let mut created = Vec::with_capacity(values.len());
            let mut changes = Vec::with_capacity(values.len());
            for mut value in values {
                value.set_times(Some(time), Some(time));
                let value = resources::insert(txn.conn(), &value).await?;
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

    /// Updates resource `name`: `apply` receives the current value and returns the new one
    /// (merging the masked fields and validating, with the transaction for reference checks).
    pub(crate) async fn update_resource<R, A>(
        &self,
        actor: &str,
        method: &'static str,
        name: &str,
        etag: &str,
        fields: &[&str],
        apply: A,
    ) -> Result<R, ApiError>
    where
        R: Stored,
        A: for<'c> FnOnce(&'c DatabaseTransaction, R) -> BoxFuture<'c, Result<R, ApiError>>,
    {
        self.change_resource(actor, method, "updated", name, etag, fields, apply)
            .await
    }

    /// Like `update_resource`, with the event's verb (e.g. "published" for
    /// "data_product.published").
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_resource<R, A>(
        &self,
        actor: &str,
        method: &'static str,
        verb: &str,
        name: &str,
        etag: &str,
        fields: &[&str],
        apply: A,
    ) -> Result<R, ApiError>
    where
        R: Stored,
        A: for<'c> FnOnce(&'c DatabaseTransaction, R) -> BoxFuture<'c, Result<R, ApiError>>,
    {
        let txn = self.store().begin_write(actor).await?;
        let current: R = resources::get(txn.conn(), name).await?;
        check_etag(name, etag, current.etag())?;
        let revision = revision_of(current.etag());
        let mut updated = apply(txn.conn(), current).await?;
        let create_time = updated.create_time().cloned();
        updated.set_times(create_time, Some(to_timestamp(now())));
        let saved = resources::update(txn.conn(), &updated, revision).await?;
        txn.commit(vec![change(
            method,
            verb,
            &saved,
            json!({ "update_mask": fields }),
        )])
        .await?;
        Ok(saved)
    }

    /// Deletes resource `name` once `guard` (e.g. "has no children") passes.
    pub(crate) async fn delete_resource<R, G>(
        &self,
        actor: &str,
        method: &'static str,
        name: &str,
        etag: &str,
        guard: G,
    ) -> Result<(), ApiError>
    where
        R: Stored,
        G: for<'c> FnOnce(&'c DatabaseTransaction, &'c R) -> BoxFuture<'c, Result<(), ApiError>>,
    {
        let txn = self.store().begin_write(actor).await?;
        let current: R = resources::get(txn.conn(), name).await?;
        check_etag(name, etag, current.etag())?;
        guard(txn.conn(), &current).await?;
        resources::delete::<R, _>(txn.conn(), name, revision_of(current.etag())).await?;
        txn.commit(vec![change(method, "deleted", &current, json!({}))])
            .await?;
        Ok(())
    }
}
