//! Configuration: a raw TOML shape (every key documented, unknown keys refused) and the validated
//! [`Config`] built from it once at start-up, with environment overrides applied, roots canonicalized
//! and secrets collected. Tools only ever see the validated form.
//!
//! Lookup order: `--config PATH`, `$SKIPPY_CONFIG`, `./skippy.toml`,
//! `$XDG_CONFIG_HOME/skippy/skippy.toml` (default `~/.config/skippy/skippy.toml`). No file at all is
//! fine: the defaults are safe (the working directory as the only root, `/var/log` for logs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::approval::{ApprovalMode, ApprovalOverride};
use crate::env;
use crate::hosts::{HostConfig, LOCAL, RawHost, validate_hosts};
use crate::paths::{PathPolicy, canonical_root, expand_home};
use crate::redact::Secrets;

pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// Lowest accepted output ceiling: below this, even an error message could not be returned.
pub const MIN_MAX_OUTPUT_BYTES: usize = 4 * 1024;
/// Default ceiling on one JSON-RPC message (a tool's arguments are small; `write_file` content counts).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Lowest accepted request ceiling: below this, ordinary calls would be refused.
pub const MIN_MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The configuration file, as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub server: RawServer,
    pub audit: RawAudit,
    pub files: RawFiles,
    pub logs: RawLogs,
    pub exec: RawExec,
    /// Remote hosts by name.
    pub hosts: BTreeMap<String, RawHost>,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Time limit of a call, in milliseconds, unless the tool or `tool_timeouts_ms` says otherwise.
    pub default_timeout_ms: u64,
    /// Ceiling on the size of one result, in bytes. No tool argument can raise it.
    pub max_output_bytes: usize,
    /// Ceiling on one incoming JSON-RPC message, in bytes (arguments included; at least 65536). Larger
    /// messages are refused unparsed with a JSON-RPC error.
    pub max_request_bytes: usize,
    /// Hide and refuse every tool that can change anything.
    pub read_only: bool,
    /// Tools to hide and refuse, by name.
    pub disabled_tools: Vec<String>,
    /// Toolsets to hide and refuse: `files`, `system`, `logs`, `remote`, `server`.
    pub disabled_toolsets: Vec<String>,
    /// The only toolsets to offer (default: all), e.g. `["files", "logs"]`; `disabled_tools` and
    /// `disabled_toolsets` still subtract.
    pub toolsets: Option<Vec<String>>,
    /// Per-tool time limits in milliseconds, by tool name.
    pub tool_timeouts_ms: BTreeMap<String, u64>,
    /// Host used when a host-aware tool is called without `host` (default `local`).
    pub default_host: Option<String>,
    /// Which calls need a person's approval (MCP elicitation) before they run: `off` (default),
    /// `destructive`, `all-mutating`.
    pub approvals: ApprovalMode,
    /// Per-tool exceptions to `approvals`, by tool name: `always` or `never`.
    pub approval_overrides: BTreeMap<String, ApprovalOverride>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            default_timeout_ms: DEFAULT_TIMEOUT_MS,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            read_only: false,
            disabled_tools: Vec::new(),
            disabled_toolsets: Vec::new(),
            toolsets: None,
            tool_timeouts_ms: BTreeMap::new(),
            default_host: None,
            approvals: ApprovalMode::Off,
            approval_overrides: BTreeMap::new(),
        }
    }
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// Write one JSON line per tool call.
    pub enabled: bool,
    /// Where; default `$XDG_STATE_HOME/skippy/audit.jsonl` (`~/.local/state/skippy/audit.jsonl`).
    pub path: Option<PathBuf>,
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            enabled: true,
            path: None,
        }
    }
}

/// `[files]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFiles {
    /// Directories tools may read under. Default: the working directory at start.
    pub read_roots: Option<Vec<PathBuf>>,
    /// Directories tools may write under (also readable). Default: the working directory at start.
    pub write_roots: Option<Vec<PathBuf>>,
}

/// `[logs]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLogs {
    /// Files and directories the log tools may read. Default: `/var/log`; the file roots are always added.
    pub allowed_paths: Option<Vec<PathBuf>>,
    /// Short names for log files, e.g. `syslog = "/var/log/syslog"`.
    pub aliases: BTreeMap<String, PathBuf>,
}

/// Default `exec.max_memory_mb`.
pub const DEFAULT_MAX_MEMORY_MB: u64 = 512;
/// Lowest accepted `exec.max_memory_mb` other than 0: below this, `sh` itself cannot start.
pub const MIN_MAX_MEMORY_MB: u64 = 16;
/// Highest accepted `exec.max_memory_mb` (16 TiB), so that the value in KiB cannot overflow.
pub const MAX_MAX_MEMORY_MB: u64 = 16 * 1024 * 1024;

/// `[exec]`: resource limits of the commands Skippy runs for `run_remote_command`, locally and on
/// remote hosts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawExec {
    /// Address-space limit of each command process, in MiB (`ulimit -v`); 0 = no limit.
    pub max_memory_mb: u64,
    /// CPU-time limit of each command process, in seconds (`ulimit -t`). Default: the command's
    /// time limit, rounded up; 0 = no limit.
    pub max_cpu_secs: Option<u64>,
}

impl Default for RawExec {
    fn default() -> Self {
        Self {
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
            max_cpu_secs: None,
        }
    }
}

/// Command resource limits, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecSettings {
    /// MiB of address space per process; None = no limit.
    pub max_memory_mb: Option<u64>,
    /// CPU seconds per process: `Fixed(0)` = no limit, `Timeout` = the command's time limit.
    pub max_cpu_secs: CpuLimit,
}

/// How the CPU-time limit of a command is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuLimit {
    /// The command's own time limit, rounded up to whole seconds.
    Timeout,
    /// A fixed number of seconds; 0 = no limit.
    Fixed(u64),
}

impl Default for ExecSettings {
    fn default() -> Self {
        Self {
            max_memory_mb: Some(DEFAULT_MAX_MEMORY_MB),
            max_cpu_secs: CpuLimit::Timeout,
        }
    }
}

impl ExecSettings {
    fn from_raw(raw: &RawExec) -> Result<Self, ConfigError> {
        let max_memory_mb = match raw.max_memory_mb {
            0 => None,
            mb if !(MIN_MAX_MEMORY_MB..=MAX_MAX_MEMORY_MB).contains(&mb) => {
                return Err(ConfigError::Invalid(format!(
                    "exec.max_memory_mb = {mb} is out of range: use 0 (no limit) or {MIN_MAX_MEMORY_MB} to {MAX_MAX_MEMORY_MB}"
                )));
            }
            mb => Some(mb),
        };
        Ok(Self {
            max_memory_mb,
            max_cpu_secs: raw.max_cpu_secs.map_or(CpuLimit::Timeout, CpuLimit::Fixed),
        })
    }
}

/// A configuration problem, reported before the server starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum ConfigSource {
    /// No file was found: built-in defaults (plus environment overrides).
    Defaults,
    File(PathBuf),
}

/// A non-fatal problem found while validating (a root that does not exist, ...). `skippy doctor`
/// prints these; the server logs them.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigWarning {
    pub key: String,
    pub message: String,
}

/// Server-wide settings, validated.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub default_timeout: Duration,
    pub max_output_bytes: usize,
    pub max_request_bytes: usize,
    pub read_only: bool,
    pub disabled_tools: BTreeSet<String>,
    pub disabled_toolsets: BTreeSet<String>,
    /// The toolsets offered before `disabled_*` subtract; `None` = all.
    pub toolsets: Option<BTreeSet<String>>,
    pub tool_timeouts: BTreeMap<String, Duration>,
    /// `local` or the name of a configured host.
    pub default_host: String,
    pub approvals: ApprovalMode,
    pub approval_overrides: BTreeMap<String, ApprovalOverride>,
}

/// Log tools' settings, validated.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Canonical files and directories the log tools may read.
    pub policy: PathPolicy,
    /// Alias name -> path as configured (resolved through `policy` at call time).
    pub aliases: BTreeMap<String, PathBuf>,
}

/// The validated configuration every tool sees.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: ConfigSource,
    pub server: ServerSettings,
    pub audit_path: Option<PathBuf>,
    pub files: PathPolicy,
    pub logs: LogSettings,
    /// Resource limits of commands run for `run_remote_command`.
    pub exec: ExecSettings,
    /// Remote hosts by name (`local` is built in and not listed here).
    pub hosts: BTreeMap<String, HostConfig>,
    pub secrets: Secrets,
    pub warnings: Vec<ConfigWarning>,
}

/// An abstraction over the process environment, so tests can supply their own.
pub trait EnvSource {
    fn get(&self, name: &str) -> Option<String>;
    fn vars(&self) -> Vec<(String, String)>;
    fn current_dir(&self) -> Option<PathBuf>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        env::var(name).filter(|v| !v.is_empty())
    }
    fn vars(&self) -> Vec<(String, String)> {
        env::vars()
    }
    fn current_dir(&self) -> Option<PathBuf> {
        std::env::current_dir().ok()
    }
}

/// Find the configuration file: explicit path first, then the documented lookup order.
pub fn locate(explicit: Option<&Path>, env: &dyn EnvSource) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    if let Some(path) = env.get(env::CONFIG) {
        return Some(PathBuf::from(path));
    }
    let local = env.current_dir()?.join("skippy.toml");
    if local.is_file() {
        return Some(local);
    }
    let xdg = env
        .get(env::XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(|| env.get(env::HOME).map(|h| PathBuf::from(h).join(".config")))?;
    let user = xdg.join("skippy").join("skippy.toml");
    user.is_file().then_some(user)
}

/// Parse a configuration file's text. Unknown keys are errors that name the key.
pub fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError::Parse {
        path: path.to_path_buf(),
        message: error.to_string().trim().replace('\n', " "),
    })
}

/// Load and validate: find the file (if any), parse it, apply the environment, validate.
pub fn load(explicit: Option<&Path>, env: &dyn EnvSource) -> Result<Config, ConfigError> {
    let (raw, source) = match locate(explicit, env) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            (parse(&text, &path)?, ConfigSource::File(path))
        }
        None => (RawConfig::default(), ConfigSource::Defaults),
    };
    validate(raw, source, env)
}

fn env_bool(env: &dyn EnvSource, name: &'static str) -> Result<Option<bool>, ConfigError> {
    match env
        .get(name)
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(other) => Err(ConfigError::Env {
            name,
            message: format!("`{other}` is not a boolean (use true or false)"),
        }),
    }
}

fn env_number<T: std::str::FromStr>(
    env: &dyn EnvSource,
    name: &'static str,
) -> Result<Option<T>, ConfigError> {
    env.get(name)
        .map(|value| {
            value.trim().parse::<T>().map_err(|_| ConfigError::Env {
                name,
                message: format!("`{value}` is not a whole number"),
            })
        })
        .transpose()
}

fn env_paths(env: &dyn EnvSource, name: &str) -> Option<Vec<PathBuf>> {
    env.get(name).map(|value| {
        value
            .split(':')
            .filter(|part| !part.is_empty())
            .map(PathBuf::from)
            .collect()
    })
}

/// Apply environment overrides to a raw configuration, then validate it.
pub fn validate(
    mut raw: RawConfig,
    source: ConfigSource,
    env: &dyn EnvSource,
) -> Result<Config, ConfigError> {
    if let Some(value) = env_bool(env, env::READ_ONLY)? {
        raw.server.read_only = value;
    }
    if let Some(value) = env_number(env, env::DEFAULT_TIMEOUT_MS)? {
        raw.server.default_timeout_ms = value;
    }
    if let Some(value) = env_number(env, env::MAX_OUTPUT_BYTES)? {
        raw.server.max_output_bytes = value;
    }
    if let Some(value) = env.get(env::DISABLED_TOOLS) {
        raw.server.disabled_tools = value
            .split(',')
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect();
    }
    if let Some(value) = env.get(env::APPROVALS) {
        raw.server.approvals = ApprovalMode::parse(&value).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{} = `{value}`: use off, destructive or all-mutating",
                env::APPROVALS
            ))
        })?;
    }
    if let Some(value) = env.get(env::TOOLSETS) {
        raw.server.toolsets = Some(
            value
                .split(',')
                .map(|name| name.trim().to_string())
                .filter(|name| !name.is_empty())
                .collect(),
        );
    }
    if let Some(paths) = env_paths(env, env::READ_ROOTS) {
        raw.files.read_roots = Some(paths);
    }
    if let Some(paths) = env_paths(env, env::WRITE_ROOTS) {
        raw.files.write_roots = Some(paths);
    }
    if let Some(paths) = env_paths(env, env::LOG_PATHS) {
        raw.logs.allowed_paths = Some(paths);
    }
    match env.get(env::AUDIT_LOG).as_deref() {
        None => {}
        Some("off" | "false" | "0" | "none") => raw.audit.enabled = false,
        Some(path) => {
            raw.audit.enabled = true;
            raw.audit.path = Some(PathBuf::from(path));
        }
    }

    if raw.server.default_timeout_ms == 0 {
        return Err(ConfigError::Invalid(
            "server.default_timeout_ms must be at least 1".into(),
        ));
    }
    if raw.server.max_output_bytes < MIN_MAX_OUTPUT_BYTES {
        return Err(ConfigError::Invalid(format!(
            "server.max_output_bytes must be at least {MIN_MAX_OUTPUT_BYTES}"
        )));
    }
    if raw.server.max_request_bytes < MIN_MAX_REQUEST_BYTES {
        return Err(ConfigError::Invalid(format!(
            "server.max_request_bytes must be at least {MIN_MAX_REQUEST_BYTES}"
        )));
    }
    for (tool, ms) in &raw.server.tool_timeouts_ms {
        if *ms == 0 {
            return Err(ConfigError::Invalid(format!(
                "server.tool_timeouts_ms.{tool} must be at least 1"
            )));
        }
    }

    let toolsets = selected_toolsets(raw.server.toolsets.as_deref())?;
    let exec = ExecSettings::from_raw(&raw.exec)?;
    let mut warnings = Vec::new();
    let cwd = env.current_dir();
    let default_roots = || cwd.clone().into_iter().collect::<Vec<_>>();

    let mut read_raw = raw.files.read_roots.clone().unwrap_or_else(default_roots);
    if let Some(base) = env.get(env::LEGACY_BASE_PATH) {
        read_raw.push(PathBuf::from(base));
    }
    let write_raw = raw.files.write_roots.clone().unwrap_or_else(default_roots);
    let read_roots = canonical_roots(&read_raw, "files.read_roots", &mut warnings);
    let write_roots = canonical_roots(&write_raw, "files.write_roots", &mut warnings);

    let mut log_raw = raw
        .logs
        .allowed_paths
        .clone()
        .unwrap_or_else(|| vec![PathBuf::from("/var/log")]);
    log_raw.extend(read_raw.iter().cloned());
    log_raw.extend(write_raw.iter().cloned());
    let mut log_roots = canonical_roots(&log_raw, "logs.allowed_paths", &mut warnings);
    log_roots.sort();
    log_roots.dedup();
    for (alias, path) in &raw.logs.aliases {
        if alias.is_empty() || alias.contains('/') {
            return Err(ConfigError::Invalid(format!(
                "logs.aliases: `{alias}` is not a valid alias name (no slashes)"
            )));
        }
        if !path.is_absolute() {
            return Err(ConfigError::Invalid(format!(
                "logs.aliases.{alias}: `{}` must be an absolute path",
                path.display()
            )));
        }
    }

    let audit_path = if raw.audit.enabled {
        let path = raw
            .audit
            .path
            .clone()
            .or_else(|| default_state_dir(env).map(|d| d.join("audit.jsonl")));
        if path.is_none() {
            warnings.push(ConfigWarning {
                key: "audit.path".into(),
                message: "no HOME or XDG_STATE_HOME: audit log disabled".into(),
            });
        }
        path.map(|p| expand_home(&p.to_string_lossy()))
    } else {
        None
    };

    let mut secrets = Secrets::new();
    for (name, value) in env.vars() {
        if env::is_secret_name(&name) {
            secrets.add(value);
        } else if let Some(password) = crate::redact::url_password(&value) {
            // `DATABASE_URL=postgres://app:PASSWORD@db/prod`: the password is a secret whatever
            // the variable is called, and so is the whole value.
            secrets.add(password);
            secrets.add(value);
        }
    }
    let hosts = validate_hosts(
        &raw.hosts,
        env,
        default_state_dir(env).as_deref(),
        &mut secrets,
    )?;
    let default_host = raw
        .server
        .default_host
        .clone()
        .unwrap_or_else(|| LOCAL.to_string());
    if default_host != LOCAL && !hosts.contains_key(&default_host) {
        return Err(ConfigError::Invalid(format!(
            "server.default_host = `{default_host}` is not a configured host; configure [hosts.{default_host}] or use `local`"
        )));
    }

    Ok(Config {
        source,
        server: ServerSettings {
            default_timeout: Duration::from_millis(raw.server.default_timeout_ms),
            max_output_bytes: raw.server.max_output_bytes,
            max_request_bytes: raw.server.max_request_bytes,
            read_only: raw.server.read_only,
            disabled_tools: raw.server.disabled_tools.iter().cloned().collect(),
            disabled_toolsets: raw.server.disabled_toolsets.iter().cloned().collect(),
            toolsets,
            tool_timeouts: raw
                .server
                .tool_timeouts_ms
                .iter()
                .map(|(name, ms)| (name.clone(), Duration::from_millis(*ms)))
                .collect(),
            default_host,
            approvals: raw.server.approvals,
            approval_overrides: raw.server.approval_overrides.clone(),
        },
        audit_path,
        files: PathPolicy::new(read_roots, write_roots, "file roots"),
        logs: LogSettings {
            policy: PathPolicy::new(log_roots, Vec::new(), "log paths"),
            aliases: raw.logs.aliases.clone(),
        },
        exec,
        hosts,
        secrets,
        warnings,
    })
}

/// `server.toolsets` (or `--toolsets`, `SKIPPY_TOOLSETS`) checked against the toolsets that exist: a
/// typo would otherwise silently hide a whole toolset, and an empty selection would offer no tool.
fn selected_toolsets(names: Option<&[String]>) -> Result<Option<BTreeSet<String>>, ConfigError> {
    let Some(names) = names else { return Ok(None) };
    let valid = || {
        crate::tool::Toolset::ALL
            .iter()
            .map(|set| set.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "server.toolsets (--toolsets, {}) selects no toolset: name at least one of {}, or leave it unset for all",
            env::TOOLSETS,
            valid()
        )));
    }
    for name in names {
        if !crate::tool::Toolset::ALL
            .iter()
            .any(|set| set.name() == name)
        {
            return Err(ConfigError::Invalid(format!(
                "server.toolsets (--toolsets, {}): unknown toolset `{name}`; valid toolsets: {}",
                env::TOOLSETS,
                valid()
            )));
        }
    }
    Ok(Some(names.iter().cloned().collect()))
}

fn default_state_dir(env: &dyn EnvSource) -> Option<PathBuf> {
    env.get(env::XDG_STATE_HOME)
        .map(PathBuf::from)
        .or_else(|| {
            env.get(env::HOME)
                .map(|home| PathBuf::from(home).join(".local/state"))
        })
        .map(|dir| dir.join("skippy"))
}

fn canonical_roots(raw: &[PathBuf], key: &str, warnings: &mut Vec<ConfigWarning>) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for path in raw {
        match canonical_root(path) {
            Ok(root) => {
                if !roots.contains(&root) {
                    roots.push(root);
                }
            }
            Err(error) => warnings.push(ConfigWarning {
                key: key.to_string(),
                message: format!("`{}` is skipped: {error}", path.display()),
            }),
        }
    }
    roots
}

impl Config {
    /// The built-in defaults for a given working directory, with no environment. For tests.
    pub fn defaults_for(cwd: &Path) -> Result<Config, ConfigError> {
        let env = FixedEnv::new(cwd);
        validate(RawConfig::default(), ConfigSource::Defaults, &env)
    }

    /// Time limit for `tool`, given its own default.
    pub fn timeout_for(&self, tool: &str, tool_default: Option<Duration>) -> Duration {
        self.server
            .tool_timeouts
            .get(tool)
            .copied()
            .or(tool_default)
            .unwrap_or(self.server.default_timeout)
    }
}

/// A fixed environment, for tests and for `Config::defaults_for`.
#[derive(Debug, Clone, Default)]
pub struct FixedEnv {
    pub vars: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
}

impl FixedEnv {
    pub fn new(cwd: &Path) -> Self {
        Self {
            vars: BTreeMap::new(),
            cwd: Some(cwd.to_path_buf()),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_string(), value.to_string());
        self
    }
}

impl EnvSource for FixedEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned().filter(|v| !v.is_empty())
    }
    fn vars(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    fn current_dir(&self) -> Option<PathBuf> {
        self.cwd.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_use_working_directory_and_var_log() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_for(dir.path()).unwrap();
        let cwd = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(config.files.read_roots(), std::slice::from_ref(&cwd));
        assert_eq!(config.files.write_roots(), std::slice::from_ref(&cwd));
        assert!(config.logs.policy.read_roots().contains(&cwd));
        assert_eq!(config.server.max_output_bytes, DEFAULT_MAX_OUTPUT_BYTES);
        assert_eq!(config.server.default_timeout, Duration::from_secs(30));
        assert!(!config.server.read_only);
        assert_eq!(config.source, ConfigSource::Defaults);
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_key() {
        let error = parse("[server]\nmax_output_byte = 5\n", Path::new("x.toml")).unwrap_err();
        assert!(error.to_string().contains("max_output_byte"), "{error}");
        let error = parse("[serverr]\n", Path::new("x.toml")).unwrap_err();
        assert!(error.to_string().contains("serverr"), "{error}");
    }

    #[test]
    fn environment_overrides_file_and_legacy_base_path_adds_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let raw = parse(
            "[server]\nread_only = false\nmax_output_bytes = 10000\n",
            Path::new("x"),
        )
        .unwrap();
        let env = FixedEnv::new(dir.path())
            .with(env::READ_ONLY, "true")
            .with(env::MAX_OUTPUT_BYTES, "20000")
            .with(env::LEGACY_BASE_PATH, other.path().to_str().unwrap())
            .with("EBON_PASSWORD", "hunter2-pass")
            .with(env::AUDIT_LOG, "off");
        let config = validate(raw, ConfigSource::Defaults, &env).unwrap();
        assert!(config.server.read_only);
        assert_eq!(config.server.max_output_bytes, 20000);
        assert!(
            config
                .files
                .read_roots()
                .contains(&std::fs::canonicalize(other.path()).unwrap())
        );
        assert_eq!(config.secrets.mask("x hunter2-pass y"), "x ******** y");
        assert!(config.audit_path.is_none());
    }

    #[test]
    fn bad_environment_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let env = FixedEnv::new(dir.path()).with(env::READ_ONLY, "maybe");
        let error = validate(RawConfig::default(), ConfigSource::Defaults, &env).unwrap_err();
        assert!(error.to_string().contains("SKIPPY_READ_ONLY"), "{error}");
    }

    #[test]
    fn missing_roots_are_warnings_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        let raw = parse(
            "[files]\nread_roots = [\"/does/not/exist\"]\n",
            Path::new("x"),
        )
        .unwrap();
        let config = validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir.path())).unwrap();
        assert!(config.files.read_roots().is_empty());
        assert_eq!(config.warnings[0].key, "files.read_roots");
    }

    #[test]
    fn approvals_are_read_from_the_file_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[server]\napprovals = \"destructive\"\n[server.approval_overrides]\nrun_remote_command = \"always\"\nwrite_file = \"never\"\n";
        let raw = parse(text, Path::new("x")).unwrap();
        let config = validate(
            raw.clone(),
            ConfigSource::Defaults,
            &FixedEnv::new(dir.path()),
        )
        .unwrap();
        assert_eq!(config.server.approvals, ApprovalMode::Destructive);
        assert_eq!(
            config.server.approval_overrides.get("run_remote_command"),
            Some(&ApprovalOverride::Always)
        );
        assert_eq!(
            config.server.approval_overrides.get("write_file"),
            Some(&ApprovalOverride::Never)
        );
        let env = FixedEnv::new(dir.path()).with(env::APPROVALS, "all-mutating");
        let config = validate(raw, ConfigSource::Defaults, &env).unwrap();
        assert_eq!(config.server.approvals, ApprovalMode::AllMutating);
        let defaults = Config::defaults_for(dir.path()).unwrap();
        assert_eq!(defaults.server.approvals, ApprovalMode::Off);

        let env = FixedEnv::new(dir.path()).with(env::APPROVALS, "sometimes");
        let error = validate(RawConfig::default(), ConfigSource::Defaults, &env).unwrap_err();
        assert!(error.to_string().contains("SKIPPY_APPROVALS"), "{error}");
        let error = parse("[server]\napprovals = \"yes\"\n", Path::new("x")).unwrap_err();
        assert!(error.to_string().contains("approvals"), "{error}");
        let error = parse(
            "[server.approval_overrides]\nwrite_file = \"ask\"\n",
            Path::new("x"),
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("expected `always` or `never`"),
            "{error}"
        );
    }

    #[test]
    fn finding_05_exec_limits_default_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_for(dir.path()).unwrap();
        assert_eq!(config.exec.max_memory_mb, Some(DEFAULT_MAX_MEMORY_MB));
        assert_eq!(config.exec.max_cpu_secs, CpuLimit::Timeout);
        let raw = parse(
            "[exec]\nmax_memory_mb = 0\nmax_cpu_secs = 7\n",
            Path::new("x"),
        )
        .unwrap();
        let config = validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir.path())).unwrap();
        assert_eq!(config.exec.max_memory_mb, None);
        assert_eq!(config.exec.max_cpu_secs, CpuLimit::Fixed(7));
        for bad in ["max_memory_mb = 8", "max_memory_mb = 999999999999"] {
            let raw = parse(&format!("[exec]\n{bad}\n"), Path::new("x")).unwrap();
            let error =
                validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir.path())).unwrap_err();
            assert!(error.to_string().contains("exec.max_memory_mb"), "{error}");
        }
    }

    #[test]
    fn per_tool_timeouts_win() {
        let dir = tempfile::tempdir().unwrap();
        let raw = parse(
            "[server.tool_timeouts_ms]\nsearch_files = 500\n",
            Path::new("x"),
        )
        .unwrap();
        let config = validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir.path())).unwrap();
        assert_eq!(
            config.timeout_for("search_files", Some(Duration::from_secs(60))),
            Duration::from_millis(500)
        );
        assert_eq!(
            config.timeout_for("read_file", None),
            Duration::from_secs(30)
        );
        assert_eq!(
            config.timeout_for("x", Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn toolsets_selection_is_read_from_file_and_env_and_unknown_names_list_the_valid_ones() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = Config::defaults_for(dir.path()).unwrap();
        assert_eq!(defaults.server.toolsets, None, "default: every toolset");

        let raw = parse(
            "[server]\ntoolsets = [\"files\", \"logs\"]\n",
            Path::new("x"),
        )
        .unwrap();
        let config = validate(
            raw.clone(),
            ConfigSource::Defaults,
            &FixedEnv::new(dir.path()),
        )
        .unwrap();
        let selected: Vec<&str> = config
            .server
            .toolsets
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(selected, ["files", "logs"]);

        // The environment (and so `--toolsets`, which stands in for it) replaces the file's list.
        let env = FixedEnv::new(dir.path()).with(env::TOOLSETS, " remote , server");
        let config = validate(raw, ConfigSource::Defaults, &env).unwrap();
        let selected: Vec<&str> = config
            .server
            .toolsets
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(selected, ["remote", "server"]);

        let env = FixedEnv::new(dir.path()).with(env::TOOLSETS, "files,fils");
        let error = validate(RawConfig::default(), ConfigSource::Defaults, &env)
            .unwrap_err()
            .to_string();
        assert!(error.contains("`fils`"), "{error}");
        for valid in crate::tool::Toolset::ALL {
            assert!(
                error.contains(valid.name()),
                "{error} lacks {}",
                valid.name()
            );
        }

        let raw = parse("[server]\ntoolsets = []\n", Path::new("x")).unwrap();
        let error = validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(error.contains("selects no toolset"), "{error}");
    }
}
