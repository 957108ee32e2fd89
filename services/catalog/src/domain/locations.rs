//! Which asset is at an OpenLineage location (namespace + name): locations are unique across
//! the catalog, so a dataset another tool names resolves to at most one asset, its product and
//! their owners.

use weft_proto::weft::catalog::v1::{Asset, DataProduct, Location, ResolvedLocation};
use weft_runtime::{ApiError, FieldErrors};

use super::Catalog;
use crate::store::assets;
use weft_storage::resources;

/// Most locations resolved by one call.
pub const MAX_LOCATIONS: usize = 1_000;

impl Catalog {
    /// One entry per location, in order: the asset there, its product and the owners of both
    /// (the asset's first); an entry without asset where no asset is.
    pub async fn resolve_locations(
        &self,
        locations: &[Location],
    ) -> Result<Vec<ResolvedLocation>, ApiError> {
        if locations.len() > MAX_LOCATIONS {
            return Err(ApiError::invalid(
                "locations",
                format!(
                    "holds {} locations; a call resolves at most {MAX_LOCATIONS}",
                    locations.len()
                ),
            ));
        }
        let mut errors = FieldErrors::new();
        for (index, location) in locations.iter().enumerate() {
            for (field, value) in [("namespace", &location.namespace), ("name", &location.name)] {
                if value.trim().is_empty() {
                    errors.add(format!("locations[{index}].{field}"), "is required");
                }
            }
        }
        errors.into_result()?;
        let db = self.store().db();
        let mut resolved = Vec::with_capacity(locations.len());
        for location in locations {
            let mut entry = ResolvedLocation {
                location: Some(location.clone()),
                ..Default::default()
            };
            if let Some(name) = assets::asset_at(db, location).await? {
                let asset: Asset = resources::get(db, &name).await?;
                let product_name = name
                    .split_once("/assets/")
                    .map(|(product, _)| product.to_string())
                    .unwrap_or_default();
                let product: DataProduct = resources::get(db, &product_name).await?;
                entry.owners = asset.owners;
                for owner in product.owners {
                    if !entry.owners.contains(&owner) {
                        entry.owners.push(owner);
                    }
                }
                entry.asset = name;
                entry.data_product = product_name;
            }
            resolved.push(entry);
        }
        Ok(resolved)
    }
}
