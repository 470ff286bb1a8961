//! `list_hosts`: the hosts Skippy can reach: `local` (this machine) first, then every configured
//! host with its address, user, authentication methods (never a secret), exec policy and the remote
//! directories file transfers may use (none configured: transfers are refused on that host).
//!
//! With `check`, each configured host is connected to through the pool (or its open pooled
//! connection is reused) and reported with its SSH banner, the SHA-256 fingerprint of its verified
//! host key and the round trip of opening a session channel. A host that cannot be reached is data
//! (`reachable: false` with the reason in `error`), not a failure of the call. Checks run
//! concurrently, each bounded by the host's connect timeout and the call's own deadline.
//!
//! Side effects: with `check`, opens (and pools) SSH connections; runs nothing on the hosts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::hosts::{ExecPolicy, HostConfig, LOCAL};
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};

use crate::{HostHandle, Hosts};

/// Time kept back from the call's deadline so that slow checks become data, not a timeout.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Connect: reachability, banner, host key
    #[serde(default)]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum ExecPolicyName {
    Disabled,
    Allowlist,
    Unrestricted,
}

impl From<ExecPolicy> for ExecPolicyName {
    fn from(policy: ExecPolicy) -> Self {
        match policy {
            ExecPolicy::Disabled => ExecPolicyName::Disabled,
            ExecPolicy::Allowlist => ExecPolicyName::Allowlist,
            ExecPolicy::Unrestricted => ExecPolicyName::Unrestricted,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct HostEntry {
    pub name: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub user: String,
    pub auth: Vec<String>,
    pub default: bool,
    pub exec_policy: ExecPolicyName,
    /// Remote dirs upload_file/download_file may use; empty: transfers refused. Absent for local
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_roots: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    /// Session channel round trip
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key_fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub hosts: Vec<HostEntry>,
}

pub struct ListHosts {
    pub hosts: Arc<Hosts>,
}

impl Tool for ListHosts {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "list_hosts";
    const TITLE: &'static str = "List hosts";
    const DESCRIPTION: &'static str =
        "Hosts the host tools accept (local first): address, auth, exec policy, roots.";
    const TOOLSET: Toolset = Toolset::Remote;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let default_host = ctx.config.server.default_host.as_str();
        let mut local = local_entry(default_host);
        if params.check {
            local.reachable = Some(true);
        }
        let handles: Vec<HostHandle> = self
            .hosts
            .names()
            .iter()
            .filter(|name| name.as_str() != LOCAL)
            .map(|name| self.hosts.remote(name))
            .collect::<ToolResult<_>>()?;
        let mut entries: Vec<HostEntry> = handles
            .iter()
            .map(|handle| configured_entry(handle.config(), default_host))
            .collect();
        if params.check {
            let budget = ctx.remaining().saturating_sub(DEADLINE_MARGIN);
            let checks =
                futures::future::join_all(handles.iter().map(|handle| check(handle, budget)));
            let results = tokio::select! {
                results = checks => results,
                () = ctx.cancel.cancelled() => return Err(ToolError::Cancelled),
            };
            for (entry, result) in entries.iter_mut().zip(results) {
                result.apply(entry);
            }
        }
        let mut hosts = Vec::with_capacity(entries.len() + 1);
        hosts.push(local);
        hosts.extend(entries);
        Ok(Output { hosts })
    }
}

/// `local`: this machine, as the user Skippy runs as. There is no host configuration for it: its
/// exec policy is always `allowlist` with the default inspection programs.
fn local_entry(default_host: &str) -> HostEntry {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    HostEntry {
        name: LOCAL.to_string(),
        address: "localhost".to_string(),
        port: None,
        user,
        auth: vec!["local".to_string()],
        default: default_host == LOCAL,
        exec_policy: ExecPolicyName::Allowlist,
        remote_roots: None,
        reachable: None,
        latency_ms: None,
        banner: None,
        host_key_fingerprint: None,
        error: None,
    }
}

fn configured_entry(config: &HostConfig, default_host: &str) -> HostEntry {
    HostEntry {
        name: config.name.clone(),
        address: config.address.clone(),
        port: Some(config.port),
        user: config.user.clone(),
        auth: config
            .auth
            .iter()
            .map(|method| method.method().to_string())
            .collect(),
        default: config.name == default_host,
        exec_policy: config.exec_policy.into(),
        remote_roots: Some(config.remote_roots.clone()),
        reachable: None,
        latency_ms: None,
        banner: None,
        host_key_fingerprint: None,
        error: None,
    }
}

/// The outcome of checking one host.
#[derive(Debug)]
enum Checked {
    Reachable {
        latency_ms: f64,
        banner: Option<String>,
        fingerprint: Option<String>,
    },
    Unreachable(String),
}

impl Checked {
    fn apply(self, entry: &mut HostEntry) {
        match self {
            Checked::Reachable {
                latency_ms,
                banner,
                fingerprint,
            } => {
                entry.reachable = Some(true);
                entry.latency_ms = Some(latency_ms);
                entry.banner = banner;
                entry.host_key_fingerprint = fingerprint;
            }
            Checked::Unreachable(error) => {
                entry.reachable = Some(false);
                entry.error = Some(error);
            }
        }
    }
}

/// Connect (or reuse the pooled connection), then time one session channel open and close.
async fn check(host: &HostHandle, budget: Duration) -> Checked {
    let work = async {
        host.connect().await?;
        let started = Instant::now();
        let channel = host.channel().await?;
        let latency = started.elapsed();
        drop(channel);
        let info = host.server_info().await.unwrap_or_default();
        Ok::<_, ToolError>(Checked::Reachable {
            latency_ms: (latency.as_secs_f64() * 100_000.0).round() / 100.0,
            banner: info.banner,
            fingerprint: info.host_key_fingerprint,
        })
    };
    match tokio::time::timeout(budget, work).await {
        Ok(Ok(checked)) => checked,
        Ok(Err(error)) => Checked::Unreachable(error.to_string()),
        Err(_) => Checked::Unreachable(format!(
            "no answer within {:.1} s (the call's time limit); check the host, or call again",
            budget.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;
    use skippy_core::hosts::{HostAuth, HostKeyPolicy};

    fn host(name: &str, port: u16) -> HostConfig {
        HostConfig {
            name: name.into(),
            address: "127.0.0.1".into(),
            port,
            user: "deploy".into(),
            auth: vec![
                HostAuth::Key {
                    path: "/nonexistent/key".into(),
                    passphrase: Some("secret-pass".into()),
                },
                HostAuth::Agent,
            ],
            known_hosts: "/nonexistent/known_hosts".into(),
            skippy_known_hosts: "/nonexistent/skippy_known_hosts".into(),
            host_key_policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(5),
            keepalive: None,
            max_sessions: 2,
            idle_close: Duration::from_secs(60),
            exec_policy: ExecPolicy::Disabled,
            allowed_programs: None,
            remote_roots: Vec::new(),
            log_paths: Vec::new(),
        }
    }

    fn unused_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn lists_local_first_without_secrets_and_marks_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.server.default_host = "web".into();
        let hosts = Arc::new(Hosts::from_host_configs([host("web", 2222)]));
        let tool = ListHosts { hosts };
        let output = tool
            .run(ToolCtx::for_tests(config), Params { check: false })
            .await
            .unwrap();
        let json = serde_json::to_value(&output).unwrap();
        assert_eq!(json["hosts"][0]["name"], "local");
        assert_eq!(json["hosts"][0]["address"], "localhost");
        assert_eq!(json["hosts"][0]["auth"], serde_json::json!(["local"]));
        assert_eq!(json["hosts"][0]["default"], false);
        assert_eq!(json["hosts"][0]["exec_policy"], "allowlist");
        assert!(json["hosts"][0].get("reachable").is_none());
        let web = &json["hosts"][1];
        assert_eq!(web["name"], "web");
        assert_eq!(web["port"], 2222);
        assert_eq!(web["user"], "deploy");
        assert_eq!(web["auth"], serde_json::json!(["key", "agent"]));
        assert_eq!(web["default"], true);
        assert_eq!(web["exec_policy"], "disabled");
        // Honest about transfers: none configured means none allowed, not "the home".
        assert_eq!(web["remote_roots"], serde_json::json!([]));
        assert!(json["hosts"][0].get("remote_roots").is_none());
        assert_eq!(json["hosts"].as_array().unwrap().len(), 2);
        assert!(!json.to_string().contains("secret-pass"));
    }

    #[tokio::test]
    async fn an_unreachable_host_is_data_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_for(dir.path()).unwrap();
        let hosts = Arc::new(Hosts::from_host_configs([host("down", unused_port())]));
        let tool = ListHosts { hosts };
        let output = tool
            .run(ToolCtx::for_tests(config), Params { check: true })
            .await
            .unwrap();
        assert_eq!(output.hosts[0].reachable, Some(true));
        assert!(output.hosts[0].default);
        let down = &output.hosts[1];
        assert_eq!(down.reachable, Some(false));
        let error = down.error.as_deref().unwrap();
        assert!(error.contains("connection refused"), "{error}");
        assert_eq!(down.latency_ms, None);
    }
}
