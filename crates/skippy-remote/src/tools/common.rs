//! Pieces shared by the remote tools: the host argument, and the checks and result of the two
//! file transfer tools.

use std::path::Path;
use std::time::Instant;

use schemars::JsonSchema;
use serde::Serialize;
use skippy_core::hosts::LOCAL;
use skippy_core::{ToolCtx, ToolError, ToolResult};

use crate::sftp::{RemoteKind, RemotePathInfo, Transfer};
use crate::{HostHandle, Hosts};

/// Largest file `upload_file` and `download_file` move, in bytes (1 GiB). The configuration has
/// no transfer cap yet; when it gets one, it replaces this constant.
pub const MAX_TRANSFER_BYTES: u64 = 1 << 30;

/// The host a call names, or the configured default host.
pub fn host_name<'a>(ctx: &'a ToolCtx, host: Option<&'a str>) -> &'a str {
    host.unwrap_or(&ctx.config.server.default_host)
}

/// The remote host of a transfer; `local` is refused (the local file tools cover it).
pub fn transfer_host(hosts: &Hosts, name: &str) -> ToolResult<HostHandle> {
    if name == LOCAL {
        return Err(ToolError::invalid(
            "host `local` is this machine: use read_file/write_file for local files",
        ));
    }
    hosts.remote(name)
}

/// What `upload_file` and `download_file` return.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransferOutput {
    pub host: String,
    /// Bytes moved (or that would be, in a dry run)
    pub bytes: u64,
    /// Absent in a dry run
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub duration_ms: u64,
    pub remote_path: String,
    pub local_path: String,
    /// An existing target was (would be) replaced
    pub replaced: bool,
    pub dry_run: bool,
}

impl TransferOutput {
    pub fn done(host: &str, transfer: Transfer) -> Self {
        Self {
            host: host.to_string(),
            bytes: transfer.bytes,
            sha256: Some(transfer.sha256),
            duration_ms: transfer.duration_ms.round() as u64,
            remote_path: transfer.remote_path,
            local_path: transfer.local_path.display().to_string(),
            replaced: transfer.replaced,
            dry_run: false,
        }
    }

    pub fn planned(
        host: &str,
        bytes: u64,
        remote: &RemotePathInfo,
        local: &Path,
        replaced: bool,
        started: Instant,
    ) -> Self {
        Self {
            host: host.to_string(),
            bytes,
            sha256: None,
            duration_ms: started.elapsed().as_millis() as u64,
            remote_path: remote.path.clone(),
            local_path: local.display().to_string(),
            replaced,
            dry_run: true,
        }
    }
}

/// Refuse a file larger than [`MAX_TRANSFER_BYTES`].
pub fn check_transfer_size(size: u64, what: &str) -> ToolResult<()> {
    if size > MAX_TRANSFER_BYTES {
        return Err(ToolError::invalid(format!(
            "{what} is {size} bytes, more than the 1 GiB transfer limit; compress or split it first"
        )));
    }
    Ok(())
}

/// The checks on the remote side of an upload: the target's directory exists, the target is not
/// a directory, and an existing file is replaced only with `overwrite`. Returns whether a file
/// would be replaced.
pub fn check_upload_target(
    remote: &RemotePathInfo,
    host: &str,
    overwrite: bool,
) -> ToolResult<bool> {
    match remote.kind {
        Some(RemoteKind::Directory) => Err(ToolError::invalid(format!(
            "remote `{}` is a directory; give the full path of the file to write",
            remote.path
        ))),
        Some(_) if !overwrite => Err(ToolError::AlreadyExists(format!(
            "remote `{}` already exists on host {host}; pass overwrite: true to replace it",
            remote.path
        ))),
        _ if !remote.parent_is_directory => Err(ToolError::NotFound(format!(
            "the directory of remote `{}` does not exist on host {host}; create it first",
            remote.path
        ))),
        existing => Ok(existing.is_some()),
    }
}

/// The checks on the remote side of a download: a regular file within the size limit.
pub fn check_download_source(remote: &RemotePathInfo, host: &str) -> ToolResult<()> {
    match remote.kind {
        None => Err(ToolError::NotFound(format!(
            "remote `{}` does not exist on host {host}",
            remote.path
        ))),
        Some(RemoteKind::File) => {
            check_transfer_size(remote.size, &format!("remote `{}`", remote.path))
        }
        Some(_) => Err(ToolError::invalid(format!(
            "remote `{}` is not a regular file; only files can be downloaded",
            remote.path
        ))),
    }
}

/// The checks on the local side of a download: not a directory, an existing file replaced only
/// with `overwrite`, and the directory exists. Returns whether a file would be replaced.
pub fn check_download_target(local: &Path, overwrite: bool) -> ToolResult<bool> {
    let shown = local.display();
    if local.is_dir() {
        return Err(ToolError::invalid(format!(
            "`{shown}` is a directory; give the full path of the file to write"
        )));
    }
    let exists = local.symlink_metadata().is_ok();
    if exists && !overwrite {
        return Err(ToolError::AlreadyExists(format!(
            "`{shown}` already exists; pass overwrite: true to replace it"
        )));
    }
    if !local.parent().is_some_and(Path::is_dir) {
        return Err(ToolError::NotFound(format!(
            "the directory of `{shown}` does not exist; create it first (write_file with create_dirs)"
        )));
    }
    Ok(exists)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(kind: Option<RemoteKind>, size: u64, parent: bool) -> RemotePathInfo {
        RemotePathInfo {
            path: "/srv/x".into(),
            kind,
            size,
            parent_is_directory: parent,
        }
    }

    #[test]
    fn upload_target_rules() {
        let code = |info: RemotePathInfo, overwrite| {
            check_upload_target(&info, "h", overwrite).map_err(|e| e.code())
        };
        assert_eq!(code(remote(None, 0, true), false), Ok(false));
        assert_eq!(code(remote(None, 0, false), false), Err("not_found"));
        assert_eq!(
            code(remote(Some(RemoteKind::File), 3, true), false),
            Err("already_exists")
        );
        assert_eq!(
            code(remote(Some(RemoteKind::File), 3, true), true),
            Ok(true)
        );
        assert_eq!(
            code(remote(Some(RemoteKind::Directory), 0, true), true),
            Err("invalid_argument")
        );
    }

    #[test]
    fn download_source_rules() {
        let code = |info: RemotePathInfo| check_download_source(&info, "h").map_err(|e| e.code());
        assert_eq!(code(remote(Some(RemoteKind::File), 10, true)), Ok(()));
        assert_eq!(code(remote(None, 0, true)), Err("not_found"));
        assert_eq!(
            code(remote(Some(RemoteKind::Other), 0, true)),
            Err("invalid_argument")
        );
        assert_eq!(
            code(remote(Some(RemoteKind::File), MAX_TRANSFER_BYTES + 1, true)),
            Err("invalid_argument")
        );
        assert_eq!(
            code(remote(Some(RemoteKind::File), MAX_TRANSFER_BYTES, true)),
            Ok(())
        );
    }

    #[test]
    fn download_target_rules() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        assert!(!check_download_target(&file, false).unwrap());
        std::fs::write(&file, "x").unwrap();
        assert_eq!(
            check_download_target(&file, false).unwrap_err().code(),
            "already_exists"
        );
        assert!(check_download_target(&file, true).unwrap());
        assert_eq!(
            check_download_target(dir.path(), true).unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            check_download_target(&dir.path().join("no/f"), false)
                .unwrap_err()
                .code(),
            "not_found"
        );
    }

    #[test]
    fn local_is_not_a_transfer_host() {
        let error = transfer_host(&Hosts::default(), "local").unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("read_file/write_file"),
            "{error}"
        );
    }
}
