//! The audit of access decisions: every decision on a data permission (SELECT, INSERT, UPDATE,
//! DELETE), or the configured share of them (`decision_audit_sample_rate`), is appended to
//! governance's hash-chained journal as a `Check` record (outcome SUCCEEDED when allowed, DENIED
//! when not, with the reason). A decision answers from memory in microseconds, so the records are
//! handed to a writer task through a bounded queue and written in batches, one transaction each;
//! when the writer falls behind and the queue is full, records are dropped and counted in the log
//! rather than slowing decisions down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::sync::mpsc;
use weft_proto::weft::common::v1::Permission;
use weft_storage::{JournalEntry, Store};

use crate::access::decision::is_data_permission;

/// Records waiting for the writer at most.
const QUEUE: usize = 65_536;
/// Records written per transaction at most.
const BATCH: usize = 1_000;

pub struct DecisionLog {
    sender: mpsc::Sender<JournalEntry>,
    sample_rate: f64,
    dropped: AtomicU64,
}

impl DecisionLog {
    /// Starts the writer task on `store`; it ends when the log is dropped.
    pub fn start(store: Store, sample_rate: f64) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store, receiver));
        Arc::new(Self {
            sender,
            sample_rate,
            dropped: AtomicU64::new(0),
        })
    }

    /// Records one decision of `principal` (asked by `asker`) if it is on a data permission and
    /// sampled.
    pub fn record(
        &self,
        asker: &str,
        principal: &str,
        permission: Permission,
        resource: &str,
        allowed: bool,
        reason: &str,
    ) {
        if !is_data_permission(permission)
            || self.sample_rate <= 0.0
            || (self.sample_rate < 1.0 && rand::random::<f64>() >= self.sample_rate)
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
        if self.sender.try_send(entry).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "decision audit queue full: records dropped");
            }
        }
    }
}

async fn write_batches(store: Store, mut receiver: mpsc::Receiver<JournalEntry>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
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
}
