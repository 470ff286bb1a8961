//! The local process runner: the only way Skippy starts a program.
//!
//! argv only (no shell), stdin from /dev/null, a minimal environment that carries none of Skippy's
//! secrets, stdout and stderr capped (the rest is drained and counted, so the child never blocks on a
//! full pipe), and the child in its own process group, which is killed as a whole on timeout,
//! cancellation, or when the call is dropped.
//!
//! With [`ResourceLimits`], the program starts under an address-space and a CPU-time limit. They are
//! set by a small `sh` wrapper (`ulimit -v`, `ulimit -t`, then `exec` of the program, whose argv
//! stays positional and is never spliced into the script), because setting rlimits in the child
//! before `exec` needs `unsafe` (`pre_exec`), which the workspace forbids. The same snippet
//! ([`LIMITS_SH`]) runs in the remote bootstrap. A limit that cannot be set fails the run
//! (`unavailable`) instead of running the command without it.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::config::{CpuLimit, ExecSettings};
use crate::error::{ToolError, ToolResult};
use crate::limits::truncate_utf8;

/// Environment variables passed through to children; everything else is dropped.
const PASSED_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "TZ"];
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Sets the limits in `$v` (KiB of address space), `$ts` and `$th` (soft and hard CPU seconds);
/// an empty variable sets nothing. Soft and hard limits are both set (soft first: a hard limit below
/// the current soft one is refused) and then verified: when the shell cannot set them and no limits
/// at least as strict are already in force, it prints `skippy-limits: cannot set ...` on stderr and
/// exits 125. The hard limit keeps the command from raising its soft limit again. The hard CPU limit is one second above the soft one, so that the
/// command first gets SIGXCPU (reported as a CPU limit) rather than an anonymous SIGKILL.
pub const LIMITS_SH: &str = r#"skippy_limit() {
ulimit -S $1 "$2" 2>/dev/null
ulimit -H $1 "$3" 2>/dev/null
s=$(ulimit -S $1 2>/dev/null); h=$(ulimit -H $1 2>/dev/null)
if [ "$s" != unlimited ] && [ "$h" != unlimited ] && [ "$s" -le "$2" ] 2>/dev/null && [ "$h" -le "$3" ] 2>/dev/null; then return 0; fi
printf 'skippy-limits: cannot set the %s limit (ulimit %s %s) with this sh\n' "$4" "$1" "$2" >&2
exit 125
}
if [ -n "$v" ]; then skippy_limit -v "$v" "$v" memory; fi
if [ -n "$ts" ]; then skippy_limit -t "$ts" "$th" cpu; fi
"#;

/// The local wrapper: `$1`..`$3` = v, ts, th; the program and its arguments follow.
const LOCAL_WRAPPER: &str = "v=$1 ts=$2 th=$3; shift 3
";

/// The exit status and stderr prefix of [`LIMITS_SH`] when a limit cannot be set.
pub const LIMITS_FAILED_STATUS: i32 = 125;
pub const LIMITS_FAILED_PREFIX: &str = "skippy-limits: cannot set";
/// `$0` of the local wrapper, which prefixes the shell's own messages (`exec: x: not found`).
const WRAPPER_NAME: &str = "skippy-limits";

/// Per-process limits of a command (each process it starts gets the same limits, not a share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Address space in KiB (`ulimit -v`).
    pub memory_kib: Option<u64>,
    /// CPU time in seconds (`ulimit -t`, soft; the hard limit is one second more).
    pub cpu_secs: Option<u64>,
}

impl ResourceLimits {
    /// The configured limits for a command whose time limit is `timeout`; None when there are none.
    pub fn from_settings(settings: &ExecSettings, timeout: Duration) -> Option<ResourceLimits> {
        let cpu_secs = match settings.max_cpu_secs {
            CpuLimit::Fixed(0) => None,
            CpuLimit::Fixed(secs) => Some(secs),
            CpuLimit::Timeout => Some(timeout.as_secs_f64().ceil().max(1.0) as u64),
        };
        let limits = ResourceLimits {
            memory_kib: settings.max_memory_mb.map(|mb| mb.saturating_mul(1024)),
            cpu_secs,
        };
        (limits.memory_kib.is_some() || limits.cpu_secs.is_some()).then_some(limits)
    }

    /// The values of `$v`, `$ts`, `$th` for [`LIMITS_SH`] (empty = not set).
    pub fn shell_args(&self) -> [String; 3] {
        let number = |value: Option<u64>| value.map(|n| n.to_string()).unwrap_or_default();
        [
            number(self.memory_kib),
            number(self.cpu_secs),
            number(self.cpu_secs.map(|secs| secs.saturating_add(1))),
        ]
    }

    /// The error for a run whose limits could not be set (exit 125 with the wrapper's message).
    pub fn not_set(output: &CommandOutput, host: &str) -> Option<ToolError> {
        if output.exit_code != Some(LIMITS_FAILED_STATUS) {
            return None;
        }
        let line = output
            .stderr
            .lines()
            .find(|line| line.starts_with(LIMITS_FAILED_PREFIX))?;
        Some(ToolError::Unavailable(format!(
            "nothing ran on host {host}: {}; the command would have run without the configured limit. Use a \
             host whose sh supports ulimit -v and -t, or ask the operator to set exec.max_memory_mb = 0 / \
             exec.max_cpu_secs = 0",
            line.trim_start_matches("skippy-limits: ")
        )))
    }
}

/// Which resource limit stopped a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    /// An allocation failed at the address-space limit (`exec.max_memory_mb`).
    Memory,
    /// The process used up its CPU time (`exec.max_cpu_secs`).
    Cpu,
}

/// SIGXCPU's number on Linux (all architectures Skippy builds for).
const SIGXCPU: i32 = 24;

/// Messages with which programs report a failed allocation: coreutils and gnulib ("memory
/// exhausted"), strerror(ENOMEM), glibc and many runtimes ("out of memory"), C++, Python, Rust, Go.
const MEMORY_MESSAGES: &[&str] = &[
    "memory exhausted",
    "cannot allocate memory",
    "out of memory",
    "std::bad_alloc",
    "memoryerror",
    "memory allocation of",
    "failed to allocate",
    "cannot allocate",
];

/// Whether a run under `limits` was stopped by one of them: killed by SIGXCPU (`signal`, or a
/// shell's exit status 128 + SIGXCPU), or a failure whose stderr reports a failed allocation.
pub fn detect_limit_hit(
    limits: Option<&ResourceLimits>,
    exit_code: Option<i32>,
    signal: Option<i32>,
    stderr: &str,
) -> Option<LimitHit> {
    let limits = limits?;
    if exit_code == Some(0) {
        return None;
    }
    if limits.cpu_secs.is_some() && (signal == Some(SIGXCPU) || exit_code == Some(128 + SIGXCPU)) {
        return Some(LimitHit::Cpu);
    }
    let lower = stderr.to_ascii_lowercase();
    if limits.memory_kib.is_some() && MEMORY_MESSAGES.iter().any(|m| lower.contains(m)) {
        return Some(LimitHit::Memory);
    }
    None
}

/// What to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// Cap on captured stdout and on captured stderr, each, in bytes.
    pub max_output_bytes: usize,
    pub timeout: Duration,
    /// Memory and CPU limits of the program (and of every process it starts); None = none.
    pub limits: Option<ResourceLimits>,
}

impl CommandSpec {
    pub fn new<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            cwd: None,
            max_output_bytes: 256 * 1024,
            timeout: Duration::from_secs(30),
            limits: None,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct CommandOutput {
    /// Exit status; absent when the process was killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub duration_ms: f64,
    /// Set when a resource limit stopped the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_hit: Option<LimitHit>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Kills the child's process group when dropped, unless disarmed after a normal exit.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // ESRCH (already gone) is fine.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Run a program to completion, or until `cancel` fires or `spec.timeout` passes.
pub async fn run(spec: &CommandSpec, cancel: &CancellationToken) -> ToolResult<CommandOutput> {
    let started = Instant::now();
    let program = spec.program.to_string_lossy().to_string();
    let mut command = match &spec.limits {
        None => {
            let mut command = Command::new(&spec.program);
            command.args(&spec.args);
            command
        }
        Some(limits) => {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("{LOCAL_WRAPPER}{LIMITS_SH}exec \"$@\"\n"))
                .arg(WRAPPER_NAME)
                .args(limits.shell_args())
                .arg(&spec.program)
                .args(&spec.args);
            command
        }
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env("LC_ALL", "C.UTF-8")
        .env("LANG", "C.UTF-8")
        .process_group(0)
        .kill_on_drop(true);
    for name in PASSED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    if std::env::var_os("PATH").is_none() {
        command.env("PATH", DEFAULT_PATH);
    }
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => not_installed(&program),
        _ => ToolError::Io(format!("could not start `{program}`: {error}")),
    })?;
    let mut guard = GroupGuard {
        pgid: child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let cap = spec.max_output_bytes;
    let work = async {
        let (out, err, status) = tokio::join!(
            read_capped(stdout, cap),
            read_capped(stderr, cap),
            child.wait()
        );
        (out, err, status)
    };
    let result = tokio::select! {
        result = work => result,
        () = cancel.cancelled() => {
            guard.kill();
            return Err(ToolError::Cancelled);
        }
        () = tokio::time::sleep(spec.timeout) => {
            guard.kill();
            return Err(ToolError::Timeout(format!(
                "`{program}` did not finish within {:.1} s and was killed; narrow the request or raise the tool's timeout",
                spec.timeout.as_secs_f64()
            )));
        }
    };
    let (out, err, status) = result;
    let status = status
        .map_err(|error| ToolError::Io(format!("waiting for `{program}` failed: {error}")))?;
    // The leader exited on its own; leftover background children are its business.
    guard.pgid = None;
    let (stdout, stdout_truncated) = out;
    let (stderr, stderr_truncated) = err;
    let output = CommandOutput {
        exit_code: status.code(),
        limit_hit: detect_limit_hit(
            spec.limits.as_ref(),
            status.code(),
            status.signal(),
            &stderr,
        ),
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    if spec.limits.is_some() {
        if let Some(error) = ResourceLimits::not_set(&output, crate::hosts::LOCAL) {
            return Err(error);
        }
        // The wrapper's `exec` did not find the program: the same error as without a wrapper.
        if output.exit_code == Some(127)
            && output
                .stderr
                .lines()
                .any(|line| line.starts_with(WRAPPER_NAME) && line.contains("not found"))
        {
            return Err(not_installed(&program));
        }
    }
    Ok(output)
}

fn not_installed(program: &str) -> ToolError {
    ToolError::Unavailable(format!(
        "`{program}` is not installed on this machine (not found on PATH)"
    ))
}

/// Read a pipe to its end, keeping at most `cap` bytes (cut on a character boundary).
async fn read_capped<R: AsyncRead + Unpin>(pipe: Option<R>, cap: usize) -> (String, bool) {
    let Some(mut pipe) = pipe else {
        return (String::new(), false);
    };
    let mut kept = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let mut truncated = false;
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    let text = String::from_utf8_lossy(&kept).into_owned();
    if truncated {
        let cut = truncate_utf8(&text, cap).to_string();
        return (cut, true);
    }
    (text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let spec = CommandSpec::new("sh", ["-c", "echo out; echo err >&2; exit 3"]);
        let output = run(&spec, &CancellationToken::new()).await.unwrap();
        assert_eq!(output.exit_code, Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
    }

    #[tokio::test]
    async fn arguments_are_not_interpreted_by_a_shell() {
        let spec = CommandSpec::new("printf", ["%s|", "$(id)", "; rm -rf ~", "a b"]);
        let output = run(&spec, &CancellationToken::new()).await.unwrap();
        assert_eq!(output.stdout, "$(id)|; rm -rf ~|a b|");
    }

    #[tokio::test]
    async fn caps_output_and_marks_truncation() {
        let mut spec = CommandSpec::new("sh", ["-c", "yes x | head -c 100000"]);
        spec.max_output_bytes = 1000;
        let output = run(&spec, &CancellationToken::new()).await.unwrap();
        assert_eq!(output.stdout.len(), 1000);
        assert!(output.stdout_truncated);
        assert_eq!(output.exit_code, Some(0));
    }

    #[tokio::test]
    async fn secrets_are_not_passed_to_children() {
        // SAFETY of the test: the variable is read by the child only.
        let spec = CommandSpec::new("env", Vec::<String>::new());
        let output = run(&spec, &CancellationToken::new()).await.unwrap();
        for line in output.stdout.lines() {
            let name = line.split('=').next().unwrap_or("");
            assert!(
                ["PATH", "HOME", "USER", "LOGNAME", "TZ", "LC_ALL", "LANG"].contains(&name),
                "unexpected variable passed: {line}"
            );
        }
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", marker.display());
        let mut spec = CommandSpec::new("sh", ["-c", script.as_str()]);
        spec.timeout = Duration::from_millis(300);
        let error = run(&spec, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(error.code(), "timeout");
        let pid: i32 = std::fs::read_to_string(&marker)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background sleep was in the group: it must be gone (allow the kernel a moment).
        let mut alive = true;
        for _ in 0..50 {
            alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ");
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive, "background child {pid} survived the timeout");
    }

    #[tokio::test]
    async fn cancellation_stops_the_command() {
        let token = CancellationToken::new();
        let spec = CommandSpec::new("sleep", ["30"]);
        let trigger = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.cancel();
        });
        let started = Instant::now();
        let error = run(&spec, &token).await.unwrap_err();
        assert_eq!(error.code(), "cancelled");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    fn limited(program: &str, args: &[&str], memory_mb: u64, cpu_secs: u64) -> CommandSpec {
        let mut spec = CommandSpec::new(program, args.iter().copied());
        spec.timeout = Duration::from_secs(10);
        spec.limits = Some(ResourceLimits {
            memory_kib: Some(memory_mb * 1024),
            cpu_secs: Some(cpu_secs),
        });
        spec
    }

    /// The value columns of one line of /proc/self/limits, e.g. ["536870912", "536870912"].
    fn limit_line(limits: &str, name: &str) -> Vec<String> {
        let line = limits
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` in:\n{limits}"));
        line[name.len()..]
            .split_whitespace()
            .take(2)
            .map(str::to_string)
            .collect()
    }

    #[tokio::test]
    async fn finding_05_limits_are_visible_to_the_program() {
        let output = run(
            &limited("cat", &["/proc/self/limits"], 256, 7),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(output.exit_code, Some(0), "{}", output.stderr);
        let address = limit_line(&output.stdout, "Max address space");
        assert_eq!(address, ["268435456", "268435456"]);
        assert_eq!(limit_line(&output.stdout, "Max cpu time"), ["7", "8"]);
        assert_eq!(output.limit_hit, None);
        // The argv is still literal behind the wrapper.
        let output = run(
            &limited("printf", &["%s|", "$(id)", "a b", "-c"], 64, 5),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(output.stdout, "$(id)|a b|-c|");
    }

    #[tokio::test]
    async fn finding_05_a_memory_hog_hits_the_limit_and_says_so() {
        let output = run(
            &limited("tail", &["-n", "7", "/dev/zero"], 64, 10),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_ne!(output.exit_code, Some(0));
        assert_eq!(output.limit_hit, Some(LimitHit::Memory), "{output:?}");
        let output = run(
            &limited("sh", &["-c", "while :; do :; done"], 64, 1),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(output.limit_hit, Some(LimitHit::Cpu), "{output:?}");
    }

    #[tokio::test]
    async fn limited_missing_program_is_still_unavailable() {
        let spec = limited("definitely-not-a-program-xyz", &[], 64, 5);
        let error = run(&spec, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(error.code(), "unavailable", "{error}");
    }

    /// A limit the shell cannot set stops the run before the command (fail closed), with an error.
    #[test]
    fn a_limit_that_cannot_be_set_runs_nothing() {
        let script = format!("v=not-a-number ts= th=\n{LIMITS_SH}echo ran\n");
        let raw = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        let output = CommandOutput {
            exit_code: raw.status.code(),
            stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&raw.stderr).into_owned(),
            stdout_truncated: false,
            stderr_truncated: false,
            duration_ms: 0.0,
            limit_hit: None,
        };
        assert_eq!(output.stdout, "");
        let error = ResourceLimits::not_set(&output, "web").unwrap();
        assert_eq!(error.code(), "unavailable");
        assert!(error.to_string().contains("memory limit"), "{error}");
        assert!(error.to_string().contains("exec.max_memory_mb"), "{error}");
    }

    #[test]
    fn limits_follow_the_configuration() {
        let settings = ExecSettings::default();
        let limits = ResourceLimits::from_settings(&settings, Duration::from_millis(2500)).unwrap();
        assert_eq!(limits.memory_kib, Some(512 * 1024));
        assert_eq!(limits.cpu_secs, Some(3));
        assert_eq!(limits.shell_args(), ["524288", "3", "4"]);
        let none = ExecSettings {
            max_memory_mb: None,
            max_cpu_secs: CpuLimit::Fixed(0),
        };
        assert_eq!(
            ResourceLimits::from_settings(&none, Duration::from_secs(5)),
            None
        );
        let unset = ResourceLimits {
            memory_kib: None,
            cpu_secs: Some(9),
        };
        assert_eq!(unset.shell_args(), ["", "9", "10"]);
    }

    #[tokio::test]
    async fn missing_program_is_unavailable() {
        let spec = CommandSpec::new("definitely-not-a-program-xyz", Vec::<String>::new());
        let error = run(&spec, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(error.code(), "unavailable");
    }
}
