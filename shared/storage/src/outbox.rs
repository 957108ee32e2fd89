//! `WatchEvents(after)`: the outbox served as an ordered stream that catches up from a cursor
//! and then follows new commits. Writers of this process wake the stream at once; commits of
//! other replicas are picked up within `POLL_INTERVAL`.

use std::time::Duration;

use futures::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use weft_proto::weft::common::v1::Event;
use weft_runtime::ApiError;

use crate::db::Store;
use crate::entities::outbox;
use crate::write::db_error;

/// How often a watcher looks for commits made by other processes on the same database.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
const BATCH: u64 = 500;

/// Events with a sequence above `after` (of the given types, or all), in order, forever.
pub fn watch(
    store: Store,
    after: i64,
    types: Vec<String>,
) -> impl Stream<Item = Result<Event, ApiError>> {
    async_stream::try_stream! {
        let mut cursor = after;
        loop {
            // Registered before reading so that a commit between the read and the wait wakes us.
            let committed = store.committed().clone();
            let notified = committed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let mut query = outbox::Entity::find()
                .filter(outbox::Column::Seq.gt(cursor))
                .order_by_asc(outbox::Column::Seq)
                .limit(BATCH);
            if !types.is_empty() {
                query = query.filter(outbox::Column::EventType.is_in(types.clone()));
            }
            let rows = query.all(store.db()).await.map_err(db_error)?;
            if rows.is_empty() {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep(POLL_INTERVAL) => {}
                    // The service shuts down: the stream ends, its client reconnects.
                    () = store.streams_ended() => break,
                }
                continue;
            }
            for row in rows {
                cursor = row.seq;
                yield to_event(row);
            }
        }
    }
}

/// Reads the events after `after`, at most `limit` (for tests and catch-up without a stream).
pub async fn read_after(store: &Store, after: i64, limit: u64) -> Result<Vec<Event>, ApiError> {
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Seq.gt(after))
        .order_by_asc(outbox::Column::Seq)
        .limit(limit)
        .all(store.db())
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().map(to_event).collect())
}

fn to_event(row: outbox::Model) -> Event {
    Event {
        sequence: row.seq,
        event_id: row.event_id,
        r#type: row.event_type,
        resource: row.resource,
        occur_time: Some(prost_types::Timestamp {
            seconds: row.occur_time.timestamp(),
            nanos: row.occur_time.timestamp_subsec_nanos() as i32,
        }),
        actor: row.actor,
        payload: Some(prost_types::Any {
            type_url: row.payload_type,
            value: row.payload,
        }),
    }
}

/// The highest sequence in the outbox (0 when empty).
pub async fn last_sequence(store: &Store) -> Result<i64, ApiError> {
    let last = outbox::Entity::find()
        .order_by_desc(outbox::Column::Seq)
        .one(store.db())
        .await
        .map_err(db_error)?;
    Ok(last.map_or(0, |row| row.seq))
}
