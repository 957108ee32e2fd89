//! The lineage graph in memory: interned nodes, edges with the time spans in which they were
//! current, and adjacency lists both ways, so a traversal touches only the nodes it returns and
//! never queries the database. Built from the database at start (`storage::graph_rows`), then
//! kept current by applying `LineageChange`s: the service's own writes right after commit and
//! every replica's writes from the outbox (applying a change twice changes nothing).

pub mod traverse;

use std::collections::HashMap;
use std::sync::Arc;

use weft_proto::weft::lineage::v1::{EdgeKind, LineageChange, Node, NodeKind, RunState};

pub use self::traverse::{Bounds, Traversal};

/// Index of a node in the graph.
pub type NodeIx = u32;
/// Index of an edge in the graph.
pub type EdgeIx = u32;

/// A span end meaning "still current".
pub const OPEN: i64 = i64::MAX;

#[derive(Debug, Clone)]
pub struct NodeEntry {
    pub id: Arc<str>,
    pub kind: NodeKind,
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub field: Arc<str>,
    /// For a job: the state of its latest run and the event time that set it.
    pub run_state: RunState,
    pub run_state_time: i64,
}

#[derive(Debug, Clone)]
pub struct EdgeEntry {
    pub source: NodeIx,
    pub target: NodeIx,
    pub kind: EdgeKind,
    /// The job that carries the edge (for INPUT / OUTPUT, the job end itself).
    pub job: NodeIx,
    pub subtype: Arc<str>,
    pub masking: bool,
    /// Time spans `[from, to)` in which the edge was current, in microseconds; `to == OPEN`
    /// while it is.
    pub spans: Vec<(i64, i64)>,
}

impl EdgeEntry {
    /// Whether the edge was current at `time` (`None`: now).
    pub fn current_at(&self, time: Option<i64>) -> bool {
        match time {
            None => self.spans.iter().any(|&(_, to)| to == OPEN),
            Some(time) => self
                .spans
                .iter()
                .any(|&(from, to)| from <= time && time < to),
        }
    }

    pub fn is_column_edge(&self) -> bool {
        matches!(self.kind, EdgeKind::Direct | EdgeKind::Indirect)
    }
}

/// An edge as stored: one span of it.
#[derive(Debug, Clone)]
pub struct EdgeSpanRow<'a> {
    pub source: &'a str,
    pub target: &'a str,
    pub kind: EdgeKind,
    pub job: &'a str,
    pub subtype: &'a str,
    pub masking: bool,
    pub from: i64,
    pub to: Option<i64>,
}

#[derive(Default)]
pub struct Graph {
    ids: HashMap<Arc<str>, NodeIx>,
    nodes: Vec<NodeEntry>,
    edges: Vec<EdgeEntry>,
    edge_ids: HashMap<(NodeIx, NodeIx, EdgeKind, NodeIx), EdgeIx>,
    outgoing: Vec<Vec<EdgeIx>>,
    incoming: Vec<Vec<EdgeIx>>,
    subtypes: HashMap<Arc<str>, ()>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    pub fn index_of(&self, id: &str) -> Option<NodeIx> {
        self.ids.get(id).copied()
    }

    pub fn node(&self, ix: NodeIx) -> &NodeEntry {
        &self.nodes[ix as usize]
    }

    pub fn edge(&self, ix: EdgeIx) -> &EdgeEntry {
        &self.edges[ix as usize]
    }

    pub fn outgoing(&self, ix: NodeIx) -> &[EdgeIx] {
        &self.outgoing[ix as usize]
    }

    pub fn incoming(&self, ix: NodeIx) -> &[EdgeIx] {
        &self.incoming[ix as usize]
    }

    /// Adds a node (no-op when known); returns its index.
    pub fn add_node(&mut self, node: &Node) -> NodeIx {
        if let Some(ix) = self.ids.get(node.id.as_str()) {
            return *ix;
        }
        let ix = self.nodes.len() as NodeIx;
        let id: Arc<str> = Arc::from(node.id.as_str());
        self.nodes.push(NodeEntry {
            id: id.clone(),
            kind: node.kind(),
            namespace: Arc::from(node.namespace.as_str()),
            name: Arc::from(node.name.as_str()),
            field: Arc::from(node.field.as_str()),
            run_state: RunState::Unspecified,
            run_state_time: i64::MIN,
        });
        self.outgoing.push(Vec::new());
        self.incoming.push(Vec::new());
        self.ids.insert(id, ix);
        ix
    }

    /// Adds one span of an edge; spans already known are ignored, and a span that closes the
    /// edge's open span (same start) closes it. Unknown end nodes are ignored (a change always
    /// carries its new nodes first).
    pub fn add_span(&mut self, row: &EdgeSpanRow<'_>) {
        let (Some(source), Some(target), Some(job)) = (
            self.index_of(row.source),
            self.index_of(row.target),
            self.index_of(row.job),
        ) else {
            return;
        };
        let to = row.to.unwrap_or(OPEN);
        let key = (source, target, row.kind, job);
        let ix = match self.edge_ids.get(&key) {
            Some(ix) => *ix,
            None => {
                let ix = self.edges.len() as EdgeIx;
                let subtype = self.intern_subtype(row.subtype);
                self.edges.push(EdgeEntry {
                    source,
                    target,
                    kind: row.kind,
                    job,
                    subtype,
                    masking: row.masking,
                    spans: Vec::with_capacity(1),
                });
                self.outgoing[source as usize].push(ix);
                self.incoming[target as usize].push(ix);
                self.edge_ids.insert(key, ix);
                ix
            }
        };
        let edge = &mut self.edges[ix as usize];
        match edge.spans.iter_mut().find(|(from, _)| *from == row.from) {
            Some(span) => {
                // A close (or the same span again): the earliest end wins.
                span.1 = span.1.min(to);
            }
            None => {
                edge.spans.push((row.from, to));
                edge.spans.sort_unstable();
            }
        }
        edge.masking = row.masking;
    }

    fn intern_subtype(&mut self, subtype: &str) -> Arc<str> {
        if let Some((known, _)) = self.subtypes.get_key_value(subtype) {
            return known.clone();
        }
        let interned: Arc<str> = Arc::from(subtype);
        self.subtypes.insert(interned.clone(), ());
        interned
    }

    /// Records the state of a job's latest run (the later event wins).
    pub fn set_run_state(&mut self, job: &str, state: RunState, time: i64) {
        if let Some(ix) = self.index_of(job) {
            let node = &mut self.nodes[ix as usize];
            if time >= node.run_state_time {
                node.run_state = state;
                node.run_state_time = time;
            }
        }
    }

    /// Applies what one ingested event changed. Idempotent.
    pub fn apply(&mut self, change: &LineageChange) {
        for node in &change.new_nodes {
            self.add_node(node);
        }
        if !change.job.is_empty() && change.run_state() != RunState::Unspecified {
            let time = change.event_time.map_or(0, micros);
            self.set_run_state(&change.job, change.run_state(), time);
        }
        for span in change.opened.iter().chain(&change.closed) {
            let Some(edge) = &span.edge else { continue };
            self.add_span(&EdgeSpanRow {
                source: &edge.source,
                target: &edge.target,
                kind: edge.kind(),
                job: &edge.job,
                subtype: &edge.subtype,
                masking: edge.masking,
                from: span.valid_from.map_or(0, micros),
                to: span.valid_to.map(micros),
            });
        }
    }
}

/// A protobuf timestamp in microseconds since the epoch.
pub fn micros(time: prost_types::Timestamp) -> i64 {
    time.seconds * 1_000_000 + i64::from(time.nanos) / 1_000
}

/// Microseconds since the epoch as a protobuf timestamp.
pub fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

#[cfg(test)]
pub(crate) mod tests;
