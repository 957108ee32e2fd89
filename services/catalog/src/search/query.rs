//! Running a SearchRequest: words matched with typo tolerance (each word's exact term and the
//! index terms within a small edit distance, all scored by BM25, exact matches weighted higher),
//! filters that do not affect the score, facet counts over every match, offset pagination.

use std::collections::BTreeSet;

use tantivy::collector::{Count, FacetCollector, MultiCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument, Term};
use weft_proto::weft::catalog::v1::{
    AssetKind, Facet, FacetValue, LifecycleState, SearchRequest, SearchResponse, SearchResult,
    SearchResultType,
};
use weft_runtime::ApiError;
use weft_runtime::paging::PageRequest;

use super::index::SearchIndex;
use crate::storage::kinds::{asset_kind_column, lifecycle_column};

const DEFAULT_PAGE_SIZE: i32 = 20;
const MAX_PAGE_SIZE: i32 = 100;
/// Deepest result reachable by paging.
const MAX_OFFSET: usize = 10_000;
/// Index terms a misspelled word may expand to.
const MAX_EXPANSIONS: usize = 30;
const FACETS: &[&str] = &[
    "domain",
    "type",
    "kind",
    "tag",
    "owner",
    "glossary_term",
    "lifecycle_state",
];
const MAX_FACET_VALUES: usize = 20;
const MAX_QUERY_WORDS: usize = 16;

fn type_name(result_type: SearchResultType) -> Option<&'static str> {
    Some(match result_type {
        SearchResultType::Domain => "domain",
        SearchResultType::DataProduct => "data_product",
        SearchResultType::Asset => "asset",
        SearchResultType::Column => "column",
        SearchResultType::GlossaryTerm => "glossary_term",
        SearchResultType::Unspecified => return None,
    })
}

fn result_type(name: &str) -> SearchResultType {
    match name {
        "domain" => SearchResultType::Domain,
        "data_product" => SearchResultType::DataProduct,
        "asset" => SearchResultType::Asset,
        "column" => SearchResultType::Column,
        "glossary_term" => SearchResultType::GlossaryTerm,
        _ => SearchResultType::Unspecified,
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(field, message)
}

/// Edit distance allowed for a word of this length.
fn distance_for(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Any of `values` in a keyword field, as a filter (no effect on the score).
fn any_of(field: Field, values: impl IntoIterator<Item = String>) -> Box<dyn Query> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = values
        .into_iter()
        .map(|value| {
            let term = Term::from_field_text(field, &value);
            (
                Occur::Should,
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
            )
        })
        .collect();
    Box::new(ConstScoreQuery::new(
        Box::new(BooleanQuery::new(clauses)),
        0.0,
    ))
}

impl SearchIndex {
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResponse, ApiError> {
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => return Err(invalid("page_size", "must not be negative")),
            n => n.min(MAX_PAGE_SIZE),
        };
        for facet in &request.facets {
            if !FACETS.contains(&facet.as_str()) {
                return Err(invalid(
                    "facets",
                    format!("unknown facet '{facet}'; facets: {}", FACETS.join(", ")),
                ));
            }
        }
        let fingerprint =
            format!("{request:?}").replace(&format!("page_token: {:?}", request.page_token), "");
        let page = PageRequest::parse(page_size, &request.page_token, &fingerprint)?;
        let offset: usize = match &page.after {
            None => 0,
            Some(after) => after
                .parse()
                .map_err(|_| invalid("page_token", "is not a token from this search"))?,
        };
        if offset > MAX_OFFSET {
            return Err(invalid(
                "page_token",
                format!("results beyond {MAX_OFFSET} cannot be paged to; narrow the search"),
            ));
        }

        let searcher = self.reader.searcher();
        let fields = &self.fields;
        let text_query = self.text_query(&searcher, &request.query)?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query.box_clone())];
        clauses.extend(
            self.filters(request)?
                .into_iter()
                .map(|filter| (Occur::Must, filter)),
        );
        let query = BooleanQuery::new(clauses);

        let mut collectors = MultiCollector::new();
        let top = collectors.add_collector(
            TopDocs::with_limit(page_size as usize + 1)
                .and_offset(offset)
                .order_by_score(),
        );
        let count = collectors.add_collector(Count);
        let mut facet_handles = Vec::new();
        for name in &request.facets {
            let field = fields.facet(name).expect("checked above");
            let mut collector = FacetCollector::for_field(fields.schema.get_field_name(field));
            collector.add_facet("/");
            facet_handles.push((name.clone(), collectors.add_collector(collector)));
        }
        let mut fruit = searcher
            .search(&query, &collectors)
            .map_err(|e| ApiError::internal(format!("search: {e}")))?;
        let hits = top.extract(&mut fruit);
        let total_size = count.extract(&mut fruit) as i64;
        let facets = facet_handles
            .into_iter()
            .map(|(name, handle)| {
                let counts = handle.extract(&mut fruit);
                let mut values: Vec<FacetValue> = counts
                    .get("/")
                    .map(|(facet, count)| FacetValue {
                        value: facet
                            .to_path()
                            .last()
                            .map(|s| s.to_string())
                            .unwrap_or_default(),
                        count: count as i64,
                    })
                    .collect();
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                values.truncate(MAX_FACET_VALUES);
                Facet { name, values }
            })
            .collect();

        let snippets = SnippetGenerator::create(&searcher, &*text_query, fields.text)
            .map_err(|e| ApiError::internal(format!("search snippets: {e}")))?;
        let mut results = Vec::with_capacity(hits.len());
        for (index, (score, address)) in hits.iter().enumerate() {
            let doc: TantivyDocument = searcher
                .doc(*address)
                .map_err(|e| ApiError::internal(format!("search: {e}")))?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let snippet = snippets.snippet_from_doc(&doc);
            results.push((
                (offset + index + 1).to_string(),
                SearchResult {
                    name: text(fields.name),
                    r#type: result_type(&text(fields.k_type)) as i32,
                    display_name: text(fields.display_name),
                    snippet: if snippet.fragment().trim().is_empty() {
                        text(fields.text).chars().take(150).collect()
                    } else {
                        snippet.to_html()
                    },
                    score: *score,
                    domain: text(fields.domain),
                    data_product: text(fields.data_product),
                },
            ));
        }
        let next_page_token = page.finish(&mut results, |(position, _)| position);
        Ok(SearchResponse {
            results: results.into_iter().map(|(_, result)| result).collect(),
            facets,
            total_size,
            next_page_token,
        })
    }

    /// Every word must match the display name or the text, exactly or within its edit distance.
    fn text_query(&self, searcher: &Searcher, query: &str) -> Result<Box<dyn Query>, ApiError> {
        let fields = &self.fields;
        let mut tokenizer = searcher
            .index()
            .tokenizer_for_field(fields.text)
            .map_err(|e| ApiError::internal(format!("search tokenizer: {e}")))?;
        let mut words = Vec::new();
        let mut stream = tokenizer.token_stream(query);
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words.dedup();
        if words.is_empty() {
            return Ok(Box::new(AllQuery));
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(invalid("query", format!("at most {MAX_QUERY_WORDS} words")));
        }
        let mut per_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in words {
            // A word the index holds is taken as written: expanding it too made every
            // multi-word query a union of up to 50 terms per word (34 ms p99 at 1M assets).
            let mut known = false;
            for field in [fields.display_name, fields.text] {
                known |= searcher
                    .doc_freq(&Term::from_field_text(field, &word))
                    .map_err(|e| ApiError::internal(format!("search: {e}")))?
                    > 0;
            }
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, weight) in [(fields.display_name, 2.0), (fields.text, 1.0)] {
                for (term, exact) in expand(searcher, field, &word, !known)? {
                    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    let boost = if exact { weight } else { weight * 0.5 };
                    alternatives.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(query), boost)),
                    ));
                }
            }
            per_word.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
        Ok(Box::new(BooleanQuery::new(per_word)))
    }

    fn filters(&self, request: &SearchRequest) -> Result<Vec<Box<dyn Query>>, ApiError> {
        let fields = &self.fields;
        let mut filters = Vec::new();
        if !request.types.is_empty() {
            let mut names = Vec::new();
            for (index, value) in request.types.iter().enumerate() {
                let parsed = SearchResultType::try_from(*value).ok().and_then(type_name);
                names.push(
                    parsed
                        .ok_or_else(|| invalid(&format!("types[{index}]"), "is not a result type"))?
                        .to_string(),
                );
            }
            filters.push(any_of(fields.k_type, names));
        }
        if !request.domain.is_empty() {
            if weft_runtime::validate::parse_name(&request.domain, &["domains"]).is_none() {
                return Err(invalid("domain", "must be domains/{id}"));
            }
            filters.push(any_of(fields.k_domain_path, [request.domain.clone()]));
        }
        if !request.asset_kinds.is_empty() {
            let mut kinds = Vec::new();
            for (index, value) in request.asset_kinds.iter().enumerate() {
                match AssetKind::try_from(*value) {
                    Ok(kind) if kind != AssetKind::Unspecified => {
                        kinds.push(asset_kind_column(kind).to_string())
                    }
                    _ => {
                        return Err(invalid(
                            &format!("asset_kinds[{index}]"),
                            "is not an asset kind",
                        ));
                    }
                }
            }
            filters.push(any_of(fields.k_kind, kinds));
        }
        for tag in &request.tags {
            filters.push(any_of(fields.k_tag, [tag.clone()]));
        }
        if !request.owner.is_empty() {
            filters.push(any_of(fields.k_owner, [request.owner.clone()]));
        }
        if !request.glossary_term.is_empty() {
            filters.push(any_of(fields.k_term, [request.glossary_term.clone()]));
        }
        if !request.lifecycle_states.is_empty() {
            let mut states = BTreeSet::new();
            for (index, value) in request.lifecycle_states.iter().enumerate() {
                match LifecycleState::try_from(*value) {
                    Ok(state) if state != LifecycleState::Unspecified => {
                        states.insert(lifecycle_column(state).to_string());
                    }
                    _ => {
                        return Err(invalid(
                            &format!("lifecycle_states[{index}]"),
                            "is not a lifecycle state",
                        ));
                    }
                }
            }
            filters.push(any_of(fields.k_state, states));
        }
        Ok(filters)
    }
}

/// The word's own term, plus with `fuzzy` the index terms within its edit distance (typo
/// tolerance).
fn expand(
    searcher: &Searcher,
    field: Field,
    word: &str,
    fuzzy: bool,
) -> Result<Vec<(Term, bool)>, ApiError> {
    let exact = Term::from_field_text(field, word);
    let mut terms = vec![(exact.clone(), true)];
    let distance = distance_for(word);
    if distance == 0 || !fuzzy {
        return Ok(terms);
    }
    let mut found = BTreeSet::new();
    for segment in searcher.segment_readers() {
        let automaton = FuzzyTermQuery::new(exact.clone(), distance, true)
            .automaton()
            .map_err(|e| ApiError::internal(format!("search: {e}")))?;
        let inverted = segment
            .inverted_index(field)
            .map_err(|e| ApiError::internal(format!("search: {e}")))?;
        let mut stream = inverted
            .terms()
            .search(automaton)
            .into_stream()
            .map_err(|e| ApiError::internal(format!("search: {e}")))?;
        while stream.advance() && found.len() < MAX_EXPANSIONS {
            if let Ok(text) = std::str::from_utf8(stream.key())
                && text != word
            {
                found.insert(text.to_string());
            }
        }
    }
    terms.extend(
        found
            .into_iter()
            .map(|text| (Term::from_field_text(field, &text), false)),
    );
    Ok(terms)
}
