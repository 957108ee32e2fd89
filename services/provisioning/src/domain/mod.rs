//! Provisioning's rules: blueprints, environments of projects made from them, their
//! deployments and credentials. Governance is reached only through `Memberships` (who belongs
//! to which project); the data plane through `crate::dataplane`.

pub mod blueprints;
pub mod credentials;
pub mod deployments;
pub mod desired;
mod drift;
pub mod environments;
pub mod fulfilment;
mod fulfilment_listing;
pub mod introspection;
mod members;
pub mod parameters;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use weft_access_checks::{GrantFulfilment, Memberships};
use weft_storage::Store;

use crate::dataplane::pools::Pools;
use crate::sealing::Sealer;
use desired::{Applied, Changes};

/// Provisioning, as the gRPC adapter and the deployer see it.
#[derive(Clone)]
pub struct Provisioning {
    store: Store,
    memberships: Arc<dyn Memberships>,
    fulfilment: Arc<dyn GrantFulfilment>,
    sealer: Arc<Sealer>,
    /// Wakes the deployer when an environment has work to do.
    deployer: Arc<Notify>,
    /// Changes of what is granted, or where: they wake the fulfiller.
    fulfiller: Arc<Changes>,
    /// Connections to the data planes, kept between rounds.
    planes: Arc<Pools>,
    /// What fulfilment last applied per environment (drift is measured against it).
    applied: Arc<Mutex<HashMap<String, Applied>>>,
}

impl Provisioning {
    pub fn new(
        store: Store,
        memberships: Arc<dyn Memberships>,
        fulfilment: Arc<dyn GrantFulfilment>,
        sealer: Arc<Sealer>,
    ) -> Self {
        Self {
            store,
            memberships,
            fulfilment,
            sealer,
            deployer: Arc::new(Notify::new()),
            fulfiller: Arc::default(),
            planes: Arc::default(),
            applied: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// What the deployer waits on.
    pub fn deployer_wake(&self) -> Arc<Notify> {
        self.deployer.clone()
    }
}
