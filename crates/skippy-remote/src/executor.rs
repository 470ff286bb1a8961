//! Where a command runs: this machine or a remote host, behind one interface, so that one tool
//! implementation serves `local` and every configured host.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use skippy_core::config::Config;
use skippy_core::hosts::{HostConfig, LOCAL};
use skippy_core::process::{self, CommandOutput, CommandSpec};
use skippy_core::{ToolError, ToolResult};
use tokio_util::sync::CancellationToken;

use crate::exec::{RemoteCommand, RunOptions, exec};
use crate::pool::HostHandle;

/// How long [`Hosts::shutdown`] waits for remote commands to be stopped. A kill normally takes one
/// round trip; a process that ignores TERM gets KILL after 2 s from the kill script, which keeps
/// running on the host even once the connection is closed (sshd does not signal it either).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Runs commands on one machine.
#[derive(Debug, Clone)]
pub enum Executor {
    /// This machine, through `skippy_core::process::run`.
    Local,
    /// A remote host over its pooled SSH connection.
    Ssh(HostHandle),
}

impl Executor {
    /// The host name: `local` or the configured name.
    pub fn host_name(&self) -> &str {
        match self {
            Executor::Local => LOCAL,
            Executor::Ssh(host) => host.name(),
        }
    }

    /// The remote host's settings (policies, roots), or None for `local`.
    pub fn host_config(&self) -> Option<&HostConfig> {
        match self {
            Executor::Local => None,
            Executor::Ssh(host) => Some(host.config()),
        }
    }

    /// Run a program with arguments, each reaching the program literally: locally no shell is
    /// involved; remotely the words are quoted for the login shell that SSH always goes through.
    pub async fn run(
        &self,
        argv: &[String],
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> ToolResult<CommandOutput> {
        match self {
            Executor::Local => {
                let Some((program, args)) = argv.split_first() else {
                    return Err(ToolError::invalid(
                        "the command is empty; give the program and its arguments as a list",
                    ));
                };
                process::run(&local_spec(program, args.iter().cloned(), options), cancel).await
            }
            Executor::Ssh(host) => exec(host, RemoteCommand::Argv(argv), options, cancel).await,
        }
    }

    /// Run a shell command line with `sh -c` (the caller has checked it against the policy).
    pub async fn run_shell(
        &self,
        command: &str,
        options: &RunOptions,
        cancel: &CancellationToken,
    ) -> ToolResult<CommandOutput> {
        match self {
            Executor::Local => {
                if command.trim().is_empty() {
                    return Err(ToolError::invalid("the shell command is empty"));
                }
                // The whole line is ONE argument of `sh -c`: nothing else parses it.
                let args = ["-c".to_string(), command.to_string()];
                process::run(&local_spec("sh", args.into_iter(), options), cancel).await
            }
            Executor::Ssh(host) => exec(host, RemoteCommand::Shell(command), options, cancel).await,
        }
    }
}

fn local_spec(
    program: &str,
    args: impl Iterator<Item = String>,
    options: &RunOptions,
) -> CommandSpec {
    let mut spec = CommandSpec::new(program, args);
    spec.timeout = options.timeout;
    spec.max_output_bytes = options.max_output_bytes;
    spec.cwd = options.cwd.as_ref().map(Into::into);
    spec.limits = options.limits;
    spec
}

/// Every host Skippy knows: `local` plus the configured ones, each with its connection pool.
/// Built once at start-up; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Hosts {
    hosts: BTreeMap<String, HostHandle>,
}

impl Hosts {
    /// Handles for `config.hosts`. Connects to nothing: each host connects on first use.
    pub fn from_config(config: &Config) -> Arc<Hosts> {
        Arc::new(Self::from_host_configs(config.hosts.values().cloned()))
    }

    pub fn from_host_configs(configs: impl IntoIterator<Item = HostConfig>) -> Hosts {
        Hosts {
            hosts: configs
                .into_iter()
                .map(|config| (config.name.clone(), HostHandle::new(config)))
                .collect(),
        }
    }

    /// Host names, `local` first.
    pub fn names(&self) -> Vec<String> {
        std::iter::once(LOCAL.to_string())
            .chain(self.hosts.keys().cloned())
            .collect()
    }

    /// The executor for host `name`.
    pub fn executor(&self, name: &str) -> ToolResult<Executor> {
        if name == LOCAL {
            return Ok(Executor::Local);
        }
        self.remote(name).map(Executor::Ssh)
    }

    /// The remote host `name` (for file transfer, which `local` does not need).
    pub fn remote(&self, name: &str) -> ToolResult<HostHandle> {
        if let Some(host) = self.hosts.get(name) {
            return Ok(host.clone());
        }
        let hint = if name == LOCAL {
            "`local` is this machine; use the local file tools".to_string()
        } else {
            format!("configured hosts: {}", self.names().join(", "))
        };
        Err(ToolError::invalid(format!(
            "unknown host `{name}`; {hint} (add [hosts.{name}] to the configuration to define it)"
        )))
    }

    /// At server shutdown, before the runtime goes: stop every remote command still running (they
    /// end as if cancelled), wait up to [`SHUTDOWN_GRACE`] for their remote kills, then close every
    /// connection. Closing first would leave the commands running: a remote command is stopped
    /// only by a kill sent over the connection, and a task still queued when the runtime shuts
    /// down never runs.
    pub async fn shutdown(&self) {
        for host in self.hosts.values() {
            host.begin_shutdown();
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for host in self.hosts.values() {
            if !host.settled(deadline).await {
                tracing::warn!(
                    host = %host.name(),
                    "shutting down while a remote command is still being stopped; it may keep running on the host"
                );
            }
        }
        self.disconnect_all().await;
    }

    /// Close every pooled connection.
    pub async fn disconnect_all(&self) {
        for host in self.hosts.values() {
            host.disconnect().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_executor_runs_argv_and_shell() {
        let hosts = Hosts::default();
        let local = hosts.executor("local").unwrap();
        let options = RunOptions::default();
        let cancel = CancellationToken::new();
        let argv: Vec<String> = ["printf", "%s|", "$(id)", "a b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let output = local.run(&argv, &options, &cancel).await.unwrap();
        assert_eq!(output.stdout, "$(id)|a b|");
        let output = local
            .run_shell("echo one; echo two >&2; exit 4", &options, &cancel)
            .await
            .unwrap();
        assert_eq!(
            (
                output.stdout.as_str(),
                output.stderr.as_str(),
                output.exit_code
            ),
            ("one\n", "two\n", Some(4))
        );
    }

    #[test]
    fn unknown_host_lists_the_configured_ones() {
        let hosts = Hosts::default();
        let error = hosts.executor("ebon").unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("configured hosts: local"),
            "{error}"
        );
        assert_eq!(
            hosts.remote("local").unwrap_err().code(),
            "invalid_argument"
        );
    }
}
