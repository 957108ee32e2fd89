//! Impact analysis: what lies downstream of a dataset or column, and whom it concerns (the
//! catalog assets and data products among the affected datasets, and their owners). The
//! gateway's impact report adds the products' subscribers from governance.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use weft_proto::weft::common::v1::Tag;
use weft_proto::weft::lineage::v1::{
    AnalyzeImpactRequest, AnalyzeImpactResponse, ImpactedDataset, NodeKind,
};
use weft_runtime::ApiError;

use super::queries::{DEFAULT_TIME_BUDGET, MAX_NODES};
use super::{Lineage, ids};
use crate::graph::traverse::Walk;
use crate::graph::{Bounds, Graph, NodeIx};

impl Lineage {
    pub fn analyze_impact(
        &self,
        request: &AnalyzeImpactRequest,
    ) -> Result<AnalyzeImpactResponse, ApiError> {
        if request.depth < 0 {
            return Err(ApiError::invalid("depth", "must not be negative"));
        }
        let depth = request.depth as u32;
        let view = self.catalog();
        let graph = self.graph();
        let start = start_of(&graph, &view, &request.node)?;
        let start_node = graph.node(start);
        let columns = start_node.kind == NodeKind::Column;
        let bounds = Bounds {
            // A dataset hop is two edges (dataset → job → dataset).
            depth: if columns {
                depth
            } else {
                depth.saturating_mul(2)
            },
            max_nodes: MAX_NODES as usize,
            deadline: Instant::now() + DEFAULT_TIME_BUDGET,
            as_of: None,
            columns,
            indirect: true,
        };
        let traversal = graph.traverse(start, Walk::Downstream, &bounds);

        // Affected datasets by id: their distance and, for a column analysis, their columns.
        let mut affected: BTreeMap<String, (NodeIx, u32, BTreeSet<String>)> = BTreeMap::new();
        for &(ix, distance) in traversal.nodes.iter().skip(1) {
            let node = graph.node(ix);
            let (id, hops) = match node.kind {
                NodeKind::Dataset => (node.id.to_string(), distance / 2),
                NodeKind::Column => (ids::dataset(&node.namespace, &node.name), distance),
                _ => continue,
            };
            let entry = affected.entry(id).or_insert((ix, hops, BTreeSet::new()));
            entry.1 = entry.1.min(hops);
            if node.kind == NodeKind::Column {
                entry.2.insert(node.field.to_string());
            }
        }

        let start_asset = view
            .asset_at(&start_node.namespace, &start_node.name)
            .map(|asset| asset.name.clone());
        let mut products = BTreeSet::new();
        let mut owners = BTreeSet::new();
        let mut propagated: BTreeSet<(String, String)> = BTreeSet::new();
        let mut datasets = Vec::with_capacity(affected.len());
        for (id, (ix, distance, affected_columns)) in affected {
            let node = graph.node(ix);
            let mut dataset = ImpactedDataset {
                dataset: id,
                distance: distance as i32,
                columns: affected_columns.iter().cloned().collect(),
                ..ImpactedDataset::default()
            };
            if let Some(asset) = view.asset_at(&node.namespace, &node.name) {
                let asset_owners = view.owners(asset);
                dataset.asset = asset.name.clone();
                dataset.data_product = asset.data_product.clone();
                dataset.owners = asset_owners.iter().cloned().collect();
                products.insert(asset.data_product.clone());
                owners.extend(asset_owners);
                if let Some(start_asset) = &start_asset {
                    let source_prefix = if columns {
                        format!("{start_asset}#{}", start_node.field)
                    } else {
                        format!("{start_asset}#")
                    };
                    for (_, column) in asset.column_paths() {
                        for inherited in column.inherited_tags {
                            let from_start = if columns {
                                inherited.source == source_prefix
                            } else {
                                inherited.source.starts_with(&source_prefix)
                            };
                            if let (true, Some(tag)) = (from_start, &inherited.tag) {
                                propagated.insert((tag.key.clone(), tag.value.clone()));
                            }
                        }
                    }
                }
            }
            datasets.push(dataset);
        }
        datasets.sort_by(|a, b| (a.distance, &a.dataset).cmp(&(b.distance, &b.dataset)));
        Ok(AnalyzeImpactResponse {
            datasets,
            data_products: products.into_iter().collect(),
            owners: owners.into_iter().collect(),
            subscribers: Vec::new(),
            truncated: traversal.truncated,
            propagated_tags: propagated
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect(),
        })
    }
}

/// The node an analysis starts from: a dataset or column node id, or a catalog asset name
/// (the dataset at its location).
fn start_of(
    graph: &Graph,
    view: &super::catalog_link::CatalogView,
    node: &str,
) -> Result<NodeIx, ApiError> {
    if node.is_empty() {
        return Err(ApiError::invalid(
            "node",
            "is required: a dataset or column node id, or a catalog asset name",
        ));
    }
    let id = match view.asset(node) {
        Some(asset) => ids::dataset(&asset.namespace, &asset.location_name),
        None => node.to_string(),
    };
    let ix = graph
        .index_of(&id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    match graph.node(ix).kind {
        NodeKind::Dataset | NodeKind::Column => Ok(ix),
        _ => Err(ApiError::invalid(
            "node",
            "must be a dataset or column node (a job's impact is that of its outputs)",
        )),
    }
}
