//! Ingestion of OpenLineage events: each valid event updates namespaces' jobs, datasets (and
//! their schema versions), runs (state, times, parent, error), and the graph's edges, in the
//! write transaction that also appends its outbox event (the `LineageChange`) and its journal
//! record. An event already ingested (same canonical JSON) changes nothing.
//!
//! Edges and time: an edge becomes current at the event time of the first event that shows it.
//! A job's INPUT / OUTPUT edges are those of its runs; when a run COMPLETEs, the job's edges to
//! datasets the run did not touch stop being current (the job changed), and so do its column
//! edges into an output whose columnLineage facet no longer lists them. The graph `as_of` a
//! time shows the edges current then.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use sha2::{Digest, Sha256};
use weft_proto::weft::lineage::v1::{
    Edge, EdgeKind, EdgeSpan, LineageChange, LineageChanges, Node, RunState,
};
use weft_storage::write::Change;

use super::GraphRef;
use super::ids;
use crate::graph::timestamp;
use crate::openlineage::{DatasetPart, EventKind, ParsedEvent};
use crate::store::entities::{dataset, dataset_version, edge, job, job_version, node, run};
use crate::store::unit_of_work::{FacetOwner, UnitOfWork, subject};

/// Event type of lineage's outbox event for an ingest call (payload `LineageChanges`).
pub const EVENTS_INGESTED: &str = "lineage.events.ingested";
/// Journal action of a batch call (and of a group of calls of both kinds).
pub const INGEST_EVENTS: &str = "IngestEvents";
/// The same, one event per OpenLineage event (payload `LineageChange`), as outboxes written
/// before batches were one event hold it: still followed.
pub const EVENT_INGESTED_ONE: &str = "lineage.event.ingested";

/// Applies one new event (its raw copy is claimed already) to the batch's rows; returns its
/// graph change. `graph` is read only to skip nodes the database certainly holds.
pub fn ingest<'e>(
    work: &mut UnitOfWork<'e>,
    graph: &GraphRef<'_>,
    event: &'e ParsedEvent,
) -> LineageChange {
    let job_id = event.job.as_ref().map(|j| ids::job(&j.namespace, &j.name));
    let mut change = LineageChange {
        event_key: event.key.clone(),
        event_kind: event.kind.as_str().to_string(),
        job: job_id.clone().unwrap_or_default(),
        run_id: event
            .run
            .as_ref()
            .map(|r| r.run_id.clone())
            .unwrap_or_default(),
        event_time: Some(timestamp(event.event_time)),
        ..LineageChange::default()
    };
    match event.kind {
        EventKind::Dataset => {
            let part = event
                .dataset
                .as_ref()
                .expect("a DatasetEvent has a dataset");
            upsert_dataset(work, graph, part, event.event_time, &mut change);
        }
        EventKind::Job | EventKind::Run => {
            let job_part = event.job.as_ref().expect("run and job events have a job");
            let job_id = job_id.expect("a job id");
            add_node(
                work,
                graph,
                ids::job_node(&job_part.namespace, &job_part.name),
                event.event_time,
                &mut change,
            );
            for part in event.inputs.iter().chain(&event.outputs) {
                upsert_dataset(work, graph, part, event.event_time, &mut change);
            }
            let run = event.run.as_ref().map(|_| upsert_run(work, event, &job_id));
            upsert_job(work, event, &job_id, run.as_ref());
            update_edges(work, event, &job_id, run.as_ref(), &mut change);
            if let Some(run) = &run {
                change.run_state = run.state;
            }
        }
    }
    change
}

/// The outbox event and journal record of ingest calls written together: one for them all (a
/// batch of a thousand events is one mutation, not a thousand, and so are the concurrent single
/// events of one group commit: a journal row and an outbox row per call were a visible part of
/// a group's write). Its action is the calls' (`IngestEvent` or `IngestEvents`; `IngestEvents`
/// for a group of both). The journal keeps what was written (the jobs and datasets, how many
/// calls and events of each kind) and a digest of the new events' keys; the raw events
/// themselves are kept, by key, with their receive time.
pub fn group_record<'a>(
    calls: impl Iterator<Item = &'a str>,
    events: &[&ParsedEvent],
    changes: &LineageChanges,
) -> Change {
    let mut call_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for action in calls {
        *call_counts.entry(action).or_default() += 1;
    }
    let action = match call_counts.len() {
        1 => call_counts.keys().next().copied().unwrap_or(INGEST_EVENTS),
        _ => INGEST_EVENTS,
    };
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut keys = Sha256::new();
    for event in events {
        *kinds.entry(event.kind.as_str()).or_default() += 1;
        keys.update(event.key.as_bytes());
    }
    let subjects: BTreeSet<String> = events.iter().filter_map(|e| subject(e)).collect();
    let resource = match subjects.len() {
        1 => subjects.iter().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    Change {
        action: action.to_string(),
        event_type: EVENTS_INGESTED.to_string(),
        resource,
        payload: prost_types::Any {
            type_url: "type.googleapis.com/weft.lineage.v1.LineageChanges".to_string(),
            value: prost::Message::encode_to_vec(changes),
        },
        detail: serde_json::json!({
            "calls": call_counts,
            "events": events.len(),
            "kinds": kinds,
            "event_keys_sha256": hex::encode(keys.finalize()),
            "subjects": subjects,
        }),
    }
}

fn add_node(
    work: &mut UnitOfWork<'_>,
    graph: &GraphRef<'_>,
    node: Node,
    time: i64,
    change: &mut LineageChange,
) {
    if graph.knows(&node.id) {
        return;
    }
    let row = node::Model {
        id: node.id.clone(),
        kind: node.kind,
        namespace: node.namespace.clone(),
        name: node.name.clone(),
        field: node.field.clone(),
        first_seen: time,
    };
    if work.add_node(row) {
        change.new_nodes.push(node);
    }
}

fn upsert_dataset<'e>(
    work: &mut UnitOfWork<'e>,
    graph: &GraphRef<'_>,
    part: &'e DatasetPart,
    time: i64,
    change: &mut LineageChange,
) {
    let id = ids::dataset(&part.namespace, &part.name);
    add_node(
        work,
        graph,
        ids::dataset_node(&part.namespace, &part.name),
        time,
        change,
    );
    let fields_json = part.fields.as_ref().map(|fields| {
        Value::Array(
            fields
                .iter()
                .map(|f| serde_json::json!({"name": f.name, "type": f.r#type, "description": f.description}))
                .collect(),
        )
        .to_string()
    });
    let version = fields_json
        .as_ref()
        .map(|json| hex::encode(&Sha256::digest(json.as_bytes())[..8]));
    if let (Some(version), Some(json)) = (&version, &fields_json) {
        work.add_dataset_version(dataset_version::Model {
            dataset: id.clone(),
            version: version.clone(),
            fields_json: json.clone(),
            create_time: time,
        });
    }
    // The stored facets are read (copied) once per batch; later events merge in memory.
    let stored_facets = match work.has_facets(FacetOwner::Dataset, &id) {
        true => None,
        false => work.datasets.get(&id).map(|row| row.facets_json.clone()),
    };
    let row = work.dataset_mut(&id, || {
        new_dataset(id.clone(), &part.namespace, &part.name, i64::MIN)
    });
    // An older event (sent late) never replaces a newer schema, but gives one to a dataset
    // known without (named only by column lineage so far).
    let newer = time >= row.update_time;
    if (newer || row.current_version.is_empty())
        && let (Some(version), Some(json)) = (version, fields_json)
    {
        row.current_version = version;
        row.fields_json = json;
    }
    if newer {
        row.update_time = time;
    }
    work.merge_facets(
        FacetOwner::Dataset,
        &id,
        stored_facets.as_deref().unwrap_or("{}"),
        &part.facets,
    );
    // Columns named by column lineage are nodes too.
    if let Some(edges) = &part.column_lineage {
        for edge in edges {
            add_node(
                work,
                graph,
                ids::column_node(&edge.input_namespace, &edge.input_name, &edge.input_field),
                time,
                change,
            );
            add_node(
                work,
                graph,
                ids::column_node(&part.namespace, &part.name, &edge.output_field),
                time,
                change,
            );
            // The input dataset of a column edge is a node and a dataset even when the event
            // does not list it (known by name only until an event does).
            add_node(
                work,
                graph,
                ids::dataset_node(&edge.input_namespace, &edge.input_name),
                time,
                change,
            );
            work.ensure_dataset(new_dataset(
                ids::dataset(&edge.input_namespace, &edge.input_name),
                &edge.input_namespace,
                &edge.input_name,
                time,
            ));
        }
    }
}

/// A dataset row known by name only: no schema, no facets yet.
fn new_dataset(id: String, namespace: &str, name: &str, update_time: i64) -> dataset::Model {
    dataset::Model {
        id,
        namespace: namespace.to_string(),
        name: name.to_string(),
        current_version: String::new(),
        fields_json: "[]".to_string(),
        facets_json: "{}".to_string(),
        update_time,
    }
}

fn is_terminal(state: RunState) -> bool {
    matches!(state, RunState::Complete | RunState::Abort | RunState::Fail)
}

fn id_list(stored: &str) -> BTreeSet<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

fn id_list_json(ids: &BTreeSet<String>) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_string())
}

/// Merges a run event into its run: a terminal state (COMPLETE, ABORT, FAIL) is never replaced
/// by a non-terminal one, OTHER only adds metadata, otherwise the later event wins.
fn upsert_run<'e>(work: &mut UnitOfWork<'e>, event: &'e ParsedEvent, job_id: &str) -> run::Model {
    let part = event.run.as_ref().expect("a run event");
    let time = event.event_time;
    let inputs: BTreeSet<String> = event
        .inputs
        .iter()
        .map(|d| ids::dataset(&d.namespace, &d.name))
        .collect();
    let outputs: BTreeSet<String> = event
        .outputs
        .iter()
        .map(|d| ids::dataset(&d.namespace, &d.name))
        .collect();
    let existing = work.runs.get(&part.run_id).cloned();
    let stored_facets = match (&existing, work.has_facets(FacetOwner::Run, &part.run_id)) {
        (Some(existing), false) => existing.facets_json.clone(),
        _ => "{}".to_string(),
    };
    work.merge_facets(FacetOwner::Run, &part.run_id, &stored_facets, &part.facets);
    let starts = matches!(part.state, RunState::Start | RunState::Running);
    let model = match existing {
        None => run::Model {
            run_id: part.run_id.clone(),
            job: job_id.to_string(),
            state: part.state as i32,
            state_time: time,
            start_time: starts.then_some(time),
            end_time: is_terminal(part.state).then_some(time),
            parent_run_id: part.parent_run_id.clone().unwrap_or_default(),
            error_message: part.error_message.clone().unwrap_or_default(),
            inputs_json: id_list_json(&inputs),
            outputs_json: id_list_json(&outputs),
            // Written from the merged facets when the batch is flushed.
            facets_json: String::new(),
        },
        Some(existing) => {
            let current = RunState::try_from(existing.state).unwrap_or(RunState::Other);
            let replaces = match (is_terminal(current), is_terminal(part.state)) {
                _ if part.state == RunState::Other => {
                    current == RunState::Other && time >= existing.state_time
                }
                (true, false) => false,
                (false, true) => true,
                _ => time >= existing.state_time,
            };
            let mut model = existing.clone();
            if replaces {
                model.state = part.state as i32;
                model.state_time = time;
            }
            if starts {
                model.start_time = Some(existing.start_time.map_or(time, |t| t.min(time)));
            }
            if is_terminal(part.state) && replaces {
                model.end_time = Some(time);
            }
            if let Some(parent) = &part.parent_run_id {
                model.parent_run_id = parent.clone();
            }
            if let Some(message) = &part.error_message {
                model.error_message = message.clone();
            }
            let mut all_inputs = id_list(&existing.inputs_json);
            all_inputs.extend(inputs);
            let mut all_outputs = id_list(&existing.outputs_json);
            all_outputs.extend(outputs);
            model.inputs_json = id_list_json(&all_inputs);
            model.outputs_json = id_list_json(&all_outputs);
            model
        }
    };
    work.put_run(model.clone());
    model
}

/// The job's row: facets merged, type, latest run, and on a completed run its version (what
/// it read, wrote and ran).
fn upsert_job<'e>(
    work: &mut UnitOfWork<'e>,
    event: &'e ParsedEvent,
    job_id: &str,
    run: Option<&run::Model>,
) {
    let part = event.job.as_ref().expect("a job");
    let time = event.event_time;
    let version = match run {
        Some(run) if run.state == RunState::Complete as i32 => {
            let fingerprint = format!("{}|{}|{}", run.inputs_json, run.outputs_json, part.source);
            let version = hex::encode(&Sha256::digest(fingerprint.as_bytes())[..8]);
            work.add_job_version(job_version::Model {
                job: job_id.to_string(),
                version: version.clone(),
                inputs_json: run.inputs_json.clone(),
                outputs_json: run.outputs_json.clone(),
                source: part.source.clone(),
                create_time: time,
            });
            Some(version)
        }
        _ => None,
    };
    let stored_facets = match work.has_facets(FacetOwner::Job, job_id) {
        true => None,
        false => work.jobs.get(job_id).map(|row| row.facets_json.clone()),
    };
    let row = work.job_mut(job_id, || job::Model {
        id: job_id.to_string(),
        namespace: part.namespace.clone(),
        name: part.name.clone(),
        current_version: String::new(),
        job_type: String::new(),
        facets_json: "{}".to_string(),
        latest_run_id: String::new(),
        update_time: i64::MIN,
    });
    if !part.job_type.is_empty() {
        row.job_type = part.job_type.clone();
    }
    if time >= row.update_time {
        if let Some(version) = version {
            row.current_version = version;
        }
        if let Some(run) = run {
            row.latest_run_id = run.run_id.clone();
        }
        row.update_time = time;
    }
    work.merge_facets(
        FacetOwner::Job,
        job_id,
        stored_facets.as_deref().unwrap_or("{}"),
        &part.facets,
    );
}

/// One edge the event shows.
struct Asserted {
    source: String,
    target: String,
    kind: EdgeKind,
    subtype: String,
    masking: bool,
    description: String,
}

fn asserted_edges(event: &ParsedEvent, job_id: &str) -> Vec<Asserted> {
    let mut edges = Vec::new();
    let plain = |source: String, target: String, kind| Asserted {
        source,
        target,
        kind,
        subtype: String::new(),
        masking: false,
        description: String::new(),
    };
    for input in &event.inputs {
        edges.push(plain(
            ids::dataset(&input.namespace, &input.name),
            job_id.to_string(),
            EdgeKind::Input,
        ));
    }
    for output in &event.outputs {
        edges.push(plain(
            job_id.to_string(),
            ids::dataset(&output.namespace, &output.name),
            EdgeKind::Output,
        ));
        for column in output.column_lineage.iter().flatten() {
            edges.push(Asserted {
                source: ids::column(
                    &column.input_namespace,
                    &column.input_name,
                    &column.input_field,
                ),
                target: ids::column(&output.namespace, &output.name, &column.output_field),
                kind: if column.direct {
                    EdgeKind::Direct
                } else {
                    EdgeKind::Indirect
                },
                subtype: column.subtype.clone(),
                masking: column.masking,
                description: column.description.clone(),
            });
        }
    }
    edges
}

fn edge_message(row: &edge::Model) -> EdgeSpan {
    EdgeSpan {
        edge: Some(Edge {
            source: row.source.clone(),
            target: row.target.clone(),
            kind: row.kind,
            subtype: row.subtype.clone(),
            masking: row.masking,
            job: row.job.clone(),
        }),
        valid_from: Some(timestamp(row.valid_from)),
        valid_to: row.valid_to.map(timestamp),
    }
}

fn update_edges(
    work: &mut UnitOfWork<'_>,
    event: &ParsedEvent,
    job_id: &str,
    run: Option<&run::Model>,
    change: &mut LineageChange,
) {
    let time = event.event_time;
    let key =
        |source: &str, target: &str, kind: i32| (source.to_string(), target.to_string(), kind);
    let open_keys: HashMap<(String, String, i32), ()> = work
        .open_edges(job_id)
        .iter()
        .map(|open| (key(&open.row.source, &open.row.target, open.row.kind), ()))
        .collect();

    let asserted = asserted_edges(event, job_id);
    let mut asserted_keys = BTreeSet::new();
    for edge in asserted {
        let edge_key = key(&edge.source, &edge.target, edge.kind as i32);
        if !asserted_keys.insert(edge_key.clone()) || open_keys.contains_key(&edge_key) {
            continue;
        }
        let row = edge::Model {
            source: edge.source,
            target: edge.target,
            kind: edge.kind as i32,
            job: job_id.to_string(),
            valid_from: time,
            valid_to: None,
            subtype: edge.subtype,
            masking: edge.masking,
            description: edge.description,
        };
        change.opened.push(edge_message(&row));
        work.open_edge(row);
    }

    // A completed run shows what the job reads and writes now: the rest is history.
    let Some(run) = run.filter(|r| {
        r.state == RunState::Complete as i32
            && event
                .run
                .as_ref()
                .is_some_and(|p| p.state == RunState::Complete)
    }) else {
        return;
    };
    let inputs = id_list(&run.inputs_json);
    let outputs = id_list(&run.outputs_json);
    let relisted: Vec<String> = event
        .outputs
        .iter()
        .filter(|o| o.column_lineage.is_some())
        .map(|o| ids::columns_of(&o.namespace, &o.name))
        .collect();
    let output_columns: Vec<String> = outputs
        .iter()
        .filter_map(|id| {
            id.strip_prefix("dataset:")
                .map(|rest| format!("column:{rest}#"))
        })
        .collect();
    let closed = work.close_edges(job_id, time, |row| {
        if row.valid_from > time {
            return false;
        }
        match EdgeKind::try_from(row.kind).unwrap_or(EdgeKind::Unspecified) {
            EdgeKind::Input => !inputs.contains(&row.source),
            EdgeKind::Output => !outputs.contains(&row.target),
            EdgeKind::Direct | EdgeKind::Indirect => {
                let still_written = output_columns.iter().any(|p| row.target.starts_with(p));
                let relisted_here = relisted.iter().any(|p| row.target.starts_with(p));
                !still_written
                    || (relisted_here
                        && !asserted_keys.contains(&key(&row.source, &row.target, row.kind)))
            }
            EdgeKind::Unspecified => false,
        }
    });
    for row in &closed {
        change.closed.push(edge_message(row));
    }
}
