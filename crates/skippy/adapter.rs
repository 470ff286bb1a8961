//! The one adapter between the protocol and the tools.
//!
//! Every call, whether it arrives over MCP or from `skippy call`, goes through [`Engine::call`],
//! which applies, in order: lookup and policy (disabled tools, read-only mode), argument parsing
//! (unknown fields refused), approval when the operator requires it (`server.approvals`: the tool's
//! plan is shown to a person through the caller's [`Approver`], and anything but a yes refuses the
//! call), the time limit (per tool, configurable, started after approval), client cancellation,
//! progress, secret masking and the output ceiling on the result, the audit line and the per-tool
//! counters. Tools never see JSON or MCP types, and no tool can skip a step.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use rmcp::model::JsonObject;
use serde_json::Value;
use skippy_core::approval::{
    APPROVAL_WAIT, Answer, ApprovalDecision, ApprovalOverride, ApprovalRequest, Approver, Plan,
    cap_plan, needs_approval,
};
use skippy_core::audit::{AuditLog, AuditRecord};
use skippy_core::{Annotations, Config, ProgressSink, Tool, ToolCtx, ToolError, Toolset};
use tokio_util::sync::CancellationToken;

use crate::schema;
use crate::stats::Stats;

/// Everything `tools/list` says about a tool.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub toolset: Toolset,
    pub annotations: Annotations,
    pub timeout: Option<Duration>,
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
}

type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send + 'a>>;
type PlanFuture<'a> = Pin<Box<dyn Future<Output = Result<Plan, ToolError>> + Send + 'a>>;

/// A tool with its types erased, so the registry can hold them in one list.
pub trait Route: Send + Sync {
    fn spec(&self) -> &ToolSpec;
    fn call(&self, ctx: ToolCtx, arguments: JsonObject) -> CallFuture<'_>;
    /// The tool's description of a call, for the approval prompt; changes nothing.
    fn plan(&self, ctx: ToolCtx, arguments: JsonObject) -> PlanFuture<'_>;
}

/// Wraps a typed [`Tool`] as a [`Route`].
pub struct Adapted<T: Tool> {
    tool: T,
    spec: ToolSpec,
}

impl<T: Tool> Adapted<T> {
    pub fn new(tool: T) -> Self {
        Self {
            tool,
            spec: ToolSpec {
                name: T::NAME,
                title: T::TITLE,
                description: T::DESCRIPTION,
                toolset: T::TOOLSET,
                annotations: T::ANNOTATIONS,
                timeout: T::TIMEOUT,
                input_schema: schema::input_schema::<T::Params>(),
                output_schema: schema::output_schema::<T::Output>(),
            },
        }
    }
}

/// Box a tool for the registry.
pub fn route<T: Tool>(tool: T) -> Box<dyn Route> {
    Box::new(Adapted::new(tool))
}

impl<T: Tool> Route for Adapted<T> {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call(&self, ctx: ToolCtx, arguments: JsonObject) -> CallFuture<'_> {
        Box::pin(async move {
            let params = parse::<T>(arguments)?;
            let output = self.tool.run(ctx, params).await?;
            serde_json::to_value(output).map_err(ToolError::internal)
        })
    }

    fn plan(&self, ctx: ToolCtx, arguments: JsonObject) -> PlanFuture<'_> {
        Box::pin(async move {
            let params = parse::<T>(arguments)?;
            self.tool.plan(&ctx, &params).await
        })
    }
}

fn parse<T: Tool>(arguments: JsonObject) -> Result<T::Params, ToolError> {
    serde_json::from_value(Value::Object(arguments)).map_err(|error| {
        ToolError::invalid(format!(
            "invalid arguments for {}: {error}; see the tool's input schema",
            T::NAME
        ))
    })
}

/// The outcome of one call, ready to be rendered for MCP or the CLI.
#[derive(Debug)]
pub struct CallOutcome {
    pub result: Result<Value, ToolError>,
    /// Size of the serialized result or error, in bytes.
    pub bytes: usize,
}

impl CallOutcome {
    /// The error as the JSON object sent to clients: `{"error": {"code", "message"}}`.
    pub fn error_json(error: &ToolError) -> Value {
        serde_json::json!({"error": {"code": error.code(), "message": error.to_string()}})
    }
}

/// Looks tools up, applies policy, runs calls.
pub struct Engine {
    config: Arc<Config>,
    routes: Vec<Box<dyn Route>>,
    index: HashMap<&'static str, usize>,
    audit: AuditLog,
    stats: Arc<Stats>,
}

/// Why a tool is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    Disabled,
    ToolsetDisabled,
    /// `server.toolsets` (`--toolsets`) selects other toolsets.
    ToolsetNotSelected,
    ReadOnlyMode,
}

impl Engine {
    pub fn new(
        config: Arc<Config>,
        routes: Vec<Box<dyn Route>>,
        audit: AuditLog,
        stats: Arc<Stats>,
    ) -> Self {
        let index = routes
            .iter()
            .enumerate()
            .map(|(i, route)| (route.spec().name, i))
            .collect();
        Self {
            config,
            routes,
            index,
            audit,
            stats,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Every registered tool, hidden or not.
    pub fn all_specs(&self) -> impl Iterator<Item = &ToolSpec> {
        self.routes.iter().map(|route| route.spec())
    }

    /// The tools offered to clients under the current configuration.
    pub fn visible_specs(&self) -> impl Iterator<Item = &ToolSpec> {
        self.all_specs().filter(|spec| self.hidden(spec).is_none())
    }

    pub fn hidden(&self, spec: &ToolSpec) -> Option<Hidden> {
        let server = &self.config.server;
        if server.disabled_tools.contains(spec.name) {
            Some(Hidden::Disabled)
        } else if server.disabled_toolsets.contains(spec.toolset.name()) {
            Some(Hidden::ToolsetDisabled)
        } else if server
            .toolsets
            .as_ref()
            .is_some_and(|selected| !selected.contains(spec.toolset.name()))
        {
            Some(Hidden::ToolsetNotSelected)
        } else if server.read_only && !spec.annotations.read_only {
            Some(Hidden::ReadOnlyMode)
        } else {
            None
        }
    }

    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.index.get(name).map(|&i| self.routes[i].spec())
    }

    /// Run one call through every step of the adapter. `approver` asks a person when the call needs
    /// approval (MCP elicitation when serving, the terminal for `skippy call`).
    pub async fn call(
        &self,
        name: &str,
        arguments: JsonObject,
        cancel: CancellationToken,
        progress: Option<Arc<dyn ProgressSink>>,
        approver: &dyn Approver,
    ) -> CallOutcome {
        let started = Instant::now();
        let started_at = SystemTime::now();
        let audit_arguments = self
            .config
            .secrets
            .redact_arguments(&Value::Object(arguments.clone()));
        let (tool_name, (result, approval)) = match self.index.get(name) {
            None => (
                "(unknown)",
                (
                    Err(ToolError::NotFound(format!(
                        "there is no tool named `{name}`; tools/list shows the available tools"
                    ))),
                    None,
                ),
            ),
            Some(&i) => {
                let route = &self.routes[i];
                let spec = route.spec();
                let call = Call {
                    arguments,
                    shown_arguments: &audit_arguments,
                    cancel,
                    progress,
                    approver,
                };
                (spec.name, self.run_route(route.as_ref(), call).await)
            }
        };
        let outcome = self.finish(result);
        let elapsed = started.elapsed();
        self.stats
            .record(tool_name, elapsed, outcome.result.as_ref().err());
        self.audit.record(AuditRecord {
            time: skippy_core::time::rfc3339_millis(started_at),
            tool: if tool_name == "(unknown)" {
                name.to_string()
            } else {
                tool_name.to_string()
            },
            arguments: audit_arguments,
            duration_ms: (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0,
            outcome: if outcome.result.is_ok() {
                "ok"
            } else {
                "error"
            },
            code: outcome.result.as_ref().err().map(ToolError::code),
            bytes: outcome.bytes,
            dropped_before: 0,
            approval,
        });
        outcome
    }

    /// The call's result, and the approval decision when the call needed one.
    async fn run_route(
        &self,
        route: &dyn Route,
        call: Call<'_>,
    ) -> (Result<Value, ToolError>, Option<ApprovalDecision>) {
        if let Err(error) = self.check_offered(route.spec()) {
            return (Err(error), None);
        }
        let approval = match self.approve(route, &call).await {
            Ok(approval) => approval,
            Err((error, approval)) => return (Err(error), approval),
        };
        let Call {
            arguments,
            cancel,
            progress,
            ..
        } = call;
        (
            self.run_timed(route, arguments, cancel, progress).await,
            approval,
        )
    }

    /// Refuse a tool the configuration hides.
    fn check_offered(&self, spec: &ToolSpec) -> Result<(), ToolError> {
        match self.hidden(spec) {
            Some(Hidden::Disabled) => Err(ToolError::denied(format!(
                "`{}` is disabled by the operator (server.disabled_tools)",
                spec.name
            ))),
            Some(Hidden::ToolsetDisabled) => Err(ToolError::denied(format!(
                "the `{}` toolset is disabled by the operator (server.disabled_toolsets)",
                spec.toolset.name()
            ))),
            Some(Hidden::ToolsetNotSelected) => Err(ToolError::denied(format!(
                "the `{}` toolset is not among the toolsets this server was started with (server.toolsets, --toolsets, SKIPPY_TOOLSETS)",
                spec.toolset.name()
            ))),
            Some(Hidden::ReadOnlyMode) => Err(ToolError::denied(format!(
                "`{}` can change things and Skippy is in read-only mode (server.read_only)",
                spec.name
            ))),
            None => Ok(()),
        }
    }

    /// Ask for approval when the configuration requires it. `Ok(None)`: no approval needed;
    /// `Ok(Some(Approved))`: go ahead; `Err`: the call is refused (with the decision, when someone
    /// was asked or nobody could be).
    async fn approve(
        &self,
        route: &dyn Route,
        call: &Call<'_>,
    ) -> Result<Option<ApprovalDecision>, (ToolError, Option<ApprovalDecision>)> {
        let spec = route.spec();
        let server = &self.config.server;
        let override_ = server.approval_overrides.get(spec.name).copied();
        if !needs_approval(server.approvals, override_, spec.annotations) {
            return Ok(None);
        }
        let reason = match override_ {
            Some(ApprovalOverride::Always) => {
                format!("server.approval_overrides.{} = \"always\"", spec.name)
            }
            _ => format!("server.approvals = \"{}\"", server.approvals.name()),
        };
        let unsupported = |why: String| {
            let error = ToolError::denied(format!(
                "`{}` needs a person's approval ({reason}) and {why}; nothing was done. The operator can \
                 exempt this tool with server.approval_overrides.{} = \"never\" or change server.approvals",
                spec.name, spec.name
            ));
            (error, Some(ApprovalDecision::Unsupported))
        };
        // Nobody to ask: refuse before any plan is made (a dry run may connect to a host).
        if let Some(why) = call.approver.unavailable() {
            return Err(unsupported(why));
        }
        let plan = match self
            .plan(route, call)
            .await
            .map_err(|error| (error, None))?
        {
            Plan::NoChange => return Ok(None),
            Plan::Arguments => render_arguments(call.shown_arguments),
            Plan::Text(text) => text,
        };
        let request = ApprovalRequest {
            tool: spec.name,
            title: spec.title,
            plan: cap_plan(self.config.secrets.mask(&plan).into_owned()),
            reason: reason.clone(),
            wait: APPROVAL_WAIT,
        };
        // The approver bounds its own wait; this bound only guards against one that does not.
        let answer = tokio::select! {
            answer = call.approver.ask(&request) => answer,
            () = call.cancel.cancelled() => {
                return Err((ToolError::Cancelled, Some(ApprovalDecision::Cancelled)));
            }
            () = tokio::time::sleep(APPROVAL_WAIT + APPROVAL_GRACE) => Answer::Cancelled {
                reason: format!("no answer within {} s", APPROVAL_WAIT.as_secs()),
            },
        };
        let decision = answer.decision();
        let error = match answer {
            Answer::Approved => return Ok(Some(decision)),
            Answer::Declined => ToolError::denied(format!(
                "`{}` was declined by the user; nothing was done. Do not retry it as is: ask the user what \
                 they want instead",
                spec.name
            )),
            Answer::Cancelled { reason } => ToolError::denied(format!(
                "the approval of `{}` was cancelled ({reason}); nothing was done. Retry only if the user \
                 asks for it",
                spec.name
            )),
            Answer::Unsupported { reason } => return Err(unsupported(reason)),
        };
        Err((error, Some(decision)))
    }

    /// The tool's plan for the call, under the tool's own time limit (the run gets a fresh one).
    async fn plan(&self, route: &dyn Route, call: &Call<'_>) -> Result<Plan, ToolError> {
        let spec = route.spec();
        let timeout = self.config.timeout_for(spec.name, spec.timeout);
        let token = call.cancel.child_token();
        let ctx = ToolCtx::new(self.config.clone(), token.clone(), Instant::now() + timeout);
        let plan = AssertUnwindSafe(route.plan(ctx, call.arguments.clone())).catch_unwind();
        let result = tokio::select! {
            outcome = plan => match outcome {
                Ok(result) => result,
                Err(panic) => Err(self.panicked(spec, &panic)),
            },
            () = call.cancel.cancelled() => Err(ToolError::Cancelled),
            () = tokio::time::sleep(timeout) => Err(ToolError::Timeout(format!(
                "preparing the approval prompt of `{}` took more than {} ms; nothing was done. Narrow the request",
                spec.name,
                timeout.as_millis()
            ))),
        };
        token.cancel();
        result
    }

    fn panicked(&self, spec: &ToolSpec, panic: &Box<dyn Any + Send>) -> ToolError {
        self.stats.record_panic(spec.name);
        let message = panic_message(panic);
        tracing::error!(
            tool = spec.name,
            panic = %skippy_core::limits::truncate_utf8(&message, 1024),
            "a tool panicked"
        );
        ToolError::Internal(format!(
            "`{}` failed unexpectedly (an internal error, logged on the server); the request was not completed. Try a simpler or different request",
            spec.name
        ))
    }

    /// Run the tool under its time limit, which starts now (after any approval).
    async fn run_timed(
        &self,
        route: &dyn Route,
        arguments: JsonObject,
        cancel: CancellationToken,
        progress: Option<Arc<dyn ProgressSink>>,
    ) -> Result<Value, ToolError> {
        let spec = route.spec();
        let timeout = self.config.timeout_for(spec.name, spec.timeout);
        // The tool's own token: fired by client cancellation and by the deadline, so blocking work and
        // child processes stop in both cases.
        let token = cancel.child_token();
        let mut ctx = ToolCtx::new(self.config.clone(), token.clone(), Instant::now() + timeout);
        if let Some(sink) = progress {
            ctx = ctx.with_progress(sink);
        }
        // A panic anywhere in the tool (its async part, or blocking work re-raised by
        // `ToolCtx::blocking`) becomes an `internal` error for this request instead of killing the
        // request's task, which would leave the client waiting for an answer that never comes.
        let call = AssertUnwindSafe(route.call(ctx, arguments)).catch_unwind();
        let result = tokio::select! {
            outcome = call => match outcome {
                Ok(result) => result,
                Err(panic) => Err(self.panicked(spec, &panic)),
            },
            () = cancel.cancelled() => Err(ToolError::Cancelled),
            () = tokio::time::sleep(timeout) => Err(ToolError::Timeout(format!(
                "`{}` did not finish within {} ms and was stopped; narrow the request, or ask the operator to raise server.tool_timeouts_ms.{}",
                spec.name,
                timeout.as_millis(),
                spec.name
            ))),
        };
        token.cancel();
        result
    }

    /// Mask secrets and enforce the output ceiling.
    fn finish(&self, result: Result<Value, ToolError>) -> CallOutcome {
        match result {
            Ok(mut value) => {
                drop_nulls(&mut value);
                self.config.secrets.mask_json(&mut value);
                let bytes = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
                let ceiling = self.config.server.max_output_bytes;
                if bytes > ceiling {
                    let error = ToolError::OutputTooLarge(format!(
                        "the result is {bytes} bytes, over the {ceiling}-byte ceiling (server.max_output_bytes); ask for less (a smaller limit, a narrower path or pattern) and page with next_offset"
                    ));
                    return self.error_outcome(error);
                }
                CallOutcome {
                    result: Ok(value),
                    bytes,
                }
            }
            Err(error) => {
                let masked = match error {
                    ToolError::Cancelled => ToolError::Cancelled,
                    other => mask_error(&self.config, other),
                };
                self.error_outcome(masked)
            }
        }
    }

    fn error_outcome(&self, error: ToolError) -> CallOutcome {
        let bytes = serde_json::to_vec(&CallOutcome::error_json(&error))
            .map(|v| v.len())
            .unwrap_or(0);
        CallOutcome {
            result: Err(error),
            bytes,
        }
    }
}

/// One call's inputs on their way through [`Engine::run_route`].
struct Call<'a> {
    arguments: JsonObject,
    /// The arguments with secrets redacted, as the audit line and a default plan show them.
    shown_arguments: &'a Value,
    cancel: CancellationToken,
    progress: Option<Arc<dyn ProgressSink>>,
    approver: &'a dyn Approver,
}

/// Extra time the adapter gives an approver past [`APPROVAL_WAIT`] before it stops waiting itself.
const APPROVAL_GRACE: Duration = Duration::from_secs(5);

/// Longest string value shown in a default plan; the rest is summarized by its size.
const MAX_SHOWN_STRING: usize = 1024;

/// The default plan: the call's arguments (already redacted), one per line, long strings cut.
fn render_arguments(arguments: &Value) -> String {
    let Value::Object(map) = arguments else {
        return arguments.to_string();
    };
    if map.is_empty() {
        return "(no arguments)".to_string();
    }
    let mut text = String::from("Arguments:");
    for (key, value) in map {
        let shown = match value {
            Value::String(string) if string.len() > MAX_SHOWN_STRING => format!(
                "{:?}… ({} bytes in all)",
                skippy_core::limits::truncate_utf8(string, MAX_SHOWN_STRING),
                string.len()
            ),
            other => other.to_string(),
        };
        text.push_str(&format!("\n  {key}: {shown}"));
    }
    text
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// Results leave absent values out instead of writing `null` ("no `next_offset`" means "no more"),
/// so output schemas can use single types, which every client dialect understands.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, item| !item.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Secrets must not leak through error messages either.
fn mask_error(config: &Config, error: ToolError) -> ToolError {
    let text = error.to_string();
    let masked = config.secrets.mask(&text);
    if masked == text {
        return error;
    }
    let masked = masked.into_owned();
    match error {
        ToolError::InvalidArgument(_) => ToolError::InvalidArgument(masked),
        ToolError::NotFound(_) => ToolError::NotFound(masked),
        ToolError::AlreadyExists(_) => ToolError::AlreadyExists(masked),
        ToolError::PolicyDenied(_) => ToolError::PolicyDenied(masked),
        ToolError::PermissionDenied(_) => ToolError::PermissionDenied(masked),
        ToolError::Unavailable(_) => ToolError::Unavailable(masked),
        ToolError::Timeout(_) => ToolError::Timeout(masked),
        ToolError::Cancelled => ToolError::Cancelled,
        ToolError::CommandFailed(_) => ToolError::CommandFailed(masked),
        ToolError::OutputTooLarge(_) => ToolError::OutputTooLarge(masked),
        ToolError::Io(_) => ToolError::Io(masked),
        ToolError::Internal(_) => ToolError::Internal(masked),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use skippy_core::{ToolResult, check_cancelled};

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Params {
        /// Panic on the blocking pool instead of in the async part.
        blocking: bool,
    }

    #[derive(Serialize, JsonSchema)]
    struct Output {}

    /// A tool with a bug: it panics.
    struct Panicky;

    impl Tool for Panicky {
        type Params = Params;
        type Output = Output;
        const NAME: &'static str = "panicky";
        const TITLE: &'static str = "Panics";
        const DESCRIPTION: &'static str = "Panics.";
        const TOOLSET: Toolset = Toolset::Server;
        const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

        async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
            if params.blocking {
                ctx.blocking(|token| -> ToolResult<Output> {
                    check_cancelled(&token)?;
                    panic!("a bug on the blocking pool")
                })
                .await
            } else {
                panic!("a bug in the async part")
            }
        }
    }

    fn nobody() -> skippy_core::approval::NoApprover {
        skippy_core::approval::NoApprover {
            reason: "nobody can be asked in this test".into(),
        }
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct WriteParams {
        /// Describe the call as a dry run.
        #[serde(default)]
        dry_run: bool,
        /// Make the plan fail.
        #[serde(default)]
        fail_plan: bool,
    }

    /// What the fake destructive tool saw.
    #[derive(Default)]
    struct Seen {
        plans: std::sync::atomic::AtomicUsize,
        runs: std::sync::atomic::AtomicUsize,
        deadline: std::sync::Mutex<Option<Instant>>,
    }

    /// A destructive tool that records its plans and runs instead of changing anything.
    struct Destroyer {
        seen: Arc<Seen>,
    }

    impl Tool for Destroyer {
        type Params = WriteParams;
        type Output = Output;
        const NAME: &'static str = "destroyer";
        const TITLE: &'static str = "Destroys";
        const DESCRIPTION: &'static str = "Destroys.";
        const TOOLSET: Toolset = Toolset::Files;
        const ANNOTATIONS: Annotations = Annotations {
            read_only: false,
            destructive: true,
            idempotent: false,
            open_world: false,
        };

        async fn run(&self, ctx: ToolCtx, _params: WriteParams) -> ToolResult<Output> {
            self.seen
                .runs
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            *self.seen.deadline.lock().unwrap() = Some(ctx.deadline);
            Ok(Output {})
        }

        async fn plan(&self, _ctx: &ToolCtx, params: &WriteParams) -> ToolResult<Plan> {
            self.seen
                .plans
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if params.fail_plan {
                return Err(ToolError::NotFound("no such thing".into()));
            }
            Ok(if params.dry_run {
                Plan::NoChange
            } else {
                Plan::Text("destroy everything with hunter2-secret".into())
            })
        }
    }

    /// Answers every question the same way and keeps the questions.
    struct Scripted {
        answer: Answer,
        asked: std::sync::Mutex<Vec<ApprovalRequest>>,
        answered_at: std::sync::Mutex<Option<Instant>>,
    }

    impl Scripted {
        fn new(answer: Answer) -> Self {
            Self {
                answer,
                asked: Default::default(),
                answered_at: Default::default(),
            }
        }
    }

    impl Approver for Scripted {
        fn ask<'a>(
            &'a self,
            request: &'a ApprovalRequest,
        ) -> skippy_core::approval::AnswerFuture<'a> {
            Box::pin(async move {
                self.asked.lock().unwrap().push(request.clone());
                // A person takes a while: the tool's time limit must not have started meanwhile.
                tokio::time::sleep(Duration::from_millis(20)).await;
                *self.answered_at.lock().unwrap() = Some(Instant::now());
                self.answer.clone()
            })
        }
    }

    fn engine_with(
        mode: skippy_core::approval::ApprovalMode,
        overrides: &[(&str, ApprovalOverride)],
    ) -> (Engine, Arc<Seen>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.server.approvals = mode;
        config.server.approval_overrides = overrides
            .iter()
            .map(|(name, value)| (name.to_string(), *value))
            .collect();
        config.secrets.add("hunter2-secret".to_string());
        let seen = Arc::new(Seen::default());
        let engine = Engine::new(
            Arc::new(config),
            vec![route(Destroyer { seen: seen.clone() })],
            AuditLog::disabled(),
            Arc::new(Stats::default()),
        );
        (engine, seen, dir)
    }

    async fn call(engine: &Engine, arguments: Value, approver: &dyn Approver) -> CallOutcome {
        let Value::Object(arguments) = arguments else {
            unreachable!()
        };
        engine
            .call(
                "destroyer",
                arguments,
                CancellationToken::new(),
                None,
                approver,
            )
            .await
    }

    fn counts(seen: &Seen) -> (usize, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        (seen.plans.load(SeqCst), seen.runs.load(SeqCst))
    }

    #[tokio::test]
    async fn approval_accepted_runs_the_call_and_its_time_limit_starts_after_the_answer() {
        let (engine, seen, _dir) =
            engine_with(skippy_core::approval::ApprovalMode::Destructive, &[]);
        let approver = Scripted::new(Answer::Approved);
        let outcome = call(&engine, serde_json::json!({}), &approver).await;
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        assert_eq!(counts(&seen), (1, 1));
        let asked = approver.asked.lock().unwrap();
        let message = asked[0].message();
        assert!(message.contains("destroy everything"), "{message}");
        assert!(
            !message.contains("hunter2-secret"),
            "secrets masked: {message}"
        );
        assert!(
            message.contains("server.approvals = \"destructive\""),
            "{message}"
        );
        let answered = approver.answered_at.lock().unwrap().unwrap();
        let deadline = seen.deadline.lock().unwrap().unwrap();
        let timeout = engine.config().timeout_for("destroyer", None);
        assert!(
            deadline >= answered + timeout,
            "the tool's deadline was set before the person answered"
        );
    }

    #[tokio::test]
    async fn approval_declined_or_cancelled_runs_nothing_and_is_policy_denied() {
        for (answer, words) in [
            (Answer::Declined, "declined by the user; nothing was done"),
            (
                Answer::Cancelled {
                    reason: "dismissed".into(),
                },
                "cancelled (dismissed); nothing was done",
            ),
        ] {
            let (engine, seen, _dir) =
                engine_with(skippy_core::approval::ApprovalMode::Destructive, &[]);
            let outcome = call(&engine, serde_json::json!({}), &Scripted::new(answer)).await;
            let error = outcome.result.unwrap_err();
            assert_eq!(error.code(), "policy_denied");
            assert!(error.to_string().contains(words), "{error}");
            assert_eq!(counts(&seen), (1, 0), "planned once, never run");
        }
    }

    #[tokio::test]
    async fn approval_without_anyone_to_ask_is_refused_naming_the_keys_before_any_plan() {
        let (engine, seen, _dir) =
            engine_with(skippy_core::approval::ApprovalMode::Destructive, &[]);
        let error = call(&engine, serde_json::json!({}), &nobody())
            .await
            .result
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let message = error.to_string();
        assert!(
            message.contains("nobody can be asked in this test"),
            "{message}"
        );
        assert!(message.contains("server.approvals"), "{message}");
        assert!(
            message.contains("server.approval_overrides.destroyer"),
            "{message}"
        );
        assert_eq!(counts(&seen), (0, 0));
    }

    #[tokio::test]
    async fn approval_is_skipped_when_off_for_never_overrides_and_for_dry_runs() {
        use skippy_core::approval::ApprovalMode::*;
        let (engine, seen, _dir) = engine_with(Off, &[]);
        assert!(
            call(&engine, serde_json::json!({}), &nobody())
                .await
                .result
                .is_ok()
        );
        assert_eq!(counts(&seen), (0, 1));

        let (engine, seen, _dir) =
            engine_with(AllMutating, &[("destroyer", ApprovalOverride::Never)]);
        assert!(
            call(&engine, serde_json::json!({}), &nobody())
                .await
                .result
                .is_ok()
        );
        assert_eq!(counts(&seen), (0, 1));

        let (engine, seen, _dir) = engine_with(Destructive, &[]);
        let approver = Scripted::new(Answer::Declined);
        let outcome = call(&engine, serde_json::json!({"dry_run": true}), &approver).await;
        assert!(
            outcome.result.is_ok(),
            "a dry run changes nothing: no question"
        );
        assert!(approver.asked.lock().unwrap().is_empty());
        assert_eq!(counts(&seen), (1, 1));
    }

    #[tokio::test]
    async fn approval_override_always_asks_even_when_approvals_are_off() {
        let (engine, seen, _dir) = engine_with(
            skippy_core::approval::ApprovalMode::Off,
            &[("destroyer", ApprovalOverride::Always)],
        );
        let approver = Scripted::new(Answer::Declined);
        let error = call(&engine, serde_json::json!({}), &approver)
            .await
            .result
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let asked = approver.asked.lock().unwrap();
        assert!(
            asked[0]
                .message()
                .contains("server.approval_overrides.destroyer = \"always\""),
            "{}",
            asked[0].message()
        );
        assert_eq!(counts(&seen), (1, 0));
    }

    #[tokio::test]
    async fn approval_is_not_asked_for_a_call_whose_plan_fails() {
        let (engine, seen, _dir) =
            engine_with(skippy_core::approval::ApprovalMode::Destructive, &[]);
        let approver = Scripted::new(Answer::Approved);
        let error = call(&engine, serde_json::json!({"fail_plan": true}), &approver)
            .await
            .result
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        assert!(approver.asked.lock().unwrap().is_empty());
        assert_eq!(counts(&seen), (1, 0));
    }

    #[test]
    fn approval_default_plan_shows_arguments_with_long_strings_cut() {
        let long = "x".repeat(MAX_SHOWN_STRING * 3);
        let text = render_arguments(&serde_json::json!({"path": "a.txt", "content": long}));
        assert!(text.contains("path: \"a.txt\""), "{text}");
        assert!(
            text.contains(&format!("({} bytes in all)", MAX_SHOWN_STRING * 3)),
            "{text}"
        );
        assert!(text.len() < MAX_SHOWN_STRING + 200, "{}", text.len());
        assert_eq!(render_arguments(&serde_json::json!({})), "(no arguments)");
    }

    #[tokio::test]
    async fn finding_04_a_panicking_tool_is_an_internal_error_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::defaults_for(dir.path()).unwrap();
        let stats = Arc::new(Stats::default());
        let engine = Engine::new(
            Arc::new(config),
            vec![route(Panicky)],
            AuditLog::disabled(),
            stats.clone(),
        );
        for blocking in [false, true] {
            let arguments = serde_json::json!({"blocking": blocking});
            let Value::Object(arguments) = arguments else {
                unreachable!()
            };
            let outcome = engine
                .call(
                    "panicky",
                    arguments,
                    CancellationToken::new(),
                    None,
                    &nobody(),
                )
                .await;
            let error = outcome.result.expect_err("a panic is an error");
            assert_eq!(error.code(), "internal", "{error}");
            assert!(error.to_string().contains("panicky"), "{error}");
        }
        let counters = stats.snapshot();
        assert_eq!(
            (counters[0].calls, counters[0].panics, counters[0].errors),
            (2, 2, 2)
        );
    }
}
