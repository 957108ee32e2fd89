//! The write transaction of every mutation: the change, its outbox events and its journal
//! records commit together or not at all.
//!
//! Ordering guarantee of the outbox: events are appended only in `WriteTxn::commit`, as the last
//! statements before COMMIT, after taking the service's append lock (a PostgreSQL transaction-
//! scoped advisory lock; on SQLite the process-wide writer mutex already serializes writers).
//! Sequence numbers are therefore allocated in commit order, so a reader that has seen sequence N
//! can never later see a commit with a smaller one: a cursor never jumps over a gap that a slower
//! transaction fills afterwards. Gaps left by rolled-back transactions stay gaps forever.
//! The same lock makes the journal's hash chain linear.

use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryOrder, QueryTrait,
    Set, Statement, TransactionTrait,
};
use tokio::sync::OwnedMutexGuard;
use weft_runtime::ApiError;

use crate::db::Store;
use crate::entities::{journal, outbox};

/// Outbox events or journal records appended per statement.
const APPEND_CHUNK: usize = 500;
/// Key of the PostgreSQL advisory lock that serializes outbox and journal appends.
const APPEND_LOCK_KEY: i64 = 0x5745_4654_0001; // "WEFT" 0001

/// One change to record: an outbox event and an audit record.
#[derive(Debug, Clone)]
pub struct Change {
    /// RPC or action name for the journal, e.g. "CreateDomain".
    pub action: String,
    /// Event type, e.g. "domain.created".
    pub event_type: String,
    /// Resource name.
    pub resource: String,
    /// The resource after the change (before, for a deletion).
    pub payload: prost_types::Any,
    /// What the journal keeps of the request.
    pub detail: serde_json::Value,
}

/// One journal record that is not a change (e.g. an access decision), with its own actor.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub actor: String,
    pub action: String,
    pub resource: String,
    /// "SUCCEEDED", "DENIED" or "FAILED".
    pub outcome: String,
    pub detail: serde_json::Value,
}

/// On PostgreSQL, takes the transaction-scoped advisory lock `key` (held until the transaction
/// ends); elsewhere does nothing (SQLite's single writer already serializes writers).
pub async fn advisory_xact_lock<C: ConnectionTrait>(conn: &C, key: i64) -> Result<(), ApiError> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [key.into()],
    ))
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Maps a database error to an internal API error (logged, never shown to the caller).
pub fn db_error(error: DbErr) -> ApiError {
    ApiError::internal(format!("database: {error}"))
}

/// A write transaction: use `conn()` for the change itself, then `commit` with its records.
pub struct WriteTxn {
    txn: DatabaseTransaction,
    store: Store,
    actor: String,
    /// Whether this transaction holds the append lock already.
    append_locked: AtomicBool,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Store {
    /// Begins a write transaction on behalf of `actor` (the principal's subject).
    pub async fn begin_write(&self, actor: &str) -> Result<WriteTxn, ApiError> {
        let writer = match self.backend() {
            DbBackend::Sqlite => Some(self.sqlite_writer().clone().lock_owned().await),
            _ => None,
        };
        let txn = self.db().begin().await.map_err(db_error)?;
        Ok(WriteTxn {
            txn,
            store: self.clone(),
            actor: actor.to_string(),
            append_locked: AtomicBool::new(false),
            _writer: writer,
        })
    }
}

/// Now, at the microsecond precision both databases keep (so journal hashes recompute exactly).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

impl WriteTxn {
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Takes the append lock once per transaction (PostgreSQL; SQLite's writer mutex already
    /// serializes writers).
    async fn take_append_lock(&self) -> Result<(), ApiError> {
        if self.append_locked.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        advisory_xact_lock(&self.txn, APPEND_LOCK_KEY).await
    }

    /// Takes the append lock and appends hash-chained journal records.
    async fn append_journal(&self, entries: Vec<JournalEntry>) -> Result<(), ApiError> {
        self.take_append_lock().await?;
        let last = journal::Entity::find()
            .order_by_desc(journal::Column::Seq)
            .one(&self.txn)
            .await
            .map_err(db_error)?;
        let (mut next_seq, mut previous_hash) = match last {
            Some(record) => (record.seq + 1, record.hash),
            None => (1, String::new()),
        };
        let time = now();
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            let record = crate::journal::Record {
                seq: next_seq,
                time,
                actor: entry.actor,
                action: entry.action,
                resource: entry.resource,
                outcome: entry.outcome,
                detail_json: entry.detail.to_string(),
            };
            let hash = record.hash(&previous_hash);
            rows.push(journal::ActiveModel {
                seq: Set(record.seq),
                time: Set(record.time),
                actor: Set(record.actor),
                action: Set(record.action),
                resource: Set(record.resource),
                outcome: Set(record.outcome),
                detail_json: Set(record.detail_json),
                previous_hash: Set(previous_hash.clone()),
                hash: Set(hash.clone()),
            });
            previous_hash = hash;
            next_seq += 1;
        }
        // Many rows per statement: a batch of a thousand records is a few statements.
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(APPEND_CHUNK).collect();
            journal::Entity::insert_many(chunk)
                .exec_without_returning(&self.txn)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }

    /// Appends the changes' journal records and outbox events, then commits everything.
    /// Returns the events' sequence numbers.
    pub async fn commit(self, changes: Vec<Change>) -> Result<Vec<i64>, ApiError> {
        if !changes.is_empty() {
            let entries = changes
                .iter()
                .map(|change| JournalEntry {
                    actor: self.actor.clone(),
                    action: change.action.clone(),
                    resource: change.resource.clone(),
                    outcome: "SUCCEEDED".to_string(),
                    detail: change.detail.clone(),
                })
                .collect();
            self.append_journal(entries).await?;
        }
        self.commit_events(changes).await
    }

    /// Appends outbox events without journal records, then commits: for notifications about
    /// derived state that are nobody's change (e.g. "the catalog projection advanced"). The
    /// changes' `action` and `detail` are not used. Returns the events' sequence numbers.
    pub async fn commit_events(self, changes: Vec<Change>) -> Result<Vec<i64>, ApiError> {
        let mut sequences = Vec::with_capacity(changes.len());
        if !changes.is_empty() {
            self.take_append_lock().await?;
            let time = now();
            let rows: Vec<outbox::ActiveModel> = changes
                .into_iter()
                .map(|change| outbox::ActiveModel {
                    event_id: Set(uuid::Uuid::now_v7().to_string()),
                    event_type: Set(change.event_type),
                    resource: Set(change.resource),
                    actor: Set(self.actor.clone()),
                    occur_time: Set(time),
                    payload_type: Set(change.payload.type_url),
                    payload: Set(change.payload.value),
                    ..Default::default()
                })
                .collect();
            let backend = self.txn.get_database_backend();
            for chunk in rows.chunks(APPEND_CHUNK) {
                // One statement per chunk, returning the sequences the rows were given.
                let mut insert = outbox::Entity::insert_many(chunk.to_vec()).into_query();
                insert.returning_col(outbox::Column::Seq);
                let returned = self
                    .txn
                    .query_all(backend.build(&insert))
                    .await
                    .map_err(db_error)?;
                for row in returned {
                    sequences.push(row.try_get_by_index::<i64>(0).map_err(db_error)?);
                }
            }
            sequences.sort_unstable();
        }
        let store = self.store.clone();
        self.txn.commit().await.map_err(db_error)?;
        if let Some(last) = sequences.last() {
            store.note_committed(*last);
            store.committed().notify_waiters();
        }
        Ok(sequences)
    }

    /// Appends journal records that describe no change (access decisions) and commits.
    pub async fn commit_journal(self, entries: Vec<JournalEntry>) -> Result<(), ApiError> {
        if !entries.is_empty() {
            self.append_journal(entries).await?;
        }
        self.txn.commit().await.map_err(db_error)
    }
}
