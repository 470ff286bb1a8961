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

/// Name suffixes of environment variables whose values are treated as secrets: their values are
/// masked in all output, and they are never passed to child processes.
pub const SECRET_SUFFIXES: &[&str] = &[
    "_PASSWORD",
    "_PASSWD",
    "_PASSPHRASE",
    "_TOKEN",
    "_SECRET",
    "_API_KEY",
    "_APIKEY",
    "_PRIVATE_KEY",
];

/// True when an environment variable's name marks its value as a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_SUFFIXES.iter().any(|suffix| upper.ends_with(suffix)) || upper == "PASSWORD"
}
