//! `get_system_info`: a one-shot overview of this machine: host name, OS and kernel, architecture,
//! uptime and boot time, load average, CPU model and core counts, total and available memory.
//!
//! Fast by design (a handful of small `/proc` reads): it refreshes only the CPU list and RAM figures,
//! never the process table. Reads only; no side effects.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::time::rfc3339_from_unix;
use skippy_core::{Annotations, Tool, ToolCtx, ToolResult, Toolset};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, System};

use crate::common::LoadAverage;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {}

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
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct OsInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize, JsonSchema)]
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

pub struct GetSystemInfo;

impl Tool for GetSystemInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_system_info";
    const TITLE: &'static str = "System overview";
    const DESCRIPTION: &'static str = "Machine overview: OS, kernel, uptime, load, CPU model and \
        cores, memory. Fast.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, _ctx: ToolCtx, _params: Params) -> ToolResult<Output> {
        Ok(collect())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    async fn run() -> Output {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let params: Params = serde_json::from_str("{}").unwrap();
        GetSystemInfo.run(ctx, params).await.unwrap()
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
    }
}
