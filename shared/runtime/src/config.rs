//! Layered configuration of every Weft process: defaults → TOML file → `WEFT_*` environment
//! variables (nested keys with `__`, e.g. `WEFT_TLS__CERT_FILE`), then validated so that a bad
//! value stops the process with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

mod sections;

pub use sections::{AuditOverflow, GovernanceConfig, LineageConfig, ProvisioningConfig};

/// The five Weft services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Gateway,
    Catalog,
    Governance,
    Provisioning,
    Lineage,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 5] = [
        ServiceKind::Gateway,
        ServiceKind::Catalog,
        ServiceKind::Governance,
        ServiceKind::Provisioning,
        ServiceKind::Lineage,
    ];
    pub const BACKENDS: [ServiceKind; 4] = [
        ServiceKind::Catalog,
        ServiceKind::Governance,
        ServiceKind::Provisioning,
        ServiceKind::Lineage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Gateway => "gateway",
            ServiceKind::Catalog => "catalog",
            ServiceKind::Governance => "governance",
            ServiceKind::Provisioning => "provisioning",
            ServiceKind::Lineage => "lineage",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Port `weft up` gives the service on loopback.
    pub fn default_port(self) -> u16 {
        match self {
            ServiceKind::Gateway => 7400,
            ServiceKind::Catalog => 7401,
            ServiceKind::Governance => 7402,
            ServiceKind::Provisioning => 7403,
            ServiceKind::Lineage => 7404,
        }
    }

    /// The service's public gRPC service name (the gateway's own for the gateway).
    pub fn public_service_name(self) -> &'static str {
        match self {
            ServiceKind::Gateway => "weft.gateway.v1.PortalService",
            ServiceKind::Catalog => "weft.catalog.v1.CatalogService",
            ServiceKind::Governance => "weft.governance.v1.GovernanceService",
            ServiceKind::Provisioning => "weft.provisioning.v1.ProvisioningService",
            ServiceKind::Lineage => "weft.lineage.v1.LineageService",
        }
    }

    /// The service's internal gRPC service name (none for the gateway).
    pub fn internal_service_name(self) -> Option<&'static str> {
        match self {
            ServiceKind::Gateway => None,
            ServiceKind::Catalog => Some("weft.catalog.v1.CatalogInternalService"),
            ServiceKind::Governance => Some("weft.governance.v1.GovernanceInternalService"),
            ServiceKind::Provisioning => Some("weft.provisioning.v1.ProvisioningInternalService"),
            ServiceKind::Lineage => Some("weft.lineage.v1.LineageInternalService"),
        }
    }

    /// DNS name in the service's certificate, which identifies it to the other services.
    pub fn tls_name(self) -> String {
        format!("{}.weft.internal", self.as_str())
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Server certificate and key, and the CA that client certificates must chain to (mTLS).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
}

impl TlsConfig {
    pub fn is_enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

/// How bearer tokens are verified. The secret itself never appears in logs (see `Debug`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// File holding the HS256 secret (dev mode; `weft up` writes one).
    pub hs256_secret_file: Option<PathBuf>,
    /// The HS256 secret itself (prefer the file).
    pub hs256_secret: Option<String>,
    /// JWKS file with RS256 / ES256 public keys (production).
    pub jwks_file: Option<PathBuf>,
    /// Required `iss` claim, if set.
    pub issuer: Option<String>,
    /// Required `aud` claim, if set.
    pub audience: Option<String>,
    /// Members of this group are Weft administrators.
    pub admin_group: String,
    /// Members of this group may send OpenLineage events (as administrators may).
    pub lineage_producer_group: String,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("hs256_secret_file", &self.hs256_secret_file)
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwks_file", &self.jwks_file)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("admin_group", &self.admin_group)
            .field("lineage_producer_group", &self.lineage_producer_group)
            .finish()
    }
}

/// Where the backends are, for the gateway (and for services calling each other).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendUrls {
    pub catalog: String,
    pub governance: String,
    pub provisioning: String,
    pub lineage: String,
}

impl BackendUrls {
    pub fn url(&self, kind: ServiceKind) -> Option<&str> {
        match kind {
            ServiceKind::Catalog => Some(&self.catalog),
            ServiceKind::Governance => Some(&self.governance),
            ServiceKind::Provisioning => Some(&self.provisioning),
            ServiceKind::Lineage => Some(&self.lineage),
            ServiceKind::Gateway => None,
        }
    }

    /// Sets where backend `kind` is (the gateway is no backend: nothing to set).
    pub fn set_url(&mut self, kind: ServiceKind, url: String) {
        match kind {
            ServiceKind::Catalog => self.catalog = url,
            ServiceKind::Governance => self.governance = url,
            ServiceKind::Provisioning => self.provisioning = url,
            ServiceKind::Lineage => self.lineage = url,
            ServiceKind::Gateway => {}
        }
    }
}

/// Configuration of one Weft process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address to listen on.
    pub listen_addr: SocketAddr,
    /// Directory for the SQLite file and other local state.
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://…`. Default: a SQLite file in
    /// `data_dir` named after the service.
    pub database_url: Option<String>,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// tracing filter, e.g. `info` or `weft_catalog=debug,info`.
    pub log_level: String,
    /// Deadline of a request that sets none itself.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Requests served at once; beyond it, requests are shed with RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    /// Largest request message accepted.
    pub max_message_bytes: usize,
    /// How long in-flight requests may run after a shutdown signal.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Health and reflection answer without a token (they carry no data).
    pub open_health_and_reflection: bool,
    /// Server certificate, key and client CA (mTLS) of this process's own port.
    pub tls: TlsConfig,
    /// Certificate this process presents when it calls another Weft service, and the CA it
    /// trusts for them (mTLS between services).
    pub client_tls: TlsConfig,
    pub auth: AuthConfig,
    pub backends: BackendUrls,
    /// `[governance]`: settings only governance reads.
    pub governance: GovernanceConfig,
    /// `[lineage]`: settings only lineage reads.
    pub lineage: LineageConfig,
    /// `[provisioning]`: settings only provisioning reads.
    pub provisioning: ProvisioningConfig,
}

impl ServiceConfig {
    /// Built-in defaults for a service, as `weft up` runs it.
    pub fn defaults(kind: ServiceKind) -> Self {
        let backend = |k: ServiceKind| format!("http://127.0.0.1:{}", k.default_port());
        ServiceConfig {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], kind.default_port())),
            data_dir: PathBuf::from(".weft"),
            database_url: None,
            log_format: LogFormat::Pretty,
            log_level: "info".to_string(),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 1024,
            max_message_bytes: 4 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(10),
            open_health_and_reflection: true,
            tls: TlsConfig::default(),
            client_tls: TlsConfig::default(),
            auth: AuthConfig {
                admin_group: "weft-admins".to_string(),
                lineage_producer_group: "weft-lineage-producers".to_string(),
                ..AuthConfig::default()
            },
            backends: BackendUrls {
                catalog: backend(ServiceKind::Catalog),
                governance: backend(ServiceKind::Governance),
                provisioning: backend(ServiceKind::Provisioning),
                lineage: backend(ServiceKind::Lineage),
            },
            governance: GovernanceConfig::default(),
            lineage: LineageConfig::default(),
            provisioning: ProvisioningConfig::default(),
        }
    }

    /// Loads defaults, then the TOML file if given, then `WEFT_*` variables, and validates.
    pub fn load(kind: ServiceKind, file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Self::defaults(kind)));
        if let Some(file) = file {
            if !file.exists() {
                bail!("config file {} does not exist", file.display());
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(
            Env::prefixed("WEFT_")
                // WEFT_CONFIG names the file; WEFT_TEST_* configure the test suite.
                .filter(|key| {
                    key != "config" && !key.as_str().to_ascii_lowercase().starts_with("test_")
                })
                .split("__"),
        );
        for (old, new) in sections::MOVED_KEYS {
            if figment.contains(old) {
                let env = format!("WEFT_{}", new.replace('.', "__").to_ascii_uppercase());
                bail!("{old}: this setting moved; set {new} (or {env}) instead");
            }
        }
        let config: ServiceConfig = figment
            .extract()
            .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        config.validate()?;
        Ok(config)
    }

    /// The database URL in use.
    pub fn database_url(&self, kind: ServiceKind) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{kind}.db")).display()
            ),
        }
    }

    /// Checks every value and names the key of the first bad one.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            bail!("database_url: must start with sqlite:, postgres:// or postgresql://");
        }
        if self.request_timeout.is_zero() {
            bail!("request_timeout: must be more than zero");
        }
        if self.max_concurrent_requests == 0 {
            bail!("max_concurrent_requests: must be at least 1");
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_message_bytes) {
            bail!("max_message_bytes: must be between 1 KiB and 64 MiB");
        }
        if self.log_level.trim().is_empty() {
            bail!("log_level: must not be empty");
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            bail!("tls: cert_file and key_file must be set together");
        }
        if self.tls.ca_file.is_some() && !self.tls.is_enabled() {
            bail!("tls.ca_file: needs tls.cert_file and tls.key_file");
        }
        if self.client_tls.cert_file.is_some() != self.client_tls.key_file.is_some() {
            bail!("client_tls: cert_file and key_file must be set together");
        }
        for (key, file) in [
            ("tls.cert_file", &self.tls.cert_file),
            ("tls.key_file", &self.tls.key_file),
            ("tls.ca_file", &self.tls.ca_file),
            ("client_tls.cert_file", &self.client_tls.cert_file),
            ("client_tls.key_file", &self.client_tls.key_file),
            ("client_tls.ca_file", &self.client_tls.ca_file),
            ("auth.hs256_secret_file", &self.auth.hs256_secret_file),
            ("auth.jwks_file", &self.auth.jwks_file),
        ] {
            if let Some(file) = file
                && !file.exists()
            {
                bail!("{key}: {} does not exist", file.display());
            }
        }
        if self.auth.hs256_secret.is_none()
            && self.auth.hs256_secret_file.is_none()
            && self.auth.jwks_file.is_none()
        {
            bail!(
                "auth: set auth.hs256_secret_file (or WEFT_AUTH__HS256_SECRET_FILE) or auth.jwks_file; \
                 without a way to verify tokens every call would be refused"
            );
        }
        if let Some(secret) = &self.auth.hs256_secret
            && secret.len() < 32
        {
            bail!("auth.hs256_secret: must be at least 32 bytes");
        }
        if self.auth.admin_group.trim().is_empty() {
            bail!("auth.admin_group: must not be empty");
        }
        if self.auth.lineage_producer_group.trim().is_empty() {
            bail!("auth.lineage_producer_group: must not be empty");
        }
        self.governance.validate()?;
        self.lineage.validate()?;
        self.provisioning.validate()?;
        for kind in ServiceKind::BACKENDS {
            let url = self.backends.url(kind).unwrap_or_default();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("backends.{kind}: must be an http:// or https:// URL");
            }
        }
        Ok(())
    }
}

/// Reads the file a setting points at, naming the setting in the error.
pub fn read_file(key: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{key}: cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_secret(mut config: ServiceConfig) -> ServiceConfig {
        config.auth.hs256_secret = Some("x".repeat(32));
        config
    }

    #[test]
    fn defaults_need_a_token_verifier() {
        let error = ServiceConfig::defaults(ServiceKind::Catalog)
            .validate()
            .unwrap_err();
        assert!(error.to_string().starts_with("auth:"), "{error}");
        with_secret(ServiceConfig::defaults(ServiceKind::Catalog))
            .validate()
            .unwrap();
    }

    #[test]
    fn toml_file_overrides_defaults_and_bad_values_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weft.toml");
        std::fs::write(
            &file,
            "listen_addr = \"127.0.0.1:9999\"\nrequest_timeout = \"5s\"\n[auth]\nhs256_secret = \"0123456789abcdef0123456789abcdef\"\n",
        )
        .unwrap();
        let config = ServiceConfig::load(ServiceKind::Catalog, Some(&file)).unwrap();
        assert_eq!(config.listen_addr.port(), 9999);
        assert_eq!(config.request_timeout, Duration::from_secs(5));

        std::fs::write(
            &file,
            "max_message_bytes = 10\n[auth]\nhs256_secret = \"0123456789abcdef0123456789abcdef\"\n",
        )
        .unwrap();
        let error = ServiceConfig::load(ServiceKind::Catalog, Some(&file)).unwrap_err();
        assert!(error.to_string().contains("max_message_bytes"), "{error}");

        std::fs::write(&file, "listen_adr = \"127.0.0.1:1\"\n").unwrap();
        let error = ServiceConfig::load(ServiceKind::Catalog, Some(&file)).unwrap_err();
        assert!(error.to_string().contains("listen_adr"), "{error}");
    }

    #[test]
    fn the_audit_queue_holds_at_least_one_record_and_a_bounded_number() {
        for (queue, valid) in [(0, false), (1, true), (65_536, true), (1 << 30, false)] {
            let mut config = with_secret(ServiceConfig::defaults(ServiceKind::Governance));
            config.governance.decision_audit_queue = queue;
            match config.validate() {
                Ok(()) => assert!(valid, "{queue} accepted"),
                Err(error) => {
                    assert!(!valid, "{queue}: {error}");
                    assert!(
                        error
                            .to_string()
                            .starts_with("governance.decision_audit_queue:")
                    );
                }
            }
        }
    }

    #[test]
    fn sections_are_read_from_the_file_and_moved_keys_say_where_they_went() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weft.toml");
        let secret = "[auth]\nhs256_secret = \"0123456789abcdef0123456789abcdef\"\n";
        std::fs::write(
            &file,
            format!(
                "[governance]\ndecision_audit_queue = 7\n[lineage]\nevent_retention = \"2days\"\n{secret}"
            ),
        )
        .unwrap();
        let config = ServiceConfig::load(ServiceKind::Governance, Some(&file)).unwrap();
        assert_eq!(config.governance.decision_audit_queue, 7);
        assert_eq!(
            config.lineage.event_retention,
            Duration::from_secs(2 * 24 * 3600)
        );

        std::fs::write(
            &file,
            format!("lineage_event_retention = \"2days\"\n{secret}"),
        )
        .unwrap();
        let error = ServiceConfig::load(ServiceKind::Lineage, Some(&file))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("lineage_event_retention: this setting moved; set lineage.event_retention (or WEFT_LINEAGE__EVENT_RETENTION)"),
            "{error}"
        );

        std::fs::write(
            &file,
            format!("[lineage]\nevent_retention = \"0s\"\n{secret}"),
        )
        .unwrap();
        let error = ServiceConfig::load(ServiceKind::Lineage, Some(&file)).unwrap_err();
        assert!(
            error.to_string().starts_with("lineage.event_retention:"),
            "{error}"
        );
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let config = with_secret(ServiceConfig::defaults(ServiceKind::Gateway));
        assert!(!format!("{config:?}").contains(&"x".repeat(32)));
    }
}
