//! `get_cpu_info`: CPU usage really sampled over an interval (overall and per core), each core's
//! current frequency, and the load average.
//!
//! Usage is the share of non-idle time between two reads of `/proc/stat` taken `sample_ms` apart
//! (50..=5000 ms, default 200), the way `top` computes it: idle and iowait count as idle, guest time
//! is already inside user time. The counters are read directly rather than through sysinfo because
//! sysinfo ignores CPU refreshes closer than 200 ms apart, which would make short samples report the
//! average since boot. Frequencies come from sysinfo (cpufreq, or `/proc/cpuinfo` as a fallback).
//! The wait is cancellable. Reads only; no side effects.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use sysinfo::{CpuRefreshKind, System};

use crate::common::{LoadAverage, in_range, round1, sample_wait};

const DEFAULT_SAMPLE_MS: u64 = 200;
const MIN_SAMPLE_MS: u64 = 50;
const MAX_SAMPLE_MS: u64 = 5000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Sample length in ms; default 200, 50..=5000
    #[serde(default)]
    pub sample_ms: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub overall_percent: f64,
    pub per_core: Vec<CoreUsage>,
    pub load_average: LoadAverage,
    pub sample_ms: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct CoreUsage {
    pub core: usize,
    pub usage_percent: f64,
    pub frequency_mhz: u64,
}

pub struct GetCpuInfo;

impl Tool for GetCpuInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_cpu_info";
    const TITLE: &'static str = "CPU usage";
    const DESCRIPTION: &'static str = "CPU usage % sampled over sample_ms, overall and per core, with \
        core frequencies and load average.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let sample_ms = in_range(
            "sample_ms",
            params.sample_ms,
            DEFAULT_SAMPLE_MS,
            MIN_SAMPLE_MS,
            MAX_SAMPLE_MS,
        )?;
        let before = read_stat()?;
        sample_wait(&ctx, Duration::from_millis(sample_ms)).await?;
        let after = read_stat()?;
        let (overall, cores) = usage_between(&before, &after);

        let mut system = System::new();
        system.refresh_cpu_list(CpuRefreshKind::nothing().with_frequency());
        let frequencies: Vec<u64> = system.cpus().iter().map(|cpu| cpu.frequency()).collect();
        let per_core = cores
            .into_iter()
            .enumerate()
            .map(|(position, (core, usage_percent))| CoreUsage {
                core,
                usage_percent,
                // sysinfo lists the CPUs in /proc/stat order, so positions line up.
                frequency_mhz: frequencies.get(position).copied().unwrap_or(0),
            })
            .collect();
        Ok(Output {
            overall_percent: overall,
            per_core,
            load_average: LoadAverage::now(),
            sample_ms,
        })
    }
}

/// Cumulative jiffies of one `cpu` line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    /// `None` for the aggregate `cpu` line, the core number for `cpuN`.
    core: Option<usize>,
    busy: u64,
    total: u64,
}

fn read_stat() -> ToolResult<Vec<Times>> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|error| {
        tracing::warn!(%error, "reading /proc/stat failed");
        ToolError::Unavailable(
            "CPU counters are unavailable: /proc/stat cannot be read on this machine".to_string(),
        )
    })?;
    let times = parse_stat(&text);
    if times.first().is_none_or(|first| first.core.is_some()) {
        return Err(ToolError::Unavailable(
            "CPU counters are unavailable: /proc/stat has no `cpu` line".to_string(),
        ));
    }
    Ok(times)
}

/// The `cpu` and `cpuN` lines of `/proc/stat`: user nice system idle iowait irq softirq steal guest
/// guest_nice (later fields are absent on old kernels and count as 0).
fn parse_stat(text: &str) -> Vec<Times> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let label = fields.next()?.strip_prefix("cpu")?;
            let core = if label.is_empty() {
                None
            } else {
                Some(label.parse().ok()?)
            };
            let values: Vec<u64> = fields.map(|field| field.parse().unwrap_or(0)).collect();
            let value = |index: usize| values.get(index).copied().unwrap_or(0);
            // guest and guest_nice are already counted in user and nice.
            let total = values
                .iter()
                .take(8)
                .fold(0u64, |sum, value| sum.saturating_add(*value));
            let idle = value(3).saturating_add(value(4));
            Some(Times {
                core,
                busy: total.saturating_sub(idle),
                total,
            })
        })
        .collect()
}

/// Overall usage and `(core, usage)` per core between two reads, in percent with one decimal.
fn usage_between(before: &[Times], after: &[Times]) -> (f64, Vec<(usize, f64)>) {
    let usage = |old: &Times, new: &Times| {
        let total = new.total.saturating_sub(old.total);
        if total == 0 {
            return 0.0;
        }
        let busy = new.busy.saturating_sub(old.busy).min(total);
        round1(busy as f64 * 100.0 / total as f64)
    };
    let mut overall = 0.0;
    let mut cores = Vec::new();
    for new in after {
        // Match by label: a core that went offline in between simply drops out.
        let Some(old) = before.iter().find(|old| old.core == new.core) else {
            continue;
        };
        match new.core {
            None => overall = usage(old, new),
            Some(core) => cores.push((core, usage(old, new))),
        }
    }
    (overall, cores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    fn ctx() -> (tempfile::TempDir, ToolCtx) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        (dir, ctx)
    }

    const SAMPLE_BEFORE: &str = "cpu  100 0 100 800 0 0 0 0 0 0\n\
        cpu0 50 0 50 400 0 0 0 0 0 0\n\
        cpu1 50 0 50 400 0 0 0 0 0 0\n\
        intr 12345 0 0\nctxt 999\nbtime 1700000000\n";
    const SAMPLE_AFTER: &str = "cpu  175 0 125 900 0 0 0 0 10 0\n\
        cpu0 125 0 75 400 0 0 0 0 10 0\n\
        cpu1 50 0 50 500 0 0 0 0 0 0\n";

    #[test]
    fn parses_proc_stat_and_ignores_other_lines() {
        let times = parse_stat(SAMPLE_BEFORE);
        assert_eq!(times.len(), 3);
        assert_eq!(
            times[0],
            Times {
                core: None,
                busy: 200,
                total: 1000
            }
        );
        assert_eq!(times[2].core, Some(1));
    }

    #[test]
    fn usage_is_busy_share_of_elapsed_time_and_guest_is_not_counted_twice() {
        let (overall, cores) = usage_between(&parse_stat(SAMPLE_BEFORE), &parse_stat(SAMPLE_AFTER));
        // All: busy +100 of total +200; core 0: +100 of +100; core 1: 0 of +100.
        assert_eq!(overall, 50.0);
        assert_eq!(cores, vec![(0, 100.0), (1, 0.0)]);
    }

    #[test]
    fn idle_machine_and_missing_cores_do_not_divide_by_zero() {
        let before = parse_stat(SAMPLE_BEFORE);
        let (overall, cores) = usage_between(&before, &before[..2]);
        assert_eq!(overall, 0.0);
        assert_eq!(cores, vec![(0, 0.0)]);
    }

    #[tokio::test]
    async fn samples_every_core_of_this_machine() {
        let (_dir, ctx) = ctx();
        let output = GetCpuInfo
            .run(
                ctx,
                Params {
                    sample_ms: Some(50),
                },
            )
            .await
            .unwrap();
        let logical = parse_stat(&std::fs::read_to_string("/proc/stat").unwrap())
            .iter()
            .filter(|times| times.core.is_some())
            .count();
        assert_eq!(output.per_core.len(), logical);
        assert_eq!(output.sample_ms, 50);
        assert!((0.0..=100.0).contains(&output.overall_percent));
        for (index, core) in output.per_core.iter().enumerate() {
            assert_eq!(core.core, index);
            assert!((0.0..=100.0).contains(&core.usage_percent), "{core:?}");
        }
        assert!(output.load_average.fifteen >= 0.0);
    }

    #[tokio::test]
    async fn a_busy_thread_shows_up_in_the_sample() {
        let (_dir, ctx) = ctx();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        let output = GetCpuInfo
            .run(
                ctx,
                Params {
                    sample_ms: Some(500),
                },
            )
            .await
            .unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        // One spinning thread keeps at least one core mostly busy: the old server said 0 here.
        assert!(output.overall_percent > 0.0, "{output:?}");
    }

    #[tokio::test]
    async fn out_of_range_samples_are_refused() {
        for sample_ms in [0, 49, 5001] {
            let (_dir, ctx) = ctx();
            let error = GetCpuInfo
                .run(
                    ctx,
                    Params {
                        sample_ms: Some(sample_ms),
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
        }
    }

    #[tokio::test]
    async fn cancellation_interrupts_the_sample() {
        let (_dir, ctx) = ctx();
        ctx.cancel.cancel();
        let error = GetCpuInfo
            .run(
                ctx,
                Params {
                    sample_ms: Some(5000),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }
}
