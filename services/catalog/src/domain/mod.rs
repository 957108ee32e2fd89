//! The catalog's domain logic: validation and the rules of each resource, independent of gRPC.
//! Every mutation goes through `mutations` (create / update / delete), which runs it in one write
//! transaction together with its outbox event, its journal record and its idempotency record.

pub mod assets;
pub mod contracts;
pub mod custom_properties;
pub mod data_products;
pub mod domains;
pub mod forms;
pub mod glossaries;
pub mod mutations;
pub mod publish_rules;
pub mod publishing;
pub mod references;
pub mod schemas;
pub mod tag_keys;
pub mod time;

use std::sync::Arc;

use weft_proto::weft::catalog::v1::{SearchRequest, SearchResponse};
use weft_runtime::ApiError;
use weft_storage::Store;

use self::publish_rules::PublishRules;
use crate::search::SearchIndex;

/// The catalog, as the gRPC adapter sees it.
#[derive(Clone)]
pub struct Catalog {
    store: Store,
    search: Arc<SearchIndex>,
    publish_rules: PublishRules,
}

impl Catalog {
    pub fn new(store: Store, search: Arc<SearchIndex>, publish_rules: PublishRules) -> Self {
        Self {
            store,
            search,
            publish_rules,
        }
    }

    pub fn publish_rules(&self) -> &PublishRules {
        &self.publish_rules
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Searches the index. Results are eventually consistent with writes: the index follows the
    /// outbox, a write shows up within milliseconds (see `search::index`).
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResponse, ApiError> {
        self.search.search(&request).await
    }
}
