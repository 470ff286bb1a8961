//! Where a log tool reads: a local file checked against the log allowlist (the fast path, as it
//! always was), or a file on a remote host checked against that host's `log_paths`
//! ([`crate::remote`]).

use std::path::Path;

use skippy_core::{AllowedPath, PathPolicy, ToolCtx, ToolError, ToolResult};
use skippy_remote::{Executor, Hosts};
use tokio_util::sync::CancellationToken;

use crate::reader::{LogFile, open_log};
use crate::remote::RemoteLog;

/// A log file that passed its policy.
#[derive(Debug, Clone)]
pub enum LogTarget {
    Local(AllowedPath),
    Remote(RemoteLog),
}

impl LogTarget {
    /// Resolve `raw` (a path, or locally an alias) on `host` (default: the configured default host).
    pub async fn resolve(
        ctx: &ToolCtx,
        hosts: &Hosts,
        host: Option<&str>,
        raw: &str,
    ) -> ToolResult<LogTarget> {
        let name = host.unwrap_or(&ctx.config.server.default_host);
        match hosts.executor(name)? {
            Executor::Local => ctx.log_path(raw).map(LogTarget::Local),
            Executor::Ssh(handle) => {
                if ctx.config.logs.aliases.contains_key(raw) {
                    return Err(ToolError::invalid(format!(
                        "`{raw}` is a log alias, and aliases name local files only; give the absolute path on host {name}"
                    )));
                }
                RemoteLog::resolve(handle, raw, ctx)
                    .await
                    .map(LogTarget::Remote)
            }
        }
    }

    /// The path, for messages.
    pub fn path(&self) -> &Path {
        match self {
            LogTarget::Local(path) => path.as_path(),
            LogTarget::Remote(log) => log.path(),
        }
    }

    /// The path as reported in results.
    pub fn label(&self) -> String {
        match self {
            LogTarget::Local(path) => path.to_string(),
            LogTarget::Remote(log) => log.label(),
        }
    }

    /// Open for reading; `policy` is the log allowlist that produced a local path
    /// (`config.logs.policy`), against which the opened descriptor is verified. Blocking: call it
    /// from `ctx.blocking`.
    pub fn open(&self, policy: &PathPolicy, cancel: &CancellationToken) -> ToolResult<LogFile> {
        match self {
            LogTarget::Local(path) => open_log(policy, path),
            LogTarget::Remote(log) => log.open(cancel),
        }
    }
}
