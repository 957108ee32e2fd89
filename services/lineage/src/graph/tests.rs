use std::time::{Duration, Instant};

use weft_proto::weft::lineage::v1::{EdgeKind, Node, NodeKind};

use super::traverse::Walk;
use super::*;

fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: id.to_string(),
        kind: kind as i32,
        ..Node::default()
    }
}

fn span<'a>(
    source: &'a str,
    target: &'a str,
    kind: EdgeKind,
    job: &'a str,
    from: i64,
    to: Option<i64>,
) -> EdgeSpanRow<'a> {
    EdgeSpanRow {
        source,
        target,
        kind,
        job,
        subtype: "",
        masking: false,
        from,
        to,
    }
}

/// a → j1 → b → j2 → c, and b → j3 → d (j3's edges closed at time 50).
pub(crate) fn chain() -> Graph {
    let mut graph = Graph::default();
    for id in ["a", "b", "c", "d"] {
        graph.add_node(&node(id, NodeKind::Dataset));
    }
    for id in ["j1", "j2", "j3"] {
        graph.add_node(&node(id, NodeKind::Job));
    }
    for (source, target, kind, job, to) in [
        ("a", "j1", EdgeKind::Input, "j1", None),
        ("j1", "b", EdgeKind::Output, "j1", None),
        ("b", "j2", EdgeKind::Input, "j2", None),
        ("j2", "c", EdgeKind::Output, "j2", None),
        ("b", "j3", EdgeKind::Input, "j3", Some(50)),
        ("j3", "d", EdgeKind::Output, "j3", Some(50)),
    ] {
        graph.add_span(&span(source, target, kind, job, 10, to));
    }
    graph
}

fn bounds() -> Bounds {
    Bounds {
        depth: 0,
        max_nodes: 1000,
        deadline: Instant::now() + Duration::from_secs(5),
        as_of: None,
        columns: false,
        indirect: false,
    }
}

fn ids(graph: &Graph, traversal: &Traversal) -> Vec<String> {
    traversal
        .nodes
        .iter()
        .map(|(ix, _)| graph.node(*ix).id.to_string())
        .collect()
}

#[test]
fn downstream_upstream_and_both() {
    let graph = chain();
    let b = graph.index_of("b").unwrap();
    let down = graph.traverse(b, Walk::Downstream, &bounds());
    assert_eq!(ids(&graph, &down), ["b", "j2", "c"]);
    assert_eq!(down.edges.len(), 2);
    let up = graph.traverse(b, Walk::Upstream, &bounds());
    assert_eq!(ids(&graph, &up), ["b", "j1", "a"]);
    let both = graph.traverse(b, Walk::Both, &bounds());
    assert_eq!(ids(&graph, &both), ["b", "j2", "c", "j1", "a"]);
    assert_eq!(both.edges.len(), 4);
    assert!(!both.truncated);
}

#[test]
fn as_of_shows_edges_that_were_current_then() {
    let graph = chain();
    let b = graph.index_of("b").unwrap();
    let mut then = bounds();
    then.as_of = Some(20);
    assert_eq!(
        ids(&graph, &graph.traverse(b, Walk::Downstream, &then)),
        ["b", "j2", "j3", "c", "d"]
    );
    then.as_of = Some(5);
    assert_eq!(
        ids(&graph, &graph.traverse(b, Walk::Downstream, &then)),
        ["b"]
    );
}

#[test]
fn depth_and_node_cap_bound_the_walk() {
    let graph = chain();
    let a = graph.index_of("a").unwrap();
    let mut one = bounds();
    one.depth = 2;
    let found = graph.traverse(a, Walk::Downstream, &one);
    assert_eq!(ids(&graph, &found), ["a", "j1", "b"]);
    assert!(!found.truncated, "a depth bound is not a truncation");
    let mut capped = bounds();
    capped.max_nodes = 2;
    let found = graph.traverse(a, Walk::Downstream, &capped);
    assert_eq!(ids(&graph, &found), ["a", "j1"]);
    assert!(found.truncated);
}

#[test]
fn a_spent_time_budget_truncates() {
    let mut graph = Graph::default();
    graph.add_node(&node("hub", NodeKind::Dataset));
    graph.add_node(&node("job", NodeKind::Job));
    for i in 0..3000 {
        let id = format!("d{i}");
        graph.add_node(&node(&id, NodeKind::Dataset));
        graph.add_span(&span("job", &id, EdgeKind::Output, "job", 1, None));
    }
    graph.add_span(&span("hub", "job", EdgeKind::Input, "job", 1, None));
    let mut spent = bounds();
    spent.deadline = Instant::now();
    let found = graph.traverse(graph.index_of("hub").unwrap(), Walk::Downstream, &spent);
    assert!(found.truncated);
    assert!(found.nodes.len() < 3002);
}

#[test]
fn applying_a_span_twice_or_closing_it_is_idempotent() {
    let mut graph = chain();
    let before = graph.edge_count();
    graph.add_span(&span("a", "j1", EdgeKind::Input, "j1", 10, None));
    assert_eq!(graph.edge_count(), before);
    graph.add_span(&span("a", "j1", EdgeKind::Input, "j1", 10, Some(70)));
    graph.add_span(&span("a", "j1", EdgeKind::Input, "j1", 10, Some(70)));
    graph.add_span(&span("a", "j1", EdgeKind::Input, "j1", 10, None));
    let edge = graph.edge(graph.outgoing(graph.index_of("a").unwrap())[0]);
    assert_eq!(edge.spans, vec![(10, 70)]);
    graph.add_span(&span("a", "j1", EdgeKind::Input, "j1", 90, None));
    let edge = graph.edge(graph.outgoing(graph.index_of("a").unwrap())[0]);
    assert_eq!(edge.spans, vec![(10, 70), (90, OPEN)]);
    assert!(edge.current_at(None) && edge.current_at(Some(95)) && !edge.current_at(Some(80)));
}
