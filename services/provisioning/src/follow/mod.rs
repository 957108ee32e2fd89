//! Provisioning's background work: the deployer, the fulfiller and the projections of the
//! catalog's and governance's streams that trigger it.

pub mod deployer;
pub mod fulfiller;
