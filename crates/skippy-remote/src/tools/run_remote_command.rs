//! `run_remote_command`: run one shell command line on a host and return its exit code and output.
//!
//! What may run is decided by the host's `exec_policy` BEFORE anything is sent or started:
//! - `disabled`: refused (`policy_denied`).
//! - `allowlist` (the default): the line must pass `CommandPolicy` (a real shell parse; only
//!   simple commands of allowlisted programs joined by pipes and lists, no substitutions, no file
//!   redirections). The list is the host's `allowed_programs`, else the default inspection list.
//! - `unrestricted`: runs as given.
//!
//! `local` has no host configuration: it is always `allowlist` with the default inspection list.
//! An operator who wants more on this machine configures it as an SSH host (address 127.0.0.1)
//! with the policy they want.
//!
//! The line runs under `sh -c` (on a remote host, behind a fixed bootstrap sent through the SSH
//! login shell, see [`crate::exec()`]); `cwd` is applied first. A non-zero exit status is a result,
//! not an error. `timeout_secs` (default 30, at most 600: larger is clamped, and the result's
//! `timeout_secs_clamped_to` says so) kills the command and, remotely, its whole process group.
//! stdout and stderr are capped at half the output ceiling each; a cut stream says
//! `*_truncated: true` (there is no continuation: run a narrower command).
//!
//! Every process of the command runs under the `[exec]` limits: `max_memory_mb` of address space
//! (default 512) and `max_cpu_secs` of CPU time (default: the command's time limit), set with
//! `ulimit` by the same bootstrap locally and remotely. When a limit stops the command, `limit_hit`
//! says which (`memory` or `cpu`) and `note` says what to do.
//!
//! Side effects: whatever the command does. Nothing is retried.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp::{self, Clamped};
use skippy_core::commands::{CommandPolicy, MAX_COMMAND_BYTES};
use skippy_core::hosts::{ExecPolicy, HostConfig, LOCAL};
use skippy_core::limits::{Budget, json_len, truncate_utf8};
use skippy_core::process::{LimitHit, ResourceLimits};
use skippy_core::{Annotations, Plan, Tool, ToolCtx, ToolError, ToolResult, Toolset};

use crate::tools::common::host_name;
use crate::{Hosts, RunOptions};

/// Default and largest `timeout_secs`.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
const MAX_TIMEOUT_SECS: u64 = 600;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
    /// Shell command line
    pub command: String,
    /// Absolute; default the login home
    #[serde(default)]
    pub cwd: Option<String>,
    /// Default 30, max 600 (larger is clamped)
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub host: String,
    /// Absent when killed by a signal
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub duration_ms: u64,
    /// Set when a resource limit (exec.max_memory_mb / exec.max_cpu_secs) stopped the command
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_hit: Option<LimitHit>,
    /// What happened, when a limit stopped the command
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs_clamped_to: Option<u64>,
}

pub struct RunRemoteCommand {
    pub hosts: Arc<Hosts>,
}

impl Tool for RunRemoteCommand {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "run_remote_command";
    const TITLE: &'static str = "Run command on host";
    const DESCRIPTION: &'static str = "Run a shell command on a host. On allowlist hosts (and local) only allowlisted programs run, without substitutions or file redirections.";
    const TOOLSET: Toolset = Toolset::Remote;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
    /// Above the largest `timeout_secs`, which the tool enforces itself.
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(MAX_TIMEOUT_SECS + 10));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let timeout_secs = timeout(params.timeout_secs)?;
        let timeout = Duration::from_secs(timeout_secs.value);
        let cwd = params.cwd.as_deref().map(check_cwd).transpose()?;
        let name = host_name(&ctx, params.host.as_deref());
        let executor = self.hosts.executor(name)?;
        check_policy(name, executor.host_config(), &params.command)?;
        if executor.host_config().is_none()
            && let Some(dir) = cwd
            && !Path::new(dir).is_dir()
        {
            return Err(ToolError::NotFound(format!(
                "working directory `{dir}` does not exist on this machine"
            )));
        }
        let per_stream = Budget::for_output(ctx.max_output_bytes()).remaining() / 2;
        // The adapter's limit may be lower than the requested one: stop first, and say so.
        let timeout = timeout.min(ctx.remaining());
        let limits = ResourceLimits::from_settings(&ctx.config.exec, timeout);
        let options = RunOptions {
            timeout,
            max_output_bytes: per_stream,
            cwd: cwd.map(str::to_string),
            limits,
        };
        let output = executor
            .run_shell(&params.command, &options, &ctx.cancel)
            .await?;
        // The cap is on raw bytes; JSON escaping can make a stream longer than that.
        let (stdout, stdout_cut) = fit_json(output.stdout, per_stream);
        let (stderr, stderr_cut) = fit_json(output.stderr, per_stream);
        Ok(Output {
            host: executor.host_name().to_string(),
            exit_code: output.exit_code,
            stdout,
            stderr,
            stdout_truncated: output.stdout_truncated || stdout_cut,
            stderr_truncated: output.stderr_truncated || stderr_cut,
            duration_ms: output.duration_ms.round() as u64,
            note: output
                .limit_hit
                .zip(limits)
                .map(|(hit, limits)| limit_note(hit, &limits)),
            limit_hit: output.limit_hit,
            timeout_secs_clamped_to: timeout_secs.clamped_to,
        })
    }

    /// The host, the command line and what the host's exec policy says about it; runs nothing and
    /// connects to nothing. A line the policy refuses fails here, before anyone is asked.
    async fn plan(&self, ctx: &ToolCtx, params: &Params) -> ToolResult<Plan> {
        let timeout = Duration::from_secs(timeout(params.timeout_secs)?.value);
        let cwd = params.cwd.as_deref().map(check_cwd).transpose()?;
        let name = host_name(ctx, params.host.as_deref());
        let executor = self.hosts.executor(name)?;
        check_policy(name, executor.host_config(), &params.command)?;
        let (place, policy, home) = match executor.host_config() {
            None => (
                "this machine (local)".to_string(),
                "allowlist (default inspection programs): accepted",
                "Skippy's own",
            ),
            Some(config) => (
                format!(
                    "host {} ({}@{}:{})",
                    config.name, config.user, config.address, config.port
                ),
                match config.exec_policy {
                    ExecPolicy::Allowlist => "allowlist: accepted",
                    ExecPolicy::Unrestricted => "unrestricted: runs as given, unchecked",
                    ExecPolicy::Disabled => "disabled",
                },
                "the login home",
            ),
        };
        Ok(Plan::Text(format!(
            "Run on {place}:\n  $ {}\nWorking directory: {}. Time limit: {} s. Exec policy: {policy}.",
            params.command,
            cwd.unwrap_or(home),
            timeout.as_secs()
        )))
    }
}

/// The sentence that explains a limit hit.
fn limit_note(hit: LimitHit, limits: &ResourceLimits) -> String {
    match hit {
        LimitHit::Memory => format!(
            "The command hit the memory limit ({} MiB of address space per process, exec.max_memory_mb) and \
             failed to allocate; work on less data at once (head, a narrower filter) or ask the operator to \
             raise exec.max_memory_mb.",
            limits.memory_kib.unwrap_or(0) / 1024
        ),
        LimitHit::Cpu => format!(
            "The command used up its CPU time ({} s per process, exec.max_cpu_secs) and was stopped; make it \
             do less work, or ask the operator to raise exec.max_cpu_secs.",
            limits.cpu_secs.unwrap_or(0)
        ),
    }
}

/// The longest prefix of `text` whose JSON form fits in `budget` bytes; true when cut.
fn fit_json(text: String, budget: usize) -> (String, bool) {
    if json_len(&text) <= budget {
        return (text, false);
    }
    let (mut low, mut high) = (0, text.len());
    while low < high {
        let middle = (low + high).div_ceil(2);
        if json_len(truncate_utf8(&text, middle)) <= budget {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    (truncate_utf8(&text, low).to_string(), true)
}

fn timeout(requested: Option<u64>) -> ToolResult<Clamped<u64>> {
    clamp::limit(
        "timeout_secs",
        requested,
        DEFAULT_TIMEOUT_SECS,
        MAX_TIMEOUT_SECS,
    )
}

fn check_cwd(cwd: &str) -> ToolResult<&str> {
    if cwd.contains('\0') {
        return Err(ToolError::invalid("cwd contains a NUL byte"));
    }
    if !cwd.starts_with('/') {
        return Err(ToolError::invalid(format!(
            "cwd `{cwd}` is not absolute; give a path starting with /"
        )));
    }
    // Inside /proc/<pid>, a relative `environ` would read a process's secrets (finding 3).
    skippy_core::commands::check_working_directory(cwd)?;
    Ok(cwd)
}

/// Apply the host's exec policy to `command`; `host` is None for `local`. Runs nothing.
fn check_policy(name: &str, host: Option<&HostConfig>, command: &str) -> ToolResult<()> {
    if command.trim().is_empty() {
        return Err(ToolError::invalid(
            "the command is empty; send a command such as `uptime`",
        ));
    }
    if command.len() > MAX_COMMAND_BYTES {
        return Err(ToolError::invalid(format!(
            "the command is {} bytes, more than {MAX_COMMAND_BYTES}; send a shorter command",
            command.len()
        )));
    }
    if command.contains('\0') {
        return Err(ToolError::invalid("the command contains a NUL byte"));
    }
    let policy = match host.map(|config| (config, config.exec_policy)) {
        None => CommandPolicy::default_inspection(),
        Some((config, ExecPolicy::Disabled)) => {
            return Err(ToolError::denied(format!(
                "run_remote_command is disabled on host {name} (exec_policy = \"disabled\"); nothing ran. \
                 Use the read-only host tools (remote_status, list_processes, tail_log), or ask the operator \
                 to set exec_policy in [hosts.{}]",
                config.name
            )));
        }
        Some((_, ExecPolicy::Unrestricted)) => return Ok(()),
        Some((config, ExecPolicy::Allowlist)) => match &config.allowed_programs {
            None => CommandPolicy::default_inspection(),
            Some(programs) => CommandPolicy::with_programs(programs).map_err(|error| {
                ToolError::denied(format!(
                    "the allowed_programs of host {name} are invalid ({error}); nothing ran. The operator must \
                     fix [hosts.{}].allowed_programs",
                    config.name
                ))
            })?,
        },
    };
    policy.check(command).map(|_| ()).map_err(|error| match error {
        ToolError::PolicyDenied(reason) => {
            let local_hint = if name == LOCAL {
                " (`local` always uses the default inspection allowlist; configure this machine as an SSH \
                 host to change that)"
            } else {
                ""
            };
            ToolError::PolicyDenied(format!("refused on host {name}, nothing ran: {reason}{local_hint}"))
        }
        other => other,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use skippy_core::Config;
    use skippy_core::hosts::HostKeyPolicy;

    fn host(policy: ExecPolicy, programs: Option<&[&str]>) -> HostConfig {
        HostConfig {
            name: "web".into(),
            address: "192.0.2.1".into(),
            port: 22,
            user: "deploy".into(),
            auth: Vec::new(),
            known_hosts: "/nonexistent".into(),
            skippy_known_hosts: "/nonexistent".into(),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_millis(200),
            keepalive: None,
            max_sessions: 1,
            idle_close: Duration::from_secs(1),
            exec_policy: policy,
            allowed_programs: programs.map(|p| p.iter().map(|s| s.to_string()).collect()),
            remote_roots: Vec::new(),
            log_paths: Vec::new(),
        }
    }

    fn code(result: ToolResult<()>) -> &'static str {
        result.err().map(|e| e.code()).unwrap_or("ok")
    }

    #[test]
    fn local_and_allowlist_hosts_use_the_inspection_list() {
        let web = host(ExecPolicy::Allowlist, None);
        for target in [None, Some(&web)] {
            assert_eq!(code(check_policy("x", target, "uptime")), "ok");
            assert_eq!(code(check_policy("x", target, "ps aux | head -3")), "ok");
            assert_eq!(code(check_policy("x", target, "sudo id")), "policy_denied");
            assert_eq!(code(check_policy("x", target, "ls $(id)")), "policy_denied");
            assert_eq!(
                code(check_policy("x", target, "rm -rf /tmp/x")),
                "policy_denied"
            );
            assert_eq!(code(check_policy("x", target, "  ")), "invalid_argument");
        }
        let error = check_policy("local", None, "rm -rf /").unwrap_err();
        assert!(error.to_string().contains("`local` always uses"), "{error}");
        assert!(error.to_string().contains("nothing ran"), "{error}");
    }

    #[test]
    fn configured_programs_disabled_and_unrestricted() {
        let custom = host(ExecPolicy::Allowlist, Some(&["git"]));
        assert_eq!(code(check_policy("web", Some(&custom), "git status")), "ok");
        assert_eq!(
            code(check_policy("web", Some(&custom), "uptime")),
            "policy_denied"
        );
        let bad = host(ExecPolicy::Allowlist, Some(&["sudo"]));
        assert_eq!(
            code(check_policy("web", Some(&bad), "uptime")),
            "policy_denied"
        );
        let disabled = host(ExecPolicy::Disabled, None);
        let error = check_policy("web", Some(&disabled), "uptime").unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(error.to_string().contains("exec_policy"), "{error}");
        let open = host(ExecPolicy::Unrestricted, None);
        assert_eq!(
            code(check_policy("web", Some(&open), "rm -rf /tmp/x; sudo id")),
            "ok"
        );
        assert_eq!(
            code(check_policy("web", Some(&open), "a\0b")),
            "invalid_argument"
        );
        let long = "x".repeat(MAX_COMMAND_BYTES + 1);
        assert_eq!(
            code(check_policy("web", Some(&open), &long)),
            "invalid_argument"
        );
    }

    #[test]
    fn streams_are_cut_to_their_json_size() {
        assert_eq!(fit_json("abc".into(), 5), ("abc".to_string(), false));
        assert_eq!(fit_json("abcd".into(), 5), ("abc".to_string(), true));
        // Each newline costs two bytes in JSON.
        assert_eq!(fit_json("\n\n\n\n".into(), 6), ("\n\n".to_string(), true));
        assert_eq!(fit_json("éé".into(), 5), ("é".to_string(), true));
        assert_eq!(fit_json("x".into(), 1), (String::new(), true));
    }

    #[test]
    fn arguments_are_validated() {
        assert_eq!(timeout(None).unwrap().value, 30);
        assert_eq!(timeout(Some(600)).unwrap().clamped_to, None);
        assert_eq!(timeout(Some(0)).unwrap_err().code(), "invalid_argument");
        // defect_limits_are_clamped_not_refused: above the ceiling runs at the ceiling, and says so.
        let clamped = timeout(Some(601)).unwrap();
        assert_eq!((clamped.value, clamped.clamped_to), (600, Some(600)));
        assert_eq!(check_cwd("/tmp").unwrap(), "/tmp");
        assert_eq!(check_cwd("tmp").unwrap_err().code(), "invalid_argument");
        assert_eq!(check_cwd("/t\0").unwrap_err().code(), "invalid_argument");
    }

    fn tool(configs: Vec<HostConfig>) -> RunRemoteCommand {
        RunRemoteCommand {
            hosts: Arc::new(Hosts::from_host_configs(configs)),
        }
    }

    fn params(host: Option<&str>, command: &str) -> Params {
        Params {
            host: host.map(str::to_string),
            command: command.into(),
            cwd: None,
            timeout_secs: None,
        }
    }

    #[tokio::test]
    async fn approval_plan_names_host_command_and_policy_without_connecting() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = tool(vec![
            host(ExecPolicy::Unrestricted, None),
            HostConfig {
                name: "db".into(),
                ..host(ExecPolicy::Allowlist, None)
            },
        ]);
        let Plan::Text(text) = tool
            .plan(&ctx, &params(Some("web"), "systemctl restart nginx"))
            .await
            .unwrap()
        else {
            panic!("a plan of its own")
        };
        assert!(text.contains("host web (deploy@192.0.2.1:22)"), "{text}");
        assert!(text.contains("$ systemctl restart nginx"), "{text}");
        assert!(text.contains("unrestricted"), "{text}");
        let Plan::Text(text) = tool.plan(&ctx, &params(None, "uptime")).await.unwrap() else {
            panic!("a plan of its own")
        };
        assert!(
            text.contains("this machine (local)") && text.contains("accepted"),
            "{text}"
        );
        // What the policy refuses fails at the plan: nobody is asked about it.
        let error = tool
            .plan(&ctx, &params(Some("db"), "touch /tmp/x"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
    }

    #[tokio::test]
    async fn refusals_happen_before_connecting() {
        // 192.0.2.1 (TEST-NET-1) is never reachable: an attempt to connect would be `unavailable`.
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = tool(vec![host(ExecPolicy::Allowlist, None)]);
        let error = tool
            .run(ctx.clone(), params(Some("web"), "touch /tmp/x"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let tool = self::tool(vec![host(ExecPolicy::Disabled, None)]);
        let error = tool
            .run(ctx.clone(), params(Some("web"), "uptime"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = tool
            .run(ctx, params(Some("nope"), "uptime"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    /// `tail -n 7 /dev/zero` buffers forever; it grew to GiBs before the limit existed.
    #[tokio::test]
    async fn finding_05_local_memory_hog_is_stopped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = tool(Vec::new());
        let mut call = params(None, "tail -n 7 /dev/zero");
        call.timeout_secs = Some(10);
        let output = tool.run(ctx, call).await.unwrap();
        assert_ne!(output.exit_code, Some(0));
        assert_eq!(output.limit_hit, Some(LimitHit::Memory), "{output:?}");
        let note = output.note.unwrap();
        assert!(note.contains("512 MiB"), "{note}");
        assert!(note.contains("exec.max_memory_mb"), "{note}");
    }

    #[tokio::test]
    async fn finding_05_local_limits_match_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.exec.max_memory_mb = Some(300);
        let tool = tool(Vec::new());
        let mut call = params(None, "cat /proc/self/limits");
        call.timeout_secs = Some(12);
        let output = tool
            .run(ToolCtx::for_tests(config.clone()), call)
            .await
            .unwrap();
        assert_eq!(output.exit_code, Some(0), "{}", output.stderr);
        assert_eq!(output.limit_hit, None);
        assert_limits(&output.stdout, 300 * 1024 * 1024, "12 13");
        config.exec.max_cpu_secs = skippy_core::config::CpuLimit::Fixed(3);
        let output = tool
            .run(
                ToolCtx::for_tests(config),
                params(None, "cat /proc/self/limits"),
            )
            .await
            .unwrap();
        assert_limits(&output.stdout, 300 * 1024 * 1024, "3 4");
    }

    /// Asserts the address-space limit (bytes, soft and hard) and the CPU limit ("soft hard").
    pub(crate) fn assert_limits(proc_limits: &str, address_bytes: u64, cpu: &str) {
        let values = |name: &str| {
            proc_limits
                .lines()
                .find(|line| line.starts_with(name))
                .map(|line| {
                    line[name.len()..]
                        .split_whitespace()
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        assert_eq!(
            values("Max address space"),
            format!("{address_bytes} {address_bytes}"),
            "{proc_limits}"
        );
        assert_eq!(values("Max cpu time"), cpu, "{proc_limits}");
    }

    #[tokio::test]
    async fn runs_locally_with_exit_code_as_a_result() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("made");
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = tool(Vec::new());
        let mut call = params(None, "pwd; ls no-such-file");
        call.cwd = Some(dir.path().display().to_string());
        let output = tool.run(ctx.clone(), call).await.unwrap();
        assert_eq!(output.host, "local");
        assert_eq!(output.exit_code, Some(2));
        assert_eq!(
            output.stdout,
            format!("{}\n", std::fs::canonicalize(dir.path()).unwrap().display())
        );
        assert!(output.stderr.contains("no-such-file"), "{}", output.stderr);
        let refused = format!("touch {}", marker.display());
        let error = tool
            .run(ctx.clone(), params(None, &refused))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(!marker.exists());
        let mut missing = params(None, "pwd");
        missing.cwd = Some(dir.path().join("gone").display().to_string());
        assert_eq!(
            tool.run(ctx, missing).await.unwrap_err().code(),
            "not_found"
        );
    }
}
