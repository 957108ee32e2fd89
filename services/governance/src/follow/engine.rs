//! Keeps the in-memory access index current: rebuilt from governance's database at start, then
//! updated from two streams, each applied in order and idempotently (an event sets a resource to
//! its payload, or removes it):
//! - governance's own outbox (grants, groups, projects, policies), tailed like every derived
//!   state in Weft, so that replicas agree; a mutation waits until its own events are applied
//!   before answering (read-your-writes);
//! - the catalog's `WatchEvents` stream (domains, data products, assets, tag keys), stored in
//!   governance's own tables together with its cursor in one transaction, so that decisions
//!   never call the catalog and a restart of either side resumes where it stopped.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use tokio::sync::{Mutex, watch};
use tonic::transport::Channel;
use weft_proto::weft::catalog::v1::TagKey;
use weft_proto::weft::common::v1::Event;
use weft_proto::weft::governance::v1::{Grant, Group, Policy, Project};
use weft_runtime::ApiError;
use weft_storage::projection::{self, Projector};
use weft_storage::write::Change;
use weft_storage::{Store, outbox, resources};

use crate::access::AccessIndex;
use crate::access::nodes::Node;

/// Governance's event type saying that catalog events changed the projection (payload: the
/// catalog sequence reached, as a google.protobuf.Int64Value). Caches of decisions drop
/// what they hold on it, like on any other governance event.
pub const PROJECTION_ADVANCED: &str = "catalog_projection.advanced";

pub struct Engine {
    store: Store,
    index: RwLock<AccessIndex>,
    /// Last governance outbox sequence applied; held while applying.
    applied: Mutex<i64>,
    /// The same, readable without waiting: the index reflects at least this sequence.
    index_sequence: AtomicI64,
    /// The catalog event sequence the index reflects at least; decisions asked "at least at
    /// catalog position P" wait on it (read-your-writes across services).
    catalog_position: watch::Sender<i64>,
}

impl Engine {
    /// Rebuilds the index from the database.
    pub async fn rebuild(store: Store) -> Result<Arc<Self>, ApiError> {
        // Read the cursors first: events committed while loading are applied again (harmless).
        let applied = outbox::last_sequence(&store).await?;
        let catalog_position = projection::cursor(store.db(), projection::CATALOG).await?;
        let mut index = AccessIndex::new();
        let conn = store.db();
        for group in resources::all::<Group, _>(conn).await? {
            index.memberships_mut().put_group(&group);
        }
        for project in resources::all::<Project, _>(conn).await? {
            index.memberships_mut().put_project(&project);
        }
        for grant in resources::all::<Grant, _>(conn).await? {
            index.put_grant(grant);
        }
        for policy in resources::all::<Policy, _>(conn).await? {
            index
                .guardrails_mut()
                .put(&policy.name, &policy.cedar, &policy.domain, policy.enabled);
        }
        projection::for_each_node(conn, projection::CATALOG, |row| {
            apply_catalog_payload(
                &mut index,
                &row.name,
                &row.payload_type,
                &row.payload,
                false,
            )
        })
        .await?;
        tracing::info!(
            grants = index.grant_count(),
            policies = index.guardrails().len(),
            "access index rebuilt"
        );
        Ok(Arc::new(Self {
            store,
            index: RwLock::new(index),
            applied: Mutex::new(applied),
            index_sequence: AtomicI64::new(applied),
            catalog_position: watch::channel(catalog_position).0,
        }))
    }

    /// The catalog event sequence the index reflects at least.
    pub fn catalog_position(&self) -> i64 {
        *self.catalog_position.borrow()
    }

    /// Waits until the index reflects catalog sequence `min`, at most `within`; returns the
    /// position reached (which may be short of `min` when the catalog's stream lags further).
    pub async fn reach_catalog_position(&self, min: i64, within: Duration) -> i64 {
        let mut position = self.catalog_position.subscribe();
        let reached = tokio::time::timeout(within, position.wait_for(|at| *at >= min)).await;
        if reached.is_err() {
            tracing::warn!(
                min,
                reached = self.catalog_position(),
                "catalog projection behind the position asked for; deciding on what it has"
            );
        }
        self.catalog_position()
    }

    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, AccessIndex> {
        self.index.read().expect("access index lock")
    }

    /// The governance outbox sequence the index reflects at least (read it before the index:
    /// it is raised only after the events up to it were applied).
    pub fn index_sequence(&self) -> i64 {
        self.index_sequence.load(Ordering::Acquire)
    }

    /// Applies governance's outbox events not applied yet.
    pub async fn catch_up(&self) -> Result<(), ApiError> {
        let mut applied = self.applied.lock().await;
        loop {
            let events = outbox::read_after(&self.store, *applied, 1_000).await?;
            if events.is_empty() {
                return Ok(());
            }
            self.apply_own_events(&mut applied, &events);
        }
    }

    /// Follows governance's own outbox (writes of other replicas) with `outbox::watch`, a
    /// batch of ready events at a time, until the service shuts down; a failed read is retried
    /// from the last event applied.
    pub async fn tail_own_outbox(self: Arc<Self>) {
        loop {
            let after = *self.applied.lock().await;
            let events = outbox::watch(self.store.clone(), after, vec![]).ready_chunks(1_000);
            tokio::pin!(events);
            let mut failed = false;
            while let Some(batch) = events.next().await {
                let mut ready = Vec::with_capacity(batch.len());
                for event in batch {
                    match event {
                        Ok(event) => ready.push(event),
                        Err(error) => {
                            tracing::warn!(%error, "access index: outbox read failed");
                            failed = true;
                        }
                    }
                }
                let mut applied = self.applied.lock().await;
                self.apply_own_events(&mut applied, &ready);
                if failed {
                    break;
                }
            }
            if !failed {
                return;
            }
            tokio::time::sleep(outbox::POLL_INTERVAL).await;
        }
    }

    /// Applies the events after `applied` (a writer's `catch_up` may have applied some of them
    /// already) and moves `applied` to the last.
    fn apply_own_events(&self, applied: &mut i64, events: &[Event]) {
        let fresh: Vec<&Event> = events
            .iter()
            .filter(|event| event.sequence > *applied)
            .collect();
        let Some(last) = fresh.last().map(|event| event.sequence) else {
            return;
        };
        {
            let mut index = self.index.write().expect("access index lock");
            for event in fresh {
                apply_own_event(&mut index, event);
            }
        }
        *applied = last;
        self.index_sequence.store(last, Ordering::Release);
    }

    /// Follows the catalog's stream into the projection until the task is dropped.
    pub async fn follow_catalog(self: Arc<Self>, channel: Channel) {
        projection::follow(
            self.store.clone(),
            projection::Source::Catalog,
            channel,
            self,
        )
        .await
    }
}

impl Projector for Engine {
    fn keeps(&self, type_url: &str) -> bool {
        is_projected(type_url)
    }

    /// The index is changed before the projection commits (the events are the catalog's
    /// facts: if the commit fails, they come again and apply again), so that when governance's
    /// event saying "projection advanced" is seen, every decision made afterwards reflects the
    /// batch.
    fn apply(&self, events: &[&Event]) -> Vec<Change> {
        let Some(last) = events.last() else {
            return Vec::new();
        };
        {
            let mut index = self.index.write().expect("access index lock");
            for event in events {
                if let Some(payload) = &event.payload {
                    apply_catalog_payload(
                        &mut index,
                        &event.resource,
                        &payload.type_url,
                        &payload.value,
                        projection::is_deletion(event),
                    );
                }
            }
        }
        self.catalog_position.send_if_modified(|position| {
            let advanced = last.sequence > *position;
            *position = (*position).max(last.sequence);
            advanced
        });
        vec![Change {
            action: String::new(),
            event_type: PROJECTION_ADVANCED.to_string(),
            resource: "projections/catalog".to_string(),
            payload: prost_types::Any::from_msg(&last.sequence).expect("an i64 always encodes"),
            detail: serde_json::Value::Null,
        }]
    }
}

/// Whether a catalog payload type is part of the projection.
fn is_projected(type_url: &str) -> bool {
    matches!(
        type_url.rsplit('/').next(),
        Some(
            "weft.catalog.v1.Domain"
                | "weft.catalog.v1.DataProduct"
                | "weft.catalog.v1.Asset"
                | "weft.catalog.v1.TagKey"
        )
    )
}

fn apply_catalog_payload(
    index: &mut AccessIndex,
    name: &str,
    type_url: &str,
    bytes: &[u8],
    deleted: bool,
) {
    if type_url.ends_with("/weft.catalog.v1.TagKey") {
        let key = name.strip_prefix("tagKeys/").unwrap_or(name);
        let classification = !deleted
            && TagKey::decode(bytes)
                .map(|tag_key| tag_key.classification)
                .unwrap_or_default();
        index.set_classification_key(key, classification);
        return;
    }
    if deleted {
        index.remove_node(name);
        return;
    }
    match Node::from_payload(type_url, bytes) {
        Ok(Some(node)) => index.put_node(node),
        Ok(None) => {}
        Err(error) => tracing::error!(resource = name, %error, "catalog projection: bad payload"),
    }
}

fn apply_own_event(index: &mut AccessIndex, event: &Event) {
    let Some(payload) = &event.payload else {
        return;
    };
    let deleted = event.r#type.ends_with(".deleted");
    let message = payload.type_url.rsplit('/').next().unwrap_or_default();
    let bytes = payload.value.as_slice();
    let result = match message {
        "weft.governance.v1.Grant" => Grant::decode(bytes).map(|grant| {
            if deleted {
                index.remove_grant(&grant.name);
            } else {
                index.put_grant(grant);
            }
        }),
        "weft.governance.v1.Group" => Group::decode(bytes).map(|group| {
            if deleted {
                index.memberships_mut().remove_group(&group.name);
            } else {
                index.memberships_mut().put_group(&group);
            }
        }),
        "weft.governance.v1.Project" => Project::decode(bytes).map(|project| {
            if deleted {
                index.memberships_mut().remove_project(&project.name);
            } else {
                index.memberships_mut().put_project(&project);
            }
        }),
        "weft.governance.v1.Policy" => Policy::decode(bytes).map(|policy| {
            if deleted {
                index.guardrails_mut().remove(&policy.name);
            } else {
                index.guardrails_mut().put(
                    &policy.name,
                    &policy.cedar,
                    &policy.domain,
                    policy.enabled,
                );
            }
        }),
        _ => Ok(()),
    };
    if let Err(error) = result {
        tracing::error!(sequence = event.sequence, %error, "access index: bad event payload");
    }
}
