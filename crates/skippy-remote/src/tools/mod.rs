//! The remote tools (toolset `remote`): one tool per file. Each tool struct holds the shared
//! [`Hosts`](crate::Hosts) that the binary's registry builds once.

mod common;

pub mod download_file;
pub mod list_hosts;
pub mod remote_status;
pub mod run_remote_command;
pub mod upload_file;

#[cfg(test)]
mod sshd_tool_tests;

pub use download_file::DownloadFile;
pub use list_hosts::ListHosts;
pub use remote_status::RemoteStatus;
pub use run_remote_command::RunRemoteCommand;
pub use upload_file::UploadFile;
