//! What each resource kind needs for generic storage (`weft_storage::resources`): its standard
//! fields, its kind and message names, and which fields are indexed. Declared here, next to the
//! messages, like AIP-123's resource annotations (and because Rust's orphan rule keeps these
//! impls in the crate of either the trait or the type).

use prost::Message;
use prost_types::Timestamp;

use crate::weft::governance::v1::{
    Grant, Group, Policy, Project, Rule, ServiceAccount, Subscription, SubscriptionRequest, User,
    grant,
};

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
/// listed after `;`, `update_time`.
macro_rules! standard_fields {
    ($($message:ty),* $(; without_update_time $($plain:ty),*)?) => {
        $(impl StandardFields for $message {
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
        $($(impl StandardFields for $plain {
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

/// A resource kind kept in the shared resource table (`weft_storage::resources`).
pub trait Resource: StandardFields + Message + Default + Clone {
    /// Value of the `kind` column, and the prefix of its event types, e.g. "grant".
    const KIND: &'static str;
    /// Full protobuf message name, e.g. "weft.governance.v1.Grant".
    const MESSAGE: &'static str;
    /// The indexed parent, if any.
    fn parent(&self) -> Option<String> {
        None
    }
    /// The indexed subject (a grant's grantee, a request's project), if any.
    fn subject(&self) -> Option<String> {
        None
    }
    /// The indexed state, if any.
    fn state(&self) -> Option<String> {
        None
    }
}

standard_fields!(Project, Policy, Rule, SubscriptionRequest, Subscription; without_update_time User, Group, ServiceAccount, Grant);

impl Resource for User {
    const KIND: &'static str = "user";
    const MESSAGE: &'static str = "weft.governance.v1.User";
}

impl Resource for Group {
    const KIND: &'static str = "group";
    const MESSAGE: &'static str = "weft.governance.v1.Group";
}

impl Resource for Project {
    const KIND: &'static str = "project";
    const MESSAGE: &'static str = "weft.governance.v1.Project";

    fn parent(&self) -> Option<String> {
        Some(self.domain.clone()).filter(|domain| !domain.is_empty())
    }
}

impl Resource for ServiceAccount {
    const KIND: &'static str = "service_account";
    const MESSAGE: &'static str = "weft.governance.v1.ServiceAccount";
}

impl Resource for Policy {
    const KIND: &'static str = "policy";
    const MESSAGE: &'static str = "weft.governance.v1.Policy";

    fn parent(&self) -> Option<String> {
        Some(self.domain.clone()).filter(|domain| !domain.is_empty())
    }
}

impl Resource for Grant {
    const KIND: &'static str = "grant";
    const MESSAGE: &'static str = "weft.governance.v1.Grant";

    /// The resource granted on (tag-based grants have none).
    fn parent(&self) -> Option<String> {
        match &self.target {
            Some(grant::Target::Resource(resource)) => Some(resource.clone()),
            _ => None,
        }
    }

    fn subject(&self) -> Option<String> {
        Some(self.principal.clone())
    }

    fn state(&self) -> Option<String> {
        Some(self.state().as_str_name().to_string())
    }
}

impl Resource for Rule {
    const KIND: &'static str = "rule";
    const MESSAGE: &'static str = "weft.governance.v1.Rule";

    fn parent(&self) -> Option<String> {
        Some(self.domain.clone()).filter(|domain| !domain.is_empty())
    }
}

impl Resource for SubscriptionRequest {
    const KIND: &'static str = "subscription_request";
    const MESSAGE: &'static str = "weft.governance.v1.SubscriptionRequest";

    fn parent(&self) -> Option<String> {
        Some(self.data_product.clone())
    }

    fn subject(&self) -> Option<String> {
        Some(self.project.clone())
    }

    fn state(&self) -> Option<String> {
        Some(self.state().as_str_name().to_string())
    }
}

impl Resource for Subscription {
    const KIND: &'static str = "subscription";
    const MESSAGE: &'static str = "weft.governance.v1.Subscription";

    fn parent(&self) -> Option<String> {
        Some(self.data_product.clone())
    }

    fn subject(&self) -> Option<String> {
        Some(self.project.clone())
    }

    fn state(&self) -> Option<String> {
        Some(self.state().as_str_name().to_string())
    }
}
