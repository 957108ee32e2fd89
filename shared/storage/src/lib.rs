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
pub use resources::Condition;
pub use write::{Change, JournalEntry, WriteTxn};

/// A connection or open transaction of the store, as the domains' reference checks take it
/// (they read inside the write transaction the store hands them). Domains name this trait, not
/// sea-orm's.
pub trait Conn: sea_orm::ConnectionTrait + Sync {}

impl<C: sea_orm::ConnectionTrait + Sync> Conn for C {}
