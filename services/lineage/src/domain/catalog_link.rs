//! The catalog as lineage sees it, for linking datasets and propagating tags: data products and assets with their
//! owners, locations and column tags, and which tag keys are classifications. Projected from the
//! catalog's `WatchEvents` stream (`weft_storage::projection`, stored in lineage's own database
//! with its cursor) and rebuilt from that store at start, so that linking a dataset to its asset
//! never calls the catalog.

use std::collections::{BTreeSet, HashMap, HashSet};

use prost::Message;
use weft_proto::columns;
use weft_proto::packed_strs::PackedStrs;
use weft_proto::weft::catalog::v1::{Asset, Column, DataProduct, InheritedTag, TagKey};
use weft_proto::weft::common::v1::Tag;

/// Payload types lineage keeps from the catalog's stream.
const KEPT: [&str; 3] = [
    "weft.catalog.v1.DataProduct",
    "weft.catalog.v1.Asset",
    "weft.catalog.v1.TagKey",
];

pub fn keeps(type_url: &str) -> bool {
    KEPT.contains(&type_url.rsplit('/').next().unwrap_or_default())
}

/// A catalog asset with what lineage needs of it.
#[derive(Debug, Clone)]
pub struct LinkedAsset {
    pub name: String,
    pub data_product: String,
    pub namespace: String,
    pub location_name: String,
    pub owners: Vec<String>,
    pub tags: Vec<Tag>,
    /// Every column path ("address.city" for nested fields), in schema order: packed, as it is
    /// kept for every asset of the catalog.
    column_paths: PackedStrs,
    /// The tags of the columns that have some, by position in `column_paths` (most have none).
    tagged_columns: Box<[TaggedColumn]>,
}

#[derive(Debug, Clone)]
struct TaggedColumn {
    position: u32,
    tags: Box<[Tag]>,
    inherited_tags: Box<[InheritedTag]>,
}

/// A column of a linked asset: its path and tags, own and inherited (propagation and the graph's
/// nodes read them). The catalog's whole `Column` message is not kept.
#[derive(Debug, Clone, Copy)]
pub struct LinkedColumn<'a> {
    /// Dotted path ("address.city").
    pub path: &'a str,
    pub tags: &'a [Tag],
    pub inherited_tags: &'a [InheritedTag],
}

impl LinkedAsset {
    /// The column at a dotted path ("address.city").
    pub fn column(&self, path: &str) -> Option<LinkedColumn<'_>> {
        let position = self.column_paths.position(path)?;
        let path = self.column_paths.get(position)?;
        Some(self.column_at(position, path))
    }

    /// Every column with its dotted path, nested fields included.
    pub fn column_paths(&self) -> impl Iterator<Item = (&str, LinkedColumn<'_>)> {
        self.column_paths
            .iter()
            .enumerate()
            .map(|(position, path)| (path, self.column_at(position, path)))
    }

    fn column_at<'a>(&'a self, position: usize, path: &'a str) -> LinkedColumn<'a> {
        let tagged = self
            .tagged_columns
            .binary_search_by_key(&position, |tagged| tagged.position as usize)
            .ok()
            .map(|found| &self.tagged_columns[found]);
        LinkedColumn {
            path,
            tags: tagged.map(|tagged| &*tagged.tags).unwrap_or_default(),
            inherited_tags: tagged
                .map(|tagged| &*tagged.inherited_tags)
                .unwrap_or_default(),
        }
    }
}

/// The packed paths of `columns` and the tags of the tagged ones.
fn linked_columns(columns: Option<Vec<Column>>) -> (PackedStrs, Box<[TaggedColumn]>) {
    let columns = columns.unwrap_or_default();
    let flattened = columns::flatten(&columns);
    let tagged = flattened
        .iter()
        .enumerate()
        .filter(|(_, (_, column))| !column.tags.is_empty() || !column.inherited_tags.is_empty())
        // Positions past u32 would need 4 billion columns (the catalog bounds a message).
        .filter_map(|(position, (_, column))| {
            Some(TaggedColumn {
                position: u32::try_from(position).ok()?,
                tags: column.tags.clone().into_boxed_slice(),
                inherited_tags: column.inherited_tags.clone().into_boxed_slice(),
            })
        })
        .collect();
    let paths = flattened.iter().map(|(path, _)| path.as_str()).collect();
    (paths, tagged)
}

#[derive(Debug, Default)]
pub struct CatalogView {
    assets: HashMap<String, LinkedAsset>,
    /// (namespace, name) → asset name.
    by_location: HashMap<(String, String), String>,
    /// Product name → its owners.
    product_owners: HashMap<String, Vec<String>>,
    classification_keys: HashSet<String>,
}

impl CatalogView {
    /// Applies one projected payload (or its removal).
    pub fn apply(&mut self, name: &str, type_url: &str, bytes: &[u8], deleted: bool) {
        let message = type_url.rsplit('/').next().unwrap_or_default();
        let result = match message {
            "weft.catalog.v1.TagKey" => TagKey::decode(bytes).map(|tag_key| {
                let key = name.strip_prefix("tagKeys/").unwrap_or(name).to_string();
                if !deleted && tag_key.classification {
                    self.classification_keys.insert(key);
                } else {
                    self.classification_keys.remove(&key);
                }
            }),
            "weft.catalog.v1.DataProduct" => DataProduct::decode(bytes).map(|product| {
                if deleted {
                    self.product_owners.remove(name);
                } else {
                    self.product_owners.insert(name.to_string(), product.owners);
                }
            }),
            "weft.catalog.v1.Asset" => Asset::decode(bytes).map(|asset| {
                self.remove_asset(name);
                if !deleted {
                    self.put_asset(asset);
                }
            }),
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::error!(resource = name, %error, "lineage: undecodable catalog payload");
        }
    }

    fn remove_asset(&mut self, name: &str) {
        if let Some(old) = self.assets.remove(name) {
            let key = (old.namespace, old.location_name);
            if self
                .by_location
                .get(&key)
                .is_some_and(|asset| asset == name)
            {
                self.by_location.remove(&key);
            }
        }
    }

    fn put_asset(&mut self, asset: Asset) {
        let location = asset.location.unwrap_or_default();
        let data_product = asset
            .name
            .split_once("/assets/")
            .map(|(product, _)| product.to_string())
            .unwrap_or_default();
        self.by_location.insert(
            (location.namespace.clone(), location.name.clone()),
            asset.name.clone(),
        );
        let (column_paths, tagged_columns) =
            linked_columns(asset.schema.map(|schema| schema.columns));
        self.assets.insert(
            asset.name.clone(),
            LinkedAsset {
                name: asset.name,
                data_product,
                namespace: location.namespace,
                location_name: location.name,
                owners: asset.owners,
                tags: asset.tags,
                column_paths,
                tagged_columns,
            },
        );
    }

    pub fn asset(&self, name: &str) -> Option<&LinkedAsset> {
        self.assets.get(name)
    }

    /// The asset at an OpenLineage location.
    pub fn asset_at(&self, namespace: &str, name: &str) -> Option<&LinkedAsset> {
        self.by_location
            .get(&(namespace.to_string(), name.to_string()))
            .and_then(|asset| self.assets.get(asset))
    }

    pub fn assets(&self) -> impl Iterator<Item = &LinkedAsset> {
        self.assets.values()
    }

    /// Owners of an asset and of its product, sorted, each once.
    pub fn owners(&self, asset: &LinkedAsset) -> BTreeSet<String> {
        let mut owners: BTreeSet<String> = asset.owners.iter().cloned().collect();
        if let Some(product) = self.product_owners.get(&asset.data_product) {
            owners.extend(product.iter().cloned());
        }
        owners
    }

    pub fn is_classification(&self, key: &str) -> bool {
        self.classification_keys.contains(key)
    }
}

/// A column's tags as a lineage node shows them: its own, then the inherited ones.
pub fn column_tags(column: LinkedColumn<'_>) -> Vec<Tag> {
    let mut tags = column.tags.to_vec();
    tags.extend(
        column
            .inherited_tags
            .iter()
            .filter_map(|inherited: &InheritedTag| inherited.tag.clone())
            .filter(|tag| !column.tags.contains(tag)),
    );
    tags
}

#[cfg(test)]
mod tests {
    use weft_proto::weft::catalog::v1::{Location, Schema};

    use super::*;

    fn asset(name: &str, location: &str, columns: Vec<Column>) -> Vec<u8> {
        Asset {
            name: name.into(),
            location: Some(Location {
                namespace: "postgres://db:5432".into(),
                name: location.into(),
            }),
            owners: vec!["users/asset-owner".into()],
            schema: Some(Schema { columns }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    const ASSET: &str = "type.googleapis.com/weft.catalog.v1.Asset";

    #[test]
    fn assets_are_found_by_location_and_move_with_it() {
        let mut view = CatalogView::default();
        let name = "domains/d/dataProducts/p/assets/a";
        view.apply(name, ASSET, &asset(name, "s.orders", vec![]), false);
        view.apply(
            "domains/d/dataProducts/p",
            "type.googleapis.com/weft.catalog.v1.DataProduct",
            &DataProduct {
                owners: vec!["users/product-owner".into()],
                ..Default::default()
            }
            .encode_to_vec(),
            false,
        );
        let found = view.asset_at("postgres://db:5432", "s.orders").unwrap();
        assert_eq!(found.data_product, "domains/d/dataProducts/p");
        assert_eq!(
            view.owners(found).into_iter().collect::<Vec<_>>(),
            ["users/asset-owner", "users/product-owner"]
        );
        // Relocated: the old location no longer resolves.
        view.apply(name, ASSET, &asset(name, "s.orders_v2", vec![]), false);
        assert!(view.asset_at("postgres://db:5432", "s.orders").is_none());
        assert!(view.asset_at("postgres://db:5432", "s.orders_v2").is_some());
        view.apply(name, ASSET, &asset(name, "s.orders_v2", vec![]), true);
        assert!(view.asset_at("postgres://db:5432", "s.orders_v2").is_none());
    }

    #[test]
    fn nested_columns_are_addressed_by_dotted_paths() {
        let mut view = CatalogView::default();
        let name = "domains/d/dataProducts/p/assets/a";
        let city = Column {
            name: "city".into(),
            tags: vec![Tag {
                key: "pii".into(),
                value: "address".into(),
            }],
            ..Default::default()
        };
        let address = Column {
            name: "address".into(),
            fields: vec![city],
            ..Default::default()
        };
        view.apply(name, ASSET, &asset(name, "s.t", vec![address]), false);
        let linked = view.asset(name).unwrap();
        let kept = linked.column("address.city").unwrap();
        assert_eq!(kept.path, "address.city");
        assert_eq!(kept.tags.len(), 1);
        assert!(linked.column("address.zip").is_none());
        let paths: Vec<&str> = linked.column_paths().map(|(p, _)| p).collect();
        assert_eq!(paths, ["address", "address.city"]);
        // Only the tagged column has tags; each column finds its own.
        let tags: Vec<(&str, usize)> = linked
            .column_paths()
            .map(|(path, column)| (path, column.tags.len()))
            .collect();
        assert_eq!(tags, [("address", 0), ("address.city", 1)]);
    }

    #[test]
    fn own_and_inherited_tags_stay_with_their_column() {
        let mut view = CatalogView::default();
        let name = "domains/d/dataProducts/p/assets/a";
        let tag = |key: &str, value: &str| Tag {
            key: key.into(),
            value: value.into(),
        };
        let columns = vec![
            Column {
                name: "id".into(),
                ..Default::default()
            },
            Column {
                name: "email".into(),
                tags: vec![tag("pii", "email")],
                ..Default::default()
            },
            Column {
                name: "note".into(),
                ..Default::default()
            },
            Column {
                name: "phone".into(),
                inherited_tags: vec![InheritedTag {
                    tag: Some(tag("pii", "phone")),
                    source: "domains/d/dataProducts/p/assets/b#phone".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ];
        view.apply(name, ASSET, &asset(name, "s.t", columns), false);
        let linked = view.asset(name).unwrap();
        let shown: Vec<(&str, Vec<Tag>)> = linked
            .column_paths()
            .map(|(path, column)| (path, column_tags(column)))
            .collect();
        assert_eq!(
            shown,
            [
                ("id", vec![]),
                ("email", vec![tag("pii", "email")]),
                ("note", vec![]),
                ("phone", vec![tag("pii", "phone")]),
            ]
        );
        let phone = linked.column("phone").unwrap();
        assert!(phone.tags.is_empty());
        assert_eq!(phone.inherited_tags.len(), 1);
    }
}
