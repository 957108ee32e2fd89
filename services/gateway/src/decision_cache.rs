//! The gateway's cache of governance's access decisions, emptied by governance's event stream.
//!
//! Every governance event (a grant, group, project or policy change, or the catalog projection
//! advancing) empties the cache. A decision is kept only if governance made it from an index
//! that already reflects every event the cache has seen (`index_sequence`), so a decision made
//! just before a revocation reached governance's index is used once but never kept. While the
//! stream is down nothing is kept at all, and entries expire after `TTL` in any case.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use weft_proto::weft::common::v1::Permission;

/// Longest time a decision is kept even without an event (a safety net, not the mechanism).
const TTL: Duration = Duration::from_secs(30);
/// Most decisions kept; the cache is emptied when full.
const CAPACITY: usize = 100_000;

/// A question: who (with the groups its token states) may do what on which resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    pub principal: String,
    pub groups: Vec<String>,
    pub permission: Permission,
    pub resource: String,
}

/// Governance's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
    /// The catalog event sequence governance's projection reflected (a question about a
    /// catalog change newer than that is asked again, not answered from the cache).
    pub catalog_sequence: i64,
}

#[derive(Default)]
struct State {
    entries: HashMap<Question, (Decision, Instant)>,
    /// Highest governance event sequence seen.
    seen: i64,
    /// Whether governance's event stream is followed.
    live: bool,
}

#[derive(Default)]
pub struct DecisionCache {
    state: RwLock<State>,
}

impl DecisionCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, question: &Question) -> Option<Decision> {
        let state = self.state.read().expect("decision cache lock");
        if !state.live {
            return None;
        }
        state
            .entries
            .get(question)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(decision, _)| decision.clone())
    }

    /// Keeps a decision governance made from its index at `index_sequence`, if that index
    /// reflects every event seen.
    pub fn put(&self, question: Question, decision: Decision, index_sequence: i64) {
        let mut state = self.state.write().expect("decision cache lock");
        if !state.live || index_sequence < state.seen {
            return;
        }
        if state.entries.len() >= CAPACITY {
            state.entries.clear();
        }
        state.entries.insert(question, (decision, Instant::now()));
    }

    /// The stream is followed from `sequence` on.
    pub fn connected(&self, sequence: i64) {
        let mut state = self.state.write().expect("decision cache lock");
        state.entries.clear();
        state.seen = state.seen.max(sequence);
        state.live = true;
    }

    /// The stream is lost: nothing is kept until it is followed again.
    pub fn disconnected(&self) {
        let mut state = self.state.write().expect("decision cache lock");
        state.entries.clear();
        state.live = false;
    }

    /// A governance event at `sequence` may change any decision.
    /// Governance answered from an index at `sequence`: if the event stream has not shown that
    /// far yet, what is cached may predate a change the caller just made; drop it.
    pub fn reflects(&self, sequence: i64) {
        if sequence <= self.state.read().expect("decision cache lock").seen {
            return;
        }
        self.invalidate(sequence);
    }

    pub fn invalidate(&self, sequence: i64) {
        let mut state = self.state.write().expect("decision cache lock");
        state.entries.clear();
        state.seen = state.seen.max(sequence);
    }

    pub fn len(&self) -> usize {
        self.state
            .read()
            .expect("decision cache lock")
            .entries
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(resource: &str) -> Question {
        Question {
            principal: "users/bob".into(),
            groups: vec![],
            permission: Permission::Describe,
            resource: resource.into(),
        }
    }

    fn allowed() -> Decision {
        Decision {
            catalog_sequence: 0,
            allowed: true,
            reason: "grant grants/1".into(),
        }
    }

    #[test]
    fn keeps_nothing_until_the_stream_is_followed_nor_after_it_is_lost() {
        let cache = DecisionCache::new();
        cache.put(question("domains/a"), allowed(), 5);
        assert_eq!(cache.get(&question("domains/a")), None);
        cache.connected(5);
        cache.put(question("domains/a"), allowed(), 5);
        assert_eq!(cache.get(&question("domains/a")), Some(allowed()));
        cache.disconnected();
        assert_eq!(cache.get(&question("domains/a")), None);
        cache.put(question("domains/a"), allowed(), 9);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_governance_answer_ahead_of_the_stream_empties_it_and_one_behind_does_not() {
        let cache = DecisionCache::new();
        cache.connected(5);
        cache.put(question("domains/a"), allowed(), 5);
        cache.reflects(5);
        assert_eq!(cache.get(&question("domains/a")), Some(allowed()));
        // A change made through the gateway (sequence 8) before the stream showed it.
        cache.reflects(8);
        assert_eq!(cache.get(&question("domains/a")), None);
        cache.put(question("domains/a"), allowed(), 7);
        assert_eq!(
            cache.get(&question("domains/a")),
            None,
            "older than the change"
        );
        cache.put(question("domains/a"), allowed(), 8);
        cache.invalidate(8);
        cache.put(question("domains/a"), allowed(), 8);
        cache.reflects(6);
        assert_eq!(cache.get(&question("domains/a")), Some(allowed()));
    }

    #[test]
    fn an_event_empties_it_and_older_decisions_are_not_kept_after_it() {
        let cache = DecisionCache::new();
        cache.connected(5);
        cache.put(question("domains/a"), allowed(), 5);
        cache.invalidate(7);
        assert_eq!(cache.get(&question("domains/a")), None);
        // Made from an index that had not applied event 7 yet: used once, not kept.
        cache.put(question("domains/a"), allowed(), 6);
        assert_eq!(cache.get(&question("domains/a")), None);
        cache.put(question("domains/a"), allowed(), 7);
        assert_eq!(cache.get(&question("domains/a")), Some(allowed()));
        // Questions differ by every part.
        let mut other = question("domains/a");
        other.groups = vec!["groups/x".into()];
        assert_eq!(cache.get(&other), None);
    }
}
