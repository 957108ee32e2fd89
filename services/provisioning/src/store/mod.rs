//! Provisioning's storage: its migrations and its sealed secrets (blueprints, environments and
//! deployments live in the shared resource store, `weft_storage::resources`).

pub mod migrations;
pub mod secrets;
