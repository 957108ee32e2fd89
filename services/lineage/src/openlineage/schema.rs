//! Validation of OpenLineage events against the vendored JSON schemas of spec 2-0-2 and of the
//! standard facets (`services/lineage/schemas/`, copied from the OpenLineage repository, Apache-2.0).
//! Everything is resolved offline from the vendored files; nothing is fetched.

use std::sync::LazyLock;

use jsonschema::{Registry, Validator};
use serde_json::{Value, json};

use super::EventFault;

const SPEC_URI: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json";
const SPEC: &str = include_str!("../../schemas/OpenLineage.json");

/// The standard facet schemas, each with where its facets appear in an event.
const FACETS: &[(FacetPlace, &str)] = &[
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/CatalogDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/ColumnLineageDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DataQualityAssertionsDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DataQualityMetricsDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DatasetTypeDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DatasetVersionDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DatasourceDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/DocumentationDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/HierarchyDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/LifecycleStateChangeDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/OwnershipDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/SchemaDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/StorageDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/SymlinksDatasetFacet.json"),
    ),
    (
        FacetPlace::Dataset,
        include_str!("../../schemas/facets/TagsDatasetFacet.json"),
    ),
    (
        FacetPlace::Input,
        include_str!("../../schemas/facets/DataQualityMetricsInputDatasetFacet.json"),
    ),
    (
        FacetPlace::Input,
        include_str!("../../schemas/facets/InputStatisticsInputDatasetFacet.json"),
    ),
    (
        FacetPlace::Output,
        include_str!("../../schemas/facets/OutputStatisticsOutputDatasetFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/DocumentationJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/JobTypeJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/OwnershipJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/SQLJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/SourceCodeJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/SourceCodeLocationJobFacet.json"),
    ),
    (
        FacetPlace::Job,
        include_str!("../../schemas/facets/TagsJobFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/EnvironmentVariablesRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ErrorMessageRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ExecutionParametersRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ExternalQueryRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ExtractionErrorRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/JobDependenciesRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/NominalTimeRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ParentRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/ProcessingEngineRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/TagsRunFacet.json"),
    ),
    (
        FacetPlace::Run,
        include_str!("../../schemas/facets/TestRunFacet.json"),
    ),
];

/// Where a facets object sits in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetPlace {
    Run,
    Job,
    Dataset,
    Input,
    Output,
}

/// The three event types of the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Run,
    Job,
    Dataset,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Run => "RunEvent",
            EventKind::Job => "JobEvent",
            EventKind::Dataset => "DatasetEvent",
        }
    }

    /// The spec's rule: a run and a job make a RunEvent, a dataset a DatasetEvent, a job alone
    /// a JobEvent.
    pub fn of(event: &Value) -> Result<Self, EventFault> {
        let has = |key: &str| event.get(key).is_some();
        if !event.is_object() {
            return Err(EventFault::new("$", "an event must be a JSON object"));
        }
        if has("run") {
            Ok(EventKind::Run)
        } else if has("dataset") {
            Ok(EventKind::Dataset)
        } else if has("job") {
            Ok(EventKind::Job)
        } else {
            Err(EventFault::new(
                "$",
                "is neither a RunEvent (run and job), a JobEvent (job) nor a DatasetEvent (dataset)",
            ))
        }
    }
}

struct Validators {
    run_event: Validator,
    job_event: Validator,
    dataset_event: Validator,
    facets: Vec<(FacetPlace, Validator)>,
}

static REGISTRY: LazyLock<Registry<'static>> = LazyLock::new(|| {
    let mut builder = Registry::new()
        .add(SPEC_URI, parse(SPEC))
        .expect("spec URI");
    for (_, text) in FACETS {
        let schema = parse(text);
        let id = schema["$id"]
            .as_str()
            .expect("facet schemas have an $id")
            .to_string();
        builder = builder.add(id, schema).expect("facet URI");
    }
    builder
        .prepare()
        .expect("the vendored OpenLineage schemas resolve")
});

static VALIDATORS: LazyLock<Validators> = LazyLock::new(|| {
    let build = |schema: Value| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .offline()
            .with_registry(&REGISTRY)
            .build(&schema)
            .expect("the vendored OpenLineage schemas compile")
    };
    let definition = |name: &str| build(json!({"$ref": format!("{SPEC_URI}#/$defs/{name}")}));
    Validators {
        run_event: definition("RunEvent"),
        job_event: definition("JobEvent"),
        dataset_event: definition("DatasetEvent"),
        facets: FACETS
            .iter()
            .map(|(place, text)| {
                let id = parse(text)["$id"].as_str().unwrap_or_default().to_string();
                (*place, build(json!({"$ref": id})))
            })
            .collect(),
    }
});

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the vendored OpenLineage schemas are JSON")
}

/// Validates an event against its event type's schema: the first fault, with its JSON path.
pub fn validate_event(kind: EventKind, event: &Value) -> Result<(), EventFault> {
    let validators = &*VALIDATORS;
    let validator = match kind {
        EventKind::Run => &validators.run_event,
        EventKind::Job => &validators.job_event,
        EventKind::Dataset => &validators.dataset_event,
    };
    first_fault(validator, event, "$")
}

/// Validates a facets object found at `path` against the standard facets of its place; facets
/// the spec does not define (custom ones) are kept as they came and not checked.
pub fn validate_facets(place: FacetPlace, facets: &Value, path: &str) -> Result<(), EventFault> {
    for (facet_place, validator) in &VALIDATORS.facets {
        if *facet_place == place {
            first_fault(validator, facets, path)?;
        }
    }
    Ok(())
}

fn first_fault(validator: &Validator, value: &Value, root: &str) -> Result<(), EventFault> {
    match validator.iter_errors(value).next() {
        None => Ok(()),
        Some(error) => Err(EventFault::new(
            json_path(root, error.instance_path().as_str()),
            error.to_string(),
        )),
    }
}

/// "$" + "/run/runId" (a JSON pointer) → "$.run.runId"; array indexes as "[0]".
pub fn json_path(root: &str, pointer: &str) -> String {
    let mut path = root.to_string();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_schema_compiles() {
        assert_eq!(VALIDATORS.facets.len(), FACETS.len());
    }

    #[test]
    fn pointers_become_json_paths() {
        assert_eq!(json_path("$", "/run/runId"), "$.run.runId");
        assert_eq!(json_path("$", "/inputs/2/facets"), "$.inputs[2].facets");
        assert_eq!(
            json_path("$.inputs[0].facets", "/schema/fields/1"),
            "$.inputs[0].facets.schema.fields[1]"
        );
        assert_eq!(json_path("$", ""), "$");
    }

    #[test]
    fn a_run_event_without_a_run_id_is_refused_at_its_path() {
        let event = json!({
            "eventTime": "2026-11-23T10:00:00Z", "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "eventType": "START", "run": {}, "job": {"namespace": "n", "name": "j"}
        });
        let fault = validate_event(EventKind::Run, &event).unwrap_err();
        assert_eq!(fault.path, "$.run");
        assert!(fault.message.contains("runId"), "{}", fault.message);
    }

    #[test]
    fn a_malformed_schema_facet_is_refused_and_a_custom_facet_kept() {
        let bad = json!({"schema": {"_producer": "https://p", "_schemaURL": "https://s", "fields": [{"type": "int"}]}});
        let fault = validate_facets(FacetPlace::Dataset, &bad, "$.outputs[0].facets").unwrap_err();
        assert_eq!(fault.path, "$.outputs[0].facets.schema.fields[0]");
        let custom = json!({"myCompany_quality": {"anything": [1, 2]}});
        validate_facets(FacetPlace::Dataset, &custom, "$.outputs[0].facets").unwrap();
    }
}
