//! Blueprint parameters: the built-in `postgres` blueprint's, a custom blueprint's declaration
//! checked against what its kind reads, and an environment's values checked against their
//! types. SECRET values leave the environment here: they are sealed apart and never stored,
//! returned, journaled or put on an event with it.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use weft_proto::weft::provisioning::v1::{
    Blueprint, BlueprintKind, BlueprintParameter, EnvironmentKind, ParameterType,
};
use weft_runtime::FieldErrors;

use crate::dataplane::{self, Target};
use crate::sealing::Secret;

pub const ADMIN_URL: &str = "admin_url";
pub const DATABASE: &str = "database";
pub const SCHEMA: &str = "schema";

/// Longest parameter value.
const MAX_VALUE_BYTES: usize = 2048;
/// Most parameters a blueprint declares.
const MAX_PARAMETERS: usize = 32;

/// The parameters a `postgres` blueprint may declare: name, type, whether it is required.
const POSTGRES_PARAMETERS: [(&str, ParameterType, bool, &str); 3] = [
    (
        ADMIN_URL,
        ParameterType::Secret,
        true,
        "PostgreSQL URL with the credentials of a role that may create roles and schemas",
    ),
    (
        DATABASE,
        ParameterType::String,
        false,
        "the database the environment lives in (the URL's when unset)",
    ),
    (
        SCHEMA,
        ParameterType::String,
        false,
        "a producer environment's schema (weft_<environment id> when unset)",
    ),
];

/// The built-in `blueprints/postgres`.
pub fn builtin_postgres() -> Blueprint {
    Blueprint {
        name: "blueprints/postgres".to_string(),
        kind: BlueprintKind::Postgres as i32,
        description: "A PostgreSQL data plane: a consumer environment is a project's login role, \
                      a producer environment a schema owned by its login role"
            .to_string(),
        parameters: POSTGRES_PARAMETERS
            .iter()
            .map(|(name, r#type, required, description)| BlueprintParameter {
                name: name.to_string(),
                r#type: *r#type as i32,
                required: *required,
                default_value: None,
                description: description.to_string(),
            })
            .collect(),
        builtin: true,
        ..Default::default()
    }
}

/// Checks a custom blueprint's declaration: a kind that is built, parameters its kind reads
/// with their types, no default for a secret (a blueprint is stored and shown in clear).
pub fn check_declaration(errors: &mut FieldErrors, blueprint: &Blueprint) {
    match blueprint.kind() {
        BlueprintKind::Postgres => {}
        BlueprintKind::Filesystem => {
            errors.add("blueprint.kind", "FILESYSTEM blueprints are not built yet");
            return;
        }
        BlueprintKind::Unspecified => {
            errors.add("blueprint.kind", "is required (POSTGRES)");
            return;
        }
    }
    if blueprint.parameters.len() > MAX_PARAMETERS {
        errors.add(
            "blueprint.parameters",
            format!("at most {MAX_PARAMETERS} parameters"),
        );
        return;
    }
    let mut seen = Vec::new();
    for (index, parameter) in blueprint.parameters.iter().enumerate() {
        let field = format!("blueprint.parameters[{index}]");
        let Some((_, r#type, _, _)) = POSTGRES_PARAMETERS
            .iter()
            .find(|(name, ..)| *name == parameter.name)
        else {
            errors.add(
                format!("{field}.name"),
                "a postgres blueprint reads admin_url, database and schema only",
            );
            continue;
        };
        if seen.contains(&parameter.name.as_str()) {
            errors.add(format!("{field}.name"), "is declared twice");
        }
        seen.push(parameter.name.as_str());
        if parameter.r#type() != *r#type {
            errors.add(
                format!("{field}.type"),
                format!("{} is {}", parameter.name, r#type.as_str_name()),
            );
        }
        weft_runtime::validate::description(
            errors,
            &format!("{field}.description"),
            &parameter.description,
        );
        if let Some(default) = &parameter.default_value {
            if parameter.r#type() == ParameterType::Secret {
                errors.add(
                    format!("{field}.default_value"),
                    "a secret has no default (blueprints are not secret)",
                );
            } else {
                check_value(
                    errors,
                    &format!("{field}.default_value"),
                    parameter,
                    default,
                );
            }
        }
    }
    if !seen.contains(&ADMIN_URL) {
        errors.add(
            "blueprint.parameters",
            "must declare admin_url (SECRET): the data plane's admin connection",
        );
    }
}

/// An environment's parameters checked against `blueprint`: the values kept with the
/// environment, and the secrets sealed apart. `kept_secrets` are the secrets the environment
/// already has (an update need not send them again).
pub fn split_values(
    errors: &mut FieldErrors,
    blueprint: &Blueprint,
    values: Option<&Struct>,
    kept_secrets: &[&str],
) -> (Struct, Vec<(String, Secret)>) {
    let empty = BTreeMap::new();
    let values = values.map(|values| &values.fields).unwrap_or(&empty);
    let mut public = Struct::default();
    let mut secrets = Vec::new();
    if values.len() > MAX_PARAMETERS {
        errors.add(
            "environment.parameters",
            format!("at most {MAX_PARAMETERS} parameters"),
        );
        return (public, secrets);
    }
    for (name, value) in values {
        let field = format!(
            "environment.parameters.{}",
            weft_proto::text::clip(name, 64)
        );
        let Some(parameter) = blueprint.parameters.iter().find(|p| &p.name == name) else {
            errors.add(field, format!("is not a parameter of {}", blueprint.name));
            continue;
        };
        if !check_value(errors, &field, parameter, value) {
            continue;
        }
        if parameter.r#type() == ParameterType::Secret {
            if let Some(Kind::StringValue(text)) = &value.kind {
                secrets.push((name.clone(), Secret::new(text.clone())));
            }
        } else {
            public.fields.insert(name.clone(), value.clone());
        }
    }
    for parameter in &blueprint.parameters {
        let given =
            values.contains_key(&parameter.name) || kept_secrets.contains(&parameter.name.as_str());
        if parameter.required && !given && parameter.default_value.is_none() {
            errors.add(
                format!("environment.parameters.{}", parameter.name),
                "is required",
            );
        }
    }
    (public, secrets)
}

/// Checks one value's type and size; the postgres parameters' own rules too.
fn check_value(
    errors: &mut FieldErrors,
    field: &str,
    parameter: &BlueprintParameter,
    value: &Value,
) -> bool {
    let before = errors.len();
    match (parameter.r#type(), &value.kind) {
        (ParameterType::String | ParameterType::Secret, Some(Kind::StringValue(text))) => {
            if text.len() > MAX_VALUE_BYTES {
                errors.add(field, format!("at most {MAX_VALUE_BYTES} bytes"));
            } else if parameter.name == DATABASE || parameter.name == SCHEMA {
                if !dataplane::is_identifier(text) || text.starts_with("pg_") {
                    errors.add(
                        field,
                        "must be a lowercase identifier (letters, digits, _; at most 63 bytes; not pg_*)",
                    );
                }
            } else if parameter.name == ADMIN_URL {
                let target = Target {
                    admin_url: Secret::new(text.clone()),
                    database: None,
                };
                // The message never repeats the value.
                if let Err(error) = dataplane::postgres::options(&target) {
                    errors.add(field, error);
                }
            }
        }
        (ParameterType::Int, Some(Kind::NumberValue(number))) => {
            if number.fract() != 0.0 || number.abs() > 9.0e15 {
                errors.add(field, "must be an integer");
            }
        }
        (ParameterType::Bool, Some(Kind::BoolValue(_))) => {}
        (ParameterType::Unspecified, _) => errors.add(field, "the parameter has no type"),
        (expected, _) => errors.add(field, format!("must be a {}", expected.as_str_name())),
    }
    errors.len() == before
}

/// A text parameter of an environment, else its blueprint's default.
pub fn text(blueprint: &Blueprint, values: Option<&Struct>, name: &str) -> Option<String> {
    let given = values
        .and_then(|values| values.fields.get(name))
        .or_else(|| {
            blueprint
                .parameters
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.default_value.as_ref())
        });
    match given.and_then(|value| value.kind.as_ref()) {
        Some(Kind::StringValue(text)) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

/// `weft_<kind letter>_<id>` within PostgreSQL's 63 bytes: ids longer than fits are cut and
/// end with a hash of the whole id, so two environments never share a name.
pub fn derived_identifier(prefix: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    let id = id.replace('-', "_");
    let name = format!("{prefix}{id}");
    if name.len() <= dataplane::MAX_IDENTIFIER_BYTES {
        return name;
    }
    let hash = hex::encode(&Sha256::digest(id.as_bytes())[..4]);
    let keep = dataplane::MAX_IDENTIFIER_BYTES - prefix.len() - hash.len() - 1;
    format!("{prefix}{}_{hash}", &id[..keep])
}

/// The login role of an environment.
pub fn role_name(environment_id: &str) -> String {
    derived_identifier("weft_e_", environment_id)
}

/// A producer environment's schema: its `schema` parameter, else derived from its id.
pub fn schema_name(blueprint: &Blueprint, values: Option<&Struct>, environment_id: &str) -> String {
    text(blueprint, values, SCHEMA).unwrap_or_else(|| derived_identifier("weft_", environment_id))
}

/// Whether a kind is a producer's.
pub fn is_producer(kind: EnvironmentKind) -> bool {
    kind == EnvironmentKind::Producer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_fit_postgres_and_stay_distinct() {
        assert_eq!(role_name("churn-model"), "weft_e_churn_model");
        let long_a = format!("a{}", "b".repeat(62));
        let long_b = format!("a{}c", "b".repeat(61));
        let (a, b) = (role_name(&long_a), role_name(&long_b));
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert!(dataplane::is_identifier(&a));
    }

    #[test]
    fn values_are_typed_secrets_split_and_unknown_names_refused() {
        let blueprint = builtin_postgres();
        let mut values = Struct::default();
        let text = |t: &str| Value {
            kind: Some(Kind::StringValue(t.to_string())),
        };
        values.fields.insert(
            ADMIN_URL.into(),
            text("postgres://admin:pw@127.0.0.1:5432/db"),
        );
        values.fields.insert(DATABASE.into(), text("analytics"));
        let mut errors = FieldErrors::new();
        let (public, secrets) = split_values(&mut errors, &blueprint, Some(&values), &[]);
        assert!(errors.is_empty());
        assert!(!public.fields.contains_key(ADMIN_URL));
        assert_eq!(secrets[0].0, ADMIN_URL);

        values.fields.insert(SCHEMA.into(), text("Robert'); DROP"));
        values.fields.insert("colour".into(), text("x"));
        values.fields.insert(
            ADMIN_URL.into(),
            Value {
                kind: Some(Kind::NumberValue(1.0)),
            },
        );
        let mut errors = FieldErrors::new();
        split_values(&mut errors, &blueprint, Some(&values), &[]);
        let fields: Vec<String> = errors.fields().map(str::to_string).collect();
        assert!(
            fields.contains(&"environment.parameters.schema".to_string()),
            "{fields:?}"
        );
        assert!(fields.contains(&"environment.parameters.colour".to_string()));
        assert!(fields.contains(&"environment.parameters.admin_url".to_string()));

        let mut errors = FieldErrors::new();
        let mut other_scheme = Struct::default();
        other_scheme
            .fields
            .insert(ADMIN_URL.into(), text("mysql://root:hunter2@db/x"));
        split_values(&mut errors, &blueprint, Some(&other_scheme), &[]);
        assert_eq!(
            errors.fields().collect::<Vec<_>>(),
            vec!["environment.parameters.admin_url"]
        );

        let mut errors = FieldErrors::new();
        split_values(&mut errors, &blueprint, None, &[]);
        assert_eq!(
            errors.fields().collect::<Vec<_>>(),
            vec!["environment.parameters.admin_url"]
        );
        let mut errors = FieldErrors::new();
        split_values(&mut errors, &blueprint, None, &[ADMIN_URL]);
        assert!(errors.is_empty());
    }
}
