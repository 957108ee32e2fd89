//! A product and its assets → an ODCS v3.1.0 contract: first-class fields as Weft holds them
//! now, and every kept ODCS key ("odcs:<key>" custom properties) back where it came from, so that
//! importing the export gives the same product.

use serde_json::{Map, Value, json};
use weft_proto::weft::catalog::v1::{Asset, Column, DataProduct, LifecycleState};
use weft_proto::weft::common::v1::Tag;

use super::import::{LOCATION_PROPERTY, derive_location, kind_of, owner_member};
use super::sla;
use super::types::{Nesting, nesting_of, odcs_type, weft_type};
use super::values::{kept, kept_keys, own_custom_properties};
use weft_proto::data_type::DataType;

fn tag_text(tag: &Tag) -> Value {
    if tag.value.is_empty() {
        json!(tag.key)
    } else {
        json!(format!("{}={}", tag.key, tag.value))
    }
}

/// Weft's tags, then the kept ones that were not declared tags.
fn tags(tags: &[Tag], kept_tags: Option<Value>) -> Option<Value> {
    let mut all: Vec<Value> = tags.iter().map(tag_text).collect();
    if let Some(Value::Array(kept_tags)) = kept_tags {
        all.extend(kept_tags);
    }
    (!all.is_empty()).then_some(Value::Array(all))
}

/// The contract's own custom properties, then a kept "customProperties" list.
fn custom_properties(
    properties: &[weft_proto::weft::catalog::v1::CustomProperty],
) -> Option<Value> {
    let mut all = own_custom_properties(properties);
    if let Some(Value::Array(list)) = kept(properties, "customProperties") {
        all.extend(list);
    }
    (!all.is_empty()).then_some(Value::Array(all))
}

fn put(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        out.insert(key.to_string(), value);
    }
}

/// Keys rebuilt from first-class fields (their kept copies only help that).
const COLUMN_REBUILT: &[&str] = &[
    "physicalType",
    "logicalType",
    "items",
    "tags",
    "customProperties",
];

fn property(column: &Column) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(column.name));
    let data_type = DataType::parse(&column.r#type).unwrap_or(DataType::Json);
    let nesting = nesting_of(&data_type);
    // The kept type keys if they still mean the column's type; Weft's type otherwise.
    let mut type_keys = Map::new();
    for key in ["physicalType", "logicalType", "items", "logicalTypeOptions"] {
        put(&mut type_keys, key, kept(&column.custom_properties, key));
    }
    let kept_type_holds = !type_keys.is_empty()
        && DataType::parse(&weft_type(&type_keys, nesting).0).ok() == Some(data_type.clone());
    if !kept_type_holds {
        type_keys = odcs_type(&data_type);
    }
    let fields: Vec<Value> = column.fields.iter().map(property).collect();
    match nesting {
        Nesting::Object => {
            type_keys.insert("properties".into(), Value::Array(fields));
        }
        Nesting::Items => {
            let items = type_keys
                .entry("items")
                .or_insert_with(|| json!({"logicalType": "object"}));
            if let Some(items) = items.as_object_mut() {
                items.insert("properties".into(), Value::Array(fields));
            }
        }
        Nesting::None => {}
    }
    out.extend(type_keys);
    if !column.nullable {
        out.insert("required".into(), json!(true));
    }
    if !column.description.is_empty() {
        out.insert("description".into(), json!(column.description));
    }
    let (classification, other_tags): (Vec<Tag>, Vec<Tag>) = column
        .tags
        .iter()
        .cloned()
        .partition(|t| t.key == "classification" && !t.value.is_empty());
    if let Some(tag) = classification.first() {
        out.insert("classification".into(), json!(tag.value));
    }
    put(
        &mut out,
        "tags",
        tags(&other_tags, kept(&column.custom_properties, "tags")),
    );
    put(
        &mut out,
        "customProperties",
        custom_properties(&column.custom_properties),
    );
    let mut skip = COLUMN_REBUILT.to_vec();
    skip.push("logicalTypeOptions");
    for (key, value) in kept_keys(&column.custom_properties, &skip) {
        out.entry(key.to_string()).or_insert(value);
    }
    Value::Object(out)
}

fn kind_word(asset: &Asset) -> &'static str {
    use weft_proto::weft::catalog::v1::AssetKind;
    match asset.kind() {
        AssetKind::View => "view",
        AssetKind::FileSet => "file",
        AssetKind::Stream => "topic",
        _ => "table",
    }
}

fn schema_object(asset: &Asset, servers: Option<&Value>, product: &str) -> Value {
    let props = &asset.custom_properties;
    let id = asset.name.rsplit('/').next().unwrap_or_default();
    let name = kept(props, "name")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| id.to_string());
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    if !asset.display_name.is_empty() && asset.display_name != name {
        out.insert("businessName".into(), json!(asset.display_name));
    }
    let kept_physical = kept(props, "physicalType");
    let kept_kind = kind_of(kept_physical.as_ref().and_then(Value::as_str));
    match kept_physical {
        Some(physical) if kept_kind == asset.kind() => {
            out.insert("physicalType".into(), physical);
        }
        None if asset.kind() == kept_kind => {}
        _ => {
            out.insert("physicalType".into(), json!(kind_word(asset)));
        }
    }
    let physical_name = kept(props, "physicalName");
    put(&mut out, "physicalName", physical_name.clone());
    if !asset.description.is_empty() {
        out.insert("description".into(), json!(asset.description));
    }
    put(&mut out, "tags", tags(&asset.tags, kept(props, "tags")));
    let columns = asset.schema.as_ref().map_or(&[][..], |s| &s.columns);
    if !columns.is_empty() {
        out.insert(
            "properties".into(),
            Value::Array(columns.iter().map(property).collect()),
        );
    }
    let mut custom = match custom_properties(props) {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    let derived = derive_location(
        servers,
        product,
        &name,
        physical_name.as_ref().and_then(Value::as_str),
    );
    if let Some(location) = asset.location.as_ref().filter(|l| **l != derived) {
        custom.push(json!({
            "property": LOCATION_PROPERTY,
            "value": {"namespace": location.namespace, "name": location.name},
        }));
    }
    if !custom.is_empty() {
        out.insert("customProperties".into(), Value::Array(custom));
    }
    let skip = [
        "name",
        "physicalType",
        "physicalName",
        "tags",
        "customProperties",
    ];
    for (key, value) in kept_keys(props, &skip) {
        out.entry(key.to_string()).or_insert(value);
    }
    Value::Object(out)
}

fn status(product: &DataProduct) -> Value {
    match product.lifecycle_state() {
        LifecycleState::Published => json!("active"),
        LifecycleState::Deprecated => json!("deprecated"),
        LifecycleState::Retired => json!("retired"),
        _ => kept(&product.custom_properties, "status").unwrap_or_else(|| json!("draft")),
    }
}

/// Team: the kept team (less owner members who are no longer owners) with the product's other
/// owners as members with role "owner".
fn team(product: &DataProduct) -> Option<Value> {
    let still = |member: &Value| owner_member(member).is_none_or(|o| product.owners.contains(&o));
    let merge = |kept: &[Value]| -> Vec<Value> {
        let mut members: Vec<Value> = kept.iter().filter(|m| still(m)).cloned().collect();
        for owner in &product.owners {
            if !members
                .iter()
                .any(|m| owner_member(m).as_ref() == Some(owner))
            {
                let username = owner.strip_prefix("users/").unwrap_or(owner);
                members.push(json!({"username": username, "role": "owner"}));
            }
        }
        members
    };
    match kept(&product.custom_properties, "team") {
        Some(Value::Array(members)) => Some(Value::Array(merge(&members))),
        Some(Value::Object(mut team)) => {
            let members = match team.get("members") {
                Some(Value::Array(members)) => merge(members),
                _ => merge(&[]),
            };
            if members.is_empty() {
                team.remove("members");
            } else {
                team.insert("members".into(), Value::Array(members));
            }
            Some(Value::Object(team))
        }
        _ if product.owners.is_empty() => None,
        _ => Some(json!({ "members": merge(&[]) })),
    }
}

/// The contract of `product` with `assets`.
pub fn contract(product: &DataProduct, assets: &[Asset]) -> Value {
    let props = &product.custom_properties;
    let id = product.name.rsplit('/').next().unwrap_or_default();
    let mut out = Map::new();
    out.insert("apiVersion".into(), json!("v3.1.0"));
    out.insert("kind".into(), json!("DataContract"));
    out.insert("id".into(), kept(props, "id").unwrap_or_else(|| json!(id)));
    out.insert("name".into(), json!(product.display_name));
    out.insert(
        "version".into(),
        kept(props, "version").unwrap_or_else(|| json!("1.0.0")),
    );
    out.insert("status".into(), status(product));
    let mut description = match kept(props, "description") {
        Some(Value::Object(rest)) => rest,
        _ => Map::new(),
    };
    if !product.description.is_empty() {
        description.insert("purpose".into(), json!(product.description));
    }
    if !description.is_empty() {
        out.insert("description".into(), Value::Object(description));
    }
    put(&mut out, "tags", tags(&product.tags, kept(props, "tags")));
    put(&mut out, "team", team(product));
    let sla = sla::export(kept(props, "slaProperties"), product.service_level.as_ref());
    if !sla.is_empty() {
        out.insert("slaProperties".into(), Value::Array(sla));
    }
    let servers = kept(props, "servers");
    out.insert(
        "schema".into(),
        Value::Array(
            assets
                .iter()
                .map(|a| schema_object(a, servers.as_ref(), &product.name))
                .collect(),
        ),
    );
    put(&mut out, "customProperties", custom_properties(props));
    let skip = [
        "id",
        "version",
        "status",
        "description",
        "tags",
        "team",
        "slaProperties",
        "customProperties",
    ];
    for (key, value) in kept_keys(props, &skip) {
        out.entry(key.to_string()).or_insert(value);
    }
    Value::Object(out)
}
