//! What the process tests share: the `weft` binary, free ports, child processes whose output is
//! read line by line, waiting for a service to serve, and `weft up` with clients of its gateway.

#![allow(dead_code)] // Each test binary uses its own part.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use weft_proto::weft::catalog::v1::catalog_service_client::CatalogServiceClient;
use weft_proto::weft::governance::v1::governance_service_client::GovernanceServiceClient;
use weft_proto::weft::lineage::v1::lineage_service_client::LineageServiceClient;
use weft_proto::weft::provisioning::v1::provisioning_service_client::ProvisioningServiceClient;

pub const WEFT: &str = env!("CARGO_BIN_EXE_weft");

pub type Catalog = CatalogServiceClient<InterceptedService<Channel, weft_testkit::Bearer>>;
pub type Governance = GovernanceServiceClient<InterceptedService<Channel, weft_testkit::Bearer>>;
pub type Lineage = LineageServiceClient<InterceptedService<Channel, weft_testkit::Bearer>>;
pub type Provisioning =
    ProvisioningServiceClient<InterceptedService<Channel, weft_testkit::Bearer>>;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process whose output lines arrive on a channel.
pub struct Process {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    pub fn spawn(command: &mut Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`.
    pub fn expect_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line containing {needle:?} within {timeout:?}; output so far:\n{}",
            self.seen.join("\n")
        );
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_serving(address: &str, service: &str) -> Channel {
    let channel = Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    let pending =
        weft_runtime::probe::wait_serving(channel.clone(), &[service], Duration::from_secs(30))
            .await;
    assert!(pending.is_empty(), "{service} at {address} not serving");
    channel
}

/// Five consecutive free ports (`weft up` takes the gateway's and the next four).
pub fn five_free_ports() -> u16 {
    loop {
        let candidate = free_port();
        if candidate < 60000
            && (0..5).all(|i| std::net::TcpListener::bind(("127.0.0.1", candidate + i)).is_ok())
        {
            return candidate;
        }
    }
}

/// `weft up` on a data directory, as a user runs it, with a channel to its gateway and tokens
/// signed with the secret it generated.
pub struct WeftUp {
    pub process: Process,
    pub channel: Channel,
    secret: String,
}

impl WeftUp {
    pub async fn start(data_dir: &std::path::Path) -> Self {
        let base = five_free_ports();
        let mut process = Process::spawn(
            Command::new(WEFT)
                .args(["up", "--port", &base.to_string()])
                .arg("--data-dir")
                .arg(data_dir)
                .env_remove("WEFT_DATABASE_URL"),
        );
        process.expect_line("Weft is up", Duration::from_secs(90));
        let channel = wait_serving(
            &format!("127.0.0.1:{base}"),
            "weft.catalog.v1.CatalogService",
        )
        .await;
        let secret = std::fs::read_to_string(data_dir.join("jwt.secret")).unwrap();
        Self {
            process,
            channel,
            secret,
        }
    }

    /// The pid of `weft up` itself (its services are its children).
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// A bearer token of `subject` with `groups`, for an hour.
    pub fn token(&self, subject: &str, groups: &[&str]) -> weft_testkit::Bearer {
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        weft_testkit::Bearer(
            weft_runtime::auth::issue_hs256_token(
                self.secret.trim().as_bytes(),
                subject,
                &groups,
                Duration::from_secs(3600),
            )
            .unwrap(),
        )
    }

    pub fn catalog(&self, subject: &str, groups: &[&str]) -> Catalog {
        CatalogServiceClient::with_interceptor(self.channel.clone(), self.token(subject, groups))
    }

    pub fn governance(&self, subject: &str, groups: &[&str]) -> Governance {
        GovernanceServiceClient::with_interceptor(self.channel.clone(), self.token(subject, groups))
    }

    pub fn lineage(&self, subject: &str, groups: &[&str]) -> Lineage {
        LineageServiceClient::with_interceptor(self.channel.clone(), self.token(subject, groups))
    }

    pub fn provisioning(&self, subject: &str, groups: &[&str]) -> Provisioning {
        ProvisioningServiceClient::with_interceptor(
            self.channel.clone(),
            self.token(subject, groups),
        )
    }

    /// The pid of the child of `weft up` serving `service`, if it runs now.
    pub fn service_pid(&self, service: &str) -> Option<i32> {
        service_pid(self.pid(), service)
    }

    /// SIGTERM, and waits until every service stopped and `weft up` exited cleanly.
    pub fn stop(mut self) {
        self.process.signal(Signal::SIGTERM);
        self.process
            .expect_line("all services stopped", Duration::from_secs(60));
        assert!(self.process.child.wait().unwrap().success());
    }
}

/// The pid of `weft up`'s child serving `service`, if it runs now.
pub fn service_pid(up: u32, service: &str) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …"; comm may hold spaces, so split after its ')'.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if parent != Some(up) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args
            .windows(2)
            .any(|pair| pair[0] == b"serve" && pair[1] == service.as_bytes())
        {
            return Some(pid);
        }
    }
    None
}
