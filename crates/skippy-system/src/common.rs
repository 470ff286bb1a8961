//! Small pieces shared by the system tools: the load average, `/proc/meminfo`, rounding, argument
//! ranges and the cancellable sampling wait.

use std::collections::HashMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use skippy_core::{ToolCtx, ToolError, ToolResult};

// Run-queue load averages over 1, 5 and 15 minutes. A plain comment, not a doc comment: docs on
// output types land in the schema that every session pays for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

impl LoadAverage {
    /// The current load average (one read of `/proc/loadavg`).
    pub fn now() -> Self {
        let load = sysinfo::System::load_average();
        Self {
            one: round2(load.one),
            five: round2(load.five),
            fifteen: round2(load.fifteen),
        }
    }

    /// Parse `/proc/loadavg` (`0.52 0.58 0.59 1/123 4567`).
    pub fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace().map(str::parse::<f64>);
        let mut next = || fields.next()?.ok().map(round2);
        Some(Self {
            one: next()?,
            five: next()?,
            fifteen: next()?,
        })
    }
}

/// The figures of `/proc/meminfo` the tools report, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meminfo {
    pub total: u64,
    pub available: u64,
    pub free: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl Meminfo {
    /// Parse `/proc/meminfo` (`MemTotal:  16318412 kB` lines); None without a positive MemTotal.
    /// Kernels before 3.14 have no MemAvailable: free + buffers + page cache stands in for it.
    pub fn parse(text: &str) -> Option<Self> {
        let mut values: HashMap<&str, u64> = HashMap::new();
        for line in text.lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let mut parts = rest.split_whitespace();
            let Some(Ok(value)) = parts.next().map(str::parse::<u64>) else {
                continue;
            };
            let bytes = match parts.next() {
                Some("kB") => value.saturating_mul(1024),
                _ => value,
            };
            values.insert(key.trim(), bytes);
        }
        let get = |key: &str| values.get(key).copied().unwrap_or(0);
        let total = get("MemTotal");
        if total == 0 {
            return None;
        }
        let free = get("MemFree");
        let available = values.get("MemAvailable").copied().unwrap_or_else(|| {
            free.saturating_add(get("Buffers"))
                .saturating_add(get("Cached"))
        });
        Some(Self {
            total,
            available: available.min(total),
            free,
            swap_total: get("SwapTotal"),
            swap_free: get("SwapFree"),
        })
    }
}

/// Round to one decimal: percentages finer than that are noise for the reader.
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Round to two decimals (load averages are printed that way by the kernel).
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `part` as a percentage of `whole`, one decimal; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    // u64 -> f64 loses precision only above 2^53 bytes, far beyond any real machine.
    round1(part as f64 * 100.0 / whole as f64)
}

/// Wait `duration`, returning `Cancelled` at once if the call is cancelled meanwhile.
pub async fn sample_wait(ctx: &ToolCtx, duration: Duration) -> ToolResult<()> {
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        () = ctx.cancel.cancelled() => Err(ToolError::Cancelled),
    }
}

/// A call context rooted at a fresh temporary directory, for unit tests.
#[cfg(test)]
pub(crate) fn test_ctx() -> (tempfile::TempDir, skippy_core::ToolCtx) {
    let dir = tempfile::tempdir().unwrap();
    let ctx =
        skippy_core::ToolCtx::for_tests(skippy_core::Config::defaults_for(dir.path()).unwrap());
    (dir, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_and_computes_percentages() {
        assert_eq!(round1(12.345), 12.3);
        assert_eq!(round2(0.126), 0.13);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(10, 10), 100.0);
    }

    #[test]
    fn parses_loadavg_and_meminfo() {
        assert_eq!(
            LoadAverage::parse("2.14 2.09 2.605 5/112 26615\n"),
            Some(LoadAverage {
                one: 2.14,
                five: 2.09,
                fifteen: 2.61
            })
        );
        assert_eq!(LoadAverage::parse("2.14 x"), None);
        // Captured on the development machine (Debian 12, kernel 6.18), shortened.
        let meminfo = "MemTotal:       24684096 kB\nMemFree:        17417932 kB\n\
            MemAvailable:   24080060 kB\nBuffers:           50860 kB\nCached:          6819196 kB\n\
            SwapCached:            0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n\
            HugePages_Total:       0\n";
        assert_eq!(
            Meminfo::parse(meminfo),
            Some(Meminfo {
                total: 24684096 * 1024,
                available: 24080060 * 1024,
                free: 17417932 * 1024,
                swap_total: 0,
                swap_free: 0,
            })
        );
        // An old kernel without MemAvailable, with swap.
        let old_kernel = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n\
            SwapTotal: 64 kB\nSwapFree: 16 kB\n";
        let parsed = Meminfo::parse(old_kernel).unwrap();
        assert_eq!(parsed.available, 350 * 1024);
        assert_eq!(
            (parsed.swap_total, parsed.swap_free),
            (64 * 1024, 16 * 1024)
        );
        assert_eq!(Meminfo::parse("MemFree: 1 kB\n"), None);
    }

    #[tokio::test]
    async fn sample_wait_stops_on_cancellation() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(skippy_core::Config::defaults_for(dir.path()).unwrap());
        ctx.cancel.cancel();
        let error = sample_wait(&ctx, Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }
}
