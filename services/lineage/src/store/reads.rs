//! Lineage's read queries: the whole graph at start, and the listings behind the RPCs.

use futures::StreamExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use weft_proto::weft::lineage::v1::{EdgeKind, Node, RunState};
use weft_runtime::ApiError;
use weft_storage::write::db_error;

use super::entities::{dataset, edge, event, job, node, run};
use crate::graph::{EdgeSpanRow, Graph};

/// Rows read per query while loading the graph.
const LOAD_BATCH: u64 = 10_000;

/// Builds the graph from the database: every node, then every edge span.
pub async fn load_graph(conn: &DatabaseConnection) -> Result<Graph, ApiError> {
    let mut graph = Graph::default();
    let mut after = String::new();
    loop {
        let rows = node::Entity::find()
            .filter(node::Column::Id.gt(after.clone()))
            .order_by_asc(node::Column::Id)
            .limit(LOAD_BATCH)
            .all(conn)
            .await
            .map_err(db_error)?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in rows {
            graph.add_node(&Node {
                id: row.id,
                kind: row.kind,
                namespace: row.namespace,
                name: row.name,
                field: row.field,
                ..Node::default()
            });
        }
    }
    load_run_states(conn, &mut graph).await?;
    // One streamed, unordered scan: paging by offset would re-read the skipped rows.
    let mut rows = edge::Entity::find().stream(conn).await.map_err(db_error)?;
    while let Some(row) = rows.next().await {
        let row = row.map_err(db_error)?;
        graph.add_span(&EdgeSpanRow {
            source: &row.source,
            target: &row.target,
            kind: EdgeKind::try_from(row.kind).unwrap_or(EdgeKind::Unspecified),
            job: &row.job,
            subtype: &row.subtype,
            masking: row.masking,
            from: row.valid_from,
            to: row.valid_to,
        });
    }
    Ok(graph)
}

/// The state of every job's latest run.
async fn load_run_states<C: ConnectionTrait>(conn: &C, graph: &mut Graph) -> Result<(), ApiError> {
    let mut after = String::new();
    loop {
        let jobs = jobs(conn, "", Some(&after), LOAD_BATCH).await?;
        let Some(last) = jobs.last() else { break };
        after = last.id.clone();
        let latest: Vec<String> = jobs
            .iter()
            .filter(|job| !job.latest_run_id.is_empty())
            .map(|job| job.latest_run_id.clone())
            .collect();
        for chunk in latest.chunks(500) {
            let runs = run::Entity::find()
                .filter(run::Column::RunId.is_in(chunk.iter().cloned()))
                .all(conn)
                .await
                .map_err(db_error)?;
            for run in runs {
                let state = RunState::try_from(run.state).unwrap_or(RunState::Other);
                graph.set_run_state(&run.job, state, run.state_time);
            }
        }
    }
    Ok(())
}

pub async fn job<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<job::Model>, ApiError> {
    job::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
        .map_err(db_error)
}

pub async fn dataset<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<dataset::Model>, ApiError> {
    dataset::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
        .map_err(db_error)
}

pub async fn run<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<run::Model>, ApiError> {
    run::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
        .map_err(db_error)
}

/// Jobs by id after `after`, optionally of one namespace.
pub async fn jobs<C: ConnectionTrait>(
    conn: &C,
    namespace: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<job::Model>, ApiError> {
    let mut query = job::Entity::find()
        .order_by_asc(job::Column::Id)
        .limit(limit);
    if !namespace.is_empty() {
        query = query.filter(job::Column::Namespace.eq(namespace));
    }
    if let Some(after) = after {
        query = query.filter(job::Column::Id.gt(after));
    }
    query.all(conn).await.map_err(db_error)
}

/// Datasets by id after `after`, optionally of one namespace.
pub async fn datasets<C: ConnectionTrait>(
    conn: &C,
    namespace: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<dataset::Model>, ApiError> {
    let mut query = dataset::Entity::find()
        .order_by_asc(dataset::Column::Id)
        .limit(limit);
    if !namespace.is_empty() {
        query = query.filter(dataset::Column::Namespace.eq(namespace));
    }
    if let Some(after) = after {
        query = query.filter(dataset::Column::Id.gt(after));
    }
    query.all(conn).await.map_err(db_error)
}

/// A job's runs, newest state first (by state time, then run id), after the cursor
/// `(state_time, run_id)`.
pub async fn runs<C: ConnectionTrait>(
    conn: &C,
    job: &str,
    after: Option<(i64, &str)>,
    limit: u64,
) -> Result<Vec<run::Model>, ApiError> {
    let mut query = run::Entity::find()
        .filter(run::Column::Job.eq(job))
        .order_by_desc(run::Column::StateTime)
        .order_by_desc(run::Column::RunId)
        .limit(limit);
    if let Some((time, run_id)) = after {
        query = query.filter(
            sea_orm::Condition::any()
                .add(run::Column::StateTime.lt(time))
                .add(
                    sea_orm::Condition::all()
                        .add(run::Column::StateTime.eq(time))
                        .add(run::Column::RunId.lt(run_id)),
                ),
        );
    }
    query.all(conn).await.map_err(db_error)
}

/// Deletes raw events received before `before`; returns how many.
pub async fn delete_events_before<C: ConnectionTrait>(
    conn: &C,
    before: i64,
) -> Result<u64, ApiError> {
    let result = event::Entity::delete_many()
        .filter(event::Column::ReceivedTime.lt(before))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}

/// Raw events stored.
pub async fn event_count<C: ConnectionTrait>(conn: &C) -> Result<u64, ApiError> {
    event::Entity::find().count(conn).await.map_err(db_error)
}

/// The JSON text of a stored raw event, in either of the forms rows were written in
/// (zstd-compressed, or text before compression).
pub fn raw_event_json(row: &event::Model) -> Result<String, ApiError> {
    match &row.body_zstd {
        Some(stored) => crate::openlineage::stored_json_text(stored).map_err(ApiError::internal),
        None => Ok(row.body.clone()),
    }
}
