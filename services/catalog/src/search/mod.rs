//! Catalog search over domains, products, assets, columns and glossary terms, with tantivy:
//! BM25 ranking, typo tolerance, filters, facet counts and pagination. The index is derived
//! state (see `index`), never the source of truth.

mod documents;
mod fields;
mod index;
mod query;
mod visible;

pub(crate) use index::COMMIT_EVERY;
pub use index::SearchIndex;
pub use visible::{MAX_OWNED_ROOTS, Scope, Visible};
