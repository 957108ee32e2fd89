//! Blueprints: the built-in `postgres` one (seeded at start) and administrators' custom ones,
//! which declare the parameters their kind reads with their own defaults.

use futures::future::BoxFuture;
use weft_proto::weft::provisioning::v1::{
    Blueprint, CreateBlueprintRequest, DeleteBlueprintRequest, Environment, EnvironmentState,
    ListBlueprintsRequest, ListBlueprintsResponse,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, validate};
use weft_storage::resources::{self, Edit};

use super::Provisioning;
use super::parameters;

/// Who seeds the built-in blueprints in the journal.
const SEEDER: &str = "weft-provisioning";

impl Provisioning {
    /// Creates the built-in blueprints that do not exist yet (a replica that loses the race
    /// finds them created).
    pub async fn seed_blueprints(&self) -> Result<(), ApiError> {
        let builtin = parameters::builtin_postgres();
        if resources::find::<Blueprint, _>(self.store().db(), &builtin.name)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let request = CreateBlueprintRequest::default();
        let created = resources::create(
            self.store(),
            SEEDER,
            "SeedBlueprint",
            "",
            &request,
            move |_| -> BoxFuture<'_, Result<Blueprint, ApiError>> {
                Box::pin(async move { Ok(builtin) })
            },
        )
        .await;
        match created {
            Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub async fn create_blueprint(
        &self,
        caller: &Caller,
        request: CreateBlueprintRequest,
    ) -> Result<Blueprint, ApiError> {
        require_admin(caller)?;
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "blueprint_id", &request.blueprint_id);
        let input = request.blueprint.clone().unwrap_or_default();
        validate::description(&mut errors, "blueprint.description", &input.description);
        parameters::check_declaration(&mut errors, &input);
        errors.into_result()?;
        let blueprint = Blueprint {
            name: format!("blueprints/{}", request.blueprint_id),
            kind: input.kind,
            description: input.description,
            parameters: input.parameters,
            builtin: false,
            ..Default::default()
        };
        resources::create(
            self.store(),
            caller.subject(),
            "CreateBlueprint",
            &request.request_id,
            &request,
            move |_| -> BoxFuture<'_, Result<Blueprint, ApiError>> {
                Box::pin(async move { Ok(blueprint) })
            },
        )
        .await
    }

    pub async fn get_blueprint(&self, name: &str) -> Result<Blueprint, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, &["blueprints"]);
        errors.into_result()?;
        resources::get(self.store().db(), name).await
    }

    pub async fn list_blueprints(
        &self,
        request: ListBlueprintsRequest,
    ) -> Result<ListBlueprintsResponse, ApiError> {
        let page = PageRequest::parse(request.page_size, &request.page_token, "blueprints")?;
        let mut blueprints = resources::list::<Blueprint, _>(
            self.store().db(),
            Vec::new(),
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut blueprints, |b| b.name.as_str());
        Ok(ListBlueprintsResponse {
            blueprints,
            next_page_token,
        })
    }

    /// Deletes a custom blueprint no environment uses.
    pub async fn delete_blueprint(
        &self,
        caller: &Caller,
        request: DeleteBlueprintRequest,
    ) -> Result<(), ApiError> {
        require_admin(caller)?;
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, &["blueprints"]);
        errors.into_result()?;
        resources::delete::<Blueprint, _>(
            self.store(),
            caller.subject(),
            Edit::new("DeleteBlueprint", &request.name, &request.etag),
            |conn, blueprint| {
                Box::pin(async move {
                    if blueprint.builtin {
                        return Err(ApiError::precondition(
                            format!("{} is built in and is not deleted", blueprint.name),
                            Vec::new(),
                        ));
                    }
                    let live = vec![
                        resources::parent_is(&blueprint.name),
                        resources::state_is_not(EnvironmentState::Deleted.as_str_name()),
                    ];
                    let users = resources::list::<Environment, _>(conn, live, None, 1).await?;
                    if let Some(user) = users.first() {
                        return Err(ApiError::precondition(
                            format!(
                                "{} is used by environments (e.g. {}): delete them first",
                                blueprint.name, user.name
                            ),
                            Vec::new(),
                        ));
                    }
                    Ok(())
                })
            },
        )
        .await?;
        Ok(())
    }
}

/// Blueprints are administrators' (the gateway checks it too; this holds without it).
fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin {
        return Ok(());
    }
    Err(ApiError::PermissionDenied(
        "only administrators manage blueprints".to_string(),
    ))
}
