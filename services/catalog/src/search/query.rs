//! Running a SearchRequest: every word matched among a document's words (display name and text,
//! scored by BM25), a word the index does not hold matched within a small edit distance (typo
//! tolerance, weighted lower); filters that do not affect the score, among them what the caller
//! may see (`visible`); facet counts over every visible match, offset pagination.

use std::collections::{BTreeMap, BTreeSet};

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

use super::fields::TOKENIZER;
use super::index::SearchIndex;
use super::visible::{ScopeFilter, Visible};
use weft_proto::resource::{asset_kind_column, lifecycle_column};

/// One part of a query and whether a match needs it.
type Clause = (Occur, Box<dyn Query>);

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
/// Weight of a word's typo-tolerant matches against its exact one.
const FUZZY_WEIGHT: f32 = 0.5;
/// Longest snippet.
const SNIPPET_CHARS: usize = 150;

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
    /// Runs `request` over what `visible` lets the caller see: hits, `total_size` and facet
    /// counts alike. `None` when the scope is too wide for a filter (see `Visible`): the caller
    /// then asks about `matching_names` one by one and searches those.
    pub async fn search(
        &self,
        request: &SearchRequest,
        visible: &Visible,
    ) -> Result<Option<SearchResponse>, ApiError> {
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
        let word_queries = self.word_queries(&searcher, &request.query)?;
        let mut clauses = self.clauses(request, &word_queries)?;
        match fields.visibility_filter(&searcher, visible)? {
            ScopeFilter::Everything => {}
            ScopeFilter::Filter(filter) => clauses.push((Occur::Must, filter)),
            ScopeFilter::TooWide => return Ok(None),
        }
        let single_clause = clauses.len() <= 1;
        let query: Box<dyn Query> = if single_clause {
            // Unwrapped: a term query prunes by itself, not inside a one-clause conjunction.
            clauses
                .pop()
                .map_or_else(|| Box::new(AllQuery) as Box<dyn Query>, |(_, query)| query)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let failed = |e: tantivy::TantivyError| ApiError::internal(format!("search: {e}"));

        let top_docs = TopDocs::with_limit(page_size as usize + 1)
            .and_offset(offset)
            .order_by_score();
        let mut collectors = MultiCollector::new();
        let count = collectors.add_collector(Count);
        let mut facet_handles = Vec::new();
        for name in &request.facets {
            let field = fields.facet(name).expect("checked above");
            let mut collector = FacetCollector::for_field(fields.schema.get_field_name(field));
            collector.add_facet("/");
            facet_handles.push((name.clone(), collectors.add_collector(collector)));
        }
        let (hits, mut fruit) = if single_clause && facet_handles.is_empty() {
            // One clause alone (a word, say) is collected by itself, skipping the blocks of
            // documents that cannot reach the page (block-max WAND); the count of one term is
            // its posting list's length when nothing was deleted since the segment was written.
            let hits = searcher.search(&*query, &top_docs).map_err(failed)?;
            (hits, searcher.search(&*query, &collectors).map_err(failed)?)
        } else {
            // The count or the facets visit every match anyway: scoring them on the same pass
            // costs less than a pruned pass plus a counting one (measured at 1M assets).
            let top = collectors.add_collector(top_docs);
            let mut fruit = searcher.search(&*query, &collectors).map_err(failed)?;
            (top.extract(&mut fruit), fruit)
        };
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

        let snippets = self.snippet_generator(&searcher, &word_queries)?;
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
                        text(fields.text).chars().take(SNIPPET_CHARS).collect()
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
        Ok(Some(SearchResponse {
            results: results.into_iter().map(|(_, result)| result).collect(),
            facets,
            total_size,
            next_page_token,
        }))
    }

    /// The names of the best `limit` matches of `request` (its words and filters), whoever may
    /// see them: the candidates to ask governance about when a scope can not be a filter.
    pub fn matching_names(
        &self,
        request: &SearchRequest,
        limit: usize,
    ) -> Result<Vec<String>, ApiError> {
        let searcher = self.reader.searcher();
        let word_queries = self.word_queries(&searcher, &request.query)?;
        let clauses = self.clauses(request, &word_queries)?;
        let query: Box<dyn Query> = if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let failed = |e: tantivy::TantivyError| ApiError::internal(format!("search: {e}"));
        let hits = searcher
            .search(&*query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(failed)?;
        let mut names = Vec::with_capacity(hits.len());
        for (_, address) in hits {
            let doc: TantivyDocument = searcher.doc(address).map_err(failed)?;
            if let Some(name) = doc.get_first(self.fields.name).and_then(|v| v.as_str()) {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// The request's words and filters, each required.
    fn clauses(
        &self,
        request: &SearchRequest,
        word_queries: &[Box<dyn Query>],
    ) -> Result<Vec<Clause>, ApiError> {
        let mut clauses: Vec<Clause> = word_queries
            .iter()
            .map(|query| (Occur::Must, query.box_clone()))
            .collect();
        clauses.extend(
            self.filters(request)?
                .into_iter()
                .map(|filter| (Occur::Must, filter)),
        );
        Ok(clauses)
    }

    /// One query per word, each to be required: the word among a document's words, exactly or
    /// (a word the index does not hold) within its edit distance. None for an empty query.
    fn word_queries(
        &self,
        searcher: &Searcher,
        query: &str,
    ) -> Result<Vec<Box<dyn Query>>, ApiError> {
        let words_field = self.fields.words;
        let mut tokenizer = searcher
            .index()
            .tokenizer_for_field(words_field)
            .map_err(|e| ApiError::internal(format!("search tokenizer: {e}")))?;
        let mut words = Vec::new();
        let mut stream = tokenizer.token_stream(query);
        while let Some(token) = stream.next() {
            words.push(token.text.clone());
        }
        words.dedup();
        if words.len() > MAX_QUERY_WORDS {
            return Err(invalid("query", format!("at most {MAX_QUERY_WORDS} words")));
        }
        let mut per_word = Vec::with_capacity(words.len());
        for word in words {
            let exact = Term::from_field_text(words_field, &word);
            // A word the index holds is taken as written: expanding it too made every
            // multi-word query a union of up to 50 terms per word (34 ms p99 at 1M assets).
            let known = searcher
                .doc_freq(&exact)
                .map_err(|e| ApiError::internal(format!("search: {e}")))?
                > 0;
            // A plain term (no boost, with frequencies) keeps a conjunction of known words
            // eligible for tantivy's block-max pruning.
            let query: Box<dyn Query> = if known {
                Box::new(TermQuery::new(exact, IndexRecordOption::WithFreqs))
            } else {
                let alternatives = expand(searcher, words_field, &word)?
                    .into_iter()
                    .map(|(term, exact)| {
                        let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                        let boost = if exact { 1.0 } else { FUZZY_WEIGHT };
                        let boosted: Box<dyn Query> =
                            Box::new(BoostQuery::new(Box::new(query), boost));
                        (Occur::Should, boosted)
                    })
                    .collect();
                Box::new(BooleanQuery::new(alternatives))
            };
            per_word.push(query);
        }
        Ok(per_word)
    }

    /// Highlights the query's words in the stored text (which is not indexed itself: the words
    /// are, so the generator is given the query's terms and the words' tokenizer).
    fn snippet_generator(
        &self,
        searcher: &Searcher,
        word_queries: &[Box<dyn Query>],
    ) -> Result<SnippetGenerator, ApiError> {
        let mut terms = BTreeMap::new();
        let mut failed = None;
        let mut visit = |term: &Term, _| {
            if let Some(text) = term.value().as_str() {
                match searcher.doc_freq(term) {
                    // Rarer words weigh more in choosing the fragment, as in tantivy's own.
                    Ok(0) => {}
                    Ok(frequency) => {
                        terms.insert(text.to_string(), 1.0 / (1.0 + frequency as f32));
                    }
                    Err(error) => failed = Some(error),
                }
            }
        };
        for query in word_queries {
            query.query_terms(&mut visit);
        }
        if let Some(error) = failed {
            return Err(ApiError::internal(format!("search snippets: {error}")));
        }
        let tokenizer = searcher
            .index()
            .tokenizers()
            .get(TOKENIZER)
            .ok_or_else(|| ApiError::internal("search snippets: no tokenizer"))?;
        Ok(SnippetGenerator::new(
            terms,
            tokenizer,
            self.fields.text,
            SNIPPET_CHARS,
        ))
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

/// The word's own term, plus the index terms within its edit distance (typo tolerance).
fn expand(searcher: &Searcher, field: Field, word: &str) -> Result<Vec<(Term, bool)>, ApiError> {
    let exact = Term::from_field_text(field, word);
    let mut terms = vec![(exact.clone(), true)];
    let distance = distance_for(word);
    if distance == 0 {
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
