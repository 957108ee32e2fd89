//! Groups with members: managed by administrators.

use super::*;

impl Governance {
    pub async fn create_group(
        &self,
        caller: &Caller,
        request: CreateGroupRequest,
    ) -> Result<Group, ApiError> {
        require_admin(caller, "create groups")?;
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
            caller,
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
        caller: &Caller,
        request: UpdateGroupRequest,
    ) -> Result<Group, ApiError> {
        require_admin(caller, "update groups")?;
        let input = request.group.unwrap_or_default();
        let fields =
            fieldmask::resolve(request.update_mask.as_ref(), &["display_name", "members"])?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "group.name", &input.name, &["groups"]);
        validate::description(&mut errors, "group.display_name", &input.display_name);
        validate_members(&mut errors, "group.members", &input.members);
        errors.into_result()?;
        update_fields(self, caller, "UpdateGroup", input, fields).await
    }

    pub async fn delete_group(
        &self,
        caller: &Caller,
        request: DeleteGroupRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete groups")?;
        delete_kind::<Group>(
            self,
            caller,
            "DeleteGroup",
            "groups",
            &request.name,
            &request.etag,
        )
        .await
    }
}
