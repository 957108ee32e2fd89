//! The search index's schema and how catalog resources become documents.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FacetOptions, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// Bumped whenever documents change shape: an index of another version is rebuilt.
pub const INDEX_VERSION: u32 = 2;
/// Tokenizer of the searchable words (and of snippets).
pub const TOKENIZER: &str = "default";
/// Times the display name is repeated among a document's words: BM25 then ranks a word of the
/// name above the same word in the description, as a boost of that field would.
const DISPLAY_NAME_WEIGHT: usize = 2;

/// The fields of a search document. `k_*` are exact keyword fields for filters, `f_*` facets.
#[derive(Clone)]
pub struct Fields {
    pub schema: Schema,
    /// Resource name (for a column, "<asset>#<path>").
    pub name: Field,
    /// The resource whose change re-indexes this document (an asset for its columns).
    pub root: Field,
    /// Stored for results; searched through `words`.
    pub display_name: Field,
    /// Description and other searchable text, stored for snippets; searched through `words`.
    pub text: Field,
    /// What a query matches: the display name (weighted) and the text, with term frequencies
    /// but no positions (no phrase queries). One field, so that a query of several words is an
    /// intersection of plain posting lists rather than of per-word unions over two fields.
    pub words: Field,
    /// Owning domain (stored), and the domain with all its ancestors (filter).
    pub domain: Field,
    pub k_domain_path: Field,
    pub data_product: Field,
    pub k_type: Field,
    pub k_kind: Field,
    pub k_tag: Field,
    pub k_owner: Field,
    pub k_term: Field,
    pub k_state: Field,
    pub f_domain: Field,
    pub f_type: Field,
    pub f_kind: Field,
    pub f_tag: Field,
    pub f_owner: Field,
    pub f_term: Field,
    pub f_state: Field,
}

impl Fields {
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        let facet = FacetOptions::default();
        let fields = Fields {
            name: builder.add_text_field("name", STRING | STORED),
            root: builder.add_text_field("root", STRING),
            display_name: builder.add_text_field("display_name", STORED),
            text: builder.add_text_field("text", STORED),
            words: builder.add_text_field(
                "words",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(TOKENIZER)
                        .set_index_option(IndexRecordOption::WithFreqs),
                ),
            ),
            domain: builder.add_text_field("domain", STRING | STORED),
            k_domain_path: builder.add_text_field("k_domain_path", STRING),
            data_product: builder.add_text_field("data_product", STRING | STORED),
            k_type: builder.add_text_field("k_type", STRING | STORED),
            k_kind: builder.add_text_field("k_kind", STRING),
            k_tag: builder.add_text_field("k_tag", STRING),
            k_owner: builder.add_text_field("k_owner", STRING),
            k_term: builder.add_text_field("k_term", STRING),
            k_state: builder.add_text_field("k_state", STRING),
            f_domain: builder.add_facet_field("f_domain", facet.clone()),
            f_type: builder.add_facet_field("f_type", facet.clone()),
            f_kind: builder.add_facet_field("f_kind", facet.clone()),
            f_tag: builder.add_facet_field("f_tag", facet.clone()),
            f_owner: builder.add_facet_field("f_owner", facet.clone()),
            f_term: builder.add_facet_field("f_term", facet.clone()),
            f_state: builder.add_facet_field("f_state", facet),
            schema: Schema::builder().build(),
        };
        Fields {
            schema: builder.build(),
            ..fields
        }
    }

    /// The facet field of a facet name of SearchRequest.facets.
    pub fn facet(&self, name: &str) -> Option<Field> {
        Some(match name {
            "domain" => self.f_domain,
            "type" => self.f_type,
            "kind" => self.f_kind,
            "tag" => self.f_tag,
            "owner" => self.f_owner,
            "glossary_term" => self.f_term,
            "lifecycle_state" => self.f_state,
            _ => return None,
        })
    }
}

/// What a document says, before it becomes a tantivy document.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    pub name: String,
    pub root: String,
    pub result_type: &'static str,
    pub display_name: String,
    pub text: String,
    pub domain: String,
    pub domain_path: Vec<String>,
    pub data_product: String,
    pub kind: String,
    /// "key=value" (the key alone is indexed too).
    pub tags: Vec<(String, String)>,
    pub owners: Vec<String>,
    pub terms: Vec<String>,
    pub state: String,
}

impl Entry {
    pub fn to_document(&self, fields: &Fields) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        let facet = |value: &str| tantivy::schema::Facet::from_path([value]);
        doc.add_text(fields.name, &self.name);
        doc.add_text(fields.root, &self.root);
        doc.add_text(fields.display_name, &self.display_name);
        doc.add_text(fields.text, &self.text);
        for _ in 0..DISPLAY_NAME_WEIGHT {
            doc.add_text(fields.words, &self.display_name);
        }
        doc.add_text(fields.words, &self.text);
        doc.add_text(fields.k_type, self.result_type);
        doc.add_facet(fields.f_type, facet(self.result_type));
        if !self.domain.is_empty() {
            doc.add_text(fields.domain, &self.domain);
            doc.add_facet(fields.f_domain, facet(&self.domain));
        }
        for domain in &self.domain_path {
            doc.add_text(fields.k_domain_path, domain);
        }
        if !self.data_product.is_empty() {
            doc.add_text(fields.data_product, &self.data_product);
        }
        if !self.kind.is_empty() {
            doc.add_text(fields.k_kind, &self.kind);
            doc.add_facet(fields.f_kind, facet(&self.kind));
        }
        for (key, value) in &self.tags {
            let pair = format!("{key}={value}");
            doc.add_text(fields.k_tag, key);
            doc.add_text(fields.k_tag, &pair);
            doc.add_facet(fields.f_tag, facet(&pair));
        }
        for owner in &self.owners {
            doc.add_text(fields.k_owner, owner);
            doc.add_facet(fields.f_owner, facet(owner));
        }
        for term in &self.terms {
            doc.add_text(fields.k_term, term);
            doc.add_facet(fields.f_term, facet(term));
        }
        if !self.state.is_empty() {
            doc.add_text(fields.k_state, &self.state);
            doc.add_facet(fields.f_state, facet(&self.state));
        }
        doc
    }
}
