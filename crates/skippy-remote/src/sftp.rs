//! File transfer over SFTP: upload and download with size caps, atomic replacement on both sides,
//! and a SHA-256 checked on both ends.
//!
//! Remote paths are confined to the host's `remote_roots`, which must be configured: there is no
//! default (the home would include `~/.ssh`), and without them every transfer is refused with the
//! key to set. `~` in a root or a path is the remote user's home (asked once per connection with
//! SFTP `realpath(".")`). A path is checked twice: lexically (after
//! resolving `.` and `..`, it must lie under a root) and physically (SFTP `realpath` of its deepest
//! existing ancestor, plus the rest, must also lie under a root), so a symlink inside a root that
//! points out of it does not open a way out. The resolved path is the one used: a symlink as the
//! last component is followed (its target, inside the roots, is what gets read or replaced).
//!
//! A path to be written is also checked against Skippy's protected files
//! ([`skippy_core::sensitive`]: `~/.ssh/*`, shell start-up files, autostart entries, user units,
//! cron, `/etc`, ...), both as given (lexically) and as resolved, so neither a symlinked directory
//! that resolves into `~/.ssh` nor a `~/.ssh` that is itself a link elsewhere gets through, and an
//! existing executable file is never replaced. A new remote file is created without execute bits.
//!
//! Writes never leave a half-written file under the final name: an upload goes to
//! `<dir>/.<name>.skippy-tmp-<random>` and is renamed over the target (`posix-rename@openssh.com`
//! when the server has it, which replaces atomically; otherwise remove, then rename), a download to
//! a temporary file in the local target's directory that is renamed into place. Locally, both go
//! through `skippy_core::safe_fs`: the uploaded file is opened without following links and checked
//! on its descriptor, and the download's directory is pinned (opened and verified) before the
//! temporary file is created and renamed in it by name. Before the rename,
//! the SHA-256 of what was sent or received is compared with `sha256sum` (or `shasum -a 256`) run on
//! the remote file; a mismatch fails the transfer with `io` and removes the temporary file. Without
//! either program on the host the transfer fails (`unavailable`) rather than go unchecked.
//!
//! Transfers hold one of the host's `max_sessions` channels at a time: the checksum command runs
//! between SFTP sessions, not beside one, so a host with `max_sessions = 1` works too.

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, Packet, StatusCode};
use sha2::{Digest, Sha256};
use skippy_core::hosts::HostConfig;
use skippy_core::sensitive::{refuse_executable, refuse_sensitive_write_at};
use skippy_core::{Access, AllowedPath, ToolError, ToolResult, safe_fs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::exec::{RemoteCommand, RunOptions, exec, random_hex};
use crate::pool::{HostHandle, PooledChannel};
use crate::quote::quote_arg;

/// Bytes per SFTP read or write request: below every server's limit (OpenSSH allows 255 KiB).
const CHUNK: usize = 32 * 1024;
/// Requests in flight at once, so that a transfer is not one round trip per chunk.
const IN_FLIGHT: usize = 16;
/// File type bits of `st_mode`.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;

/// What a transfer did.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    /// Bytes transferred.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the transferred content, equal on both sides.
    pub sha256: String,
    pub duration_ms: f64,
    /// The remote file, after resolving symlinks.
    pub remote_path: String,
    pub local_path: PathBuf,
    /// True when an existing file was replaced.
    pub replaced: bool,
}

/// Upload the local file `local` to `remote_path` on `host`.
///
/// Errors: `invalid_argument` (not a regular file, larger than `max_bytes`, target is a directory),
/// `already_exists` (`overwrite` false and the target exists), `policy_denied` (outside the remote
/// roots), `not_found` (the remote directory does not exist), `io` (checksum mismatch).
pub async fn upload(
    host: &HostHandle,
    local: &AllowedPath,
    remote_path: &str,
    overwrite: bool,
    max_bytes: u64,
    cancel: &CancellationToken,
) -> ToolResult<Transfer> {
    let started = Instant::now();
    let local_path = local.as_path();
    // Race-safe: opened without following links and non-blocking, then the descriptor is checked
    // to be a regular file at exactly the checked path (a file swapped for a link or a FIFO after
    // the check is refused, and a FIFO cannot block the open).
    let opened = safe_fs::open_read(&safe_fs::exact_policy(local), local)?;
    let mut file = tokio::fs::File::from_std(opened);
    let metadata = file
        .metadata()
        .await
        .map_err(|error| ToolError::io(local_path, &error))?;
    check_size(metadata.len(), max_bytes, &local_path.display().to_string())?;

    require_remote_roots(host.config())?;
    let sftp = Sftp::open(host).await?;
    let target = resolve(host, &sftp, remote_path, Access::Write).await?;
    let existing = sftp.stat_optional(&target).await?;
    if let Some(attrs) = &existing {
        refuse_existing_executable(&target, attrs, host.name())?;
        if file_type(attrs) == Some(S_IFDIR) {
            return Err(ToolError::invalid(format!(
                "remote `{target}` is a directory; give the full path of the file to write"
            )));
        }
        if !overwrite {
            return Err(ToolError::AlreadyExists(format!(
                "remote `{target}` already exists on host {}; pass overwrite: true to replace it",
                host.name()
            )));
        }
    }
    let (directory, name) = split_parent(&target)?;
    match sftp.stat_optional(directory).await? {
        Some(attrs) if file_type(&attrs) == Some(S_IFDIR) => {}
        _ => {
            return Err(ToolError::NotFound(format!(
                "remote directory `{directory}` does not exist on host {}; create it first",
                host.name()
            )));
        }
    }
    let mode = existing
        .as_ref()
        .and_then(|attrs| attrs.permissions)
        // Permission bits only: set-id bits are not carried over to a file written by Skippy.
        .map(|mode| mode & 0o777)
        .unwrap_or(0o644);
    let temp = format!(
        "{}/.{name}.skippy-tmp-{}",
        directory.trim_end_matches('/'),
        random_hex(6)?
    );

    let mut guard = RemoteTempGuard {
        host: host.clone(),
        path: Some(temp.clone()),
    };
    let (bytes, sha256) = sftp
        .write_file(&temp, &mut file, mode, max_bytes, cancel)
        .await?;
    drop(sftp);

    let remote_sha = remote_sha256(host, &temp, cancel).await?;
    if remote_sha != sha256 {
        return Err(ToolError::Io(format!(
            "checksum mismatch after uploading to host {}: sent {sha256}, the remote copy has {remote_sha}; \
             the target was left unchanged, retry the upload",
            host.name()
        )));
    }
    let sftp = Sftp::open(host).await?;
    let replaced = sftp.stat_optional(&target).await?.is_some();
    if replaced && !overwrite {
        return Err(ToolError::AlreadyExists(format!(
            "remote `{target}` was created on host {} during the upload; pass overwrite: true to replace it",
            host.name()
        )));
    }
    sftp.rename_into_place(&temp, &target, overwrite).await?;
    guard.path = None;
    Ok(Transfer {
        bytes,
        sha256,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        remote_path: target,
        local_path: local_path.to_path_buf(),
        replaced,
    })
}

/// Download `remote_path` from `host` to the local file `local`.
///
/// Errors: `not_found`, `invalid_argument` (not a regular file, larger than `max_bytes`, the local
/// target is a directory), `already_exists`, `policy_denied`, `io` (checksum mismatch).
pub async fn download(
    host: &HostHandle,
    remote_path: &str,
    local: &AllowedPath,
    overwrite: bool,
    max_bytes: u64,
    cancel: &CancellationToken,
) -> ToolResult<Transfer> {
    let started = Instant::now();
    let local_path = local.as_path();
    // The local directory is pinned (opened and verified) before anything else: the temporary file
    // is created in it and renamed within it by name, so a directory swapped for a link later
    // cannot send the download outside the roots.
    let local_policy = safe_fs::exact_policy(local);
    let (local_dir, local_name) = safe_fs::open_parent(&local_policy, local)?;
    let existing = local_dir.stat(&local_name)?;
    if existing.is_some_and(|stat| stat.kind == safe_fs::EntryKind::Dir) {
        return Err(ToolError::invalid(format!(
            "`{}` is a directory; give the full path of the file to write",
            local_path.display()
        )));
    }
    if existing.is_some() && !overwrite {
        return Err(ToolError::AlreadyExists(format!(
            "`{}` already exists; pass overwrite: true to replace it",
            local_path.display()
        )));
    }
    let replaced = existing.is_some();

    require_remote_roots(host.config())?;
    let sftp = Sftp::open(host).await?;
    let source = resolve(host, &sftp, remote_path, Access::Read).await?;
    let Some(attrs) = sftp.stat_optional(&source).await? else {
        return Err(ToolError::NotFound(format!(
            "remote `{source}` does not exist on host {}",
            host.name()
        )));
    };
    if file_type(&attrs) != Some(S_IFREG) {
        return Err(ToolError::invalid(format!(
            "remote `{source}` is not a regular file; only files can be downloaded"
        )));
    }
    check_size(attrs.size.unwrap_or(0), max_bytes, &source)?;

    // Removed when dropped uncommitted: on an error, a checksum mismatch or a cancelled call.
    let temp = local_dir.temp_file(&local_policy, &local_name)?;
    let std_file = temp
        .as_file()
        .try_clone()
        .map_err(|error| ToolError::io(local_path, &error))?;
    let mut out = tokio::fs::File::from_std(std_file);
    let (bytes, sha256) = sftp.read_file(&source, &mut out, max_bytes, cancel).await?;
    drop(sftp);
    out.sync_all()
        .await
        .map_err(|error| ToolError::io(local_path, &error))?;
    drop(out);

    let remote_sha = remote_sha256(host, &source, cancel).await?;
    if remote_sha != sha256 {
        return Err(ToolError::Io(format!(
            "checksum mismatch downloading `{source}` from host {}: received {sha256}, the remote file has {remote_sha} \
             (it may have changed during the transfer); nothing was written, retry",
            host.name()
        )));
    }
    // No execute bits: a downloaded file is data, never a program this machine might run.
    let mode = attrs.permissions.map(|m| m & 0o666).unwrap_or(0o644);
    tokio::task::spawn_blocking(move || persist(temp, mode, overwrite))
        .await
        .map_err(ToolError::internal)??;
    Ok(Transfer {
        bytes,
        sha256,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        remote_path: source,
        local_path: local_path.to_path_buf(),
        replaced,
    })
}

/// Check `raw` against the host's remote roots and return it resolved (absolute, `.`/`..` removed,
/// symlinks of existing ancestors resolved). For tools that pass remote paths to commands.
pub async fn check_remote_path(host: &HostHandle, raw: &str) -> ToolResult<String> {
    require_remote_roots(host.config())?;
    let sftp = Sftp::open(host).await?;
    resolve(host, &sftp, raw, Access::Read).await
}

/// Refuse (`policy_denied`) a transfer on a host without configured `remote_roots`, naming the key.
/// Runs before connecting.
pub fn require_remote_roots(config: &HostConfig) -> ToolResult<()> {
    if !config.remote_roots.is_empty() {
        return Ok(());
    }
    Err(ToolError::denied(format!(
        "file transfers are disabled on host {name}: `hosts.{name}.remote_roots` is not configured (there is no \
         default). Nothing was transferred. Ask the operator to set it to the remote directories transfers may \
         use, e.g. `remote_roots = [\"/srv/app/uploads\"]` in [hosts.{name}]",
        name = config.name
    )))
}

/// Refuse replacing an existing remote regular file that has an execute bit.
fn refuse_existing_executable(path: &str, attrs: &FileAttributes, host: &str) -> ToolResult<()> {
    match attrs.permissions {
        Some(mode) if mode & S_IFMT == S_IFREG => {
            refuse_executable(Path::new(path), mode, Some(host))
        }
        _ => Ok(()),
    }
}

/// What is at a remote path, as [`inspect_remote_path`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteKind {
    File,
    Directory,
    /// A device, socket, FIFO or anything else that is neither.
    Other,
}

/// A remote path checked against the host's roots, and what is there (for dry runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePathInfo {
    /// The resolved path (see [`check_remote_path`]).
    pub path: String,
    /// What exists at the path (symlinks followed); None when nothing does.
    pub kind: Option<RemoteKind>,
    /// Size in bytes (0 when nothing exists).
    pub size: u64,
    /// True when the path's parent directory exists.
    pub parent_is_directory: bool,
}

/// Check `raw` like [`check_remote_path`] and `stat` it and its parent, in one SFTP session. For
/// [`Access::Write`], also refuse protected files and an existing executable file. Nothing is
/// changed on the host.
pub async fn inspect_remote_path(
    host: &HostHandle,
    raw: &str,
    access: Access,
) -> ToolResult<RemotePathInfo> {
    require_remote_roots(host.config())?;
    let sftp = Sftp::open(host).await?;
    let path = resolve(host, &sftp, raw, access).await?;
    let attrs = sftp.stat_optional(&path).await?;
    if access == Access::Write
        && let Some(attrs) = &attrs
    {
        refuse_existing_executable(&path, attrs, host.name())?;
    }
    let kind = attrs.as_ref().map(|attrs| match file_type(attrs) {
        Some(S_IFREG) => RemoteKind::File,
        Some(S_IFDIR) => RemoteKind::Directory,
        _ => RemoteKind::Other,
    });
    let size = attrs.as_ref().and_then(|attrs| attrs.size).unwrap_or(0);
    let parent_is_directory = match split_parent(&path) {
        Ok((directory, _)) => sftp
            .stat_optional(directory)
            .await?
            .is_some_and(|attrs| file_type(&attrs) == Some(S_IFDIR)),
        Err(_) => false,
    };
    Ok(RemotePathInfo {
        path,
        kind,
        size,
        parent_is_directory,
    })
}

fn check_size(size: u64, max_bytes: u64, what: &str) -> ToolResult<()> {
    if size > max_bytes {
        return Err(ToolError::invalid(format!(
            "`{what}` is {size} bytes, more than max_bytes = {max_bytes}; raise max_bytes if the transfer is intended"
        )));
    }
    Ok(())
}

fn file_type(attrs: &FileAttributes) -> Option<u32> {
    attrs.permissions.map(|mode| mode & S_IFMT)
}

/// Give the downloaded temporary file its mode and rename it into place inside the pinned local
/// directory (refusing to replace a file that appeared meanwhile unless `overwrite`).
fn persist(temp: safe_fs::TempFile, mode: u32, overwrite: bool) -> ToolResult<()> {
    use std::os::unix::fs::PermissionsExt;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|error| ToolError::io(&temp.target_path(), &error))?;
    if overwrite {
        temp.commit()
    } else {
        temp.commit_new()
    }
}

/// SHA-256 of a remote file, computed on the host.
async fn remote_sha256(
    host: &HostHandle,
    path: &str,
    cancel: &CancellationToken,
) -> ToolResult<String> {
    let quoted = quote_arg(path);
    let script = format!(
        "if command -v sha256sum >/dev/null 2>&1; then exec sha256sum -- {quoted}; fi\n\
         if command -v shasum >/dev/null 2>&1; then exec shasum -a 256 -- {quoted}; fi\n\
         echo 'neither sha256sum nor shasum is installed' >&2; exit 127"
    );
    let output = exec(
        host,
        RemoteCommand::Shell(&script),
        &RunOptions::default(),
        cancel,
    )
    .await?;
    let digest = output
        .stdout
        .split_ascii_whitespace()
        .next()
        .filter(|word| word.len() == 64 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase);
    match (output.exit_code, digest) {
        (Some(0), Some(digest)) => Ok(digest),
        (Some(127), _) => Err(ToolError::Unavailable(format!(
            "cannot verify the transfer: host {} has neither sha256sum nor shasum; install coreutils or perl",
            host.name()
        ))),
        _ => Err(ToolError::Io(format!(
            "computing the checksum on host {} failed: {}",
            host.name(),
            output.stderr.trim()
        ))),
    }
}

/// Removes a remote temporary file unless disarmed (by setting `path` to None).
struct RemoteTempGuard {
    host: HostHandle,
    path: Option<String>,
}

impl Drop for RemoteTempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.path.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let host = self.host.clone();
            runtime.spawn(async move {
                let argv = ["rm".to_string(), "-f".into(), "--".into(), path];
                let result = exec(
                    &host,
                    RemoteCommand::Argv(&argv),
                    &RunOptions::default(),
                    &CancellationToken::new(),
                )
                .await;
                if let Err(error) = result {
                    tracing::warn!(host = %host.name(), %error, "could not remove a remote temporary file");
                }
            });
        }
    }
}

/// How long the server may take to accept or refuse the `sftp` subsystem.
const SUBSYSTEM_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// An SFTP session on one pooled channel.
struct Sftp {
    raw: RawSftpSession,
    host: String,
    posix_rename: bool,
    /// Keeps the channel's session permit; declared last so the session closes first.
    pooled: PooledChannel,
}

impl Drop for Sftp {
    fn drop(&mut self) {
        let _ = self.raw.close_session();
    }
}

impl Sftp {
    async fn open(host: &HostHandle) -> ToolResult<Sftp> {
        let mut pooled = host.channel().await?;
        let mut channel = pooled.take_channel()?;
        let unavailable = |detail: String| {
            ToolError::Unavailable(format!(
                "host {} offers no SFTP ({detail}); enable `Subsystem sftp` in its sshd_config",
                host.name()
            ))
        };
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        // Wait for the server's answer: a refused subsystem leaves the channel open, and the SFTP
        // session's reader would then hold it (and one of the server's MaxSessions) forever.
        let answer = tokio::time::timeout(SUBSYSTEM_ANSWER_TIMEOUT, async {
            loop {
                match channel.wait().await {
                    Some(russh::ChannelMsg::Success) => return true,
                    Some(russh::ChannelMsg::Failure) | None => return false,
                    Some(_) => {}
                }
            }
        })
        .await;
        if answer != Ok(true) {
            let _ = channel.close().await;
            let detail = match answer {
                Ok(_) => "the server refused the sftp subsystem",
                Err(_) => "no answer to the sftp subsystem request",
            };
            return Err(unavailable(detail.to_string()));
        }
        let raw = RawSftpSession::new(channel.into_stream());
        let version = raw
            .init()
            .await
            .map_err(|error| unavailable(error.to_string()))?;
        let posix_rename = version
            .extensions
            .get("posix-rename@openssh.com")
            .is_some_and(|v| v == "1");
        Ok(Sftp {
            raw,
            host: host.name().to_string(),
            posix_rename,
            pooled,
        })
    }

    fn error(&self, what: &str, path: &str, error: SftpError) -> ToolError {
        let host = &self.host;
        match error {
            SftpError::Status(status) => match status.status_code {
                StatusCode::NoSuchFile => {
                    ToolError::NotFound(format!("remote `{path}` does not exist on host {host}"))
                }
                StatusCode::PermissionDenied => ToolError::PermissionDenied(format!(
                    "host {host} denied {what} `{path}` to the SSH user"
                )),
                code => ToolError::Io(format!(
                    "{what} `{path}` on host {host} failed: {code} {}",
                    status.error_message
                )),
            },
            SftpError::Timeout => ToolError::Timeout(format!(
                "host {host} did not answer an SFTP request ({what} `{path}`) in time"
            )),
            other => ToolError::Io(format!("{what} `{path}` on host {host} failed: {other}")),
        }
    }

    async fn realpath(&self, path: &str) -> Result<String, SftpError> {
        let name = self.raw.realpath(path).await?;
        name.files
            .into_iter()
            .next()
            .map(|file| file.filename)
            .ok_or_else(|| SftpError::UnexpectedBehavior("empty realpath reply".into()))
    }

    /// `stat` (following symlinks); None when the path does not exist.
    async fn stat_optional(&self, path: &str) -> ToolResult<Option<FileAttributes>> {
        match self.raw.stat(path).await {
            Ok(attrs) => Ok(Some(attrs.attrs)),
            Err(SftpError::Status(status)) if status.status_code == StatusCode::NoSuchFile => {
                Ok(None)
            }
            Err(error) => Err(self.error("stat", path, error)),
        }
    }

    /// Write `source` to the new file `path` (created exclusively, mode 0600 while being written,
    /// `mode` at the end). Returns bytes written and their SHA-256.
    async fn write_file(
        &self,
        path: &str,
        source: &mut tokio::fs::File,
        mode: u32,
        max_bytes: u64,
        cancel: &CancellationToken,
    ) -> ToolResult<(u64, String)> {
        let attrs = FileAttributes {
            permissions: Some(0o600),
            ..FileAttributes::default()
        };
        let flags = OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE | OpenFlags::TRUNCATE;
        let handle = self
            .raw
            .open(path, flags, attrs)
            .await
            .map_err(|error| self.error("creating", path, error))?
            .handle;
        let mut hasher = Sha256::new();
        let mut offset: u64 = 0;
        let mut in_flight = FuturesOrdered::new();
        let mut buffer = vec![0u8; CHUNK];
        loop {
            if cancel.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            let n = source.read(&mut buffer).await.map_err(|error| {
                ToolError::Io(format!("reading the local file failed: {error}"))
            })?;
            if n == 0 {
                break;
            }
            let chunk = &buffer[..n];
            hasher.update(chunk);
            if offset + n as u64 > max_bytes {
                return Err(ToolError::invalid(format!(
                    "the local file grew past max_bytes = {max_bytes} during the upload"
                )));
            }
            in_flight.push_back(self.raw.write(handle.as_str(), offset, chunk.to_vec()));
            offset += n as u64;
            if in_flight.len() >= IN_FLIGHT
                && let Some(result) = in_flight.next().await
            {
                result.map_err(|error| self.error("writing", path, error))?;
            }
        }
        while let Some(result) = in_flight.next().await {
            result.map_err(|error| self.error("writing", path, error))?;
        }
        drop(in_flight);
        let final_attrs = FileAttributes {
            permissions: Some(mode),
            ..FileAttributes::default()
        };
        self.raw
            .fsetstat(handle.as_str(), final_attrs)
            .await
            .map_err(|error| self.error("setting the mode of", path, error))?;
        self.raw
            .close(handle.as_str())
            .await
            .map_err(|error| self.error("closing", path, error))?;
        Ok((offset, hex::encode(hasher.finalize())))
    }

    /// Read the remote file `path` into `sink`. Returns bytes read and their SHA-256.
    async fn read_file(
        &self,
        path: &str,
        sink: &mut tokio::fs::File,
        max_bytes: u64,
        cancel: &CancellationToken,
    ) -> ToolResult<(u64, String)> {
        let handle = self
            .raw
            .open(path, OpenFlags::READ, FileAttributes::default())
            .await
            .map_err(|error| self.error("opening", path, error))?
            .handle;
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        let mut next_offset: u64 = 0;
        let mut in_flight = FuturesOrdered::new();
        let mut eof = false;
        let request = |offset: u64| {
            let future = self.raw.read(handle.as_str(), offset, CHUNK as u32);
            async move { (offset, future.await) }
        };
        while !eof {
            while in_flight.len() < IN_FLIGHT {
                in_flight.push_back(request(next_offset));
                next_offset += CHUNK as u64;
            }
            let Some((offset, result)) = in_flight.next().await else {
                break;
            };
            if cancel.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            let data = match result {
                Ok(data) => data.data,
                Err(SftpError::Status(status)) if status.status_code == StatusCode::Eof => {
                    eof = true;
                    continue;
                }
                Err(error) => return Err(self.error("reading", path, error)),
            };
            if offset != written {
                // A reply past a short read that was already re-requested: ignore.
                continue;
            }
            if data.is_empty() {
                eof = true;
                continue;
            }
            written += data.len() as u64;
            if written > max_bytes {
                return Err(ToolError::invalid(format!(
                    "remote `{path}` grew past max_bytes = {max_bytes} during the download"
                )));
            }
            hasher.update(&data);
            sink.write_all(&data).await.map_err(|error| {
                ToolError::Io(format!("writing the local file failed: {error}"))
            })?;
            if data.len() < CHUNK {
                // A short read: the requests already sent assumed full chunks. Drop them and
                // continue from where the data ended.
                in_flight = FuturesOrdered::new();
                next_offset = written;
            }
        }
        drop(in_flight);
        sink.flush()
            .await
            .map_err(|error| ToolError::Io(format!("writing the local file failed: {error}")))?;
        let _ = self.raw.close(handle.as_str()).await;
        Ok((written, hex::encode(hasher.finalize())))
    }

    /// Rename `temp` to `target`. With `overwrite`, atomically replace (posix-rename) or, on servers
    /// without it, remove then rename. Without, a plain SFTP rename, which refuses existing targets.
    async fn rename_into_place(&self, temp: &str, target: &str, overwrite: bool) -> ToolResult<()> {
        if overwrite && self.posix_rename {
            let mut data = Vec::with_capacity(temp.len() + target.len() + 8);
            for text in [temp, target] {
                let length = u32::try_from(text.len()).map_err(ToolError::internal)?;
                data.extend_from_slice(&length.to_be_bytes());
                data.extend_from_slice(text.as_bytes());
            }
            return match self.raw.extended("posix-rename@openssh.com", data).await {
                Ok(Packet::Status(status)) if status.status_code == StatusCode::Ok => Ok(()),
                Ok(Packet::Status(status)) => Err(self.error("renaming to", target, status.into())),
                Ok(_) => Err(self.error("renaming to", target, SftpError::UnexpectedPacket)),
                Err(error) => Err(self.error("renaming to", target, error)),
            };
        }
        if overwrite {
            match self.raw.remove(target).await {
                Ok(_) => {}
                Err(SftpError::Status(status)) if status.status_code == StatusCode::NoSuchFile => {}
                Err(error) => return Err(self.error("replacing", target, error)),
            }
        }
        match self.raw.rename(temp, target).await {
            Ok(_) => Ok(()),
            Err(error) => {
                if !overwrite && self.stat_optional(target).await?.is_some() {
                    return Err(ToolError::AlreadyExists(format!(
                        "remote `{target}` already exists on host {}; pass overwrite: true to replace it",
                        self.host
                    )));
                }
                Err(self.error("renaming to", target, error))
            }
        }
    }
}

/// Resolve and check a remote path against the host's roots, and for writes against the protected
/// files (see the module documentation).
async fn resolve(host: &HostHandle, sftp: &Sftp, raw: &str, access: Access) -> ToolResult<String> {
    require_remote_roots(host.config())?;
    if raw.is_empty() {
        return Err(ToolError::invalid("the remote path is empty"));
    }
    if raw.contains('\0') {
        return Err(ToolError::invalid("the remote path contains a NUL byte"));
    }
    let home = remote_home(sftp).await?;
    let lexical_roots: Vec<String> = host
        .config()
        .remote_roots
        .iter()
        .filter_map(|root| normalize(&expand(root, &home, &home)))
        .collect();
    let base = lexical_roots
        .first()
        .cloned()
        .unwrap_or_else(|| home.clone());
    let Some(path) = normalize(&expand(raw, &home, &base)) else {
        return Err(ToolError::denied(format!(
            "remote path `{raw}` climbs above `/` with `..`"
        )));
    };
    let mut real_roots = Vec::new();
    for root in &lexical_roots {
        match sftp.realpath(root).await {
            Ok(real) => real_roots.push(real),
            Err(error) => {
                tracing::warn!(host = %host.name(), root, %error, "a remote root cannot be resolved")
            }
        }
    }
    let describe = || {
        lexical_roots
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lexically_inside = lexical_roots
        .iter()
        .chain(real_roots.iter())
        .any(|root| is_under(&path, root));
    if !lexically_inside {
        return Err(ToolError::denied(format!(
            "remote path `{path}` is outside the remote roots of host {}: {}. Use a path under one of them, \
             or ask the operator to add one to remote_roots",
            host.name(),
            describe()
        )));
    }
    let real = physical(sftp, &path).await?;
    if !real_roots.iter().any(|root| is_under(&real, root)) {
        return Err(ToolError::denied(format!(
            "remote path `{path}` resolves to `{real}` through a symbolic link, outside the remote roots of host {}: {}",
            host.name(),
            describe()
        )));
    }
    if access == Access::Write {
        // Both: a link into `~/.ssh` shows only in `real`; a `~/.ssh` that is itself a link
        // elsewhere (sshd follows it) shows only in `path`.
        for candidate in [&path, &real] {
            refuse_sensitive_write_at(
                Path::new(candidate),
                Some(Path::new(&home)),
                Some(host.name()),
            )?;
        }
    }
    Ok(real)
}

/// The remote user's home directory: SFTP starts in it, so `realpath(".")` names it. Cached on the
/// connection.
async fn remote_home(sftp: &Sftp) -> ToolResult<String> {
    let connection = sftp.pooled.connection().clone();
    connection
        .home
        .get_or_try_init(|| async {
            sftp.realpath(".")
                .await
                .map_err(|error| sftp.error("resolving the home directory", ".", error))
        })
        .await
        .cloned()
}

/// `realpath` of the deepest existing ancestor of `path`, with the rest appended.
async fn physical(sftp: &Sftp, path: &str) -> ToolResult<String> {
    let mut existing = path.to_string();
    let mut rest: Vec<String> = Vec::new();
    loop {
        match sftp.realpath(&existing).await {
            Ok(real) => {
                let mut out = real.trim_end_matches('/').to_string();
                for part in rest.iter().rev() {
                    out.push('/');
                    out.push_str(part);
                }
                if out.is_empty() {
                    out.push('/');
                }
                return Ok(out);
            }
            Err(SftpError::Status(status)) if status.status_code == StatusCode::NoSuchFile => {
                let Some((parent, name)) = existing.rsplit_once('/') else {
                    return Err(sftp.error("resolving", path, status.into()));
                };
                if name.is_empty() {
                    return Err(sftp.error("resolving", path, status.into()));
                }
                rest.push(name.to_string());
                existing = if parent.is_empty() {
                    "/".to_string()
                } else {
                    parent.to_string()
                };
            }
            Err(error) => return Err(sftp.error("resolving", path, error)),
        }
    }
}

/// `~` and `~/x` to the home directory; a relative path to `base`.
fn expand(raw: &str, home: &str, base: &str) -> String {
    if raw == "~" {
        return home.to_string();
    }
    if let Some(rest) = raw.strip_prefix("~/") {
        return format!("{home}/{rest}");
    }
    if raw.starts_with('/') {
        return raw.to_string();
    }
    format!("{base}/{raw}")
}

/// Resolve `.`, `..` and repeated slashes of an absolute path without touching the file system.
/// None when `..` would climb above `/`.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// True when `path` is `root` or below it (whole components: `/home/ab` is not under `/home/a`).
pub(crate) fn is_under(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return true;
    }
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Split an absolute path into its directory and file name.
fn split_parent(path: &str) -> ToolResult<(&str, &str)> {
    match path.rsplit_once('/') {
        Some((_, "")) | None => Err(ToolError::invalid(format!(
            "remote `{path}` names a directory; give the path of a file"
        ))),
        Some(("", name)) => Ok(("/", name)),
        Some((directory, name)) => Ok((directory, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize("/a/./b//c/../d").as_deref(), Some("/a/b/d"));
        assert_eq!(normalize("/").as_deref(), Some("/"));
        assert_eq!(normalize("/a/.."), Some("/".to_string()));
        assert_eq!(normalize("/.."), None);
        assert_eq!(normalize("/a/../../etc"), None);
    }

    #[test]
    fn containment_is_by_component() {
        assert!(is_under("/home/a", "/home/a"));
        assert!(is_under("/home/a/x", "/home/a/"));
        assert!(!is_under("/home/ab", "/home/a"));
        assert!(is_under("/etc", "/"));
    }

    #[test]
    fn expands_home_and_relative_paths() {
        assert_eq!(expand("~", "/h", "/r"), "/h");
        assert_eq!(expand("~/x", "/h", "/r"), "/h/x");
        assert_eq!(expand("x/y", "/h", "/r"), "/r/x/y");
        assert_eq!(expand("/abs", "/h", "/r"), "/abs");
        assert_eq!(split_parent("/a/b").unwrap(), ("/a", "b"));
        assert_eq!(split_parent("/b").unwrap(), ("/", "b"));
        assert!(split_parent("/").is_err());
    }
}
