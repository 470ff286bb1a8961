//! `server_status`: Skippy's own health: version, uptime, negotiated protocol, a configuration
//! summary without secrets, and per-tool counters since start. Reads in-process state only.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::audit::AuditLog;
use skippy_core::{Annotations, ToolCtx, ToolResult, Toolset};

use crate::stats::{Stats, ToolStats};

/// State shared between the server and this tool.
pub struct ServerState {
    pub started: Instant,
    pub protocol_version: Mutex<Option<String>>,
    pub stats: Arc<Stats>,
    pub audit: AuditLog,
}

impl ServerState {
    pub fn new(stats: Arc<Stats>, audit: AuditLog) -> Self {
        Self {
            started: Instant::now(),
            protocol_version: Mutex::new(None),
            stats,
            audit,
        }
    }

    pub fn set_protocol_version(&self, version: &str) {
        if let Ok(mut slot) = self.protocol_version.lock()
            && slot.as_deref() != Some(version)
        {
            *slot = Some(version.to_string());
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigSummary {
    /// `defaults` or the config file path.
    pub source: String,
    pub read_roots: Vec<String>,
    pub write_roots: Vec<String>,
    pub log_paths: Vec<String>,
    pub log_aliases: Vec<String>,
    /// Configured remote hosts (`local` is built in).
    pub hosts: Vec<String>,
    pub default_host: String,
    pub read_only: bool,
    pub disabled_tools: Vec<String>,
    pub default_timeout_ms: u64,
    pub max_output_bytes: usize,
    pub audit_log: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub version: String,
    pub uptime_seconds: f64,
    pub protocol_version: Option<String>,
    /// Toolsets offered: those selected by `server.toolsets` / `--toolsets` (default all), less
    /// `server.disabled_toolsets`.
    pub toolsets_enabled: Vec<String>,
    pub config: ConfigSummary,
    pub audit_dropped: u64,
    pub tools: Vec<ToolStats>,
}

pub struct ServerStatus {
    pub state: Arc<ServerState>,
}

impl skippy_core::Tool for ServerStatus {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "server_status";
    const TITLE: &'static str = "Server status";
    const DESCRIPTION: &'static str =
        "Skippy's version, uptime, config (no secrets), toolsets, per-tool counters.";
    const TOOLSET: Toolset = Toolset::Server;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, _params: Params) -> ToolResult<Output> {
        let config = &ctx.config;
        let paths =
            |list: &[std::path::PathBuf]| list.iter().map(|p| p.display().to_string()).collect();
        let source = match &config.source {
            skippy_core::config::ConfigSource::Defaults => "defaults".to_string(),
            skippy_core::config::ConfigSource::File(path) => path.display().to_string(),
        };
        let toolsets_enabled = Toolset::ALL
            .iter()
            .map(|set| set.name())
            .filter(|name| !config.server.disabled_toolsets.contains(*name))
            .filter(|name| {
                config
                    .server
                    .toolsets
                    .as_ref()
                    .is_none_or(|selected| selected.contains(*name))
            })
            .map(str::to_string)
            .collect();
        let audit_log = self.state.audit.path().map(|p| p.display().to_string());
        let audit_dropped = self.state.audit.dropped();
        Ok(Output {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: (self.state.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            protocol_version: self
                .state
                .protocol_version
                .lock()
                .ok()
                .and_then(|v| v.clone()),
            toolsets_enabled,
            config: ConfigSummary {
                source,
                read_roots: paths(config.files.read_roots()),
                write_roots: paths(config.files.write_roots()),
                log_paths: paths(config.logs.policy.read_roots()),
                log_aliases: config.logs.aliases.keys().cloned().collect(),
                hosts: config.hosts.keys().cloned().collect(),
                default_host: config.server.default_host.clone(),
                read_only: config.server.read_only,
                disabled_tools: config.server.disabled_tools.iter().cloned().collect(),
                default_timeout_ms: u64::try_from(config.server.default_timeout.as_millis())
                    .unwrap_or(u64::MAX),
                max_output_bytes: config.server.max_output_bytes,
                audit_log,
            },
            audit_dropped,
            tools: self.state.stats.snapshot(),
        })
    }
}
