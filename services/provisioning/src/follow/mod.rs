//! Provisioning's background work: the deployer.

pub mod deployer;
