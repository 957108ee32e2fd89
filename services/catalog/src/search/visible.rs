//! What of the index a search may return and count. Governance decides what a caller may
//! DESCRIBE; its `DescribeScope` says it as lists this module turns into one filter of the query,
//! so that `total_size` and facet counts count only what the caller may see (not even a
//! hidden resource's count leaks). Every caller sees the domains, the glossary and the
//! published and deprecated products with their assets and columns (the marketplace); beyond
//! that, what the principals it acts as own, what is granted to them (with everything inside)
//! and the single resources of column-restricted grants.

use tantivy::collector::DocSetCollector;
use tantivy::query::{ConstScoreQuery, Query, TermSetQuery};
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};
use weft_proto::weft::catalog::v1::LifecycleState;
use weft_runtime::ApiError;

use super::fields::Fields;
use weft_proto::resource::lifecycle_column;

/// Most owned resources a filter lists; a caller whose principals own more is checked match by
/// match instead (see `Visible::Names`).
pub const MAX_OWNED_ROOTS: usize = 10_000;

/// What a search may return and count.
#[derive(Debug, Clone)]
pub enum Visible {
    /// Everything (administrators).
    Everything,
    /// Everyone's part plus the scope's resources (see the module's comment).
    Scope(Scope),
    /// Exactly the documents of these names (each decided by governance).
    Names(Vec<String>),
}

/// A caller's DESCRIBE scope, as governance lists it.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The principals the caller acts as: what they own is visible, with everything inside.
    pub principals: Vec<String>,
    /// Granted resources: visible with everything inside.
    pub subtrees: Vec<String>,
    /// Single visible resources ("<asset>" or "<asset>#<column>").
    pub resources: Vec<String>,
}

/// A filter: matches without affecting the score.
fn filter(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// Every value in every field.
fn terms<'a>(fields: &[Field], values: impl IntoIterator<Item = &'a String> + Clone) -> Vec<Term> {
    fields
        .iter()
        .flat_map(|field| {
            values
                .clone()
                .into_iter()
                .map(|value| Term::from_field_text(*field, value))
        })
        .collect()
}

/// What a search filters on.
pub enum ScopeFilter {
    /// Nothing: every document may be returned and counted.
    Everything,
    Filter(Box<dyn Query>),
    /// The caller's principals own more than a filter lists: check match by match.
    TooWide,
}

impl Fields {
    pub fn visibility_filter(
        &self,
        searcher: &Searcher,
        visible: &Visible,
    ) -> Result<ScopeFilter, ApiError> {
        let scope = match visible {
            Visible::Everything => return Ok(ScopeFilter::Everything),
            Visible::Names(names) => {
                let query = TermSetQuery::new(terms(&[self.name], names));
                return Ok(ScopeFilter::Filter(filter(Box::new(query))));
            }
            Visible::Scope(scope) => scope,
        };
        let Some(owned) = self.owned_roots(searcher, &scope.principals)? else {
            return Ok(ScopeFilter::TooWide);
        };
        let everyones = [
            Term::from_field_text(self.k_type, "domain"),
            Term::from_field_text(self.k_type, "glossary_term"),
            Term::from_field_text(self.k_state, lifecycle_column(LifecycleState::Published)),
            Term::from_field_text(self.k_state, lifecycle_column(LifecycleState::Deprecated)),
        ];
        // A resource's documents name it and its ancestors in these fields: a domain in
        // `k_domain_path` (with its sub-domains'), a product in `data_product`, an asset in `root`
        // (its columns' documents too).
        let inside = [self.k_domain_path, self.data_product, self.root];
        let mut set = Vec::from(everyones);
        set.extend(terms(&inside, scope.subtrees.iter().chain(owned.iter())));
        set.extend(terms(&[self.name], &scope.resources));
        Ok(ScopeFilter::Filter(filter(Box::new(TermSetQuery::new(
            set,
        )))))
    }

    /// Names of the domains, products and assets one of `principals` owns; `None` when more
    /// than `MAX_OWNED_ROOTS`.
    fn owned_roots(
        &self,
        searcher: &Searcher,
        principals: &[String],
    ) -> Result<Option<Vec<String>>, ApiError> {
        if principals.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let failed = |e: tantivy::TantivyError| ApiError::internal(format!("search: {e}"));
        let owners = TermSetQuery::new(terms(&[self.k_owner], principals));
        let addresses: Vec<DocAddress> = searcher
            .search(&owners, &DocSetCollector)
            .map_err(failed)?
            .into_iter()
            .collect();
        if addresses.len() > MAX_OWNED_ROOTS {
            return Ok(None);
        }
        let mut names = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address).map_err(failed)?;
            if let Some(name) = doc.get_first(self.name).and_then(|v| v.as_str()) {
                names.push(name.to_string());
            }
        }
        Ok(Some(names))
    }
}
