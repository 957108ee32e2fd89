//! Starts the real Weft services for tests, in this process, on pre-bound `127.0.0.1:0`
//! listeners (no port races), each with its own database: a SQLite file in a temp dir, or a fresh
//! PostgreSQL database per service when `WEFT_TEST_POSTGRES_URL` is set. The backends use mTLS
//! with a generated dev CA, exactly as `weft up` runs them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database as SeaDatabase, Statement};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint};
use weft_runtime::tls::DevPki;
use weft_runtime::{ServiceConfig, ServiceKind};

/// The environment variable naming a PostgreSQL server for tests (a URL to an existing
/// database, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
pub const POSTGRES_ENV: &str = "WEFT_TEST_POSTGRES_URL";

/// Which database the services of a test suite use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite => f.write_str("sqlite"),
            Backend::Postgres(_) => f.write_str("postgres"),
        }
    }
}

/// SQLite always; PostgreSQL too when `WEFT_TEST_POSTGRES_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var(POSTGRES_ENV)
        && !url.is_empty()
    {
        backends.push(Backend::Postgres(url));
    }
    backends
}

/// A fresh, empty database URL for one service of one test.
pub async fn fresh_database(
    backend: &Backend,
    dir: &std::path::Path,
    name: &str,
) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.db")).display()
        )),
        Backend::Postgres(admin_url) => {
            let database = format!("weft_test_{}_{name}", uuid::Uuid::new_v4().simple());
            let admin = SeaDatabase::connect(admin_url.as_str()).await?;
            admin
                .execute(Statement::from_string(
                    admin.get_database_backend(),
                    format!("CREATE DATABASE \"{database}\""),
                ))
                .await?;
            admin.close().await?;
            let (base, _) = admin_url
                .rsplit_once('/')
                .unwrap_or((admin_url.as_str(), ""));
            Ok(format!("{base}/{database}"))
        }
    }
}

/// Drops the databases a Postgres suite created (best effort).
async fn drop_databases(backend: &Backend, urls: &[String]) {
    let Backend::Postgres(admin_url) = backend else {
        return;
    };
    let Ok(admin) = SeaDatabase::connect(admin_url.as_str()).await else {
        return;
    };
    for url in urls {
        if let Some((_, database)) = url.rsplit_once('/') {
            let _ = admin
                .execute(Statement::from_string(
                    admin.get_database_backend(),
                    format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
                ))
                .await;
        }
    }
    let _ = admin.close().await;
}

/// One running service: its stop signal and its task.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn spawn(kind: ServiceKind, config: ServiceConfig, listener: TcpListener) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let task = tokio::spawn(weft_services::serve(kind, config, listener, shutdown));
        Self { stop, task }
    }

    /// Stops the service gracefully and waits for it.
    async fn stop(self, kind: ServiceKind) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => anyhow::bail!("{kind} failed: {error:#}"),
            Ok(Err(error)) => anyhow::bail!("{kind} panicked: {error}"),
            Err(_) => anyhow::bail!("{kind} did not stop within 10s"),
        }
    }
}

/// A running suite of all five services.
pub struct TestSuite {
    pub backend: Backend,
    pub addresses: HashMap<ServiceKind, SocketAddr>,
    pub database_urls: HashMap<ServiceKind, String>,
    pub pki: DevPki,
    secret: String,
    dir: tempfile::TempDir,
    configs: HashMap<ServiceKind, ServiceConfig>,
    running: HashMap<ServiceKind, Running>,
}

/// Start order: backends first; the gateway connects lazily anyway.
const START_ORDER: [ServiceKind; 5] = [
    ServiceKind::Catalog,
    ServiceKind::Governance,
    ServiceKind::Provisioning,
    ServiceKind::Lineage,
    ServiceKind::Gateway,
];

impl TestSuite {
    /// Starts gateway, catalog, governance, provisioning and lineage and waits until the gateway
    /// reports every public service SERVING.
    pub async fn start(backend: Backend) -> anyhow::Result<Self> {
        Self::start_with(backend, |_, _| {}).await
    }

    /// Like `start`, letting the test adjust each service's configuration.
    pub async fn start_with(
        backend: Backend,
        adjust: impl Fn(ServiceKind, &mut ServiceConfig),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let pki = DevPki::ensure(&dir.path().join("tls"))?;
        let secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
        let mut listeners = HashMap::new();
        let mut addresses = HashMap::new();
        for kind in ServiceKind::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            addresses.insert(kind, listener.local_addr()?);
            listeners.insert(kind, listener);
        }
        let mut database_urls = HashMap::new();
        for kind in ServiceKind::BACKENDS {
            database_urls.insert(
                kind,
                fresh_database(&backend, dir.path(), kind.as_str()).await?,
            );
        }
        let mut configs = HashMap::new();
        let mut running = HashMap::new();
        for kind in START_ORDER {
            let mut config = ServiceConfig::defaults(kind);
            config.listen_addr = addresses[&kind];
            config.data_dir = dir.path().to_path_buf();
            config.database_url = database_urls.get(&kind).cloned();
            config.auth.hs256_secret = Some(secret.clone());
            config.shutdown_grace = Duration::from_secs(2);
            config.client_tls = pki.tls_config(kind);
            if kind != ServiceKind::Gateway {
                config.tls = pki.tls_config(kind);
            }
            for backend_kind in ServiceKind::BACKENDS {
                let url = format!("https://{}", addresses[&backend_kind]);
                config.backends.set_url(backend_kind, url);
            }
            adjust(kind, &mut config);
            config.validate()?;
            let listener = listeners.remove(&kind).expect("a listener per service");
            running.insert(kind, Running::spawn(kind, config.clone(), listener));
            configs.insert(kind, config);
        }
        let suite = TestSuite {
            backend,
            addresses,
            database_urls,
            pki,
            secret,
            dir,
            configs,
            running,
        };
        let names: Vec<&str> = ServiceKind::ALL
            .iter()
            .map(|k| k.public_service_name())
            .collect();
        if let Err(error) = suite.wait_serving(&names).await {
            for (kind, running) in &suite.running {
                if running.task.is_finished() {
                    anyhow::bail!("{kind} stopped during start-up");
                }
            }
            return Err(error);
        }
        Ok(suite)
    }

    /// Waits until the gateway reports these services SERVING.
    async fn wait_serving(&self, names: &[&str]) -> anyhow::Result<()> {
        let pending = weft_runtime::probe::wait_serving(
            self.gateway_channel(),
            names,
            Duration::from_secs(30),
        )
        .await;
        if !pending.is_empty() {
            anyhow::bail!("not serving after 30s: {}", pending.join(", "));
        }
        Ok(())
    }

    /// Stops one service gracefully (the others keep running), e.g. to test a restart.
    pub async fn stop_service(&mut self, kind: ServiceKind) -> anyhow::Result<()> {
        match self.running.remove(&kind) {
            Some(running) => running.stop(kind).await,
            None => anyhow::bail!("{kind} is not running"),
        }
    }

    /// Starts a stopped service again on its address, with its configuration and database, and
    /// waits until the gateway reports it SERVING.
    pub async fn start_service(&mut self, kind: ServiceKind) -> anyhow::Result<()> {
        if self.running.contains_key(&kind) {
            anyhow::bail!("{kind} is running");
        }
        let address = self.addresses[&kind];
        // The old listener's socket may linger for a moment.
        let mut attempt = 0;
        let listener = loop {
            match TcpListener::bind(address).await {
                Ok(listener) => break listener,
                Err(_) if attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error.into()),
            }
        };
        let config = self.configs[&kind].clone();
        self.running
            .insert(kind, Running::spawn(kind, config, listener));
        self.wait_serving(&[kind.public_service_name()]).await
    }

    pub fn gateway_address(&self) -> SocketAddr {
        self.addresses[&ServiceKind::Gateway]
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A channel to the gateway (plaintext, as clients reach it on loopback).
    pub fn gateway_channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.gateway_address()))
            .expect("valid address")
            .connect_lazy()
    }

    /// A channel straight to a backend over TLS, presenting `identity`'s certificate if given.
    pub fn backend_channel(
        &self,
        kind: ServiceKind,
        identity: Option<ServiceKind>,
    ) -> anyhow::Result<Channel> {
        let tls = match identity {
            Some(identity) => {
                weft_runtime::tls::client_tls_config(&self.pki.tls_config(identity), kind)?
                    .expect("the PKI has a certificate per service")
            }
            None => tonic::transport::ClientTlsConfig::new()
                .domain_name(kind.tls_name())
                .ca_certificate(tonic::transport::Certificate::from_pem(std::fs::read(
                    self.pki.ca_file(),
                )?)),
        };
        Ok(
            Endpoint::from_shared(format!("https://{}", self.addresses[&kind]))?
                .tls_config(tls)?
                .connect_lazy(),
        )
    }

    /// A token for `subject` with `groups`, signed with the suite's secret.
    pub fn token(&self, subject: &str, groups: &[&str]) -> String {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        weft_runtime::auth::issue_hs256_token(
            self.secret.as_bytes(),
            subject,
            &groups,
            Duration::from_secs(3600),
        )
        .expect("token")
    }

    /// A token of a pipeline allowed to send lineage (a member of the default
    /// `auth.lineage_producer_group`).
    pub fn lineage_producer_token(&self, subject: &str) -> String {
        self.token(subject, &["weft-lineage-producers"])
    }

    /// A token of a Weft administrator.
    pub fn admin_token(&self) -> String {
        self.token("users/admin", &["weft-admins"])
    }

    /// Stops every service gracefully and drops the test databases.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for running in self.running.values() {
            let _ = running.stop.send(true);
        }
        for kind in START_ORDER {
            if let Some(running) = self.running.remove(&kind) {
                running.stop(kind).await?;
            }
        }
        let urls: Vec<String> = self.database_urls.values().cloned().collect();
        drop_databases(&self.backend, &urls).await;
        Ok(())
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(pub String);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let value: MetadataValue<_> = format!("Bearer {}", self.0)
            .parse()
            .map_err(|_| tonic::Status::internal("bad token"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}
