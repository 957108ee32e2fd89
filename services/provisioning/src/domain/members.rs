//! Who may do what with an environment: its project's members, by role (as `ProjectRole`
//! promises in principals.proto). A caller who may not see an environment gets the same
//! PERMISSION_DENIED whether it exists or not (its project is only known once it is read).

use weft_proto::weft::governance::v1::ProjectRole;
use weft_runtime::{ApiError, Caller};
use weft_storage::resources;

use super::Provisioning;

/// Roles that may see a project's environments.
pub const SEE: &[ProjectRole] = &[
    ProjectRole::Owner,
    ProjectRole::Contributor,
    ProjectRole::Consumer,
    ProjectRole::Viewer,
];
/// Roles that may use an environment's credentials (query the data the project holds).
pub const USE: &[ProjectRole] = &[
    ProjectRole::Owner,
    ProjectRole::Contributor,
    ProjectRole::Consumer,
];
/// Roles that may create, change and delete a project's environments.
pub const MANAGE: &[ProjectRole] = &[ProjectRole::Owner, ProjectRole::Contributor];

impl Provisioning {
    /// The caller's role in `project`, if it is a member.
    pub(crate) async fn role_in(
        &self,
        caller: &Caller,
        project: &str,
    ) -> Result<Option<ProjectRole>, ApiError> {
        Ok(self
            .memberships
            .projects_of(caller)
            .await?
            .into_iter()
            .find(|(name, _)| name == project)
            .map(|(_, role)| role))
    }

    /// For listings: the condition "an environment of one of the caller's projects"; `None`
    /// when the caller belongs to no project (it sees nothing).
    pub(crate) async fn own_environments(
        &self,
        caller: &Caller,
    ) -> Result<Option<resources::Condition>, ApiError> {
        Ok(resources::Condition::any(
            self.memberships
                .projects_of(caller)
                .await?
                .iter()
                .map(|(project, _)| resources::subject_is(project)),
        ))
    }

    /// PERMISSION_DENIED unless the caller's role in `project` is one of `roles`
    /// (administrators pass when `admins` says so). `what` names the refused action.
    pub(crate) async fn require_role(
        &self,
        caller: &Caller,
        project: &str,
        roles: &[ProjectRole],
        admins: bool,
        what: &str,
    ) -> Result<(), ApiError> {
        if admins && caller.is_admin {
            return Ok(());
        }
        match self.role_in(caller, project).await? {
            Some(role) if roles.contains(&role) => Ok(()),
            _ => Err(ApiError::PermissionDenied(format!(
                "{what}: only members of the environment's project with the role to do it may"
            ))),
        }
    }
}

/// The refusal of a caller who may not see `name` (the same whether it exists or not).
pub fn hidden(name: &str, what: &str) -> ApiError {
    ApiError::PermissionDenied(format!(
        "{what}: {name} does not exist or is not one of your projects' environments"
    ))
}
