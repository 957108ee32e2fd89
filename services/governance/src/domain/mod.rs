//! Governance's domain logic: validation and the rules of each resource and decision,
//! independent of gRPC. Mutations go through the shared resource store
//! (`weft_storage::resources`), which writes the change, its outbox event and its journal record
//! in one transaction; the access index then applies the event before the mutation answers.

pub mod audit;
pub mod decisions;
pub mod fulfilment;
pub mod grants;
mod parties;
pub mod policies;
pub mod principals;
pub mod row_filter;
pub mod rules;
pub mod subscriptions;

use std::sync::Arc;

use weft_proto::resource::Resource;
use weft_runtime::ApiError;
use weft_runtime::filter;
use weft_runtime::paging::PageRequest;
use weft_storage::{Store, resources};

use crate::decision_log::DecisionLog;
use crate::follow::engine::Engine;
use weft_runtime::Caller;

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
pub fn require_admin(caller: &Caller, action: &str) -> Result<(), ApiError> {
    if caller.is_admin {
        return Ok(());
    }
    Err(ApiError::PermissionDenied(format!(
        "only administrators may {action}"
    )))
}

/// The indexed column a List filter field compares.
#[derive(Clone, Copy)]
pub(crate) enum Indexed {
    Parent,
    Subject,
    /// Compared with the stored state the closure of `list_filtered` derives from the value.
    State,
}

/// One page of resources of kind `R`, filtered by `field = "value"` terms on indexed columns
/// (`fields` says which field is which column; `state` turns a state value into the stored one).
pub(crate) async fn list_filtered<R: Resource>(
    governance: &Governance,
    collection: &str,
    filter_text: &str,
    fields: &[(&str, Indexed)],
    state: impl Fn(&str) -> Result<String, ApiError>,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<R>, String), ApiError> {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let terms = filter::parse(filter_text, &names)?;
    let page = PageRequest::parse(
        page_size,
        page_token,
        &format!("{collection}?{filter_text}"),
    )?;
    let mut conditions = Vec::with_capacity(terms.len());
    for term in &terms {
        let column = fields
            .iter()
            .find(|(name, _)| *name == term.field)
            .map(|(_, column)| *column)
            .ok_or_else(|| filter::unhandled(&term.field))?;
        conditions.push(match column {
            Indexed::Parent => resources::parent_is(&term.value),
            Indexed::Subject => resources::subject_is(&term.value),
            Indexed::State => resources::state_is(&state(&term.value)?),
        });
    }
    let mut rows = resources::list::<R, _>(
        governance.store().db(),
        conditions,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(&mut rows, |row| row.name());
    Ok((rows, next))
}

/// For kinds whose List has no state filter.
pub(crate) fn no_state(_: &str) -> Result<String, ApiError> {
    Err(ApiError::invalid("filter", "this listing has no state"))
}
