//! Provisioning's storage: its migrations, its sealed secrets and its grants' fulfilments (blueprints, environments and
//! deployments live in the shared resource store, `weft_storage::resources`).

pub mod fulfilments;
pub mod migrations;
pub mod secrets;
