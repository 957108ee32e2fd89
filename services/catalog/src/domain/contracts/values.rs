//! JSON values and custom properties: how the parts of a contract Weft keeps without
//! interpreting them are stored ("odcs:<key>" custom properties) and found again.

use prost_types::value::Kind;
use serde_json::{Map, Value};
use weft_proto::weft::catalog::v1::{ContractNote, CustomProperty};

/// Prefix of the custom properties that hold an ODCS key as it was imported.
pub const ODCS: &str = "odcs:";

pub fn to_proto(json: &Value) -> prost_types::Value {
    let kind = match json {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(to_proto).collect(),
        }),
        Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.iter().map(|(k, v)| (k.clone(), to_proto(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// The JSON of a stored value; whole numbers come back as integers (protobuf keeps doubles).
pub fn to_json(value: &prost_types::Value) -> Value {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(list)) => Value::Array(list.values.iter().map(to_json).collect()),
        Some(Kind::StructValue(object)) => Value::Object(
            object
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// Collects the custom properties of one element (contract, schema object or property) and the
/// notes that report what was kept.
#[derive(Default)]
pub struct Kept {
    pub properties: Vec<CustomProperty>,
}

impl Kept {
    /// Keeps ODCS key `key` as "odcs:<key>", silently (it is also mapped to a first-class field
    /// and kept only so that the export gives it back exactly).
    pub fn keep_quietly(&mut self, key: &str, value: &Value) {
        self.properties.push(CustomProperty {
            property: format!("{ODCS}{key}"),
            value: Some(to_proto(value)),
        });
    }

    /// Keeps ODCS key `key`, reporting it at `path`.
    pub fn keep(&mut self, notes: &mut Vec<ContractNote>, path: &str, key: &str, value: &Value) {
        self.keep_quietly(key, value);
        notes.push(ContractNote {
            path: join(path, key),
            message: format!("no first-class field in Weft: kept as custom property {ODCS}{key}"),
        });
    }

    /// Keeps a contract's own custom property under its name.
    pub fn custom(&mut self, name: &str, value: &Value) {
        self.properties.push(CustomProperty {
            property: name.to_string(),
            value: Some(to_proto(value)),
        });
    }
}

/// The kept ODCS key `key` among `properties`.
pub fn kept(properties: &[CustomProperty], key: &str) -> Option<Value> {
    let name = format!("{ODCS}{key}");
    properties
        .iter()
        .find(|p| p.property == name)
        .and_then(|p| p.value.as_ref())
        .map(to_json)
}

/// Every kept ODCS key with its value, in the order they were kept, except `skip`.
pub fn kept_keys<'a>(
    properties: &'a [CustomProperty],
    skip: &'a [&str],
) -> impl Iterator<Item = (&'a str, Value)> + 'a {
    properties.iter().filter_map(move |p| {
        let key = p.property.strip_prefix(ODCS)?;
        (!skip.contains(&key)).then(|| (key, p.value.as_ref().map(to_json).unwrap_or_default()))
    })
}

/// The contract's own custom properties (those not named "odcs:…") as ODCS `customProperties`.
pub fn own_custom_properties(properties: &[CustomProperty]) -> Vec<Value> {
    properties
        .iter()
        .filter(|p| !p.property.starts_with(ODCS))
        .map(|p| {
            let mut entry = Map::new();
            entry.insert("property".into(), Value::String(p.property.clone()));
            entry.insert(
                "value".into(),
                p.value.as_ref().map(to_json).unwrap_or_default(),
            );
            Value::Object(entry)
        })
        .collect()
}

/// "a.b" + "c" → "a.b.c"; "" + "c" → "c".
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_survives_the_protobuf_value() {
        let value = json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}});
        assert_eq!(to_json(&to_proto(&value)), value);
    }
}
