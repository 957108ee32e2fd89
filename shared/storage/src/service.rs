//! What every backend service does with its database at start, and its WatchEvents RPC.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use sea_orm_migration::MigratorTrait;
use weft_proto::weft::common::v1::{Event, WatchEventsRequest};
use weft_runtime::{ApiError, ServiceConfig, ServiceKind};

use crate::db::{Store, connect, redact_url};

/// Opens the service's database and brings its schema up to date.
pub async fn open_store<M: MigratorTrait>(
    config: &ServiceConfig,
    kind: ServiceKind,
) -> anyhow::Result<Store> {
    let url = config.database_url(kind);
    let db = connect(&url).await?;
    M::up(&db, None)
        .await
        .map_err(|error| anyhow::anyhow!("migrating {} failed: {error}", redact_url(&url)))?;
    tracing::info!(service = %kind, database = %redact_url(&url), "database ready");
    let store = Store::new(db, kind.as_str());
    store.note_committed(crate::outbox::last_sequence(&store).await?);
    Ok(store)
}

/// The stream type of every service's WatchEvents RPC.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event, tonic::Status>> + Send>>;

/// Serves WatchEvents from the service's outbox.
pub fn watch_events(
    store: &Store,
    request: WatchEventsRequest,
) -> Result<EventStream, tonic::Status> {
    if request.after_sequence < 0 {
        return Err(ApiError::invalid("after_sequence", "must not be negative").into());
    }
    let stream = crate::outbox::watch(store.clone(), request.after_sequence, request.types)
        .map(|item| item.map_err(tonic::Status::from));
    Ok(Box::pin(stream))
}
