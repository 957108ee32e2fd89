//! `weft up`: the whole suite on one machine. Each service runs as its own process
//! (`weft serve <service>`) with its own SQLite file under the data directory; the services talk
//! over mTLS with certificates from a generated dev CA; the gateway listens on 127.0.0.1:7400.
//! A service that exits is reported and restarted (with backoff); Ctrl-C stops them all.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use weft_runtime::ServiceKind;
use weft_runtime::probe::wait_serving;
use weft_runtime::tls::{DevPki, create_private_dir, write_private};

#[derive(Args)]
pub struct UpArgs {
    /// Where the SQLite files, certificates, secret, admin token and logs live.
    #[arg(long, default_value = ".weft", env = "WEFT_DATA_DIR")]
    data_dir: PathBuf,
    /// Port of the gateway; the services take the next four.
    #[arg(long, default_value_t = 7400)]
    port: u16,
    /// Seconds to wait for every service to report healthy.
    #[arg(long, default_value_t = 60)]
    startup_timeout: u64,
}

/// Admin token lifetime.
const ADMIN_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a stopping service gets before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

struct Supervised {
    kind: ServiceKind,
    port: u16,
    child: Option<Child>,
    restarts: u32,
    next_start: Option<Instant>,
    started_at: Instant,
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = args.data_dir.clone();
    create_private_dir(&data_dir)?;
    create_private_dir(&data_dir.join("logs"))?;
    let secret_file = ensure_secret(&data_dir)?;
    ensure_provisioning_key(&data_dir)?;
    let pki = DevPki::ensure(&data_dir.join("tls"))?;
    let secret = std::fs::read_to_string(&secret_file)?;
    let admin_token = weft_runtime::auth::issue_hs256_token(
        secret.trim().as_bytes(),
        "users/admin",
        &["weft-admins".to_string()],
        ADMIN_TOKEN_TTL,
    )?;
    let token_file = data_dir.join("admin.token");
    write_private(&token_file, admin_token.as_bytes())?;

    let ports: Vec<(ServiceKind, u16)> = ServiceKind::ALL
        .iter()
        .enumerate()
        .map(|(offset, kind)| (*kind, args.port + offset as u16))
        .collect();
    for (kind, port) in &ports {
        if std::net::TcpListener::bind(("127.0.0.1", *port)).is_err() {
            bail!(
                "port {port} (for {kind}) is in use: is another `weft up` running? (use --port to move)"
            );
        }
    }

    let mut services: Vec<Supervised> = ports
        .iter()
        .map(|(kind, port)| Supervised {
            kind: *kind,
            port: *port,
            child: None,
            restarts: 0,
            next_start: Some(Instant::now()),
            started_at: Instant::now(),
        })
        .collect();
    // Backends first, so the gateway finds them.
    services.sort_by_key(|s| s.kind == ServiceKind::Gateway);
    for service in &mut services {
        start(service, &data_dir, &secret_file, &pki, &ports)?;
    }

    let gateway_port = args.port;
    let healthy = wait_healthy(
        gateway_port,
        Duration::from_secs(args.startup_timeout),
        &mut services,
    )
    .await;
    if let Err(error) = healthy {
        stop_all(&mut services).await;
        return Err(error.context(format!(
            "see the logs in {}",
            data_dir.join("logs").display()
        )));
    }
    print_summary(&services, &data_dir, &token_file, started.elapsed());

    let mut shutdown = std::pin::pin!(weft_runtime::server::shutdown_signal());
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = tick.tick() => supervise(&mut services, &data_dir, &secret_file, &pki, &ports)?,
        }
    }
    println!("stopping…");
    stop_all(&mut services).await;
    println!("all services stopped");
    Ok(())
}

fn ensure_secret(data_dir: &Path) -> anyhow::Result<PathBuf> {
    ensure_random_key(&data_dir.join("jwt.secret"))
}

/// The key provisioning seals data-plane credentials with (32 random bytes, hex).
fn ensure_provisioning_key(data_dir: &Path) -> anyhow::Result<PathBuf> {
    ensure_random_key(&data_dir.join("provisioning.key"))
}

/// A file of 32 random bytes as 64 hex digits, readable by its owner only; kept once made.
fn ensure_random_key(file: &Path) -> anyhow::Result<PathBuf> {
    if !file.exists() {
        let secret: [u8; 32] = rand::random();
        let encoded: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        write_private(file, encoded.as_bytes())?;
    }
    Ok(file.to_path_buf())
}

fn start(
    service: &mut Supervised,
    data_dir: &Path,
    secret_file: &Path,
    pki: &DevPki,
    ports: &[(ServiceKind, u16)],
) -> anyhow::Result<()> {
    let kind = service.kind;
    let log_path = data_dir.join("logs").join(format!("{kind}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("serve")
        .arg(kind.as_str())
        // Each service gets its own SQLite file under the data dir, whatever this shell sets.
        .env_remove("WEFT_CONFIG")
        .env_remove("WEFT_DATABASE_URL")
        .env("WEFT_LISTEN_ADDR", format!("127.0.0.1:{}", service.port))
        .env("WEFT_DATA_DIR", data_dir)
        .env("WEFT_AUTH__HS256_SECRET_FILE", secret_file)
        .env("WEFT_CLIENT_TLS__CERT_FILE", pki.cert_file(kind))
        .env("WEFT_CLIENT_TLS__KEY_FILE", pki.key_file(kind))
        .env("WEFT_CLIENT_TLS__CA_FILE", pki.ca_file())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    if kind == ServiceKind::Provisioning {
        command.env(
            "WEFT_PROVISIONING__KEY_FILE",
            data_dir.join("provisioning.key"),
        );
    }
    if kind != ServiceKind::Gateway {
        // Backends accept only mTLS; the gateway's public port stays plaintext on loopback.
        command
            .env("WEFT_TLS__CERT_FILE", pki.cert_file(kind))
            .env("WEFT_TLS__KEY_FILE", pki.key_file(kind))
            .env("WEFT_TLS__CA_FILE", pki.ca_file());
    }
    for (backend, port) in ports {
        if *backend != ServiceKind::Gateway {
            command.env(
                format!("WEFT_BACKENDS__{}", backend.as_str().to_uppercase()),
                format!("https://127.0.0.1:{port}"),
            );
        }
    }
    service.child = Some(
        command
            .spawn()
            .with_context(|| format!("cannot start {kind}"))?,
    );
    service.started_at = Instant::now();
    service.next_start = None;
    Ok(())
}

async fn wait_healthy(
    gateway_port: u16,
    timeout: Duration,
    services: &mut [Supervised],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{gateway_port}"))?
            .connect_lazy();
    let names: Vec<&str> = ServiceKind::ALL
        .iter()
        .map(|k| k.public_service_name())
        .collect();
    loop {
        for service in services.iter_mut() {
            if let Some(child) = service.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("{} exited during start-up ({status})", service.kind);
            }
        }
        let pending = wait_serving(channel.clone(), &names, Duration::from_millis(250)).await;
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "not healthy after {}s: {}",
                timeout.as_secs(),
                pending.join(", ")
            );
        }
    }
}

fn supervise(
    services: &mut [Supervised],
    data_dir: &Path,
    secret_file: &Path,
    pki: &DevPki,
    ports: &[(ServiceKind, u16)],
) -> anyhow::Result<()> {
    for service in services.iter_mut() {
        if let Some(child) = service.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            service.child = None;
            // A service that ran for a while restarts at once; one that keeps crashing backs off.
            if service.started_at.elapsed() > Duration::from_secs(60) {
                service.restarts = 0;
            }
            let backoff = Duration::from_secs(1 << service.restarts.min(5));
            service.restarts += 1;
            eprintln!(
                "weft: {} exited ({status}); restarting in {}s (see {})",
                service.kind,
                backoff.as_secs(),
                data_dir
                    .join("logs")
                    .join(format!("{}.log", service.kind))
                    .display()
            );
            service.next_start = Some(Instant::now() + backoff);
        }
        if service.child.is_none() && service.next_start.is_some_and(|at| Instant::now() >= at) {
            start(service, data_dir, secret_file, pki, ports)?;
            eprintln!("weft: {} restarted (pid {})", service.kind, pid_of(service));
        }
    }
    Ok(())
}

fn pid_of(service: &Supervised) -> String {
    service
        .child
        .as_ref()
        .and_then(Child::id)
        .map_or_else(|| "-".to_string(), |pid| pid.to_string())
}

/// SIGTERM to every service (they drain), then SIGKILL to any still running after the timeout.
async fn stop_all(services: &mut [Supervised]) {
    for service in services.iter() {
        if let Some(pid) = service.child.as_ref().and_then(Child::id) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    for service in services.iter_mut() {
        if let Some(child) = service.child.as_mut()
            && tokio::time::timeout(STOP_TIMEOUT, child.wait())
                .await
                .is_err()
        {
            eprintln!("weft: {} did not stop in time; killing it", service.kind);
            let _ = child.kill().await;
        }
        service.child = None;
    }
}

fn print_summary(services: &[Supervised], data_dir: &Path, token_file: &Path, elapsed: Duration) {
    println!(
        "Weft is up in {:.1}s. Services (each its own process and SQLite database):",
        elapsed.as_secs_f64()
    );
    for service in services {
        let role = if service.kind == ServiceKind::Gateway {
            "public endpoint, plaintext"
        } else {
            "internal, mTLS"
        };
        println!(
            "  {:<13} 127.0.0.1:{:<5} pid {:<7} {}",
            service.kind.as_str(),
            service.port,
            pid_of(service),
            role
        );
    }
    let gateway = services
        .iter()
        .find(|s| s.kind == ServiceKind::Gateway)
        .map_or(7400, |s| s.port);
    println!();
    println!("  data:        {}", data_dir.display());
    println!("  logs:        {}", data_dir.join("logs").display());
    println!("  admin token: {}", token_file.display());
    println!();
    println!("Try it:");
    println!("  grpcurl -plaintext 127.0.0.1:{gateway} list");
    println!("  TOKEN=$(cat {})", token_file.display());
    println!(
        "  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{\"domain_id\":\"sales\",\"domain\":{{\"display_name\":\"Sales\"}}}}' 127.0.0.1:{gateway} weft.catalog.v1.CatalogService/CreateDomain"
    );
    println!();
    println!("Press Ctrl-C to stop.");
}
