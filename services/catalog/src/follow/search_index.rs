//! The catalog's background follower: the search index tails the catalog's own outbox (so every
//! replica's writes reach every replica's index), committing in small groups.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use crate::search::{COMMIT_EVERY, SearchIndex};

/// How long the tailer waits for more events before committing what it applied…
const IDLE_COMMIT: Duration = Duration::from_millis(20);
/// …but it commits at most this often: each commit writes a segment and reloads the reader.
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(200);

impl SearchIndex {
    /// Applies new outbox events as they commit, forever (run as a task).
    pub async fn tail(self: Arc<Self>, after: i64) {
        let stream = weft_storage::outbox::watch(self.store().clone(), after, vec![]);
        tokio::pin!(stream);
        let mut applied: Option<i64> = None;
        let mut since_commit = 0usize;
        let mut last_commit = std::time::Instant::now();
        loop {
            let next = if applied.is_some() {
                let wait =
                    IDLE_COMMIT.max(MIN_COMMIT_INTERVAL.saturating_sub(last_commit.elapsed()));
                match tokio::time::timeout(wait, stream.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.commit_logged(applied.take()).await;
                        since_commit = 0;
                        last_commit = std::time::Instant::now();
                        continue;
                    }
                }
            } else {
                stream.next().await
            };
            match next {
                Some(Ok(event)) => {
                    if let Err(error) = self.apply(&event).await {
                        tracing::error!(%error, sequence = event.sequence, "search index: event not applied");
                    }
                    applied = Some(event.sequence);
                    since_commit += 1;
                    if since_commit >= COMMIT_EVERY {
                        self.commit_logged(applied.take()).await;
                        since_commit = 0;
                        last_commit = std::time::Instant::now();
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "search index: outbox read failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let resume = applied.unwrap_or(after);
                    return Box::pin(self.tail(resume)).await;
                }
                None => return,
            }
        }
    }

    async fn commit_logged(&self, sequence: Option<i64>) {
        if let Some(sequence) = sequence
            && let Err(error) = self.commit(sequence).await
        {
            tracing::error!(%error, "search index: commit failed");
        }
    }
}
