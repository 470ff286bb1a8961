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
//! Stopping is the job of a guard (`RemoteRun`), armed before the request is sent and disarmed
//! only when the command ended by itself. On timeout, cancellation, server shutdown
//! ([`crate::Hosts::shutdown`]), an error, or when the caller's future is simply dropped (the
//! adapter races the tool against cancellation and its deadline and drops the loser), it spawns a
//! task that closes the channel, then runs on a cleanup channel `kill -s TERM -- -<pgid>`, waits
//! up to 2 s for the group to exit, then sends `KILL`. The kill runs in that task, not after an
//! `.await` of the call: a dropped future is never polled again, so a kill written there would be
//! skipped exactly when the call is abandoned. A pid below 2 is never signalled (`kill -- -1`
//! would hit every process of the user).
//!
//! The pid line is the bootstrap's first output, but it comes after the login shell's start-up
//! files. Stopped before it arrived, the task keeps reading for it for up to 2 s; if it still has
//! not come, it signals the processes whose command line holds the call's nonce (`ps`): the login
//! shell about to become the bootstrap, or the bootstrap itself. What remains possible: on a host
//! without a `ps` that knows `-o pid,pgid,args`, a command whose pid line did not arrive within
//! those 2 s (slow start-up files, a connection lost at that moment) runs to its own end.

use std::time::{Duration, Instant};

use russh::client::Msg;
use russh::{Channel, ChannelMsg};
use skippy_core::limits::truncate_utf8;
use skippy_core::process::{CommandOutput, LIMITS_SH, ResourceLimits, detect_limit_hit};
use skippy_core::{ToolError, ToolResult};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::pool::{ActivityTicket, HostHandle, PooledChannel};
use crate::quote::{quote_arg, quote_argv};

/// How long to keep reading for the pid line when the command is stopped before it arrived.
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

/// `"$@"` = what to signal: `-<pgid>` for a process group, `<pid>` for a single process. TERM, wait
/// up to 2 s for all to exit (20 x 0.1 s, or 1 s steps where `sleep` takes whole seconds only),
/// then KILL what is left.
///
/// `kill -s 0` also answers for processes that exited and were not reaped yet (an init that does
/// not reap, as in many containers, leaves a killed pipeline as zombies), so when `ps` can tell,
/// only processes that are not zombies count as alive.
const STOP_SH: &str = r#"alive() {
a=1
for t in "$@"; do kill -s 0 -- "$t" 2>/dev/null && a=0; done
[ "$a" = 0 ] || return 1
l=$(ps -e -o pgid= -o pid= -o stat= 2>/dev/null) || return 0
printf '%s\n' "$l" | {
while read -r g p s; do
case "$s" in Z*) continue ;; esac
for t in "$@"; do [ "$t" = "-$g" ] && exit 0; [ "$t" = "$p" ] && exit 0; done
done
exit 1
}
}
alive "$@" || exit 0
kill -s TERM -- "$@" 2>/dev/null
i=0
while [ "$i" -lt 20 ]; do
alive "$@" || exit 0
sleep 0.1 2>/dev/null || { sleep 1; i=$((i + 9)); }
i=$((i + 1))
done
kill -s KILL -- "$@" 2>/dev/null
exit 0
"#;

/// `$1` = process group id, then [`STOP_SH`].
const GROUP_TARGET_SH: &str = "set -- \"-$1\"\n";

/// `$1$2` = the nonce of a command whose pid line never arrived, in two halves so that this
/// script's own command line does not contain it. Targets every process whose command line holds
/// it (the bootstrap `sh`, and the login shell that is about to become it): its whole group when it
/// leads one (the bootstrap's is the command's), else the process alone. Then [`STOP_SH`].
const TAGGED_TARGET_SH: &str = r#"n="$1$2"
set --
for w in $( { ps -ww -e -o pid= -o pgid= -o args= 2>/dev/null || ps -e -o pid= -o pgid= -o args= 2>/dev/null; } |
while read -r pid pgid args; do
case "$args" in *"$n"*) if [ "$pid" = "$pgid" ]; then echo "-$pid"; else echo "$pid"; fi ;; esac
done); do
case "$w" in -|-0|-1|0|1|"-$$"|"$$") ;; *) set -- "$@" "$w" ;; esac
done
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
    let line = command_line(&nonce, &script, options.limits);
    let label = command.label();

    if host.shutdown_token().is_cancelled() {
        return Err(shutting_down(&label, host));
    }
    let pooled = tokio::select! {
        pooled = host.channel() => pooled?,
        () = cancel.cancelled() => return Err(ToolError::Cancelled),
        () = host.shutdown_token().cancelled() => return Err(shutting_down(&label, host)),
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
    // Armed before the request is sent: from here on, however this function ends early (an error,
    // or its future dropped by the adapter), the command is stopped on the host.
    let mut run = RemoteRun {
        host: host.clone(),
        reader: Reader::new(nonce.clone(), options.max_output_bytes),
        nonce,
        pooled: Some(pooled),
        ticket: Some(host.ticket()),
    };
    let (channel, _) = run.parts()?;
    channel
        .exec(true, line.into_bytes())
        .await
        .map_err(|error| lost(host, &error))?;
    // The command's stdin is empty, like /dev/null for local commands.
    channel.eof().await.map_err(|error| lost(host, &error))?;

    let why = loop {
        let (channel, reader) = run.parts()?;
        tokio::select! {
            message = channel.wait() => {
                if !reader.handle(message) {
                    break None;
                }
            }
            () = cancel.cancelled() => break Some(Interrupt::Cancelled),
            () = host.shutdown_token().cancelled() => break Some(Interrupt::Shutdown),
            () = tokio::time::sleep_until(deadline) => break Some(Interrupt::Timeout),
        }
    };
    if let Some(why) = why {
        // The stop runs in a task of its own and is awaited here: if this future is dropped while
        // it waits (the adapter gave up at the same moment), the stop still completes.
        if let Some(stopping) = run.stop() {
            let _ = stopping.await;
        }
        return Err(why.error(&label, host.name(), options.timeout));
    }
    let reader = run.ended();
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

fn shutting_down(label: &str, host: &HostHandle) -> ToolError {
    ToolError::Unavailable(format!(
        "Skippy is shutting down: {label} on host {} was stopped (or not started); run it again after the restart",
        host.name()
    ))
}

/// What is sent to the server: the bootstrap, tagged with `nonce`, running `script`.
fn command_line(nonce: &str, script: &str, limits: Option<ResourceLimits>) -> String {
    let [memory, cpu_soft, cpu_hard] = limits.map(|limits| limits.shell_args()).unwrap_or_default();
    format!(
        "exec sh -c {} skippy {nonce} {} {} {} {}",
        quote_arg(&bootstrap()),
        quote_arg(script),
        quote_arg(&memory),
        quote_arg(&cpu_soft),
        quote_arg(&cpu_hard)
    )
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
    Shutdown,
}

impl Interrupt {
    fn error(self, label: &str, host: &str, timeout: Duration) -> ToolError {
        match self {
            Interrupt::Cancelled => ToolError::Cancelled,
            Interrupt::Shutdown => ToolError::Unavailable(format!(
                "Skippy is shutting down: {label} on host {host} was stopped (its whole remote process group); \
                 run it again after the restart"
            )),
            Interrupt::Timeout => ToolError::Timeout(format!(
                "{label} on host {host} did not finish within {:.1} s and was killed (its whole remote process group); \
                 narrow the request or raise the timeout",
                timeout.as_secs_f64()
            )),
        }
    }
}

/// A command started on a host, until it is known to have ended. Dropped while the command may
/// still run (the caller's future dropped: cancellation or a deadline in the adapter, the runtime
/// shutting down, an error on the way), it stops the command from a task of its own
/// ([`RemoteRun::stop`]): a kill written after an `.await` in the caller would never run, because a
/// dropped future is not polled again.
struct RemoteRun {
    host: HostHandle,
    nonce: String,
    /// The command's channel; None once given to the stop task.
    pooled: Option<PooledChannel>,
    reader: Reader,
    /// Present while the command may still run ("armed"); counts it for [`crate::Hosts::shutdown`].
    ticket: Option<ActivityTicket>,
}

impl RemoteRun {
    fn parts(&mut self) -> ToolResult<(&mut Channel<Msg>, &mut Reader)> {
        let pooled = self
            .pooled
            .as_mut()
            .ok_or_else(|| ToolError::internal("remote command channel used after its stop"))?;
        Ok((pooled.channel()?, &mut self.reader))
    }

    /// The command ended by itself (or the connection dropped): nothing to stop.
    fn ended(mut self) -> Reader {
        self.ticket = None;
        std::mem::take(&mut self.reader)
    }

    /// Stop the command on the host in a task of its own, which takes the channel (to keep reading
    /// for the pid line if it has not arrived yet) and the ticket (so that shutdown waits for it).
    /// None when already stopped, or when there is no runtime left to run the task on.
    fn stop(&mut self) -> Option<JoinHandle<()>> {
        let ticket = self.ticket.take()?;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(host = %self.host.name(), "a remote command could not be stopped: no runtime");
            return None;
        };
        let host = self.host.clone();
        let nonce = std::mem::take(&mut self.nonce);
        let pooled = self.pooled.take();
        let reader = std::mem::take(&mut self.reader);
        Some(runtime.spawn(async move {
            stop_command(&host, pooled, reader, &nonce).await;
            drop(ticket);
        }))
    }
}

impl Drop for RemoteRun {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Stop a remote command: close its channel (closing alone does not stop it: sshd sends no signal
/// to a command without a terminal), then kill its process group; when its pid line never came,
/// kill what carries its nonce.
async fn stop_command(
    host: &HostHandle,
    pooled: Option<PooledChannel>,
    mut reader: Reader,
    nonce: &str,
) {
    let mut finished = false;
    if let Some(mut pooled) = pooled
        && let Ok(channel) = pooled.channel()
    {
        // The pid is printed first, after the login shell's start-up files: give it a moment.
        let grace = tokio::time::Instant::now() + PID_GRACE;
        while reader.pgid.is_none() {
            let Ok(message) = tokio::time::timeout_at(grace, channel.wait()).await else {
                break;
            };
            if !reader.handle(message) {
                finished = true;
                break;
            }
        }
        let _ = channel.close().await;
    }
    if finished && (reader.exited || reader.refused) {
        return;
    }
    match reader.pgid {
        Some(pgid) => kill_group(host, pgid).await,
        None => kill_tagged(host, nonce).await,
    }
}

/// TERM the remote process group `pgid`, then KILL it after a grace period. Best effort: failures
/// are logged, because the caller is already reporting why it stopped.
pub(crate) async fn kill_group(host: &HostHandle, pgid: u32) {
    // `kill -- -1` would signal every process of the user.
    if pgid < 2 {
        return;
    }
    let line = format!(
        "exec sh -c {} skippy-kill {pgid}",
        quote_arg(&format!("{GROUP_TARGET_SH}{STOP_SH}"))
    );
    run_cleanup(host, line, &format!("process group {pgid}")).await;
}

/// Stop a command whose pid line never arrived, by the nonce on its command line. Best effort, like
/// [`kill_group`]; needs `ps` with `-o pid,pgid,args` on the host.
pub(crate) async fn kill_tagged(host: &HostHandle, nonce: &str) {
    if nonce.len() < 2 {
        return;
    }
    let (head, tail) = nonce.split_at(nonce.len() / 2);
    let line = format!(
        "exec sh -c {} skippy-kill {head} {tail}",
        quote_arg(&format!("{TAGGED_TARGET_SH}{STOP_SH}"))
    );
    run_cleanup(host, line, "the command whose process id never arrived").await;
}

/// Run a cleanup script on a channel outside the session limit and wait for it to finish.
async fn run_cleanup(host: &HostHandle, line: String, what: &str) {
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
        Ok(Ok(())) => tracing::debug!(host = %host.name(), what, "remote command stopped"),
        Ok(Err(error)) => {
            tracing::warn!(host = %host.name(), what, %error, "could not stop a remote command")
        }
        Err(_) => {
            tracing::warn!(host = %host.name(), what, "stopping a remote command timed out")
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
#[derive(Default)]
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

    /// Processes on this machine (where the test sshd runs) whose command line holds `marker`.
    fn processes(marker: &str) -> String {
        let output = std::process::Command::new("pgrep")
            .args(["-af", marker])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// Poll until `done(listing)` or 30 s; returns the last listing.
    async fn wait_for(marker: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let listing = processes(marker);
            if done(&listing) || tokio::time::Instant::now() >= deadline {
                return listing;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn assert_started(marker: &str) {
        let listing = wait_for(marker, |l| l.contains("cat /dev/zero")).await;
        assert!(
            listing.contains("cat /dev/zero"),
            "never started: {listing:?}"
        );
    }

    async fn assert_gone(marker: &str, after: &str) {
        let left = wait_for(marker, str::is_empty).await;
        if !left.is_empty() {
            // Do not leave `cat /dev/zero` spinning after a failure.
            let _ = std::process::Command::new("pkill")
                .args(["-KILL", "-f", marker])
                .status();
        }
        assert!(
            left.is_empty(),
            "after {after}, the remote command survived:\n{left}"
        );
    }

    /// A command that never ends by itself, findable by `marker`.
    fn endless(marker: &str) -> String {
        format!("cat /dev/zero /etc/hostname /nonexistent-{marker} | wc -c")
    }

    fn marker(test: &str) -> String {
        format!("{test}-{}", random_hex(6).unwrap())
    }

    fn long_run() -> RunOptions {
        RunOptions {
            timeout: Duration::from_secs(120),
            ..RunOptions::default()
        }
    }

    /// The issue-7 defect: the adapter drops the call right after cancelling it. The call has then
    /// seen the cancellation and is waiting on the kill, which must still happen.
    #[tokio::test(flavor = "multi_thread")]
    async fn defect_remote_cancel_then_drop_still_kills_the_group() {
        use futures::FutureExt;
        let Some(sshd) = crate::testing::TestSshd::start() else {
            return;
        };
        let host = HostHandle::new(sshd.host_config("box"));
        let marker = marker("cancel-drop");
        let line = endless(&marker);
        let cancel = CancellationToken::new();
        let options = long_run();
        let mut call = Box::pin(exec(&host, RemoteCommand::Shell(&line), &options, &cancel));
        tokio::select! {
            _ = &mut call => panic!("the endless command ended"),
            () = assert_started(&marker) => {}
        }
        cancel.cancel();
        // One poll: the call notices the cancellation and starts stopping; then it is dropped.
        assert!(call.as_mut().now_or_never().is_none());
        drop(call);
        assert_gone(&marker, "cancel then drop").await;
    }

    /// Shutdown stops a running command and waits for the remote kill.
    #[tokio::test(flavor = "multi_thread")]
    async fn defect_remote_shutdown_stops_running_commands() {
        let Some(sshd) = crate::testing::TestSshd::start() else {
            return;
        };
        let hosts = std::sync::Arc::new(crate::Hosts::from_host_configs([sshd.host_config("box")]));
        let marker = marker("shutdown");
        let line = endless(&marker);
        let task_hosts = hosts.clone();
        let call = tokio::spawn(async move {
            let executor = task_hosts.executor("box")?;
            executor
                .run_shell(&line, &long_run(), &CancellationToken::new())
                .await
        });
        assert_started(&marker).await;
        hosts.shutdown().await;
        let error = call.await.unwrap().unwrap_err();
        assert_eq!(error.code(), "unavailable", "{error}");
        assert!(error.to_string().contains("shutting down"), "{error}");
        assert_gone(&marker, "shutdown").await;
        // A command asked for after shutdown does not start.
        let error = hosts
            .executor("box")
            .unwrap()
            .run_shell(
                "echo late",
                &RunOptions::default(),
                &CancellationToken::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "unavailable", "{error}");
    }

    /// Dropped before its pid line was read, a run keeps reading for it in the stop task and
    /// kills the group.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_run_dropped_before_its_pid_line_still_stops_the_command() {
        let Some(sshd) = crate::testing::TestSshd::start() else {
            return;
        };
        let host = HostHandle::new(sshd.host_config("box"));
        let marker = marker("early-drop");
        let nonce = random_hex(8).unwrap();
        let mut pooled = host.channel().await.unwrap();
        pooled
            .channel()
            .unwrap()
            .exec(
                true,
                command_line(&nonce, &endless(&marker), None).into_bytes(),
            )
            .await
            .unwrap();
        let run = RemoteRun {
            host: host.clone(),
            reader: Reader::new(nonce.clone(), 1024),
            nonce,
            pooled: Some(pooled),
            ticket: Some(host.ticket()),
        };
        drop(run);
        assert!(
            host.settled(tokio::time::Instant::now() + Duration::from_secs(30))
                .await
        );
        assert_gone(&marker, "a drop before the pid line").await;
    }

    /// The fallback when the pid line never comes: the processes tagged with the nonce are found
    /// and stopped; an unrelated command is left alone.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_command_whose_pid_never_arrived_is_stopped_by_its_nonce() {
        let Some(sshd) = crate::testing::TestSshd::start() else {
            return;
        };
        let host = HostHandle::new(sshd.host_config("box"));
        let mut started = Vec::new();
        for name in ["tagged", "bystander"] {
            let marker = marker(name);
            let nonce = random_hex(8).unwrap();
            let mut pooled = host.channel().await.unwrap();
            pooled
                .channel()
                .unwrap()
                .exec(
                    true,
                    command_line(&nonce, &endless(&marker), None).into_bytes(),
                )
                .await
                .unwrap();
            assert_started(&marker).await;
            started.push((marker, nonce, pooled));
        }
        let (tagged, bystander) = (&started[0], &started[1]);
        kill_tagged(&host, &tagged.1).await;
        assert_gone(&tagged.0, "the nonce kill").await;
        assert!(processes(&bystander.0).contains("cat /dev/zero"));
        kill_tagged(&host, &bystander.1).await;
        assert_gone(&bystander.0, "the second nonce kill").await;
    }

    /// A group that ignores TERM gets KILL (the stop script run by a local `sh`).
    #[test]
    fn the_stop_script_kills_a_group_that_ignores_term() {
        let marker = marker("ignores-term");
        let script = format!("trap '' TERM; {}", endless(&marker));
        let mut child = std::process::Command::new("setsid")
            .args(["sh", "-c", &script])
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !processes(&marker).contains("cat /dev/zero") {
            assert!(std::time::Instant::now() < deadline, "never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let pgid = child.id().to_string();
        let status = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("{GROUP_TARGET_SH}{STOP_SH}"),
                "skippy-kill",
                &pgid,
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "{status:?}");
        assert_eq!(processes(&marker), "");
    }
}
