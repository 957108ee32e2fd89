//! Tag propagation (DESIGN §2 flow 4): a classification tag on a catalog asset's column (a tag
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
            let id = ids::column(&asset.namespace, &asset.location_name, &path);
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
                .remove(&(asset.name.clone(), path.clone()))
                .unwrap_or_default();
            let mut held = column.inherited_tags.clone();
            sort(&mut held);
            if held != wanted {
                updates.push(ColumnInheritedTags {
                    asset: asset.name.clone(),
                    column: path,
                    tags: wanted,
                });
            }
        }
    }
    updates.sort_by(|a, b| (&a.asset, &a.column).cmp(&(&b.asset, &b.column)));
    updates
}
