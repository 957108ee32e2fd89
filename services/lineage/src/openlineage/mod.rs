//! OpenLineage events (spec 2-0-2): validation against the spec's JSON schemas, then the parts
//! Weft stores, with the known facets read (schema, columnLineage, jobType, parent,
//! errorMessage, sourceCode…) and every facet, known or custom, kept as it came.

pub mod facets;
pub mod schema;

use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};
use weft_proto::weft::lineage::v1::RunState;

pub use self::facets::{ColumnEdge, Field};
pub use self::schema::{EventKind, FacetPlace};

/// Why an event was refused: the JSON path of the fault and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFault {
    pub path: String,
    pub message: String,
}

impl EventFault {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A valid event, in the parts Weft stores.
#[derive(Debug, Clone)]
pub struct ParsedEvent {
    /// SHA-256 of the canonical JSON (object keys sorted): the same event sent twice, even
    /// re-serialized, has the same key.
    pub key: String,
    pub kind: EventKind,
    /// Event time, microseconds since the epoch.
    pub event_time: i64,
    /// The event as canonical JSON, zstd-compressed: the raw copy as stored (read back with
    /// `stored_json_text`).
    pub stored_json: Vec<u8>,
    pub run: Option<RunPart>,
    pub job: Option<JobPart>,
    pub inputs: Vec<DatasetPart>,
    pub outputs: Vec<DatasetPart>,
    /// The dataset of a DatasetEvent.
    pub dataset: Option<DatasetPart>,
}

#[derive(Debug, Clone)]
pub struct RunPart {
    pub run_id: String,
    pub state: RunState,
    pub facets: Value,
    pub parent_run_id: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JobPart {
    pub namespace: String,
    pub name: String,
    pub facets: Value,
    /// "BATCH / SQL / dbt" from the jobType facet, empty when absent.
    pub job_type: String,
    /// Fingerprint of the job's source (sourceCode, sourceCodeLocation, sql facets), part of
    /// its version.
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct DatasetPart {
    pub namespace: String,
    pub name: String,
    /// `facets` merged with `inputFacets` / `outputFacets`.
    pub facets: Value,
    /// Fields of the schema facet (nested fields by dotted path), when the event carried one.
    pub fields: Option<Vec<Field>>,
    /// Column lineage into this dataset (columnLineage facet of an output).
    pub column_lineage: Option<Vec<ColumnEdge>>,
}

impl ParsedEvent {
    /// Parses and validates one event given as JSON text.
    pub fn parse(text: &str) -> Result<Self, EventFault> {
        let value: Value = serde_json::from_str(text).map_err(|error| {
            EventFault::new(
                "$",
                format!(
                    "is not JSON: {error} (line {}, column {})",
                    error.line(),
                    error.column()
                ),
            )
        })?;
        Self::from_value(value)
    }

    /// Validates an event given as a JSON value.
    pub fn from_value(mut value: Value) -> Result<Self, EventFault> {
        let kind = EventKind::of(&value)?;
        schema::validate_event(kind, &value)?;
        let event_time = value["eventTime"]
            .as_str()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.timestamp_micros())
            .ok_or_else(|| EventFault::new("$.eventTime", "must be an RFC 3339 date-time"))?;
        let json = serde_json::to_vec(&Canonical(&value))
            .map_err(|error| EventFault::new("$", format!("cannot be serialized: {error}")))?;
        let key = hex::encode(Sha256::digest(&json));
        let stored_json = compress(&json)
            .map_err(|error| EventFault::new("$", format!("cannot be compressed: {error}")))?;

        // The parts are moved out of the event (its text is kept above), not copied.
        let state = run_state(value.get("eventType").and_then(Value::as_str));
        let job = match value.get_mut("job") {
            Some(job) => Some(job_part(job)?),
            None => None,
        };
        let run = match value.get_mut("run") {
            Some(run) => Some(run_part(run, state)?),
            None => None,
        };
        let inputs = datasets(&mut value, "inputs", FacetPlace::Input)?;
        let outputs = datasets(&mut value, "outputs", FacetPlace::Output)?;
        let dataset = match value.get_mut("dataset") {
            Some(dataset) => Some(dataset_part(dataset, "$.dataset", None)?),
            None => None,
        };
        Ok(Self {
            key,
            kind,
            event_time,
            stored_json,
            run,
            job,
            inputs,
            outputs,
            dataset,
        })
    }
}

/// zstd level of stored raw events: the fastest (a 1.1 KB event still shrinks to 40 %).
const STORED_JSON_LEVEL: i32 = 1;

/// Compresses a raw event with this thread's zstd context: creating a context per event (its
/// buffers zeroed each time) cost more than the compression itself.
fn compress(json: &[u8]) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(compressor) => compressor,
            None => cell.insert(zstd::bulk::Compressor::new(STORED_JSON_LEVEL)?),
        };
        compressor.compress(json)
    })
}

/// The JSON text of a stored raw event (`ParsedEvent::stored_json`).
pub fn stored_json_text(stored: &[u8]) -> Result<String, std::io::Error> {
    let bytes = zstd::stream::decode_all(stored)?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// Serializes a value with every object's keys in sorted order, so that its text is the same
/// however the sender ordered them (serde_json keeps insertion order when any crate of the
/// build enables its `preserve_order` feature, so the order is made explicit here).
struct Canonical<'a>(&'a Value);

impl serde::Serialize for Canonical<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                serializer.collect_map(
                    entries
                        .into_iter()
                        .map(|(key, item)| (key, Canonical(item))),
                )
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(Canonical)),
            other => other.serialize(serializer),
        }
    }
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

/// Moves the facets object at `key` out of `value` (an empty object when absent).
fn take_facets(value: &mut Value, key: &str) -> Value {
    match value.get_mut(key) {
        Some(facets @ Value::Object(_)) => facets.take(),
        _ => Value::Object(Default::default()),
    }
}

fn job_part(job: &mut Value) -> Result<JobPart, EventFault> {
    let facets = take_facets(job, "facets");
    schema::validate_facets(FacetPlace::Job, &facets, "$.job.facets")?;
    let namespace = text(job, "namespace");
    let name = text(job, "name");
    non_empty(&namespace, "$.job.namespace")?;
    non_empty(&name, "$.job.name")?;
    Ok(JobPart {
        namespace,
        name,
        job_type: facets::job_type(&facets),
        source: facets::source_fingerprint(&facets),
        facets,
    })
}

fn run_state(event_type: Option<&str>) -> RunState {
    match event_type {
        Some("START") => RunState::Start,
        Some("RUNNING") => RunState::Running,
        Some("COMPLETE") => RunState::Complete,
        Some("ABORT") => RunState::Abort,
        Some("FAIL") => RunState::Fail,
        _ => RunState::Other,
    }
}

fn run_part(run: &mut Value, state: RunState) -> Result<RunPart, EventFault> {
    let facets = take_facets(run, "facets");
    schema::validate_facets(FacetPlace::Run, &facets, "$.run.facets")?;
    Ok(RunPart {
        run_id: text(run, "runId").to_ascii_lowercase(),
        state,
        parent_run_id: facets::parent_run_id(&facets),
        error_message: facets::error_message(&facets),
        facets,
    })
}

fn datasets(
    event: &mut Value,
    key: &str,
    place: FacetPlace,
) -> Result<Vec<DatasetPart>, EventFault> {
    let Some(items) = event.get_mut(key).and_then(Value::as_array_mut) else {
        return Ok(Vec::new());
    };
    items
        .iter_mut()
        .enumerate()
        .map(|(index, item)| dataset_part(item, &format!("$.{key}[{index}]"), Some(place)))
        .collect()
}

fn dataset_part(
    dataset: &mut Value,
    path: &str,
    place: Option<FacetPlace>,
) -> Result<DatasetPart, EventFault> {
    let namespace = text(dataset, "namespace");
    let name = text(dataset, "name");
    non_empty(&namespace, &format!("{path}.namespace"))?;
    non_empty(&name, &format!("{path}.name"))?;
    let mut facets = take_facets(dataset, "facets");
    schema::validate_facets(FacetPlace::Dataset, &facets, &format!("{path}.facets"))?;
    let extra_key = match place {
        Some(FacetPlace::Input) => Some("inputFacets"),
        Some(FacetPlace::Output) => Some("outputFacets"),
        _ => None,
    };
    if let (Some(key), Some(place)) = (extra_key, place) {
        let extra = take_facets(dataset, key);
        schema::validate_facets(place, &extra, &format!("{path}.{key}"))?;
        if let (Value::Object(all), Value::Object(extra)) = (&mut facets, extra) {
            all.extend(extra);
        }
    }
    let fields = facets::schema_fields(&facets);
    let column_lineage =
        facets::column_lineage(&facets, &format!("{path}.facets"), fields.as_deref())?;
    Ok(DatasetPart {
        namespace,
        name,
        facets,
        fields,
        column_lineage,
    })
}

fn non_empty(value: &str, path: &str) -> Result<(), EventFault> {
    if value.trim().is_empty() {
        return Err(EventFault::new(path, "must not be empty"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_event(event_type: &str, run_id: &str) -> String {
        format!(
            r#"{{"eventType": "{event_type}", "eventTime": "2026-11-23T10:00:00.123Z",
               "producer": "https://example.com/producer",
               "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
               "run": {{"runId": "{run_id}"}},
               "job": {{"namespace": "etl", "name": "orders_daily"}},
               "inputs": [{{"namespace": "postgres://db:5432", "name": "shop.public.orders"}}],
               "outputs": [{{"namespace": "postgres://db:5432", "name": "dw.public.orders_daily",
                   "facets": {{"schema": {{"_producer": "https://p", "_schemaURL": "https://s",
                       "fields": [{{"name": "id", "type": "bigint"}},
                                  {{"name": "address", "type": "struct",
                                    "fields": [{{"name": "city", "type": "string"}}]}}]}}}}}}]}}"#
        )
    }

    #[test]
    fn a_run_event_is_read_with_its_parts() {
        let event = ParsedEvent::parse(&run_event(
            "COMPLETE",
            "0194A0B0-0000-7000-8000-000000000001",
        ))
        .unwrap();
        assert_eq!(event.kind, EventKind::Run);
        let run = event.run.unwrap();
        assert_eq!(run.state, RunState::Complete);
        assert_eq!(run.run_id, "0194a0b0-0000-7000-8000-000000000001");
        assert_eq!(event.job.unwrap().name, "orders_daily");
        assert_eq!(event.inputs.len(), 1);
        let fields = event.outputs[0].fields.clone().unwrap();
        let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "address", "address.city"]);
        assert_eq!(event.event_time % 1_000_000, 123_000);
    }

    #[test]
    fn the_key_does_not_depend_on_key_order_or_spacing() {
        let a = ParsedEvent::parse(&run_event("START", "0194a0b0-0000-7000-8000-000000000001"))
            .unwrap();
        let value: Value =
            serde_json::from_str(&stored_json_text(&a.stored_json).unwrap()).unwrap();
        let mut reordered = serde_json::Map::new();
        for (key, item) in value.as_object().unwrap().iter().rev() {
            reordered.insert(key.clone(), item.clone());
        }
        let b = ParsedEvent::parse(&serde_json::to_string_pretty(&reordered).unwrap()).unwrap();
        assert_eq!(a.key, b.key);
        let c = ParsedEvent::parse(&run_event(
            "COMPLETE",
            "0194a0b0-0000-7000-8000-000000000001",
        ))
        .unwrap();
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn the_key_is_the_sha256_of_the_compact_text_with_sorted_keys() {
        // Written canonical already (keys sorted at every level, no spaces): keys of events
        // stored by earlier versions must stay the same.
        let text = r#"{"eventTime":"2026-11-23T10:00:00Z","eventType":"START","inputs":[{"facets":{"schema":{"_producer":"https://p","_schemaURL":"https://s","fields":[{"name":"id","type":"bigint"}]}},"name":"shop.orders","namespace":"postgres://db:5432"}],"job":{"name":"daily","namespace":"etl"},"outputs":[],"producer":"https://example.com/p","run":{"runId":"0194a0b0-0000-7000-8000-000000000001"},"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}"#;
        let event = ParsedEvent::parse(text).unwrap();
        assert_eq!(event.key, hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(stored_json_text(&event.stored_json).unwrap(), text);
        // The facets were moved into the parts, not lost.
        assert_eq!(event.inputs[0].facets["schema"]["fields"][0]["name"], "id");
    }

    #[test]
    fn faults_carry_their_json_path() {
        let fault = ParsedEvent::parse("{not json").unwrap_err();
        assert_eq!(fault.path, "$");
        let fault = ParsedEvent::parse(&run_event("START", "not-a-uuid")).unwrap_err();
        assert_eq!(fault.path, "$.run.runId");
        let fault = ParsedEvent::parse(
            &run_event("START", "0194a0b0-0000-7000-8000-000000000001")
                .replace("\"name\": \"shop.public.orders\"", "\"name\": 7"),
        )
        .unwrap_err();
        assert_eq!(fault.path, "$.inputs[0].name");
        let fault = ParsedEvent::parse(
            &run_event("START", "0194a0b0-0000-7000-8000-000000000001")
                .replace("\"eventType\": \"START\"", "\"eventType\": \"BEGUN\""),
        )
        .unwrap_err();
        assert_eq!(fault.path, "$.eventType");
        let fault = ParsedEvent::parse("[1]").unwrap_err();
        assert_eq!(fault.path, "$");
    }
}
