//! Projections of another service's event stream (the catalog's, governance's) (each service's outbox is its event stream;
//! there is no broker between them): the last payload of every projected resource and how far the stream was read,
//! stored in the consuming service's own database in one transaction per batch, so that a
//! restart of either side resumes exactly where the projection stopped and no event is skipped
//! or lost. Governance projects the catalog for its access decisions; lineage projects it to
//! link datasets to assets.
//!
//! The consuming service says which payload types it keeps and what to do with a stored batch
//! (a [`Projector`]); [`follow`] does the rest.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sea_orm_migration::prelude::*;
use tonic::transport::Channel;
use weft_proto::weft::catalog::v1::catalog_internal_service_client::CatalogInternalServiceClient;
use weft_proto::weft::common::v1::{Event, WatchEventsRequest};
use weft_proto::weft::governance::v1::governance_internal_service_client::GovernanceInternalServiceClient;
use weft_runtime::ApiError;

use crate::Store;
use crate::write::{Change, db_error};

/// Name of the catalog's stream, as a projection source.
pub const CATALOG: &str = "catalog";
/// Name of governance's stream, as a projection source.
pub const GOVERNANCE: &str = "governance";

/// Whose stream a projection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Catalog,
    Governance,
}

impl Source {
    /// The source's name in the projection's tables.
    pub fn name(self) -> &'static str {
        match self {
            Source::Catalog => CATALOG,
            Source::Governance => GOVERNANCE,
        }
    }

    async fn watch(
        self,
        channel: Channel,
        request: WatchEventsRequest,
    ) -> Result<tonic::Streaming<Event>, tonic::Status> {
        Ok(match self {
            Source::Catalog => CatalogInternalServiceClient::new(channel)
                .watch_events(request)
                .await?
                .into_inner(),
            Source::Governance => GovernanceInternalServiceClient::new(channel)
                .watch_events(request)
                .await?
                .into_inner(),
        })
    }
}
/// Events of a stream applied per transaction.
const BATCH: usize = 500;
/// Wait before reconnecting after a stream failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// What a service does with the events it projects.
pub trait Projector: Send + Sync + 'static {
    /// Whether resources with this payload type are kept.
    fn keeps(&self, type_url: &str) -> bool;
    /// Called with the kept events of a batch once they are stored and before the transaction
    /// commits (if the commit fails they come again: applying must be idempotent). Returns the
    /// events the service appends to its own outbox in the same transaction.
    fn apply(&self, events: &[&Event]) -> Vec<Change>;
    /// Called with the same events once the batch is committed, for work that must see it
    /// stored (e.g. waking a reader of the projection).
    fn committed(&self, _events: &[&Event]) {}
}

/// Follows `source`'s stream into the projection until the task is dropped, reconnecting
/// after failures.
pub async fn follow(store: Store, source: Source, channel: Channel, projector: Arc<dyn Projector>) {
    loop {
        if let Err(error) = follow_once(&store, source, channel.clone(), projector.as_ref()).await {
            tracing::warn!(%error, source = source.name(), "projection: stream interrupted; reconnecting");
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

async fn follow_once(
    store: &Store,
    source: Source,
    channel: Channel,
    projector: &dyn Projector,
) -> anyhow::Result<()> {
    let after = cursor(store.db(), source.name()).await?;
    let stream = source
        .watch(
            channel,
            WatchEventsRequest {
                after_sequence: after,
                types: Vec::new(),
            },
        )
        .await?;
    let mut batches = std::pin::pin!(stream.ready_chunks(BATCH));
    while let Some(batch) = batches.next().await {
        let mut events = Vec::with_capacity(batch.len());
        let mut failure = None;
        for item in batch {
            match item {
                Ok(event) => events.push(event),
                Err(status) => {
                    failure = Some(status);
                    break;
                }
            }
        }
        project(store, source, &events, projector).await?;
        if let Some(status) = failure {
            return Err(status.into());
        }
    }
    Ok(())
}

/// Stores a batch (kept payloads and the new cursor) in one transaction, with what the
/// projector makes of it.
pub async fn project(
    store: &Store,
    source: Source,
    events: &[Event],
    projector: &dyn Projector,
) -> Result<(), ApiError> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    let txn = store
        .begin_write(&format!("services/{}", store.service()))
        .await?;
    let mut kept = Vec::new();
    for event in events {
        let Some(payload) = &event.payload else {
            continue;
        };
        if !projector.keeps(&payload.type_url) {
            continue;
        }
        if is_deletion(event) {
            remove_node(txn.conn(), source.name(), &event.resource).await?;
        } else {
            let kind = event.r#type.split('.').next().unwrap_or_default();
            put_node(
                txn.conn(),
                source.name(),
                &event.resource,
                kind,
                &payload.type_url,
                &payload.value,
            )
            .await?;
        }
        kept.push(event);
    }
    set_cursor(txn.conn(), source.name(), last.sequence).await?;
    let changes = if kept.is_empty() {
        Vec::new()
    } else {
        projector.apply(&kept)
    };
    txn.commit_events(changes).await?;
    if !kept.is_empty() {
        projector.committed(&kept);
    }
    Ok(())
}

/// Whether an event removes its resource.
pub fn is_deletion(event: &Event) -> bool {
    event.r#type.ends_with(".deleted")
}

pub mod node {
    use sea_orm::entity::prelude::*;

    /// One projected resource: its last event payload.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_projected_resources")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub kind: String,
        pub payload_type: String,
        pub payload: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cursor {
    use sea_orm::entity::prelude::*;

    /// How far a projection has read another service's stream.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "weft_projection_cursors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub source: String,
        pub sequence: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The stream sequence the projection of `source` reflects (0 before the first event).
pub async fn cursor<C: ConnectionTrait>(conn: &C, source: &str) -> Result<i64, ApiError> {
    Ok(cursor::Entity::find_by_id(source)
        .one(conn)
        .await
        .map_err(db_error)?
        .map_or(0, |row| row.sequence))
}

/// Records how far `source` was read (also used as a one-time marker: governance's
/// "default rules seeded").
pub async fn set_cursor<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    sequence: i64,
) -> Result<(), ApiError> {
    cursor::Entity::insert(cursor::ActiveModel {
        source: Set(source.to_string()),
        sequence: Set(sequence),
    })
    .on_conflict(
        OnConflict::column(cursor::Column::Source)
            .update_column(cursor::Column::Sequence)
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn put_node<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    name: &str,
    kind: &str,
    payload_type: &str,
    payload: &[u8],
) -> Result<(), ApiError> {
    node::Entity::insert(node::ActiveModel {
        source: Set(source.to_string()),
        name: Set(name.to_string()),
        kind: Set(kind.to_string()),
        payload_type: Set(payload_type.to_string()),
        payload: Set(payload.to_vec()),
    })
    .on_conflict(
        OnConflict::columns([node::Column::Source, node::Column::Name])
            .update_columns([
                node::Column::Kind,
                node::Column::PayloadType,
                node::Column::Payload,
            ])
            .to_owned(),
    )
    .exec(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn remove_node<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    name: &str,
) -> Result<(), ApiError> {
    node::Entity::delete_many()
        .filter(node::Column::Source.eq(source))
        .filter(node::Column::Name.eq(name))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Hands every stored resource of `source` to `visit`, page by page: one page of payloads in
/// memory at a time, not every asset's payload of the catalog at once.
pub async fn for_each_node<C: ConnectionTrait>(
    conn: &C,
    source: &str,
    mut visit: impl FnMut(node::Model),
) -> Result<(), ApiError> {
    const PAGE: u64 = 5_000;
    let mut last: Option<String> = None;
    loop {
        let mut query = node::Entity::find()
            .filter(node::Column::Source.eq(source))
            .order_by_asc(node::Column::Name)
            .limit(PAGE);
        if let Some(last) = last.take() {
            query = query.filter(node::Column::Name.gt(last));
        }
        let page = query.all(conn).await.map_err(db_error)?;
        let done = (page.len() as u64) < PAGE;
        for row in page {
            last = Some(row.name.clone());
            visit(row);
        }
        if done {
            return Ok(());
        }
    }
}

/// The migration creating the projection tables; a service with a projection runs it after
/// `CreateRuntimeTables`.
pub struct CreateProjectionTables;

impl MigrationName for CreateProjectionTables {
    fn name(&self) -> &str {
        "m0001_weft_projection"
    }
}

#[derive(DeriveIden)]
enum WeftProjectedResources {
    Table,
    Source,
    Name,
    Kind,
    PayloadType,
    Payload,
}

#[derive(DeriveIden)]
enum WeftProjectionCursors {
    Table,
    Source,
    Sequence,
}

#[async_trait::async_trait]
impl MigrationTrait for CreateProjectionTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use WeftProjectedResources as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(ColumnDef::new(R::Source).string().not_null())
                    .col(ColumnDef::new(R::Name).string().not_null())
                    .col(ColumnDef::new(R::Kind).string().not_null())
                    .col(ColumnDef::new(R::PayloadType).string().not_null())
                    .col(ColumnDef::new(R::Payload).binary().not_null())
                    .primary_key(Index::create().col(R::Source).col(R::Name))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WeftProjectionCursors::Table)
                    .col(
                        ColumnDef::new(WeftProjectionCursors::Source)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WeftProjectionCursors::Sequence)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(WeftProjectedResources::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(WeftProjectionCursors::Table).to_owned())
            .await
    }
}
