//! Where each resource kind keeps the fields `catalog_resources` indexes.

use prost_types::Timestamp;
use weft_proto::weft::catalog::v1::{DataProduct, Domain, LifecycleState};
use weft_proto::weft::common::v1::Tag;

use super::resources::Stored;

impl Stored for Domain {
    const KIND: &'static str = "domain";

    fn name(&self) -> &str {
        &self.name
    }

    fn parent(&self) -> Option<String> {
        Some(self.parent_domain.clone()).filter(|parent| !parent.is_empty())
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn create_time(&self) -> Option<&Timestamp> {
        self.create_time.as_ref()
    }

    fn update_time(&self) -> Option<&Timestamp> {
        self.update_time.as_ref()
    }

    fn set_stored_fields(&mut self, etag: String, create_time: Timestamp, update_time: Timestamp) {
        self.etag = etag;
        self.create_time = Some(create_time).filter(|t| *t != Timestamp::default());
        self.update_time = Some(update_time).filter(|t| *t != Timestamp::default());
    }
}

impl Stored for DataProduct {
    const KIND: &'static str = "data_product";

    fn name(&self) -> &str {
        &self.name
    }

    /// The product's domain: the name up to "/dataProducts/".
    fn parent(&self) -> Option<String> {
        self.name
            .split_once("/dataProducts/")
            .map(|(domain, _)| domain.to_string())
    }

    fn state(&self) -> Option<String> {
        Some(lifecycle_column(self.lifecycle_state()).to_string())
    }

    fn owners(&self) -> &[String] {
        &self.owners
    }

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn create_time(&self) -> Option<&Timestamp> {
        self.create_time.as_ref()
    }

    fn update_time(&self) -> Option<&Timestamp> {
        self.update_time.as_ref()
    }

    fn set_stored_fields(&mut self, etag: String, create_time: Timestamp, update_time: Timestamp) {
        self.etag = etag;
        self.create_time = Some(create_time).filter(|t| *t != Timestamp::default());
        self.update_time = Some(update_time).filter(|t| *t != Timestamp::default());
    }
}

/// The `state` column value of a lifecycle state, e.g. "DRAFT".
pub fn lifecycle_column(state: LifecycleState) -> &'static str {
    state.as_str_name().trim_start_matches("LIFECYCLE_STATE_")
}
