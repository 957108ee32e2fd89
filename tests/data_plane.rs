//! A PostgreSQL data plane of the test's own: a cluster made by `initdb` in a temporary
//! directory with scram-sha-256 authentication on an ephemeral port, so that a wrong or
//! rotated-away password is refused (the machine's server trusts every local connection).
//! Run as the `postgres` OS user when the tests run as root (initdb refuses root).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub struct DataPlane {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
    /// The cluster's superuser and its password.
    pub admin_user: String,
    pub admin_password: String,
}

impl DataPlane {
    /// Starts a new cluster (its superuser `weft_admin`, a random password).
    pub fn start() -> anyhow::Result<Self> {
        let bin = postgres_bin()?;
        let dir = tempfile::tempdir()?;
        let as_postgres = nix_is_root();
        let admin_password = format!("admin-{}", uuid::Uuid::new_v4().simple());
        std::fs::write(dir.path().join("pw"), &admin_password)?;
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path()))?;
        }
        let port = free_port()?;
        let data = dir.path().join("data");
        let plane = Self {
            port,
            admin_user: "weft_admin".to_string(),
            admin_password,
            bin,
            as_postgres,
            dir,
        };
        plane.pg(
            "initdb",
            &[
                "-D",
                path(&data),
                "-A",
                "scram-sha-256",
                "-U",
                "weft_admin",
                "--pwfile",
                path(&plane.dir.path().join("pw")),
                "--no-sync",
            ],
        )?;
        // max_connections: the provisioning benchmark holds a session per consumer.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400",
            plane.dir.path().display()
        );
        plane.pg(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&plane.dir.path().join("log")),
                "-w",
                "start",
            ],
        )?;
        Ok(plane)
    }

    /// The admin URL of database `database`.
    pub fn admin_url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{database}",
            self.admin_user, self.admin_password, self.port
        )
    }

    /// A URL as `user` with `password`.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// What the cluster logged (its authentication failures, its statements' errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn pg(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let binary = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&binary);
            command
        } else {
            Command::new(&binary)
        };
        command.args(args);
        run(&mut command).with_context(|| format!("{program} failed"))
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self.pg("pg_ctl", &["-D", path(&data), "-m", "immediate", "stop"]);
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output()?;
    if !output.status.success() {
        bail!(
            "{:?}: {}{}",
            command,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The newest installed PostgreSQL's programs (Debian keeps them out of PATH).
fn postgres_bin() -> anyhow::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL's server programs are not installed (/usr/lib/postgresql)")?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
