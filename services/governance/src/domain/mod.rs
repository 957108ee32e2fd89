//! Governance's domain logic: validation and the rules of each resource and decision,
//! independent of gRPC. Mutations go through the shared resource store
//! (`weft_storage::resources`), which writes the change, its outbox event and its journal record
//! in one transaction; the access index then applies the event before the mutation answers.

pub mod audit;
pub mod decisions;
pub mod grants;
pub mod policies;
pub mod principals;
pub mod row_filter;
pub mod rules;
pub mod subscriptions;

use std::sync::Arc;

use weft_runtime::ApiError;
use weft_storage::Store;

use crate::access::Subject;
use crate::decision_log::DecisionLog;
use crate::engine::Engine;

#[derive(Clone)]
pub struct Governance {
    store: Store,
    engine: Arc<Engine>,
    decision_log: Arc<DecisionLog>,
}

impl Governance {
    pub fn new(store: Store, engine: Arc<Engine>, decision_log: Arc<DecisionLog>) -> Self {
        Self {
            store,
            engine,
            decision_log,
        }
    }

    pub fn decision_log(&self) -> &DecisionLog {
        &self.decision_log
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Waits until the access index has applied every committed change (read-your-writes).
    async fn applied<T>(&self, value: T) -> Result<T, ApiError> {
        self.engine.catch_up().await?;
        Ok(value)
    }
}

/// PERMISSION_DENIED unless `subject` is an administrator.
pub fn require_admin(subject: &Subject, action: &str) -> Result<(), ApiError> {
    if subject.is_admin {
        return Ok(());
    }
    Err(ApiError::PermissionDenied(format!(
        "only administrators may {action}"
    )))
}
