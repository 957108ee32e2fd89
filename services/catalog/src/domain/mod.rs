//! The catalog's domain logic: validation and the rules of each resource, independent of gRPC.
//! Every mutation goes through the shared resource store (`weft_storage::resources`: create /
//! update / delete), which runs it in one write transaction together with its outbox event, its
//! journal record and its idempotency record.

pub mod assets;
pub mod contracts;
mod control;
pub mod custom_properties;
pub mod data_products;
pub mod domains;
pub mod forms;
pub mod glossaries;
pub mod inherited_tags;
pub mod locations;
pub mod publish_rules;
pub mod publishing;
pub mod references;
pub mod schemas;
pub mod tag_keys;
pub mod visibility;

use std::sync::Arc;

use weft_proto::weft::catalog::v1::{
    SearchRequest, SearchResponse, SearchResult, SearchResultType,
};
use weft_runtime::{ApiError, Caller};
use weft_storage::Store;

use self::publish_rules::PublishRules;
use self::visibility::Visibility;
use crate::search::{SearchIndex, Visible};

/// The catalog, as the gRPC adapter sees it.
#[derive(Clone)]
pub struct Catalog {
    store: Store,
    search: Arc<SearchIndex>,
    publish_rules: PublishRules,
    visibility: Visibility,
}

impl Catalog {
    pub fn new(
        store: Store,
        search: Arc<SearchIndex>,
        publish_rules: PublishRules,
        visibility: Visibility,
    ) -> Self {
        Self {
            store,
            search,
            publish_rules,
            visibility,
        }
    }

    pub fn visibility(&self) -> &Visibility {
        &self.visibility
    }

    pub fn publish_rules(&self) -> &PublishRules {
        &self.publish_rules
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Searches the index. Results are eventually consistent with writes: the index follows the
    /// outbox, a write shows up within milliseconds (see `search::index`). Hits, `total_size`
    /// and facet counts are only over what the caller may DESCRIBE: the index filters on
    /// governance's DESCRIBE scope of the caller; when that scope can not be a filter (a
    /// tag-based grant, a guardrail on DESCRIBE), the best `MAX_CHECKED_MATCHES` matches are
    /// each decided by governance and the counts are over those. The page is checked once more
    /// (the index and governance's projection follow the catalog separately).
    pub async fn search(
        &self,
        caller: &Caller,
        request: SearchRequest,
    ) -> Result<SearchResponse, ApiError> {
        let searched = match self.visibility.visible(caller).await? {
            Some(visible) => self.search.search(&request, &visible).await?,
            None => None,
        };
        let mut response = match searched {
            Some(response) => response,
            None => {
                let candidates = self.search.matching_names(&request, MAX_CHECKED_MATCHES)?;
                let mut visible = candidates;
                self.visibility
                    .retain_describable(caller, &mut visible, |name| described_name(name.as_str()))
                    .await?;
                self.search
                    .search(&request, &Visible::Names(visible))
                    .await?
                    .ok_or_else(|| ApiError::internal("search: a list of names is a filter"))?
            }
        };
        self.visibility
            .retain_describable(caller, &mut response.results, described_resource)
            .await?;
        Ok(response)
    }
}

/// Most matches of a search decided one by one (when the caller's scope can not be a filter):
/// the counts of such a search are over its best this many matches, as deep as paging reaches.
const MAX_CHECKED_MATCHES: usize = 10_000;

/// The resource a search hit shows; glossary terms are every caller's to see.
fn described_resource(hit: &SearchResult) -> Option<&str> {
    match hit.r#type() {
        SearchResultType::GlossaryTerm => None,
        _ => Some(hit.name.as_str()),
    }
}

/// The resource a search document's name shows (as `described_resource`).
fn described_name(name: &str) -> Option<&str> {
    (!name.starts_with("glossaries/")).then_some(name)
}
