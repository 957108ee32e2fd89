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
use crate::access::AccessIndex;
use weft_runtime::Caller;

/// Whether `subject` acts as `principal` (is it, or is in that group or project).
fn acts_as(index: &AccessIndex, caller: &Caller, principal: &str) -> bool {
    caller.subject() == principal
        || index
            .memberships()
            .acting_as(caller.subject(), &caller.principal.groups)
            .iter()
            .any(|acting| acting.principal == principal)
}

impl Governance {
    pub(crate) fn may_read_grant(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        grant: &Grant,
    ) -> bool {
        caller.is_admin
            || grant.granted_by == caller.subject()
            || acts_as(index, caller, &grant.principal)
            || self.require_grant_rights(index, caller, grant).is_ok()
    }

    fn may_read_subscription_of(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        project: &str,
        product: &str,
    ) -> bool {
        caller.is_admin
            || acts_as(index, caller, project)
            || self.may_approve(index, caller, product)
    }

    pub(crate) fn may_read_request(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        request: &SubscriptionRequest,
    ) -> bool {
        request.requested_by == caller.subject()
            || self.may_read_subscription_of(index, caller, &request.project, &request.data_product)
    }

    pub(crate) fn may_read_subscription(
        &self,
        index: &AccessIndex,
        caller: &Caller,
        subscription: &Subscription,
    ) -> bool {
        self.may_read_subscription_of(
            index,
            caller,
            &subscription.project,
            &subscription.data_product,
        )
    }
}
