//! Who may read a grant, a subscription request or a subscription (GetGrant, ListGrants and
//! their subscription counterparts are open to every authenticated caller at the gateway, and
//! hold row filters and who consumes what): an administrator, and the parties to it:
//! - a grant: its grantee (or a member of the grantee group or project), who granted it, and
//!   whoever may grant or revoke it (the target's owners and holders of MANAGE_GRANTS there);
//! - a request or a subscription: the members of its project, who requested it, and whoever
//!   may decide requests for its product (owners and approvers).
//!
//! Anything else is answered as if it did not exist (NOT_FOUND; left out of listings).

use weft_proto::weft::governance::v1::{Grant, Subscription, SubscriptionRequest};

use super::Governance;
use crate::access::{AccessIndex, Subject};

/// Whether `subject` acts as `principal` (is it, or is in that group or project).
fn acts_as(index: &AccessIndex, subject: &Subject, principal: &str) -> bool {
    subject.principal == principal
        || index
            .memberships()
            .acting_as(&subject.principal, &subject.groups)
            .iter()
            .any(|acting| acting.principal == principal)
}

impl Governance {
    pub(crate) fn may_read_grant(
        &self,
        index: &AccessIndex,
        subject: &Subject,
        grant: &Grant,
    ) -> bool {
        subject.is_admin
            || grant.granted_by == subject.principal
            || acts_as(index, subject, &grant.principal)
            || self.require_grant_rights(index, subject, grant).is_ok()
    }

    fn may_read_subscription_of(
        &self,
        index: &AccessIndex,
        subject: &Subject,
        project: &str,
        product: &str,
    ) -> bool {
        subject.is_admin
            || acts_as(index, subject, project)
            || self.may_approve(index, subject, product)
    }

    pub(crate) fn may_read_request(
        &self,
        index: &AccessIndex,
        subject: &Subject,
        request: &SubscriptionRequest,
    ) -> bool {
        request.requested_by == subject.principal
            || self.may_read_subscription_of(
                index,
                subject,
                &request.project,
                &request.data_product,
            )
    }

    pub(crate) fn may_read_subscription(
        &self,
        index: &AccessIndex,
        subject: &Subject,
        subscription: &Subscription,
    ) -> bool {
        self.may_read_subscription_of(
            index,
            subject,
            &subscription.project,
            &subscription.data_product,
        )
    }
}
