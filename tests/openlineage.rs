//! OpenLineage run events for the lineage tests: one job step reading one dataset and writing
//! another, with schema and column-lineage facets, as a pipeline would send them.

use serde_json::{Value, json};

/// (output field, input field, transformation subtype, masking); the input is the step's.
pub type ColumnMap<'a> = &'a [(&'a str, &'a str, &'a str, bool)];

/// One job reading `input` and writing `output`.
pub struct Step<'a> {
    pub job: &'a str,
    pub input_namespace: &'a str,
    pub input: &'a str,
    pub input_fields: &'a [&'a str],
    pub output_namespace: &'a str,
    pub output: &'a str,
    pub output_fields: &'a [&'a str],
    pub columns: ColumnMap<'a>,
}

pub fn dataset_id(namespace: &str, name: &str) -> String {
    format!("dataset:{namespace}:{name}")
}

pub fn column_id(namespace: &str, name: &str, field: &str) -> String {
    format!("column:{namespace}:{name}#{field}")
}

fn schema(fields: &[&str]) -> Value {
    json!({"_producer": "https://weft.test", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json",
           "fields": fields.iter().map(|f| json!({"name": f, "type": "string"})).collect::<Vec<_>>()})
}

fn column_lineage(step: &Step<'_>) -> Value {
    let mut fields = serde_json::Map::new();
    for (output, input_field, subtype, masking) in step.columns {
        fields.insert(
            output.to_string(),
            json!({"inputFields": [{
            "namespace": step.input_namespace, "name": step.input, "field": input_field,
            "transformations": [{"type": "DIRECT", "subtype": subtype, "masking": masking}]}]}),
        );
    }
    json!({"_producer": "https://weft.test", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
           "fields": fields})
}

/// A RunEvent of `step` (job namespace "etl"), with extra run facets.
pub fn run_event(
    event_type: &str,
    run_id: &str,
    time: &str,
    step: &Step<'_>,
    extra_run_facets: Value,
) -> String {
    let mut run_facets = json!({});
    if let Value::Object(extra) = extra_run_facets {
        run_facets.as_object_mut().unwrap().extend(extra);
    }
    json!({
        "eventType": event_type, "eventTime": time,
        "producer": "https://weft.test/pipeline", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": run_facets},
        "job": {"namespace": "etl", "name": step.job},
        "inputs": [{"namespace": step.input_namespace, "name": step.input,
                    "facets": {"schema": schema(step.input_fields)}}],
        "outputs": [{"namespace": step.output_namespace, "name": step.output,
                     "facets": {"schema": schema(step.output_fields), "columnLineage": column_lineage(step)}}],
    })
    .to_string()
}
