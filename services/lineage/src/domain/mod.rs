//! Lineage's domain logic, independent of gRPC: ingestion (`ingest`), the graph queries
//! (`queries`), the listings of jobs, datasets and runs (`listings`), the link to the catalog
//! (`catalog_link`), impact analysis (`impact`) and tag propagation (`propagation`).

pub mod catalog_link;
pub mod catalog_visibility;
mod group_commit;
pub mod ids;
pub mod impact;
pub mod ingest;
pub mod listings;
pub mod propagation;
pub mod queries;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;
use weft_proto::weft::lineage::v1::{FailedEvent, LineageChange, LineageChanges};
use weft_runtime::{ApiError, Caller};
use weft_storage::Store;
use weft_storage::projection;

use self::catalog_link::CatalogView;
use crate::store::unit_of_work::{self, UnitOfWork};

use crate::graph::Graph;
use crate::openlineage::{EventFault, ParsedEvent};
use crate::store::reads;

/// Events accepted in one batch.
pub const MAX_BATCH: usize = 10_000;
/// The lineage service, as the gRPC adapter sees it.
#[derive(Clone)]
pub struct Lineage {
    pub(crate) store: Store,
    graph: Arc<RwLock<Graph>>,
    pub(crate) catalog: Arc<RwLock<CatalogView>>,
    /// Woken when the graph or the catalog view changed: tags may propagate differently.
    pub(crate) propagation: Arc<Notify>,
    /// Small ingest calls waiting to be written together.
    group_commit: Arc<group_commit::GroupCommit>,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Events accepted (new or already known).
    pub succeeded: usize,
    /// Of those, the new ones.
    pub created: usize,
    pub failed: Vec<FailedEvent>,
}

impl Lineage {
    /// Loads the graph and the catalog view from the database.
    pub async fn open(store: Store) -> Result<Self, ApiError> {
        let started = std::time::Instant::now();
        let graph = reads::load_graph(store.db()).await?;
        let mut catalog = CatalogView::default();
        projection::for_each_node(store.db(), projection::CATALOG, |row| {
            catalog.apply(&row.name, &row.payload_type, &row.payload, false)
        })
        .await?;
        tracing::info!(
            nodes = graph.node_count(),
            edges = graph.edge_count(),
            elapsed = ?started.elapsed(),
            "lineage graph loaded from the database"
        );
        Ok(Self {
            store,
            graph: Arc::new(RwLock::new(graph)),
            catalog: Arc::new(RwLock::new(catalog)),
            propagation: Arc::new(Notify::new()),
            group_commit: Arc::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn graph(&self) -> std::sync::RwLockReadGuard<'_, Graph> {
        self.graph
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn catalog(&self) -> std::sync::RwLockReadGuard<'_, CatalogView> {
        self.catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn apply(&self, changes: &[LineageChange]) {
        let mut graph = self
            .graph
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for change in changes {
            graph.apply(change);
        }
        drop(graph);
        self.propagation.notify_one();
    }

    /// Ingests one event; false when it had been ingested before.
    pub async fn ingest_event(&self, caller: &Caller, json: &str) -> Result<bool, ApiError> {
        let actor = caller.subject();
        let event = ParsedEvent::parse(json).map_err(|fault| {
            ApiError::invalid("event_json", format!("{}: {}", fault.path, fault.message))
        })?;
        let created = self.write(actor, "IngestEvent", vec![event]).await?;
        Ok(created == 1)
    }

    /// Ingests a batch: invalid events are reported with their index and JSON path, the valid
    /// ones are all written (in one transaction).
    pub async fn ingest_events(
        &self,
        caller: &Caller,
        events: Vec<String>,
    ) -> Result<BatchOutcome, ApiError> {
        let actor = caller.subject();
        if events.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "events_json",
                format!(
                    "holds {} events; a batch holds at most {MAX_BATCH}",
                    events.len()
                ),
            ));
        }
        let mut outcome = BatchOutcome::default();
        let mut valid = Vec::with_capacity(events.len());
        for (index, parsed) in parse_all(events).await?.into_iter().enumerate() {
            match parsed {
                Ok(event) => valid.push(event),
                Err(fault) => outcome.failed.push(FailedEvent {
                    index: index as i32,
                    path: fault.path,
                    message: fault.message,
                }),
            }
        }
        outcome.succeeded = valid.len();
        outcome.created = self.write(actor, ingest::INGEST_EVENTS, valid).await?;
        Ok(outcome)
    }

    /// Writes a call's valid events; small calls go through the group commit.
    async fn write(
        &self,
        actor: &str,
        action: &'static str,
        events: Vec<ParsedEvent>,
    ) -> Result<usize, ApiError> {
        if events.is_empty() {
            return Ok(0);
        }
        if events.len() <= group_commit::GROUPED_CALL_EVENTS {
            return self.write_grouped(actor, action, events).await;
        }
        let created = self.write_calls(actor, vec![(action, events)]).await?;
        Ok(created.into_iter().sum())
    }

    /// Writes the events of one or more calls of `actor` in one transaction with one journal
    /// record and outbox event for them all, then applies their changes to the graph; per call,
    /// how many of its events were new (an event sent twice is new in the first call only).
    async fn write_calls(
        &self,
        actor: &str,
        calls: Vec<(&'static str, Vec<ParsedEvent>)>,
    ) -> Result<Vec<usize>, ApiError> {
        let mut actions = Vec::with_capacity(calls.len());
        let mut events = Vec::new();
        for (action, call_events) in calls {
            actions.push(action);
            events.extend(
                call_events
                    .into_iter()
                    .map(|event| (actions.len() - 1, event)),
            );
        }
        let (owners, events): (Vec<usize>, Vec<ParsedEvent>) = events.into_iter().unzip();
        // The call an event belongs to, by key: the first that sent it.
        let mut owner_of: HashMap<&str, usize> = HashMap::with_capacity(events.len());
        for (event, owner) in events.iter().zip(&owners) {
            owner_of.entry(event.key.as_str()).or_insert(*owner);
        }

        let received = weft_storage::write::now().timestamp_micros();
        let txn = self.store.begin_write(actor).await?;
        let fresh = unit_of_work::claim_events(&txn, &events, received).await?;
        unit_of_work::lock_subjects(&txn, &fresh).await?;
        let mut work = UnitOfWork::load(txn.conn(), &fresh).await?;
        // The graph is only read while writing, to skip nodes the database holds for certain.
        let graph = GraphRef(&self.graph);
        let mut created = vec![0; actions.len()];
        let mut changes = LineageChanges::default();
        for event in &fresh {
            changes
                .changes
                .push(ingest::ingest(&mut work, &graph, event));
            created[owner_of[event.key.as_str()]] += 1;
        }
        work.flush(txn.conn()).await?;
        // Calls whose events were all ingested before change nothing and record nothing.
        let records = match fresh.is_empty() {
            true => Vec::new(),
            false => {
                let calls = actions
                    .iter()
                    .zip(&created)
                    .filter(|(_, created)| **created > 0)
                    .map(|(action, _)| *action);
                vec![ingest::group_record(calls, &fresh, &changes)]
            }
        };
        txn.commit(records).await?;
        self.apply(&changes.changes);
        Ok(created)
    }
}

/// Parses and validates a batch's events off the async runtime, on every core (validation
/// against the spec's schemas is the costliest step of ingestion), in order.
async fn parse_all(events: Vec<String>) -> Result<Vec<Result<ParsedEvent, EventFault>>, ApiError> {
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = events.len().div_ceil(threads).max(64);
        std::thread::scope(|scope| {
            let workers: Vec<_> = events
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|json| ParsedEvent::parse(json))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("parsing does not panic"))
                .collect()
        })
    })
    .await
    .map_err(ApiError::internal)
}

/// Read access to the graph while a batch is applied: the lock is taken for each look-up only,
/// so graph writers (the outbox follower) and queries never wait for a whole batch.
pub struct GraphRef<'a>(&'a RwLock<Graph>);

impl GraphRef<'_> {
    pub fn knows(&self, id: &str) -> bool {
        self.0
            .read()
            .map(|graph| graph.index_of(id).is_some())
            .unwrap_or(false)
    }
}
