//! Where each resource kind keeps the fields `catalog_resources` indexes.

use prost_types::Timestamp;
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, DataProduct, Domain, Glossary, GlossaryTerm, LifecycleState,
    MetadataFormType, TagKey, TermState,
};
use weft_proto::weft::common::v1::Tag;

use super::labels::PartLabels;
use super::resources::{StandardFields, Stored};

/// Implements `StandardFields` for messages with the standard field names.
macro_rules! standard_fields {
    ($($message:ty),*) => {$(
        impl StandardFields for $message {
            fn name(&self) -> &str {
                &self.name
            }

            fn etag(&self) -> &str {
                &self.etag
            }

            fn create_time(&self) -> Option<&Timestamp> {
                self.create_time.as_ref()
            }

            fn update_time(&self) -> Option<&Timestamp> {
                self.update_time.as_ref()
            }

            fn set_etag(&mut self, etag: String) {
                self.etag = etag;
            }

            fn set_times(&mut self, create_time: Option<Timestamp>, update_time: Option<Timestamp>) {
                self.create_time = create_time;
                self.update_time = update_time;
            }
        }
    )*};
}

standard_fields!(
    Domain,
    DataProduct,
    TagKey,
    Glossary,
    GlossaryTerm,
    Asset,
    MetadataFormType
);

/// The part of a name before `/<collection>/`, e.g. the domain of a product.
fn parent_before(name: &str, collection: &str) -> Option<String> {
    name.split_once(&format!("/{collection}/"))
        .map(|(parent, _)| parent.to_string())
}

impl Stored for Domain {
    const KIND: &'static str = "domain";
    const MESSAGE: &'static str = "Domain";

    fn parent(&self) -> Option<String> {
        Some(self.parent_domain.clone()).filter(|parent| !parent.is_empty())
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

impl Stored for DataProduct {
    const KIND: &'static str = "data_product";
    const MESSAGE: &'static str = "DataProduct";

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "dataProducts")
    }

    fn state(&self) -> Option<String> {
        Some(lifecycle_column(self.lifecycle_state()).to_string())
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn references(&self) -> Vec<String> {
        let forms = self.forms.iter().map(|form| form.form_type.clone());
        self.glossary_terms.iter().cloned().chain(forms).collect()
    }
}

impl Stored for TagKey {
    const KIND: &'static str = "tag_key";
    const MESSAGE: &'static str = "TagKey";

    fn parent(&self) -> Option<String> {
        None
    }
}

impl Stored for Glossary {
    const KIND: &'static str = "glossary";
    const MESSAGE: &'static str = "Glossary";

    fn parent(&self) -> Option<String> {
        None
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }
}

impl Stored for GlossaryTerm {
    const KIND: &'static str = "glossary_term";
    const MESSAGE: &'static str = "GlossaryTerm";

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "terms")
    }

    fn state(&self) -> Option<String> {
        Some(term_state_column(self.state()).to_string())
    }

    /// Its isA and classifies relations, so that a term in use by another cannot be deleted.
    fn references(&self) -> Vec<String> {
        self.is_a.iter().chain(&self.classifies).cloned().collect()
    }
}

/// The `state` column value of a lifecycle state, e.g. "DRAFT".
pub fn lifecycle_column(state: LifecycleState) -> &'static str {
    state.as_str_name().trim_start_matches("LIFECYCLE_STATE_")
}

/// The `state` column value of a term state ("ENABLED" when unset).
pub fn term_state_column(state: TermState) -> &'static str {
    match state {
        TermState::Disabled => "DISABLED",
        _ => "ENABLED",
    }
}

impl Stored for Asset {
    const KIND: &'static str = "asset";
    const MESSAGE: &'static str = "Asset";

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "assets")
    }

    /// The asset's kind, e.g. "TABLE" (for List filters).
    fn state(&self) -> Option<String> {
        Some(asset_kind_column(self.kind()).to_string())
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn references(&self) -> Vec<String> {
        let forms = self.forms.iter().map(|form| form.form_type.clone());
        self.glossary_terms.iter().cloned().chain(forms).collect()
    }

    fn part_labels(&self) -> Vec<PartLabels> {
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
                        terms: column.glossary_terms.clone(),
                    });
                }
                walk(&path, &column.fields, out);
            }
        }
        let mut out = Vec::new();
        walk(
            "",
            self.schema.as_ref().map_or(&[][..], |s| &s.columns),
            &mut out,
        );
        out
    }
}

/// The `state` column value of an asset kind, e.g. "TABLE".
pub fn asset_kind_column(kind: AssetKind) -> &'static str {
    kind.as_str_name().trim_start_matches("ASSET_KIND_")
}

impl Stored for MetadataFormType {
    const KIND: &'static str = "metadata_form_type";
    const MESSAGE: &'static str = "MetadataFormType";

    fn parent(&self) -> Option<String> {
        None
    }
}
