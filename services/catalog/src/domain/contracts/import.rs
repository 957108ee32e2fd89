//! An ODCS contract (already validated against the JSON schema) → the product and assets it
//! describes, and the notes reporting what was kept without a first-class field. Pure: the tag
//! keys the catalog declares are passed in.

use std::collections::HashMap;

use serde_json::{Map, Value};
use weft_proto::weft::catalog::v1::{
    Asset, AssetKind, Column, ContractNote, DataProduct, Location, Schema, ServiceLevel,
};
use weft_proto::weft::common::v1::Tag;
use weft_runtime::{ApiError, FieldErrors, validate};

use super::document::FIELD;
use super::sla;
use super::types::{Nesting, weft_type};
use super::values::{Kept, join};

/// The schema object custom property that places an asset somewhere its name and the contract's
/// servers do not say (written by the export when needed).
pub const LOCATION_PROPERTY: &str = "weftLocation";

/// What a contract describes.
pub struct Plan {
    /// The product's fields from the contract (name and output fields unset). Its owners are
    /// the team members with role "owner"; when there are none, an existing product keeps its own.
    pub product: DataProduct,
    /// Service level fields the contract sets (an existing product keeps the others).
    pub service_level: sla::Mapped,
    /// Assets by id, with where they are in the contract (e.g. "schema[1]").
    pub assets: Vec<(String, String, Asset)>,
    pub notes: Vec<ContractNote>,
}

/// Declared tag keys and their allowed values (empty: any value).
pub type TagKeys = HashMap<String, Vec<String>>;

struct Context<'a> {
    tag_keys: &'a TagKeys,
    notes: Vec<ContractNote>,
}

impl Context<'_> {
    fn note(&mut self, path: String, message: impl Into<String>) {
        self.notes.push(ContractNote {
            path,
            message: message.into(),
        });
    }

    /// A tag from its ODCS text ("key", "key=value" or "key:value") if the key is declared and
    /// the value allowed.
    fn tag(&self, text: &str) -> Option<Tag> {
        let (key, value) = text
            .split_once(['=', ':'])
            .map_or((text, ""), |(k, v)| (k.trim(), v.trim()));
        let allowed = self.tag_keys.get(key)?;
        (allowed.is_empty() || allowed.iter().any(|a| a == value)).then(|| Tag {
            key: key.to_string(),
            value: value.to_string(),
        })
    }

    /// Maps `tags`; those that are not declared tags are kept as "odcs:tags" and reported.
    fn tags(&mut self, element: &Map<String, Value>, path: &str, kept: &mut Kept) -> Vec<Tag> {
        let mut tags: Vec<Tag> = Vec::new();
        let mut unmapped = Vec::new();
        let list = element.get("tags").and_then(Value::as_array);
        for (index, text) in list.into_iter().flatten().enumerate() {
            let text = text.as_str().unwrap_or_default();
            match self.tag(text) {
                Some(tag) if !tags.contains(&tag) => tags.push(tag),
                Some(_) => {}
                None => {
                    unmapped.push(Value::String(text.to_string()));
                    self.note(
                        format!("{}[{index}]", join(path, "tags")),
                        format!("'{text}' is not a declared tag (tag key and allowed value): kept as custom property odcs:tags"),
                    );
                }
            }
        }
        if !unmapped.is_empty() {
            kept.keep_quietly("tags", &Value::Array(unmapped));
        }
        tags
    }

    /// Maps `customProperties` to custom properties under their own names; when an entry has
    /// more than a property and a value, the whole list is kept as "odcs:customProperties".
    fn custom_properties(&mut self, element: &Map<String, Value>, path: &str, kept: &mut Kept) {
        let Some(list) = element.get("customProperties").and_then(Value::as_array) else {
            return;
        };
        let simple = list.iter().all(|entry| {
            entry.as_object().is_some_and(|e| {
                e.keys().all(|k| k == "property" || k == "value")
                    && e.get("property")
                        .and_then(Value::as_str)
                        .is_some_and(|p| !p.starts_with(super::values::ODCS))
            })
        });
        if simple {
            for entry in list {
                let name = entry["property"].as_str().unwrap_or_default();
                if name != LOCATION_PROPERTY {
                    kept.custom(name, &entry["value"]);
                }
            }
        } else {
            kept.keep(
                &mut self.notes,
                path,
                "customProperties",
                &Value::Array(list.clone()),
            );
        }
    }
}

fn text<'a>(element: &'a Map<String, Value>, key: &str) -> &'a str {
    element.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A valid resource id from free text: lowercase letters, digits and hyphens, starting with a
/// letter (`prefix` is put in front otherwise), at most 63 characters.
pub fn resource_id_from(text: &str, prefix: &str) -> Option<String> {
    let mut id = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let mut id = id.trim_matches('-').to_string();
    if id.is_empty() {
        return None;
    }
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id = format!("{prefix}{id}");
    }
    id.truncate(63);
    Some(id.trim_end_matches('-').to_string())
}

/// The owner a team member names: a principal as is, or a user id.
fn owner_of(username: &str) -> Option<String> {
    let mut scratch = FieldErrors::new();
    if validate::principal(&mut scratch, "", username) {
        return Some(username.to_string());
    }
    let user = format!("users/{username}");
    validate::principal(&mut FieldErrors::new(), "", &user).then_some(user)
}

/// The owner a team member stands for: a member with role "owner" still on the team (no
/// `dateOut`) whose username is a principal or a user id.
pub fn owner_member(member: &Value) -> Option<String> {
    let member = member.as_object()?;
    if !text(member, "role").eq_ignore_ascii_case("owner") || member.contains_key("dateOut") {
        return None;
    }
    owner_of(text(member, "username"))
}

/// Owner members become owners; the rest of the team is returned to be kept, including owner
/// members that say more than a username and a role (the export then writes them as they were).
fn owners_from_team(team: &Value) -> (Vec<String>, Option<Value>) {
    let mut owners: Vec<String> = Vec::new();
    let mut taken = |member: &Value| {
        let Some(owner) = owner_member(member) else {
            return false;
        };
        if !owners.contains(&owner) {
            owners.push(owner);
        }
        member
            .as_object()
            .is_some_and(|m| m.keys().all(|k| matches!(k.as_str(), "username" | "role")))
    };
    let rest = match team {
        Value::Array(members) => {
            let rest: Vec<Value> = members.iter().filter(|m| !taken(m)).cloned().collect();
            (!rest.is_empty()).then_some(Value::Array(rest))
        }
        Value::Object(object) => {
            let mut rest = object.clone();
            if let Some(Value::Array(members)) = object.get("members") {
                let others: Vec<Value> = members.iter().filter(|m| !taken(m)).cloned().collect();
                if others.is_empty() {
                    rest.remove("members");
                } else {
                    rest.insert("members".into(), Value::Array(others));
                }
            }
            (!rest.is_empty()).then_some(Value::Object(rest))
        }
        other => Some(other.clone()),
    };
    (owners, rest)
}

/// The OpenLineage namespace of an ODCS server, and the prefix its datasets' names take
/// ("database.schema." for a database server).
pub fn server_namespace(server: &Map<String, Value>) -> (String, String) {
    let kind = match text(server, "type") {
        "postgresql" => "postgres",
        "" => "custom",
        other => other,
    };
    let host = text(server, "host");
    let namespace = if !host.is_empty() {
        match server.get("port").filter(|_| !host.contains(':')) {
            Some(port) => format!("{kind}://{host}:{}", port.to_string().trim_matches('"')),
            None => format!("{kind}://{host}"),
        }
    } else if !text(server, "location").is_empty() {
        text(server, "location").to_string()
    } else {
        format!("{kind}://{}", text(server, "server"))
    };
    let prefix: String = ["database", "schema"]
        .iter()
        .map(|k| text(server, k))
        .filter(|v| !v.is_empty())
        .map(|v| format!("{v}."))
        .collect();
    (namespace, prefix)
}

/// Where a schema object's data is: on the contract's first server, or (without servers) under
/// the product's own namespace "weft://{product}".
pub fn derive_location(
    servers: Option<&Value>,
    product: &str,
    object_name: &str,
    physical_name: Option<&str>,
) -> Location {
    let table = physical_name
        .filter(|p| !p.is_empty())
        .unwrap_or(object_name);
    match servers
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .and_then(Value::as_object)
    {
        Some(server) => {
            let (namespace, prefix) = server_namespace(server);
            Location {
                namespace,
                name: format!("{prefix}{table}"),
            }
        }
        None => Location {
            namespace: format!("weft://{product}"),
            name: table.to_string(),
        },
    }
}

/// The asset kind an ODCS `physicalType` of a schema object stands for.
pub fn kind_of(physical_type: Option<&str>) -> AssetKind {
    match physical_type.map(str::to_ascii_lowercase).as_deref() {
        Some("view" | "materialized view" | "materialized_view") => AssetKind::View,
        Some("topic" | "stream" | "queue" | "kafka topic") => AssetKind::Stream,
        Some("file" | "files" | "fileset" | "file set" | "directory" | "folder" | "bucket") => {
            AssetKind::FileSet
        }
        _ => AssetKind::Table,
    }
}

/// The keys a property maps (the rest is kept).
const PROPERTY_KEYS: &[&str] = &[
    "name",
    "description",
    "required",
    "properties",
    "tags",
    "classification",
    "physicalType",
    "logicalType",
    "items",
    "customProperties",
];

fn column(ctx: &mut Context, property: &Map<String, Value>, path: &str) -> Column {
    let mut kept = Kept::default();
    let nested = |p: &Map<String, Value>| {
        p.get("properties")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .cloned()
    };
    let items = property.get("items").and_then(Value::as_object);
    let (nesting, nested_properties, nested_path) = if let Some(list) = nested(property) {
        (Nesting::Object, list, join(path, "properties"))
    } else if let Some(list) = items.and_then(nested) {
        (Nesting::Items, list, join(path, "items.properties"))
    } else {
        (Nesting::None, Vec::new(), String::new())
    };
    let (data_type, note) = weft_type(property, nesting);
    if let Some(note) = note {
        ctx.note(path.to_string(), note);
    }
    let fields = nested_properties
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(column(ctx, p.as_object()?, &format!("{nested_path}[{i}]"))))
        .collect();
    let mut tags = ctx.tags(property, path, &mut kept);
    let classification = text(property, "classification");
    if !classification.is_empty() {
        match ctx.tag(&format!("classification={classification}")) {
            Some(tag) if !tags.contains(&tag) => tags.push(tag),
            Some(_) => {}
            None => kept.keep(
                &mut ctx.notes,
                path,
                "classification",
                &property["classification"],
            ),
        }
    }
    for key in ["physicalType", "logicalType"] {
        if let Some(value) = property.get(key) {
            kept.keep_quietly(key, value);
        }
    }
    if let Some(items) = items {
        let mut items = items.clone();
        if nesting == Nesting::Items {
            items.remove("properties");
        }
        kept.keep_quietly("items", &Value::Object(items));
    }
    ctx.custom_properties(property, path, &mut kept);
    for (key, value) in property {
        if !PROPERTY_KEYS.contains(&key.as_str()) {
            kept.keep(&mut ctx.notes, path, key, value);
        }
    }
    Column {
        name: text(property, "name").to_string(),
        r#type: data_type,
        nullable: property.get("required") != Some(&Value::Bool(true)),
        description: text(property, "description").to_string(),
        tags,
        glossary_terms: Vec::new(),
        fields,
        inherited_tags: Vec::new(),
        custom_properties: kept.properties,
    }
}

/// The keys a schema object maps (the rest is kept).
const OBJECT_KEYS: &[&str] = &[
    "name",
    "businessName",
    "description",
    "physicalType",
    "physicalName",
    "logicalType",
    "tags",
    "properties",
    "customProperties",
];

fn asset(
    ctx: &mut Context,
    object: &Map<String, Value>,
    path: &str,
    servers: Option<&Value>,
    product: &str,
) -> Result<(String, Asset), ApiError> {
    let name = text(object, "name");
    let id = resource_id_from(name, "a-").ok_or_else(|| {
        ApiError::invalid(
            FIELD,
            format!("{path}.name: '{name}' gives no asset id (it needs letters or digits)"),
        )
    })?;
    let mut kept = Kept::default();
    if name != id {
        kept.keep_quietly("name", &object["name"]);
    }
    let physical_type = object.get("physicalType").and_then(Value::as_str);
    if let Some(value) = object.get("physicalType") {
        kept.keep_quietly("physicalType", value);
    }
    let physical_name = object.get("physicalName").and_then(Value::as_str);
    if let Some(value) = object.get("physicalName") {
        kept.keep_quietly("physicalName", value);
    }
    let mut location = derive_location(servers, product, name, physical_name);
    let placed = object
        .get("customProperties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p["property"] == LOCATION_PROPERTY)
        .map(|p| &p["value"]);
    if let Some(placed) = placed {
        match (placed["namespace"].as_str(), placed["name"].as_str()) {
            (Some(namespace), Some(name)) => {
                location = Location {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    FIELD,
                    format!(
                        "{path}.customProperties: {LOCATION_PROPERTY} must be an object with a namespace and a name"
                    ),
                ));
            }
        }
    }
    let tags = ctx.tags(object, path, &mut kept);
    let columns = object
        .get("properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, p)| {
            Some(column(
                ctx,
                p.as_object()?,
                &format!("{path}.properties[{i}]"),
            ))
        })
        .collect();
    ctx.custom_properties(object, path, &mut kept);
    for (key, value) in object {
        if !OBJECT_KEYS.contains(&key.as_str()) {
            kept.keep(&mut ctx.notes, path, key, value);
        }
    }
    let business_name = text(object, "businessName");
    Ok((
        id,
        Asset {
            display_name: if business_name.is_empty() {
                name
            } else {
                business_name
            }
            .to_string(),
            kind: kind_of(physical_type) as i32,
            location: Some(location),
            description: text(object, "description").to_string(),
            tags,
            schema: Some(Schema { columns }),
            custom_properties: kept.properties,
            ..Default::default()
        },
    ))
}

/// The top-level keys the import maps (the rest is kept).
const CONTRACT_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "id",
    "name",
    "version",
    "status",
    "description",
    "tags",
    "team",
    "slaProperties",
    "schema",
    "customProperties",
];

/// The product (to be named `product_name`, whose resource id is `product_id`) and assets a
/// contract describes.
pub fn plan(
    contract: &Value,
    product_name: &str,
    product_id: &str,
    tag_keys: &TagKeys,
) -> Result<Plan, ApiError> {
    let contract = contract
        .as_object()
        .expect("a validated contract is a mapping");
    let mut ctx = Context {
        tag_keys,
        notes: Vec::new(),
    };
    let mut kept = Kept::default();
    let contract_id = text(contract, "id");
    if contract_id != product_id {
        kept.keep_quietly("id", &contract["id"]);
    }
    for key in ["version", "status"] {
        if let Some(value) = contract.get(key) {
            kept.keep_quietly(key, value);
        }
    }
    let display_name = match text(contract, "name") {
        "" => contract_id,
        name => name,
    };
    let mut description = String::new();
    if let Some(Value::Object(object)) = contract.get("description") {
        description = text(object, "purpose").to_string();
        let mut rest = object.clone();
        rest.remove("purpose");
        if !rest.is_empty() {
            kept.keep(&mut ctx.notes, "", "description", &Value::Object(rest));
        }
    }
    let tags = ctx.tags(contract, "", &mut kept);
    let mut owners = Vec::new();
    if let Some(team) = contract.get("team") {
        let (found, rest) = owners_from_team(team);
        owners = found;
        if let Some(rest) = rest {
            kept.keep(&mut ctx.notes, "", "team", &rest);
        }
    }
    let mut service_level = sla::Mapped::default();
    if let Some(Value::Array(entries)) = contract.get("slaProperties") {
        kept.keep_quietly("slaProperties", &contract["slaProperties"]);
        for (index, entry) in entries.iter().enumerate() {
            if !service_level.map(entry) {
                ctx.note(
                    format!("slaProperties[{index}]"),
                    format!(
                        "'{}' has no Weft service level field: kept in custom property odcs:slaProperties",
                        entry["property"].as_str().unwrap_or_default()
                    ),
                );
            }
        }
    }
    ctx.custom_properties(contract, "", &mut kept);
    for (key, value) in contract {
        if !CONTRACT_KEYS.contains(&key.as_str()) {
            kept.keep(&mut ctx.notes, "", key, value);
        }
    }
    let servers = contract.get("servers");
    if servers
        .and_then(Value::as_array)
        .is_some_and(|s| s.len() > 1)
    {
        ctx.note(
            "servers".to_string(),
            "assets are located on the first server (one location per asset)",
        );
    }
    let mut assets: Vec<(String, String, Asset)> = Vec::new();
    let objects = contract.get("schema").and_then(Value::as_array);
    for (index, object) in objects.into_iter().flatten().enumerate() {
        let path = format!("schema[{index}]");
        let Some(object) = object.as_object() else {
            continue;
        };
        let (id, asset) = asset(&mut ctx, object, &path, servers, product_name)?;
        if let Some((_, first, _)) = assets.iter().find(|(other, _, _)| *other == id) {
            return Err(ApiError::invalid(
                FIELD,
                format!("{path}.name: gives asset id '{id}', like {first}.name"),
            ));
        }
        assets.push((id, path, asset));
    }
    Ok(Plan {
        product: DataProduct {
            display_name: display_name.to_string(),
            description,
            owners,
            tags,
            custom_properties: kept.properties,
            ..Default::default()
        },
        service_level,
        assets,
        notes: ctx.notes,
    })
}

/// Applies the service level fields a contract set.
pub fn merge_service_level(
    previous: Option<ServiceLevel>,
    mapped: &sla::Mapped,
) -> Option<ServiceLevel> {
    let mut level = previous.unwrap_or_default();
    mapped.apply(&mut level);
    (level != ServiceLevel::default()).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_made_valid() {
        assert_eq!(
            resource_id_from("Air_Quality", "a-").as_deref(),
            Some("air-quality")
        );
        assert_eq!(
            resource_id_from("53581432-6c55-4ba2", "c-").as_deref(),
            Some("c-53581432-6c55-4ba2")
        );
        assert_eq!(resource_id_from("__", "a-"), None);
        assert_eq!(resource_id_from(&"x".repeat(80), "a-").unwrap().len(), 63);
    }

    #[test]
    fn owners_come_from_current_owner_members() {
        let team = serde_json::json!({"name": "t", "members": [
            {"username": "alice", "role": "owner"},
            {"username": "bob", "role": "owner", "dateOut": "2020-01-01"},
            {"username": "groups/stewards", "role": "Owner"},
            {"username": "dave", "role": "owner", "name": "Dave"},
            {"username": "carol", "role": "dpo"}]});
        let (owners, rest) = owners_from_team(&team);
        assert_eq!(owners, ["users/alice", "groups/stewards", "users/dave"]);
        // bob (left), dave (said more) and carol stay in the kept team.
        assert_eq!(rest.unwrap()["members"].as_array().unwrap().len(), 3);
    }
}
