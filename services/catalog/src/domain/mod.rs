//! The catalog's domain logic: validation and the rules of each resource, independent of gRPC.
//! Every mutation goes through `mutations` (create / update / delete), which runs it in one write
//! transaction together with its outbox event, its journal record and its idempotency record.

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
pub mod mutations;
pub mod publish_rules;
pub mod publishing;
pub mod references;
pub mod schemas;
pub mod tag_keys;
pub mod time;
pub mod visibility;

use std::sync::Arc;

use weft_proto::weft::catalog::v1::{
    SearchRequest, SearchResponse, SearchResult, SearchResultType,
};
use weft_runtime::{ApiError, Caller};
use weft_storage::Store;

use self::publish_rules::PublishRules;
use self::visibility::Visibility;
use crate::search::SearchIndex;

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
    /// outbox, a write shows up within milliseconds (see `search::index`). A page holds only the
    /// hits the caller may DESCRIBE (so it may hold fewer than asked; `total_size` and facet
    /// counts are those of every match).
    pub async fn search(
        &self,
        caller: &Caller,
        request: SearchRequest,
    ) -> Result<SearchResponse, ApiError> {
        let mut response = self.search.search(&request).await?;
        self.visibility
            .retain_describable(caller, &mut response.results, described_resource)
            .await?;
        Ok(response)
    }
}

/// The resource a search hit shows; glossary terms are every caller's to see.
fn described_resource(hit: &SearchResult) -> Option<&str> {
    match hit.r#type() {
        SearchResultType::GlossaryTerm => None,
        _ => Some(hit.name.as_str()),
    }
}
