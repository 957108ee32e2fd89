//! What each resource kind needs for generic storage (`weft_storage::resources`): its standard
//! fields, its kind and message names, which fields are indexed and which labels (owners, tags,
//! references) the store mirrors into side tables. Declared here, next to the messages, like
//! AIP-123's resource annotations (and because Rust's orphan rule keeps these impls in the crate
//! of either the trait or the type).

mod catalog;
mod governance;
mod provisioning;

pub use catalog::{asset_kind_column, lifecycle_column, term_state_column};

use prost::Message;
use prost_types::Timestamp;

use crate::weft::common::v1::Tag;

/// The fields every resource message has (`name`, `etag`, `create_time`, `update_time`).
pub trait StandardFields {
    fn name(&self) -> &str;
    fn etag(&self) -> &str;
    fn create_time(&self) -> Option<&Timestamp>;
    fn set_etag(&mut self, etag: String);
    /// Replaces both times (a message without an update time ignores the second).
    fn set_times(&mut self, create_time: Option<Timestamp>, update_time: Option<Timestamp>);
}

/// Implements `StandardFields` for messages with `name`, `etag`, `create_time` and, unless
/// listed after `without_update_time`, `update_time`.
macro_rules! standard_fields {
    ($($message:ty),* $(; without_update_time $($plain:ty),*)?) => {
        $(impl $crate::resource::StandardFields for $message {
            fn name(&self) -> &str { &self.name }
            fn etag(&self) -> &str { &self.etag }
            fn create_time(&self) -> Option<&prost_types::Timestamp> { self.create_time.as_ref() }
            fn set_etag(&mut self, etag: String) { self.etag = etag; }
            fn set_times(
                &mut self,
                create_time: Option<prost_types::Timestamp>,
                update_time: Option<prost_types::Timestamp>,
            ) {
                self.create_time = create_time;
                self.update_time = update_time;
            }
        })*
        $($(impl $crate::resource::StandardFields for $plain {
            fn name(&self) -> &str { &self.name }
            fn etag(&self) -> &str { &self.etag }
            fn create_time(&self) -> Option<&prost_types::Timestamp> { self.create_time.as_ref() }
            fn set_etag(&mut self, etag: String) { self.etag = etag; }
            fn set_times(
                &mut self,
                create_time: Option<prost_types::Timestamp>,
                _update_time: Option<prost_types::Timestamp>,
            ) {
                self.create_time = create_time;
            }
        })*)?
    };
}
use standard_fields;

/// A resource kind kept in the shared resource table (`weft_storage::resources`).
pub trait Resource: StandardFields + Message + Default + Clone {
    /// Value of the `kind` column, and the prefix of its event types, e.g. "grant".
    const KIND: &'static str;
    /// Full protobuf message name, e.g. "weft.governance.v1.Grant" (event payloads' type URL).
    const MESSAGE: &'static str;
    /// Whether the kind has labels (`labels`): kinds without skip the side tables entirely.
    const LABELED: bool = false;
    /// The indexed parent, if any.
    fn parent(&self) -> Option<String> {
        None
    }
    /// The indexed subject (a grant's grantee, a request's project), if any.
    fn subject(&self) -> Option<String> {
        None
    }
    /// The indexed state (a product's lifecycle, an asset's kind), if any.
    fn state(&self) -> Option<String> {
        None
    }
    /// What the store mirrors into side tables, for List filters and "is it still in use"
    /// checks. Only read when `LABELED`.
    fn labels(&self) -> Labels {
        Labels::default()
    }
}

/// A resource's owners, tags and references (names of other resources it uses, e.g. glossary
/// terms and metadata form types), and the tags and references of its parts.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub owners: Vec<String>,
    pub tags: Vec<Tag>,
    pub references: Vec<String>,
    pub parts: Vec<PartLabels>,
}

/// Tags and references of one part of a resource (an asset's column) by dotted path, kept in
/// the side tables under "<name>#<path>".
#[derive(Debug, Clone, Default)]
pub struct PartLabels {
    pub path: String,
    pub tags: Vec<Tag>,
    pub references: Vec<String>,
}

/// The part of a name before `/<collection>/`, e.g. the domain of a product.
fn parent_before(name: &str, collection: &str) -> Option<String> {
    name.split_once(&format!("/{collection}/"))
        .map(|(parent, _)| parent.to_string())
}

/// A reference field as an optional indexed value (empty: none).
fn non_empty(value: &str) -> Option<String> {
    Some(value.to_string()).filter(|value| !value.is_empty())
}
