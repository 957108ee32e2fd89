//! Service accounts: managed by administrators, with owners.

use super::*;

impl Governance {
    pub async fn create_service_account(
        &self,
        caller: &Caller,
        request: CreateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        require_admin(caller, "create service accounts")?;
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
            caller,
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
        caller: &Caller,
        request: UpdateServiceAccountRequest,
    ) -> Result<ServiceAccount, ApiError> {
        require_admin(caller, "update service accounts")?;
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
        update_fields(self, caller, "UpdateServiceAccount", input, fields).await
    }

    pub async fn delete_service_account(
        &self,
        caller: &Caller,
        request: DeleteServiceAccountRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete service accounts")?;
        delete_kind::<ServiceAccount>(
            self,
            caller,
            "DeleteServiceAccount",
            "serviceAccounts",
            &request.name,
            &request.etag,
        )
        .await
    }
}
