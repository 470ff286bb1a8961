//! `get_cpu_info`: CPU usage really sampled over an interval (overall and per core), each core's
//! current frequency, and the load average.
//!
//! Usage is the share of non-idle time between two reads of `/proc/stat` taken `sample_ms` apart
//! (50 to 5000 ms, longer is clamped; default 200), the way `top` computes it: idle and iowait
//! count as idle, guest time is already inside user time. The counters are read directly rather than through sysinfo because
//! sysinfo ignores CPU refreshes closer than 200 ms apart, which would make short samples report the
//! average since boot. Frequencies come from sysinfo (cpufreq, or `/proc/cpuinfo` as a fallback).
//! The wait is cancellable. On a remote `host` one fixed script reads `/proc/stat` twice around a
//! remote `sleep`, then the load average and frequencies (cpufreq, else `/proc/cpuinfo`); the same
//! arithmetic applies. Reads only; no side effects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp::{self, Clamped};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use skippy_remote::{Executor, Hosts};
use sysinfo::{CpuRefreshKind, System};

use crate::common::{LoadAverage, round1, sample_wait};
use crate::remote::{self, Sections};

const DEFAULT_SAMPLE_MS: u64 = 200;
const MIN_SAMPLE_MS: u64 = 50;
const MAX_SAMPLE_MS: u64 = 5000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Default 200, min 50, max 5000 (larger is clamped)
    #[serde(default)]
    pub sample_ms: Option<u64>,
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub overall_percent: f64,
    pub per_core: Vec<CoreUsage>,
    pub load_average: LoadAverage,
    pub sample_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_ms_clamped_to: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct CoreUsage {
    pub core: usize,
    pub usage_percent: f64,
    pub frequency_mhz: u64,
}

pub struct GetCpuInfo {
    pub hosts: Arc<Hosts>,
}

impl Tool for GetCpuInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_cpu_info";
    const TITLE: &'static str = "CPU usage";
    const DESCRIPTION: &'static str =
        "CPU usage % over sample_ms, overall and per core; frequencies, load.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let Clamped {
            value: sample_ms,
            clamped_to,
        } = clamp::range(
            "sample_ms",
            params.sample_ms,
            DEFAULT_SAMPLE_MS,
            MIN_SAMPLE_MS,
            MAX_SAMPLE_MS,
        )?;
        let executor = remote::executor(&self.hosts, &ctx, params.host.as_deref())?;
        if !matches!(executor, Executor::Local) {
            let script = remote::script(&[
                ("stat1", "grep '^cpu' /proc/stat"),
                ("sleep", &remote::sleep_command(sample_ms)),
                ("stat2", "grep '^cpu' /proc/stat"),
                ("loadavg", "cat /proc/loadavg"),
                (
                    "cpufreq",
                    "grep -H '' /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq 2>/dev/null",
                ),
                (
                    "cpuinfo",
                    "grep -E '^(processor|cpu MHz)[[:space:]]*:' /proc/cpuinfo",
                ),
            ]);
            let sections = remote::run_script(&executor, &ctx, &script, 256 * 1024).await?;
            let mut output = from_sections(&sections, sample_ms)?;
            output.sample_ms_clamped_to = clamped_to;
            return Ok(output);
        }
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
            sample_ms_clamped_to: clamped_to,
        })
    }
}

/// The remote script's output: two reads of the `cpu` lines, the load average, frequencies.
fn from_sections(sections: &Sections, sample_ms: u64) -> ToolResult<Output> {
    let before = parse_stat(sections.get("stat1"));
    let after = parse_stat(sections.get("stat2"));
    if [&before, &after]
        .iter()
        .any(|times| times.first().is_none_or(|first| first.core.is_some()))
    {
        return Err(sections.missing("CPU counters (/proc/stat)"));
    }
    let load_average = LoadAverage::parse(sections.get("loadavg"))
        .ok_or_else(|| sections.missing("/proc/loadavg"))?;
    let mut frequencies = parse_cpufreq(sections.get("cpufreq"));
    if frequencies.is_empty() {
        frequencies = parse_cpuinfo_mhz(sections.get("cpuinfo"));
    }
    let (overall, cores) = usage_between(&before, &after);
    Ok(Output {
        overall_percent: overall,
        per_core: cores
            .into_iter()
            .map(|(core, usage_percent)| CoreUsage {
                core,
                usage_percent,
                frequency_mhz: frequencies.get(&core).copied().unwrap_or(0),
            })
            .collect(),
        load_average,
        sample_ms,
        sample_ms_clamped_to: None,
    })
}

/// `grep -H` lines `/sys/devices/system/cpu/cpu3/cpufreq/scaling_cur_freq:2596150` (kHz) as
/// MHz by core.
fn parse_cpufreq(text: &str) -> HashMap<usize, u64> {
    text.lines()
        .filter_map(|line| {
            let (path, khz) = line.rsplit_once(':')?;
            let core = path
                .strip_prefix("/sys/devices/system/cpu/cpu")?
                .split('/')
                .next()?
                .parse()
                .ok()?;
            Some((core, khz.trim().parse::<u64>().ok()? / 1000))
        })
        .collect()
}

/// `processor : N` and `cpu MHz : 2596.150` lines of `/proc/cpuinfo` as MHz by core.
fn parse_cpuinfo_mhz(text: &str) -> HashMap<usize, u64> {
    let mut frequencies = HashMap::new();
    let mut core = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => core = value.trim().parse::<usize>().ok(),
            "cpu MHz" => {
                if let (Some(core), Ok(mhz)) = (core, value.trim().parse::<f64>()) {
                    // MHz are small positive numbers: the cast cannot truncate meaningfully.
                    frequencies.insert(core, mhz.max(0.0) as u64);
                }
            }
            _ => {}
        }
    }
    frequencies
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

    use crate::common::test_ctx as ctx;

    fn tool() -> GetCpuInfo {
        GetCpuInfo {
            hosts: Arc::default(),
        }
    }

    fn sample(sample_ms: u64) -> Params {
        Params {
            sample_ms: Some(sample_ms),
            host: None,
        }
    }

    /// The remote script's output as the development machine gives it (2 cores, no cpufreq), with
    /// counters changed to round numbers.
    const CAPTURED: &str = "\
@@skippy-section:stat1
cpu  148223 120 59532 675840 1200 0 1829 0 0 0
cpu0 74000 60 29766 337920 600 0 914 0 0 0
cpu1 74223 60 29766 337920 600 0 915 0 0 0
@@skippy-section:sleep
@@skippy-section:stat2
cpu  148243 120 59542 675850 1200 0 1829 0 0 0
cpu0 74020 60 29776 337920 600 0 914 0 0 0
cpu1 74223 60 29766 337930 600 0 915 0 0 0
@@skippy-section:loadavg
2.14 2.09 2.60 5/112 26615
@@skippy-section:cpufreq
@@skippy-section:cpuinfo
processor\t: 0
cpu MHz\t\t: 2596.150
processor\t: 1
cpu MHz\t\t: 2596.150
";

    #[test]
    fn remote_output_gives_usage_frequencies_and_load() {
        let output = from_sections(&Sections::parse(CAPTURED), 200).unwrap();
        // All: busy +30 of +40; core 0: +30 of +30; core 1: 0 of +10.
        assert_eq!(output.overall_percent, 75.0);
        let cores: Vec<(usize, f64, u64)> = output
            .per_core
            .iter()
            .map(|core| (core.core, core.usage_percent, core.frequency_mhz))
            .collect();
        assert_eq!(cores, vec![(0, 100.0, 2596), (1, 0.0, 2596)]);
        assert_eq!(output.load_average.one, 2.14);
        assert_eq!(output.sample_ms, 200);
        let error = from_sections(&Sections::parse("@@skippy-section:stat1\n"), 200).unwrap_err();
        assert_eq!(error.code(), "unavailable");
    }

    #[test]
    fn cpufreq_is_read_in_khz_by_core_number() {
        let text = "/sys/devices/system/cpu/cpu10/cpufreq/scaling_cur_freq:1200000\n\
                    /sys/devices/system/cpu/cpu2/cpufreq/scaling_cur_freq:3400500\n";
        let frequencies = parse_cpufreq(text);
        assert_eq!(frequencies.get(&10), Some(&1200));
        assert_eq!(frequencies.get(&2), Some(&3400));
        assert!(parse_cpuinfo_mhz("cpu MHz : 1000\n").is_empty());
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
        let output = tool().run(ctx, sample(50)).await.unwrap();
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
        let output = tool().run(ctx, sample(500)).await.unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        // One spinning thread keeps at least one core mostly busy: the old server said 0 here.
        assert!(output.overall_percent > 0.0, "{output:?}");
    }

    #[tokio::test]
    async fn samples_too_short_to_measure_are_refused() {
        for sample_ms in [0, 49] {
            let (_dir, ctx) = ctx();
            let error = tool().run(ctx, sample(sample_ms)).await.unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
        }
    }

    #[tokio::test]
    async fn defect_limits_are_clamped_not_refused() {
        let (_dir, context) = ctx();
        let output = tool().run(context, sample(5001)).await.unwrap();
        assert_eq!(output.sample_ms, MAX_SAMPLE_MS);
        assert_eq!(output.sample_ms_clamped_to, Some(MAX_SAMPLE_MS));
        let (_dir, context) = ctx();
        let output = tool().run(context, sample(MIN_SAMPLE_MS)).await.unwrap();
        assert_eq!(output.sample_ms_clamped_to, None);
    }

    #[tokio::test]
    async fn cancellation_interrupts_the_sample() {
        let (_dir, ctx) = ctx();
        ctx.cancel.cancel();
        let error = tool().run(ctx, sample(5000)).await.unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }
}
