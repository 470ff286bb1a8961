//! Skippy's system tools: read-only views of this machine or of a configured remote host
//! (overview, CPU, memory, disks, processes, systemd units). One tool per file; every tool is in
//! [`Toolset::System`], read-only, and takes an optional `host`. Each tool struct holds the shared
//! [`skippy_remote::Hosts`]; remote hosts are inspected with fixed commands (see `remote.rs`).
//!
//! [`Toolset::System`]: skippy_core::Toolset::System

use skippy_core::Tool;

mod common;
mod remote;

pub mod check_service_status;
pub mod get_cpu_info;
pub mod get_disk_usage;
pub mod get_memory_info;
pub mod get_system_info;
pub mod list_processes;

pub use check_service_status::CheckServiceStatus;
pub use get_cpu_info::GetCpuInfo;
pub use get_disk_usage::GetDiskUsage;
pub use get_memory_info::GetMemoryInfo;
pub use get_system_info::GetSystemInfo;
pub use list_processes::ListProcesses;

/// The wire names of this crate's tools, in registry order.
pub const TOOL_NAMES: &[&str] = &[
    GetSystemInfo::NAME,
    GetCpuInfo::NAME,
    GetMemoryInfo::NAME,
    GetDiskUsage::NAME,
    ListProcesses::NAME,
    CheckServiceStatus::NAME,
];
