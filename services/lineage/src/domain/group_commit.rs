//! Group commit of small ingest calls. The OpenLineage HTTP transport posts one event per
//! request, and one event costs far less to write than the commit that makes it durable (an
//! fsync on SQLite, a WAL flush on PostgreSQL): written one by one, concurrent pipelines were
//! bound to a few hundred events a second. Calls of a few events are queued instead; one writer
//! at a time takes every queued call of the same actor and writes them in one transaction, with
//! one journal record and outbox event for the group; each call gets its own answer.
//!
//! The writes run in a task of their own, not in the caller's future: a caller that goes away
//! (its RPC cancelled) must not cancel the others' writes.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::oneshot;
use weft_runtime::ApiError;

use super::Lineage;
use crate::openlineage::ParsedEvent;

/// Calls of at most this many events are grouped; larger ones are written on their own.
pub const GROUPED_CALL_EVENTS: usize = 100;
/// Events written in one grouped transaction at most.
const GROUP_EVENTS: usize = 2_000;

/// One ingest call waiting to be written.
pub struct Call {
    pub actor: String,
    /// The journal action: "IngestEvent" or "IngestEvents".
    pub action: &'static str,
    pub events: Vec<ParsedEvent>,
    /// Receives how many of its events were new.
    pub done: oneshot::Sender<Result<usize, ApiError>>,
}

/// The queue of calls and the one writer working it off.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<VecDeque<Call>>,
    writer: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    fn push(&self, call: Call) {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push_back(call);
    }

    /// The oldest queued call and every later one of the same actor, up to `GROUP_EVENTS`
    /// events (concurrent calls have no order between them; one actor's keep theirs).
    fn take_group(&self) -> Vec<Call> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(first) = queue.pop_front() else {
            return Vec::new();
        };
        let mut events = first.events.len();
        let mut group = vec![first];
        let mut index = 0;
        while index < queue.len() {
            let call = &queue[index];
            if call.actor == group[0].actor && events + call.events.len() <= GROUP_EVENTS {
                events += call.events.len();
                group.extend(queue.remove(index));
            } else {
                index += 1;
            }
        }
        group
    }
}

impl Lineage {
    /// Queues a small call and waits for the group it was written with.
    pub(super) async fn write_grouped(
        &self,
        actor: &str,
        action: &'static str,
        events: Vec<ParsedEvent>,
    ) -> Result<usize, ApiError> {
        let (done, written) = oneshot::channel();
        self.group_commit.push(Call {
            actor: actor.to_string(),
            action,
            events,
            done,
        });
        let lineage = self.clone();
        tokio::spawn(async move { lineage.work_off_queue().await });
        written
            .await
            .map_err(|_| ApiError::internal("the grouped write ended without an answer"))?
    }

    /// Writes queued groups until the queue is empty; one writer at a time.
    async fn work_off_queue(&self) {
        let _writing = self.group_commit.writer.lock().await;
        loop {
            let group = self.group_commit.take_group();
            let Some(first) = group.first() else {
                return;
            };
            let actor = first.actor.clone();
            let mut calls = Vec::with_capacity(group.len());
            let mut answers = Vec::with_capacity(group.len());
            for call in group {
                calls.push((call.action, call.events));
                answers.push(call.done);
            }
            match self.write_calls(&actor, calls).await {
                Ok(created) => {
                    for (answer, created) in answers.into_iter().zip(created) {
                        // A caller that went away no longer wants its answer.
                        let _ = answer.send(Ok(created));
                    }
                }
                Err(error) => {
                    for answer in answers {
                        let _ = answer.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}
