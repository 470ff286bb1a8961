//! Remote hosts: an SSH connection pool, remote command execution, and file transfer, as a plain
//! async library that the remote tools build on.
//!
//! - [`pool`]: one authenticated connection per host, shared by all calls ([`HostHandle`]).
//! - [`known_hosts`]: host key verification (`strict` / `accept-new`).
//! - [`quote`]: POSIX shell quoting of an argv for the remote login shell.
//! - [`exec`](mod@exec): run a command remotely with caps, a time limit and remote process-group kill.
//! - [`sftp`]: upload and download with size caps, atomic replace and SHA-256 checks.
//! - [`executor`]: [`Executor`] runs a command on `local` or a remote host behind one interface;
//!   [`Hosts`] hands them out by name.
//! - [`tools`]: the MCP tools built on them (toolset `remote`), listed in [`TOOL_NAMES`].
//!
//! SSH is spoken by `russh` in-process: no `ssh` or `sshpass` binary is ever started.

use skippy_core::Tool;

pub mod exec;
pub mod executor;
pub mod known_hosts;
pub mod pool;
pub mod quote;
pub mod sftp;
pub mod tools;

/// A real OpenSSH `sshd` on 127.0.0.1 for tests (also for the tests of crates built on this one,
/// with the `testing` feature). Test support: it panics with a clear message when setup fails.
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod testing;

#[cfg(test)]
mod sshd_tests;

pub use exec::{RemoteCommand, RunOptions, exec};
pub use executor::{Executor, Hosts};
pub use pool::{HostHandle, ServerInfo};
pub use sftp::{
    RemoteKind, RemotePathInfo, Transfer, check_remote_path, download, inspect_remote_path, upload,
};
pub use tools::{DownloadFile, ListHosts, RemoteStatus, RunRemoteCommand, UploadFile};

/// The wire names of this crate's tools, in registry order.
pub const TOOL_NAMES: &[&str] = &[
    ListHosts::NAME,
    RunRemoteCommand::NAME,
    RemoteStatus::NAME,
    UploadFile::NAME,
    DownloadFile::NAME,
];
