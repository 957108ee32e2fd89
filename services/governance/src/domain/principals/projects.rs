//! Projects with member roles: any authenticated user may create one (and becomes its OWNER);
//! its OWNERs and administrators manage it; one that owns or approves anything is not deleted.

use super::*;

impl Governance {
    /// Creates a project; the caller becomes an OWNER when no member list names one.
    pub async fn create_project(
        &self,
        caller: &Caller,
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
            members.retain(|m| m.principal != caller.subject());
            members.insert(
                0,
                ProjectMember {
                    principal: caller.subject().to_string(),
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
            caller,
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
    fn require_project_owner(&self, caller: &Caller, project: &str) -> Result<(), ApiError> {
        if caller.is_admin {
            return Ok(());
        }
        let role = self.engine().index().memberships().role_in(
            project,
            caller.subject(),
            &caller.principal.groups,
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
        caller: &Caller,
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
        self.require_project_owner(caller, &input.name)?;
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateProject", &name, &etag).mask(&fields),
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
        caller: &Caller,
        request: DeleteProjectRequest,
    ) -> Result<(), ApiError> {
        get_kind::<Project>(self, &request.name, "projects").await?;
        self.require_project_owner(caller, &request.name)?;
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
            caller.subject(),
            Edit::new("DeleteProject", &request.name, &request.etag),
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

    /// The projects `request.principal` is a member of (itself or by a group), with its
    /// strongest role in each.
    pub fn list_caller_projects(
        &self,
        request: ListCallerProjectsRequest,
    ) -> Result<ListCallerProjectsResponse, ApiError> {
        const MAX_GROUPS: usize = 1_000;
        if request.groups.len() > MAX_GROUPS {
            return Err(ApiError::invalid("groups", format!("at most {MAX_GROUPS}")));
        }
        let index = self.engine().index();
        let projects = index
            .memberships()
            .acting_as(&request.principal, &request.groups)
            .into_iter()
            .filter_map(|acting| {
                acting.role.map(|role| ProjectMember {
                    principal: acting.principal,
                    role: role as i32,
                })
            })
            .collect();
        Ok(ListCallerProjectsResponse { projects })
    }
}
