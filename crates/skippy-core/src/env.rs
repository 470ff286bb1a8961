//! Every environment variable Skippy reads, in one place. `docs/configuration.md` documents each one
//! and a test checks that the documentation names them all.

/// Path of the configuration file (after `--config`, before `./skippy.toml`).
pub const CONFIG: &str = "SKIPPY_CONFIG";
/// `true`/`false`: overrides `server.read_only`.
pub const READ_ONLY: &str = "SKIPPY_READ_ONLY";
/// Milliseconds: overrides `server.default_timeout_ms`.
pub const DEFAULT_TIMEOUT_MS: &str = "SKIPPY_DEFAULT_TIMEOUT_MS";
/// Bytes: overrides `server.max_output_bytes`.
pub const MAX_OUTPUT_BYTES: &str = "SKIPPY_MAX_OUTPUT_BYTES";
/// Comma-separated tool names: overrides `server.disabled_tools`.
pub const DISABLED_TOOLS: &str = "SKIPPY_DISABLED_TOOLS";
/// `off`, `destructive` or `all-mutating`: overrides `server.approvals`.
pub const APPROVALS: &str = "SKIPPY_APPROVALS";
/// Comma-separated toolset names: overrides `server.toolsets` (the `--toolsets` flag wins over it).
pub const TOOLSETS: &str = "SKIPPY_TOOLSETS";
/// Colon-separated paths: replaces `files.read_roots`.
pub const READ_ROOTS: &str = "SKIPPY_READ_ROOTS";
/// Colon-separated paths: replaces `files.write_roots`.
pub const WRITE_ROOTS: &str = "SKIPPY_WRITE_ROOTS";
/// Colon-separated paths: replaces `logs.allowed_paths`.
pub const LOG_PATHS: &str = "SKIPPY_LOG_PATHS";
/// A path, or `off`: overrides `audit.path` / `audit.enabled`.
pub const AUDIT_LOG: &str = "SKIPPY_AUDIT_LOG";
/// Log filter for Skippy's own diagnostics on stderr (tracing `EnvFilter` syntax, e.g. `debug`).
pub const LOG: &str = "SKIPPY_LOG";
/// `json` for JSON-lines diagnostics on stderr.
pub const LOG_FORMAT: &str = "SKIPPY_LOG_FORMAT";

/// Legacy (old Python server): the Skippy base directory; added as a read root.
pub const LEGACY_BASE_PATH: &str = "SKIPPY_BASE_PATH";
/// Legacy: `user@host[:port]` of host `ebon`.
pub const LEGACY_EBON_HOST: &str = "EBON_HOST";
/// Legacy: the SSH password for `ebon` (a secret).
pub const LEGACY_EBON_PASSWORD: &str = "EBON_PASSWORD";
/// Legacy: the private key file for `ebon`.
pub const LEGACY_SSH_KEY_PATH: &str = "SSH_KEY_PATH";

/// Standard locations.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
pub const HOME: &str = "HOME";

/// Variables Skippy itself reads, for documentation checks.
pub const ALL: &[&str] = &[
    CONFIG,
    READ_ONLY,
    DEFAULT_TIMEOUT_MS,
    MAX_OUTPUT_BYTES,
    DISABLED_TOOLS,
    TOOLSETS,
    APPROVALS,
    READ_ROOTS,
    WRITE_ROOTS,
    LOG_PATHS,
    AUDIT_LOG,
    LOG,
    LOG_FORMAT,
    LEGACY_BASE_PATH,
    LEGACY_EBON_HOST,
    LEGACY_EBON_PASSWORD,
    LEGACY_SSH_KEY_PATH,
];

/// Words that mark an environment variable's value as a secret wherever they appear in its name
/// (`AWS_SECRET_ACCESS_KEY`, `GITHUB_TOKEN`, `MYSQL_PWD`): their values are masked in all output and
/// logs, and they are never passed to child processes.
pub const SECRET_NAME_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "TOKEN",
    "SECRET",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
];

/// Whole names (after the last `_`) that mark a secret: `MYSQL_PWD`, `PGPASS`.
const SECRET_NAME_ENDINGS: &[&str] = &["_PWD", "_PASS", "_AUTH"];

/// True when an environment variable's name marks its value as a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_WORDS.iter().any(|word| upper.contains(word))
        || SECRET_NAME_ENDINGS
            .iter()
            .any(|ending| upper.ends_with(ending))
        || upper == "PGPASS"
}

/// Set in the re-executed server process: the number of an inherited descriptor holding the
/// original environment (see [`install_snapshot`]).
pub const ENV_FD: &str = "SKIPPY_ENV_FD";

/// Variables kept in Skippy's real process environment after the start-up re-exec: none of them is
/// a secret, and child processes need some of them. Everything else (the operator's tokens,
/// `DATABASE_URL`, `EBON_PASSWORD`, `SSH_AUTH_SOCK`, Skippy's own settings) is held in memory only,
/// so that `/proc/<skippy>/environ` and `ps e` show nothing worth stealing.
pub const KEPT_IN_PROCESS_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR",
];

static SNAPSHOT: std::sync::OnceLock<std::collections::BTreeMap<String, String>> =
    std::sync::OnceLock::new();

/// Install the environment Skippy was started with (read back after the scrubbing re-exec). From
/// then on [`var`] and [`vars`] answer from it instead of the process environment. Only the first
/// call has an effect.
pub fn install_snapshot(vars: std::collections::BTreeMap<String, String>) {
    let _ = SNAPSHOT.set(vars);
}

/// Whether the process runs with a scrubbed environment and a snapshot (the server binary does).
pub fn scrubbed() -> bool {
    SNAPSHOT.get().is_some()
}

/// A variable of the environment Skippy was started with; `None` when unset or not UTF-8.
pub fn var(name: &str) -> Option<String> {
    match SNAPSHOT.get() {
        Some(snapshot) => snapshot.get(name).cloned(),
        None => std::env::var(name).ok(),
    }
}

/// Every variable of the environment Skippy was started with.
pub fn vars() -> Vec<(String, String)> {
    match SNAPSHOT.get() {
        Some(snapshot) => snapshot
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        None => std::env::vars().collect(),
    }
}
