//! Storage mechanisms every Weft service shares: the database connection (SQLite by default,
//! PostgreSQL by URL), the write transaction that appends to the outbox and the hash-chained
//! audit journal in the same transaction as the change, the `WatchEvents` stream over the outbox,
//! projections of another service's stream, and idempotent creates by `request_id`.

pub mod db;
pub mod entities;
pub mod idempotency;
pub mod journal;
pub mod migration;
pub mod outbox;
pub mod projection;
pub mod resource_migration;
pub mod resources;
pub mod service;
pub mod write;

pub use db::{Store, connect};
pub use write::{Change, JournalEntry, WriteTxn};
