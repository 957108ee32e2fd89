//! Users: managed by administrators (the identity provider names them; governance keeps their
//! display name and email).

use super::*;

impl Governance {
    pub async fn create_user(
        &self,
        caller: &Caller,
        request: CreateUserRequest,
    ) -> Result<User, ApiError> {
        require_admin(caller, "create users")?;
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
            caller,
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
        caller: &Caller,
        request: UpdateUserRequest,
    ) -> Result<User, ApiError> {
        require_admin(caller, "update users")?;
        let input = request.user.unwrap_or_default();
        let fields = fieldmask::resolve(request.update_mask.as_ref(), &["display_name", "email"])?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "user.name", &input.name, &["users"]);
        validate::description(&mut errors, "user.display_name", &input.display_name);
        validate_email(&mut errors, "user.email", &input.email);
        errors.into_result()?;
        update_fields(self, caller, "UpdateUser", input, fields).await
    }

    pub async fn delete_user(
        &self,
        caller: &Caller,
        request: DeleteUserRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete users")?;
        delete_kind::<User>(
            self,
            caller,
            "DeleteUser",
            "users",
            &request.name,
            &request.etag,
        )
        .await
    }
}
