//! The one adapter between the protocol and the tools.
//!
//! Every call, whether it arrives over MCP or from `skippy call`, goes through [`Engine::call`],
//! which applies, in order: lookup and policy (disabled tools, read-only mode), argument parsing
//! (unknown fields refused), the time limit (per tool, configurable), client cancellation, progress,
//! secret masking and the output ceiling on the result, the audit line and the per-tool counters.
//! Tools never see JSON or MCP types, and no tool can skip a step.

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

/// A tool with its types erased, so the registry can hold them in one list.
pub trait Route: Send + Sync {
    fn spec(&self) -> &ToolSpec;
    fn call(&self, ctx: ToolCtx, arguments: JsonObject) -> CallFuture<'_>;
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
            let params: T::Params =
                serde_json::from_value(Value::Object(arguments)).map_err(|error| {
                    ToolError::invalid(format!(
                        "invalid arguments for {}: {error}; see the tool's input schema",
                        T::NAME
                    ))
                })?;
            let output = self.tool.run(ctx, params).await?;
            serde_json::to_value(output).map_err(ToolError::internal)
        })
    }
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
        } else if server.read_only && !spec.annotations.read_only {
            Some(Hidden::ReadOnlyMode)
        } else {
            None
        }
    }

    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.index.get(name).map(|&i| self.routes[i].spec())
    }

    /// Run one call through every step of the adapter.
    pub async fn call(
        &self,
        name: &str,
        arguments: JsonObject,
        cancel: CancellationToken,
        progress: Option<Arc<dyn ProgressSink>>,
    ) -> CallOutcome {
        let started = Instant::now();
        let started_at = SystemTime::now();
        let audit_arguments = self
            .config
            .secrets
            .redact_arguments(&Value::Object(arguments.clone()));
        let (tool_name, result) = match self.index.get(name) {
            None => (
                "(unknown)",
                Err(ToolError::NotFound(format!(
                    "there is no tool named `{name}`; tools/list shows the available tools"
                ))),
            ),
            Some(&i) => {
                let route = &self.routes[i];
                let spec = route.spec();
                (
                    spec.name,
                    self.run_route(route.as_ref(), arguments, cancel, progress)
                        .await,
                )
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
        });
        outcome
    }

    async fn run_route(
        &self,
        route: &dyn Route,
        arguments: JsonObject,
        cancel: CancellationToken,
        progress: Option<Arc<dyn ProgressSink>>,
    ) -> Result<Value, ToolError> {
        let spec = route.spec();
        match self.hidden(spec) {
            Some(Hidden::Disabled) => {
                return Err(ToolError::denied(format!(
                    "`{}` is disabled by the operator (server.disabled_tools)",
                    spec.name
                )));
            }
            Some(Hidden::ToolsetDisabled) => {
                return Err(ToolError::denied(format!(
                    "the `{}` toolset is disabled by the operator (server.disabled_toolsets)",
                    spec.toolset.name()
                )));
            }
            Some(Hidden::ReadOnlyMode) => {
                return Err(ToolError::denied(format!(
                    "`{}` can change things and Skippy is in read-only mode (server.read_only)",
                    spec.name
                )));
            }
            None => {}
        }
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
                Err(panic) => {
                    self.stats.record_panic(spec.name);
                    let message = panic_message(&panic);
                    tracing::error!(
                        tool = spec.name,
                        panic = %skippy_core::limits::truncate_utf8(&message, 1024),
                        "a tool panicked"
                    );
                    Err(ToolError::Internal(format!(
                        "`{}` failed unexpectedly (an internal error, logged on the server); the request was not completed. Try a simpler or different request",
                        spec.name
                    )))
                }
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
                .call("panicky", arguments, CancellationToken::new(), None)
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
