//! The local process runner: the only way Skippy starts a program.
//!
//! argv only (no shell), stdin from /dev/null, a minimal environment that carries none of Skippy's
//! secrets, stdout and stderr capped (the rest is drained and counted, so the child never blocks on a
//! full pipe), and the child in its own process group, which is killed as a whole on timeout,
//! cancellation, or when the call is dropped.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::error::{ToolError, ToolResult};
use crate::limits::truncate_utf8;

/// Environment variables passed through to children; everything else is dropped.
const PASSED_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "TZ"];
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What to run.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    /// Cap on captured stdout and on captured stderr, each, in bytes.
    pub max_output_bytes: usize,
    pub timeout: Duration,
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
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
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
        std::io::ErrorKind::NotFound => ToolError::Unavailable(format!(
            "`{program}` is not installed on this machine (not found on PATH)"
        )),
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
    Ok(CommandOutput {
        exit_code: status.code(),
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
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

    #[tokio::test]
    async fn missing_program_is_unavailable() {
        let spec = CommandSpec::new("definitely-not-a-program-xyz", Vec::<String>::new());
        let error = run(&spec, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(error.code(), "unavailable");
    }
}
