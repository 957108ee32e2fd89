//! The audit of access decisions: every decision on a data permission (SELECT, INSERT, UPDATE,
//! DELETE), or the configured share of them (`[governance] decision_audit_sample_rate`), is appended to
//! governance's hash-chained journal as a `Check` record (outcome SUCCEEDED when allowed, DENIED
//! when not, with the reason). A decision answers from memory in microseconds, so the records are
//! handed to a writer task through a bounded queue and written in batches, one transaction each.
//! When the writer falls behind and the queue is full (`[governance] decision_audit_when_full`):
//! - `wait` (default): the record is set aside and the deciding call, before it answers, waits
//!   until its records are queued (`settle`): the audit loses nothing and slows decisions down
//!   instead, as Vault's audit fails closed;
//! - `drop`: the record is dropped and counted (`dropped`, logged at powers of two).
//!
//! Refusals are journaled too: a decision the gateway's authorization asked for and governance
//! denied is recorded whatever its permission (a caller refused an RPC), while the DESCRIBE
//! questions of listings (what a caller may see) are not, as they are filtering, not refusals.
//!
//! The writer gathers records for up to `LINGER` before it writes: without it, a lightly loaded
//! service wrote one transaction per decision, and that transaction (the journal's append lock,
//! its last hash, the commit) cost governance more CPU than the decision and its RPC together.
//! A record is therefore queryable up to `LINGER` after its decision; `close` writes what is
//! queued when the service stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use weft_proto::weft::common::v1::Permission;
use weft_runtime::config::AuditOverflow;
use weft_storage::{JournalEntry, Store};

use crate::access::decision::is_data_permission;

/// Records waiting for the writer at most.
const QUEUE: usize = 65_536;
/// Records written per transaction at most.
const BATCH: usize = 1_000;
/// Longest a record waits for others to share its transaction.
const LINGER: Duration = Duration::from_millis(50);
/// Longest `close` waits for the last records to be written.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Who asks governance when the gateway authorizes a call (see `record`).
pub const GATEWAY_ASKER: &str = "services/gateway";

pub struct DecisionLog {
    sender: mpsc::Sender<JournalEntry>,
    sample_rate: f64,
    when_full: AuditOverflow,
    /// Records that found the queue full in `wait` mode, until a `settle` queues them.
    set_aside: std::sync::Mutex<Vec<JournalEntry>>,
    dropped: AtomicU64,
    stopping: watch::Sender<bool>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl DecisionLog {
    /// Starts the writer task on `store`; it ends when the log is closed or dropped.
    pub fn start(store: Store, sample_rate: f64, when_full: AuditOverflow) -> Arc<Self> {
        Self::with_queue(store, sample_rate, when_full, QUEUE)
    }

    /// `start` with a queue of `queue` records (tests fill a small one).
    pub fn with_queue(
        store: Store,
        sample_rate: f64,
        when_full: AuditOverflow,
        queue: usize,
    ) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(queue);
        let (stopping, stop) = watch::channel(false);
        let writer = tokio::spawn(write_batches(store, receiver, stop));
        Arc::new(Self {
            sender,
            sample_rate,
            when_full,
            set_aside: std::sync::Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            stopping,
            writer: std::sync::Mutex::new(Some(writer)),
        })
    }

    /// Writes the records queued so far and stops the writer (later records are dropped).
    pub async fn close(&self) {
        self.stopping.send_replace(true);
        let writer = self.writer.lock().expect("decision log writer lock").take();
        if let Some(writer) = writer
            && tokio::time::timeout(CLOSE_TIMEOUT, writer).await.is_err()
        {
            tracing::warn!("decision audit records still unwritten at shutdown");
        }
    }

    /// Records dropped so far (`drop` mode, or after `close`).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until the records set aside (the queue was full, `wait` mode) are queued. Every
    /// call that decides calls it before it answers, outside any lock.
    pub async fn settle(&self) {
        loop {
            let waiting = std::mem::take(&mut *self.set_aside.lock().expect("set-aside lock"));
            if waiting.is_empty() {
                return;
            }
            for entry in waiting {
                if self.sender.send(entry).await.is_err() {
                    // Closed: the service stops.
                    self.count_dropped();
                }
            }
        }
    }

    fn count_dropped(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            tracing::warn!(dropped, "decision audit records dropped");
        }
    }

    /// Records one decision of `principal` (asked by `asker`) if it is on a data permission (and
    /// sampled), or is the gateway's authorization refusing a call.
    pub fn record(
        &self,
        asker: &str,
        principal: &str,
        permission: Permission,
        resource: &str,
        allowed: bool,
        reason: &str,
    ) {
        let refusal = !allowed && asker == GATEWAY_ASKER;
        if !refusal
            && (!is_data_permission(permission)
                || self.sample_rate <= 0.0
                || (self.sample_rate < 1.0 && rand::random::<f64>() >= self.sample_rate))
        {
            return;
        }
        let entry = JournalEntry {
            actor: asker.to_string(),
            action: "Check".to_string(),
            resource: resource.to_string(),
            outcome: if allowed { "SUCCEEDED" } else { "DENIED" }.to_string(),
            detail: json!({
                "principal": principal,
                "permission": permission.as_str_name(),
                "reason": reason,
            }),
        };
        match self.sender.try_send(entry) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(entry))
                if self.when_full == AuditOverflow::Wait =>
            {
                self.set_aside.lock().expect("set-aside lock").push(entry);
            }
            Err(_) => self.count_dropped(),
        }
    }
}

async fn write_batches(
    store: Store,
    mut receiver: mpsc::Receiver<JournalEntry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let stopping = tokio::select! {
            received = receiver.recv_many(&mut batch, BATCH) => received == 0,
            _ = stop.wait_for(|stopping| *stopping) => true,
        };
        if stopping {
            // What is queued is written; nothing more is taken.
            receiver.close();
            while receiver.recv_many(&mut batch, BATCH).await > 0 {
                if batch.len() >= BATCH {
                    write(&store, std::mem::take(&mut batch)).await;
                }
            }
            write(&store, batch).await;
            return;
        }
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH && !*stop.borrow() {
            let more = BATCH - batch.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, more)).await {
                Ok(received) if received > 0 => {}
                _ => break,
            }
        }
        write(&store, std::mem::take(&mut batch)).await;
    }
}

/// One transaction of records.
async fn write(store: &Store, batch: Vec<JournalEntry>) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let written = async {
        let txn = store.begin_write("services/governance").await?;
        txn.commit_journal(batch).await
    }
    .await;
    if let Err(error) = written {
        tracing::error!(%error, count, "decision audit records not written");
    }
}
