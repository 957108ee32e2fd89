//! Governance's resource kinds.

use super::{Resource, non_empty, standard_fields};
use crate::weft::governance::v1::{
    Grant, Group, Policy, Project, Rule, ServiceAccount, Subscription, SubscriptionRequest, User,
    grant,
};

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
        non_empty(&self.domain)
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
        non_empty(&self.domain)
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
        non_empty(&self.domain)
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
