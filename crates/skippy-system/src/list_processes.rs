//! `list_processes`: the processes of this machine (not their threads), filtered, ranked and paged.
//!
//! CPU usage is really sampled: the process table is read, the call waits `sample_ms` (default 200,
//! at most 2000; cancellable), reads it again, and each process's CPU time gained in between is
//! divided by the wall time elapsed, so 100 means one full core (like `top`; at most 100 x cores).
//! `sample_ms: 0` skips the wait and reports the average over each process's lifetime (like `ps`).
//! Memory is the resident set size. Command lines are masked before anything else sees them
//! (secret-looking options such as `--password=x`, then every secret Skippy knows) and cut to
//! about 300 bytes; `name_filter` matches the masked text, so it cannot be used to probe secrets.
//! Kernel threads, which have no command line, show as `[name]`. Results are cut at `limit` and at
//! the output cap; `next_offset` continues the same ranking. Reads only; no side effects.
//!
//! On a remote `host` one fixed script reads every `/proc/<pid>/stat` before and after a remote
//! `sleep`, so `cpu_percent` means the same there (sampled, or lifetime with `sample_ms: 0`); user,
//! memory, status, start time and command line come from procps `ps`. `ps` joins the arguments
//! with spaces, so remote masking works on space-separated words. The script's own processes are
//! left out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp::{self, Clamped};
use skippy_core::limits::{Budget, json_len, truncate_utf8};
use skippy_core::redact::mask_command_line;
use skippy_core::time::rfc3339_from_unix;
use skippy_core::{Annotations, Config, Tool, ToolCtx, ToolResult, Toolset, check_cancelled};
use skippy_remote::{Executor, Hosts};
use sysinfo::{
    MemoryRefreshKind, Pid, Process, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System,
    ThreadKind, UpdateKind,
};
use tokio_util::sync::CancellationToken;

use crate::common::{Meminfo, percent, round1, sample_wait};
use crate::remote::{self, Sections, split_fields};

const DEFAULT_LIMIT: u64 = 25;
const MAX_LIMIT: u64 = 500;
const DEFAULT_SAMPLE_MS: u64 = 200;
const MAX_SAMPLE_MS: u64 = 2000;
/// Command lines longer than this (in bytes) are cut, and end with `…`.
const MAX_COMMAND_BYTES: usize = 300;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Name or command substring, any case
    #[serde(default)]
    pub name_filter: Option<String>,
    /// Default cpu
    #[serde(default)]
    pub sort_by: SortBy,
    /// Default 25, max 500 (larger is clamped)
    #[serde(default)]
    pub limit: Option<u64>,
    /// From next_offset
    #[serde(default)]
    pub offset: Option<u64>,
    /// Default 200, max 2000 (larger is clamped); 0: lifetime average
    #[serde(default)]
    pub sample_ms: Option<u64>,
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum SortBy {
    #[default]
    Cpu,
    Memory,
    Pid,
    Name,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub processes: Vec<ProcessInfo>,
    /// Processes matching the filter
    pub total_processes: usize,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_clamped_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_ms_clamped_to: Option<u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ProcessInfo {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// 100 = one core
    pub cpu_percent: f64,
    /// RSS
    pub memory_bytes: u64,
    pub memory_percent: f64,
    pub status: String,
    pub started_at: String,
    pub command: String,
}

pub struct ListProcesses {
    pub hosts: Arc<Hosts>,
}

impl Tool for ListProcesses {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "list_processes";
    const TITLE: &'static str = "List processes";
    const DESCRIPTION: &'static str =
        "Processes with sampled CPU %, memory, user, command; filter, sort, page.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let host = params.host.clone();
        let request = Request::from_params(params, ctx.max_output_bytes())?;
        let executor = remote::executor(&self.hosts, &ctx, host.as_deref())?;
        if !matches!(executor, Executor::Local) {
            let script = remote_script(request.sample_ms.value);
            let sections =
                remote::run_script(&executor, &ctx, &script, REMOTE_OUTPUT_BYTES).await?;
            let config = Arc::clone(&ctx.config);
            return ctx
                .blocking(move |cancel| {
                    let rows = remote_rows(&sections, &config, &request, &cancel)?;
                    Ok(request.page(rows))
                })
                .await;
        }
        let mut first = ctx
            .blocking(|_| {
                // sysinfo may keep /proc/<pid>/stat open for later refreshes; this call lives a
                // moment only, so holding hundreds of descriptors buys nothing.
                sysinfo::set_open_files_limit(0);
                let mut system = System::new();
                system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
                system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
                Ok(Snapshot::take(system))
            })
            .await?;
        let sample_ms = request.sample_ms.value;
        if sample_ms > 0 {
            sample_wait(&ctx, Duration::from_millis(sample_ms)).await?;
        }
        let config = Arc::clone(&ctx.config);
        ctx.blocking(move |cancel| {
            let cpu = if sample_ms == 0 {
                CpuBasis::Lifetime
            } else {
                CpuBasis::Sampled(first.refresh())
            };
            let rows = rows(&first.system, &cpu, &config, &request, &cancel)?;
            Ok(request.page(rows))
        })
        .await
    }
}

/// Validated arguments.
#[derive(Debug)]
struct Request {
    /// Lower-cased filter; `None` when absent or blank.
    filter: Option<String>,
    sort_by: SortBy,
    limit: Clamped<u64>,
    offset: usize,
    sample_ms: Clamped<u64>,
    max_output_bytes: usize,
}

impl Request {
    fn from_params(params: Params, max_output_bytes: usize) -> ToolResult<Self> {
        let limit = clamp::limit("limit", params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let sample_ms = clamp::range(
            "sample_ms",
            params.sample_ms,
            DEFAULT_SAMPLE_MS,
            0,
            MAX_SAMPLE_MS,
        )?;
        let offset = params.offset.unwrap_or(0);
        let filter = params
            .name_filter
            .map(|filter| filter.trim().to_lowercase())
            .filter(|filter| !filter.is_empty());
        Ok(Self {
            filter,
            sort_by: params.sort_by,
            limit,
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            sample_ms,
            max_output_bytes,
        })
    }

    /// Whether a process with this (masked) name and command line passes the filter.
    fn matches(&self, name: &str, command: &str) -> bool {
        self.filter.as_deref().is_none_or(|filter| {
            name.to_lowercase().contains(filter) || command.to_lowercase().contains(filter)
        })
    }

    /// Sort, then take `limit` rows from `offset` that fit the output cap.
    fn page(&self, mut rows: Vec<ProcessInfo>) -> Output {
        sort(&mut rows, self.sort_by);
        let total = rows.len();
        let mut budget = Budget::for_output(self.max_output_bytes);
        let processes: Vec<ProcessInfo> = rows
            .into_iter()
            .skip(self.offset)
            .take(usize::try_from(self.limit.value).unwrap_or(usize::MAX))
            .take_while(|row| budget.take(row_cost(row)))
            .collect();
        let end = self.offset.saturating_add(processes.len());
        let truncated = end < total;
        Output {
            processes,
            total_processes: total,
            truncated,
            next_offset: truncated.then_some(end),
            limit_clamped_to: self.limit.clamped_to,
            sample_ms_clamped_to: self.sample_ms.clamped_to,
        }
    }
}

/// What each read refreshes: CPU time and memory every time; command line and owner only for
/// processes not seen before (they do not change).
fn refresh_kind() -> ProcessRefreshKind {
    ProcessRefreshKind::nothing()
        .with_cpu()
        .with_memory()
        .with_cmd(UpdateKind::OnlyIfNotSet)
        .with_user(UpdateKind::OnlyIfNotSet)
        .without_tasks()
}

/// The process table after the first read, with each process's CPU time at that moment.
struct Snapshot {
    system: System,
    cpu_ms: HashMap<Pid, u64>,
    at: Instant,
}

impl Snapshot {
    fn take(system: System) -> Self {
        let cpu_ms = system
            .processes()
            .iter()
            .map(|(pid, process)| (*pid, process.accumulated_cpu_time()))
            .collect();
        Self {
            system,
            cpu_ms,
            at: Instant::now(),
        }
    }

    /// Read the table again and return each process's CPU time gained since, in ms, with the
    /// wall time elapsed. A process born in between gained all of its CPU time in the window.
    fn refresh(&mut self) -> Sample {
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::All, true, refresh_kind());
        let elapsed = self.at.elapsed();
        let gained = self
            .system
            .processes()
            .iter()
            .map(|(pid, process)| {
                let before = self.cpu_ms.get(pid).copied().unwrap_or(0);
                (*pid, process.accumulated_cpu_time().saturating_sub(before))
            })
            .collect();
        Sample { gained, elapsed }
    }
}

struct Sample {
    gained: HashMap<Pid, u64>,
    elapsed: Duration,
}

enum CpuBasis {
    Sampled(Sample),
    /// No sample: CPU time over the time since the process started.
    Lifetime,
}

impl CpuBasis {
    fn percent(&self, pid: Pid, process: &Process, now_unix: u64, max: f64) -> f64 {
        let (cpu_ms, wall_ms) = match self {
            CpuBasis::Sampled(sample) => (
                sample.gained.get(&pid).copied().unwrap_or(0),
                sample.elapsed.as_millis(),
            ),
            CpuBasis::Lifetime => (
                process.accumulated_cpu_time(),
                u128::from(now_unix.saturating_sub(process.start_time())) * 1000,
            ),
        };
        if wall_ms == 0 {
            return 0.0;
        }
        round1((cpu_ms as f64 * 100.0 / wall_ms as f64).min(max))
    }
}

/// One output row per process that matches the filter, unsorted.
fn rows(
    system: &System,
    cpu: &CpuBasis,
    config: &Config,
    request: &Request,
    cancel: &CancellationToken,
) -> ToolResult<Vec<ProcessInfo>> {
    let users = UserNames::new();
    let total_memory = system.total_memory();
    let cores = system.cpus().len().max(1);
    let max_percent = 100.0 * cores as f64;
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| now.as_secs())
        .unwrap_or(0);
    let mut rows = Vec::new();
    for (index, (pid, process)) in system.processes().iter().enumerate() {
        if index % 256 == 0 {
            check_cancelled(cancel)?;
        }
        if process.thread_kind() == Some(ThreadKind::Userland) {
            continue;
        }
        let name = config
            .secrets
            .mask(&process.name().to_string_lossy())
            .into_owned();
        let command = masked_command(process, &name, config);
        if !request.matches(&name, &command) {
            continue;
        }
        rows.push(ProcessInfo {
            pid: pid.as_u32(),
            ppid: process.parent().map(Pid::as_u32),
            user: process.user_id().map(|uid| users.name(**uid)),
            cpu_percent: cpu.percent(*pid, process, now_unix, max_percent),
            memory_bytes: process.memory(),
            memory_percent: percent(process.memory(), total_memory),
            status: status_name(process.status()).to_string(),
            started_at: rfc3339_from_unix(process.start_time()),
            command: cut(command),
            name,
        });
    }
    Ok(rows)
}

/// The command line with secret-looking options and known secrets masked; `[name]` when empty.
fn masked_command(process: &Process, name: &str, config: &Config) -> String {
    let args: Vec<String> = process
        .cmd()
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    if args.iter().all(|arg| arg.is_empty()) {
        return format!("[{name}]");
    }
    let joined = mask_command_line(&args).join(" ");
    config.secrets.mask(&joined).into_owned()
}

fn cut(command: String) -> String {
    if command.len() <= MAX_COMMAND_BYTES {
        return command;
    }
    format!("{}…", truncate_utf8(&command, MAX_COMMAND_BYTES))
}

fn sort(rows: &mut [ProcessInfo], sort_by: SortBy) {
    match sort_by {
        SortBy::Cpu => rows.sort_by(|a, b| {
            b.cpu_percent
                .total_cmp(&a.cpu_percent)
                .then(a.pid.cmp(&b.pid))
        }),
        SortBy::Memory => {
            rows.sort_by(|a, b| b.memory_bytes.cmp(&a.memory_bytes).then(a.pid.cmp(&b.pid)))
        }
        SortBy::Pid => rows.sort_by_key(|row| row.pid),
        SortBy::Name => rows.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.pid.cmp(&b.pid))
        }),
    }
}

/// Approximate JSON size of one row.
fn row_cost(row: &ProcessInfo) -> usize {
    const FIXED: usize = 220;
    FIXED
        + json_len(&row.name)
        + json_len(&row.command)
        + row.user.as_deref().map_or(0, json_len)
        + json_len(&row.status)
        + json_len(&row.started_at)
}

/// Remote inspection data: ps's and /proc's output for hundreds of processes, twice.
const REMOTE_OUTPUT_BYTES: usize = 32 * 1024 * 1024;

/// The remote script. `self` is the script's shell: it and its children (ps, cat, sleep) are left
/// out of the listing. Without a sample, /proc is read once.
fn remote_script(sample_ms: u64) -> String {
    let sleep = remote::sleep_command(sample_ms);
    let mut steps = vec![
        ("self", "echo $$"),
        ("now", "date +%s"),
        ("clock_ticks", "getconf CLK_TCK"),
        ("cpus", "grep -c '^cpu[0-9]' /proc/stat"),
        ("meminfo", "grep '^MemTotal:' /proc/meminfo"),
        ("uptime1", "cat /proc/uptime"),
        ("stat1", "cat /proc/[0-9]*/stat 2>/dev/null"),
    ];
    if sample_ms > 0 {
        steps.extend([
            ("sleep", sleep.as_str()),
            ("uptime2", "cat /proc/uptime"),
            ("stat2", "cat /proc/[0-9]*/stat 2>/dev/null"),
        ]);
    }
    steps.extend([
        // comm may hold spaces, so it comes last in a listing of its own.
        ("comm", "ps -eo pid=,comm="),
        ("ps", "ps -eo pid=,ppid=,user:64=,rss=,stat=,etimes=,args="),
    ]);
    remote::script(&steps)
}

/// CPU ticks of one process from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcTimes {
    /// utime + stime.
    ticks: u64,
    /// Start, in ticks after boot.
    start: u64,
}

/// Parse concatenated `/proc/<pid>/stat` files: `pid (comm) state ppid ...`, comm ending at the
/// last `)`. A comm may hold a newline (15 bytes at most): a line is taken only when the line
/// before it ended a record, so the tail of a name can never pass for another process.
fn parse_proc_stats(text: &str) -> HashMap<u32, ProcTimes> {
    let mut times = HashMap::new();
    let mut after_record_end = true;
    for line in text.lines() {
        let Some((head, tail)) = line.rsplit_once(')') else {
            after_record_end = false;
            continue;
        };
        let fields: Vec<&str> = tail.split_ascii_whitespace().collect();
        let ends_record = fields.len() >= 20;
        if after_record_end && ends_record {
            let pid = head
                .split_once(" (")
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            let number = |index: usize| fields[index].parse::<u64>().ok();
            if let (Some(pid), Some(utime), Some(stime), Some(start)) =
                (pid, number(11), number(12), number(19))
            {
                times.entry(pid).or_insert(ProcTimes {
                    ticks: utime.saturating_add(stime),
                    start,
                });
            }
        }
        after_record_end = ends_record;
    }
    times
}

/// The remote script's output as unsorted rows, filtered and masked exactly like local ones.
fn remote_rows(
    sections: &Sections,
    config: &Config,
    request: &Request,
    cancel: &CancellationToken,
) -> ToolResult<Vec<ProcessInfo>> {
    let number = |name: &str| sections.get(name).trim().parse::<u64>().ok();
    let seconds = |name: &str| {
        let text = sections.get(name);
        text.split_whitespace().next()?.parse::<f64>().ok()
    };
    let (Some(now), Some(clock_ticks), Some(uptime1)) =
        (number("now"), number("clock_ticks"), seconds("uptime1"))
    else {
        return Err(sections.missing("the clock, CLK_TCK and /proc/uptime"));
    };
    let ticks_per_second = clock_ticks.max(1) as f64;
    let cores = number("cpus").unwrap_or(1).max(1);
    let max_percent = 100.0 * cores as f64;
    let total_memory = Meminfo::parse(sections.get("meminfo")).map_or(0, |memory| memory.total);
    let self_pid = number("self").and_then(|pid| u32::try_from(pid).ok());
    let before = parse_proc_stats(sections.get("stat1"));
    let sample = seconds("uptime2")
        .map(|uptime2| (parse_proc_stats(sections.get("stat2")), uptime2 - uptime1));
    let cpu_percent = |pid: u32| -> f64 {
        let (cpu_ticks, wall_seconds) = match &sample {
            Some((after, elapsed)) => {
                let Some(after) = after.get(&pid) else {
                    return 0.0;
                };
                let old = before.get(&pid).map_or(0, |times| times.ticks);
                (after.ticks.saturating_sub(old), *elapsed)
            }
            None => {
                let Some(times) = before.get(&pid) else {
                    return 0.0;
                };
                (times.ticks, uptime1 - times.start as f64 / ticks_per_second)
            }
        };
        if wall_seconds <= 0.0 {
            return 0.0;
        }
        round1((cpu_ticks as f64 / ticks_per_second * 100.0 / wall_seconds).min(max_percent))
    };
    let names: HashMap<u32, &str> = sections
        .get("comm")
        .lines()
        .filter_map(|line| {
            let (fields, comm) = split_fields(line, 1)?;
            Some((fields[0].parse().ok()?, comm))
        })
        .collect();
    let mut rows = Vec::new();
    for (index, line) in sections.get("ps").lines().enumerate() {
        if index % 256 == 0 {
            check_cancelled(cancel)?;
        }
        let Some((fields, args)) = split_fields(line, 6) else {
            continue;
        };
        let (Ok(pid), Ok(ppid), Ok(rss_kib), Ok(elapsed)) = (
            fields[0].parse::<u32>(),
            fields[1].parse::<u32>(),
            fields[3].parse::<u64>(),
            fields[5].parse::<u64>(),
        ) else {
            continue;
        };
        if self_pid.is_some_and(|own| pid == own || ppid == own) {
            continue;
        }
        let raw_name = names.get(&pid).copied().unwrap_or_else(|| {
            let program = args.split(' ').next().unwrap_or_default();
            program.rsplit('/').next().unwrap_or(program)
        });
        let name = config.secrets.mask(raw_name).into_owned();
        let command = masked_args(args, &name, config);
        if !request.matches(&name, &command) {
            continue;
        }
        let memory_bytes = rss_kib.saturating_mul(1024);
        rows.push(ProcessInfo {
            pid,
            ppid: (ppid != 0).then_some(ppid),
            name,
            user: Some(fields[2].to_string()),
            cpu_percent: cpu_percent(pid),
            memory_bytes,
            memory_percent: percent(memory_bytes, total_memory),
            status: ps_status_name(fields[4]).to_string(),
            started_at: rfc3339_from_unix(now.saturating_sub(elapsed)),
            command: cut(command),
        });
    }
    if rows.is_empty() && request.filter.is_none() {
        return Err(sections.missing("a process list from `ps`"));
    }
    Ok(rows)
}

/// ps's command line with secret-looking options and known secrets masked; `[name]` when empty.
fn masked_args(args: &str, name: &str, config: &Config) -> String {
    if args.trim().is_empty() {
        return format!("[{name}]");
    }
    let words: Vec<String> = args.split(' ').map(String::from).collect();
    let joined = mask_command_line(&words).join(" ");
    config.secrets.mask(&joined).into_owned()
}

/// The state letter of ps's `stat` column (its first character) in the words of [`status_name`].
fn ps_status_name(stat: &str) -> &'static str {
    match stat.chars().next() {
        Some('R') => "running",
        Some('S') => "sleeping",
        Some('D') => "disk_sleep",
        Some('Z') => "zombie",
        Some('T') => "stopped",
        Some('t') => "tracing",
        Some('X' | 'x') => "dead",
        Some('I') => "idle",
        Some('K') => "wakekill",
        Some('W') => "waking",
        Some('P') => "parked",
        _ => "unknown",
    }
}

/// Linux states in words (`ps` letters: R S D Z T t X I).
fn status_name(status: ProcessStatus) -> &'static str {
    match status {
        ProcessStatus::Run => "running",
        ProcessStatus::Sleep => "sleeping",
        ProcessStatus::UninterruptibleDiskSleep => "disk_sleep",
        ProcessStatus::Zombie => "zombie",
        ProcessStatus::Stop => "stopped",
        ProcessStatus::Tracing => "tracing",
        ProcessStatus::Dead => "dead",
        ProcessStatus::Idle => "idle",
        ProcessStatus::Wakekill => "wakekill",
        ProcessStatus::Waking => "waking",
        ProcessStatus::Parked => "parked",
        ProcessStatus::LockBlocked => "lock_blocked",
        _ => "unknown",
    }
}

/// User names by uid, looked up like `ps` does (`getpwuid`: the first account with that uid, so
/// an alias of uid 0 never renames root), cached for the call; the number when there is no account.
struct UserNames {
    looked_up: std::cell::RefCell<HashMap<u32, String>>,
}

impl UserNames {
    fn new() -> Self {
        Self {
            looked_up: std::cell::RefCell::new(HashMap::new()),
        }
    }

    fn name(&self, uid: u32) -> String {
        self.looked_up
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| {
                nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                    .ok()
                    .flatten()
                    .map_or_else(|| uid.to_string(), |user| user.name)
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::common::test_ctx as ctx;

    fn params() -> Params {
        Params {
            name_filter: None,
            sort_by: SortBy::Cpu,
            limit: None,
            offset: None,
            sample_ms: Some(50),
            host: None,
        }
    }

    fn tool() -> ListProcesses {
        ListProcesses {
            hosts: Arc::default(),
        }
    }

    fn own_name() -> String {
        std::fs::read_to_string("/proc/self/comm")
            .unwrap()
            .trim()
            .to_string()
    }

    #[tokio::test]
    async fn finds_the_test_process_by_pid_and_by_name_filter() {
        let (_dir, ctx) = ctx();
        let own = std::process::id();
        let output = tool()
            .run(
                ctx,
                Params {
                    name_filter: Some(own_name().to_uppercase()),
                    limit: Some(500),
                    ..params()
                },
            )
            .await
            .unwrap();
        let me = output
            .processes
            .iter()
            .find(|process| process.pid == own)
            .unwrap();
        assert_eq!(me.name, own_name());
        assert_eq!(me.ppid, Some(nix::unistd::getppid().as_raw() as u32));
        // Several accounts may share a uid (test machines add a second uid 0): any of them will do.
        let user = me.user.as_deref().unwrap();
        let uid = nix::unistd::getuid();
        let resolved = nix::unistd::User::from_name(user)
            .unwrap()
            .map_or_else(|| user.to_string(), |user| user.uid.to_string());
        assert_eq!(resolved, uid.to_string());
        assert!(me.memory_bytes > 0);
        assert!(me.command.contains(&own_name()) || me.command.contains("skippy_system"));
        assert!(chrono::DateTime::parse_from_rfc3339(&me.started_at).is_ok());
        // Every row matches the filter.
        let needle = own_name().to_lowercase();
        for process in &output.processes {
            assert!(
                process.name.to_lowercase().contains(&needle)
                    || process.command.to_lowercase().contains(&needle),
                "{process:?}"
            );
        }
        assert_eq!(output.total_processes, output.processes.len());
    }

    #[tokio::test]
    async fn respects_sort_and_limit_and_pages_without_gaps() {
        let (_dir, ctx) = ctx();
        let first = tool()
            .run(
                ctx.clone(),
                Params {
                    sort_by: SortBy::Pid,
                    limit: Some(2),
                    sample_ms: Some(0),
                    ..params()
                },
            )
            .await
            .unwrap();
        assert_eq!(first.processes.len(), 2);
        assert!(first.processes[0].pid < first.processes[1].pid);
        assert!(first.total_processes > 2);
        assert!(first.truncated);
        assert_eq!(first.next_offset, Some(2));

        let second = tool()
            .run(
                ctx,
                Params {
                    sort_by: SortBy::Pid,
                    limit: Some(2),
                    offset: first.next_offset.map(|offset| offset as u64),
                    sample_ms: Some(0),
                    ..params()
                },
            )
            .await
            .unwrap();
        // The page goes on from where the first ended (pids ascend across the pages).
        assert!(second.processes[0].pid > first.processes[1].pid);
    }

    #[tokio::test]
    async fn memory_and_cpu_rankings_descend() {
        for sort_by in [SortBy::Memory, SortBy::Cpu, SortBy::Name] {
            let (_dir, ctx) = ctx();
            let output = tool()
                .run(
                    ctx,
                    Params {
                        sort_by,
                        limit: Some(10),
                        ..params()
                    },
                )
                .await
                .unwrap();
            assert!(output.processes.len() <= 10);
            let cores = std::thread::available_parallelism()
                .unwrap()
                .get()
                .max(parse_cores()) as f64;
            for pair in output.processes.windows(2) {
                match sort_by {
                    SortBy::Memory => assert!(pair[0].memory_bytes >= pair[1].memory_bytes),
                    SortBy::Cpu => assert!(pair[0].cpu_percent >= pair[1].cpu_percent),
                    _ => assert!(pair[0].name.to_lowercase() <= pair[1].name.to_lowercase()),
                }
            }
            for process in &output.processes {
                assert!((0.0..=100.0 * cores).contains(&process.cpu_percent));
                assert!((0.0..=100.0).contains(&process.memory_percent));
            }
        }
    }

    fn parse_cores() -> usize {
        std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .filter(|line| line.starts_with("cpu") && !line.starts_with("cpu "))
            .count()
    }

    #[tokio::test]
    async fn a_busy_child_is_ranked_by_sampled_cpu() {
        let (_dir, ctx) = ctx();
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let output = tool()
            .run(
                ctx,
                Params {
                    limit: Some(500),
                    sample_ms: Some(500),
                    ..params()
                },
            )
            .await;
        child.kill().unwrap();
        child.wait().unwrap();
        let output = output.unwrap();
        let busy = output
            .processes
            .iter()
            .find(|process| process.pid == child.id())
            .unwrap();
        // A shell spinning for the whole sample used CPU; the old server reported 0 for everyone.
        assert!(busy.cpu_percent > 0.0, "{busy:?}");
        assert_eq!(busy.status, "running");
    }

    #[tokio::test]
    async fn secrets_in_command_lines_are_masked_and_not_searchable() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.secrets.add("s3cr3t-known-value");
        let ctx = ToolCtx::for_tests(config);
        // `; :` keeps the shell from exec-ing sleep, so its own command line stays visible.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "sleep 30; :",
                "sh",
                "--password=hunter2x",
                "s3cr3t-known-value",
            ])
            .spawn()
            .unwrap();
        let tool = tool();
        let listing = |filter: &str| {
            tool.run(
                ctx.clone(),
                Params {
                    name_filter: Some(filter.into()),
                    sample_ms: Some(0),
                    limit: Some(500),
                    ..params()
                },
            )
        };
        let by_mask = listing("--password=********").await.unwrap();
        let by_secret = listing("hunter2x").await.unwrap();
        let by_known = listing("s3cr3t-known").await.unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let shown = by_mask
            .processes
            .iter()
            .find(|process| process.pid == child.id())
            .unwrap();
        assert_eq!(
            shown.command,
            "sh -c sleep 30; : sh --password=******** ********"
        );
        assert!(by_secret.processes.iter().all(|p| p.pid != child.id()));
        assert!(by_known.processes.iter().all(|p| p.pid != child.id()));
    }

    #[tokio::test]
    async fn invalid_arguments_are_refused() {
        let (_dir, ctx) = ctx();
        let zero = Params {
            limit: Some(0),
            ..params()
        };
        let error = tool().run(ctx, zero).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let unknown = serde_json::from_str::<Params>(r#"{"sort_by": "rss"}"#);
        assert!(unknown.is_err());
        let parsed: Params = serde_json::from_str(r#"{"sort_by": "memory"}"#).unwrap();
        assert_eq!(parsed.sort_by, SortBy::Memory);
    }

    #[test]
    fn defect_limits_are_clamped_not_refused() {
        let large = Params {
            limit: Some(u64::MAX),
            sample_ms: Some(60_000),
            ..params()
        };
        let request = Request::from_params(large, 256 * 1024).unwrap();
        assert_eq!(request.limit.value, MAX_LIMIT);
        assert_eq!(request.sample_ms.value, MAX_SAMPLE_MS);
        let row = |pid: u32| ProcessInfo {
            pid,
            ppid: None,
            name: "worker".into(),
            user: None,
            cpu_percent: 0.0,
            memory_bytes: 1,
            memory_percent: 0.0,
            status: "sleeping".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            command: "worker".into(),
        };
        let rows: Vec<ProcessInfo> = (1..=501).map(row).collect();
        let output = request.page(rows);
        assert_eq!(output.processes.len(), 500);
        assert_eq!(output.limit_clamped_to, Some(MAX_LIMIT));
        assert_eq!(output.sample_ms_clamped_to, Some(MAX_SAMPLE_MS));
        assert!(output.truncated);
        assert_eq!(output.next_offset, Some(500));
        let default = Request::from_params(params(), 256 * 1024).unwrap();
        let output = default.page(vec![row(1)]);
        assert_eq!(output.limit_clamped_to, None);
        assert_eq!(output.sample_ms_clamped_to, None);
    }

    const STAT_TAIL: &str = "0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    /// The remote script's output: processes 1, 2, the script's shell 3187 and its `ps` as captured
    /// on the development machine; 3999 and 4000 added: a busy process, and a process whose name
    /// holds a newline and imitates the start of 4000's stat line.
    fn captured(spin_ticks: (u64, Option<u64>)) -> String {
        let stat = |pid1_utime: u64, spin: u64| {
            format!(
                "1 (process_api) S 0 0 0 0 -1 4194560 127461 94973027 0 15760 {pid1_utime} 1379 282802 62098 20 0 13 0 24 45961216 3726 {STAT_TAIL}\n\
                 2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 {STAT_TAIL}\n\
                 3187 (sh) R 3182 3182 18287 0 -1 4194304 114 349 0 1 0 0 0 0 20 0 1 0 431971 2654208 405 {STAT_TAIL}\n\
                 3999 (x\n4000 (y) R 1 1 1 0 -1 0 0 0 0 0 9999 9999 0 0 20 0 1 0 1 0 0 {STAT_TAIL}\n\
                 4000 (spin worker) R 1 4000 4000 0 -1 4194304 0 0 0 0 {spin} 0 0 0 20 0 1 0 427000 0 0 {STAT_TAIL}\n"
            )
        };
        let second = spin_ticks.1.map_or_else(String::new, |spin| {
            format!(
                "@@skippy-section:sleep\n@@skippy-section:uptime2\n4319.92 2601.86\n\
                 @@skippy-section:stat2\n{}",
                stat(259, spin)
            )
        });
        format!(
            "@@skippy-section:self\n3187\n@@skippy-section:now\n1795261252\n\
             @@skippy-section:clock_ticks\n100\n@@skippy-section:cpus\n2\n\
             @@skippy-section:meminfo\nMemTotal:       24684096 kB\n\
             @@skippy-section:uptime1\n4319.71 2601.75\n@@skippy-section:stat1\n{}{second}\
             @@skippy-section:comm\n    1 process_api\n    2 kthreadd\n 3187 sh\n 3553 ps\n\
             3999 x?4000 (y\n 4000 spin worker\n\
             @@skippy-section:ps\n\
             \x20   1     0 root                14964 SLl     4319 /process_api --firecracker-init --addr 0.0.0.0:2024\n\
             \x20   2     0 root                    0 S       4319 [kthreadd]\n\
             \x203187  3182 root                 1756 S          0 sh /tmp/lp.sh\n\
             \x203553  3187 root                 4420 R          0 ps -eo pid=,ppid=,user:64=,rss=,stat=,etimes=,args=\n\
             \x203999     1 1234                  100 S         10 x\n\
             \x204000     1 nobody               2048 R         40 spin --password=hunter2 --token abc  s3cr3t-known\n",
            stat(258, spin_ticks.0),
        )
    }

    fn remote(text: &str, request: &Request, config: &Config) -> Vec<ProcessInfo> {
        let mut rows = remote_rows(
            &Sections::parse(text),
            config,
            request,
            &CancellationToken::new(),
        )
        .unwrap();
        rows.sort_by_key(|row| row.pid);
        rows
    }

    fn request(filter: Option<&str>) -> Request {
        Request {
            filter: filter.map(String::from),
            sort_by: SortBy::Pid,
            limit: Clamped {
                value: 25,
                clamped_to: None,
            },
            offset: 0,
            sample_ms: Clamped {
                value: 200,
                clamped_to: None,
            },
            max_output_bytes: 256 * 1024,
        }
    }

    #[test]
    fn remote_rows_are_sampled_masked_and_leave_out_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.secrets.add("s3cr3t-known");
        let rows = remote(&captured((100, Some(120))), &request(None), &config);
        let pids: Vec<u32> = rows.iter().map(|row| row.pid).collect();
        assert_eq!(pids, vec![1, 2, 3999, 4000]);
        let (init, spin) = (&rows[0], &rows[3]);
        // One tick in 0.21 s; 20 ticks in 0.21 s; the forged line did not count.
        assert_eq!((init.cpu_percent, spin.cpu_percent), (4.8, 95.2));
        assert_eq!(rows[2].cpu_percent, 0.0);
        assert_eq!(init.ppid, None);
        assert_eq!(init.name, "process_api");
        assert_eq!(init.status, "sleeping");
        assert_eq!(init.memory_bytes, 14964 * 1024);
        assert_eq!(init.memory_percent, 0.1);
        assert_eq!(rows[1].command, "[kthreadd]");
        assert_eq!(spin.name, "spin worker");
        assert_eq!(spin.user.as_deref(), Some("nobody"));
        assert_eq!(spin.status, "running");
        assert_eq!(spin.ppid, Some(1));
        assert_eq!(spin.started_at, rfc3339_from_unix(1795261252 - 40));
        assert_eq!(
            spin.command,
            "spin --password=******** --token ********  ********"
        );
        assert_eq!(rows[2].user.as_deref(), Some("1234"));
        // The filter (lower-cased by Request) sees masked text only.
        assert!(
            remote(
                &captured((100, Some(120))),
                &request(Some("hunter2")),
                &config
            )
            .is_empty()
        );
        let found = remote(
            &captured((100, Some(120))),
            &request(Some("worker")),
            &config,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pid, 4000);
    }

    #[test]
    fn remote_lifetime_cpu_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_for(dir.path()).unwrap();
        // Without a sample: CPU time over the time since start (16.37 s of 4319.47 s for pid 1).
        let rows = remote(&captured((100, None)), &request(None), &config);
        assert_eq!(rows[0].cpu_percent, 0.4);
        // 100 ticks over 4319.71 - 4270.00 s; a process cannot exceed 100 x cores.
        assert_eq!(rows[3].cpu_percent, 2.0);
        let rows = remote(&captured((0, Some(1000))), &request(None), &config);
        assert_eq!(rows[3].cpu_percent, 200.0);
        // No ps output at all: the host is not supported.
        let error = remote_rows(
            &Sections::parse("@@skippy-section:now\n1\n@@skippy-section:clock_ticks\n100\n@@skippy-section:uptime1\n5.0 1.0\n"),
            &config,
            &request(None),
            &CancellationToken::new(),
        )
        .unwrap_err();
        assert_eq!(error.code(), "unavailable");
    }

    #[test]
    fn proc_stat_lines_need_a_complete_record_before_them() {
        let text = "7 (a) b) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 0 0 0\n\
                    8 (x\n9 (y) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 0 0 0\n\
                    10 (z) S 1 1 1 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 3 0 0 0\n";
        let times = parse_proc_stats(text);
        assert_eq!(
            times.get(&7),
            Some(&ProcTimes {
                ticks: 11,
                start: 99
            })
        );
        assert_eq!(times.get(&9), None);
        assert_eq!(times.get(&8), None);
        assert_eq!(times.get(&10), Some(&ProcTimes { ticks: 3, start: 3 }));
        assert_eq!(ps_status_name("I<"), "idle");
        assert_eq!(ps_status_name(""), "unknown");
    }

    #[test]
    fn remote_script_samples_only_when_asked() {
        let sampled = remote_script(200);
        assert!(sampled.contains("sleep 0.200") && sampled.contains("section:stat2"));
        let once = remote_script(0);
        assert!(!once.contains("sleep") && !once.contains("section:stat2"));
        assert!(once.contains("ps -eo pid=,ppid=,user:64=,rss=,stat=,etimes=,args="));
    }

    #[test]
    fn long_commands_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let cut = cut(long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= MAX_COMMAND_BYTES + '…'.len_utf8());
        assert_eq!(cut.len(), 300 + '…'.len_utf8());
    }

    #[test]
    fn a_small_output_cap_cuts_the_page_and_offers_a_continuation() {
        let row = |pid: u32| ProcessInfo {
            pid,
            ppid: Some(1),
            name: "worker".into(),
            user: Some("root".into()),
            cpu_percent: 0.0,
            memory_bytes: 1,
            memory_percent: 0.0,
            status: "sleeping".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            command: "worker --serve".into(),
        };
        let rows: Vec<ProcessInfo> = (1..=5).map(row).collect();
        let one = row_cost(&rows[0]);
        let request = Request {
            filter: None,
            sort_by: SortBy::Pid,
            limit: Clamped {
                value: 5,
                clamped_to: None,
            },
            offset: 1,
            sample_ms: Clamped {
                value: 0,
                clamped_to: None,
            },
            max_output_bytes: skippy_core::limits::ENVELOPE_RESERVE + 2 * one,
        };
        let output = request.page(rows);
        let pids: Vec<u32> = output.processes.iter().map(|process| process.pid).collect();
        assert_eq!(pids, vec![2, 3]);
        assert!(output.truncated);
        assert_eq!(output.next_offset, Some(3));
        assert_eq!(output.total_processes, 5);
    }
}
