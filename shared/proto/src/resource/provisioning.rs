//! Provisioning's resource kinds.

use super::{Resource, parent_before, standard_fields};
use crate::weft::provisioning::v1::{Blueprint, Deployment, Environment};

standard_fields!(Environment; without_update_time Blueprint, Deployment);

impl Resource for Blueprint {
    const KIND: &'static str = "blueprint";
    const MESSAGE: &'static str = "weft.provisioning.v1.Blueprint";
}

impl Resource for Environment {
    const KIND: &'static str = "environment";
    const MESSAGE: &'static str = "weft.provisioning.v1.Environment";

    /// Its blueprint (a blueprint in use is not deleted).
    fn parent(&self) -> Option<String> {
        Some(self.blueprint.clone())
    }

    /// Its project (environments are listed by the caller's projects).
    fn subject(&self) -> Option<String> {
        Some(self.project.clone())
    }

    /// Its state, e.g. "ENVIRONMENT_STATE_CREATING" (the deployer picks up unfinished ones).
    fn state(&self) -> Option<String> {
        Some(self.state().as_str_name().to_string())
    }
}

impl Resource for Deployment {
    const KIND: &'static str = "deployment";
    const MESSAGE: &'static str = "weft.provisioning.v1.Deployment";

    fn parent(&self) -> Option<String> {
        parent_before(&self.name, "deployments")
    }
}
