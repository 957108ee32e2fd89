//! Introspection of a producer environment for the catalog's data sources (an internal RPC:
//! only Weft services reach it): its schema's tables, or the schemas asked for, bounded.

use weft_proto::weft::provisioning::v1::{
    Blueprint, Environment, EnvironmentKind, EnvironmentState, IntrospectEnvironmentRequest,
    IntrospectEnvironmentResponse,
};
use weft_runtime::{ApiError, FieldErrors, validate};
use weft_storage::resources;

use super::Provisioning;
use super::parameters;
use crate::dataplane::{self, introspect};

/// Most schemas and most patterns in one request.
const MAX_NAMES: usize = 100;
/// Longest table pattern.
const MAX_PATTERN_BYTES: usize = 256;

impl Provisioning {
    pub async fn introspect_environment(
        &self,
        request: IntrospectEnvironmentRequest,
    ) -> Result<IntrospectEnvironmentResponse, ApiError> {
        let mut errors = FieldErrors::new();
        validate::name(&mut errors, "name", &request.name, &["environments"]);
        if request.schemas.len() > MAX_NAMES {
            errors.add("schemas", format!("at most {MAX_NAMES}"));
        }
        for (index, schema) in request.schemas.iter().enumerate() {
            if schema.is_empty() || schema.len() > dataplane::MAX_IDENTIFIER_BYTES {
                errors.add(format!("schemas[{index}]"), "must be 1-63 bytes");
            }
        }
        if request.table_patterns.len() > MAX_NAMES {
            errors.add("table_patterns", format!("at most {MAX_NAMES}"));
        }
        for (index, pattern) in request.table_patterns.iter().enumerate() {
            if pattern.is_empty() || pattern.len() > MAX_PATTERN_BYTES {
                errors.add(
                    format!("table_patterns[{index}]"),
                    format!("must be 1-{MAX_PATTERN_BYTES} bytes"),
                );
            }
        }
        errors.into_result()?;
        let environment: Environment = resources::get(self.store().db(), &request.name).await?;
        if environment.kind() != EnvironmentKind::Producer
            || environment.state() != EnvironmentState::Active
        {
            return Err(ApiError::precondition(
                format!("{} is not an ACTIVE producer environment", environment.name),
                Vec::new(),
            ));
        }
        let blueprint: Blueprint =
            resources::get(self.store().db(), &environment.blueprint).await?;
        let target = self.target_of(&environment, &blueprint).await?;
        let schemas = if request.schemas.is_empty() {
            let id = environment
                .name
                .strip_prefix("environments/")
                .unwrap_or_default();
            vec![parameters::schema_name(
                &blueprint,
                environment.parameters.as_ref(),
                id,
            )]
        } else {
            request.schemas
        };
        let (tables, truncated) = introspect::tables(&target, &schemas, &request.table_patterns)
            .await
            .map_err(|error| ApiError::Unavailable(format!("{}: {error}", environment.name)))?;
        Ok(IntrospectEnvironmentResponse { tables, truncated })
    }
}
