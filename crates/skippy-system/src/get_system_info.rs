//! `get_system_info`: a one-shot overview of this machine: host name, OS and kernel, architecture,
//! uptime and boot time, load average, CPU model and core counts, total and available memory.
//!
//! Fast by design (a handful of small `/proc` reads): it refreshes only the CPU list and RAM figures,
//! never the process table. On a remote `host` one fixed script reads the same sources (`uname`,
//! `/proc`, os-release) over SSH. Reads only; no side effects.

use std::collections::HashSet;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::time::rfc3339_from_unix;
use skippy_core::{Annotations, Tool, ToolCtx, ToolResult, Toolset};
use skippy_remote::{Executor, Hosts};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, System};

use crate::common::{LoadAverage, Meminfo};
use crate::remote::{self, Sections};

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub hostname: String,
    pub os: OsInfo,
    pub kernel: String,
    pub architecture: String,
    pub uptime_seconds: u64,
    pub boot_time: String,
    pub load_average: LoadAverage,
    pub cpu: CpuSummary,
    pub memory: MemorySummary,
}

// Output sub-structures are inlined and carry no doc comments: both keep the schema short.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct OsInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct CpuSummary {
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct MemorySummary {
    pub total: u64,
    pub available: u64,
}

pub struct GetSystemInfo {
    pub hosts: Arc<Hosts>,
}

impl Tool for GetSystemInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_system_info";
    const TITLE: &'static str = "System overview";
    const DESCRIPTION: &'static str = "Machine overview: OS, kernel, uptime, load, CPU, memory.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let executor = remote::executor(&self.hosts, &ctx, params.host.as_deref())?;
        if let Executor::Local = executor {
            return Ok(collect());
        }
        let sections =
            remote::run_script(&executor, &ctx, &remote::script(SCRIPT), 256 * 1024).await?;
        from_sections(&sections)
    }
}

/// The remote script: the sources sysinfo reads locally.
const SCRIPT: &[(&str, &str)] = &[
    ("hostname", "uname -n"),
    ("kernel", "uname -r"),
    ("arch", "uname -m"),
    ("uptime", "cat /proc/uptime"),
    ("loadavg", "cat /proc/loadavg"),
    ("btime", "grep '^btime ' /proc/stat"),
    (
        "os",
        "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null",
    ),
    (
        "cpuinfo",
        "grep -E '^(processor|model name|physical id|core id)[[:space:]]*:' /proc/cpuinfo",
    ),
    ("meminfo", "cat /proc/meminfo"),
];

const UNKNOWN: &str = "unknown";

fn collect() -> Output {
    let mut system = System::new();
    // `nothing()` still lists the CPUs and reads their brand: that is all the model needs.
    system.refresh_cpu_list(CpuRefreshKind::nothing());
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let model = system
        .cpus()
        .first()
        .map(|cpu| cpu.brand().trim().to_string())
        .filter(|brand| !brand.is_empty())
        .unwrap_or_else(|| UNKNOWN.to_string());
    Output {
        hostname: System::host_name().unwrap_or_else(|| UNKNOWN.to_string()),
        os: OsInfo {
            name: System::name().unwrap_or_else(|| UNKNOWN.to_string()),
            version: System::os_version().unwrap_or_else(|| UNKNOWN.to_string()),
        },
        kernel: System::kernel_version().unwrap_or_else(|| UNKNOWN.to_string()),
        architecture: System::cpu_arch(),
        uptime_seconds: System::uptime(),
        boot_time: rfc3339_from_unix(System::boot_time()),
        load_average: LoadAverage::now(),
        cpu: CpuSummary {
            model,
            physical_cores: System::physical_core_count(),
            logical_cores: system.cpus().len(),
        },
        memory: MemorySummary {
            total: system.total_memory(),
            available: system.available_memory(),
        },
    }
}

fn from_sections(sections: &Sections) -> ToolResult<Output> {
    let line = |name: &str| sections.get(name).trim().to_string();
    let hostname = line("hostname");
    if hostname.is_empty() {
        return Err(sections.missing("`uname` output"));
    }
    let memory =
        Meminfo::parse(sections.get("meminfo")).ok_or_else(|| sections.missing("/proc/meminfo"))?;
    let uptime_seconds = sections
        .get("uptime")
        .split(['.', ' '])
        .next()
        .and_then(|seconds| seconds.trim().parse().ok())
        .ok_or_else(|| sections.missing("/proc/uptime"))?;
    let boot = sections
        .get("btime")
        .split_whitespace()
        .nth(1)
        .and_then(|seconds| seconds.parse().ok())
        .ok_or_else(|| sections.missing("the boot time in /proc/stat"))?;
    let load_average = LoadAverage::parse(sections.get("loadavg"))
        .ok_or_else(|| sections.missing("/proc/loadavg"))?;
    let or_unknown = |value: String| {
        if value.is_empty() {
            UNKNOWN.to_string()
        } else {
            value
        }
    };
    let os = sections.get("os");
    Ok(Output {
        hostname,
        os: OsInfo {
            name: or_unknown(os_release(os, "NAME")),
            version: or_unknown(os_release(os, "VERSION_ID")),
        },
        kernel: or_unknown(line("kernel")),
        architecture: or_unknown(line("arch")),
        uptime_seconds,
        boot_time: rfc3339_from_unix(boot),
        load_average,
        cpu: cpu_summary(sections.get("cpuinfo")),
        memory: MemorySummary {
            total: memory.total,
            available: memory.available,
        },
    })
}

/// A value of os-release(5), quotes removed; empty when absent.
fn os_release(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|value| value.trim().trim_matches(['"', '\'']).to_string())
        .unwrap_or_default()
}

/// Model and core counts from the `processor`, `model name`, `physical id` and `core id` lines of
/// `/proc/cpuinfo`, counted the way sysinfo counts them locally: physical cores are the distinct
/// (core id, physical id) pairs, or the processors where those are absent (many ARM boards).
fn cpu_summary(cpuinfo: &str) -> CpuSummary {
    let mut model = None;
    let mut logical = 0;
    let mut cores = HashSet::new();
    let mut current: (Option<&str>, Option<&str>, Option<&str>) = (None, None, None);
    let mut flush = |current: &mut (Option<&str>, Option<&str>, Option<&str>)| {
        match *current {
            (_, Some(core), Some(package)) => cores.insert(format!("{core} {package}")),
            (Some(processor), _, _) => cores.insert(processor.to_string()),
            _ => false,
        };
        *current = (None, None, None);
    };
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "processor" => {
                flush(&mut current);
                logical += 1;
                current.0 = Some(value);
            }
            "model name" if model.is_none() && !value.is_empty() => {
                model = Some(value.to_string());
            }
            "core id" => current.1 = Some(value),
            "physical id" => current.2 = Some(value),
            _ => {}
        }
    }
    flush(&mut current);
    CpuSummary {
        model: model.unwrap_or_else(|| UNKNOWN.to_string()),
        physical_cores: (!cores.is_empty()).then_some(cores.len()),
        logical_cores: logical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    async fn run() -> Output {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let params: Params = serde_json::from_str("{}").unwrap();
        let tool = GetSystemInfo {
            hosts: Arc::default(),
        };
        tool.run(ctx, params).await.unwrap()
    }

    /// The remote script's output, captured on the development machine (Debian 12 VM), with a
    /// line of login-shell noise in front.
    const CAPTURED: &str = "\
Last login: yesterday
@@skippy-section:hostname
vm
@@skippy-section:kernel
6.18.44-fc-v595
@@skippy-section:arch
x86_64
@@skippy-section:uptime
3786.09 2514.91
@@skippy-section:loadavg
2.14 2.09 2.60 5/112 26615
@@skippy-section:btime
btime 1795256933
@@skippy-section:os
PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"
NAME=\"Debian GNU/Linux\"
VERSION_ID=\"12\"
VERSION=\"12 (bookworm)\"
ID=debian
@@skippy-section:cpuinfo
processor\t: 0
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 0
processor\t: 1
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: 1
@@skippy-section:meminfo
MemTotal:       24684096 kB
MemFree:        17417932 kB
MemAvailable:   24080060 kB
";

    #[test]
    fn parses_the_remote_script_output() {
        let output = from_sections(&Sections::parse(CAPTURED)).unwrap();
        assert_eq!(output.hostname, "vm");
        assert_eq!(
            output.os,
            OsInfo {
                name: "Debian GNU/Linux".into(),
                version: "12".into()
            }
        );
        assert_eq!(output.kernel, "6.18.44-fc-v595");
        assert_eq!(output.architecture, "x86_64");
        assert_eq!(output.uptime_seconds, 3786);
        assert_eq!(output.boot_time, rfc3339_from_unix(1795256933));
        assert_eq!(output.load_average.fifteen, 2.6);
        assert_eq!(
            output.cpu,
            CpuSummary {
                model: "AMD EPYC".into(),
                physical_cores: Some(2),
                logical_cores: 2
            }
        );
        assert_eq!(output.memory.total, 24684096 * 1024);
        assert_eq!(output.memory.available, 24080060 * 1024);
    }

    #[test]
    fn missing_sections_are_unavailable_and_odd_cpuinfo_still_counts() {
        let error = from_sections(&Sections::parse("@@skippy-section:hostname\nvm\n")).unwrap_err();
        assert_eq!(error.code(), "unavailable");
        assert!(error.to_string().contains("Linux hosts"), "{error}");
        // An ARM board: no model name, no core ids; two threads of one core elsewhere.
        let arm = cpu_summary("processor\t: 0\nprocessor\t: 1\n");
        assert_eq!(
            (arm.model.as_str(), arm.physical_cores, arm.logical_cores),
            (UNKNOWN, Some(2), 2)
        );
        let smt = cpu_summary(
            "processor : 0\nphysical id : 0\ncore id : 0\nprocessor : 1\nphysical id : 0\ncore id : 0\n",
        );
        assert_eq!((smt.physical_cores, smt.logical_cores), (Some(1), 2));
        assert_eq!(cpu_summary("").physical_cores, None);
        assert_eq!(os_release("NAME='Alpine Linux'\n", "NAME"), "Alpine Linux");
    }

    fn meminfo_bytes(key: &str) -> u64 {
        let text = std::fs::read_to_string("/proc/meminfo").unwrap();
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{key}:")))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    #[tokio::test]
    async fn reports_this_machine() {
        let output = run().await;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(output.hostname, hostname.trim());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(output.kernel, kernel.trim());
        assert_eq!(output.architecture, std::env::consts::ARCH);
        assert_eq!(output.memory.total, meminfo_bytes("MemTotal"));
        assert!(output.memory.available > 0);
        assert!(output.memory.available <= output.memory.total);

        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let processors = cpuinfo
            .lines()
            .filter(|line| line.starts_with("processor"))
            .count();
        assert_eq!(output.cpu.logical_cores, processors);
        if let Some(physical) = output.cpu.physical_cores {
            assert!(physical >= 1 && physical <= processors);
        }
        if let Some(model) = cpuinfo.lines().find(|l| l.starts_with("model name")) {
            assert_eq!(output.cpu.model, model.split(':').nth(1).unwrap().trim());
        }
    }

    #[tokio::test]
    async fn uptime_and_boot_time_agree_with_proc() {
        let output = run().await;
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Both are whole seconds read a moment apart: allow the second to tick over.
        assert!((output.uptime_seconds as f64 - uptime).abs() <= 2.0);
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let btime: u64 = stat
            .lines()
            .find_map(|line| line.strip_prefix("btime "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let boot = chrono::DateTime::parse_from_rfc3339(&output.boot_time).unwrap();
        assert!(
            (boot.timestamp() - btime as i64).abs() <= 1,
            "{}",
            output.boot_time
        );
        assert!(output.load_average.one >= 0.0);
        assert!(output.os.name != UNKNOWN);
    }

    #[test]
    fn unknown_parameters_are_refused() {
        assert!(serde_json::from_str::<Params>(r#"{"verbose": true}"#).is_err());
        let params: Params = serde_json::from_str(r#"{"host": "web"}"#).unwrap();
        assert_eq!(params.host.as_deref(), Some("web"));
    }
}
