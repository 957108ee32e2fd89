//! Bounded breadth-first traversal: by depth, node cap and time budget, at a point in time.
//! What was found before a bound stopped it is returned with `truncated` set, never an error.

use std::collections::HashSet;
use std::time::Instant;

use weft_proto::weft::lineage::v1::EdgeKind;

use super::{EdgeIx, Graph, NodeIx};

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    Upstream,
    Downstream,
    /// Upstream and downstream of the start (not the siblings reached by turning around).
    Both,
}

/// The bounds of one traversal.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Maximum hops from the start; 0 = unbounded.
    pub depth: u32,
    /// Maximum nodes returned, the start included.
    pub max_nodes: usize,
    /// Stop (truncated) when this time has passed.
    pub deadline: Instant,
    /// The graph as it was at this time (microseconds); `None`: now.
    pub as_of: Option<i64>,
    /// Follow column lineage (DIRECT, and INDIRECT when `indirect`) instead of job inputs and
    /// outputs.
    pub columns: bool,
    pub indirect: bool,
}

/// What a traversal found: nodes in breadth-first order (within one distance, by id) with
/// their distance, and the edges between them.
#[derive(Debug, Default)]
pub struct Traversal {
    pub nodes: Vec<(NodeIx, u32)>,
    pub edges: Vec<EdgeIx>,
    pub truncated: bool,
}

impl Graph {
    pub fn traverse(&self, start: NodeIx, walk: Walk, bounds: &Bounds) -> Traversal {
        let mut found = Traversal {
            nodes: vec![(start, 0)],
            ..Traversal::default()
        };
        let mut seen: HashSet<NodeIx> = HashSet::from([start]);
        let mut edges: HashSet<EdgeIx> = HashSet::new();
        if matches!(walk, Walk::Downstream | Walk::Both) {
            self.walk(start, true, bounds, &mut found, &mut seen, &mut edges);
        }
        if matches!(walk, Walk::Upstream | Walk::Both) {
            self.walk(start, false, bounds, &mut found, &mut seen, &mut edges);
        }
        found.edges = edges.into_iter().collect();
        found.edges.sort_unstable();
        found
    }

    fn follows(&self, edge: EdgeIx, bounds: &Bounds) -> bool {
        let edge = self.edge(edge);
        let kind_ok = if bounds.columns {
            edge.kind == EdgeKind::Direct || (bounds.indirect && edge.kind == EdgeKind::Indirect)
        } else {
            matches!(edge.kind, EdgeKind::Input | EdgeKind::Output)
        };
        kind_ok && edge.current_at(bounds.as_of)
    }

    fn walk(
        &self,
        start: NodeIx,
        downstream: bool,
        bounds: &Bounds,
        found: &mut Traversal,
        seen: &mut HashSet<NodeIx>,
        edges: &mut HashSet<EdgeIx>,
    ) {
        let mut frontier = vec![start];
        let mut distance = 0u32;
        let mut steps = 0usize;
        while !frontier.is_empty() && (bounds.depth == 0 || distance < bounds.depth) {
            distance += 1;
            let mut next: Vec<NodeIx> = Vec::new();
            for &node in &frontier {
                let adjacent = if downstream {
                    self.outgoing(node)
                } else {
                    self.incoming(node)
                };
                for &edge in adjacent {
                    steps += 1;
                    if steps.is_multiple_of(1024) && Instant::now() >= bounds.deadline {
                        found.truncated = true;
                        return;
                    }
                    if !self.follows(edge, bounds) {
                        continue;
                    }
                    let entry = self.edge(edge);
                    let other = if downstream {
                        entry.target
                    } else {
                        entry.source
                    };
                    if seen.contains(&other) {
                        edges.insert(edge);
                        continue;
                    }
                    if found.nodes.len() + next.len() >= bounds.max_nodes {
                        found.truncated = true;
                        continue;
                    }
                    seen.insert(other);
                    edges.insert(edge);
                    next.push(other);
                }
            }
            next.sort_unstable_by(|a, b| self.node(*a).id.cmp(&self.node(*b).id));
            found
                .nodes
                .extend(next.iter().map(|&node| (node, distance)));
            if found.truncated {
                return;
            }
            frontier = next;
        }
    }
}
