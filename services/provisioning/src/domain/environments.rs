//! Environments: made for a project from a blueprint by its OWNERs and CONTRIBUTORs (or
//! administrators), seen by its members; every create, update and delete is a deployment run
//! by the deployer (`deployments`), so a call returns at once in state CREATING / UPDATING /
//! DELETING and the environment ends ACTIVE, DELETED or *_FAILED with the failing action.

use futures::future::BoxFuture;
use weft_proto::weft::provisioning::v1::{
    Blueprint, CreateEnvironmentRequest, DeleteEnvironmentRequest, Deployment, DriftHandling,
    Environment, EnvironmentKind, EnvironmentState, GetEnvironmentRequest, ListDeploymentsRequest,
    ListDeploymentsResponse, ListEnvironmentsRequest, ListEnvironmentsResponse,
    PlanEnvironmentRequest, PlanEnvironmentResponse, UpdateEnvironmentRequest,
};
use weft_runtime::paging::PageRequest;
use weft_runtime::{ApiError, Caller, FieldErrors, fieldmask, filter, validate};
use weft_storage::resources::{self, Edit};

use super::Provisioning;
use super::deployments::{Operation, steps};
use super::members::{MANAGE, SEE, hidden};
use super::parameters;
use crate::sealing::Secret;
use crate::store::secrets;

impl Provisioning {
    pub async fn create_environment(
        &self,
        caller: &Caller,
        request: CreateEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        let input = request.environment.clone().unwrap_or_default();
        // Who may: decided before anything is validated or looked up.
        self.require_role(caller, &input.project, MANAGE, true, "CreateEnvironment")
            .await?;
        let (environment, sealed) = self
            .checked_new_environment(&request.environment_id, input)
            .await?;
        let name = environment.name.clone();
        // The idempotency record keeps a hash of the request: of one without its secrets.
        let mut fingerprinted = request.clone();
        if let Some(input) = fingerprinted.environment.as_mut() {
            input.parameters = environment.parameters.clone();
        }
        let created = resources::create(
            self.store(),
            caller.subject(),
            "CreateEnvironment",
            &request.request_id,
            &fingerprinted,
            move |conn| -> BoxFuture<'_, Result<Environment, ApiError>> {
                Box::pin(async move {
                    for (key, value) in sealed {
                        secrets::put(conn, &name, &key, value).await?;
                    }
                    Ok(environment)
                })
            },
        )
        .await?;
        self.deployer.notify_one();
        Ok(created)
    }

    /// The environment a create request describes, validated, with its secrets sealed.
    async fn checked_new_environment(
        &self,
        environment_id: &str,
        input: Environment,
    ) -> Result<(Environment, Vec<(String, Vec<u8>)>), ApiError> {
        let mut errors = FieldErrors::new();
        validate::resource_id(&mut errors, "environment_id", environment_id);
        validate::name(
            &mut errors,
            "environment.project",
            &input.project,
            &["projects"],
        );
        let known_blueprint = validate::name(
            &mut errors,
            "environment.blueprint",
            &input.blueprint,
            &["blueprints"],
        )
        .is_some();
        if EnvironmentKind::try_from(input.kind).is_err() {
            errors.add("environment.kind", "is not an environment kind");
        }
        if DriftHandling::try_from(input.drift_handling).is_err() {
            errors.add("environment.drift_handling", "is not a drift handling");
        }
        let blueprint = match known_blueprint {
            true => resources::find::<Blueprint, _>(self.store().db(), &input.blueprint).await?,
            false => None,
        };
        let Some(blueprint) = blueprint else {
            if known_blueprint {
                errors.add("environment.blueprint", "does not exist");
            }
            errors.into_result()?;
            return Err(ApiError::internal(
                "a blueprint was neither found nor refused",
            ));
        };
        let (public, secret_values) =
            parameters::split_values(&mut errors, &blueprint, input.parameters.as_ref(), &[]);
        errors.into_result()?;
        let name = format!("environments/{environment_id}");
        let sealed = self.seal_all(&name, secret_values)?;
        let kind = match input.kind() {
            EnvironmentKind::Unspecified => EnvironmentKind::Consumer,
            kind => kind,
        };
        Ok((
            Environment {
                name,
                blueprint: input.blueprint,
                project: input.project,
                parameters: Some(public),
                state: EnvironmentState::Creating as i32,
                kind: kind as i32,
                drift_handling: input.drift_handling,
                ..Default::default()
            },
            sealed,
        ))
    }

    fn seal_all(
        &self,
        owner: &str,
        values: Vec<(String, Secret)>,
    ) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
        values
            .into_iter()
            .map(|(key, value)| {
                let sealed = self.sealer().seal(owner, &key, &value)?;
                Ok((key, sealed))
            })
            .collect()
    }

    /// The environment `name` if `caller` may see it with one of `roles` (administrators: any);
    /// the same PERMISSION_DENIED whether it is absent or another project's.
    pub(crate) async fn visible_environment(
        &self,
        caller: &Caller,
        name: &str,
        roles: &[weft_proto::weft::governance::v1::ProjectRole],
        admins: bool,
        what: &str,
    ) -> Result<Environment, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", name, &["environments"]);
        errors.into_result()?;
        let found = resources::find::<Environment, _>(self.store().db(), name).await?;
        let Some(environment) = found else {
            return Err(if admins && caller.is_admin {
                ApiError::not_found(name)
            } else {
                hidden(name, what)
            });
        };
        if admins && caller.is_admin {
            return Ok(environment);
        }
        match self.role_in(caller, &environment.project).await? {
            Some(role) if roles.contains(&role) => Ok(environment),
            Some(_) => Err(ApiError::PermissionDenied(format!(
                "{what}: your role in {} does not allow it",
                environment.project
            ))),
            None => Err(hidden(name, what)),
        }
    }

    pub async fn get_environment(
        &self,
        caller: &Caller,
        request: GetEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        self.visible_environment(caller, &request.name, SEE, true, "GetEnvironment")
            .await
    }

    /// The environments of the caller's projects (administrators: all), filtered by
    /// `project`, `blueprint` or `state` (e.g. `state=ACTIVE`).
    pub async fn list_environments(
        &self,
        caller: &Caller,
        request: ListEnvironmentsRequest,
    ) -> Result<ListEnvironmentsResponse, ApiError> {
        let terms = filter::parse(&request.filter, &["project", "blueprint", "state"])?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("environments?{}", request.filter),
        )?;
        let mut conditions = Vec::new();
        for term in &terms {
            conditions.push(match term.field.as_str() {
                "project" => resources::subject_is(&term.value),
                "blueprint" => resources::parent_is(&term.value),
                "state" => resources::state_is(&state_name(&term.value)?),
                other => return Err(filter::unhandled(other)),
            });
        }
        if !caller.is_admin {
            let Some(mine) = self.own_environments(caller).await? else {
                return Ok(ListEnvironmentsResponse::default());
            };
            conditions.push(mine);
        }
        let mut environments = resources::list::<Environment, _>(
            self.store().db(),
            conditions,
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut environments, |e| e.name.as_str());
        Ok(ListEnvironmentsResponse {
            environments,
            next_page_token,
        })
    }

    /// Changes an environment's parameters (secrets not sent are kept; deployed again) or its
    /// drift handling.
    pub async fn update_environment(
        &self,
        caller: &Caller,
        request: UpdateEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        let input = request.environment.unwrap_or_default();
        let current = self
            .visible_environment(caller, &input.name, MANAGE, true, "UpdateEnvironment")
            .await?;
        let fields = fieldmask::resolve(
            request.update_mask.as_ref(),
            &["parameters", "drift_handling"],
        )?;
        settled(&current)?;
        let mut errors = FieldErrors::new();
        if DriftHandling::try_from(input.drift_handling).is_err() {
            errors.add("environment.drift_handling", "is not a drift handling");
        }
        // New parameters are validated, sealed and deployed; drift handling alone is not.
        let redeploy = fields.contains(&"parameters");
        let (public, sealed) = if redeploy {
            let blueprint: Blueprint =
                resources::get(self.store().db(), &current.blueprint).await?;
            let kept: Vec<&str> = blueprint
                .parameters
                .iter()
                .filter(|p| p.r#type() == weft_proto::weft::provisioning::v1::ParameterType::Secret)
                .map(|p| p.name.as_str())
                .collect();
            let (public, secret_values) =
                parameters::split_values(&mut errors, &blueprint, input.parameters.as_ref(), &kept);
            errors.into_result()?;
            (Some(public), self.seal_all(&current.name, secret_values)?)
        } else {
            errors.into_result()?;
            (None, Vec::new())
        };
        let drift_handling = input.drift_handling;
        let name = current.name.clone();
        let updated = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("UpdateEnvironment", &name, &input.etag).mask(&fields),
            move |conn, mut environment: Environment| {
                Box::pin(async move {
                    settled(&environment)?;
                    for field in &fields {
                        match *field {
                            "parameters" => environment.parameters = public.clone(),
                            "drift_handling" => environment.drift_handling = drift_handling,
                            other => return Err(fieldmask::unhandled(other)),
                        }
                    }
                    for (key, value) in sealed {
                        secrets::put(conn, &environment.name, &key, value).await?;
                    }
                    if redeploy {
                        environment.state = EnvironmentState::Updating as i32;
                    }
                    Ok(environment)
                })
            },
        )
        .await?;
        if redeploy {
            self.deployer.notify_one();
        } else {
            self.fulfiller.changed();
        }
        Ok(updated)
    }

    /// Starts the deletion: the deployer revokes and drops what Weft created.
    pub async fn delete_environment(
        &self,
        caller: &Caller,
        request: DeleteEnvironmentRequest,
    ) -> Result<Environment, ApiError> {
        let current = self
            .visible_environment(caller, &request.name, MANAGE, true, "DeleteEnvironment")
            .await?;
        if current.state() == EnvironmentState::Deleted {
            return Err(ApiError::not_found(&request.name));
        }
        let deleting = resources::update(
            self.store(),
            caller.subject(),
            Edit::new("DeleteEnvironment", &request.name, &request.etag).verb("deleting"),
            move |_, mut environment: Environment| {
                Box::pin(async move {
                    environment.state = EnvironmentState::Deleting as i32;
                    Ok(environment)
                })
            },
        )
        .await?;
        self.deployer.notify_one();
        Ok(deleting)
    }

    /// The actions a create (or, for an existing environment, an update) would apply.
    pub async fn plan_environment(
        &self,
        caller: &Caller,
        request: PlanEnvironmentRequest,
    ) -> Result<PlanEnvironmentResponse, ApiError> {
        let input = request.environment.unwrap_or_default();
        let mut errors = FieldErrors::new();
        let id = validate::name(
            &mut errors,
            "environment.name",
            &input.name,
            &["environments"],
        )
        .and_then(|ids| ids.first().map(|id| id.to_string()));
        errors.into_result()?;
        let id = id.unwrap_or_default();
        let existing = resources::find::<Environment, _>(self.store().db(), &input.name).await?;
        let (environment, operation) = match existing {
            Some(_) => {
                let mut existing = self
                    .visible_environment(caller, &input.name, MANAGE, true, "PlanEnvironment")
                    .await?;
                existing.parameters = input.parameters.or(existing.parameters);
                (existing, Operation::Update)
            }
            None => {
                self.require_role(caller, &input.project, MANAGE, true, "PlanEnvironment")
                    .await?;
                let (environment, _) = self.checked_new_environment(&id, input).await?;
                (environment, Operation::Create)
            }
        };
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let planned = steps(
            &environment,
            &blueprint,
            operation,
            Secret::new(String::new()),
            &database_placeholder(&blueprint, &environment),
        );
        Ok(PlanEnvironmentResponse {
            actions: planned.iter().map(|step| step.action()).collect(),
        })
    }

    /// An environment's deployments, newest first.
    pub async fn list_deployments(
        &self,
        caller: &Caller,
        request: ListDeploymentsRequest,
    ) -> Result<ListDeploymentsResponse, ApiError> {
        let environment = self
            .visible_environment(caller, &request.parent, SEE, true, "ListDeployments")
            .await?;
        let page = PageRequest::parse(
            request.page_size,
            &request.page_token,
            &format!("{}/deployments", environment.name),
        )?;
        let mut deployments =
            resources::all_children::<Deployment, _>(self.store().db(), &environment.name).await?;
        // Ids grow with time: newest first is by name, descending.
        deployments.reverse();
        if let Some(after) = &page.after {
            deployments.retain(|deployment| deployment.name.as_str() < after.as_str());
        }
        deployments.truncate(page.fetch_limit() as usize);
        let next_page_token = page.finish(&mut deployments, |d| d.name.as_str());
        Ok(ListDeploymentsResponse {
            deployments,
            next_page_token,
        })
    }
}

/// FAILED_PRECONDITION while a deployment is pending or after deletion.
fn settled(environment: &Environment) -> Result<(), ApiError> {
    match environment.state() {
        EnvironmentState::Creating | EnvironmentState::Updating | EnvironmentState::Deleting => {
            Err(ApiError::precondition(
                format!(
                    "{} is being deployed ({}): wait until it settles",
                    environment.name,
                    environment.state().as_str_name()
                ),
                Vec::new(),
            ))
        }
        EnvironmentState::Deleted => Err(ApiError::not_found(&environment.name)),
        _ => Ok(()),
    }
}

/// The database a plan shows: the parameter, else "the admin URL's database".
fn database_placeholder(blueprint: &Blueprint, environment: &Environment) -> String {
    parameters::text(
        blueprint,
        environment.parameters.as_ref(),
        parameters::DATABASE,
    )
    .unwrap_or_else(|| "(the admin URL's database)".to_string())
}

/// A state filter's value: "ACTIVE" or "ENVIRONMENT_STATE_ACTIVE".
fn state_name(value: &str) -> Result<String, ApiError> {
    let full = if value.starts_with("ENVIRONMENT_STATE_") {
        value.to_string()
    } else {
        format!("ENVIRONMENT_STATE_{value}")
    };
    EnvironmentState::from_str_name(&full)
        .map(|state| state.as_str_name().to_string())
        .ok_or_else(|| {
            ApiError::invalid("filter", format!("'{value}' is not an environment state"))
        })
}
