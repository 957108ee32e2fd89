//! Contract documents: YAML in and out, validated against the Open Data Contract Standard's
//! JSON schema (v3.1.0, vendored from the ODCS repository under the Apache License 2.0, see
//! ODCS-LICENSE beside it), with every fault reported at its YAML path.

use std::sync::LazyLock;

use serde_json::Value;
use weft_runtime::{ApiError, FieldErrors};

/// The request field every contract fault is reported under.
pub const FIELD: &str = "contract_yaml";
/// Largest contract accepted.
const MAX_CONTRACT_BYTES: usize = 4 * 1024 * 1024;
/// Faults listed at most (a badly broken contract would otherwise list thousands).
const MAX_FAULTS: usize = 50;

static SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(include_str!("odcs-json-schema-v3.1.0.json"))
        .expect("the vendored ODCS schema is JSON");
    jsonschema::draft201909::new(&schema).expect("the vendored ODCS schema compiles")
});

/// "/schema/0/properties/2/name" (a JSON pointer) → "schema[0].properties[2].name".
pub fn yaml_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    if path.is_empty() {
        "(the contract)".to_string()
    } else {
        path
    }
}

/// Parses a contract and checks it against the ODCS JSON schema. INVALID_ARGUMENT on
/// `contract_yaml`, each fault with its YAML path (or line and column for a syntax error).
pub fn parse(yaml: &str) -> Result<Value, ApiError> {
    if yaml.trim().is_empty() {
        return Err(ApiError::invalid(
            FIELD,
            "is required (an ODCS v3 YAML document)",
        ));
    }
    if yaml.len() > MAX_CONTRACT_BYTES {
        return Err(ApiError::invalid(
            FIELD,
            format!("must be at most {MAX_CONTRACT_BYTES} bytes"),
        ));
    }
    super::expansion::check(yaml).map_err(|message| ApiError::invalid(FIELD, message))?;
    // The parser's message says where (line and column).
    let document: Value = yaml_serde::from_str(yaml)
        .map_err(|error| ApiError::invalid(FIELD, format!("not valid YAML: {error}")))?;
    if !document.is_object() {
        return Err(ApiError::invalid(
            FIELD,
            "must be a YAML mapping (an ODCS data contract)",
        ));
    }
    let mut errors = FieldErrors::new();
    let mut faults = 0;
    for error in SCHEMA.iter_errors(&document) {
        faults += 1;
        if faults <= MAX_FAULTS {
            errors.add(
                FIELD,
                format!(
                    "{}: {}",
                    yaml_path(error.instance_path().as_str()),
                    error.masked()
                ),
            );
        }
    }
    if faults > MAX_FAULTS {
        errors.add(FIELD, format!("… and {} more faults", faults - MAX_FAULTS));
    }
    errors.into_result()?;
    Ok(document)
}

/// Checks a contract Weft produced (a fault is a bug: INTERNAL) and renders it as YAML.
pub fn render(document: &Value) -> Result<String, ApiError> {
    if let Some(error) = SCHEMA.iter_errors(document).next() {
        return Err(ApiError::internal(format!(
            "the exported contract does not validate at {}: {}",
            yaml_path(error.instance_path().as_str()),
            error.masked()
        )));
    }
    yaml_serde::to_string(document).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_yaml_paths() {
        assert_eq!(
            yaml_path("/schema/0/properties/12/logicalType"),
            "schema[0].properties[12].logicalType"
        );
        assert_eq!(yaml_path("/a~1b"), "a/b");
        assert_eq!(yaml_path(""), "(the contract)");
    }

    fn faults(yaml: &str) -> Vec<(String, String)> {
        match parse(yaml) {
            Err(ApiError::InvalidArgument(faults)) => faults,
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn faults_name_their_yaml_path() {
        let found = faults(
            "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n\
             schema:\n  - name: t\n    properties:\n      - name: a\n        logicalType: text\n",
        );
        assert!(
            found
                .iter()
                .any(|(_, message)| message.starts_with("schema[0].properties[0].logicalType")),
            "{found:?}"
        );
        let found = faults("kind: DataContract\nid: x\n");
        assert!(
            found.iter().any(|(_, m)| m.contains("version")),
            "{found:?}"
        );
        let found = faults("id: [unclosed\n");
        assert!(
            found[0].1.starts_with("not valid YAML") && found[0].1.contains("line 2 column 1"),
            "{found:?}"
        );
        assert!(faults("- a list\n")[0].1.contains("mapping"));
    }
}
