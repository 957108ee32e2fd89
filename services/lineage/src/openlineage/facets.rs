//! The standard facets Weft reads (after schema validation): schema fields, column lineage,
//! job type, source, parent run and error message. Every facet is also stored as it came.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::EventFault;

/// A field of a schema facet; nested fields are named by dotted path ("address.city").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub r#type: String,
    pub description: String,
}

/// Column lineage into one field of an output dataset (columnLineage facet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnEdge {
    pub input_namespace: String,
    pub input_name: String,
    pub input_field: String,
    pub output_field: String,
    /// DIRECT (the value is derived from the input) or INDIRECT (the input influences it).
    pub direct: bool,
    pub subtype: String,
    pub description: String,
    pub masking: bool,
}

/// The fields of the schema facet, depth first, nested ones by dotted path.
pub fn schema_fields(facets: &Value) -> Option<Vec<Field>> {
    let fields = facets.get("schema")?.get("fields")?.as_array()?;
    let mut out = Vec::new();
    collect_fields(fields, "", &mut out);
    Some(out)
}

fn collect_fields(fields: &[Value], prefix: &str, out: &mut Vec<Field>) {
    for field in fields {
        let Some(name) = field.get("name").and_then(Value::as_str) else {
            continue;
        };
        let name = format!("{prefix}{name}");
        out.push(Field {
            name: name.clone(),
            r#type: field["type"].as_str().unwrap_or_default().to_string(),
            description: field["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        });
        if let Some(children) = field.get("fields").and_then(Value::as_array) {
            collect_fields(children, &format!("{name}."), out);
        }
    }
}

/// The columnLineage facet as edges. Dataset-wide dependencies (`dataset`) become INDIRECT
/// edges into every output field the event names (columnLineage keys and schema fields).
pub fn column_lineage(
    facets: &Value,
    path: &str,
    schema: Option<&[Field]>,
) -> Result<Option<Vec<ColumnEdge>>, EventFault> {
    let Some(facet) = facets.get("columnLineage") else {
        return Ok(None);
    };
    let path = format!("{path}.columnLineage");
    let mut edges = Vec::new();
    let mut output_fields: Vec<String> = Vec::new();
    if let Some(fields) = facet.get("fields").and_then(Value::as_object) {
        for (output_field, mapping) in fields {
            output_fields.push(output_field.clone());
            let legacy_masked = mapping["transformationType"].as_str() == Some("MASKED");
            let legacy_subtype = mapping["transformationType"].as_str().unwrap_or_default();
            let legacy_description = mapping["transformationDescription"]
                .as_str()
                .unwrap_or_default();
            let inputs = mapping["inputFields"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (index, input) in inputs.iter().enumerate() {
                let input_path = format!("{path}.fields.{output_field}.inputFields[{index}]");
                let transformations = input["transformations"].as_array().cloned();
                match transformations {
                    Some(list) if !list.is_empty() => {
                        for (t_index, transformation) in list.iter().enumerate() {
                            edges.push(edge(
                                input,
                                output_field,
                                transformation,
                                &format!("{input_path}.transformations[{t_index}]"),
                            )?);
                        }
                    }
                    // Spec 1-0-x: no transformations; the deprecated per-field type applies.
                    _ => edges.push(ColumnEdge {
                        input_namespace: text(input, "namespace"),
                        input_name: text(input, "name"),
                        input_field: text(input, "field"),
                        output_field: output_field.clone(),
                        direct: true,
                        subtype: legacy_subtype.to_string(),
                        description: legacy_description.to_string(),
                        masking: legacy_masked,
                    }),
                }
            }
        }
    }
    if let Some(schema) = schema {
        for field in schema {
            if !output_fields.contains(&field.name) {
                output_fields.push(field.name.clone());
            }
        }
    }
    if let Some(inputs) = facet.get("dataset").and_then(Value::as_array) {
        for (index, input) in inputs.iter().enumerate() {
            let input_path = format!("{path}.dataset[{index}]");
            let transformations = input["transformations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for output_field in &output_fields {
                if transformations.is_empty() {
                    edges.push(ColumnEdge {
                        input_namespace: text(input, "namespace"),
                        input_name: text(input, "name"),
                        input_field: text(input, "field"),
                        output_field: output_field.clone(),
                        direct: false,
                        subtype: String::new(),
                        description: String::new(),
                        masking: false,
                    });
                }
                for (t_index, transformation) in transformations.iter().enumerate() {
                    edges.push(edge(
                        input,
                        output_field,
                        transformation,
                        &format!("{input_path}.transformations[{t_index}]"),
                    )?);
                }
            }
        }
    }
    Ok(Some(edges))
}

fn edge(
    input: &Value,
    output_field: &str,
    transformation: &Value,
    path: &str,
) -> Result<ColumnEdge, EventFault> {
    let direct = match transformation["type"].as_str() {
        Some("DIRECT") => true,
        Some("INDIRECT") => false,
        _ => {
            return Err(EventFault::new(
                format!("{path}.type"),
                "must be DIRECT or INDIRECT",
            ));
        }
    };
    Ok(ColumnEdge {
        input_namespace: text(input, "namespace"),
        input_name: text(input, "name"),
        input_field: text(input, "field"),
        output_field: output_field.to_string(),
        direct,
        subtype: text(transformation, "subtype"),
        description: text(transformation, "description"),
        masking: transformation["masking"].as_bool().unwrap_or(false),
    })
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

/// "BATCH / SQL / dbt" from the jobType facet.
pub fn job_type(facets: &Value) -> String {
    let Some(facet) = facets.get("jobType") else {
        return String::new();
    };
    [
        text(facet, "processingType"),
        text(facet, "jobType"),
        text(facet, "integration"),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" / ")
}

/// A fingerprint of what the job runs: its sourceCode, sourceCodeLocation and sql facets
/// (without their `_producer` / `_schemaURL`); empty when it has none.
pub fn source_fingerprint(facets: &Value) -> String {
    let mut hasher = Sha256::new();
    let mut any = false;
    for key in ["sourceCode", "sourceCodeLocation", "sql"] {
        if let Some(Value::Object(facet)) = facets.get(key) {
            any = true;
            let content: serde_json::Map<String, Value> = facet
                .iter()
                .filter(|(name, _)| !name.starts_with('_'))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            hasher.update(key.as_bytes());
            hasher.update(Value::Object(content).to_string().as_bytes());
        }
    }
    if any {
        hex::encode(&hasher.finalize()[..8])
    } else {
        String::new()
    }
}

/// The parent run of the parent facet.
pub fn parent_run_id(facets: &Value) -> Option<String> {
    facets
        .get("parent")?
        .get("run")?
        .get("runId")?
        .as_str()
        .map(str::to_ascii_lowercase)
}

/// The message of the errorMessage facet.
pub fn error_message(facets: &Value) -> Option<String> {
    facets
        .get("errorMessage")?
        .get("message")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn column_lineage_reads_transformations_and_dataset_wide_inputs() {
        let facets = json!({"columnLineage": {
            "fields": {
                "email_hash": {"inputFields": [{"namespace": "pg", "name": "crm.users", "field": "email",
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": true}]}]},
                "email": {"inputFields": [{"namespace": "pg", "name": "crm.users", "field": "email",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}
            },
            "dataset": [{"namespace": "pg", "name": "crm.users", "field": "country",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}]}]
        }});
        let edges = column_lineage(&facets, "$.outputs[0].facets", None)
            .unwrap()
            .unwrap();
        assert_eq!(edges.len(), 4);
        let masked = edges
            .iter()
            .find(|e| e.output_field == "email_hash" && e.direct)
            .unwrap();
        assert!(masked.masking);
        let filters: Vec<_> = edges.iter().filter(|e| !e.direct).collect();
        assert_eq!(filters.len(), 2);
        assert!(
            filters
                .iter()
                .all(|e| e.input_field == "country" && e.subtype == "FILTER")
        );
    }

    #[test]
    fn an_unknown_transformation_type_is_refused_at_its_path() {
        let facets = json!({"columnLineage": {"fields": {"a": {"inputFields": [
            {"namespace": "pg", "name": "t", "field": "x", "transformations": [{"type": "COPY"}]}]}}}});
        let fault = column_lineage(&facets, "$.outputs[0].facets", None).unwrap_err();
        assert_eq!(
            fault.path,
            "$.outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations[0].type"
        );
    }

    #[test]
    fn the_source_fingerprint_ignores_producer_fields() {
        let a = json!({"sql": {"_producer": "a", "query": "select 1"}});
        let b = json!({"sql": {"_producer": "b", "query": "select 1"}});
        let c = json!({"sql": {"_producer": "a", "query": "select 2"}});
        assert_eq!(source_fingerprint(&a), source_fingerprint(&b));
        assert_ne!(source_fingerprint(&a), source_fingerprint(&c));
        assert_eq!(source_fingerprint(&json!({})), "");
    }
}
