//! The `Tool` trait every tool implements, and the context a call runs in.
//!
//! A tool is a unit struct with typed `Params` (deserialized with unknown fields refused) and a typed
//! `Output`. It knows nothing about MCP: the binary's adapter turns it into a protocol route and
//! applies timeouts, cancellation, audit, output caps and error mapping around `run`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{ToolError, ToolResult};
use crate::paths::{Access, AllowedPath};

/// Tool families; each can be disabled as a whole with `server.disabled_toolsets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Toolset {
    Files,
    System,
    Logs,
    Remote,
    Server,
}

impl Toolset {
    pub const ALL: &'static [Toolset] = &[
        Toolset::Files,
        Toolset::System,
        Toolset::Logs,
        Toolset::Server,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Toolset::Files => "files",
            Toolset::System => "system",
            Toolset::Logs => "logs",
            Toolset::Remote => "remote",
            Toolset::Server => "server",
        }
    }
}

/// The MCP behaviour hints of a tool. They must be accurate: clients use them to decide what needs
/// the user's confirmation, and read-only mode hides every tool that is not `read_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Annotations {
    /// Reads local state only.
    pub const READ_ONLY: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    };
}

/// A tool. Implementors are unit structs listed once in the binary's registry.
pub trait Tool: Send + Sync + 'static {
    /// Arguments; `#[serde(deny_unknown_fields)]`, every field documented (the docs become the schema).
    type Params: DeserializeOwned + JsonSchema + Send + 'static;
    /// The structured result.
    type Output: Serialize + JsonSchema + Send + 'static;

    /// The wire name; unique across the registry.
    const NAME: &'static str;
    /// A short human title.
    const TITLE: &'static str;
    /// What the tool does, for the model: one or two sentences.
    const DESCRIPTION: &'static str;
    const TOOLSET: Toolset;
    const ANNOTATIONS: Annotations;
    /// The tool's own time limit, when it differs from `server.default_timeout_ms`.
    const TIMEOUT: Option<Duration> = None;

    /// Do the work. Long work must watch `ctx.cancel` (or run through [`ToolCtx::blocking`]).
    fn run(
        &self,
        ctx: ToolCtx,
        params: Self::Params,
    ) -> impl Future<Output = ToolResult<Self::Output>> + Send;
}

/// Receives progress reports; the MCP adapter forwards them as `notifications/progress`.
pub trait ProgressSink: Send + Sync {
    fn report(&self, progress: f64, total: Option<f64>, message: Option<String>);
}

/// Everything a call may use. Cheap to clone.
#[derive(Clone)]
pub struct ToolCtx {
    pub config: Arc<Config>,
    /// Cancelled when the client cancels the call or its time limit passes.
    pub cancel: CancellationToken,
    /// When the call's time limit passes.
    pub deadline: Instant,
    progress: Option<Arc<dyn ProgressSink>>,
}

impl ToolCtx {
    pub fn new(config: Arc<Config>, cancel: CancellationToken, deadline: Instant) -> Self {
        Self {
            config,
            cancel,
            deadline,
            progress: None,
        }
    }

    pub fn with_progress(mut self, sink: Arc<dyn ProgressSink>) -> Self {
        self.progress = Some(sink);
        self
    }

    /// A context for unit tests: defaults rooted at `cwd`, no progress, a 30 s deadline.
    pub fn for_tests(config: Config) -> Self {
        Self::new(
            Arc::new(config),
            CancellationToken::new(),
            Instant::now() + Duration::from_secs(30),
        )
    }

    /// Report progress (a no-op when the client did not ask for it).
    pub fn progress(&self, progress: f64, total: Option<f64>, message: impl FnOnce() -> String) {
        if let Some(sink) = &self.progress {
            sink.report(progress, total, Some(message()));
        }
    }

    /// The operator's ceiling on one result, in bytes.
    pub fn max_output_bytes(&self) -> usize {
        self.config.server.max_output_bytes
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Resolve a file path for reading (read or write roots).
    pub fn read_path(&self, raw: &str) -> ToolResult<AllowedPath> {
        self.config.files.check(raw, Access::Read)
    }

    /// Resolve a file path for writing (write roots only; refused in read-only mode).
    pub fn write_path(&self, raw: &str) -> ToolResult<AllowedPath> {
        if self.config.server.read_only {
            return Err(ToolError::denied(
                "Skippy is in read-only mode; writes are disabled",
            ));
        }
        let path = self.config.files.check(raw, Access::Write)?;
        // Whatever the roots say: never a file the host executes or that configures auth or SSH.
        // The path as given counts too: a `~/.ssh` that is a link elsewhere is still what sshd reads.
        let given = crate::paths::expand_home(raw);
        let given = match self.config.files.write_roots().first() {
            Some(base) if given.is_relative() => base.join(given),
            _ => given,
        };
        crate::sensitive::refuse_sensitive_write(&given)?;
        crate::sensitive::refuse_local_write(path.as_path())?;
        Ok(path)
    }

    /// Resolve a log path or alias against the log allowlist.
    pub fn log_path(&self, raw: &str) -> ToolResult<AllowedPath> {
        if let Some(target) = self.config.logs.aliases.get(raw) {
            return self.config.logs.policy.check_path(target, Access::Read);
        }
        if !raw.starts_with('/') && !raw.starts_with('~') {
            let aliases: Vec<&str> = self
                .config
                .logs
                .aliases
                .keys()
                .map(String::as_str)
                .collect();
            return Err(ToolError::invalid(format!(
                "`{raw}` is neither an absolute path nor a configured alias; aliases: {}",
                if aliases.is_empty() {
                    "(none)".to_string()
                } else {
                    aliases.join(", ")
                }
            )));
        }
        self.config.logs.policy.check(raw, Access::Read)
    }

    /// Run blocking work (file walks, scans, hashing) on the blocking pool. The closure gets the
    /// cancellation token and must poll it in its loops; the call resolves as soon as the token fires.
    pub async fn blocking<T, F>(&self, work: F) -> ToolResult<T>
    where
        T: Send + 'static,
        F: FnOnce(CancellationToken) -> ToolResult<T> + Send + 'static,
    {
        let token = self.cancel.clone();
        let handle = tokio::task::spawn_blocking(move || work(token));
        tokio::select! {
            joined = handle => match joined {
                Ok(result) => result,
                // Re-raised here so the adapter's panic handling answers the request (and counts it).
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => Err(ToolError::internal(error)),
            },
            () = self.cancel.cancelled() => Err(ToolError::Cancelled),
        }
    }
}

/// Return `Err(Cancelled)` when the token has fired; call it inside blocking loops.
pub fn check_cancelled(token: &CancellationToken) -> ToolResult<()> {
    if token.is_cancelled() {
        Err(ToolError::Cancelled)
    } else {
        Ok(())
    }
}
