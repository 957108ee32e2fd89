//! The catalog's domain logic: validation and the rules of each resource, independent of gRPC.
//! Every mutation goes through `mutations` (create / update / delete), which runs it in one write
//! transaction together with its outbox event, its journal record and its idempotency record.

pub mod assets;
pub mod data_products;
pub mod domains;
pub mod forms;
pub mod glossaries;
pub mod mutations;
pub mod references;
pub mod schemas;
pub mod tag_keys;
pub mod time;
pub mod types;

use weft_storage::Store;

/// The catalog, as the gRPC adapter sees it.
#[derive(Clone)]
pub struct Catalog {
    store: Store,
}

impl Catalog {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
