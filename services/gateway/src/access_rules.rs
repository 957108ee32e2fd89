//! The authorization rule of every public RPC, read from the `weft.common.v1.access` method
//! option in the API's descriptors, so that the gateway enforces them generically. Loading fails
//! if a public RPC has no rule or names a request field that does not exist: deny by default.

use std::collections::HashMap;

use anyhow::{Context, bail};
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, Value};
use weft_proto::weft::common::v1::{Audience, Permission};

/// One RPC's rule.
#[derive(Debug, Clone)]
pub struct AccessRule {
    /// The RPC's name, e.g. "CreateDomain".
    pub method: String,
    pub audience: Audience,
    pub permission: Permission,
    /// Dotted path of the request field naming the resource ("" = the catalog root).
    pub resource_field: String,
    /// The request message type, to read `resource_field` from a request.
    pub input: MessageDescriptor,
}

/// Rules by gRPC path, e.g. "/weft.catalog.v1.CatalogService/CreateDomain".
pub struct AccessRules {
    rules: HashMap<String, AccessRule>,
}

impl AccessRules {
    pub fn load() -> anyhow::Result<Self> {
        let pool = weft_proto::descriptor_pool();
        let extension = pool
            .get_extension_by_name("weft.common.v1.access")
            .context("the descriptor set has no weft.common.v1.access extension")?;
        let mut rules = HashMap::new();
        for service_name in weft_proto::PUBLIC_SERVICES {
            let service = pool
                .get_service_by_name(service_name)
                .with_context(|| format!("{service_name} is missing from the descriptors"))?;
            for method in service.methods() {
                let path = format!("/{}/{}", service.full_name(), method.name());
                let options = method.options();
                if !options.has_extension(&extension) {
                    bail!("{path} declares no (weft.common.v1.access) rule");
                }
                let value = options.get_extension(&extension);
                let Value::Message(rule) = value.as_ref() else {
                    bail!("{path}: the access option is not a message");
                };
                let rule = parse_rule(rule, method.name(), method.input());
                if rule.audience == Audience::Resource && rule.permission == Permission::Unspecified
                {
                    bail!("{path}: a resource rule needs a permission");
                }
                // The gateway reads the resource from the one request message of a unary call.
                if rule.audience == Audience::Resource && method.is_client_streaming() {
                    bail!("{path}: a client-streaming RPC can not have a resource rule");
                }
                if !rule.resource_field.is_empty() {
                    check_field_path(&method.input(), &rule.resource_field)
                        .with_context(|| format!("{path}: resource_field"))?;
                }
                rules.insert(path, rule);
            }
        }
        Ok(Self { rules })
    }

    pub fn get(&self, path: &str) -> Option<&AccessRule> {
        self.rules.get(path)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn parse_rule(rule: &DynamicMessage, method: &str, input: MessageDescriptor) -> AccessRule {
    let enum_number = |field: &str| match rule.get_field_by_name(field).as_deref() {
        Some(Value::EnumNumber(number)) => *number,
        _ => 0,
    };
    let audience =
        match Audience::try_from(enum_number("audience")).unwrap_or(Audience::Unspecified) {
            Audience::Unspecified => Audience::Resource,
            other => other,
        };
    AccessRule {
        method: method.to_string(),
        audience,
        permission: Permission::try_from(enum_number("permission"))
            .unwrap_or(Permission::Unspecified),
        resource_field: match rule.get_field_by_name("resource_field").as_deref() {
            Some(Value::String(field)) => field.clone(),
            _ => String::new(),
        },
        input,
    }
}

/// The dotted path must lead through message fields to a string field.
fn check_field_path(message: &MessageDescriptor, path: &str) -> anyhow::Result<()> {
    let mut current = message.clone();
    let segments: Vec<&str> = path.split('.').collect();
    for (index, segment) in segments.iter().enumerate() {
        let field = current
            .get_field_by_name(segment)
            .with_context(|| format!("{} has no field '{segment}'", current.full_name()))?;
        let last = index == segments.len() - 1;
        match (field.kind(), last) {
            (Kind::String, true) if !field.is_list() => return Ok(()),
            (Kind::Message(next), false) => current = next,
            _ => bail!("'{path}' must lead to a singular string field"),
        }
    }
    bail!("'{path}' is empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_rpc_has_a_valid_rule() {
        let rules = AccessRules::load().unwrap();
        let pool = weft_proto::descriptor_pool();
        let total: usize = weft_proto::PUBLIC_SERVICES
            .iter()
            .map(|name| pool.get_service_by_name(name).unwrap().methods().len())
            .sum();
        assert_eq!(rules.len(), total);
        let create = rules
            .get("/weft.catalog.v1.CatalogService/CreateDomain")
            .unwrap();
        assert_eq!(create.permission, Permission::Alter);
        assert_eq!(create.resource_field, "domain.parent_domain");
        let search = rules.get("/weft.catalog.v1.CatalogService/Search").unwrap();
        assert_eq!(search.audience, Audience::Authenticated);
    }
}
