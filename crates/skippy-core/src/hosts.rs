//! Remote host configuration: `[hosts.<name>]` tables, validated into [`HostConfig`].
//!
//! Authentication material is never stored in the file: a password or key passphrase is read from an
//! environment variable that the file names, and every such value is registered as a secret. The old
//! server's `EBON_HOST` / `EBON_PASSWORD` / `SSH_KEY_PATH` variables define host `ebon` when set.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, EnvSource};
use crate::env;
use crate::paths::expand_home;
use crate::redact::Secrets;

/// The name of the built-in host that is this machine.
pub const LOCAL: &str = "local";

/// `[hosts.<name>]` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHost {
    /// Host name or IP address.
    pub address: String,
    /// SSH port (default 22).
    pub port: Option<u16>,
    /// Remote user (default: the local user name).
    pub user: Option<String>,
    /// Private key file.
    pub identity_file: Option<PathBuf>,
    /// Environment variable holding the key's passphrase.
    pub identity_passphrase_env: Option<String>,
    /// Use the ssh-agent at `$SSH_AUTH_SOCK` (default: true when no key or password is set).
    pub use_agent: Option<bool>,
    /// Environment variable holding the password (never the password itself).
    pub password_env: Option<String>,
    /// known_hosts file (default `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    /// `strict` (default) or `accept-new`.
    pub host_key_policy: Option<HostKeyPolicy>,
    /// Connection timeout in milliseconds (default 10000).
    pub connect_timeout_ms: Option<u64>,
    /// Keepalive interval in seconds (default 30; 0 disables).
    pub keepalive_secs: Option<u64>,
    /// Concurrent channels on the one connection (default 8).
    pub max_sessions: Option<usize>,
    /// Close the connection after this many idle seconds (default 300).
    pub idle_close_secs: Option<u64>,
    /// `disabled`, `allowlist` (default) or `unrestricted`.
    pub exec_policy: Option<ExecPolicy>,
    /// Programs allowed in allowlist mode (default: read-only inspection programs).
    pub allowed_programs: Option<Vec<String>>,
    /// Remote directories file transfers may use. No default: without it, upload_file and
    /// download_file are refused on this host.
    pub remote_roots: Option<Vec<String>>,
    /// Remote log files and directories the log tools may read (default `/var/log`).
    pub log_paths: Option<Vec<String>>,
}

/// How an unknown host key is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// The key must already be in a known_hosts file.
    Strict,
    /// Trust on first use: record an unknown key in Skippy's own known-hosts file; a changed key is refused.
    AcceptNew,
}

/// What `run_remote_command` may run on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecPolicy {
    Disabled,
    Allowlist,
    Unrestricted,
}

/// How Skippy authenticates to a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAuth {
    /// A private key file, with an optional passphrase (a secret).
    Key {
        path: PathBuf,
        passphrase: Option<String>,
    },
    /// A password (a secret).
    Password(String),
    /// The ssh-agent at `$SSH_AUTH_SOCK`.
    Agent,
}

impl HostAuth {
    /// Short name for listings: never includes the secret.
    pub fn method(&self) -> &'static str {
        match self {
            HostAuth::Key { .. } => "key",
            HostAuth::Password(_) => "password",
            HostAuth::Agent => "agent",
        }
    }
}

/// A validated remote host.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub auth: Vec<HostAuth>,
    pub known_hosts: PathBuf,
    /// Skippy's own known-hosts file, where `accept-new` records keys.
    pub skippy_known_hosts: PathBuf,
    pub host_key_policy: HostKeyPolicy,
    pub connect_timeout: Duration,
    pub keepalive: Option<Duration>,
    pub max_sessions: usize,
    pub idle_close: Duration,
    pub exec_policy: ExecPolicy,
    pub allowed_programs: Option<Vec<String>>,
    /// Remote directories file transfers may use (`~` is the remote user's home). Empty means
    /// none: transfers are refused, never defaulted to the home (which holds `~/.ssh`).
    pub remote_roots: Vec<String>,
    pub log_paths: Vec<String>,
}

/// Validate `[hosts.*]`, add the legacy `ebon` host from the environment, and collect secrets.
pub fn validate_hosts(
    raw: &BTreeMap<String, RawHost>,
    env_source: &dyn EnvSource,
    state_dir: Option<&std::path::Path>,
    secrets: &mut Secrets,
) -> Result<BTreeMap<String, HostConfig>, ConfigError> {
    let mut raw = raw.clone();
    if let Some(legacy) = legacy_ebon(env_source)?
        && !raw.contains_key("ebon")
    {
        raw.insert("ebon".to_string(), legacy);
    }
    let home = env_source.get(env::HOME).map(PathBuf::from);
    let local_user = env_source
        .get("USER")
        .or_else(|| env_source.get("LOGNAME"))
        .unwrap_or_else(|| "root".into());
    let mut hosts = BTreeMap::new();
    for (name, host) in &raw {
        let key = |field: &str| format!("hosts.{name}.{field}");
        if name == LOCAL {
            return Err(ConfigError::Invalid(format!(
                "hosts.{LOCAL}: `{LOCAL}` is the built-in name of this machine; choose another name"
            )));
        }
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Invalid(format!(
                "hosts.{name}: host names use letters, digits, - and _"
            )));
        }
        if host.address.trim().is_empty() {
            return Err(ConfigError::Invalid(format!(
                "{} is required",
                key("address")
            )));
        }
        let mut auth = Vec::new();
        if let Some(path) = &host.identity_file {
            let passphrase = match &host.identity_passphrase_env {
                Some(var) => Some(read_secret_env(
                    env_source,
                    var,
                    &key("identity_passphrase_env"),
                    secrets,
                )?),
                None => None,
            };
            auth.push(HostAuth::Key {
                path: expand_home(&path.to_string_lossy()),
                passphrase,
            });
        }
        if let Some(var) = &host.password_env {
            auth.push(HostAuth::Password(read_secret_env(
                env_source,
                var,
                &key("password_env"),
                secrets,
            )?));
        }
        if host.use_agent.unwrap_or(auth.is_empty()) {
            auth.push(HostAuth::Agent);
        }
        let known_hosts = host
            .known_hosts
            .as_ref()
            .map(|p| expand_home(&p.to_string_lossy()))
            .or_else(|| home.as_ref().map(|h| h.join(".ssh/known_hosts")))
            .unwrap_or_else(|| PathBuf::from("/etc/ssh/ssh_known_hosts"));
        let skippy_known_hosts = state_dir
            .map(|dir| dir.join("known_hosts"))
            .unwrap_or_else(|| known_hosts.with_file_name("skippy_known_hosts"));
        let max_sessions = host.max_sessions.unwrap_or(8);
        if max_sessions == 0 {
            return Err(ConfigError::Invalid(format!(
                "{} must be at least 1",
                key("max_sessions")
            )));
        }
        let remote_roots = host.remote_roots.clone().unwrap_or_default();
        if let Some(bad) = remote_roots
            .iter()
            .find(|root| root.trim().is_empty() || root.contains('\0'))
        {
            return Err(ConfigError::Invalid(format!(
                "{} has an invalid entry {bad:?}: give absolute remote directories (or `~/dir`)",
                key("remote_roots")
            )));
        }
        hosts.insert(
            name.clone(),
            HostConfig {
                name: name.clone(),
                address: host.address.trim().to_string(),
                port: host.port.unwrap_or(22),
                user: host.user.clone().unwrap_or_else(|| local_user.clone()),
                auth,
                known_hosts,
                skippy_known_hosts,
                host_key_policy: host.host_key_policy.unwrap_or(HostKeyPolicy::Strict),
                connect_timeout: Duration::from_millis(
                    host.connect_timeout_ms.unwrap_or(10_000).max(1),
                ),
                keepalive: match host.keepalive_secs.unwrap_or(30) {
                    0 => None,
                    secs => Some(Duration::from_secs(secs)),
                },
                max_sessions,
                idle_close: Duration::from_secs(host.idle_close_secs.unwrap_or(300).max(1)),
                exec_policy: host.exec_policy.unwrap_or(ExecPolicy::Allowlist),
                allowed_programs: host.allowed_programs.clone(),
                remote_roots,
                log_paths: host
                    .log_paths
                    .clone()
                    .unwrap_or_else(|| vec!["/var/log".to_string()]),
            },
        );
    }
    Ok(hosts)
}

fn read_secret_env(
    env_source: &dyn EnvSource,
    var: &str,
    key: &str,
    secrets: &mut Secrets,
) -> Result<String, ConfigError> {
    match env_source.get(var) {
        Some(value) => {
            secrets.add(value.clone());
            Ok(value)
        }
        None => Err(ConfigError::Invalid(format!(
            "{key} names the environment variable `{var}`, which is not set"
        ))),
    }
}

/// `EBON_HOST=user@host[:port]`, `EBON_PASSWORD`, `SSH_KEY_PATH` (the old server's variables).
fn legacy_ebon(env_source: &dyn EnvSource) -> Result<Option<RawHost>, ConfigError> {
    let Some(target) = env_source.get(env::LEGACY_EBON_HOST) else {
        return Ok(None);
    };
    let (user, rest) = match target.split_once('@') {
        Some((user, rest)) => (Some(user.to_string()), rest),
        None => (None, target.as_str()),
    };
    let (address, port) = match rest.rsplit_once(':') {
        Some((address, port)) if !address.contains(':') => {
            let port = port.parse::<u16>().map_err(|_| ConfigError::Env {
                name: env::LEGACY_EBON_HOST,
                message: format!("`{port}` is not a port number (expected user@host[:port])"),
            })?;
            (address.to_string(), Some(port))
        }
        _ => (rest.to_string(), None),
    };
    let key = env_source.get(env::LEGACY_SSH_KEY_PATH).map(PathBuf::from);
    let password_env = env_source
        .get(env::LEGACY_EBON_PASSWORD)
        .map(|_| env::LEGACY_EBON_PASSWORD.to_string());
    Ok(Some(RawHost {
        address,
        port,
        user,
        identity_file: key,
        password_env,
        ..RawHost::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FixedEnv;

    fn raw(text: &str) -> BTreeMap<String, RawHost> {
        #[derive(Deserialize)]
        struct Wrapper {
            hosts: BTreeMap<String, RawHost>,
        }
        toml::from_str::<Wrapper>(text).unwrap().hosts
    }

    #[test]
    fn legacy_environment_defines_ebon() {
        let env = FixedEnv::new(std::path::Path::new("/"))
            .with("EBON_HOST", "dave@10.0.0.29:2222")
            .with("EBON_PASSWORD", "pw-from-env")
            .with("HOME", "/home/dave");
        let mut secrets = Secrets::new();
        let hosts = validate_hosts(&BTreeMap::new(), &env, None, &mut secrets).unwrap();
        let ebon = &hosts["ebon"];
        assert_eq!(
            (ebon.user.as_str(), ebon.address.as_str(), ebon.port),
            ("dave", "10.0.0.29", 2222)
        );
        assert_eq!(ebon.auth, vec![HostAuth::Password("pw-from-env".into())]);
        assert_eq!(
            ebon.known_hosts,
            PathBuf::from("/home/dave/.ssh/known_hosts")
        );
        assert_eq!(ebon.host_key_policy, HostKeyPolicy::Strict);
        assert_eq!(ebon.exec_policy, ExecPolicy::Allowlist);
        assert_eq!(secrets.mask("pw-from-env"), "********");
    }

    #[test]
    fn file_hosts_validate_and_missing_env_is_named() {
        let env = FixedEnv::new(std::path::Path::new("/")).with("WEB_PASS", "s3cret-pass");
        let mut secrets = Secrets::new();
        let hosts = validate_hosts(
            &raw("[hosts.web]\naddress = \"web.example\"\nuser = \"deploy\"\npassword_env = \"WEB_PASS\"\nhost_key_policy = \"accept-new\"\nexec_policy = \"unrestricted\"\n"),
            &env,
            Some(std::path::Path::new("/state")),
            &mut secrets,
        )
        .unwrap();
        let web = &hosts["web"];
        assert_eq!(web.host_key_policy, HostKeyPolicy::AcceptNew);
        assert_eq!(web.exec_policy, ExecPolicy::Unrestricted);
        assert_eq!(web.skippy_known_hosts, PathBuf::from("/state/known_hosts"));
        let error = validate_hosts(
            &raw("[hosts.web]\naddress = \"w\"\npassword_env = \"NOPE\"\n"),
            &env,
            None,
            &mut secrets,
        )
        .unwrap_err();
        assert!(error.to_string().contains("NOPE"), "{error}");
        let error = validate_hosts(
            &raw("[hosts.local]\naddress = \"x\"\n"),
            &env,
            None,
            &mut secrets,
        )
        .unwrap_err();
        assert!(error.to_string().contains("built-in"), "{error}");
    }

    #[test]
    fn agent_is_the_default_without_key_or_password() {
        let env = FixedEnv::new(std::path::Path::new("/"));
        let mut secrets = Secrets::new();
        let hosts = validate_hosts(
            &raw("[hosts.a]\naddress = \"a\"\n"),
            &env,
            None,
            &mut secrets,
        )
        .unwrap();
        assert_eq!(hosts["a"].auth, vec![HostAuth::Agent]);
    }

    #[test]
    fn finding_01_remote_roots_have_no_default() {
        let env = FixedEnv::new(std::path::Path::new("/")).with("HOME", "/home/dave");
        let mut secrets = Secrets::new();
        let hosts = validate_hosts(
            &raw("[hosts.a]\naddress = \"a\"\n[hosts.b]\naddress = \"b\"\nremote_roots = [\"/srv/drop\"]\n"),
            &env,
            None,
            &mut secrets,
        )
        .unwrap();
        assert!(hosts["a"].remote_roots.is_empty());
        assert_eq!(hosts["b"].remote_roots, ["/srv/drop"]);
        let error = validate_hosts(
            &raw("[hosts.a]\naddress = \"a\"\nremote_roots = [\" \"]\n"),
            &env,
            None,
            &mut secrets,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("hosts.a.remote_roots"),
            "{error}"
        );
    }
}
