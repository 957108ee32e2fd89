//! Connecting to a service's database and the `Store` handle its domain code writes through.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use tokio::sync::{Mutex, Notify, watch};

/// Opens a database by URL: `sqlite://<file>?mode=rwc` (WAL, foreign keys, busy timeout) or
/// `postgres://…`. The SQLite file's directory is created if missing.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            weft_runtime::tls::create_private_dir(parent)?;
        }
        create_private_file(std::path::Path::new(path))?;
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|opts| {
            // WAL with synchronous=NORMAL: a commit is in the WAL before it is acknowledged, so a
            // killed process loses nothing it acknowledged; only an OS crash or power loss can
            // lose the last commits (production runs on PostgreSQL).
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    if url.starts_with("sqlite:") {
        options.max_connections(8).min_connections(1);
    } else {
        options.max_connections(16);
    }
    Database::connect(options)
        .await
        .with_context(|| format!("cannot open the database ({})", redact_url(url)))
}

/// Creates the SQLite file readable by its owner only, before SQLite creates it with the
/// process's umask (0644 usually). SQLite gives its WAL and shared-memory files the mode of the
/// database file. An existing file is left as it is.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") || path.exists() {
        return Ok(());
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .or_else(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => Ok(()),
            _ => Err(error),
        })
        .with_context(|| format!("cannot create database file {}", path.display()))
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A service's database with the state its writers share.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite allows one writer: taking this before a write transaction keeps writers of this
    /// process from failing with SQLITE_BUSY and makes commit order equal sequence order.
    sqlite_writer: Arc<Mutex<()>>,
    /// Woken after every commit that appended events, so WatchEvents streams of this process
    /// follow without waiting for the poll interval.
    committed: Arc<Notify>,
    /// The highest outbox sequence this process committed (or found at start): a response
    /// carries it so that later decisions elsewhere can wait until they reflect it.
    last_committed: Arc<AtomicI64>,
    /// Set when the service shuts down: WatchEvents streams end, so that draining does not
    /// wait for them and their clients reconnect elsewhere.
    closing: Arc<watch::Sender<bool>>,
    service: &'static str,
}

impl Store {
    pub fn new(db: DatabaseConnection, service: &'static str) -> Self {
        Self {
            db,
            sqlite_writer: Arc::new(Mutex::new(())),
            committed: Arc::new(Notify::new()),
            last_committed: Arc::new(AtomicI64::new(0)),
            closing: Arc::new(watch::channel(false).0),
            service,
        }
    }

    /// Ends this process's WatchEvents streams (the service is shutting down).
    pub fn end_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once `end_streams` was called.
    pub async fn streams_ended(&self) {
        let mut closing = self.closing.subscribe();
        let _ = closing.wait_for(|closing| *closing).await;
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    pub(crate) fn sqlite_writer(&self) -> &Arc<Mutex<()>> {
        &self.sqlite_writer
    }

    pub fn committed(&self) -> &Arc<Notify> {
        &self.committed
    }

    /// The highest outbox sequence this process committed or found at start; a change this
    /// process acknowledged has at most this sequence.
    pub fn outbox_position(&self) -> i64 {
        self.last_committed.load(Ordering::Acquire)
    }

    /// Outbox sequences up to `sequence` are committed.
    pub fn note_committed(&self, sequence: i64) {
        self.last_committed.fetch_max(sequence, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://h/db"), "postgres://h/db");
        assert_eq!(
            super::redact_url("sqlite://.weft/c.db?mode=rwc"),
            "sqlite://.weft/c.db?mode=rwc"
        );
    }
}
