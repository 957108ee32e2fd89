//! The catalog as governance sees it: domains, data products and assets with their parents,
//! owners, tags (their own, and for assets each column's) and lifecycle, projected from the
//! catalog's event stream (see `projection`). Decisions read only this.

use std::sync::Arc;

use prost::Message;
use weft_proto::columns;
use weft_proto::packed_strs::PackedStrs;
use weft_proto::weft::catalog::v1::{Asset, Column, DataProduct, Domain};
use weft_proto::weft::common::v1::Tag;

/// Kind of a projected catalog resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Domain,
    DataProduct,
    Asset,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Domain => "domain",
            NodeKind::DataProduct => "data_product",
            NodeKind::Asset => "asset",
        }
    }
}

/// One projected catalog resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Shared with the index's map and ordered set of names, and with the children's `parent`
    /// (see `AccessIndex::put_node`): one allocation per name.
    pub name: Arc<str>,
    pub kind: NodeKind,
    pub parent: Option<Arc<str>>,
    pub owners: Vec<String>,
    /// Own tags as "key=value" (or "key" for a flag).
    pub tags: Vec<String>,
    /// A product's lifecycle state ("PUBLISHED"…); empty for other kinds.
    pub lifecycle: String,
    /// An asset's columns (nested fields included) with what decisions, row-filter checks and
    /// SUBSCRIBE rules read of them; empty for other kinds.
    pub column_index: ColumnIndex,
    /// A product's subscription policy: approve requests without an approver.
    pub auto_approve: bool,
    /// A product's approvers besides its owners.
    pub approvers: Vec<String>,
}

/// "key=value", or "key" for a tag without value.
pub fn tag_text(tag: &Tag) -> String {
    if tag.value.is_empty() {
        tag.key.clone()
    } else {
        format!("{}={}", tag.key, tag.value)
    }
}

fn tag_texts(tags: &[Tag]) -> Vec<String> {
    tags.iter().map(tag_text).collect()
}

impl Node {
    /// The node an event payload describes, from its protobuf type URL; `None` for kinds
    /// governance does not project.
    pub fn from_payload(type_url: &str, bytes: &[u8]) -> Result<Option<Node>, prost::DecodeError> {
        let message = type_url.rsplit('/').next().unwrap_or_default();
        Ok(Some(match message {
            "weft.catalog.v1.Domain" => {
                let domain = Domain::decode(bytes)?;
                Node {
                    parent: Some(domain.parent_domain)
                        .filter(|p| !p.is_empty())
                        .map(Arc::from),
                    owners: domain.owners,
                    tags: tag_texts(&domain.tags),
                    name: domain.name.into(),
                    kind: NodeKind::Domain,
                    lifecycle: String::new(),
                    column_index: ColumnIndex::default(),
                    auto_approve: false,
                    approvers: Vec::new(),
                }
            }
            "weft.catalog.v1.DataProduct" => {
                let product = DataProduct::decode(bytes)?;
                Node {
                    parent: product
                        .name
                        .split_once("/dataProducts/")
                        .map(|(domain, _)| Arc::from(domain)),
                    owners: product.owners.clone(),
                    tags: tag_texts(&product.tags),
                    lifecycle: product
                        .lifecycle_state()
                        .as_str_name()
                        .trim_start_matches("LIFECYCLE_STATE_")
                        .to_string(),
                    auto_approve: product
                        .subscription_policy
                        .as_ref()
                        .is_some_and(|policy| policy.auto_approve),
                    approvers: product
                        .subscription_policy
                        .map(|policy| policy.approvers)
                        .unwrap_or_default(),
                    name: product.name.into(),
                    kind: NodeKind::DataProduct,
                    column_index: ColumnIndex::default(),
                }
            }
            "weft.catalog.v1.Asset" => {
                let asset = Asset::decode(bytes)?;
                Node {
                    parent: asset
                        .name
                        .split_once("/assets/")
                        .map(|(product, _)| Arc::from(product)),
                    owners: asset.owners,
                    tags: tag_texts(&asset.tags),
                    name: asset.name.into(),
                    kind: NodeKind::Asset,
                    lifecycle: String::new(),
                    column_index: asset
                        .schema
                        .map(|schema| ColumnIndex::of(&schema.columns))
                        .unwrap_or_default(),
                    auto_approve: false,
                    approvers: Vec::new(),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Every column path of an asset (nested fields as "parent.child"), in schema order.
    pub fn column_paths(&self) -> &PackedStrs {
        &self.column_index.paths
    }

    /// Each tagged column path with its tags (own and lineage-inherited), for tag-based grants.
    pub fn column_tags(&self) -> impl Iterator<Item = (&str, &PackedStrs)> + Clone {
        self.column_index.tags.iter().filter_map(|tagged| {
            let path = self.column_index.paths.get(tagged.position as usize)?;
            Some((path, &tagged.tags))
        })
    }
}

/// An asset's columns by path, with their types, descriptions and tags, derived once when the
/// node is projected: decisions about an asset read them on every question (flattening the
/// schema per question was a tenth of a decision's time), and the catalog's `Column` messages
/// are not kept (held for every asset of the catalog, they were most of governance's memory;
/// so are the strings kept here, hence packed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnIndex {
    /// Every column path ("address.city" for nested fields), in schema order.
    paths: PackedStrs,
    /// The logical type of each path (as `paths`).
    types: PackedStrs,
    /// The description of each top-level column, "" for nested fields (as `paths`).
    descriptions: PackedStrs,
    /// The tags of each tagged path, in path order (most columns have none).
    tags: Box<[TaggedColumn]>,
}

/// The tags of one column ("key=value", or "key").
#[derive(Debug, Clone, PartialEq)]
struct TaggedColumn {
    /// Its position in `ColumnIndex::paths`.
    position: u32,
    tags: PackedStrs,
}

impl ColumnIndex {
    pub fn of(columns: &[Column]) -> Self {
        let flattened = columns::flatten(columns);
        let mut tags = Vec::new();
        for (position, (_, column)) in flattened.iter().enumerate() {
            let mut own = tag_texts(&column.tags);
            own.extend(
                column
                    .inherited_tags
                    .iter()
                    .filter_map(|inherited| inherited.tag.as_ref().map(tag_text)),
            );
            // Positions past u32 would need 4 billion columns (the catalog bounds a message).
            if let (false, Ok(position)) = (own.is_empty(), u32::try_from(position)) {
                tags.push(TaggedColumn {
                    position,
                    tags: own.iter().map(String::as_str).collect(),
                });
            }
        }
        ColumnIndex {
            paths: flattened.iter().map(|(path, _)| path.as_str()).collect(),
            types: flattened
                .iter()
                .map(|(_, column)| column.r#type.as_str())
                .collect(),
            descriptions: flattened
                .iter()
                .map(|(path, column)| match is_top_level(path) {
                    true => column.description.as_str(),
                    false => "",
                })
                .collect(),
            tags: tags.into_boxed_slice(),
        }
    }

    /// The logical type of the column at `path`, if the asset has it.
    pub fn column_type(&self, path: &str) -> Option<&str> {
        self.types.get(self.paths.position(path)?)
    }

    /// The top-level columns: (name, type, description), in schema order.
    pub fn top_level(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.paths
            .iter()
            .zip(self.types.iter())
            .zip(self.descriptions.iter())
            .filter(|((path, _), _)| is_top_level(path))
            .map(|((path, kind), description)| (path, kind, description))
    }
}

/// The catalog refuses '.' in column names: a path without one is a top-level column.
fn is_top_level(path: &str) -> bool {
    !path.contains('.')
}

/// Whether the column at `path` is `column` or a field inside it ("address.city" is within
/// "address"), without allocating.
pub fn is_within(path: &str, column: &str) -> bool {
    path.strip_prefix(column)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}
