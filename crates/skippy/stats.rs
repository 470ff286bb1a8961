//! Per-tool counters since start, for `server_status`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use skippy_core::ToolError;

/// Durations kept per tool for percentiles (a ring of the most recent calls).
const WINDOW: usize = 512;

#[derive(Debug, Default)]
struct ToolCounters {
    calls: u64,
    errors: u64,
    timeouts: u64,
    cancelled: u64,
    panics: u64,
    recent_us: Vec<u64>,
    next: usize,
}

/// Counters for every tool called so far.
#[derive(Debug, Default)]
pub struct Stats {
    tools: Mutex<BTreeMap<String, ToolCounters>>,
}

/// One tool's counters, as reported.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ToolStats {
    pub tool: String,
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub cancelled: u64,
    /// Calls that failed because the tool panicked (a bug), answered as `internal` errors.
    pub panics: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

impl Stats {
    pub fn record(&self, tool: &str, elapsed: Duration, error: Option<&ToolError>) {
        let Ok(mut tools) = self.tools.lock() else {
            return;
        };
        let counters = tools.entry(tool.to_string()).or_default();
        counters.calls += 1;
        match error {
            None => {}
            Some(ToolError::Timeout(_)) => {
                counters.errors += 1;
                counters.timeouts += 1;
            }
            Some(ToolError::Cancelled) => counters.cancelled += 1,
            Some(_) => counters.errors += 1,
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        if counters.recent_us.len() < WINDOW {
            counters.recent_us.push(micros);
        } else {
            let slot = counters.next;
            counters.recent_us[slot] = micros;
        }
        counters.next = (counters.next + 1) % WINDOW;
    }

    /// Count a panic; [`Stats::record`] counts the call itself (as an error).
    pub fn record_panic(&self, tool: &str) {
        if let Ok(mut tools) = self.tools.lock() {
            tools.entry(tool.to_string()).or_default().panics += 1;
        }
    }

    pub fn snapshot(&self) -> Vec<ToolStats> {
        let Ok(tools) = self.tools.lock() else {
            return Vec::new();
        };
        tools
            .iter()
            .map(|(tool, counters)| {
                let mut recent = counters.recent_us.clone();
                ToolStats {
                    tool: tool.clone(),
                    calls: counters.calls,
                    errors: counters.errors,
                    timeouts: counters.timeouts,
                    cancelled: counters.cancelled,
                    panics: counters.panics,
                    p50_ms: percentile(&mut recent, 50),
                    p95_ms: percentile(&mut recent, 95),
                }
            })
            .collect()
    }
}

/// Nearest-rank percentile in milliseconds; reorders `values` (a selection, not a full sort, since
/// `server_status` computes this for every tool on every call).
fn percentile(values: &mut [u64], pct: usize) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = (values.len() * pct).div_ceil(100).clamp(1, values.len());
    let (_, value, _) = values.select_nth_unstable(rank - 1);
    *value as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let stats = Stats::default();
        for ms in 1..=100 {
            stats.record("t", Duration::from_millis(ms), None);
        }
        stats.record(
            "t",
            Duration::from_millis(1),
            Some(&ToolError::Timeout("x".into())),
        );
        stats.record("t", Duration::from_millis(1), Some(&ToolError::Cancelled));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.len(), 1);
        let t = &snapshot[0];
        assert_eq!((t.calls, t.errors, t.timeouts, t.cancelled), (102, 1, 1, 1));
        assert!((49.0..=51.0).contains(&t.p50_ms), "{}", t.p50_ms);
        assert!((94.0..=96.0).contains(&t.p95_ms), "{}", t.p95_ms);
    }
}
