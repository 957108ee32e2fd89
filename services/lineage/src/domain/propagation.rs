//! Tag propagation: a classification tag on a catalog asset's column (a tag
//! whose key is declared `classification`, e.g. `pii=email`) is inherited by every column its
//! values flow into along current DIRECT column lineage, unless the transformation is marked
//! masking. Only columns of catalog assets can carry inherited tags; the walk goes on through
//! datasets the catalog does not know.
//!
//! The desired state is computed from scratch from the graph and the catalog view, and compared
//! with the inherited tags the catalog holds (as projected): only the differences are sent, so
//! the catalog's echo of an update changes nothing and the exchange settles. Turning a source
//! tag off (or removing a lineage edge, or marking it masking) makes the tag disappear from the
//! desired state, and the difference removes it.

use std::collections::{BTreeMap, HashMap, VecDeque};

use weft_proto::weft::catalog::v1::{ColumnInheritedTags, InheritedTag};
use weft_proto::weft::lineage::v1::EdgeKind;

use super::catalog_link::CatalogView;
use super::ids;
use crate::graph::{Graph, NodeIx};

/// (asset name, column path).
type ColumnKey = (String, String);

/// The inherited tags every asset column should carry.
pub fn desired(graph: &Graph, view: &CatalogView) -> BTreeMap<ColumnKey, Vec<InheritedTag>> {
    let mut desired: BTreeMap<ColumnKey, Vec<InheritedTag>> = BTreeMap::new();
    for asset in view.assets() {
        for (path, column) in asset.column_paths() {
            let tags: Vec<_> = column
                .tags
                .iter()
                .filter(|tag| view.is_classification(&tag.key))
                .collect();
            if tags.is_empty() {
                continue;
            }
            let id = ids::column(&asset.namespace, &asset.location_name, path);
            let Some(start) = graph.index_of(&id) else {
                continue;
            };
            let source = format!("{}#{path}", asset.name);
            for (reached, route) in downstream_columns(graph, start) {
                let node = graph.node(reached);
                let Some(target) = view.asset_at(&node.namespace, &node.name) else {
                    continue;
                };
                let Some(target_column) = target.column(&node.field) else {
                    continue;
                };
                for tag in &tags {
                    if target_column.tags.contains(tag) {
                        continue;
                    }
                    desired
                        .entry((target.name.clone(), node.field.to_string()))
                        .or_default()
                        .push(InheritedTag {
                            tag: Some((*tag).clone()),
                            source: source.clone(),
                            path: route.clone(),
                        });
                }
            }
        }
    }
    for tags in desired.values_mut() {
        sort(tags);
    }
    desired
}

/// Every column reached from `start` along current, non-masking DIRECT edges, each with the
/// shortest route to it (column node ids, `start` first).
fn downstream_columns(graph: &Graph, start: NodeIx) -> Vec<(NodeIx, Vec<String>)> {
    let mut parent: HashMap<NodeIx, NodeIx> = HashMap::from([(start, start)]);
    let mut queue = VecDeque::from([start]);
    let mut reached = Vec::new();
    while let Some(node) = queue.pop_front() {
        for &edge in graph.outgoing(node) {
            let edge = graph.edge(edge);
            if edge.kind != EdgeKind::Direct || edge.masking || !edge.current_at(None) {
                continue;
            }
            if parent.contains_key(&edge.target) {
                continue;
            }
            parent.insert(edge.target, node);
            queue.push_back(edge.target);
            reached.push(edge.target);
        }
    }
    reached
        .into_iter()
        .map(|node| {
            let mut route = vec![graph.node(node).id.to_string()];
            let mut at = node;
            while at != start {
                at = parent[&at];
                route.push(graph.node(at).id.to_string());
            }
            route.reverse();
            (node, route)
        })
        .collect()
}

fn sort(tags: &mut [InheritedTag]) {
    tags.sort_by(|a, b| {
        let key = |t: &InheritedTag| {
            let tag = t.tag.clone().unwrap_or_default();
            (tag.key, tag.value, t.source.clone())
        };
        key(a).cmp(&key(b))
    });
}

/// The columns whose inherited tags in the catalog differ from `desired` (new, changed, or
/// to be cleared), each with its full new set.
pub fn differences(
    view: &CatalogView,
    mut desired: BTreeMap<ColumnKey, Vec<InheritedTag>>,
) -> Vec<ColumnInheritedTags> {
    let mut updates = Vec::new();
    for asset in view.assets() {
        for (path, column) in asset.column_paths() {
            let wanted = desired
                .remove(&(asset.name.clone(), path.to_string()))
                .unwrap_or_default();
            let mut held = column.inherited_tags.to_vec();
            sort(&mut held);
            if held != wanted {
                updates.push(ColumnInheritedTags {
                    asset: asset.name.clone(),
                    column: path.to_string(),
                    tags: wanted,
                });
            }
        }
    }
    updates.sort_by(|a, b| (&a.asset, &a.column).cmp(&(&b.asset, &b.column)));
    updates
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use weft_proto::weft::catalog::v1::{Asset, Column, Location, Schema, TagKey};
    use weft_proto::weft::common::v1::Tag;

    use super::*;
    use crate::graph::EdgeSpanRow;

    const NS: &str = "pg://db";

    fn asset(view: &mut CatalogView, id: &str, table: &str, columns: &[(&str, Vec<Tag>)]) {
        let name = format!("domains/d/dataProducts/p/assets/{id}");
        let asset = Asset {
            name: name.clone(),
            location: Some(Location {
                namespace: NS.into(),
                name: table.into(),
            }),
            schema: Some(Schema {
                columns: columns
                    .iter()
                    .map(|(column, tags)| Column {
                        name: column.to_string(),
                        tags: tags.clone(),
                        ..Default::default()
                    })
                    .collect(),
            }),
            ..Default::default()
        };
        view.apply(
            &name,
            "type.googleapis.com/weft.catalog.v1.Asset",
            &asset.encode_to_vec(),
            false,
        );
    }

    fn direct(graph: &mut Graph, from: (&str, &str), to: (&str, &str), masking: bool) {
        let job = ids::job_node("etl", "job");
        graph.add_node(&job);
        let source = ids::column_node(NS, from.0, from.1);
        let target = ids::column_node(NS, to.0, to.1);
        graph.add_node(&source);
        graph.add_node(&target);
        graph.add_span(&EdgeSpanRow {
            source: &source.id,
            target: &target.id,
            kind: EdgeKind::Direct,
            job: &job.id,
            subtype: "IDENTITY",
            masking,
            from: 0,
            to: None,
        });
    }

    fn pii() -> Tag {
        Tag {
            key: "pii".into(),
            value: "email".into(),
        }
    }

    /// a.email (pii) → b.email → c.email → a.email (a cycle back), b.email → d.hash (masking),
    /// and a tag key that is not a classification on a.note → b.note.
    fn world() -> (Graph, CatalogView) {
        let mut view = CatalogView::default();
        view.apply(
            "tagKeys/pii",
            "type.googleapis.com/weft.catalog.v1.TagKey",
            &TagKey {
                classification: true,
                ..Default::default()
            }
            .encode_to_vec(),
            false,
        );
        let team = Tag {
            key: "team".into(),
            value: "x".into(),
        };
        asset(
            &mut view,
            "a",
            "a",
            &[("email", vec![pii()]), ("note", vec![team])],
        );
        asset(&mut view, "b", "b", &[("email", vec![]), ("note", vec![])]);
        asset(&mut view, "d", "d", &[("hash", vec![])]);
        let mut graph = Graph::default();
        direct(&mut graph, ("a", "email"), ("b", "email"), false);
        // c is not in the catalog: the walk goes through it.
        direct(&mut graph, ("b", "email"), ("c", "email"), false);
        direct(&mut graph, ("c", "email"), ("a", "email"), false);
        direct(&mut graph, ("b", "email"), ("d", "hash"), true);
        direct(&mut graph, ("a", "note"), ("b", "note"), false);
        (graph, view)
    }

    #[test]
    fn classification_tags_follow_direct_edges_and_stop_at_masking() {
        let (graph, view) = world();
        let desired = desired(&graph, &view);
        let b = (
            "domains/d/dataProducts/p/assets/b".to_string(),
            "email".to_string(),
        );
        assert_eq!(desired.keys().collect::<Vec<_>>(), [&b], "{desired:?}");
        assert_eq!(
            desired[&b],
            [InheritedTag {
                tag: Some(pii()),
                source: "domains/d/dataProducts/p/assets/a#email".into(),
                path: vec![ids::column(NS, "a", "email"), ids::column(NS, "b", "email")],
            }]
        );
        // Everything differs from an empty catalog only where a tag is due.
        let updates = differences(&view, desired);
        assert_eq!(updates.len(), 1);
        assert_eq!(
            (updates[0].asset.as_str(), updates[0].column.as_str()),
            (b.0.as_str(), "email")
        );
    }
}
