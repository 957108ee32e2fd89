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
        let (name, etag) = (input.name.clone(), input.etag.clone());
        let updated = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateServiceAccount", &name, &etag).mask(&fields),
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
        caller: &Caller,
        request: DeleteServiceAccountRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller, "delete service accounts")?;
        get_kind::<ServiceAccount>(self, &request.name, "serviceAccounts").await?;
        resources::delete::<ServiceAccount, _>(
            self.store(),
            caller.subject(),
            Edit::new("DeleteServiceAccount", &request.name, &request.etag),
            |_, _| Box::pin(async { Ok(()) }),
        )
        .await?;
        self.applied(()).await
    }
}
