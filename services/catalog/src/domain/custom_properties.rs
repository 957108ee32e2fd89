//! Custom properties: named JSON values kept on products, assets and columns for what has no
//! first-class field (e.g. the parts of an imported data contract Weft does not interpret).

use prost::Message;
use weft_proto::weft::catalog::v1::CustomProperty;
use weft_runtime::FieldErrors;

const MAX_PROPERTIES: usize = 100;
const MAX_PROPERTY_NAME: usize = 128;
/// Encoded size of all of one resource's (or column's) properties together.
const MAX_TOTAL_BYTES: usize = 256 * 1024;

pub fn validate(errors: &mut FieldErrors, field: &str, properties: &[CustomProperty]) {
    if properties.len() > MAX_PROPERTIES {
        errors.add(field, format!("at most {MAX_PROPERTIES} custom properties"));
        return;
    }
    let total: usize = properties.iter().map(|p| p.encoded_len()).sum();
    if total > MAX_TOTAL_BYTES {
        errors.add(
            field,
            format!("custom properties take at most {MAX_TOTAL_BYTES} bytes (found {total})"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (index, property) in properties.iter().enumerate() {
        let at = format!("{field}[{index}].property");
        if property.property.trim().is_empty() {
            errors.add(at, "is required");
        } else if property.property.chars().count() > MAX_PROPERTY_NAME
            || property.property.chars().any(char::is_control)
        {
            errors.add(
                at,
                format!("must be at most {MAX_PROPERTY_NAME} printable characters"),
            );
        } else if !seen.insert(property.property.as_str()) {
            errors.add(at, format!("'{}' appears twice", property.property));
        }
        if property.value.is_none() {
            errors.add(format!("{field}[{index}].value"), "is required");
        }
    }
}
