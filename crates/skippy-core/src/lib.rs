//! Skippy's core: the `Tool` trait and call context, errors with stable codes, configuration, the
//! path policy, output caps, the audit log, secret masking and the local process runner.
//!
//! Tool crates depend on this crate and never on the MCP SDK.

pub mod approval;
pub mod audit;
pub mod clamp;
pub mod commands;
pub mod config;
pub mod env;
pub mod error;
pub mod hosts;
pub mod limits;
pub mod paths;
pub mod patterns;
pub mod process;
pub mod redact;
pub mod safe_fs;
pub mod sensitive;
pub mod time;
pub mod tool;

pub use approval::Plan;
pub use config::Config;
pub use error::{ToolError, ToolResult};
pub use paths::{Access, AllowedPath, PathPolicy};
pub use tool::{Annotations, ProgressSink, Tool, ToolCtx, Toolset, check_cancelled};
