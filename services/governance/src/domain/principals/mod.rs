//! Principals: users, groups with members, projects with member roles, and service accounts.
//! Users, groups and service accounts are managed by administrators; any authenticated user may
//! create a project (and becomes its OWNER); a project's OWNERs and administrators manage it.

use futures::future::BoxFuture;
use prost::Message;
use weft_proto::resource::Resource;
use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, Violation, fieldmask, validate};
use weft_storage::resources::{self, Edit};

use super::{Governance, Indexed, list_filtered, no_state, require_admin};
use weft_runtime::Caller;

/// Most members of a group or project.
const MAX_MEMBERS: usize = 1_000;
/// Resources listed at most when a deletion is refused because the principal holds them.
const MAX_LISTED_HOLDINGS: usize = 20;

fn validate_email(errors: &mut FieldErrors, field: &str, email: &str) {
    let valid = email.is_empty()
        || email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
        });
    if !valid || email.len() > 254 {
        errors.add(field, "must be an e-mail address");
    }
}

fn validate_members(errors: &mut FieldErrors, field: &str, members: &[String]) {
    if members.len() > MAX_MEMBERS {
        errors.add(field, format!("must list at most {MAX_MEMBERS} members"));
        return;
    }
    for (index, member) in members.iter().enumerate() {
        if validate::principal(errors, &format!("{field}[{index}]"), member)
            && !member.starts_with("users/")
            && !member.starts_with("serviceAccounts/")
        {
            errors.add(
                format!("{field}[{index}]"),
                "a group's members are users or service accounts",
            );
        }
    }
    let mut sorted = members.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != members.len() {
        errors.add(field, "must not repeat a member");
    }
}

fn validate_project_members(errors: &mut FieldErrors, members: &[ProjectMember]) {
    if members.len() > MAX_MEMBERS {
        errors.add(
            "project.members",
            format!("must list at most {MAX_MEMBERS} members"),
        );
        return;
    }
    for (index, member) in members.iter().enumerate() {
        let field = format!("project.members[{index}]");
        if validate::principal(errors, &format!("{field}.principal"), &member.principal)
            && member.principal.starts_with("projects/")
        {
            errors.add(
                format!("{field}.principal"),
                "a project's members are users, groups or service accounts",
            );
        }
        if member.role() == ProjectRole::Unspecified {
            errors.add(
                format!("{field}.role"),
                "must be OWNER, CONTRIBUTOR, CONSUMER or VIEWER",
            );
        }
    }
    let mut principals: Vec<&str> = members.iter().map(|m| m.principal.as_str()).collect();
    principals.sort();
    principals.dedup();
    if principals.len() != members.len() {
        errors.add("project.members", "must not list a principal twice");
    }
}

/// The get of one kind, with the name checked first.
async fn get_kind<R: Resource>(
    governance: &Governance,
    name: &str,
    collection: &str,
) -> Result<R, ApiError> {
    let mut errors = FieldErrors::new();
    validate::name(&mut errors, "name", name, &[collection]);
    errors.into_result()?;
    resources::get(governance.store().db(), name).await
}

/// Creates `value` named `{collection}/{id}` (idempotent by `request_id`).
async fn create_kind<R: Resource + 'static>(
    governance: &Governance,
    caller: &Caller,
    method: &'static str,
    request_id: &str,
    request: &impl Message,
    value: R,
) -> Result<R, ApiError> {
    let created = resources::create(
        governance.store(),
        caller.subject(),
        method,
        request_id,
        request,
        move |_| -> BoxFuture<'_, Result<R, ApiError>> { Box::pin(async move { Ok(value) }) },
    )
    .await?;
    governance.applied(created).await
}

/// A kind whose update replaces the fields its mask names with the request's values, one field
/// at a time; a mask path it does not know is INVALID_ARGUMENT naming it.
trait MaskedFields: Resource + Send + 'static {
    fn set_field(&mut self, field: &str, input: &Self) -> Result<(), ApiError>;
}

impl MaskedFields for User {
    fn set_field(&mut self, field: &str, input: &Self) -> Result<(), ApiError> {
        match field {
            "display_name" => self.display_name = input.display_name.clone(),
            "email" => self.email = input.email.clone(),
            other => return Err(fieldmask::unhandled(other)),
        }
        Ok(())
    }
}

impl MaskedFields for Group {
    fn set_field(&mut self, field: &str, input: &Self) -> Result<(), ApiError> {
        match field {
            "display_name" => self.display_name = input.display_name.clone(),
            "members" => self.members = input.members.clone(),
            other => return Err(fieldmask::unhandled(other)),
        }
        Ok(())
    }
}

impl MaskedFields for ServiceAccount {
    fn set_field(&mut self, field: &str, input: &Self) -> Result<(), ApiError> {
        match field {
            "display_name" => self.display_name = input.display_name.clone(),
            "owners" => self.owners = input.owners.clone(),
            other => return Err(fieldmask::unhandled(other)),
        }
        Ok(())
    }
}

/// Updates the resource `input` names, at `input`'s etag: the masked `fields` taken from
/// `input` (validated by the caller).
async fn update_fields<R: MaskedFields>(
    governance: &Governance,
    caller: &Caller,
    method: &'static str,
    input: R,
    fields: Vec<&'static str>,
) -> Result<R, ApiError> {
    let (name, etag) = (input.name().to_string(), input.etag().to_string());
    let updated = resources::update(
        governance.store(),
        caller.subject(),
        Edit::new(method, &name, &etag).mask(&fields),
        move |_, mut current: R| {
            Box::pin(async move {
                for field in &fields {
                    current.set_field(field, &input)?;
                }
                Ok(current)
            })
        },
    )
    .await?;
    governance.applied(updated).await
}

/// Deletes resource `name` of `collection` (NOT_FOUND when absent, ABORTED on a stale etag).
async fn delete_kind<R: Resource>(
    governance: &Governance,
    caller: &Caller,
    method: &'static str,
    collection: &str,
    name: &str,
    etag: &str,
) -> Result<(), ApiError> {
    get_kind::<R>(governance, name, collection).await?;
    resources::delete::<R, _>(
        governance.store(),
        caller.subject(),
        Edit::new(method, name, etag),
        |_, _| Box::pin(async { Ok(()) }),
    )
    .await?;
    governance.applied(()).await
}

mod groups;
mod projects;
mod service_accounts;
mod users;
