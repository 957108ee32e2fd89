//! The catalog's resource kinds. Domains, products and assets are labeled: their owners, tags
//! and references (glossary terms, metadata form types) are mirrored for List filters and for
//! "is it still in use" checks; so are a glossary's owners and a term's relations.

use super::{Labels, PartLabels, Resource, non_empty, parent_before, standard_fields};
use crate::weft::catalog::v1::{
    Asset, AssetKind, Column, DataProduct, Domain, Glossary, GlossaryTerm, LifecycleState,
    MetadataFormType, TagKey, TermState,
};

standard_fields!(
    Domain,
    DataProduct,
    TagKey,
    Glossary,
    GlossaryTerm,
    Asset,
    MetadataFormType
);

impl Resource for Domain {
    const KIND: &'static str = "domain";
    const MESSAGE: &'static str = "weft.catalog.v1.Domain";
    const LABELED: bool = true;

    fn parent(&self) -> Option<String> {
        non_empty(&self.parent_domain)
    }

    fn labels(&self) -> Labels {
        Labels {
            owners: self.owners.clone(),
            tags: self.tags.clone(),
            ..Labels::default()
        }
    }
}

impl Resource for DataProduct {
    const KIND: &'static str = "data_product";
    const MESSAGE: &'static str = "weft.catalog.v1.DataProduct";
    const LABELED: bool = true;

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "dataProducts")
    }

    fn state(&self) -> Option<String> {
        Some(lifecycle_column(self.lifecycle_state()).to_string())
    }

    fn labels(&self) -> Labels {
        let forms = self.forms.iter().map(|form| form.form_type.clone());
        Labels {
            owners: self.owners.clone(),
            tags: self.tags.clone(),
            references: self.glossary_terms.iter().cloned().chain(forms).collect(),
            parts: Vec::new(),
        }
    }
}

impl Resource for TagKey {
    const KIND: &'static str = "tag_key";
    const MESSAGE: &'static str = "weft.catalog.v1.TagKey";
}

impl Resource for Glossary {
    const KIND: &'static str = "glossary";
    const MESSAGE: &'static str = "weft.catalog.v1.Glossary";
    const LABELED: bool = true;

    fn labels(&self) -> Labels {
        Labels {
            owners: self.owners.clone(),
            ..Labels::default()
        }
    }
}

impl Resource for GlossaryTerm {
    const KIND: &'static str = "glossary_term";
    const MESSAGE: &'static str = "weft.catalog.v1.GlossaryTerm";
    const LABELED: bool = true;

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "terms")
    }

    fn state(&self) -> Option<String> {
        Some(term_state_column(self.state()).to_string())
    }

    /// Its isA and classifies relations, so that a term in use by another cannot be deleted.
    fn labels(&self) -> Labels {
        Labels {
            references: self.is_a.iter().chain(&self.classifies).cloned().collect(),
            ..Labels::default()
        }
    }
}

impl Resource for Asset {
    const KIND: &'static str = "asset";
    const MESSAGE: &'static str = "weft.catalog.v1.Asset";
    const LABELED: bool = true;

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "assets")
    }

    /// The asset's kind, e.g. "TABLE" (for List filters).
    fn state(&self) -> Option<String> {
        Some(asset_kind_column(self.kind()).to_string())
    }

    fn labels(&self) -> Labels {
        fn walk(prefix: &str, columns: &[Column], out: &mut Vec<PartLabels>) {
            for column in columns {
                let path = if prefix.is_empty() {
                    column.name.clone()
                } else {
                    format!("{prefix}.{}", column.name)
                };
                if !column.tags.is_empty() || !column.glossary_terms.is_empty() {
                    out.push(PartLabels {
                        path: path.clone(),
                        tags: column.tags.clone(),
                        references: column.glossary_terms.clone(),
                    });
                }
                walk(&path, &column.fields, out);
            }
        }
        let mut parts = Vec::new();
        walk(
            "",
            self.schema.as_ref().map_or(&[][..], |s| &s.columns),
            &mut parts,
        );
        let forms = self.forms.iter().map(|form| form.form_type.clone());
        Labels {
            owners: self.owners.clone(),
            tags: self.tags.clone(),
            references: self.glossary_terms.iter().cloned().chain(forms).collect(),
            parts,
        }
    }
}

impl Resource for MetadataFormType {
    const KIND: &'static str = "metadata_form_type";
    const MESSAGE: &'static str = "weft.catalog.v1.MetadataFormType";
}

/// The `state` column value of a lifecycle state, e.g. "DRAFT".
pub fn lifecycle_column(state: LifecycleState) -> &'static str {
    state.as_str_name().trim_start_matches("LIFECYCLE_STATE_")
}

/// The `state` column value of a term state ("ENABLED" when unset).
pub fn term_state_column(state: TermState) -> &'static str {
    match state {
        TermState::Disabled => "DISABLED",
        TermState::Unspecified | TermState::Enabled => "ENABLED",
    }
}

/// The `state` column value of an asset kind, e.g. "TABLE".
pub fn asset_kind_column(kind: AssetKind) -> &'static str {
    kind.as_str_name().trim_start_matches("ASSET_KIND_")
}
