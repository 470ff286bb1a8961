//! The MCP server: rmcp's `ServerHandler` over the [`Engine`]. This file only translates between
//! protocol types and the adapter; every rule lives in the adapter.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ProgressToken,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::model::{
    CancelledNotificationParam, ClientResult, ElicitRequest, ElicitRequestParams,
    ElicitationAction, ElicitationSchema, ProtocolVersion, RequestId, ServerRequest,
};
use rmcp::service::{PeerRequestOptions, RequestContext, ServiceError};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use skippy_core::ProgressSink;
use skippy_core::approval::{Answer, AnswerFuture, ApprovalRequest, Approver};

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
    let annotations = crate::schema::annotations(spec.name, spec.title, spec.annotations);
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
        let approver = PeerApprover::new(&context);
        let arguments = request.arguments.unwrap_or_default();
        let outcome = self
            .engine
            .call(
                &request.name,
                arguments,
                context.ct.clone(),
                progress,
                &approver,
            )
            .await;
        Ok(to_mcp_result(outcome).into())
    }
}

/// Asks the person at the client through `elicitation/create` (a yes/no form).
///
/// It runs inside the `tools/call` handler's task, so rmcp ties the elicitation to that request.
struct PeerApprover {
    peer: Peer<RoleServer>,
    /// Why this client cannot be asked, known from the session before asking.
    unavailable: Option<String>,
}

impl PeerApprover {
    fn new(context: &RequestContext<RoleServer>) -> Self {
        let modern = context
            .protocol_version()
            .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        let declared = context
            .client_capabilities()
            .is_some_and(|capabilities| capabilities.elicitation.is_some());
        let unavailable = if modern {
            // 2026-07-28 forbids server-to-client requests; asking would need input-required
            // results (MRTR), which Skippy does not implement yet.
            Some(
                "this session uses MCP 2026-07-28, where Skippy cannot ask yet; connect with the \
                 initialize handshake (protocol 2025-11-25) and the `elicitation` capability"
                    .to_string(),
            )
        } else if !declared {
            Some(
                "this MCP client did not declare the `elicitation` capability, so Skippy cannot ask \
                 anyone"
                    .to_string(),
            )
        } else {
            None
        };
        Self {
            peer: context.peer.clone(),
            unavailable,
        }
    }
}

/// An elicitation still waiting for its answer; withdrawn with `notifications/cancelled` when
/// dropped unanswered.
struct PendingQuestion {
    peer: Peer<RoleServer>,
    id: Option<RequestId>,
}

impl Drop for PendingQuestion {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let peer = self.peer.clone();
        runtime.spawn(async move {
            let reason = "the tool call was cancelled".to_string();
            let _ = peer
                .notify_cancelled(CancelledNotificationParam::new(Some(id), Some(reason)))
                .await;
        });
    }
}

/// The one field of the approval form. `accept` with `approve: true` is the only yes.
const APPROVE_FIELD: &str = "approve";

impl Approver for PeerApprover {
    fn unavailable(&self) -> Option<String> {
        self.unavailable.clone()
    }

    fn ask<'a>(&'a self, request: &'a ApprovalRequest) -> AnswerFuture<'a> {
        Box::pin(async move {
            let schema = match ElicitationSchema::builder()
                .required_bool_property(APPROVE_FIELD, |field| {
                    // Pre-checked so that "Accept" means yes in forms that show the box; the
                    // choice is accept or decline.
                    field
                        .title("Run it")
                        .description("Accept to run the call as described; decline to refuse it")
                        .with_default(true)
                })
                .build()
            {
                Ok(schema) => schema,
                Err(error) => {
                    return Answer::Unsupported {
                        reason: format!("the approval form could not be built ({error})"),
                    };
                }
            };
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: request.message(),
                requested_schema: schema,
            };
            let sent = self
                .peer
                .send_request_with_option(
                    ServerRequest::ElicitRequest(ElicitRequest::new(params)),
                    PeerRequestOptions::with_timeout(request.wait),
                )
                .await;
            let response = match sent {
                Ok(handle) => {
                    // If the tool call is cancelled meanwhile, the adapter drops this future: the
                    // guard then withdraws the question, so the client does not keep showing it.
                    let mut pending = PendingQuestion {
                        peer: self.peer.clone(),
                        id: Some(handle.id.clone()),
                    };
                    let response = handle.await_response().await;
                    pending.id = None;
                    response
                }
                Err(error) => Err(error),
            };
            match response {
                Ok(ClientResult::ElicitResult(result)) => match result.action {
                    ElicitationAction::Accept => {
                        let approved = result
                            .content
                            .as_ref()
                            .and_then(|content| content.get(APPROVE_FIELD))
                            .and_then(serde_json::Value::as_bool)
                            == Some(true);
                        if approved {
                            Answer::Approved
                        } else {
                            Answer::Declined
                        }
                    }
                    ElicitationAction::Decline => Answer::Declined,
                    ElicitationAction::Cancel => Answer::Cancelled {
                        reason: "dismissed by the user".to_string(),
                    },
                    // An action this version does not know is not a yes.
                    _ => Answer::Cancelled {
                        reason: "the client answered with an unknown action".to_string(),
                    },
                },
                Ok(_) => Answer::Cancelled {
                    reason: "the client answered with something other than an elicitation result"
                        .to_string(),
                },
                Err(ServiceError::Timeout { timeout }) => Answer::Cancelled {
                    reason: format!("no answer within {} s", timeout.as_secs()),
                },
                Err(ServiceError::McpError(error)) => {
                    tracing::warn!(tool = request.tool, %error.message, "the client refused the approval request");
                    Answer::Cancelled {
                        reason: format!("the client could not ask: {}", error.message),
                    }
                }
                Err(error) => {
                    tracing::warn!(tool = request.tool, %error, "the approval request failed");
                    Answer::Cancelled {
                        reason: "the connection to the client failed while waiting".to_string(),
                    }
                }
            }
        })
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
