//! Changes that hand over control of a resource, which the ALTER an update needs at the gateway
//! must not be enough for: with ALTER alone a user could add itself to `owners` (and so hold
//! every right), or move its domain out from under a domain whose guardrails bind it, or to the
//! root that only administrators create in. So:
//! - changing `owners` needs MANAGE_GRANTS on the resource (the right to give rights there);
//! - moving a domain needs ALTER (the right to create) under its new parent, which governance
//!   decides with the new place's guardrails; only administrators move a domain to the root.
//!
//! The check compares the request with the resource as read here, and the update is then applied
//! only at that revision (ABORTED otherwise), so what was checked is what is changed.

use std::collections::BTreeSet;

use weft_proto::weft::common::v1::Permission;
use weft_runtime::{ApiError, Caller, FieldErrors};

use super::Catalog;
use weft_storage::resources::{self, Resource};

/// Reads a stored domain's current parent.
pub(crate) type ParentOf<R> = fn(&R) -> &str;

/// What an update of an `R` would set of the fields that hand over control (`None`: not in
/// its update mask).
pub(crate) struct ControlFields<'a, R> {
    pub owners: Option<&'a [String]>,
    /// A domain's new `parent_domain`, and how to read the current one.
    pub parent: Option<(&'a str, ParentOf<R>)>,
}

fn same_principals(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

impl Catalog {
    /// Checks that `caller` may make the control changes an update of `name` (sent with
    /// `sent_etag`) makes, and returns the etag the update must be applied at.
    pub(crate) async fn authorize_control_changes<R: Resource>(
        &self,
        caller: &Caller,
        name: &str,
        sent_etag: &str,
        requested: ControlFields<'_, R>,
    ) -> Result<String, ApiError> {
        if caller.is_admin || (requested.owners.is_none() && requested.parent.is_none()) {
            return Ok(sent_etag.to_string());
        }
        let current: R = resources::get(self.store().db(), name).await?;
        resources::check_etag(name, sent_etag, current.etag())?;
        if let Some(owners) = requested.owners
            && !same_principals(owners, &current.labels().owners)
        {
            self.require(
                caller,
                Permission::ManageGrants,
                name,
                &format!("changing the owners of {name}"),
            )
            .await?;
        }
        if let Some((parent, current_parent)) = requested.parent
            && current_parent(&current) != parent
        {
            if parent.is_empty() {
                return Err(ApiError::PermissionDenied(format!(
                    "only administrators may move {name} to the catalog root"
                )));
            }
            self.require(
                caller,
                Permission::Alter,
                parent,
                &format!("moving {name} under {parent}"),
            )
            .await?;
        }
        Ok(current.etag().to_string())
    }

    /// INVALID_ARGUMENT naming each principal of `fields` (field path, principals) that Weft
    /// manages and that does not exist: a product owned by a project not created yet (or
    /// deleted) would belong to whoever created a project of that id. Users, groups and service
    /// accounts come from the identity provider and are taken as named.
    pub(crate) async fn require_existing_principals(
        &self,
        fields: &[(&str, &[String])],
    ) -> Result<(), ApiError> {
        // Each project once: a batch of assets names the same owners many times over.
        let managed: Vec<String> = fields
            .iter()
            .flat_map(|(_, principals)| principals.iter())
            .filter(|principal| principal.starts_with("projects/"))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if managed.is_empty() {
            return Ok(());
        }
        let missing = self.visibility().missing_principals(&managed).await?;
        let mut errors = FieldErrors::new();
        for (field, principals) in fields {
            for (position, principal) in principals.iter().enumerate() {
                if missing.contains(principal) {
                    errors.add(
                        format!("{field}[{position}]"),
                        format!("{principal} does not exist"),
                    );
                }
            }
        }
        errors.into_result()
    }

    /// `authorize_control_changes` for a resource whose only control field is `owners`
    /// (products, assets): `fields` is the update's resolved mask.
    pub(crate) async fn authorize_owner_change<R: Resource>(
        &self,
        caller: &Caller,
        name: &str,
        sent_etag: &str,
        fields: &[&str],
        owners: &[String],
    ) -> Result<String, ApiError> {
        self.authorize_control_changes::<R>(
            caller,
            name,
            sent_etag,
            ControlFields {
                owners: fields.contains(&"owners").then_some(owners),
                parent: None,
            },
        )
        .await
    }

    async fn require(
        &self,
        caller: &Caller,
        permission: Permission,
        resource: &str,
        what: &str,
    ) -> Result<(), ApiError> {
        if self
            .visibility()
            .allowed(caller, permission, resource)
            .await?
        {
            return Ok(());
        }
        let permission = weft_proto::permission_name(permission);
        Err(ApiError::PermissionDenied(format!(
            "{what} needs {permission} on {resource}, which {} does not hold (or it does not exist)",
            caller.subject()
        )))
    }
}
