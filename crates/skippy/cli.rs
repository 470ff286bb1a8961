//! Command-line parsing and the subcommands.
//!
//! Stdout belongs to the MCP protocol when serving; the other subcommands print their results there
//! explicitly through [`write_stdout`]. Diagnostics always go to stderr through `tracing`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rmcp::ServiceExt;
use skippy_core::Toolset;
use skippy_core::audit::AuditLog;
use skippy_core::config::{self, Config, ConfigSource, EnvSource, ProcessEnv};
use tokio_util::sync::CancellationToken;

use skippy_remote::Hosts;

use crate::adapter::Engine;
use crate::registry;
use crate::server::{SkippyServer, to_mcp_result, to_mcp_tool};
use crate::stats::Stats;
use crate::tools::server_status::ServerState;
use crate::transport::LineTransport;

#[derive(Debug, Parser)]
#[command(
    name = "skippy",
    version,
    about = "Skippy: a safe, fast MCP server for administering a small fleet"
)]
struct Cli {
    /// Configuration file (default lookup: $SKIPPY_CONFIG, ./skippy.toml, ~/.config/skippy/skippy.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Diagnostics level on stderr: error, warn, info, debug, trace (or a filter; default from SKIPPY_LOG, else warn).
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
    /// Write diagnostics as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    /// Offer only these toolsets, comma-separated, e.g. files,logs (default: all; overrides
    /// SKIPPY_TOOLSETS and server.toolsets; disabled_tools and disabled_toolsets still subtract).
    #[arg(long, global = true, value_name = "LIST")]
    toolsets: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the MCP server on stdin/stdout (the default).
    Serve,
    /// List the tools offered, and what each toolset costs in `tools/list`.
    Tools {
        /// The `tools/list` result as JSON.
        #[arg(long, conflicts_with_all = ["markdown", "costs"])]
        json: bool,
        /// A Markdown table (the one in README.md).
        #[arg(long, conflicts_with = "costs")]
        markdown: bool,
        /// The bytes each toolset adds to `tools/list`, as a Markdown table (the one in README.md).
        #[arg(long)]
        costs: bool,
    },
    /// Call one tool and print its result as JSON; exit status 1 when the result is an error.
    Call {
        /// Tool name, e.g. get_system_info.
        tool: String,
        /// Arguments as a JSON object (default {}).
        args: Option<String>,
        /// Approve the call in advance when it needs approval (server.approvals); without it the
        /// question is asked on the terminal, and refused when there is none.
        #[arg(long)]
        yes: bool,
    },
    /// Check the configuration, roots and log paths; non-zero exit on problems.
    Doctor,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init(cli.log_level.as_deref(), cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for blocking tasks of abandoned calls: exit promptly.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(error) => {
            // Config errors and the like: one clear line on stderr.
            let _ = writeln!(std::io::stderr(), "skippy: {error:#}");
            ExitCode::from(2)
        }
    }
}

struct App {
    engine: Arc<Engine>,
    state: Arc<ServerState>,
    hosts: Arc<Hosts>,
}

/// The process environment, with `--toolsets` in place of `SKIPPY_TOOLSETS`: the flag is the most
/// specific setting, so it wins over the variable and the file, and is validated the same way.
struct CliEnv {
    toolsets: Option<String>,
}

impl EnvSource for CliEnv {
    fn get(&self, name: &str) -> Option<String> {
        match &self.toolsets {
            Some(toolsets) if name == skippy_core::env::TOOLSETS => Some(toolsets.clone()),
            _ => ProcessEnv.get(name),
        }
    }
    fn vars(&self) -> Vec<(String, String)> {
        ProcessEnv.vars()
    }
    fn current_dir(&self) -> Option<PathBuf> {
        ProcessEnv.current_dir()
    }
}

fn build(config_path: Option<&std::path::Path>, env: &CliEnv) -> anyhow::Result<App> {
    let config = config::load(config_path, env)?;
    crate::logging::mask_with(&config.secrets);
    for warning in &config.warnings {
        tracing::warn!(key = %warning.key, "{}", warning.message);
    }
    check_tool_names(&config)?;
    let audit = match &config.audit_path {
        Some(path) => AuditLog::open(path).unwrap_or_else(|error| {
            tracing::warn!(path = %path.display(), %error, "audit log disabled: cannot open it");
            AuditLog::disabled()
        }),
        None => AuditLog::disabled(),
    };
    let stats = Arc::new(Stats::default());
    let state = Arc::new(ServerState::new(stats.clone(), audit.clone()));
    // Connections are opened lazily, on a host's first use.
    let hosts = Hosts::from_config(&config);
    let routes = registry::routes(state.clone(), &hosts);
    let engine = Arc::new(Engine::new(Arc::new(config), routes, audit, stats));
    Ok(App {
        engine,
        state,
        hosts,
    })
}

/// Tool names in the configuration must exist: a typo would silently leave a tool enabled.
fn check_tool_names(config: &Config) -> anyhow::Result<()> {
    let state = Arc::new(ServerState::new(Default::default(), AuditLog::disabled()));
    let hosts = Arc::new(Hosts::from_host_configs(std::iter::empty()));
    let names: Vec<&'static str> = registry::routes(state, &hosts)
        .iter()
        .map(|r| r.spec().name)
        .collect();
    for name in config
        .server
        .disabled_tools
        .iter()
        .chain(config.server.tool_timeouts.keys())
    {
        if !names.contains(&name.as_str()) {
            anyhow::bail!(
                "invalid configuration: unknown tool `{name}` in server.disabled_tools or server.tool_timeouts_ms; known tools: {}",
                names.join(", ")
            );
        }
    }
    // A misspelt `always` would silently leave a tool unasked.
    for name in config.server.approval_overrides.keys() {
        if !names.contains(&name.as_str()) {
            anyhow::bail!(
                "invalid configuration: unknown tool `{name}` in server.approval_overrides; known tools: {}",
                names.join(", ")
            );
        }
    }
    let toolsets: Vec<&str> = skippy_core::Toolset::ALL.iter().map(|t| t.name()).collect();
    for set in &config.server.disabled_toolsets {
        if !toolsets.contains(&set.as_str()) {
            anyhow::bail!(
                "invalid configuration: unknown toolset `{set}` in server.disabled_toolsets; known: {}",
                toolsets.join(", ")
            );
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env = CliEnv {
        toolsets: cli.toolsets,
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(build(cli.config.as_deref(), &env)?).await,
        Command::Tools {
            json,
            markdown,
            costs,
        } => list_tools(build(cli.config.as_deref(), &env)?, json, markdown, costs),
        Command::Call { tool, args, yes } => {
            let app = build(cli.config.as_deref(), &env)?;
            call(app, &tool, args.as_deref(), yes).await
        }
        Command::Doctor => doctor(cli.config.as_deref(), &env),
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

async fn serve(app: App) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    // Handlers first: a SIGTERM that arrives during the handshake must end the process cleanly too.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let server = SkippyServer::new(app.engine.clone(), app.state.clone());
    let (reader, writer) = rmcp::transport::stdio_pipes();
    let transport =
        LineTransport::new(reader, writer, app.engine.config().server.max_request_bytes);
    tracing::info!(tools = server.tools().len(), "serving MCP on stdio");
    let service = tokio::select! {
        result = server.serve(transport) => match result {
            Ok(service) => service,
            Err(error) => {
                // stdin closed before the handshake (a health check that opens and closes the pipe).
                tracing::info!(%error, "client went away before the handshake");
                return Ok(ExitCode::SUCCESS);
            }
        },
        _ = terminate.recv() => return Ok(ExitCode::SUCCESS),
        _ = interrupt.recv() => return Ok(ExitCode::SUCCESS),
    };
    let cancel = service.cancellation_token();
    let waiting = service.waiting();
    tokio::pin!(waiting);
    tokio::select! {
        result = &mut waiting => {
            if let Err(error) = result {
                tracing::warn!(%error, "server task ended with an error");
            }
        }
        _ = terminate.recv() => {
            tracing::info!("SIGTERM: shutting down");
            cancel.cancel();
        }
        _ = interrupt.recv() => {
            tracing::info!("SIGINT: shutting down");
            cancel.cancel();
        }
    }
    // Stops the remote commands of calls still in flight before the runtime drops them.
    app.hosts.shutdown().await;
    app.engine.audit().flush(AUDIT_FLUSH_WAIT);
    Ok(ExitCode::SUCCESS)
}

/// How long an exiting process waits for its last audit lines to reach the disk.
const AUDIT_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn list_tools(app: App, json: bool, markdown: bool, costs: bool) -> anyhow::Result<ExitCode> {
    let server = SkippyServer::new(app.engine.clone(), app.state);
    if markdown {
        write_stdout(&tools_markdown(&app.engine))?;
    } else if costs {
        write_stdout(&toolset_costs_markdown(&app.engine))?;
    } else if json {
        let tools: Vec<_> = app.engine.visible_specs().map(to_mcp_tool).collect();
        write_stdout(&serde_json::to_string_pretty(
            &serde_json::json!({ "tools": tools }),
        )?)?;
    } else {
        let mut text = String::new();
        for tool in server.tools() {
            text.push_str(&format!(
                "{:<22} {}\n",
                tool.name,
                tool.description.as_deref().unwrap_or("")
            ));
        }
        text.push('\n');
        text.push_str(&toolsets_summary(&app.engine));
        write_stdout(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Bytes each toolset's tools add to `tools/list` (compact JSON), over every registered tool.
fn toolset_bytes(engine: &Engine, toolset: Toolset) -> (usize, usize) {
    engine
        .all_specs()
        .filter(|spec| spec.toolset == toolset)
        .map(|spec| crate::schema::entry_bytes(&to_mcp_tool(spec)))
        .fold((0, 0), |(tools, bytes), entry| (tools + 1, bytes + entry))
}

/// For `skippy tools`: which toolsets are offered under this configuration, and what each costs.
fn toolsets_summary(engine: &Engine) -> String {
    let server = &engine.config().server;
    let mut text = format!(
        "{:<8} {:<36} {:>5} {:>7}\n",
        "TOOLSET", "STATE", "TOOLS", "BYTES"
    );
    for &toolset in Toolset::ALL {
        let name = toolset.name();
        let state = if server.disabled_toolsets.contains(name) {
            "disabled (server.disabled_toolsets)"
        } else if server
            .toolsets
            .as_ref()
            .is_some_and(|selected| !selected.contains(name))
        {
            "not selected (--toolsets)"
        } else {
            "enabled"
        };
        let offered = engine
            .visible_specs()
            .filter(|spec| spec.toolset == toolset)
            .count();
        let (tools, bytes) = toolset_bytes(engine, toolset);
        text.push_str(&format!(
            "{name:<8} {state:<36} {:>5} {bytes:>7}\n",
            format!("{offered}/{tools}")
        ));
    }
    let offered: Vec<usize> = engine
        .visible_specs()
        .map(|spec| crate::schema::entry_bytes(&to_mcp_tool(spec)))
        .collect();
    let total: usize = offered.iter().sum();
    text.push_str(&format!(
        "\ntools/list offers {} tools in {total} bytes ({} per tool; budget {})\n",
        offered.len(),
        total.checked_div(offered.len()).unwrap_or(0),
        crate::schema::BUDGET_BYTES_PER_TOOL
    ));
    text
}

/// The cost table of README.md: every registered tool, whatever the configuration.
pub fn toolset_costs_markdown(engine: &Engine) -> String {
    let mut text =
        String::from("| Toolset | Tools | Bytes in `tools/list` | Per tool |\n|---|--:|--:|--:|\n");
    let (mut all_tools, mut all_bytes) = (0, 0);
    for &toolset in Toolset::ALL {
        let (tools, bytes) = toolset_bytes(engine, toolset);
        all_tools += tools;
        all_bytes += bytes;
        text.push_str(&format!(
            "| `{}` | {tools} | {bytes} | {} |\n",
            toolset.name(),
            bytes.checked_div(tools).unwrap_or(0)
        ));
    }
    text.push_str(&format!(
        "| all | {all_tools} | {all_bytes} | {} |\n",
        all_bytes.checked_div(all_tools).unwrap_or(0)
    ));
    text
}

/// The tools table of README.md: generated from the registry, checked by a test.
pub fn tools_markdown(engine: &Engine) -> String {
    let mut text = String::from("| Tool | Toolset | Kind | Description |\n|---|---|---|---|\n");
    for spec in engine.all_specs() {
        let kind = if spec.annotations.read_only {
            "read-only"
        } else if spec.annotations.destructive {
            "mutating (destructive)"
        } else {
            "mutating"
        };
        text.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            spec.name,
            spec.toolset.name(),
            kind,
            spec.description.replace('|', "\\|")
        ));
    }
    text
}

async fn call(app: App, tool: &str, args: Option<&str>, yes: bool) -> anyhow::Result<ExitCode> {
    let arguments = match args {
        None => serde_json::Map::new(),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text)
            .context("JSON_ARGS is not valid JSON")?
        {
            serde_json::Value::Object(map) => map,
            _ => anyhow::bail!("JSON_ARGS must be a JSON object, e.g. '{{\"path\": \".\"}}'"),
        },
    };
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            trigger.cancel();
        }
    });
    let approver = crate::terminal::TerminalApprover {
        approved_in_advance: yes,
    };
    let outcome = app
        .engine
        .call(tool, arguments, cancel, None, &approver)
        .await;
    app.hosts.shutdown().await;
    // The process ends next; the audit line (with any approval decision) must be on disk first.
    app.engine.audit().flush(AUDIT_FLUSH_WAIT);
    let failed = outcome.result.is_err();
    let result = to_mcp_result(outcome);
    let printed = match (&result.structured_content, failed) {
        (Some(value), false) => serde_json::to_string_pretty(value)?,
        _ => result
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(&t.text)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .unwrap_or_else(|_| t.text.clone())
            })
            .unwrap_or_default(),
    };
    write_stdout(&printed)?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn doctor(config_path: Option<&std::path::Path>, env: &CliEnv) -> anyhow::Result<ExitCode> {
    let mut rows: Vec<(String, &'static str, String)> = Vec::new();
    let mut problems = 0usize;
    let mut row = |check: &str, ok: bool, detail: String| {
        if !ok {
            problems += 1;
        }
        rows.push((check.to_string(), if ok { "ok" } else { "PROBLEM" }, detail));
    };
    let located = config::locate(config_path, env);
    match config::load(config_path, env) {
        Err(error) => row("config", false, error.to_string()),
        Ok(config) => {
            let source = match &config.source {
                ConfigSource::Defaults => "no file: built-in defaults".to_string(),
                ConfigSource::File(path) => path.display().to_string(),
            };
            row("config", true, source);
            if let Err(error) = check_tool_names(&config) {
                row("tool names", false, error.to_string());
            }
            for warning in &config.warnings {
                row(&warning.key, false, warning.message.clone());
            }
            row(
                "read roots",
                !config.files.read_roots().is_empty() || !config.files.write_roots().is_empty(),
                join_paths(config.files.read_roots()),
            );
            let writable = config
                .files
                .write_roots()
                .iter()
                .all(|root| is_writable_dir(root));
            row(
                "write roots",
                writable,
                join_paths(config.files.write_roots()),
            );
            row(
                "log paths",
                !config.logs.policy.read_roots().is_empty(),
                join_paths(config.logs.policy.read_roots()),
            );
            for (alias, path) in &config.logs.aliases {
                let allowed = config
                    .logs
                    .policy
                    .check_path(path, skippy_core::Access::Read);
                let ok = allowed.as_ref().is_ok_and(|p| p.exists());
                let detail = match allowed {
                    Ok(p) if p.exists() => p.to_string(),
                    Ok(p) => format!("{p} does not exist"),
                    Err(error) => error.to_string(),
                };
                row(&format!("log alias {alias}"), ok, detail);
            }
            match &config.audit_path {
                None => row("audit log", true, "disabled".to_string()),
                Some(path) => {
                    let opened = AuditLog::open(path);
                    row(
                        "audit log",
                        opened.is_ok(),
                        match opened {
                            Ok(_) => path.display().to_string(),
                            Err(error) => format!("{}: {error}", path.display()),
                        },
                    );
                }
            }
            row("read-only mode", true, config.server.read_only.to_string());
            row("default host", true, config.server.default_host.clone());
            for host in config.hosts.values() {
                // Checked without connecting: doctor must stay fast and work offline.
                let methods: Vec<&str> = host.auth.iter().map(|a| a.method()).collect();
                let key_file_ok = host.auth.iter().all(|auth| match auth {
                    skippy_core::hosts::HostAuth::Key { path, .. } => path.is_file(),
                    _ => true,
                });
                let known = host.known_hosts.is_file() || host.skippy_known_hosts.is_file();
                let trusts =
                    known || host.host_key_policy == skippy_core::hosts::HostKeyPolicy::AcceptNew;
                let mut detail = format!(
                    "{}@{}:{} auth {} exec {:?}",
                    host.user,
                    host.address,
                    host.port,
                    methods.join("+"),
                    host.exec_policy
                );
                if !key_file_ok {
                    detail.push_str("; identity_file does not exist");
                }
                if !trusts {
                    detail.push_str(&format!(
                        "; no known_hosts file ({}) and host_key_policy is strict: add the key with ssh-keyscan",
                        host.known_hosts.display()
                    ));
                }
                row(
                    &format!("host {}", host.name),
                    key_file_ok && trusts,
                    detail,
                );
            }
            row(
                "systemd",
                true,
                if std::path::Path::new("/run/systemd/system").exists() {
                    "running (check_service_status available)".to_string()
                } else {
                    "not running (check_service_status answers `unavailable`)".to_string()
                },
            );
        }
    }
    let _ = located;
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(5).max(5);
    let mut text = format!("{:<width$}  {:<7}  DETAIL\n", "CHECK", "STATUS");
    for (check, status, detail) in &rows {
        text.push_str(&format!("{check:<width$}  {status:<7}  {detail}\n"));
    }
    text.push_str(&if problems == 0 {
        "\nno problems found\n".to_string()
    } else {
        format!("\n{problems} problem(s) found\n")
    });
    write_stdout(&text)?;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn join_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "(none)".to_string();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_writable_dir(path: &std::path::Path) -> bool {
    tempfile_probe(path).is_ok()
}

fn tempfile_probe(path: &std::path::Path) -> std::io::Result<()> {
    let probe = path.join(format!(".skippy-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
