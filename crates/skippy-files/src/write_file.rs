//! `write_file`: create, replace or append to a text file under the write roots.
//!
//! `overwrite` (the default) is an atomic replace: the content goes to a temporary file in the same
//! directory, is fsynced, takes the old file's permission bits (and owner, where the OS allows),
//! and is renamed over the target, so readers never see half a file. A hard link elsewhere keeps
//! the old content. `create_new` fails with `already_exists` if anything is at the path; `append`
//! adds to the end (creating the file if needed) and refuses a file with more than one hard link,
//! whose other names (possibly outside the roots) would change too: `overwrite` replaces it instead.
//! The path policy resolves links before the check, so a link inside the roots is written through
//! to its (allowed) target, and one pointing out is refused. Then everything happens by name in the
//! verified parent directory (`skippy_core::safe_fs`), so a link or directory swapped in after the
//! check is refused, and temporary files never land outside the roots.
//!
//! Side effects: writes the file; with `create_dirs`, creates missing parent directories.
//! `dry_run` validates everything and reports what would happen without touching the disk.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skippy_core::safe_fs::{self, EntryKind, PinnedDir};
use skippy_core::{
    AllowedPath, Annotations, PathPolicy, Plan, Tool, ToolCtx, ToolError, ToolResult, Toolset,
};
use tokio_util::sync::CancellationToken;

use crate::common::{hash_reader, sha256_hex};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum WriteMode {
    #[default]
    Overwrite,
    Append,
    CreateNew,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first write root
    pub path: String,
    /// Text to write
    pub content: String,
    /// Default overwrite (atomic)
    #[serde(default)]
    pub mode: WriteMode,
    /// Create missing parents
    #[serde(default)]
    pub create_dirs: bool,
    /// Write nothing
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub bytes_written: u64,
    pub sha256: String,
    pub created: bool,
    pub dry_run: bool,
}

pub struct WriteFile;

impl Tool for WriteFile {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "write_file";
    const TITLE: &'static str = "Write file";
    const DESCRIPTION: &'static str = "Write a text file: atomic overwrite, append, or create_new.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    };

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let target = ctx.write_path(&params.path)?;
        let config = ctx.config.clone();
        ctx.blocking(move |cancel| write(&config.files, &target, &params, &cancel))
            .await
    }

    /// The path, mode and size from a dry run, with the diff against the file it replaces or the
    /// start of the new content.
    async fn plan(&self, ctx: &ToolCtx, params: &Params) -> ToolResult<Plan> {
        if params.dry_run {
            return Ok(Plan::NoChange);
        }
        let dry = Params {
            dry_run: true,
            ..params.clone()
        };
        let outcome = self.run(ctx.clone(), dry).await?;
        let target = ctx.write_path(&params.path)?;
        let path = target.as_path().display().to_string();
        let size = format!(
            "{} bytes (sha256 {})",
            outcome.bytes_written, outcome.sha256
        );
        let (head, body) = match (params.mode, outcome.created) {
            (WriteMode::Append, false) => (format!("Append {size} to {path}"), None),
            (_, true) => (format!("Create {path} with {size}"), None),
            (_, false) => {
                let config = ctx.config.clone();
                let content = params.content.clone();
                let label = params.path.clone();
                let diff = ctx
                    .blocking(move |_| Ok(replace_diff(&config.files, &target, &label, &content)))
                    .await?;
                (format!("Replace the existing {path} with {size}"), diff)
            }
        };
        let body = body.unwrap_or_else(|| preview(&params.content));
        Ok(Plan::Text(format!("{head}:\n{body}")))
    }
}

/// Largest existing file `plan` diffs against; larger or non-text files get a preview instead.
const MAX_PLAN_DIFF_BYTES: u64 = 256 * 1024;
/// How much of the new content a plan shows when there is no diff.
const PREVIEW_BYTES: usize = 2048;

/// The unified diff from the file now at `target` to `content`, when the file is small UTF-8 text.
fn replace_diff(
    policy: &PathPolicy,
    target: &AllowedPath,
    label: &str,
    content: &str,
) -> Option<String> {
    use std::io::Read;
    let (directory, name) = safe_fs::open_parent(policy, target).ok()?;
    let file = directory.open_read(policy, &name).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_DIFF_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_PLAN_DIFF_BYTES {
        return None;
    }
    let old = String::from_utf8(bytes).ok()?;
    let label = label.trim_start_matches('/');
    Some(
        similar::TextDiff::from_lines(old.as_str(), content)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{label}"), &format!("b/{label}"))
            .to_string(),
    )
}

/// The start of the new content, cut on a character boundary.
fn preview(content: &str) -> String {
    let shown = skippy_core::limits::truncate_utf8(content, PREVIEW_BYTES);
    if shown.len() == content.len() {
        return shown.to_string();
    }
    format!("{shown}\n… ({} more bytes)", content.len() - shown.len())
}

fn write(
    policy: &PathPolicy,
    target: &AllowedPath,
    params: &Params,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let path = target.as_path();
    let content = params.content.as_bytes();
    let bytes_written = content.len() as u64;
    if !prepare_parent(policy, target, params.create_dirs, params.dry_run)? {
        // A dry run whose directories would be created: nothing is there yet.
        return Ok(Output {
            bytes_written,
            sha256: sha256_hex(content),
            created: true,
            dry_run: true,
        });
    }
    // Everything below happens by name inside the pinned parent directory.
    let (directory, name) = safe_fs::open_parent(policy, target)?;
    let existing = existing_file(&directory, &name, path)?;
    let created = !existing;
    let sha256 = match params.mode {
        WriteMode::Overwrite => {
            if !params.dry_run {
                directory.replace_atomic(policy, &name, content)?;
            }
            sha256_hex(content)
        }
        WriteMode::CreateNew => {
            if existing {
                return Err(ToolError::AlreadyExists(format!(
                    "`{}` already exists; use mode \"overwrite\" to replace it or \"append\" to add to it",
                    path.display()
                )));
            }
            if !params.dry_run {
                directory.create_new(policy, &name, content)?;
            }
            sha256_hex(content)
        }
        WriteMode::Append => append(
            policy,
            &directory,
            &name,
            content,
            existing,
            params.dry_run,
            cancel,
        )?,
    };
    Ok(Output {
        bytes_written,
        sha256,
        created,
        dry_run: params.dry_run,
    })
}

/// Whether a regular file is at `name` now, refusing directories and special files. The path was
/// resolved before the call, so a link found here was swapped in since and is refused.
fn existing_file(directory: &PinnedDir, name: &OsStr, path: &Path) -> ToolResult<bool> {
    let Some(stat) = directory.stat(name)? else {
        return Ok(false);
    };
    match stat.kind {
        EntryKind::File => Ok(true),
        EntryKind::Dir => Err(ToolError::invalid(format!(
            "`{}` is a directory; give a file path inside it",
            path.display()
        ))),
        EntryKind::Symlink => Err(ToolError::denied(format!(
            "`{}` became a symbolic link while Skippy was writing it; nothing was written. Retry, \
             or write to the link's target",
            path.display()
        ))),
        EntryKind::Other => Err(ToolError::invalid(format!(
            "`{}` is not a regular file (device, socket or FIFO); Skippy only writes regular files",
            path.display()
        ))),
    }
}

/// Make sure the parent directory exists, creating it when asked (and not a dry run). Returns
/// whether it exists now. Directories are created one name at a time beneath the root, never
/// through a link ([`safe_fs::create_dirs`]).
fn prepare_parent(
    policy: &PathPolicy,
    target: &AllowedPath,
    create_dirs: bool,
    dry_run: bool,
) -> ToolResult<bool> {
    let path = target.as_path();
    let Some(parent) = path.parent() else {
        return Err(ToolError::invalid(format!(
            "`{}` has no parent directory",
            path.display()
        )));
    };
    // A look by path only to choose what to do: the directory is opened safely afterwards.
    match std::fs::symlink_metadata(parent) {
        Ok(metadata) if metadata.is_dir() => Ok(true),
        Ok(_) => Err(ToolError::invalid(format!(
            "`{}` is not a directory",
            parent.display()
        ))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if !create_dirs {
                return Err(ToolError::NotFound(format!(
                    "the directory `{}` does not exist; pass create_dirs: true to create it",
                    parent.display()
                )));
            }
            if dry_run {
                return Ok(false);
            }
            safe_fs::create_dirs(policy, parent, target.access())?;
            Ok(true)
        }
        Err(error) => Err(ToolError::io(parent, &error)),
    }
}

/// Append `content` and return the SHA-256 of the whole resulting file. The old content is hashed
/// through the same descriptor that appends, so the digest describes the file that was written.
/// A file with several hard links is refused (finding 8 of issue 6), in a dry run too.
fn append(
    policy: &PathPolicy,
    directory: &PinnedDir,
    name: &OsStr,
    content: &[u8],
    exists: bool,
    dry_run: bool,
    cancel: &CancellationToken,
) -> ToolResult<String> {
    let path = directory.path().join(name);
    let mut hasher = Sha256::new();
    if dry_run {
        if exists {
            let mut file = directory.open_read(policy, name)?;
            safe_fs::refuse_hard_links(&file, &path)?;
            hash_reader(&mut file, &mut hasher, &path, cancel, u64::MAX)?;
        }
        hasher.update(content);
        return Ok(hex::encode(hasher.finalize()));
    }
    let mut file = directory.open_append(policy, name, true)?.file;
    let io = |error: std::io::Error| ToolError::io(&path, &error);
    hash_reader(&mut file, &mut hasher, &path, cancel, u64::MAX)?;
    file.write_all(content).map_err(io)?;
    file.sync_all().map_err(io)?;
    hasher.update(content);
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::new_file_mode;
    use skippy_core::Config;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    #[tokio::test]
    async fn approval_plan_shows_path_size_and_diff_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.txt"), "a\nb\n").unwrap();
        let replace = params("old.txt", "a\nB\n", WriteMode::Overwrite);
        let Plan::Text(text) = WriteFile.plan(&ctx(dir.path()), &replace).await.unwrap() else {
            panic!("a plan of its own")
        };
        assert!(text.starts_with("Replace the existing"), "{text}");
        assert!(text.contains("old.txt with 4 bytes"), "{text}");
        assert!(text.contains("-b\n+B\n"), "{text}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("old.txt")).unwrap(),
            "a\nb\n"
        );
        let create = params("new.txt", "hello", WriteMode::CreateNew);
        let Plan::Text(text) = WriteFile.plan(&ctx(dir.path()), &create).await.unwrap() else {
            panic!("a plan of its own")
        };
        assert!(text.starts_with("Create"), "{text}");
        assert!(text.ends_with(":\nhello"), "{text}");
        assert!(!dir.path().join("new.txt").exists());
        let dry = Params {
            dry_run: true,
            ..create
        };
        assert_eq!(
            WriteFile.plan(&ctx(dir.path()), &dry).await.unwrap(),
            Plan::NoChange
        );
    }

    fn params(path: &str, content: &str, mode: WriteMode) -> Params {
        Params {
            path: path.into(),
            content: content.into(),
            mode,
            create_dirs: false,
            dry_run: false,
        }
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn overwrite_creates_then_replaces_keeping_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        let out = WriteFile
            .run(
                ctx(dir.path()),
                params("a.txt", "hello\n", WriteMode::Overwrite),
            )
            .await
            .unwrap();
        assert!(out.created && !out.dry_run);
        assert_eq!(out.bytes_written, 6);
        assert_eq!(out.sha256, sha256_hex(b"hello\n"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
        assert_eq!(mode_of(&file), new_file_mode());

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let out = WriteFile
            .run(
                ctx(dir.path()),
                params("a.txt", "bye", WriteMode::Overwrite),
            )
            .await
            .unwrap();
        assert!(!out.created);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "bye");
        assert_eq!(mode_of(&file), 0o640);
        assert_eq!(
            names(dir.path()),
            ["a.txt"],
            "no temporary file is left behind"
        );
    }

    #[tokio::test]
    async fn append_adds_and_hashes_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("log.txt");
        let out = WriteFile
            .run(ctx(dir.path()), params("log.txt", "a\n", WriteMode::Append))
            .await
            .unwrap();
        assert!(out.created);
        let out = WriteFile
            .run(ctx(dir.path()), params("log.txt", "b\n", WriteMode::Append))
            .await
            .unwrap();
        assert!(!out.created);
        assert_eq!(out.bytes_written, 2);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\nb\n");
        assert_eq!(out.sha256, sha256_hex(b"a\nb\n"));
    }

    #[tokio::test]
    async fn create_new_refuses_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("new.txt");
        let out = WriteFile
            .run(
                ctx(dir.path()),
                params("new.txt", "one", WriteMode::CreateNew),
            )
            .await
            .unwrap();
        assert!(out.created);
        let error = WriteFile
            .run(
                ctx(dir.path()),
                params("new.txt", "two", WriteMode::CreateNew),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "already_exists");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "one");
    }

    #[tokio::test]
    async fn missing_parent_needs_create_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let error = WriteFile
            .run(
                ctx(dir.path()),
                params("x/y/z.txt", "z", WriteMode::Overwrite),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        assert!(error.to_string().contains("create_dirs"), "{error}");
        let mut with_dirs = params("x/y/z.txt", "z", WriteMode::Overwrite);
        with_dirs.create_dirs = true;
        WriteFile.run(ctx(dir.path()), with_dirs).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("x/y/z.txt")).unwrap(),
            "z"
        );
    }

    #[tokio::test]
    async fn dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.txt"), "old\n").unwrap();
        for mode in [
            WriteMode::Overwrite,
            WriteMode::Append,
            WriteMode::CreateNew,
        ] {
            let mut dry = params("d/new.txt", "new\n", mode);
            dry.dry_run = true;
            dry.create_dirs = true;
            let out = WriteFile.run(ctx(dir.path()), dry).await.unwrap();
            assert!(out.dry_run && out.created);
            assert_eq!(out.sha256, sha256_hex(b"new\n"));
        }
        let mut dry = params("old.txt", "new\n", WriteMode::Append);
        dry.dry_run = true;
        let out = WriteFile.run(ctx(dir.path()), dry).await.unwrap();
        assert_eq!(out.sha256, sha256_hex(b"old\nnew\n"));
        let mut dry = params("old.txt", "new\n", WriteMode::CreateNew);
        dry.dry_run = true;
        let error = WriteFile.run(ctx(dir.path()), dry).await.unwrap_err();
        assert_eq!(error.code(), "already_exists");
        assert_eq!(names(dir.path()), ["old.txt"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("old.txt")).unwrap(),
            "old\n"
        );
    }

    #[tokio::test]
    async fn outside_roots_and_links_pointing_out_are_denied() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "safe").unwrap();
        let error = WriteFile
            .run(
                ctx(dir.path()),
                params(victim.to_str().unwrap(), "x", WriteMode::Overwrite),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");

        symlink(&victim, dir.path().join("link")).unwrap();
        for mode in [
            WriteMode::Overwrite,
            WriteMode::Append,
            WriteMode::CreateNew,
        ] {
            let error = WriteFile
                .run(ctx(dir.path()), params("link", "x", mode))
                .await
                .unwrap_err();
            assert_eq!(error.code(), "policy_denied");
        }
        symlink(outside.path(), dir.path().join("out_dir")).unwrap();
        let error = WriteFile
            .run(
                ctx(dir.path()),
                params("out_dir/new.txt", "x", WriteMode::CreateNew),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "safe");
        assert!(!outside.path().join("new.txt").exists());
    }

    #[tokio::test]
    async fn finding_08_append_through_a_hard_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "safe").unwrap();
        std::fs::hard_link(&victim, dir.path().join("hard.txt")).unwrap();
        for dry_run in [false, true] {
            let mut append = params("hard.txt", "pwned", WriteMode::Append);
            append.dry_run = dry_run;
            let error = WriteFile.run(ctx(dir.path()), append).await.unwrap_err();
            assert_eq!(error.code(), "policy_denied");
            assert!(error.to_string().contains("hard links"), "{error}");
        }
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "safe");
        // Overwrite replaces this name only: the link is broken, the outside file untouched.
        WriteFile
            .run(
                ctx(dir.path()),
                params("hard.txt", "mine", WriteMode::Overwrite),
            )
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "safe");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("hard.txt")).unwrap(),
            "mine"
        );
    }

    #[tokio::test]
    async fn finding_10_a_fifo_is_refused_for_every_mode() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&dir.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        for mode in [
            WriteMode::Overwrite,
            WriteMode::Append,
            WriteMode::CreateNew,
        ] {
            let error = WriteFile
                .run(ctx(dir.path()), params("fifo", "x", mode))
                .await
                .unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
        }
    }

    #[tokio::test]
    async fn a_link_inside_the_roots_is_written_through_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.txt"), "old").unwrap();
        symlink(dir.path().join("real.txt"), dir.path().join("alias")).unwrap();
        WriteFile
            .run(
                ctx(dir.path()),
                params("alias", "new", WriteMode::Overwrite),
            )
            .await
            .unwrap();
        assert!(
            std::fs::symlink_metadata(dir.path().join("alias"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("real.txt")).unwrap(),
            "new"
        );
    }

    #[tokio::test]
    async fn directories_and_read_only_mode_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let error = WriteFile
            .run(ctx(dir.path()), params("sub", "x", WriteMode::Overwrite))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");

        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.server.read_only = true;
        let error = WriteFile
            .run(
                ToolCtx::for_tests(config),
                params("a.txt", "x", WriteMode::Overwrite),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        assert!(!dir.path().join("a.txt").exists());
    }
}
