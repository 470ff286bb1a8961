//! `get_file_info`: metadata of one path (kind, size, permissions, owner, times), and optionally a
//! streamed SHA-256 of a regular file.
//!
//! A path that is itself a symbolic link inside the roots is described as the link (with its
//! target as written), not as what it points to. The policy canonicalizes paths, which would
//! resolve the link, so the link's parent directory is what gets checked and the name is joined
//! back on. Anything else is resolved and checked as usual. Times are RFC 3339 UTC: `changed` is
//! the inode change time (ctime), `created` the birth time where the filesystem records one.
//! No side effects.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::paths::expand_home;
use skippy_core::safe_fs;
use skippy_core::{Access, Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use tokio_util::sync::CancellationToken;

use crate::common::{Kind, sha256_file};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first root
    pub path: String,
    /// Add SHA-256 (regular file)
    #[serde(default)]
    pub checksum: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Permissions {
    pub octal: String,
    pub rwx: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    pub permissions: Permissions,
    pub uid: u32,
    pub gid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub modified: String,
    pub accessed: String,
    /// Inode change time (ctime)
    pub changed: String,
    /// Birth time, if recorded
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symlink_target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

pub struct GetFileInfo;

impl Tool for GetFileInfo {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "get_file_info";
    const TITLE: &'static str = "File info";
    const DESCRIPTION: &'static str = "File metadata (lstat), optional SHA-256.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let path = locate(&ctx, &params.path)?;
        let checksum = params.checksum;
        let config = ctx.config.clone();
        ctx.blocking(move |cancel| describe(&config.files, &path, checksum, &cancel))
            .await
    }
}

/// The path to describe: the link itself when `raw` names a symbolic link in an allowed directory,
/// otherwise the policy's resolved path.
fn locate(ctx: &ToolCtx, raw: &str) -> ToolResult<PathBuf> {
    let expanded = expand_home(raw);
    if let (Some(parent), Some(name)) = (expanded.parent(), expanded.file_name()) {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(directory) = ctx.read_path(&parent.to_string_lossy()) {
            let candidate = directory.as_path().join(name);
            if std::fs::symlink_metadata(&candidate)
                .is_ok_and(|metadata| metadata.file_type().is_symlink())
            {
                return Ok(candidate);
            }
        }
    }
    let allowed = ctx.read_path(raw)?;
    if !allowed.exists() {
        return Err(ToolError::io(
            allowed.as_path(),
            &std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    Ok(allowed.into_path_buf())
}

/// Describe what is at `path` through an `O_PATH` descriptor opened beneath its root and verified
/// (`safe_fs::open_metadata`): the metadata and link target are those of what was verified, a link
/// is described as itself, and a FIFO or device is never opened.
fn describe(
    policy: &PathPolicy,
    path: &Path,
    checksum: bool,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let (handle, metadata) = safe_fs::open_metadata(policy, path, Access::Read)?;
    let kind = Kind::of(metadata.file_type());
    let symlink_target = match kind {
        // An empty name reads the link the O_PATH descriptor itself refers to.
        Kind::Symlink => Some(
            nix::fcntl::readlinkat(&handle, "")
                .map_err(|errno| ToolError::io(path, &std::io::Error::from(errno)))?
                .to_string_lossy()
                .into_owned(),
        ),
        _ => None,
    };
    let sha256 = match (checksum, kind) {
        (true, Kind::File) => Some(sha256_file(policy, path, cancel)?),
        _ => None,
    };
    let mode = metadata.mode();
    Ok(Output {
        path: path.to_string_lossy().into_owned(),
        kind,
        size: metadata.len(),
        permissions: Permissions {
            octal: format!("{:04o}", mode & 0o7777),
            rwx: rwx(mode),
        },
        uid: metadata.uid(),
        gid: metadata.gid(),
        owner: nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(metadata.uid()))
            .ok()
            .flatten()
            .map(|user| user.name),
        group: nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(metadata.gid()))
            .ok()
            .flatten()
            .map(|group| group.name),
        modified: timestamp(metadata.mtime(), metadata.mtime_nsec()),
        accessed: timestamp(metadata.atime(), metadata.atime_nsec()),
        changed: timestamp(metadata.ctime(), metadata.ctime_nsec()),
        created: metadata.created().ok().map(skippy_core::time::rfc3339),
        symlink_target,
        sha256,
    })
}

fn timestamp(seconds: i64, nanoseconds: i64) -> String {
    let nanoseconds = u32::try_from(nanoseconds).unwrap_or(0);
    let time = if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::new(seconds.unsigned_abs(), nanoseconds)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    skippy_core::time::rfc3339(time)
}

/// `ls`-style permission string, with setuid/setgid/sticky shown as s/S and t/T.
fn rwx(mode: u32) -> String {
    let mut text = String::with_capacity(9);
    for (shift, special, mark) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 0o7;
        text.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        text.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        text.push(match (bits & 0o1 != 0, mode & special != 0) {
            (true, true) => mark,
            (false, true) => mark.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::sha256_hex;
    use skippy_core::Config;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn params(path: &str, checksum: bool) -> Params {
        Params {
            path: path.into(),
            checksum,
        }
    }

    #[test]
    fn permission_strings() {
        assert_eq!(rwx(0o644), "rw-r--r--");
        assert_eq!(rwx(0o4755), "rwsr-xr-x");
        assert_eq!(rwx(0o2640), "rw-r-S---");
        assert_eq!(rwx(0o1777), "rwxrwxrwt");
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00Z");
    }

    #[tokio::test]
    async fn describes_a_file_with_owner_times_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "hello").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let out = GetFileInfo
            .run(ctx(dir.path()), params("a.txt", true))
            .await
            .unwrap();
        assert_eq!(out.kind, Kind::File);
        assert_eq!(out.size, 5);
        assert_eq!(out.permissions.octal, "0640");
        assert_eq!(out.permissions.rwx, "rw-r-----");
        assert_eq!(out.uid, nix::unistd::getuid().as_raw());
        assert_eq!(out.gid, std::fs::metadata(&file).unwrap().gid());
        let me = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .map(|user| user.name);
        assert_eq!(out.owner, me);
        assert_eq!(out.sha256.as_deref(), Some(sha256_hex(b"hello").as_str()));
        assert_eq!(
            out.path,
            std::fs::canonicalize(&file).unwrap().to_string_lossy()
        );
        let expected =
            skippy_core::time::rfc3339(std::fs::metadata(&file).unwrap().modified().unwrap());
        assert_eq!(out.modified, expected);
        assert!(out.changed.ends_with('Z') && out.accessed.ends_with('Z'));
        assert_eq!(out.symlink_target, None);

        let out = GetFileInfo
            .run(ctx(dir.path()), params("a.txt", false))
            .await
            .unwrap();
        assert_eq!(out.sha256, None);
    }

    #[tokio::test]
    async fn describes_links_themselves_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("target.txt"), "x").unwrap();
        symlink("target.txt", dir.path().join("inner")).unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();

        let out = GetFileInfo
            .run(ctx(dir.path()), params("inner", true))
            .await
            .unwrap();
        assert_eq!(out.kind, Kind::Symlink);
        assert_eq!(out.symlink_target.as_deref(), Some("target.txt"));
        assert_eq!(out.sha256, None);
        assert!(out.path.ends_with("/inner"), "{}", out.path);

        let out = GetFileInfo
            .run(ctx(dir.path()), params("out", false))
            .await
            .unwrap();
        assert_eq!(out.kind, Kind::Symlink);
        assert_eq!(
            out.symlink_target.as_deref(),
            Some(outside.path().to_str().unwrap())
        );

        let out = GetFileInfo
            .run(ctx(dir.path()), params(".", true))
            .await
            .unwrap();
        assert_eq!(out.kind, Kind::Dir);
        assert_eq!(out.sha256, None);
    }

    #[tokio::test]
    async fn outside_and_missing_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "x").unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        let error = GetFileInfo
            .run(ctx(dir.path()), params("out/f", false))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = GetFileInfo
            .run(ctx(dir.path()), params("/etc/passwd", false))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = GetFileInfo
            .run(ctx(dir.path()), params("missing", false))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
    }

    #[tokio::test]
    async fn finding_10_a_fifo_is_described_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&dir.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        // A blocking open of a FIFO without a writer would hang here; O_PATH never opens it.
        let out = GetFileInfo
            .run(ctx(dir.path()), params("fifo", true))
            .await
            .unwrap();
        assert_eq!(out.kind, Kind::Other);
        assert_eq!(out.sha256, None);
    }
}
