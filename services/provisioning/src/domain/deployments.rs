//! Deployments: what an environment's create, update or delete does on the data plane
//! (`steps`), run by the deployer for every environment with work pending (so a restart
//! resumes what a crash interrupted: every step is idempotent), and recorded with its actions
//! in the same transaction as the environment's new state.

use weft_proto::weft::provisioning::v1::{Blueprint, Deployment, Environment, EnvironmentState};
use weft_runtime::ApiError;
use weft_storage::resources;

use super::Provisioning;
use super::parameters;
use crate::dataplane::{self, Step, Target};
use crate::sealing::Secret;
use crate::store::secrets;

/// Who runs deployments, in the journal.
pub const DEPLOYER: &str = "weft-provisioning";
/// The generated login's password among an environment's secrets.
pub const PASSWORD: &str = "password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    RotateCredentials,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::RotateCredentials => "ROTATE_CREDENTIALS",
        }
    }

    /// The operation pending in `state`, if any.
    fn pending_in(state: EnvironmentState) -> Option<Self> {
        match state {
            EnvironmentState::Creating => Some(Operation::Create),
            EnvironmentState::Updating => Some(Operation::Update),
            EnvironmentState::Deleting => Some(Operation::Delete),
            _ => None,
        }
    }

    /// The state the environment ends in.
    fn outcome(self, succeeded: bool) -> EnvironmentState {
        match (self, succeeded) {
            (Operation::Create, true) | (Operation::Update, true) => EnvironmentState::Active,
            (Operation::Delete, true) => EnvironmentState::Deleted,
            (Operation::Create, false) => EnvironmentState::CreateFailed,
            (Operation::Update, false) => EnvironmentState::UpdateFailed,
            (Operation::Delete, false) => EnvironmentState::DeleteFailed,
            (Operation::RotateCredentials, _) => EnvironmentState::Active,
        }
    }
}

/// The data-plane steps of `operation` on `environment` (`password`: its login's).
pub fn steps(
    environment: &Environment,
    blueprint: &Blueprint,
    operation: Operation,
    password: Secret,
    database: &str,
) -> Vec<Step> {
    let id = environment
        .name
        .strip_prefix("environments/")
        .unwrap_or(&environment.name);
    let role = parameters::role_name(id);
    let producer = parameters::is_producer(environment.kind());
    let schema = parameters::schema_name(blueprint, environment.parameters.as_ref(), id);
    let name = environment.name.clone();
    match operation {
        Operation::Create | Operation::Update => {
            let mut steps = vec![
                Step::EnsureLoginRole {
                    role: role.clone(),
                    password,
                    environment: name.clone(),
                },
                Step::GrantConnect {
                    role: role.clone(),
                    database: database.to_string(),
                },
            ];
            if producer {
                steps.push(Step::EnsureSchema {
                    schema,
                    owner: role,
                    environment: name,
                });
            }
            steps
        }
        Operation::Delete => {
            let mut steps = Vec::new();
            if producer {
                steps.push(Step::DropSchema {
                    schema,
                    environment: name.clone(),
                });
            }
            steps.push(Step::DropRole {
                role,
                environment: name,
            });
            steps
        }
        Operation::RotateCredentials => vec![Step::SetPassword { role, password }],
    }
}

impl Provisioning {
    /// Runs the pending deployment of every environment that has one; returns how many ran.
    pub async fn deploy_pending(&self) -> Result<usize, ApiError> {
        let pending = resources::Condition::any(
            [
                EnvironmentState::Creating,
                EnvironmentState::Updating,
                EnvironmentState::Deleting,
            ]
            .map(|state| resources::state_is(state.as_str_name())),
        );
        let environments = resources::list::<Environment, _>(
            self.store().db(),
            pending.into_iter().collect(),
            None,
            100,
        )
        .await?;
        let mut ran = 0;
        for environment in environments {
            let Some(operation) = Operation::pending_in(environment.state()) else {
                continue;
            };
            match self.deploy(environment, operation).await {
                Ok(()) => ran += 1,
                // Changed meanwhile (a new etag): the next round takes the new state.
                Err(ApiError::Aborted(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(ran)
    }

    /// The data plane of `environment`: its admin URL (opened) and database.
    pub(crate) async fn target_of(
        &self,
        environment: &Environment,
        blueprint: &Blueprint,
    ) -> Result<Target, ApiError> {
        let sealed = secrets::get(self.store().db(), &environment.name, parameters::ADMIN_URL)
            .await?
            .ok_or_else(|| {
                ApiError::precondition(format!("{} has no admin_url", environment.name), Vec::new())
            })?;
        Ok(Target {
            admin_url: self
                .sealer()
                .open(&environment.name, parameters::ADMIN_URL, &sealed)?,
            database: parameters::text(
                blueprint,
                environment.parameters.as_ref(),
                parameters::DATABASE,
            ),
        })
    }

    /// The environment's login password, made (and sealed) the first time it is asked for, so
    /// a deployment that is run again sets the same one.
    pub(crate) async fn password_of(&self, environment: &str) -> Result<Secret, ApiError> {
        if let Some(sealed) = secrets::get(self.store().db(), environment, PASSWORD).await? {
            return self.sealer().open(environment, PASSWORD, &sealed);
        }
        let password = self.sealer().new_password()?;
        let sealed = self.sealer().seal(environment, PASSWORD, &password)?;
        let txn = self.store().begin_write(DEPLOYER).await?;
        secrets::put(txn.conn(), environment, PASSWORD, sealed).await?;
        txn.commit(Vec::new()).await?;
        Ok(password)
    }

    async fn deploy(&self, environment: Environment, operation: Operation) -> Result<(), ApiError> {
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let start_time = weft_storage::write::now();
        let outcome = match self.target_of(&environment, &blueprint).await {
            Ok(target) => {
                let password = match operation {
                    Operation::Delete => Secret::new(String::new()),
                    _ => self.password_of(&environment.name).await?,
                };
                match dataplane::postgres::database_of(&target) {
                    Ok(database) => {
                        let planned =
                            steps(&environment, &blueprint, operation, password, &database);
                        dataplane::postgres::apply(&target, &planned).await
                    }
                    Err(error) => failed_before_start(error),
                }
            }
            Err(error) => failed_before_start(error.to_string()),
        };
        if !outcome.succeeded {
            tracing::warn!(
                environment = %environment.name,
                operation = operation.as_str(),
                "a deployment failed (its actions say why)"
            );
        }
        self.record(environment, operation, start_time, outcome)
            .await
            .map(|_| ())
    }

    /// Keeps a deployment and the environment's new state in one transaction.
    pub(crate) async fn record(
        &self,
        mut environment: Environment,
        operation: Operation,
        start_time: chrono::DateTime<chrono::Utc>,
        outcome: dataplane::postgres::Outcome,
    ) -> Result<Deployment, ApiError> {
        let end_time = weft_storage::write::now();
        let deployment = Deployment {
            name: format!(
                "{}/deployments/d{:016}-{}",
                environment.name,
                end_time.timestamp_micros(),
                operation.as_str().to_ascii_lowercase().replace('_', "-")
            ),
            actions: outcome.actions,
            start_time: Some(weft_proto::time::timestamp(start_time)),
            end_time: Some(weft_proto::time::timestamp(end_time)),
            succeeded: outcome.succeeded,
            operation: operation.as_str().to_string(),
            ..Default::default()
        };
        let txn = self.store().begin_write(DEPLOYER).await?;
        let revision = resources::revision_of(&environment.etag);
        let deployment = resources::insert(txn.conn(), &deployment).await?;
        environment.state = operation.outcome(outcome.succeeded) as i32;
        environment.last_deployment = Some(deployment.clone());
        if environment.state() == EnvironmentState::Deleted {
            secrets::delete_all(txn.conn(), &environment.name).await?;
        }
        let saved = resources::update_row(txn.conn(), &environment, revision).await?;
        let verb = match saved.state() {
            EnvironmentState::Deleted => "deleted",
            _ => "deployed",
        };
        txn.commit(vec![
            resources::change("Deploy", "created", &deployment, serde_json::json!({})),
            resources::change(
                "Deploy",
                verb,
                &saved,
                serde_json::json!({ "operation": operation.as_str(), "succeeded": deployment.succeeded }),
            ),
        ])
        .await?;
        if saved.state() == EnvironmentState::Deleted
            && let Err(error) = self.revoke_fulfilments(&saved.name).await
        {
            tracing::warn!(environment = %saved.name, %error, "revocations of a deleted environment were not reported");
        }
        // A new or changed login: its grants are applied now, not at the next interval.
        self.fulfiller.changed();
        Ok(deployment)
    }
}

/// An outcome for a deployment that could not reach its first step.
fn failed_before_start(error: String) -> dataplane::postgres::Outcome {
    dataplane::postgres::Outcome {
        actions: vec![weft_proto::weft::provisioning::v1::DeploymentAction {
            description: "prepare the deployment".to_string(),
            kind: "PREPARE".to_string(),
            target: String::new(),
            succeeded: false,
            error,
        }],
        succeeded: false,
    }
}
