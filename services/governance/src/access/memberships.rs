//! Who acts as whom: a user's groups (governance's groups and its token's) and the projects it
//! or one of its groups belongs to, with the role it has there.

use std::collections::{BTreeSet, HashMap};

use weft_proto::weft::common::v1::Permission;
use weft_proto::weft::governance::v1::{Group, Project, ProjectRole};

/// One principal a subject acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub principal: String,
    /// For a project: the subject's role in it, which bounds what of the project's rights the
    /// subject may use. `None` for the subject itself and its groups (all their rights).
    pub role: Option<ProjectRole>,
}

impl Acting {
    /// Whether the subject may use `permission` when the principal holds it (by a grant or by
    /// owning the resource). Each project role gets what its name promises (see `ProjectRole`
    /// in principals.proto): an OWNER all of the project's rights; a CONTRIBUTOR works with
    /// the data and metadata (not DROP, not MANAGE_GRANTS); a CONSUMER queries (DESCRIBE,
    /// SELECT); a VIEWER only sees (DESCRIBE).
    pub fn may_use(&self, permission: Permission) -> bool {
        match self.role {
            None | Some(ProjectRole::Owner) => true,
            Some(ProjectRole::Contributor) => {
                !matches!(permission, Permission::Drop | Permission::ManageGrants)
            }
            Some(ProjectRole::Consumer) => {
                matches!(permission, Permission::Describe | Permission::Select)
            }
            Some(ProjectRole::Viewer | ProjectRole::Unspecified) => {
                permission == Permission::Describe
            }
        }
    }

    /// Whether the subject may manage what the principal owns or holds: grant and revoke,
    /// decide subscription requests, change owners. Only the principal itself, its groups and a
    /// project's OWNERs.
    pub fn may_manage(&self) -> bool {
        self.may_use(Permission::ManageGrants)
    }
}

#[derive(Default)]
pub struct Memberships {
    /// group → its members.
    group_members: HashMap<String, Vec<String>>,
    /// user → groups listing it.
    groups_of: HashMap<String, BTreeSet<String>>,
    /// project → its members and roles.
    project_members: HashMap<String, Vec<(String, ProjectRole)>>,
    /// user or group → projects it is a member of, with its role.
    projects_of: HashMap<String, Vec<(String, ProjectRole)>>,
}

impl Memberships {
    pub fn put_group(&mut self, group: &Group) {
        self.remove_group(&group.name);
        for member in &group.members {
            self.groups_of
                .entry(member.clone())
                .or_default()
                .insert(group.name.clone());
        }
        self.group_members
            .insert(group.name.clone(), group.members.clone());
    }

    pub fn remove_group(&mut self, name: &str) {
        for member in self.group_members.remove(name).unwrap_or_default() {
            if let Some(groups) = self.groups_of.get_mut(&member) {
                groups.remove(name);
                if groups.is_empty() {
                    self.groups_of.remove(&member);
                }
            }
        }
    }

    pub fn put_project(&mut self, project: &Project) {
        self.remove_project(&project.name);
        let members: Vec<(String, ProjectRole)> = project
            .members
            .iter()
            .map(|member| (member.principal.clone(), member.role()))
            .collect();
        for (principal, role) in &members {
            self.projects_of
                .entry(principal.clone())
                .or_default()
                .push((project.name.clone(), *role));
        }
        self.project_members.insert(project.name.clone(), members);
    }

    pub fn remove_project(&mut self, name: &str) {
        for (principal, _) in self.project_members.remove(name).unwrap_or_default() {
            if let Some(projects) = self.projects_of.get_mut(&principal) {
                projects.retain(|(project, _)| project != name);
                if projects.is_empty() {
                    self.projects_of.remove(&principal);
                }
            }
        }
    }

    /// The role of `principal` (or of one of `groups`) in `project`, the strongest if several.
    pub fn role_in(
        &self,
        project: &str,
        principal: &str,
        groups: &[String],
    ) -> Option<ProjectRole> {
        let members = self.project_members.get(project)?;
        members
            .iter()
            .filter(|(member, _)| member == principal || groups.contains(member))
            .map(|(_, role)| *role)
            .min_by_key(|role| *role as i32)
    }

    /// Every principal `subject` acts as: itself, its groups (token's and governance's), and
    /// the projects it or its groups belong to.
    pub fn acting_as(&self, subject: &str, token_groups: &[String]) -> Vec<Acting> {
        let mut acting = vec![Acting {
            principal: subject.to_string(),
            role: None,
        }];
        // Sorted and without duplicates; a few names, so a sorted vector rather than a tree.
        let mut groups: Vec<&str> = token_groups.iter().map(String::as_str).collect();
        if let Some(stored) = self.groups_of.get(subject) {
            groups.extend(stored.iter().map(String::as_str));
        }
        groups.sort_unstable();
        groups.dedup();
        for group in &groups {
            acting.push(Acting {
                principal: (*group).to_string(),
                role: None,
            });
        }
        let mut projects: Vec<(String, ProjectRole)> = Vec::new();
        for member in std::iter::once(subject).chain(groups.iter().copied()) {
            if let Some(roles) = self.projects_of.get(member) {
                projects.extend(roles.iter().cloned());
            }
        }
        projects.sort_by(|a, b| a.0.cmp(&b.0).then((a.1 as i32).cmp(&(b.1 as i32))));
        projects.dedup_by(|later, earlier| later.0 == earlier.0);
        for (project, role) in projects {
            acting.push(Acting {
                principal: project,
                role: Some(role),
            });
        }
        acting
    }

    pub fn has_project(&self, project: &str) -> bool {
        self.project_members.contains_key(project)
    }

    pub fn groups(&self) -> impl Iterator<Item = &String> {
        self.group_members.keys()
    }
}

#[cfg(test)]
mod tests {
    use weft_proto::weft::governance::v1::ProjectMember;

    use super::*;

    #[test]
    fn a_user_acts_as_its_groups_and_their_projects() {
        let mut memberships = Memberships::default();
        memberships.put_group(&Group {
            name: "groups/analysts".into(),
            members: vec!["users/alice".into()],
            ..Default::default()
        });
        memberships.put_project(&Project {
            name: "projects/churn".into(),
            members: vec![ProjectMember {
                principal: "groups/analysts".into(),
                role: ProjectRole::Consumer as i32,
            }],
            ..Default::default()
        });
        memberships.put_project(&Project {
            name: "projects/board".into(),
            members: vec![ProjectMember {
                principal: "users/alice".into(),
                role: ProjectRole::Viewer as i32,
            }],
            ..Default::default()
        });
        let acting = memberships.acting_as("users/alice", &["groups/token".into()]);
        let names: Vec<(&str, bool)> = acting
            .iter()
            .map(|a| (a.principal.as_str(), a.may_use(Permission::Select)))
            .collect();
        assert_eq!(
            names,
            vec![
                ("users/alice", true),
                ("groups/analysts", true),
                ("groups/token", true),
                ("projects/board", false),
                ("projects/churn", true),
            ]
        );
        // Leaving the group leaves its projects.
        memberships.put_group(&Group {
            name: "groups/analysts".into(),
            members: vec![],
            ..Default::default()
        });
        assert_eq!(memberships.acting_as("users/alice", &[]).len(), 2);
        memberships.remove_project("projects/board");
        assert_eq!(memberships.acting_as("users/alice", &[]).len(), 1);
    }
}
