//! skippy-files: the file tools (read, write, edit, list, search, inspect, find duplicates).
//!
//! Every path a model passes is resolved through the core path policy (`ToolCtx::read_path` /
//! `write_path`); then every open, create, rename and listing goes through `skippy_core::safe_fs`,
//! which opens beneath a root without following links, refuses FIFOs and devices without blocking,
//! verifies each descriptor's real path, and creates and renames only inside a verified directory,
//! so a link or directory swapped in after the check cannot lead outside the roots. Walks never
//! follow symbolic links, and blocking work runs on the blocking pool with cancellation checks.

mod common;
pub mod edit_file;
pub mod find_duplicates;
pub mod get_file_info;
pub mod list_directory;
pub mod read_file;
pub mod search_files;
pub mod write_file;

pub use common::Kind;
pub use edit_file::EditFile;
pub use find_duplicates::FindDuplicates;
pub use get_file_info::GetFileInfo;
pub use list_directory::ListDirectory;
pub use read_file::ReadFile;
pub use search_files::SearchFiles;
pub use write_file::WriteFile;

use skippy_core::Tool;

/// The names of this crate's tools, in registry order.
pub const TOOL_NAMES: &[&str] = &[
    ReadFile::NAME,
    WriteFile::NAME,
    EditFile::NAME,
    ListDirectory::NAME,
    SearchFiles::NAME,
    GetFileInfo::NAME,
    FindDuplicates::NAME,
];
