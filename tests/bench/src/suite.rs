//! The Weft suite as users run it: `weft up` from the release build, separate processes, so that
//! the catalog's own resident memory can be read.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct RunningSuite {
    child: Child,
    pub gateway: String,
    pub catalog_pid: u32,
    /// Process id of every service, by name ("catalog", "governance"…).
    pub pids: std::collections::HashMap<String, u32>,
    pub admin_token: String,
    /// How long `weft up` took until every service reported SERVING.
    pub startup: Duration,
}

/// The `weft` binary next to this one (both built by `cargo build --release -p weft -p weft-bench`).
pub fn weft_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let weft = match explicit {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("weft"),
    };
    if !weft.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p weft -p weft-bench`",
            weft.display()
        );
    }
    Ok(weft)
}

impl RunningSuite {
    pub async fn start(weft: &Path, data_dir: &Path, port: u16) -> anyhow::Result<Self> {
        Self::start_with_env(weft, data_dir, port, &[]).await
    }

    /// Like `start`, with environment variables for the services (e.g. a setting).
    pub async fn start_with_env(
        weft: &Path,
        data_dir: &Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut child = Command::new(weft)
            .arg("up")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--port")
            .arg(port.to_string())
            .arg("--startup-timeout")
            .arg("3600")
            .env_remove("WEFT_DATABASE_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting weft up")?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut pids = std::collections::HashMap::new();
        while let Some(line) = lines.next_line().await? {
            let mut words = line.split_whitespace();
            if let Some(service) = words.next()
                && let Some(pid) = words
                    .skip_while(|w| *w != "pid")
                    .nth(1)
                    .and_then(|p| p.parse::<u32>().ok())
            {
                pids.insert(service.to_string(), pid);
            }
            if line.contains("Press Ctrl-C") {
                break;
            }
        }
        let startup = started.elapsed();
        // Keep draining stdout so that the supervisor never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let catalog_pid = *pids
            .get("catalog")
            .context("weft up did not report the catalog's pid")?;
        let admin_token = std::fs::read_to_string(data_dir.join("admin.token"))?
            .trim()
            .to_string();
        Ok(Self {
            child,
            gateway: format!("http://127.0.0.1:{port}"),
            catalog_pid,
            pids,
            admin_token,
            startup,
        })
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // `weft up` stops its services gracefully on SIGTERM.
            kill(Pid::from_raw(pid as i32), Signal::SIGTERM)?;
        }
        tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await??;
        Ok(())
    }
}
