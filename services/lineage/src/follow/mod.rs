//! Lineage's background followers: the outbox into the graph (every replica's writes), the
//! catalog's stream into the catalog view, tag propagation along column lineage into the
//! catalog, and the raw events' retention.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;
use weft_proto::weft::catalog::v1::SetInheritedTagsRequest;
use weft_proto::weft::catalog::v1::catalog_internal_service_client::CatalogInternalServiceClient;
use weft_proto::weft::common::v1::Event;
use weft_proto::weft::lineage::v1::{LineageChange, LineageChanges};
use weft_storage::Change;
use weft_storage::projection::{self, Projector};

use crate::domain::{Lineage, catalog_link, ingest, propagation};
use crate::store::reads;

/// Columns sent to the catalog per SetInheritedTags call.
const INHERITED_TAGS_CHUNK: usize = 500;
/// Changes arriving within this time are propagated together.
const PROPAGATION_DEBOUNCE: Duration = Duration::from_millis(200);
/// Wait before retrying a propagation the catalog refused or could not take.
const PROPAGATION_RETRY: Duration = Duration::from_secs(2);

impl Lineage {
    /// Follows the outbox (every replica's writes, this one's included) into the graph, from
    /// `after`; a failed read is retried from the last event applied. Ends at shutdown.
    pub async fn follow_outbox(self, mut after: i64) {
        use futures::StreamExt;
        loop {
            let stream = weft_storage::outbox::watch(
                self.store.clone(),
                after,
                vec![
                    ingest::EVENTS_INGESTED.to_string(),
                    ingest::EVENT_INGESTED_ONE.to_string(),
                ],
            );
            tokio::pin!(stream);
            let mut failed = false;
            while let Some(next) = stream.next().await {
                match next {
                    Ok(event) => {
                        after = event.sequence;
                        let payload = event.payload.map(|any| any.value).unwrap_or_default();
                        let decoded = match event.r#type.as_str() {
                            ingest::EVENT_INGESTED_ONE => {
                                LineageChange::decode(payload.as_slice()).map(|c| vec![c])
                            }
                            _ => LineageChanges::decode(payload.as_slice()).map(|c| c.changes),
                        };
                        match decoded {
                            Ok(changes) => self.apply(&changes),
                            Err(error) => tracing::error!(
                                %error,
                                sequence = event.sequence,
                                "lineage: undecodable outbox event"
                            ),
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lineage: outbox read failed; retrying");
                        failed = true;
                    }
                }
            }
            if !failed {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Follows the catalog's stream into the catalog view until the task is dropped.
    pub async fn follow_catalog(self, channel: Channel) {
        projection::follow(
            self.store.clone(),
            projection::Source::Catalog,
            channel,
            Arc::new(self),
        )
        .await
    }

    /// Keeps the catalog's inherited tags equal to what lineage propagates (see `propagation`),
    /// after every change of the graph or the catalog view, until the task is dropped.
    pub async fn propagate_tags(self, channel: Channel) {
        let mut catalog = CatalogInternalServiceClient::new(channel);
        loop {
            // A full recomputation may take a while on a large graph: off the async runtime.
            let lineage = self.clone();
            let updates = tokio::task::spawn_blocking(move || {
                let view = lineage.catalog();
                let desired = propagation::desired(&lineage.graph(), &view);
                propagation::differences(&view, desired)
            })
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "lineage: tag propagation pass failed");
                Vec::new()
            });
            let mut failed = false;
            for chunk in updates.chunks(INHERITED_TAGS_CHUNK) {
                let request = SetInheritedTagsRequest {
                    columns: chunk.to_vec(),
                };
                if let Err(status) = catalog.set_inherited_tags(request).await {
                    tracing::warn!(%status, "lineage: tag propagation to the catalog failed");
                    failed = true;
                    break;
                }
            }
            if !updates.is_empty() && !failed {
                tracing::info!(columns = updates.len(), "lineage: inherited tags updated");
            }
            if failed {
                tokio::time::sleep(PROPAGATION_RETRY).await;
                continue;
            }
            self.propagation.notified().await;
            tokio::time::sleep(PROPAGATION_DEBOUNCE).await;
        }
    }

    /// Deletes raw events older than `retention`, every hour.
    pub async fn enforce_retention(self, retention: Duration) {
        loop {
            let before = weft_storage::write::now().timestamp_micros()
                - i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            match reads::delete_events_before(self.store.db(), before).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(deleted, "lineage: raw events past retention deleted")
                }
                Err(error) => tracing::warn!(%error, "lineage: retention run failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}

impl Projector for Lineage {
    fn keeps(&self, type_url: &str) -> bool {
        catalog_link::keeps(type_url)
    }

    fn apply(&self, events: &[&Event]) -> Vec<Change> {
        {
            let mut view = self
                .catalog
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for event in events {
                if let Some(payload) = &event.payload {
                    view.apply(
                        &event.resource,
                        &payload.type_url,
                        &payload.value,
                        projection::is_deletion(event),
                    );
                }
            }
        }
        self.propagation.notify_one();
        Vec::new()
    }
}
