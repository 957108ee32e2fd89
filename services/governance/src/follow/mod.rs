//! Governance's background followers: the access index kept current from governance's own
//! outbox and the catalog's stream (`engine`).

pub mod engine;
