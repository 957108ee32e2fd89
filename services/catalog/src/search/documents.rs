//! Catalog resources as search entries: domains, products, assets with one entry per column,
//! and glossary terms. Domains are searchable with their sub-domains; assets and columns carry
//! their product's lifecycle state.

use std::collections::HashMap;

use weft_proto::weft::catalog::v1::{Asset, Column, DataProduct, Domain, GlossaryTerm};
use weft_proto::weft::common::v1::Tag;

use super::fields::Entry;
use weft_proto::resource::{asset_kind_column, lifecycle_column, term_state_column};

/// Deepest domain nesting followed (as the catalog enforces).
const MAX_DEPTH: usize = 32;

/// What entries need to know beyond the resource itself.
#[derive(Debug, Default)]
pub struct Context {
    /// Parent of every domain ("" for top-level ones).
    pub domain_parents: HashMap<String, String>,
    /// Lifecycle state of every product, e.g. "PUBLISHED".
    pub product_states: HashMap<String, String>,
}

impl Context {
    /// The domain and its ancestors.
    pub fn domain_path(&self, domain: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut cursor = domain.to_string();
        while !cursor.is_empty() && path.len() < MAX_DEPTH && !path.contains(&cursor) {
            path.push(cursor.clone());
            cursor = self
                .domain_parents
                .get(&cursor)
                .cloned()
                .unwrap_or_default();
        }
        path
    }
}

/// "domains/{d}" of any name under a domain.
pub fn domain_of(name: &str) -> String {
    name.split('/').take(2).collect::<Vec<_>>().join("/")
}

fn tags(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

pub fn domain_entry(domain: &Domain, context: &Context) -> Entry {
    Entry {
        name: domain.name.clone(),
        root: domain.name.clone(),
        result_type: "domain",
        display_name: domain.display_name.clone(),
        text: domain.description.clone(),
        domain: domain.name.clone(),
        domain_path: context.domain_path(&domain.name),
        tags: tags(&domain.tags),
        owners: domain.owners.clone(),
        ..Entry::default()
    }
}

pub fn product_entry(product: &DataProduct, context: &Context) -> Entry {
    let domain = domain_of(&product.name);
    Entry {
        name: product.name.clone(),
        root: product.name.clone(),
        result_type: "data_product",
        display_name: product.display_name.clone(),
        text: product.description.clone(),
        domain_path: context.domain_path(&domain),
        domain,
        data_product: product.name.clone(),
        tags: tags(&product.tags),
        owners: product.owners.clone(),
        terms: product.glossary_terms.clone(),
        state: lifecycle_column(product.lifecycle_state()).to_string(),
        ..Entry::default()
    }
}

/// The asset's entry, then one per column (nested fields by dotted path).
pub fn asset_entries(asset: &Asset, context: &Context) -> Vec<Entry> {
    let domain = domain_of(&asset.name);
    let product = asset
        .name
        .split("/assets/")
        .next()
        .unwrap_or_default()
        .to_string();
    let state = context
        .product_states
        .get(&product)
        .cloned()
        .unwrap_or_default();
    let location = asset.location.clone().unwrap_or_default();
    let columns = asset.schema.as_ref().map_or(&[][..], |s| &s.columns[..]);
    let column_names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let base = Entry {
        root: asset.name.clone(),
        domain_path: context.domain_path(&domain),
        domain,
        data_product: product,
        kind: asset_kind_column(asset.kind()).to_string(),
        state,
        ..Entry::default()
    };
    let id = asset.name.rsplit('/').next().unwrap_or_default();
    let mut entries = vec![Entry {
        name: asset.name.clone(),
        result_type: "asset",
        display_name: if asset.display_name.is_empty() {
            id.to_string()
        } else {
            asset.display_name.clone()
        },
        text: format!(
            "{} {} {} {}",
            asset.description,
            location.name,
            id,
            column_names.join(" ")
        ),
        tags: tags(&asset.tags),
        owners: asset.owners.clone(),
        terms: asset.glossary_terms.clone(),
        ..base.clone()
    }];
    fn walk(prefix: &str, columns: &[Column], asset: &str, base: &Entry, out: &mut Vec<Entry>) {
        for column in columns {
            let path = if prefix.is_empty() {
                column.name.clone()
            } else {
                format!("{prefix}.{}", column.name)
            };
            out.push(Entry {
                name: format!("{asset}#{path}"),
                result_type: "column",
                display_name: column.name.clone(),
                text: format!(
                    "{} {} {}",
                    column.description,
                    column.r#type,
                    path.replace('.', " ")
                ),
                tags: tags(&column.tags),
                terms: column.glossary_terms.clone(),
                ..base.clone()
            });
            walk(&path, &column.fields, asset, base, out);
        }
    }
    walk("", columns, &asset.name, &base, &mut entries);
    entries
}

pub fn term_entry(term: &GlossaryTerm) -> Entry {
    Entry {
        name: term.name.clone(),
        root: term.name.clone(),
        result_type: "glossary_term",
        display_name: term.display_name.clone(),
        text: term.description.clone(),
        state: term_state_column(term.state()).to_string(),
        ..Entry::default()
    }
}
