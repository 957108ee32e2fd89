//! Graph queries, answered from the in-memory graph: bounded, paged, at a point in time.

use std::time::{Duration, Instant};

use weft_proto::weft::lineage::v1::{
    Direction, Edge, GetColumnLineageRequest, GetLineageGraphRequest, GetLineageGraphResponse,
    Node, NodeKind,
};
use weft_runtime::ApiError;
use weft_runtime::paging::PageRequest;

use super::Lineage;
use super::catalog_link::{CatalogView, column_tags};
use crate::graph::traverse::Walk;
use crate::graph::{Bounds, Graph, NodeIx, Traversal, micros};

pub const DEFAULT_MAX_NODES: i32 = 1000;
pub const MAX_NODES: i32 = 100_000;
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(1);
pub const MAX_TIME_BUDGET: Duration = Duration::from_secs(30);

impl Lineage {
    /// Runs a graph query off the async runtime: a traversal may use its whole time budget.
    pub async fn query_graph<T, F>(&self, query: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Lineage) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let lineage = self.clone();
        tokio::task::spawn_blocking(move || query(&lineage))
            .await
            .map_err(ApiError::internal)?
    }

    pub fn get_lineage_graph(
        &self,
        request: &GetLineageGraphRequest,
    ) -> Result<GetLineageGraphResponse, ApiError> {
        let walk = walk(request.direction())?;
        if request.depth < 0 {
            return Err(ApiError::invalid("depth", "must not be negative"));
        }
        let max_nodes = match request.max_nodes {
            0 => DEFAULT_MAX_NODES,
            n if !(1..=MAX_NODES).contains(&n) => {
                return Err(ApiError::invalid(
                    "max_nodes",
                    format!("must be between 1 and {MAX_NODES}"),
                ));
            }
            n => n,
        };
        let budget = match &request.time_budget {
            None => DEFAULT_TIME_BUDGET,
            Some(budget) => Duration::try_from(*budget)
                .ok()
                .filter(|d| !d.is_zero() && *d <= MAX_TIME_BUDGET)
                .ok_or_else(|| {
                    ApiError::invalid("time_budget", "must be positive and at most 30 s")
                })?,
        };
        let as_of = request.as_of.map(micros);
        let fingerprint = format!(
            "{}|{}|{}|{:?}|{}",
            request.node, request.direction, request.depth, as_of, max_nodes
        );
        let page = page(request.page_size, &request.page_token, &fingerprint)?;

        let view = self.catalog();
        let graph = self.graph();
        let start = start_node(&graph, &request.node, "node")?;
        let columns = graph.node(start).kind == NodeKind::Column;
        let bounds = Bounds {
            depth: request.depth as u32,
            max_nodes: max_nodes as usize,
            deadline: Instant::now() + budget,
            as_of,
            columns,
            indirect: true,
        };
        let traversal = graph.traverse(start, walk, &bounds);
        Ok(respond(&graph, &view, traversal, page, as_of))
    }

    pub fn get_column_lineage(
        &self,
        request: &GetColumnLineageRequest,
    ) -> Result<GetLineageGraphResponse, ApiError> {
        let walk = walk(request.direction())?;
        if request.depth < 0 {
            return Err(ApiError::invalid("depth", "must not be negative"));
        }
        let view = self.catalog();
        let graph = self.graph();
        let start = start_node(&graph, &request.column, "column")?;
        if graph.node(start).kind != NodeKind::Column {
            return Err(ApiError::invalid(
                "column",
                "is not a column node (column:{namespace}:{name}#{field})",
            ));
        }
        let bounds = Bounds {
            depth: request.depth as u32,
            max_nodes: MAX_NODES as usize,
            deadline: Instant::now() + DEFAULT_TIME_BUDGET,
            as_of: None,
            columns: true,
            indirect: request.include_indirect,
        };
        let traversal = graph.traverse(start, walk, &bounds);
        Ok(respond(&graph, &view, traversal, Paging::All, None))
    }
}

fn walk(direction: Direction) -> Result<Walk, ApiError> {
    Ok(match direction {
        Direction::Upstream => Walk::Upstream,
        Direction::Downstream => Walk::Downstream,
        Direction::Unspecified | Direction::Both => Walk::Both,
    })
}

fn start_node(graph: &Graph, id: &str, field: &str) -> Result<NodeIx, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid(
            field,
            "is required: a node id such as dataset:{namespace}:{name}",
        ));
    }
    graph.index_of(id).ok_or_else(|| ApiError::not_found(id))
}

/// One page of the nodes (in traversal order), or all of them.
enum Paging {
    All,
    Page(PageRequest),
}

fn page(page_size: i32, token: &str, fingerprint: &str) -> Result<Paging, ApiError> {
    if page_size == 0 && token.is_empty() {
        return Ok(Paging::All);
    }
    Ok(Paging::Page(PageRequest::parse(
        page_size,
        token,
        fingerprint,
    )?))
}

/// Builds the response: the page's nodes, and each edge on the page of its later end (so every
/// edge is returned once over all pages).
fn respond(
    graph: &Graph,
    view: &CatalogView,
    traversal: Traversal,
    paging: Paging,
    as_of: Option<i64>,
) -> GetLineageGraphResponse {
    let total = traversal.nodes.len();
    let (offset, end, next_page_token) = match &paging {
        Paging::All => (0, total, String::new()),
        Paging::Page(page) => {
            let offset = page
                .after
                .as_deref()
                .and_then(|after| after.parse::<usize>().ok())
                .unwrap_or(0)
                .min(total);
            let mut rows: Vec<String> = (offset..total.min(offset + page.size as usize + 1))
                .map(|i| (i + 1).to_string())
                .collect();
            let token = page.finish(&mut rows, String::as_str);
            (offset, offset + rows.len(), token)
        }
    };
    let mut position = std::collections::HashMap::with_capacity(total);
    for (i, (node, _)) in traversal.nodes.iter().enumerate() {
        position.insert(*node, i);
    }
    let nodes = traversal.nodes[offset..end]
        .iter()
        .map(|(ix, _)| node_message(graph, view, *ix, as_of))
        .collect();
    let edges = traversal
        .edges
        .iter()
        .filter_map(|&ix| {
            let edge = graph.edge(ix);
            let later = position.get(&edge.source)?.max(position.get(&edge.target)?);
            (offset..end).contains(later).then(|| Edge {
                source: graph.node(edge.source).id.to_string(),
                target: graph.node(edge.target).id.to_string(),
                kind: edge.kind as i32,
                subtype: edge.subtype.to_string(),
                masking: edge.masking,
                job: graph.node(edge.job).id.to_string(),
            })
        })
        .collect();
    GetLineageGraphResponse {
        nodes,
        edges,
        truncated: traversal.truncated,
        next_page_token,
    }
}

/// A node as the API shows it, with its catalog link: the asset at a dataset's location and
/// its product, and the tags of the asset (for a dataset) or of the column (own and inherited).
fn node_message(graph: &Graph, view: &CatalogView, ix: NodeIx, as_of: Option<i64>) -> Node {
    let node = graph.node(ix);
    let run_state_known = as_of.is_none_or(|time| node.run_state_time <= time);
    let (asset, data_product, tags) = match view.asset_at(&node.namespace, &node.name) {
        Some(asset) if node.kind != NodeKind::Job => {
            let tags = if node.kind == NodeKind::Column {
                asset
                    .column(&node.field)
                    .map(column_tags)
                    .unwrap_or_default()
            } else {
                asset.tags.clone()
            };
            (asset.name.clone(), asset.data_product.clone(), tags)
        }
        _ => Default::default(),
    };
    Node {
        asset,
        data_product,
        tags,
        id: node.id.to_string(),
        kind: node.kind as i32,
        namespace: node.namespace.to_string(),
        name: node.name.to_string(),
        field: node.field.to_string(),
        latest_run_state: if run_state_known {
            node.run_state as i32
        } else {
            0
        },
    }
}
