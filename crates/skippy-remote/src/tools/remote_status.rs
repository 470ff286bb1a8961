//! `remote_status`: a one-call health overview of a host: hostname, uptime, load, memory and swap,
//! disks, the top 5 processes by CPU and by memory, and failed systemd units.
//!
//! One FIXED script (no model input) runs under `sh -c` on the host (locally for `local`) and
//! prints labelled sections, which are parsed here: `uname -n`, `/proc/uptime`, `/proc/loadavg`,
//! `/proc/meminfo`, `df -P -T -k` (GNU coreutils), `ps -eo ... --sort` (procps) and
//! `systemctl list-units --state=failed`. Linux hosts only. Memory `used` is `total - available`.
//! `cpu_percent` is ps's %CPU: CPU time over the process's lifetime, not an instant reading.
//! Pseudo file systems (tmpfs, devtmpfs, squashfs, proc, ...) are left out of `disks`. Without a
//! running systemd (`/run/systemd/system` missing) or `systemctl`, `systemd` is false and
//! `failed_units` is empty.
//!
//! Side effects: none (reads only).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};

use crate::tools::common::host_name;
use crate::{Hosts, RunOptions};

/// Marks the start of a section; also lets the process lists leave out the script itself.
const MARK: &str = "@@skippy-status:";
/// The script. FIXED: nothing from the call is ever put into it.
const SCRIPT: &str = r#"echo '@@skippy-status:hostname'; uname -n 2>/dev/null
echo '@@skippy-status:uptime'; cat /proc/uptime 2>/dev/null
echo '@@skippy-status:loadavg'; cat /proc/loadavg 2>/dev/null
echo '@@skippy-status:meminfo'; cat /proc/meminfo 2>/dev/null
echo '@@skippy-status:df'; df -P -T -k 2>/dev/null
echo '@@skippy-status:top_cpu'; ps -eo pid=,user:32=,pcpu=,pmem=,args= --sort=-pcpu 2>/dev/null | head -n 12
echo '@@skippy-status:top_memory'; ps -eo pid=,user:32=,pcpu=,pmem=,args= --sort=-pmem 2>/dev/null | head -n 12
echo '@@skippy-status:systemd'
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
echo yes; systemctl list-units --state=failed --no-legend --plain --no-pager 2>/dev/null
else echo no; fi
exit 0
"#;
/// Helper processes of the script, left out of the process lists.
const SELF_MARKERS: &[&str] = &[MARK, "pid=,user:32=,pcpu=,pmem=,args=", "head -n 12"];
const TOP: usize = 5;
const MAX_DISKS: usize = 100;
const MAX_UNITS: usize = 100;
/// Longest `command` kept per process, in characters.
const MAX_COMMAND_CHARS: usize = 200;
/// File system types that are not disks.
const PSEUDO_FS: &[&str] = &[
    "tmpfs",
    "devtmpfs",
    "devfs",
    "squashfs",
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "efivarfs",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "nsfs",
    "ramfs",
    "rpc_pipefs",
    "nfsd",
    "fuse.lxcfs",
    "fuse.snapfuse",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "none",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Load {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Memory {
    pub total: u64,
    pub used: u64,
    pub available: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Swap {
    pub total: u64,
    pub used: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Disk {
    pub mount_point: String,
    pub fs_type: String,
    pub size: u64,
    pub used: u64,
    pub available: u64,
    pub used_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ProcessEntry {
    pub pid: u32,
    pub user: String,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub command: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub host: String,
    pub hostname: String,
    pub uptime_seconds: u64,
    pub load: Load,
    pub memory: Memory,
    pub swap: Swap,
    pub disks: Vec<Disk>,
    pub top_cpu: Vec<ProcessEntry>,
    pub top_memory: Vec<ProcessEntry>,
    pub systemd: bool,
    pub failed_units: Vec<String>,
}

pub struct RemoteStatus {
    pub hosts: Arc<Hosts>,
}

impl Tool for RemoteStatus {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "remote_status";
    const TITLE: &'static str = "Host status";
    const DESCRIPTION: &'static str =
        "Health of a host: uptime, load, memory, disks, top processes, failed units.";
    const TOOLSET: Toolset = Toolset::Remote;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let name = host_name(&ctx, params.host.as_deref());
        let executor = self.hosts.executor(name)?;
        let options = RunOptions {
            timeout: Duration::from_secs(20).min(ctx.remaining()),
            max_output_bytes: 1024 * 1024,
            cwd: None,
            limits: None,
        };
        let output = executor.run_shell(SCRIPT, &options, &ctx.cancel).await?;
        parse_status(executor.host_name(), &output.stdout)
    }
}

/// Build the result from the script's output.
fn parse_status(host: &str, text: &str) -> ToolResult<Output> {
    let sections = split_sections(text);
    let section = |name: &str| sections.get(name).copied().unwrap_or("");
    let unavailable = |what: &str| {
        ToolError::Unavailable(format!(
            "host {host} gave no {what}; remote_status needs a Linux host with /proc (and coreutils, procps)"
        ))
    };
    let hostname = section("hostname").trim().to_string();
    if hostname.is_empty() {
        return Err(unavailable("host name (uname -n)"));
    }
    let uptime_seconds =
        parse_uptime(section("uptime")).ok_or_else(|| unavailable("/proc/uptime"))?;
    let load = parse_loadavg(section("loadavg")).ok_or_else(|| unavailable("/proc/loadavg"))?;
    let (memory, swap) =
        parse_meminfo(section("meminfo")).ok_or_else(|| unavailable("/proc/meminfo"))?;
    let (systemd, failed_units) = parse_systemd(section("systemd"));
    Ok(Output {
        host: host.to_string(),
        hostname,
        uptime_seconds,
        load,
        memory,
        swap,
        disks: parse_df(section("df")),
        top_cpu: parse_ps(section("top_cpu")),
        top_memory: parse_ps(section("top_memory")),
        systemd,
        failed_units,
    })
}

/// Section name -> body. Text before the first marker (login banners, shell start-up output) is
/// ignored.
fn split_sections(text: &str) -> HashMap<&str, &str> {
    let mut sections = HashMap::new();
    let mut rest = match text.find(MARK) {
        Some(start) => &text[start..],
        None => return sections,
    };
    while let Some(after) = rest.strip_prefix(MARK) {
        let (name, body_start) = match after.split_once('\n') {
            Some((name, body)) => (name, body),
            None => (after, ""),
        };
        let end = body_start.find(&format!("\n{MARK}")).map(|i| i + 1);
        let body = &body_start[..end.unwrap_or(body_start.len())];
        sections.insert(name.trim(), body);
        rest = match end {
            Some(end) => &body_start[end..],
            None => "",
        };
    }
    sections
}

/// `/proc/uptime`: `4030.16 2533.18` -> 4030.
fn parse_uptime(text: &str) -> Option<u64> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then_some(seconds as u64)
}

/// `/proc/loadavg`: `0.52 0.58 0.59 1/123 4567`.
fn parse_loadavg(text: &str) -> Option<Load> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    let mut next = || fields.next()?.ok().map(round2);
    Some(Load {
        one: next()?,
        five: next()?,
        fifteen: next()?,
    })
}

/// `/proc/meminfo` (kB values). Kernels before 3.14 lack MemAvailable: free + buffers + cached
/// stands in for it.
fn parse_meminfo(text: &str) -> Option<(Memory, Swap)> {
    let mut values: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if let Some(kib) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
        {
            values.insert(key.trim(), kib.saturating_mul(1024));
        }
    }
    let get = |key: &str| values.get(key).copied();
    let total = get("MemTotal").filter(|total| *total > 0)?;
    let available = get("MemAvailable")
        .unwrap_or_else(|| {
            get("MemFree").unwrap_or(0) + get("Buffers").unwrap_or(0) + get("Cached").unwrap_or(0)
        })
        .min(total);
    let swap_total = get("SwapTotal").unwrap_or(0);
    let swap_free = get("SwapFree").unwrap_or(0).min(swap_total);
    Some((
        Memory {
            total,
            used: total - available,
            available,
        },
        Swap {
            total: swap_total,
            used: swap_total - swap_free,
        },
    ))
}

/// `df -P -T -k`: `Filesystem Type 1024-blocks Used Available Capacity Mounted on`. The mount
/// point is everything after the sixth field (it may contain spaces).
fn parse_df(text: &str) -> Vec<Disk> {
    let mut disks = Vec::new();
    for line in text
        .lines()
        .skip_while(|line| !line.starts_with("Filesystem"))
        .skip(1)
    {
        let Some(disk) = parse_df_line(line) else {
            continue;
        };
        if disk.size == 0 || PSEUDO_FS.contains(&disk.fs_type.as_str()) {
            continue;
        }
        if disks.len() == MAX_DISKS {
            break;
        }
        disks.push(disk);
    }
    disks
}

fn parse_df_line(line: &str) -> Option<Disk> {
    let mut rest = line.trim_start();
    let mut fields = Vec::with_capacity(6);
    for _ in 0..6 {
        let end = rest.find(char::is_whitespace)?;
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    let mount_point = rest.trim_end();
    if !mount_point.starts_with('/') {
        return None;
    }
    let kib = |text: &str| text.parse::<u64>().ok().map(|k| k.saturating_mul(1024));
    let size = kib(fields[2])?;
    let used = kib(fields[3])?;
    let available = kib(fields[4])?;
    let usable = used + available;
    let used_percent = if usable == 0 {
        0.0
    } else {
        round1(used as f64 * 100.0 / usable as f64)
    };
    Some(Disk {
        mount_point: mount_point.to_string(),
        fs_type: fields[1].to_string(),
        size,
        used,
        available,
        used_percent,
    })
}

/// `ps -eo pid=,user:32=,pcpu=,pmem=,args=` lines, already sorted; the script's own helpers are
/// left out and the first five kept.
fn parse_ps(text: &str) -> Vec<ProcessEntry> {
    text.lines()
        .filter(|line| !SELF_MARKERS.iter().any(|marker| line.contains(marker)))
        .filter_map(parse_ps_line)
        .take(TOP)
        .collect()
}

fn parse_ps_line(line: &str) -> Option<ProcessEntry> {
    let mut rest = line.trim_start();
    let mut fields = Vec::with_capacity(4);
    for _ in 0..4 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    let command: String = rest.trim_end().chars().take(MAX_COMMAND_CHARS).collect();
    if command.is_empty() {
        return None;
    }
    Some(ProcessEntry {
        pid: fields[0].parse().ok()?,
        user: fields[1].to_string(),
        cpu_percent: fields[2].parse().ok()?,
        memory_percent: fields[3].parse().ok()?,
        command,
    })
}

/// The `systemd` section: `yes` then `systemctl list-units --state=failed --plain --no-legend`
/// lines (`unit load active sub description`), or `no`.
fn parse_systemd(text: &str) -> (bool, Vec<String>) {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("yes") {
        return (false, Vec::new());
    }
    let units = lines
        .filter_map(|line| {
            line.trim_start_matches(|c: char| c.is_whitespace() || c == '●' || c == '*')
                .split_whitespace()
                .next()
        })
        .take(MAX_UNITS)
        .map(str::to_string)
        .collect();
    (true, units)
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    /// Captured from Ubuntu 22.04 (coreutils 8.32, procps-ng 3.3.17, systemd 249), with a login
    /// banner printed by the user's shell start-up files before the first section.
    const UBUNTU: &str = "Welcome to web-1!\n\
@@skippy-status:hostname\nweb-1\n\
@@skippy-status:uptime\n351208.42 1371002.17\n\
@@skippy-status:loadavg\n0.08 0.13 0.10 1/412 994213\n\
@@skippy-status:meminfo\nMemTotal:        4014840 kB\nMemFree:          231176 kB\nMemAvailable:    2861420 kB\n\
Buffers:          150444 kB\nCached:          2318248 kB\nSwapCached:         1024 kB\nSwapTotal:       2097148 kB\n\
SwapFree:        1835004 kB\n\
@@skippy-status:df\n\
Filesystem     Type     1024-blocks     Used Available Capacity Mounted on\n\
tmpfs          tmpfs         401484     1176    400308       1% /run\n\
/dev/sda1      ext4        81106868 23512948  57577536      29% /\n\
tmpfs          tmpfs        2007420        0   2007420       0% /dev/shm\n\
/dev/loop0     squashfs       64768    64768         0     100% /snap/core20/2015\n\
/dev/sda15     vfat          106858     6182    100676       6% /boot/efi\n\
/dev/sdb1      ext4       103080224 98765432         0     100% /mnt/backup disk\n\
@@skippy-status:top_cpu\n\
 994212 dave                              0.0  0.0 ps -eo pid=,user:32=,pcpu=,pmem=,args= --sort=-pcpu\n\
   1342 mysql                            12.5 10.4 /usr/sbin/mysqld\n\
   2211 www-data                          3.1  2.2 php-fpm: pool www\n\
      1 root                              0.0  0.3 /sbin/init\n\
 994210 dave                              0.0  0.0 sh -c echo '@@skippy-status:hostname'; uname -n\n\
     17 root                              0.0  0.0 [ksoftirqd/1]\n\
   2213 www-data                          0.0  1.9 php-fpm: pool www\n\
   4410 systemd-timesync                  0.0  0.1 /lib/systemd/systemd-timesyncd\n\
@@skippy-status:top_memory\n\
   1342 mysql                            12.5 10.4 /usr/sbin/mysqld\n\
   2211 www-data                          3.1  2.2 php-fpm: pool www\n\
@@skippy-status:systemd\nyes\n\
certbot.service      loaded failed failed Certbot\n\
logrotate.service    loaded failed failed Rotate log files\n";

    #[test]
    fn parses_a_captured_ubuntu_sample() {
        let output = parse_status("web", UBUNTU).unwrap();
        assert_eq!(output.hostname, "web-1");
        assert_eq!(output.uptime_seconds, 351_208);
        assert_eq!(
            output.load,
            Load {
                one: 0.08,
                five: 0.13,
                fifteen: 0.10
            }
        );
        assert_eq!(
            output.memory,
            Memory {
                total: 4_014_840 * 1024,
                used: (4_014_840 - 2_861_420) * 1024,
                available: 2_861_420 * 1024
            }
        );
        assert_eq!(
            output.swap,
            Swap {
                total: 2_097_148 * 1024,
                used: (2_097_148 - 1_835_004) * 1024
            }
        );
        let mounts: Vec<&str> = output
            .disks
            .iter()
            .map(|d| d.mount_point.as_str())
            .collect();
        assert_eq!(mounts, ["/", "/boot/efi", "/mnt/backup disk"]);
        assert_eq!(
            output.disks[0],
            Disk {
                mount_point: "/".into(),
                fs_type: "ext4".into(),
                size: 81_106_868 * 1024,
                used: 23_512_948 * 1024,
                available: 57_577_536 * 1024,
                used_percent: 29.0,
            }
        );
        assert_eq!(output.disks[2].used_percent, 100.0);
        let pids: Vec<u32> = output.top_cpu.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1342, 2211, 1, 17, 2213]);
        assert_eq!(
            output.top_cpu[1],
            ProcessEntry {
                pid: 2211,
                user: "www-data".into(),
                cpu_percent: 3.1,
                memory_percent: 2.2,
                command: "php-fpm: pool www".into()
            }
        );
        assert_eq!(output.top_memory.len(), 2);
        assert!(output.systemd);
        assert_eq!(
            output.failed_units,
            ["certbot.service", "logrotate.service"]
        );
    }

    /// Debian 12 in a container: no systemd, an old kernel's meminfo without MemAvailable, no
    /// swap, and a Debian 12 `df` (coreutils 9.1).
    #[test]
    fn parses_debian_without_systemd_or_memavailable() {
        let text = "@@skippy-status:hostname\nvm\n@@skippy-status:uptime\n4030.16 2533.18\n\
@@skippy-status:loadavg\n3.77 3.04 2.88 1/92 3105\n\
@@skippy-status:meminfo\nMemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n\
@@skippy-status:df\nFilesystem              Type     1024-blocks     Used Available Capacity Mounted on\n\
devtmpfs                devtmpfs    12334524        0  12334524       0% /dev\n\
/dev/vda                ext4       264212084 31037280  64248608      33% /\n\
@@skippy-status:top_cpu\n@@skippy-status:top_memory\n@@skippy-status:systemd\nno\n";
        let output = parse_status("local", text).unwrap();
        assert_eq!(output.uptime_seconds, 4030);
        assert_eq!(output.memory.available, 400 * 1024);
        assert_eq!(output.memory.used, 600 * 1024);
        assert_eq!(output.swap, Swap { total: 0, used: 0 });
        assert_eq!(output.disks.len(), 1);
        assert_eq!(output.disks[0].used_percent, 32.6);
        assert!(output.top_cpu.is_empty());
        assert!(!output.systemd);
        assert!(output.failed_units.is_empty());
    }

    #[test]
    fn missing_proc_is_unavailable() {
        let error = parse_status("bsd", "@@skippy-status:hostname\nbsd\n").unwrap_err();
        assert_eq!(error.code(), "unavailable");
        assert_eq!(parse_status("x", "").unwrap_err().code(), "unavailable");
    }

    #[test]
    fn line_parsers_refuse_garbage() {
        assert_eq!(parse_ps_line("abc root 1 2 x"), None);
        assert_eq!(parse_ps_line("  12 root 1.0 2.0"), None);
        assert_eq!(parse_df_line("/dev/x ext4 1 2 3"), None);
        assert_eq!(parse_uptime("-1"), None);
        assert_eq!(parse_loadavg("1 2"), None);
        let long = format!("5 u 0.0 0.0 {}", "y".repeat(500));
        assert_eq!(
            parse_ps_line(&long).unwrap().command.len(),
            MAX_COMMAND_CHARS
        );
    }

    #[tokio::test]
    async fn reports_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = RemoteStatus {
            hosts: Arc::new(Hosts::default()),
        };
        let output = tool.run(ctx, Params { host: None }).await.unwrap();
        assert_eq!(output.host, "local");
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(output.hostname, hostname.trim());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        assert_eq!(
            output.memory.total,
            parse_meminfo(&meminfo).unwrap().0.total
        );
        assert!(!output.disks.is_empty());
        assert!(output.top_cpu.len() <= TOP);
        assert!(
            output.top_cpu.iter().all(|p| !p.command.contains(MARK)),
            "{:?}",
            output.top_cpu
        );
    }
}
