//! Column types between ODCS (a free-text `physicalType`, a `logicalType` from a short list,
//! `logicalTypeOptions`, `items` for arrays) and Weft's types.

use serde_json::{Map, Value, json};

use weft_proto::data_type::DataType;

/// Where a property's nested properties are: on itself (an object), on its array items, or
/// nowhere.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Nesting {
    None,
    Object,
    Items,
}

/// Where the nested fields of a Weft column of type `data_type` go in ODCS.
pub fn nesting_of(data_type: &DataType) -> Nesting {
    match data_type {
        DataType::Struct => Nesting::Object,
        DataType::Array(element) if element.has_fields() => Nesting::Items,
        _ => Nesting::None,
    }
}

fn text<'a>(property: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    property.get(key).and_then(Value::as_str)
}

/// The Weft type (canonical text) of an ODCS property, and a note when the mapping loses
/// something. The physical type wins when Weft knows it (it is what the data is stored as);
/// otherwise the logical type decides.
pub fn weft_type(property: &Map<String, Value>, nesting: Nesting) -> (String, Option<String>) {
    if nesting == Nesting::Object {
        return (DataType::Struct.to_string(), None);
    }
    let logical = text(property, "logicalType");
    let physical = text(property, "physicalType").and_then(|p| DataType::parse(p).ok());
    let items = property.get("items").and_then(Value::as_object);
    let is_array = logical == Some("array")
        || matches!(physical, Some(DataType::Array(_)))
        || nesting == Nesting::Items;
    if is_array {
        let element = match (nesting, items, &physical) {
            (Nesting::Items, _, _) => DataType::Struct.to_string(),
            (_, Some(items), _) => {
                let inner = if items.get("properties").is_some_and(|p| p.is_array()) {
                    Nesting::Object
                } else {
                    Nesting::None
                };
                weft_type(items, inner).0
            }
            (_, None, Some(DataType::Array(element))) => element.to_string(),
            (_, None, _) => DataType::Json.to_string(),
        };
        return (format!("array<{element}>"), None);
    }
    let options = property
        .get("logicalTypeOptions")
        .and_then(Value::as_object);
    let option = |key: &str| options.and_then(|o| o.get(key));
    match physical {
        // A "timestamp" column whose values carry their time zone.
        Some(DataType::Timestamp) if option("timezone") == Some(&Value::Bool(true)) => {
            return (DataType::TimestampTz.to_string(), None);
        }
        Some(known) if !known.has_fields() => return (known.to_string(), None),
        _ => {}
    }
    let mapped = match logical {
        Some("string") => DataType::String,
        Some("date") => DataType::Date,
        Some("timestamp") if option("timezone") == Some(&Value::Bool(true)) => {
            DataType::TimestampTz
        }
        Some("timestamp") => DataType::Timestamp,
        Some("integer") => match option("format").and_then(Value::as_str) {
            Some("i8" | "i16" | "u8") => DataType::SmallInt,
            Some("i64" | "u32" | "u64" | "i128" | "u128") => DataType::BigInt,
            _ => DataType::Int,
        },
        Some("number") => match option("format").and_then(Value::as_str) {
            Some("f32") => DataType::Float,
            _ => DataType::Double,
        },
        Some("boolean") => DataType::Boolean,
        Some("object") => DataType::Json,
        Some("time") => {
            return (
                DataType::String.to_string(),
                Some("a time of day has no Weft type: the column is a string".to_string()),
            );
        }
        _ => {
            return (
                DataType::String.to_string(),
                Some(match text(property, "physicalType") {
                    Some(p) => format!(
                        "physical type '{p}' is not one Weft knows and no logical type is given: the column is a string"
                    ),
                    None => "no type given: the column is a string".to_string(),
                }),
            );
        }
    };
    (mapped.to_string(), None)
}

/// ODCS `logicalType` of a Weft type.
fn logical_of(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::String | DataType::Uuid | DataType::Bytes => "string",
        DataType::SmallInt | DataType::Int | DataType::BigInt => "integer",
        DataType::Float | DataType::Double | DataType::Decimal(..) => "number",
        DataType::Boolean => "boolean",
        DataType::Date => "date",
        DataType::Timestamp | DataType::TimestampTz => "timestamp",
        DataType::Json | DataType::Map(..) | DataType::Struct => "object",
        DataType::Array(_) => "array",
    }
}

/// The ODCS type keys of a Weft type: `logicalType`, `physicalType` (Weft's own spelling) and,
/// for timestamptz, `logicalTypeOptions.timezone`; for arrays `items` (without the properties
/// of an array<struct>, which come from the column's fields).
pub fn odcs_type(data_type: &DataType) -> Map<String, Value> {
    let mut keys = Map::new();
    keys.insert("logicalType".into(), json!(logical_of(data_type)));
    keys.insert("physicalType".into(), json!(data_type.to_string()));
    match data_type {
        DataType::TimestampTz => {
            keys.insert("logicalTypeOptions".into(), json!({"timezone": true}));
        }
        DataType::Array(element) => {
            keys.insert("items".into(), Value::Object(odcs_type(element)));
        }
        _ => {}
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(value: Value, nesting: Nesting) -> String {
        weft_type(value.as_object().unwrap(), nesting).0
    }

    #[test]
    fn physical_types_weft_knows_win_then_logical_types() {
        assert_eq!(
            of(
                json!({"physicalType": "varchar(18)", "logicalType": "string"}),
                Nesting::None
            ),
            "string"
        );
        assert_eq!(
            of(
                json!({"physicalType": "float(3,2)", "logicalType": "number"}),
                Nesting::None
            ),
            "double"
        );
        assert_eq!(
            of(
                json!({"physicalType": "int", "logicalType": "integer"}),
                Nesting::None
            ),
            "int"
        );
        assert_eq!(
            of(
                json!({"logicalType": "integer", "logicalTypeOptions": {"format": "i64"}}),
                Nesting::None
            ),
            "bigint"
        );
        assert_eq!(
            of(
                json!({"logicalType": "timestamp", "logicalTypeOptions": {"timezone": true}}),
                Nesting::None
            ),
            "timestamptz"
        );
        assert_eq!(
            of(
                json!({"physicalType": "json", "logicalType": "object"}),
                Nesting::None
            ),
            "json"
        );
        assert_eq!(
            of(json!({"logicalType": "object"}), Nesting::Object),
            "struct"
        );
        assert_eq!(
            of(
                json!({"physicalType": "list", "logicalType": "array"}),
                Nesting::None
            ),
            "array<json>"
        );
        assert_eq!(
            of(
                json!({"logicalType": "array", "items": {"logicalType": "string"}}),
                Nesting::None
            ),
            "array<string>"
        );
        assert_eq!(
            of(
                json!({"logicalType": "array", "items": {"logicalType": "object"}}),
                Nesting::Items
            ),
            "array<struct>"
        );
        let (time, note) = weft_type(
            json!({"logicalType": "time"}).as_object().unwrap(),
            Nesting::None,
        );
        assert_eq!(time, "string");
        assert!(note.is_some());
    }

    #[test]
    fn weft_types_map_back_to_what_maps_to_them() {
        for text in [
            "string",
            "int",
            "bigint",
            "smallint",
            "double",
            "float",
            "boolean",
            "date",
            "timestamp",
            "timestamptz",
            "json",
            "array<string>",
            "array<array<int>>",
            "decimal(10,2)",
            "uuid",
        ] {
            let data_type = DataType::parse(text).unwrap();
            let keys = odcs_type(&data_type);
            assert_eq!(
                weft_type(&keys, nesting_of(&data_type)).0,
                data_type.to_string(),
                "{text}"
            );
        }
    }
}
