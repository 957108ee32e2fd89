//! What a caller may see of the catalog through lineage: a dataset's link to its catalog asset
//! (the asset, its product, their owners) is shown only when the caller may DESCRIBE the asset,
//! as governance decides (`Decisions`: one BatchCheck per answer), as every catalog
//! listing does; the lineage itself (datasets, jobs, edges) is every reader's. Administrators
//! see every link; an unreachable governance refuses the query (fail closed).

use std::collections::{BTreeSet, HashMap};

use std::sync::Arc;

use weft_access_checks::Decisions;
use weft_proto::weft::lineage::v1::{AnalyzeImpactResponse, Dataset, GetLineageGraphResponse};
use weft_runtime::{ApiError, Caller};

#[derive(Clone)]
pub struct CatalogVisibility {
    decisions: Arc<dyn Decisions>,
}

impl CatalogVisibility {
    pub fn new(decisions: Arc<dyn Decisions>) -> Self {
        Self { decisions }
    }

    /// Of `assets`, those `caller` may DESCRIBE.
    async fn describable<'a>(
        &self,
        caller: &Caller,
        assets: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, bool>, ApiError> {
        let names: BTreeSet<&str> = assets.filter(|name| !name.is_empty()).collect();
        if names.is_empty() {
            return Ok(HashMap::new());
        }
        let names: Vec<&str> = names.into_iter().collect();
        let allowed = self
            .decisions
            .describable(caller, &names, "catalog links")
            .await?;
        Ok(names.into_iter().map(str::to_string).zip(allowed).collect())
    }

    /// NOT_FOUND, exactly as for an absent one, when `node` names a catalog asset (analyses
    /// start from an asset name too) that `caller` may not DESCRIBE.
    pub async fn require_describable_start(
        &self,
        caller: &Caller,
        node: &str,
    ) -> Result<(), ApiError> {
        if caller.is_admin || !node.starts_with("domains/") {
            return Ok(());
        }
        let visible = self.describable(caller, std::iter::once(node)).await?;
        if visible.get(node) == Some(&true) {
            return Ok(());
        }
        Err(ApiError::not_found(node))
    }

    pub async fn hide_in_graph(
        &self,
        caller: &Caller,
        graph: &mut GetLineageGraphResponse,
    ) -> Result<(), ApiError> {
        if caller.is_admin {
            return Ok(());
        }
        let visible = self
            .describable(caller, graph.nodes.iter().map(|node| node.asset.as_str()))
            .await?;
        for node in &mut graph.nodes {
            if !node.asset.is_empty() && visible.get(&node.asset) != Some(&true) {
                node.asset.clear();
                node.data_product.clear();
            }
        }
        Ok(())
    }

    pub async fn hide_in_datasets(
        &self,
        caller: &Caller,
        datasets: &mut [Dataset],
    ) -> Result<(), ApiError> {
        if caller.is_admin {
            return Ok(());
        }
        let visible = self
            .describable(
                caller,
                datasets.iter().map(|dataset| dataset.asset.as_str()),
            )
            .await?;
        for dataset in datasets {
            if !dataset.asset.is_empty() && visible.get(&dataset.asset) != Some(&true) {
                dataset.asset.clear();
            }
        }
        Ok(())
    }

    /// Hides the links of impacted datasets, and the products and owners only they named.
    pub async fn hide_in_impact(
        &self,
        caller: &Caller,
        report: &mut AnalyzeImpactResponse,
    ) -> Result<(), ApiError> {
        if caller.is_admin {
            return Ok(());
        }
        let visible = self
            .describable(caller, report.datasets.iter().map(|d| d.asset.as_str()))
            .await?;
        let mut products = BTreeSet::new();
        let mut owners = BTreeSet::new();
        for dataset in &mut report.datasets {
            if dataset.asset.is_empty() {
                continue;
            }
            if visible.get(&dataset.asset) == Some(&true) {
                products.insert(dataset.data_product.clone());
                owners.extend(dataset.owners.iter().cloned());
            } else {
                dataset.asset.clear();
                dataset.data_product.clear();
                dataset.owners.clear();
                dataset.subscribers.clear();
            }
        }
        report
            .data_products
            .retain(|product| products.contains(product));
        report.owners.retain(|owner| owners.contains(owner));
        Ok(())
    }
}
