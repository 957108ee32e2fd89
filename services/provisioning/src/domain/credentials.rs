//! An environment's login, handed only to members of its project who may use it (OWNER,
//! CONTRIBUTOR, CONSUMER; not administrators as such): every hand-out and every refusal is
//! journaled (never the password). Rotation sets a new password on the data plane first, so a
//! failed rotation leaves the old one working.

use weft_proto::weft::provisioning::v1::{
    Blueprint, EnvironmentCredentials, EnvironmentState, GetEnvironmentCredentialsRequest,
    RotateEnvironmentCredentialsRequest,
};
use weft_runtime::{ApiError, Caller};
use weft_storage::JournalEntry;
use weft_storage::resources;

use super::Provisioning;
use super::deployments::{Operation, steps};
use super::members::USE;
use super::parameters;
use crate::dataplane;
use crate::store::secrets;

impl Provisioning {
    pub async fn get_environment_credentials(
        &self,
        caller: &Caller,
        request: GetEnvironmentCredentialsRequest,
    ) -> Result<EnvironmentCredentials, ApiError> {
        const METHOD: &str = "GetEnvironmentCredentials";
        let environment = self
            .usable_environment(caller, &request.name, METHOD)
            .await?;
        let credentials = self.credentials(&environment).await?;
        self.journal(caller, METHOD, &environment.name, "SUCCEEDED")
            .await?;
        Ok(credentials)
    }

    pub async fn rotate_environment_credentials(
        &self,
        caller: &Caller,
        request: RotateEnvironmentCredentialsRequest,
    ) -> Result<EnvironmentCredentials, ApiError> {
        const METHOD: &str = "RotateEnvironmentCredentials";
        let environment = self
            .usable_environment(caller, &request.name, METHOD)
            .await?;
        active(&environment)?;
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let target = self.target_of(&environment, &blueprint).await?;
        let password = self.sealer().new_password()?;
        let start_time = weft_storage::write::now();
        let planned = steps(
            &environment,
            &blueprint,
            Operation::RotateCredentials,
            password.clone(),
            "",
        );
        let outcome = dataplane::postgres::apply(&target, &planned).await;
        let succeeded = outcome.succeeded;
        let failure = outcome
            .actions
            .iter()
            .find(|action| !action.error.is_empty())
            .map(|action| action.error.clone());
        if succeeded {
            let sealed =
                self.sealer()
                    .seal(&environment.name, super::deployments::PASSWORD, &password)?;
            let txn = self.store().begin_write(caller.subject()).await?;
            secrets::put(
                txn.conn(),
                &environment.name,
                super::deployments::PASSWORD,
                sealed,
            )
            .await?;
            txn.commit(Vec::new()).await?;
        }
        let current = resources::get(self.store().db(), &environment.name).await?;
        self.record(current, Operation::RotateCredentials, start_time, outcome)
            .await?;
        if let Some(failure) = failure.filter(|_| !succeeded) {
            return Err(ApiError::precondition(
                format!(
                    "the password of {} was not rotated: {failure}",
                    environment.name
                ),
                Vec::new(),
            ));
        }
        self.journal(caller, METHOD, &environment.name, "SUCCEEDED")
            .await?;
        self.credentials(&environment).await
    }

    /// The environment `name` if the caller may use its login; a refusal is journaled.
    async fn usable_environment(
        &self,
        caller: &Caller,
        name: &str,
        method: &str,
    ) -> Result<weft_proto::weft::provisioning::v1::Environment, ApiError> {
        match self
            .visible_environment(caller, name, USE, false, method)
            .await
        {
            Ok(environment) => Ok(environment),
            Err(error) => {
                self.journal(caller, method, name, "DENIED").await?;
                Err(error)
            }
        }
    }

    async fn credentials(
        &self,
        environment: &weft_proto::weft::provisioning::v1::Environment,
    ) -> Result<EnvironmentCredentials, ApiError> {
        active(environment)?;
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let target = self.target_of(environment, &blueprint).await?;
        let unusable = |error: String| {
            ApiError::precondition(format!("{}: {error}", environment.name), Vec::new())
        };
        let database = dataplane::postgres::database_of(&target).map_err(unusable)?;
        let namespace = dataplane::postgres::namespace_of(&target).map_err(unusable)?;
        let password = self.password_of(&environment.name).await?;
        let id = environment
            .name
            .strip_prefix("environments/")
            .unwrap_or_default();
        Ok(EnvironmentCredentials {
            connection_url: format!(
                "{}/{database}",
                namespace.replacen("postgres://", "postgresql://", 1)
            ),
            username: parameters::role_name(id),
            password: password.expose().to_string(),
            expire_time: None,
        })
    }

    /// One journal record of a credentials request (no password, no secret).
    async fn journal(
        &self,
        caller: &Caller,
        method: &str,
        environment: &str,
        outcome: &str,
    ) -> Result<(), ApiError> {
        let txn = self.store().begin_write(caller.subject()).await?;
        txn.commit_journal(vec![JournalEntry {
            actor: caller.subject().to_string(),
            action: method.to_string(),
            resource: weft_proto::text::clip(environment, 200).into_owned(),
            outcome: outcome.to_string(),
            detail: serde_json::json!({}),
        }])
        .await
    }
}

/// FAILED_PRECONDITION unless the environment is ACTIVE (its login exists).
fn active(environment: &weft_proto::weft::provisioning::v1::Environment) -> Result<(), ApiError> {
    if environment.state() == EnvironmentState::Active {
        return Ok(());
    }
    Err(ApiError::precondition(
        format!(
            "{} is {}: credentials exist once it is ACTIVE",
            environment.name,
            environment.state().as_str_name()
        ),
        Vec::new(),
    ))
}
