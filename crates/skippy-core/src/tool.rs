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

use crate::approval::Plan;
use crate::config::Config;
use crate::error::{ToolError, ToolResult};
use crate::paths::{Access, AllowedPath};

/// Declares [`Toolset`] together with its list and its names, so a toolset added to the enum is
/// in [`Toolset::ALL`] (and so can be configured) without anyone remembering to list it: `Remote`
/// was once left out, and `server.disabled_toolsets = ["remote"]` was refused as unknown.
macro_rules! toolsets {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// Tool families; each can be disabled as a whole with `server.disabled_toolsets`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Toolset {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)+
        }

        impl Toolset {
            /// Every toolset, in declaration order.
            pub const ALL: &'static [Toolset] = &[$(Toolset::$variant,)+];

            /// The name used in configuration and results.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Toolset::$variant => $name,)+
                }
            }
        }
    };
}

toolsets! {
    /// Local files: read, search, list, write, edit.
    Files => "files",
    /// Local or remote system state: CPU, memory, disks, processes, services.
    System => "system",
    /// Log files: tail, search, summarize.
    Logs => "logs",
    /// SSH hosts: commands and transfers.
    Remote => "remote",
    /// Skippy itself.
    Server => "server",
}

impl Toolset {
    /// The toolset called `name` in configuration, if there is one.
    pub fn from_name(name: &str) -> Option<Toolset> {
        Toolset::ALL.iter().copied().find(|set| set.name() == name)
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

    /// What this call will do, for the person asked to approve it (`server.approvals`); runs before
    /// `run` and must change nothing. The default shows the call's arguments (secrets masked). A
    /// tool with a dry run describes the call from it (a diff, a size, a destination), and answers
    /// [`Plan::NoChange`] when the call itself is a dry run. An error here is the call's error:
    /// nobody is asked about a call that would fail.
    fn plan(
        &self,
        _ctx: &ToolCtx,
        _params: &Self::Params,
    ) -> impl Future<Output = ToolResult<Plan>> + Send {
        async { Ok(Plan::Arguments) }
    }
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

    /// Resolve a log path or alias against the log allowlist. A path that is not an alias follows
    /// the file tools' rule (`~` is the home directory, a relative path is relative to the first
    /// file root, as in [`ToolCtx::read_path`]) so a model learns one rule; the result must then be
    /// under `logs.allowed_paths`, which always includes the file roots.
    pub fn log_path(&self, raw: &str) -> ToolResult<AllowedPath> {
        let logs = &self.config.logs;
        if let Some(target) = logs.aliases.get(raw) {
            return logs.policy.check_path(target, Access::Read);
        }
        let expanded = crate::paths::expand_home(raw);
        if raw.is_empty() || raw.contains('\0') || expanded.is_absolute() {
            return logs.policy.check(raw, Access::Read);
        }
        let files = &self.config.files;
        let Some(base) = files.read_roots().first().or(files.write_roots().first()) else {
            return Err(ToolError::invalid(format!(
                "`{raw}` is relative and no file root is configured to resolve it against; give an \
                 absolute path or an alias ({})",
                self.log_aliases()
            )));
        };
        let path = logs.policy.check_path(&base.join(expanded), Access::Read)?;
        if !path.exists() && !raw.contains('/') {
            // A bare name is most likely a mistyped alias: say both what was tried and what exists.
            return Err(ToolError::NotFound(format!(
                "`{raw}` is not a log alias ({}) and `{path}` does not exist; give an alias, or a \
                 path that is absolute or relative to {}",
                self.log_aliases(),
                base.display()
            )));
        }
        Ok(path)
    }

    /// The configured log aliases, for messages.
    fn log_aliases(&self) -> String {
        let aliases = &self.config.logs.aliases;
        if aliases.is_empty() {
            return "none configured".to_string();
        }
        let names: Vec<&str> = aliases.keys().map(String::as_str).collect();
        format!("aliases: {}", names.join(", "))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn context(root: &std::path::Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(root).unwrap())
    }

    #[test]
    fn defect_remote_toolset_can_be_disabled() {
        // Every variant, matched exhaustively: a new toolset fails to compile here until it is
        // added, and the macro puts it in `ALL` with its name.
        let every = |set: Toolset| match set {
            Toolset::Files
            | Toolset::System
            | Toolset::Logs
            | Toolset::Remote
            | Toolset::Server => set,
        };
        assert!(Toolset::ALL.contains(&every(Toolset::Remote)));
        assert_eq!(Toolset::from_name("remote"), Some(Toolset::Remote));
        assert_eq!(Toolset::from_name("Remote"), None);
        let names: Vec<&str> = Toolset::ALL.iter().map(|set| set.name()).collect();
        assert_eq!(names, ["files", "system", "logs", "remote", "server"]);
        for set in Toolset::ALL {
            assert_eq!(Toolset::from_name(every(*set).name()), Some(*set));
            let json = serde_json::to_value(set).unwrap();
            assert_eq!(json, serde_json::json!(set.name()));
        }
    }

    #[test]
    fn defect_log_tools_resolve_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/syslog"), "x\n").unwrap();
        let ctx = context(dir.path());
        let root = std::fs::canonicalize(dir.path()).unwrap();

        // The same file as the file tools resolve.
        let log = ctx.log_path("logs/syslog").unwrap();
        assert_eq!(log.as_path(), root.join("logs/syslog"));
        assert_eq!(log, ctx.read_path("logs/syslog").unwrap());
        assert_eq!(ctx.log_path("./logs/../logs/syslog").unwrap(), log);

        // The log allowlist still decides: a relative path cannot climb out of it.
        let error = ctx.log_path("../../../../../../etc/passwd").unwrap_err();
        assert_eq!(error.code(), "policy_denied", "{error}");

        // A bare name that does not exist is most likely a mistyped alias: the message says so.
        let error = ctx.log_path("syslog").unwrap_err();
        assert_eq!(error.code(), "not_found", "{error}");
        assert!(error.to_string().contains("not a log alias"), "{error}");
        assert!(error.to_string().contains("none configured"), "{error}");

        // A missing file in a directory is for the log reader to report, as for absolute paths.
        assert!(!ctx.log_path("logs/missing").unwrap().exists());
        assert_eq!(ctx.log_path("").unwrap_err().code(), "invalid_argument");
        assert_eq!(ctx.log_path("a\0b").unwrap_err().code(), "invalid_argument");
    }
}
