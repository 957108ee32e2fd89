//! The search index: derived state kept in `<data_dir>/catalog-index`, rebuilt from the database
//! at start when missing, of another version or built from another database, then kept current
//! by tailing the catalog's own outbox (so every replica's writes reach every replica's index).
//! The last applied outbox sequence is stored in each index commit.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};
use tokio::sync::{Mutex, mpsc};
use weft_proto::weft::catalog::v1::{Asset, DataProduct, Domain, GlossaryTerm};
use weft_proto::weft::common::v1::Event;
use weft_runtime::ApiError;
use weft_runtime::tls::create_private_dir;
use weft_storage::Store;

use super::documents::{Context, asset_entries, domain_entry, product_entry, term_entry};
use super::fields::{Entry, Fields, INDEX_VERSION};
use weft_proto::resource::lifecycle_column;
use weft_storage::resources::{self, Resource};

/// Memory the index writer may use before flushing segments (shared by its threads; used only
/// while that much is being indexed, as in a rebuild). Larger segments mean fewer merges.
const WRITER_MEMORY: usize = 200_000_000;
/// Indexing threads: a rebuild at 1M assets is bound by tokenizing and posting (one thread was
/// busy all along, the database reader and the document building not).
const INDEXING_THREADS: usize = 2;
/// Rows read per page while rebuilding.
const REBUILD_PAGE: u64 = 1_000;
/// Pages read ahead of the indexing while rebuilding.
const READ_AHEAD: usize = 4;
/// Events applied before an intermediate commit while catching up.
pub(crate) const COMMIT_EVERY: usize = 1_000;

/// What each index commit records.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct CommitState {
    version: u32,
    /// Genesis hash of the database the index was built from.
    database: String,
    /// Last outbox sequence applied.
    sequence: i64,
}

pub struct SearchIndex {
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
    writer: Mutex<IndexWriter>,
    index: Index,
    context: Mutex<Context>,
    /// Genesis hash of the database (see `CommitState`), known after `catch_up`.
    database: std::sync::OnceLock<String>,
    store: Store,
}

fn index_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("search index: {error}"))
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`; an index with another schema is recreated.
    pub fn open(dir: &Path, store: Store) -> anyhow::Result<Arc<Self>> {
        let fields = Fields::new();
        // The index holds what callers may not all see: its directory is the service's only.
        create_private_dir(dir)?;
        let index = match Index::open_or_create(MmapDirectory::open(dir)?, fields.schema.clone()) {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(%error, dir = %dir.display(), "search index unusable: recreating it");
                std::fs::remove_dir_all(dir)?;
                create_private_dir(dir)?;
                Index::create_in_dir(dir, fields.schema.clone())?
            }
        };
        let writer = index.writer_with_num_threads(INDEXING_THREADS, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Arc::new(SearchIndex {
            fields,
            reader,
            writer: Mutex::new(writer),
            index,
            context: Mutex::new(Context::default()),
            database: std::sync::OnceLock::new(),
            store,
        }))
    }

    fn committed_state(&self) -> Option<CommitState> {
        let payload = self.index.load_metas().ok()?.payload?;
        serde_json::from_str(&payload).ok()
    }

    /// Brings the index up to date with the database: a full rebuild when it is stale, else the
    /// events since its last commit. Returns the sequence to tail from.
    pub async fn catch_up(&self) -> Result<i64, ApiError> {
        let database = weft_storage::journal::genesis_hash(self.store.db())
            .await
            .map_err(weft_storage::write::db_error)?
            .unwrap_or_default();
        let _ = self.database.set(database.clone());
        let last = weft_storage::outbox::last_sequence(&self.store).await?;
        match self.committed_state() {
            Some(state)
                if state.version == INDEX_VERSION
                    && state.database == database
                    && state.sequence <= last =>
            {
                self.load_context().await?;
                let mut sequence = state.sequence;
                loop {
                    let events = weft_storage::outbox::read_after(
                        &self.store,
                        sequence,
                        COMMIT_EVERY as u64,
                    )
                    .await?;
                    let Some(newest) = events.last().map(|e| e.sequence) else {
                        break;
                    };
                    for event in &events {
                        self.apply(event).await?;
                    }
                    sequence = newest;
                    self.commit(sequence).await?;
                }
                tracing::info!(sequence, "search index caught up");
                Ok(sequence)
            }
            _ => {
                let started = std::time::Instant::now();
                let documents = self.rebuild(last).await?;
                tracing::info!(documents, elapsed = ?started.elapsed(), "search index rebuilt from the database");
                Ok(last)
            }
        }
    }

    async fn load_context(&self) -> Result<(), ApiError> {
        let mut context = Context::default();
        for_each::<Domain>(&self.store, |domain| {
            context
                .domain_parents
                .insert(domain.name.clone(), domain.parent_domain.clone());
        })
        .await?;
        for_each::<DataProduct>(&self.store, |product| {
            let state = lifecycle_column(product.lifecycle_state()).to_string();
            context.product_states.insert(product.name.clone(), state);
        })
        .await?;
        *self.context.lock().await = context;
        Ok(())
    }

    /// Re-indexes everything; events after `sequence` are applied by the tailer afterwards.
    async fn rebuild(&self, sequence: i64) -> Result<u64, ApiError> {
        self.load_context().await?;
        let mut writer = self.writer.lock().await;
        writer.delete_all_documents().map_err(index_error)?;
        let context = self.context.lock().await;
        let fields = &self.fields;
        let mut documents = 0u64;
        let mut add = |entries: Vec<Entry>| -> Result<(), ApiError> {
            for entry in entries {
                writer
                    .add_document(entry.to_document(fields))
                    .map_err(index_error)?;
                documents += 1;
            }
            Ok(())
        };
        let mut pending: Vec<Entry> = Vec::new();
        for_each::<Domain>(&self.store, |d| pending.push(domain_entry(d, &context))).await?;
        for_each::<DataProduct>(&self.store, |p| pending.push(product_entry(p, &context))).await?;
        for_each::<GlossaryTerm>(&self.store, |t| pending.push(term_entry(t))).await?;
        add(std::mem::take(&mut pending))?;
        // Pages are read by a task of their own, so that reading the next page from the database
        // overlaps indexing this one.
        let (pages, mut read) = mpsc::channel(READ_AHEAD);
        let reader = tokio::spawn(read_assets(self.store.clone(), pages));
        while let Some(page) = read.recv().await {
            for asset in &page? {
                add(asset_entries(asset, &context))?;
            }
        }
        reader.await.map_err(index_error)?;
        drop(context);
        commit_with(&mut writer, &self.commit_state(sequence))?;
        drop(writer);
        self.reader.reload().map_err(index_error)?;
        Ok(documents)
    }

    fn commit_state(&self, sequence: i64) -> CommitState {
        CommitState {
            version: INDEX_VERSION,
            database: self.database.get().cloned().unwrap_or_default(),
            sequence,
        }
    }

    pub(crate) async fn commit(&self, sequence: i64) -> Result<(), ApiError> {
        let mut writer = self.writer.lock().await;
        commit_with(&mut writer, &self.commit_state(sequence))?;
        drop(writer);
        self.reader.reload().map_err(index_error)
    }

    /// Re-indexes what one outbox event touched, from the database's current state.
    pub(crate) async fn apply(&self, event: &Event) -> Result<(), ApiError> {
        let (kind, _) = event.r#type.split_once('.').unwrap_or_default();
        let db = self.store.db();
        match kind {
            "domain" => {
                let domain = resources::find::<Domain, _>(db, &event.resource).await?;
                let new_parent = domain.as_ref().map(|d| d.parent_domain.clone());
                let mut context = self.context.lock().await;
                let old_parent = context.domain_parents.get(&event.resource).cloned();
                match &domain {
                    Some(d) => context
                        .domain_parents
                        .insert(d.name.clone(), d.parent_domain.clone()),
                    None => context.domain_parents.remove(&event.resource),
                };
                let entries = domain.iter().map(|d| domain_entry(d, &context)).collect();
                drop(context);
                if old_parent.is_some() && new_parent.is_some() && old_parent != new_parent {
                    // The domain moved: the domain path of everything under it changed.
                    return self.reindex_domain_subtree(&event.resource).await;
                }
                self.replace(&event.resource, entries).await
            }
            "data_product" => {
                let product = resources::find::<DataProduct, _>(db, &event.resource).await?;
                let mut context = self.context.lock().await;
                let new_state = product
                    .as_ref()
                    .map(|p| lifecycle_column(p.lifecycle_state()).to_string());
                let old_state = match &new_state {
                    Some(state) => context
                        .product_states
                        .insert(event.resource.clone(), state.clone()),
                    None => context.product_states.remove(&event.resource),
                };
                let entries = product.iter().map(|p| product_entry(p, &context)).collect();
                drop(context);
                self.replace(&event.resource, entries).await?;
                if old_state.is_some() && new_state.is_some() && old_state != new_state {
                    // Assets and columns carry their product's state.
                    let assets = resources::all_children::<Asset, _>(db, &event.resource).await?;
                    for asset in assets {
                        self.replace_asset(&asset).await?;
                    }
                }
                Ok(())
            }
            "asset" => match resources::find::<Asset, _>(db, &event.resource).await? {
                Some(asset) => self.replace_asset(&asset).await,
                None => self.replace(&event.resource, vec![]).await,
            },
            "glossary_term" => {
                let term = resources::find::<GlossaryTerm, _>(db, &event.resource).await?;
                self.replace(&event.resource, term.iter().map(term_entry).collect())
                    .await
            }
            _ => Ok(()),
        }
    }

    async fn replace_asset(&self, asset: &Asset) -> Result<(), ApiError> {
        let entries = asset_entries(asset, &*self.context.lock().await);
        self.replace(&asset.name, entries).await
    }

    /// Replaces every document rooted at `root` with `entries` (uncommitted).
    async fn replace(&self, root: &str, entries: Vec<Entry>) -> Result<(), ApiError> {
        let writer = self.writer.lock().await;
        writer.delete_term(Term::from_field_text(self.fields.root, root));
        for entry in entries {
            writer
                .add_document(entry.to_document(&self.fields))
                .map_err(index_error)?;
        }
        Ok(())
    }

    async fn reindex_domain_subtree(&self, domain: &str) -> Result<(), ApiError> {
        let sequence = weft_storage::outbox::last_sequence(&self.store).await?;
        tracing::info!(domain, "domain moved: rebuilding the search index");
        self.rebuild(sequence).await.map(|_| ())
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The outbox sequence the searchable state reflects.
    pub fn indexed_sequence(&self) -> i64 {
        self.committed_state().map_or(0, |state| state.sequence)
    }
}

fn commit_with(writer: &mut IndexWriter, state: &CommitState) -> Result<(), ApiError> {
    let payload = serde_json::to_string(state).map_err(index_error)?;
    let mut prepared = writer.prepare_commit().map_err(index_error)?;
    prepared.set_payload(&payload);
    prepared.commit().map_err(index_error)?;
    Ok(())
}

/// Calls `visit` on every resource of kind `R`, page by page.
async fn for_each<R: Resource>(store: &Store, mut visit: impl FnMut(&R)) -> Result<(), ApiError> {
    let mut after: Option<String> = None;
    loop {
        let page =
            resources::list::<R, _>(store.db(), vec![], after.as_deref(), REBUILD_PAGE).await?;
        let Some(last) = page.last().map(|r| r.name().to_string()) else {
            return Ok(());
        };
        page.iter().for_each(&mut visit);
        after = Some(last);
    }
}

/// Sends every asset, a page at a time in name order, until the receiver is gone; a failed read
/// is sent as the last page.
async fn read_assets(store: Store, pages: mpsc::Sender<Result<Vec<Asset>, ApiError>>) {
    let mut after: Option<String> = None;
    loop {
        match resources::list::<Asset, _>(store.db(), vec![], after.as_deref(), REBUILD_PAGE).await
        {
            Ok(assets) if assets.is_empty() => return,
            Ok(assets) => {
                after = assets.last().map(|a| a.name.clone());
                if pages.send(Ok(assets)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = pages.send(Err(error)).await;
                return;
            }
        }
    }
}
