//! The settings only one service reads, each in its own section of the configuration
//! (`[governance]`, `[lineage]`, `[provisioning]`; `WEFT_GOVERNANCE__…`, …), so that the shared
//! part stays what every process needs. Each section checks its own values and names its key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[governance]`: its audit journal of decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceConfig {
    /// Share of governance's decisions on data permissions (SELECT, INSERT, UPDATE, DELETE)
    /// recorded in its audit journal, from 0 (none) to 1 (all).
    pub decision_audit_sample_rate: f64,
    /// What governance does when its decision records come faster than its journal takes them:
    /// `wait` (the default) holds the deciding call until its records are queued, so that no
    /// record is lost (Vault's audit fails closed the same way); `drop` answers at once and
    /// counts the records it could not keep.
    pub decision_audit_when_full: AuditOverflow,
    /// Decision records governance queues for its journal's writer at most (the memory the
    /// audit may take when the journal falls behind).
    pub decision_audit_queue: usize,
}

/// See `GovernanceConfig::decision_audit_when_full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOverflow {
    Wait,
    Drop,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self {
            decision_audit_sample_rate: 1.0,
            decision_audit_when_full: AuditOverflow::Wait,
            decision_audit_queue: 65_536,
        }
    }
}

impl GovernanceConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=16 * 1024 * 1024).contains(&self.decision_audit_queue) {
            bail!("governance.decision_audit_queue: must be between 1 and 16777216 records");
        }
        if !(0.0..=1.0).contains(&self.decision_audit_sample_rate) {
            bail!("governance.decision_audit_sample_rate: must be between 0 and 1");
        }
        Ok(())
    }
}

/// `[lineage]`: how long raw events are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineageConfig {
    /// How long lineage keeps the raw OpenLineage events it ingested (the graph, runs and
    /// datasets they produced are kept for good).
    #[serde(with = "humantime_serde")]
    pub event_retention: Duration,
}

impl Default for LineageConfig {
    fn default() -> Self {
        Self {
            event_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl LineageConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.event_retention.is_zero() {
            bail!("lineage.event_retention: must be longer than zero");
        }
        Ok(())
    }
}

/// `[provisioning]`: the key its secrets are sealed with, how often grants are reconciled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisioningConfig {
    /// File holding the 32-byte key (64 hex digits) that seals the data planes' admin URLs and
    /// the generated passwords. Default: `provisioning.key` in `data_dir`, created when absent
    /// (`weft up` does so); every replica must read the same key.
    pub key_file: Option<PathBuf>,
    /// How often every consumer environment's privileges are compared with its grants and
    /// repaired, besides after every change of grants or assets.
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            reconcile_interval: Duration::from_secs(60),
        }
    }
}

impl ProvisioningConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.reconcile_interval < Duration::from_secs(1) {
            bail!("provisioning.reconcile_interval: must be at least 1s");
        }
        Ok(())
    }

    /// The key file in use.
    pub fn key_file(&self, data_dir: &Path) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("provisioning.key"))
    }
}

/// Keys of earlier releases that moved into a section: (old key, new key).
pub(super) const MOVED_KEYS: [(&str, &str); 4] = [
    (
        "decision_audit_sample_rate",
        "governance.decision_audit_sample_rate",
    ),
    (
        "decision_audit_when_full",
        "governance.decision_audit_when_full",
    ),
    ("decision_audit_queue", "governance.decision_audit_queue"),
    ("lineage_event_retention", "lineage.event_retention"),
];
