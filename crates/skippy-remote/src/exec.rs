//! Running a command on a remote host, with the local runner's guarantees: output capped per
//! stream, no environment forwarded, a time limit and cancellation that stop the REMOTE process and
//! all its children, not just the SSH channel.
//!
//! Closing an SSH channel does not stop the command behind it (sshd sends no signal to a command
//! without a terminal), so the command runs in a process group of its own whose id is reported
//! first, and stopping it means sending signals to that group from a second channel.
//!
//! The string sent to the server is fixed text plus single-quoted words (see [`crate::quote`]), so
//! it means the same to every POSIX login shell (sh, bash, dash, zsh, ksh); fish and csh-family
//! login shells are not supported. It runs a small `sh` bootstrap with the command as an argument:
//!
//! 0. With [`RunOptions::limits`], it sets the memory and CPU limits ([`LIMITS_SH`]: `ulimit -v`,
//!    `ulimit -t`) that the command and everything it starts inherit; a limit the remote `sh` cannot
//!    set fails the run (`unavailable`) before the command starts.
//! 1. If this shell is not already a process group leader (OpenSSH's sshd makes it the leader of a
//!    new session; other servers may not), it re-executes itself through `setsid`. `setsid` only
//!    forks when the caller leads a group, which is exactly the case where it is not run, so the
//!    process id never changes.
//! 2. It prints `skippy-pid-<nonce>:<pid>` on stdout. The nonce is random per call; the line is
//!    found even after output from the user's shell start-up files and removed from the output.
//! 3. It runs the command with `eval` in that same shell (saving one `sh` start per call), so the
//!    pid is the process group id of the command and of everything it starts. A trap turns this
//!    shell's own SIGXCPU into exit status 152 (128 + SIGXCPU), what a shell reports for a child
//!    killed by it, and keeps the shell from replacing itself with the command's last program: sshd
//!    names SIGXCPU only as `SIG@openssh.com`, so a status is the one unambiguous report.
//!
//! On timeout, cancellation, or when the call is dropped: the channel is closed, then a cleanup
//! channel runs `kill -s TERM -- -<pgid>`, waits up to 2 s for the group to exit, then sends
//! `KILL`. A pid below 2 is never signalled (`kill -- -1` would hit every process of the user).

use std::time::{Duration, Instant};

use russh::ChannelMsg;
use skippy_core::limits::truncate_utf8;
use skippy_core::process::{CommandOutput, LIMITS_SH, ResourceLimits, detect_limit_hit};
use skippy_core::{ToolError, ToolResult};
use tokio_util::sync::CancellationToken;

use crate::pool::HostHandle;
use crate::quote::{quote_arg, quote_argv};

/// How long to keep reading for the pid line after a timeout fired before it arrived.
const PID_GRACE: Duration = Duration::from_secs(2);
/// Upper bound for the whole kill procedure (TERM, up to 2 s grace, KILL).
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Output kept while looking for the pid line; if it has not appeared by then it never will.
const MARKER_SEARCH_LIMIT: usize = 64 * 1024;

/// The bootstrap: `$1` = nonce, `$2` = command, `$3`..`$5` = the limits for [`LIMITS_SH`] (empty:
/// none), which runs between [`BOOTSTRAP_HEAD`] and this. Reads the process group from /proc when
/// there is one (no fork), else asks `ps`; an unknown group is taken to be our own, which is what
/// sshd does.
const BOOTSTRAP: &str = r#"p=
if [ -r /proc/$$/stat ]; then read -r _ _ _ _ p _ < /proc/$$/stat; else p=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' '); fi
if [ -n "$p" ] && [ "$p" != "$$" ] && command -v setsid >/dev/null 2>&1; then
exec setsid sh -c 'printf "skippy-pid-%s:%s\n" "$1" "$$"; exec sh -c "$2"' skippy "$n" "$c"
fi
printf 'skippy-pid-%s:%s\n' "$n" "$$"
trap 'exit 152' XCPU 2>/dev/null
eval "$c"
exit
"#;

const BOOTSTRAP_HEAD: &str = "n=$1; c=$2; v=$3; ts=$4; th=$5\n";

/// The whole bootstrap script.
fn bootstrap() -> String {
    format!("{BOOTSTRAP_HEAD}{LIMITS_SH}{BOOTSTRAP}")
}

/// `$1` = process group id. TERM, wait up to 2 s (20 x 0.1 s, or 1 s steps where `sleep` takes
/// whole seconds only), then KILL.
const KILL_SCRIPT: &str = r#"kill -s TERM -- "-$1" 2>/dev/null || exit 0
i=0
while [ "$i" -lt 20 ]; do
kill -s 0 -- "-$1" 2>/dev/null || exit 0
sleep 0.1 2>/dev/null || { sleep 1; i=$((i + 9)); }
i=$((i + 1))
done
kill -s KILL -- "-$1" 2>/dev/null
exit 0
"#;

/// What to run remotely.
#[derive(Debug, Clone, Copy)]
pub enum RemoteCommand<'a> {
    /// A program and its arguments, each passed literally (quoted for the remote shell).
    Argv(&'a [String]),
    /// A shell command line, run by `sh -c`. The caller has checked it against the host's policy.
    Shell(&'a str),
}

impl RemoteCommand<'_> {
    /// How the command is named in messages: the program, or "shell command".
    fn label(&self) -> String {
        match self {
            RemoteCommand::Argv(argv) => argv
                .first()
                .map(|p| format!("`{p}`"))
                .unwrap_or_else(|| "the command".into()),
            RemoteCommand::Shell(_) => "the shell command".into(),
        }
    }
}

/// Limits of one command run, local or remote.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Wall-clock limit; on expiry the command (and its process group) is killed.
    pub timeout: Duration,
    /// Cap on captured stdout and on captured stderr, each, in bytes.
    pub max_output_bytes: usize,
    /// Working directory on the machine that runs the command (checked by the caller).
    pub cwd: Option<String>,
    /// Memory and CPU limits of the command's processes; None = none (Skippy's own fixed scripts).
    pub limits: Option<ResourceLimits>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_output_bytes: 256 * 1024,
            cwd: None,
            limits: None,
        }
    }
}

/// Run `command` on `host` until it exits, `options.timeout` passes or `cancel` fires.
///
/// A non-zero exit is not an error: the exit code is in the output. Errors: `unavailable` /
/// `permission_denied` from connecting, `timeout`, `cancelled`, `invalid_argument` (NUL bytes, an
/// empty argv), `command_failed` when the server refuses to run commands.
pub async fn exec(
    host: &HostHandle,
    command: RemoteCommand<'_>,
    options: &RunOptions,
    cancel: &CancellationToken,
) -> ToolResult<CommandOutput> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::from_std(started + options.timeout);
    let script = user_script(command, options.cwd.as_deref())?;
    let nonce = random_hex(8)?;
    let [memory, cpu_soft, cpu_hard] = options
        .limits
        .map(|limits| limits.shell_args())
        .unwrap_or_default();
    let line = format!(
        "exec sh -c {} skippy {nonce} {} {} {} {}",
        quote_arg(&bootstrap()),
        quote_arg(&script),
        quote_arg(&memory),
        quote_arg(&cpu_soft),
        quote_arg(&cpu_hard)
    );
    let label = command.label();
    let interrupted = |why: Interrupt| why.error(&label, host.name(), options.timeout);

    let mut pooled = tokio::select! {
        pooled = host.channel() => pooled?,
        () = cancel.cancelled() => return Err(ToolError::Cancelled),
        () = tokio::time::sleep_until(deadline) => {
            return Err(ToolError::Timeout(format!(
                "{label} could not start on host {} within {:.1} s (connecting, or waiting for one of its {} \
                 sessions: the others stayed busy); retry later, or raise max_sessions for the host",
                host.name(),
                options.timeout.as_secs_f64(),
                host.config().max_sessions
            )));
        }
    };
    let mut guard = KillOnDrop {
        host: host.clone(),
        pgid: None,
    };
    let channel = pooled.channel()?;
    channel
        .exec(true, line.into_bytes())
        .await
        .map_err(|error| lost(host, &error))?;
    // The command's stdin is empty, like /dev/null for local commands.
    channel.eof().await.map_err(|error| lost(host, &error))?;

    let mut reader = Reader::new(nonce, options.max_output_bytes);
    let mut why = None;
    loop {
        tokio::select! {
            message = channel.wait() => {
                if !reader.handle(message) {
                    break;
                }
                guard.pgid = reader.pgid;
            }
            () = cancel.cancelled() => { why = Some(Interrupt::Cancelled); break; }
            () = tokio::time::sleep_until(deadline) => { why = Some(Interrupt::Timeout); break; }
        }
    }
    if let Some(why) = why {
        // Without the pid there is nothing to kill: give it a moment to arrive.
        let grace = tokio::time::Instant::now() + PID_GRACE;
        let mut finished = false;
        while reader.pgid.is_none() {
            match tokio::time::timeout_at(grace, channel.wait()).await {
                Ok(message) => {
                    if !reader.handle(message) {
                        finished = true;
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = channel.close().await;
        drop(pooled);
        guard.pgid = None;
        match reader.pgid {
            Some(pgid) if !finished => kill_group(host, pgid).await,
            Some(_) => {}
            None => tracing::warn!(
                host = %host.name(),
                "a remote command was stopped before it reported its process id; it may still run"
            ),
        }
        return Err(interrupted(why));
    }
    guard.pgid = None;
    if reader.refused {
        return Err(ToolError::CommandFailed(format!(
            "host {} refused to run commands over SSH (exec request denied); check sshd's configuration (ForceCommand, \
             restricted keys) for user `{}`",
            host.name(),
            host.config().user
        )));
    }
    if !reader.exited {
        return Err(ToolError::Unavailable(format!(
            "the SSH connection to host {} was lost while {label} ran; its outcome is unknown, check before retrying",
            host.name()
        )));
    }
    let output = reader.finish(started, options.limits.as_ref());
    if options.limits.is_some()
        && let Some(error) = ResourceLimits::not_set(&output, host.name())
    {
        return Err(error);
    }
    Ok(output)
}

/// The command string that `sh -c` runs on the remote side.
fn user_script(command: RemoteCommand<'_>, cwd: Option<&str>) -> ToolResult<String> {
    let script = match command {
        RemoteCommand::Argv(argv) => quote_argv(argv)?,
        RemoteCommand::Shell(text) => {
            if text.trim().is_empty() {
                return Err(ToolError::invalid("the shell command is empty"));
            }
            if text.contains('\0') {
                return Err(ToolError::invalid("the shell command contains a NUL byte"));
            }
            text.to_string()
        }
    };
    match cwd {
        Some(dir) if dir.contains('\0') => Err(ToolError::invalid(
            "the working directory contains a NUL byte",
        )),
        // A newline, not `&&`: the command text stays a complete script of its own.
        Some(dir) => Ok(format!("cd -- {} || exit 1\n{script}", quote_arg(dir))),
        None => Ok(script),
    }
}

fn lost(host: &HostHandle, error: &russh::Error) -> ToolError {
    ToolError::Unavailable(format!(
        "the SSH connection to host {} failed while starting the command ({error}); retry",
        host.name()
    ))
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy)]
enum Interrupt {
    Timeout,
    Cancelled,
}

impl Interrupt {
    fn error(self, label: &str, host: &str, timeout: Duration) -> ToolError {
        match self {
            Interrupt::Cancelled => ToolError::Cancelled,
            Interrupt::Timeout => ToolError::Timeout(format!(
                "{label} on host {host} did not finish within {:.1} s and was killed (its whole remote process group); \
                 narrow the request or raise the timeout",
                timeout.as_secs_f64()
            )),
        }
    }
}

/// Kills the remote process group if the call is dropped while the command runs (for example
/// when the caller's future is aborted), from a task of its own.
struct KillOnDrop {
    host: HostHandle,
    pgid: Option<u32>,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let host = self.host.clone();
            runtime.spawn(async move { kill_group(&host, pgid).await });
        }
    }
}

/// TERM the remote process group `pgid`, then KILL it after a grace period. Best effort: failures
/// are logged, because the caller is already reporting why it stopped.
pub(crate) async fn kill_group(host: &HostHandle, pgid: u32) {
    if pgid < 2 {
        return;
    }
    let line = format!("exec sh -c {} skippy-kill {pgid}", quote_arg(KILL_SCRIPT));
    let outcome = tokio::time::timeout(KILL_TIMEOUT, async {
        let mut pooled = host.cleanup_channel().await?;
        let channel = pooled.channel()?;
        channel
            .exec(true, line.into_bytes())
            .await
            .map_err(|error| lost(host, &error))?;
        let _ = channel.eof().await;
        while let Some(message) = channel.wait().await {
            if matches!(message, ChannelMsg::Close) {
                break;
            }
        }
        Ok::<(), ToolError>(())
    })
    .await;
    match outcome {
        Ok(Ok(())) => tracing::debug!(host = %host.name(), pgid, "remote process group stopped"),
        Ok(Err(error)) => {
            tracing::warn!(host = %host.name(), pgid, %error, "could not kill a remote process group")
        }
        Err(_) => {
            tracing::warn!(host = %host.name(), pgid, "killing a remote process group timed out")
        }
    }
}

/// A random lowercase hex string of `bytes` bytes.
pub(crate) fn random_hex(bytes: usize) -> ToolResult<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|error| ToolError::internal(format!("getrandom: {error}")))?;
    Ok(hex::encode(buffer))
}

/// Capped capture of one stream.
#[derive(Debug, Default)]
struct Capture {
    kept: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Capture {
    fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn into_text(self) -> (String, bool) {
        let text = String::from_utf8_lossy(&self.kept).into_owned();
        if self.truncated {
            return (truncate_utf8(&text, self.cap).to_string(), true);
        }
        (text, false)
    }
}

/// Collects what the channel delivers and finds the pid line.
struct Reader {
    needle: Vec<u8>,
    /// Stdout held back until the pid line has been found (None once found or given up).
    pending: Option<Vec<u8>>,
    pgid: Option<u32>,
    stdout: Capture,
    stderr: Capture,
    exit_code: Option<i32>,
    /// The signal that killed the command, as a Linux signal number when known.
    signal: Option<i32>,
    /// An exit status or exit signal arrived: without one, the connection was lost mid-run.
    exited: bool,
    refused: bool,
}

impl Reader {
    fn new(nonce: String, cap: usize) -> Self {
        Self {
            needle: format!("skippy-pid-{nonce}:").into_bytes(),
            pending: Some(Vec::new()),
            pgid: None,
            stdout: Capture {
                cap,
                ..Capture::default()
            },
            stderr: Capture {
                cap,
                ..Capture::default()
            },
            exit_code: None,
            signal: None,
            exited: false,
            refused: false,
        }
    }

    /// Take one channel message; false when the channel is finished.
    fn handle(&mut self, message: Option<ChannelMsg>) -> bool {
        match message {
            None | Some(ChannelMsg::Close) => false,
            Some(ChannelMsg::Data { data }) => {
                self.push_stdout(&data);
                true
            }
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                self.stderr.push(&data);
                true
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                self.exit_code = i32::try_from(exit_status).ok();
                self.exited = true;
                true
            }
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                tracing::debug!(?signal_name, "remote command killed by a signal");
                self.signal = signal_number(&signal_name);
                self.exit_code = None;
                self.exited = true;
                true
            }
            Some(ChannelMsg::Failure) => {
                self.refused = true;
                false
            }
            Some(_) => true,
        }
    }

    fn push_stdout(&mut self, data: &[u8]) {
        let Some(pending) = self.pending.as_mut() else {
            self.stdout.push(data);
            return;
        };
        pending.extend_from_slice(data);
        let found = find(pending, &self.needle).and_then(|start| {
            let digits = start + self.needle.len();
            let end = digits + pending[digits..].iter().position(|b| *b == b'\n')?;
            Some((start, digits, end))
        });
        if let Some((start, digits, end)) = found {
            self.pgid = std::str::from_utf8(&pending[digits..end])
                .ok()
                .and_then(|text| text.parse::<u32>().ok())
                .filter(|pid| *pid >= 2);
            let pending = self.pending.take().unwrap_or_default();
            self.stdout.push(&pending[..start]);
            self.stdout.push(&pending[end + 1..]);
        } else if pending.len() > MARKER_SEARCH_LIMIT {
            let pending = self.pending.take().unwrap_or_default();
            self.stdout.push(&pending);
        }
    }

    fn finish(mut self, started: Instant, limits: Option<&ResourceLimits>) -> CommandOutput {
        if let Some(pending) = self.pending.take() {
            self.stdout.push(&pending);
        }
        let (stdout, stdout_truncated) = self.stdout.into_text();
        let (stderr, stderr_truncated) = self.stderr.into_text();
        CommandOutput {
            limit_hit: detect_limit_hit(limits, self.exit_code, self.signal, &stderr),
            exit_code: self.exit_code,
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// The Linux number of a signal named in an SSH `exit-signal` (only those a limit produces).
fn signal_number(signal: &russh::Sig) -> Option<i32> {
    match signal {
        russh::Sig::KILL => Some(9),
        russh::Sig::Custom(name) if name.trim_start_matches("SIG") == "XCPU" => Some(24),
        _ => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> Option<ChannelMsg> {
        Some(ChannelMsg::Data {
            data: text.as_bytes().to_vec().into(),
        })
    }

    #[test]
    fn pid_line_is_found_across_chunks_and_stripped() {
        let mut reader = Reader::new("abc".into(), 1024);
        assert!(reader.handle(data("motd from .bashrc\nskippy-pid-a")));
        assert_eq!(reader.pgid, None);
        assert!(reader.handle(data("bc:4242\nhello\n")));
        assert_eq!(reader.pgid, Some(4242));
        assert!(reader.handle(data("world\n")));
        assert!(reader.handle(Some(ChannelMsg::ExitStatus { exit_status: 3 })));
        assert!(!reader.handle(Some(ChannelMsg::Close)));
        let output = reader.finish(Instant::now(), None);
        assert_eq!(output.stdout, "motd from .bashrc\nhello\nworld\n");
        assert_eq!(output.exit_code, Some(3));
    }

    #[test]
    fn spoofed_or_dangerous_pids_are_ignored() {
        let mut reader = Reader::new("abc".into(), 1024);
        reader.handle(data("skippy-pid-other:77\nskippy-pid-abc:1\n"));
        assert_eq!(reader.pgid, None);
        let output = reader.finish(Instant::now(), None);
        assert_eq!(output.stdout, "skippy-pid-other:77\n");
    }

    #[test]
    fn output_is_capped_per_stream() {
        let mut reader = Reader::new("n".into(), 5);
        reader.handle(data("skippy-pid-n:99\n0123456789"));
        reader.handle(Some(ChannelMsg::ExtendedData {
            data: b"ab".to_vec().into(),
            ext: 1,
        }));
        let output = reader.finish(Instant::now(), None);
        assert_eq!(
            (output.stdout.as_str(), output.stdout_truncated),
            ("01234", true)
        );
        assert_eq!(
            (output.stderr.as_str(), output.stderr_truncated),
            ("ab", false)
        );
    }

    #[test]
    fn scripts_have_no_single_quote_problems_and_cwd_is_quoted() {
        let script = user_script(RemoteCommand::Shell("echo hi"), Some("/tmp/a b")).unwrap();
        assert_eq!(script, "cd -- '/tmp/a b' || exit 1\necho hi");
        assert_eq!(
            user_script(RemoteCommand::Shell("  "), None)
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
    }

    /// The remote bootstrap sets the limits it is given (here run by a local `sh`).
    #[test]
    fn finding_05_bootstrap_sets_the_limits() {
        let script = bootstrap();
        let argv = [
            "sh",
            "-c",
            &script,
            "skippy",
            "n1",
            "cat /proc/self/limits",
            "131072",
            "4",
            "5",
        ];
        let output = std::process::Command::new(argv[0])
            .args(&argv[1..])
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        crate::tools::run_remote_command::tests::assert_limits(&stdout, 134_217_728, "4 5");
    }

    /// The bootstrap run by a local `sh`, both as a group leader (what sshd gives it) and not (it
    /// must then move to a session of its own): it prints its pid, which is the process group of
    /// the command, and keeps the command's output and exit code.
    #[test]
    fn bootstrap_reports_the_process_group_of_the_command() {
        let command = "read -r _ _ _ _ p _ < /proc/$$/stat; echo \"$p\"; exit 7";
        let script = bootstrap();
        let leader = ["setsid", "sh", "-c", &script, "skippy", "n1", command];
        let member = ["sh", "-c", &script, "skippy", "n1", command];
        for argv in [&leader[..], &member[..]] {
            let output = std::process::Command::new(argv[0])
                .args(&argv[1..])
                .output()
                .unwrap();
            let stdout = String::from_utf8(output.stdout).unwrap();
            let (first, rest) = stdout.split_once('\n').unwrap();
            let pid = first.strip_prefix("skippy-pid-n1:").unwrap();
            assert_eq!(rest, format!("{pid}\n"), "{argv:?}");
            assert_eq!(output.status.code(), Some(7));
        }
    }
}
