//! `get_memory_info`: RAM and swap figures from `/proc/meminfo`, in bytes and percent.
//!
//! `used` is `total - available` (memory the kernel cannot hand out without swapping; page cache
//! that can be dropped is not "used"), so `used_percent` matches what `free` and `htop` suggest.
//! Host figures: a cgroup memory limit, if any, is not applied. On a remote `host` it reads
//! `/proc/meminfo` with `cat` over SSH. Reads only; no side effects.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use skippy_remote::{Executor, Hosts};
use sysinfo::{MemoryRefreshKind, System};

use crate::common::{Meminfo, percent};
use crate::remote;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub total: u64,
    pub used: u64,
    pub available: u64,
    pub free: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub swap_free: u64,
    pub used_percent: f64,
    pub swap_used_percent: f64,
}

pub struct GetMemoryInfo {
    pub hosts: Arc<Hosts>,
}

impl Tool for GetMemoryInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_memory_info";
    const TITLE: &'static str = "Memory usage";
    const DESCRIPTION: &'static str = "RAM and swap usage.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let executor = remote::executor(&self.hosts, &ctx, params.host.as_deref())?;
        if let Executor::Local = executor {
            return local();
        }
        let script = remote::script(&[("meminfo", "cat /proc/meminfo")]);
        let sections = remote::run_script(&executor, &ctx, &script, 64 * 1024).await?;
        let meminfo = Meminfo::parse(sections.get("meminfo"))
            .ok_or_else(|| sections.missing("/proc/meminfo"))?;
        Ok(describe(meminfo))
    }
}

fn local() -> ToolResult<Output> {
    let mut system = System::new();
    system.refresh_memory_specifics(MemoryRefreshKind::everything());
    let total = system.total_memory();
    if total == 0 {
        return Err(ToolError::Unavailable(
            "memory figures are unavailable: /proc/meminfo cannot be read on this machine"
                .to_string(),
        ));
    }
    Ok(describe(Meminfo {
        total,
        available: system.available_memory(),
        free: system.free_memory(),
        swap_total: system.total_swap(),
        swap_free: system.free_swap(),
    }))
}

fn describe(memory: Meminfo) -> Output {
    let used = memory.total.saturating_sub(memory.available);
    let swap_used = memory.swap_total.saturating_sub(memory.swap_free);
    Output {
        total: memory.total,
        used,
        available: memory.available,
        free: memory.free,
        swap_total: memory.swap_total,
        swap_used,
        swap_free: memory.swap_free,
        used_percent: percent(used, memory.total),
        swap_used_percent: percent(swap_used, memory.swap_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    fn meminfo_bytes(text: &str, key: &str) -> u64 {
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{key}:")))
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    #[tokio::test]
    async fn matches_proc_meminfo() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = GetMemoryInfo {
            hosts: Arc::default(),
        };
        let output = tool.run(ctx, Params::default()).await.unwrap();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        // Totals do not move between two reads; free/available do, so only their relations are exact.
        assert_eq!(output.total, meminfo_bytes(&meminfo, "MemTotal"));
        assert_eq!(output.swap_total, meminfo_bytes(&meminfo, "SwapTotal"));
        assert_eq!(output.used, output.total - output.available);
        assert_eq!(output.swap_used, output.swap_total - output.swap_free);
        assert!(output.free > 0 && output.free <= output.total);
        assert_eq!(
            output.used_percent,
            percent(output.used, output.total),
            "{output:?}"
        );
        assert!((0.0..=100.0).contains(&output.used_percent));
        if output.swap_total == 0 {
            assert_eq!(output.swap_used_percent, 0.0);
        }
    }

    #[test]
    fn remote_figures_are_derived_like_local_ones() {
        let output = describe(Meminfo {
            total: 1000,
            available: 250,
            free: 100,
            swap_total: 400,
            swap_free: 300,
        });
        assert_eq!((output.used, output.swap_used), (750, 100));
        assert_eq!(
            (output.used_percent, output.swap_used_percent),
            (75.0, 25.0)
        );
    }

    #[tokio::test]
    async fn unknown_hosts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = GetMemoryInfo {
            hosts: Arc::default(),
        };
        let params = Params {
            host: Some("nowhere".into()),
        };
        let error = tool.run(ctx, params).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }
}
