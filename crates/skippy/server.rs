//! The MCP server: rmcp's `ServerHandler` over the [`Engine`]. This file only translates between
//! protocol types and the adapter; every rule lives in the adapter.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use skippy_core::ProgressSink;

use crate::adapter::{CallOutcome, Engine, ToolSpec};
use crate::tools::server_status::ServerState;

pub const INSTRUCTIONS: &str = "Skippy administers this machine: files (confined to configured roots), system \
monitoring, and logs. Every tool has a time limit and capped output: when a result says `truncated: true`, \
call again with its `next_offset`. Errors come back as results with isError and a JSON body \
{\"error\":{\"code\",\"message\"}}; the message says what to do next. Mutating tools (write_file, edit_file) \
accept dry_run. server_status shows the configuration in force.";

/// Minimum gap between two progress notifications of one call.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct SkippyServer {
    engine: Arc<Engine>,
    state: Arc<ServerState>,
    tools: Arc<Vec<Tool>>,
}

impl SkippyServer {
    pub fn new(engine: Arc<Engine>, state: Arc<ServerState>) -> Self {
        let tools = engine.visible_specs().map(to_mcp_tool).collect();
        Self {
            engine,
            state,
            tools: Arc::new(tools),
        }
    }

    /// The tools as `tools/list` shows them.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }
}

/// Convert a spec to rmcp's tool description.
pub fn to_mcp_tool(spec: &ToolSpec) -> Tool {
    let annotations = ToolAnnotations::from_raw(
        Some(spec.title.to_string()),
        Some(spec.annotations.read_only),
        Some(spec.annotations.destructive),
        Some(spec.annotations.idempotent),
        Some(spec.annotations.open_world),
    );
    Tool::new_with_raw(
        spec.name,
        Some(spec.description.into()),
        spec.input_schema.clone(),
    )
    .with_raw_output_schema(spec.output_schema.clone())
    .with_annotations(annotations)
}

/// Render an adapter outcome as an MCP result.
pub fn to_mcp_result(outcome: CallOutcome) -> CallToolResult {
    match outcome.result {
        Ok(value) => CallToolResult::structured(value),
        Err(error) => CallToolResult::error(vec![ContentBlock::text(
            CallOutcome::error_json(&error).to_string(),
        )]),
    }
}

/// Forwards tool progress as `notifications/progress`, at most one per [`PROGRESS_INTERVAL`].
///
/// Tools report from blocking threads too, so the notification is spawned on the runtime handle
/// captured when the call started, not on "the current runtime".
struct PeerProgress {
    peer: Peer<RoleServer>,
    token: ProgressToken,
    last: Mutex<Option<Instant>>,
    runtime: tokio::runtime::Handle,
}

impl ProgressSink for PeerProgress {
    fn report(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        if let Ok(mut last) = self.last.lock() {
            let now = Instant::now();
            if last.is_some_and(|at| now.duration_since(at) < PROGRESS_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        let mut param = ProgressNotificationParam::new(self.token.clone(), progress);
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Some(message) = message {
            param = param.with_message(message);
        }
        let peer = self.peer.clone();
        self.runtime.spawn(async move {
            let _ = peer.notify_progress(param).await;
        });
    }
}

impl ServerHandler for SkippyServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("skippy", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        if let Some(version) = context.protocol_version() {
            self.state.set_protocol_version(version.as_str());
        }
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if let Some(version) = context.protocol_version() {
            self.state.set_protocol_version(version.as_str());
        }
        if self.engine.spec(&request.name).is_none() {
            return Err(McpError::invalid_params(
                format!(
                    "tool not found: `{}`; tools/list shows the available tools",
                    shown_name(&request.name)
                ),
                None,
            ));
        }
        let progress = context.meta.get_progress_token().map(|token| {
            Arc::new(PeerProgress {
                peer: context.peer.clone(),
                token,
                last: Mutex::new(None),
                runtime: tokio::runtime::Handle::current(),
            }) as Arc<dyn ProgressSink>
        });
        let arguments = request.arguments.unwrap_or_default();
        let outcome = self
            .engine
            .call(&request.name, arguments, context.ct.clone(), progress)
            .await;
        Ok(to_mcp_result(outcome).into())
    }
}

/// An unknown tool name as echoed in an error: secrets masked, at most 64 characters.
fn shown_name(name: &str) -> String {
    const LIMIT: usize = 64;
    let masked = crate::logging::mask(name);
    if masked.chars().count() <= LIMIT {
        return masked;
    }
    let mut cut: String = masked.chars().take(LIMIT).collect();
    cut.push('…');
    cut
}
