//! Principals: users, groups with members, projects with member roles, and service accounts.
//! Users, groups and service accounts are managed by administrators; any authenticated user may
//! create a project (and becomes its OWNER); a project's OWNERs and administrators manage it.

use futures::future::BoxFuture;
use prost::Message;
use serde_json::json;
use weft_proto::resource::Resource;
use weft_proto::weft::governance::v1::*;
use weft_runtime::{ApiError, FieldErrors, Violation, fieldmask, validate};
use weft_storage::resources;

use super::{Governance, Indexed, list_filtered, no_state, require_admin};
use crate::access::Subject;

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
    subject: &Subject,
    method: &'static str,
    request_id: &str,
    request: &impl Message,
    value: R,
) -> Result<R, ApiError> {
    let created = resources::create(
        governance.store(),
        &subject.principal,
        method,
        request_id,
        request,
        move |_| -> BoxFuture<'_, Result<R, ApiError>> { Box::pin(async move { Ok(value) }) },
    )
    .await?;
    governance.applied(created).await
}

impl Governance {
    // ---- users ----

    pub async fn create_user(
        &self,
        subject: &Subject,
        request: CreateUserRequest,
    ) -> Result<User, ApiError> {
        require_admin(subject, "create users")?;
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "user_id", &request.user_id);
        let input = request.user.clone().unwrap_or_default();
        validate::description(&mut errors, "user.display_name", &input.display_name);
        validate_email(&mut errors, "user.email", &input.email);
        errors.into_result()?;
        let user = User {
            name: format!("users/{}", request.user_id),
            display_name: input.display_name,
            email: input.email,
            ..Default::default()
        };
        create_kind(
            self,
            subject,
            "CreateUser",
            &request.request_id,
            &request,
            user,
        )
        .await
    }

    pub async fn get_user(&self, name: &str) -> Result<User, ApiError> {
        get_kind(self, name, "users").await
    }

    pub async fn list_users(
        &self,
        request: ListUsersRequest,
    ) -> Result<ListUsersResponse, ApiError> {
        let (users, next_page_token) = list_filtered(
            self,
            "users",
            &request.filter,
            &[],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListUsersResponse {
            users,
            next_page_token,
        })
    }

    pub async fn update_user(
        &self,
        subject: &Subject,
        request: UpdateUserRequest,
    ) -> Result<User, ApiError> {
        require_admin(subject, "update users")?;
        let input = request.user.unwrap_or_default();
        let fields = fieldmask::resolve(request.update_mask.as_ref(), &["display_name", "email"])?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "user.name", &input.name, &["users"]);
        validate::description(&mut errors, "user.display_name", &input.display_name);
        validate_email(&mut errors, "user.email", &input.email);
        errors.into_result()?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            &subject.principal,
            "UpdateUser",
            "updated",
            &name,
            &etag,
            json!({ "update_mask": fields }),
            move |_, mut user: User| {
                Box::pin(async move {
                    for field in &fields {
                        match *field {
                            "display_name" => user.display_name = input.display_name.clone(),
                            "email" => user.email = input.email.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    Ok(user)
                })
            },
        )
        .await?;
        self.applied(updated).await
    }

    pub async fn delete_user(
        &self,
        subject: &Subject,
        request: DeleteUserRequest,
    ) -> Result<(), ApiError> {
        require_admin(subject, "delete users")?;
        get_kind::<User>(self, &request.name, "users").await?;
        resources::delete::<User, _>(
            self.store(),
            &subject.principal,
            "DeleteUser",
            &request.name,
            &request.etag,
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        self.applied(()).await
    }

    // ---- groups ----

    pub async fn create_group(
        &self,
        subject: &Subject,
        request: CreateGroupRequest,
    ) -> Result<Group, ApiError> {
        require_admin(subject, "create groups")?;
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "group_id", &request.group_id);
        let input = request.group.clone().unwrap_or_default();
        validate::description(&mut errors, "group.display_name", &input.display_name);
        validate_members(&mut errors, "group.members", &input.members);
        errors.into_result()?;
        let group = Group {
            name: format!("groups/{}", request.group_id),
            display_name: input.display_name,
            members: input.members,
            ..Default::default()
        };
        create_kind(
            self,
            subject,
            "CreateGroup",
            &request.request_id,
            &request,
            group,
        )
        .await
    }

    pub async fn get_group(&self, name: &str) -> Result<Group, ApiError> {
        get_kind(self, name, "groups").await
    }

    pub async fn list_groups(
        &self,
        request: ListGroupsRequest,
    ) -> Result<ListGroupsResponse, ApiError> {
        let (groups, next_page_token) = list_filtered(
            self,
            "groups",
            &request.filter,
            &[],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListGroupsResponse {
            groups,
            next_page_token,
        })
    }

    pub async fn update_group(
        &self,
        subject: &Subject,
        request: UpdateGroupRequest,
    ) -> Result<Group, ApiError> {
        require_admin(subject, "update groups")?;
        let input = request.group.unwrap_or_default();
        let fields =
            fieldmask::resolve(request.update_mask.as_ref(), &["display_name", "members"])?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "group.name", &input.name, &["groups"]);
        validate::description(&mut errors, "group.display_name", &input.display_name);
        validate_members(&mut errors, "group.members", &input.members);
        errors.into_result()?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            &subject.principal,
            "UpdateGroup",
            "updated",
            &name,
            &etag,
            json!({ "update_mask": fields }),
            move |_, mut group: Group| {
                Box::pin(async move {
                    for field in &fields {
                        match *field {
                            "display_name" => group.display_name = input.display_name.clone(),
                            "members" => group.members = input.members.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    Ok(group)
                })
            },
        )
        .await?;
        self.applied(updated).await
    }

    pub async fn delete_group(
        &self,
        subject: &Subject,
        request: DeleteGroupRequest,
    ) -> Result<(), ApiError> {
        require_admin(subject, "delete groups")?;
        get_kind::<Group>(self, &request.name, "groups").await?;
        resources::delete::<Group, _>(
            self.store(),
            &subject.principal,
            "DeleteGroup",
            &request.name,
            &request.etag,
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        self.applied(()).await
    }

    // ---- projects ----

    /// Creates a project; the caller becomes an OWNER when no member list names one.
    pub async fn create_project(
        &self,
        subject: &Subject,
        request: CreateProjectRequest,
    ) -> Result<Project, ApiError> {
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "project_id", &request.project_id);
        let input = request.project.clone().unwrap_or_default();
        validate::description(&mut errors, "project.display_name", &input.display_name);
        validate::description(&mut errors, "project.description", &input.description);
        validate_project_members(&mut errors, &input.members);
        if !input.domain.is_empty() {
            validate::name(&mut errors, "project.domain", &input.domain, &["domains"]);
        }
        errors.into_result()?;
        let mut members = input.members;
        if !members.iter().any(|m| m.role() == ProjectRole::Owner) {
            members.retain(|m| m.principal != subject.principal);
            members.insert(
                0,
                ProjectMember {
                    principal: subject.principal.clone(),
                    role: ProjectRole::Owner as i32,
                },
            );
        }
        let project = Project {
            name: format!("projects/{}", request.project_id),
            display_name: input.display_name,
            description: input.description,
            members,
            domain: input.domain,
            ..Default::default()
        };
        create_kind(
            self,
            subject,
            "CreateProject",
            &request.request_id,
            &request,
            project,
        )
        .await
    }

    pub async fn get_project(&self, name: &str) -> Result<Project, ApiError> {
        get_kind(self, name, "projects").await
    }

    pub async fn list_projects(
        &self,
        request: ListProjectsRequest,
    ) -> Result<ListProjectsResponse, ApiError> {
        let (projects, next_page_token) = list_filtered(
            self,
            "projects",
            &request.filter,
            &[("domain", Indexed::Parent)],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListProjectsResponse {
            projects,
            next_page_token,
        })
    }

    /// PERMISSION_DENIED unless `subject` is an administrator or an OWNER of `project`.
    fn require_project_owner(&self, subject: &Subject, project: &str) -> Result<(), ApiError> {
        if subject.is_admin {
            return Ok(());
        }
        let role = self.engine().index().memberships().role_in(
            project,
            &subject.principal,
            &subject.groups,
        );
        if role == Some(ProjectRole::Owner) {
            return Ok(());
        }
        Err(ApiError::PermissionDenied(format!(
            "only OWNERs of {project} or administrators may change it"
        )))
    }

    pub async fn update_project(
        &self,
        subject: &Subject,
        request: UpdateProjectRequest,
    ) -> Result<Project, ApiError> {
        let input = request.project.unwrap_or_default();
        let fields = fieldmask::resolve(
            request.update_mask.as_ref(),
            &["display_name", "description", "members", "domain"],
        )?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "project.name", &input.name, &["projects"]);
        validate::description(&mut errors, "project.display_name", &input.display_name);
        validate::description(&mut errors, "project.description", &input.description);
        if fields.contains(&"members") {
            validate_project_members(&mut errors, &input.members);
            if !input.members.iter().any(|m| m.role() == ProjectRole::Owner) {
                errors.add("project.members", "must keep at least one OWNER");
            }
        }
        if !input.domain.is_empty() {
            validate::name(&mut errors, "project.domain", &input.domain, &["domains"]);
        }
        errors.into_result()?;
        get_kind::<Project>(self, &input.name, "projects").await?;
        self.require_project_owner(subject, &input.name)?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            &subject.principal,
            "UpdateProject",
            "updated",
            &name,
            &etag,
            json!({ "update_mask": fields }),
            move |_, mut project: Project| {
                Box::pin(async move {
                    for field in &fields {
                        match *field {
                            "display_name" => project.display_name = input.display_name.clone(),
                            "description" => project.description = input.description.clone(),
                            "members" => project.members = input.members.clone(),
                            "domain" => project.domain = input.domain.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    Ok(project)
                })
            },
        )
        .await?;
        self.applied(updated).await
    }

    /// Deletes a project; refused while grants to it are active (revoke them first).
    pub async fn delete_project(
        &self,
        subject: &Subject,
        request: DeleteProjectRequest,
    ) -> Result<(), ApiError> {
        get_kind::<Project>(self, &request.name, "projects").await?;
        self.require_project_owner(subject, &request.name)?;
        // Whoever created a project of the same id later would own what this one owns.
        let held = self
            .engine()
            .index()
            .held_by(&request.name, MAX_LISTED_HOLDINGS);
        if !held.is_empty() {
            return Err(ApiError::precondition(
                format!(
                    "{} still owns or approves catalog resources; give them other owners first",
                    request.name
                ),
                held.into_iter()
                    .map(|resource| Violation {
                        kind: "OWNS_RESOURCES".to_string(),
                        subject: resource,
                        description: format!("{} is an owner or approver of it", request.name),
                    })
                    .collect(),
            ));
        }
        let name = request.name.clone();
        resources::delete::<Project, _>(
            self.store(),
            &subject.principal,
            "DeleteProject",
            &request.name,
            &request.etag,
            move |conn, _| {
                Box::pin(async move {
                    let active = resources::list::<Grant, _>(
                        conn,
                        vec![
                            resources::subject_is(&name),
                            resources::state_is(GrantState::Active.as_str_name()),
                        ],
                        None,
                        1,
                    )
                    .await?;
                    if !active.is_empty() {
                        return Err(ApiError::precondition(
                            format!("{name} still holds active grants; revoke them first"),
                            vec![],
                        ));
                    }
                    Ok(())
                })
            },
        )
        .await?;
        self.applied(()).await
    }

    /// The principals of `request` that are Weft's to manage (projects) and do not exist.
    pub fn find_missing_principals(
        &self,
        request: FindMissingPrincipalsRequest,
    ) -> Result<FindMissingPrincipalsResponse, ApiError> {
        const MAX_PRINCIPALS: usize = 1_000;
        if request.principals.len() > MAX_PRINCIPALS {
            return Err(ApiError::invalid(
                "principals",
                format!("at most {MAX_PRINCIPALS}"),
            ));
        }
        let index = self.engine().index();
        let missing = request
            .principals
            .into_iter()
            .filter(|principal| {
                principal.starts_with("projects/") && !index.memberships().has_project(principal)
            })
            .collect();
        Ok(FindMissingPrincipalsResponse { missing })
    }

    // ---- service accounts ----

    pub async fn create_service_account(
        &self,
        subject: &Subject,
        request: CreateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        require_admin(subject, "create service accounts")?;
        let mut errors = FieldErrors::new();
        validate::resource_id(
            &mut errors,
            "service_account_id",
            &request.service_account_id,
        );
        let input = request.service_account.clone().unwrap_or_default();
        validate::description(
            &mut errors,
            "service_account.display_name",
            &input.display_name,
        );
        validate::principals(&mut errors, "service_account.owners", &input.owners);
        errors.into_result()?;
        let account = ServiceAccount {
            name: format!("serviceAccounts/{}", request.service_account_id),
            display_name: input.display_name,
            owners: input.owners,
            ..Default::default()
        };
        create_kind(
            self,
            subject,
            "CreateServiceAccount",
            &request.request_id,
            &request,
            account,
        )
        .await
    }

    pub async fn get_service_account(&self, name: &str) -> Result<ServiceAccount, ApiError> {
        get_kind(self, name, "serviceAccounts").await
    }

    pub async fn list_service_accounts(
        &self,
        request: ListServiceAccountsRequest,
    ) -> Result<ListServiceAccountsResponse, ApiError> {
        let (service_accounts, next_page_token) = list_filtered(
            self,
            "serviceAccounts",
            &request.filter,
            &[],
            no_state,
            request.page_size,
            &request.page_token,
        )
        .await?;
        Ok(ListServiceAccountsResponse {
            service_accounts,
            next_page_token,
        })
    }

    pub async fn update_service_account(
        &self,
        subject: &Subject,
        request: UpdateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        require_admin(subject, "update service accounts")?;
        let input = request.service_account.unwrap_or_default();
        let fields = fieldmask::resolve(request.update_mask.as_ref(), &["display_name", "owners"])?;
        let mut errors = FieldErrors::new();
        validate::name(
            &mut errors,
            "service_account.name",
            &input.name,
            &["serviceAccounts"],
        );
        validate::description(
            &mut errors,
            "service_account.display_name",
            &input.display_name,
        );
        validate::principals(&mut errors, "service_account.owners", &input.owners);
        errors.into_result()?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            &subject.principal,
            "UpdateServiceAccount",
            "updated",
            &name,
            &etag,
            json!({ "update_mask": fields }),
            move |_, mut account: ServiceAccount| {
                Box::pin(async move {
                    for field in &fields {
                        match *field {
                            "display_name" => account.display_name = input.display_name.clone(),
                            "owners" => account.owners = input.owners.clone(),
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    Ok(account)
                })
            },
        )
        .await?;
        self.applied(updated).await
    }

    pub async fn delete_service_account(
        &self,
        subject: &Subject,
        request: DeleteServiceAccountRequest,
    ) -> Result<(), ApiError> {
        require_admin(subject, "delete service accounts")?;
        get_kind::<ServiceAccount>(self, &request.name, "serviceAccounts").await?;
        resources::delete::<ServiceAccount, _>(
            self.store(),
            &subject.principal,
            "DeleteServiceAccount",
            &request.name,
            &request.etag,
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        self.applied(()).await
    }
}
