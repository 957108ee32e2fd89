//! The catalog's domain logic: validation and the rules of each resource, independent of gRPC.
//! Every mutation runs in one write transaction that also appends its outbox event and journal
//! record (see `weft_storage::write`).

pub mod data_products;
pub mod domains;
pub mod time;

use prost::Message;
use weft_storage::{Change, Store};

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

/// Type URL prefix of event payloads.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/weft.catalog.v1.";

/// A change record for the outbox and the journal.
pub(crate) fn change(
    action: &str,
    event_type: &str,
    resource: &str,
    payload_type: &str,
    payload: &impl Message,
    detail: serde_json::Value,
) -> Change {
    Change {
        action: action.to_string(),
        event_type: event_type.to_string(),
        resource: resource.to_string(),
        payload: prost_types::Any {
            type_url: format!("{TYPE_URL_PREFIX}{payload_type}"),
            value: payload.encode_to_vec(),
        },
        detail,
    }
}

/// Checks an etag a client sent (empty: no check).
pub(crate) fn check_etag(
    resource: &str,
    sent: &str,
    current: &str,
) -> Result<(), weft_runtime::ApiError> {
    if !sent.is_empty() && sent != current {
        return Err(weft_runtime::ApiError::stale_etag(resource));
    }
    Ok(())
}

/// The revision an etag stands for (etags are the stored revision).
pub(crate) fn revision_of(etag: &str) -> i64 {
    etag.parse().unwrap_or_default()
}
