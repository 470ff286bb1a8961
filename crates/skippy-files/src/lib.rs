//! skippy-files: the file tools (read, write, edit, list, search, inspect, find duplicates).
//!
//! Every path a model passes is resolved through the core path policy (`ToolCtx::read_path` /
//! `write_path`); walks never follow symbolic links, and blocking work runs on the blocking pool
//! with cancellation checks.

mod common;
pub mod read_file;

pub use read_file::ReadFile;

/// The names of this crate's tools, in registry order.
pub const TOOL_NAMES: &[&str] = &[ReadFile::NAME];

use skippy_core::Tool;
