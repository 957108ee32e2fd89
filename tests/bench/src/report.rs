//! Latency percentiles and the printed report.

use std::time::Duration;

/// Latencies of one measured operation.
#[derive(Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.0.push(latency);
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.0.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index]
    }

    pub fn summary(&self) -> String {
        format!(
            "p50 {:>8.2} ms   p99 {:>8.2} ms   ({} queries)",
            self.percentile(0.50).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.0.len()
        )
    }
}

/// Resident memory of a process, from /proc (Linux).
pub fn resident_memory_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time (user + system) a process has used, in clock ticks, from /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Waits until the process uses under a tenth of a core (e.g. a search index done merging its
/// segments after a rebuild), at most `limit`; returns how long it waited.
pub async fn wait_until_idle(pid: u32, limit: std::time::Duration) -> std::time::Duration {
    const SAMPLE: std::time::Duration = std::time::Duration::from_secs(2);
    // Linux reports CPU time in ticks of 1/100 s.
    const TICKS_PER_SECOND: u64 = 100;
    let started = std::time::Instant::now();
    let mut last = cpu_ticks(pid);
    while started.elapsed() < limit {
        tokio::time::sleep(SAMPLE).await;
        let now = cpu_ticks(pid);
        match (last, now) {
            (Some(before), Some(after))
                if after.saturating_sub(before) < SAMPLE.as_secs() * TICKS_PER_SECOND / 10 =>
            {
                break;
            }
            (_, None) => break,
            _ => last = now,
        }
    }
    started.elapsed()
}
