//! `edit_file`: exact text replacements in a UTF-8 file, all or nothing, with a unified diff.
//!
//! Edits apply in order to the evolving text. Each must match exactly once, or at least once with
//! `replace_all`; the first edit that does not match (or matches ambiguously) aborts the call
//! before anything is written, and the error names it ("edit 2 of 3: ..."). The file is then
//! replaced atomically like `write_file` (temporary file, fsync, same permission bits, rename), and
//! refused if it changed on disk while the edit was computed.
//!
//! Limits: files up to 32 MiB; the returned diff (3 lines of context) is cut to the output budget
//! and flagged with `diff_truncated`. Side effects: rewrites the file unless `dry_run`.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::limits::Budget;
use skippy_core::safe_fs;
use skippy_core::{
    AllowedPath, Annotations, PathPolicy, Plan, Tool, ToolCtx, ToolError, ToolResult, Toolset,
};

use crate::common::fitting_prefix;

/// Largest file edit_file loads: edits happen in memory.
const MAX_EDIT_BYTES: u64 = 32 * 1024 * 1024;
/// Past this, `similar` falls back to a coarser (still correct) diff rather than running long.
const DIFF_TIME_LIMIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct Edit {
    /// Exact text, whitespace included
    pub old_text: String,
    /// Replacement
    pub new_text: String,
    /// Every match, not exactly one
    #[serde(default)]
    pub replace_all: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first write root
    pub path: String,
    /// In order; one mismatch: none applied
    pub edits: Vec<Edit>,
    /// Diff only; write nothing
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub diff: String,
    pub replacements: u64,
    pub dry_run: bool,
    pub diff_truncated: bool,
}

pub struct EditFile;

impl Tool for EditFile {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "edit_file";
    const TITLE: &'static str = "Edit file";
    const DESCRIPTION: &'static str =
        "Replace exact text in a file, all edits or none; returns a unified diff.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        if params.edits.is_empty() {
            return Err(ToolError::invalid(
                "edits is empty; give at least one {old_text, new_text}",
            ));
        }
        let target = ctx.write_path(&params.path)?;
        let budget = Budget::for_output(ctx.max_output_bytes()).remaining();
        let config = ctx.config.clone();
        ctx.blocking(move |_cancel| edit(&config.files, &target, &params, budget))
            .await
    }

    /// The diff, from the same edit run as a dry run.
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
        let cut = if outcome.diff_truncated {
            "\n… (the diff is longer; only its start is shown)"
        } else {
            ""
        };
        Ok(Plan::Text(format!(
            "Edit {} ({} replacement(s)):\n{}{cut}",
            target.as_path().display(),
            outcome.replacements,
            outcome.diff
        )))
    }
}

fn edit(
    policy: &PathPolicy,
    target: &AllowedPath,
    params: &Params,
    budget: usize,
) -> ToolResult<Output> {
    let path = target.as_path();
    let io = |error: std::io::Error| ToolError::io(path, &error);
    // The directory is pinned first: the read, the change check and the replacement all happen
    // by name inside it, so a directory swapped for a link in between cannot redirect any of them.
    let (directory, name) = safe_fs::open_parent(policy, target)?;
    let mut file = directory.open_read(policy, &name)?;
    let before = file.metadata().map_err(io)?;
    if before.len() > MAX_EDIT_BYTES {
        return Err(ToolError::invalid(format!(
            "`{}` is {} bytes; edit_file handles files up to {MAX_EDIT_BYTES} bytes",
            path.display(),
            before.len()
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(before.len()).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(io)?;
    let original = String::from_utf8(bytes).map_err(|_| {
        ToolError::invalid(format!(
            "`{}` is not UTF-8 text; edit_file only edits text files",
            path.display()
        ))
    })?;
    let (updated, replacements) = apply_edits(&original, &params.edits)?;

    let label = params.path.trim_start_matches('/');
    let diff = similar::TextDiff::configure()
        .timeout(DIFF_TIME_LIMIT)
        .diff_lines(original.as_str(), updated.as_str())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string();
    let (diff, diff_truncated) = cap_diff(diff, budget);

    if !params.dry_run && updated != original {
        let now = directory.stat(&name)?;
        let unchanged = now.is_some_and(|now| {
            now.kind == safe_fs::EntryKind::File
                && now.device == before.dev()
                && now.inode == before.ino()
                && now.size == before.len()
                && now.modified == before.modified().ok()
        });
        if !unchanged {
            return Err(ToolError::Io(format!(
                "`{}` changed on disk during the edit; read it again and retry",
                path.display()
            )));
        }
        directory.replace_atomic(policy, &name, updated.as_bytes())?;
    }
    Ok(Output {
        diff,
        replacements,
        dry_run: params.dry_run,
        diff_truncated,
    })
}

/// Apply every edit in order; the first failure names its edit and nothing is returned.
fn apply_edits(original: &str, edits: &[Edit]) -> ToolResult<(String, u64)> {
    let mut text = original.to_string();
    let mut replacements = 0u64;
    let total = edits.len();
    for (index, edit) in edits.iter().enumerate() {
        let label = format!("edit {} of {total}", index + 1);
        if edit.old_text.is_empty() {
            return Err(ToolError::invalid(format!(
                "{label}: old_text is empty; quote the exact text to replace"
            )));
        }
        let count = text.matches(edit.old_text.as_str()).count();
        match count {
            0 => {
                return Err(ToolError::invalid(not_found_message(
                    &label,
                    &text,
                    &edit.old_text,
                )));
            }
            1 => text = text.replacen(edit.old_text.as_str(), &edit.new_text, 1),
            _ if edit.replace_all => text = text.replace(edit.old_text.as_str(), &edit.new_text),
            _ => {
                return Err(ToolError::invalid(format!(
                    "{label}: old_text matches {count} times; make old_text longer or set replace_all"
                )));
            }
        }
        replacements += count as u64;
    }
    Ok((text, replacements))
}

/// "not found", plus the likeliest reason when it is cheap to tell.
fn not_found_message(label: &str, text: &str, old_text: &str) -> String {
    let mut message = format!("{label}: old_text not found; nothing was written");
    if text.contains("\r\n") && old_text.contains('\n') && !old_text.contains("\r\n") {
        message.push_str(" (the file uses CRLF line endings; include \\r before each \\n)");
    } else if !old_text.trim().is_empty()
        && collapse_whitespace(text).contains(collapse_whitespace(old_text).trim())
    {
        message.push_str(" (it matches if whitespace is ignored: copy indentation and line breaks exactly from read_file)");
    } else {
        message.push_str("; read the file again, it may differ from what you expect");
    }
    message
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cut the diff to the budget, preferring a line boundary.
fn cap_diff(diff: String, budget: usize) -> (String, bool) {
    let fit = fitting_prefix(diff.as_bytes(), budget);
    if fit == diff.len() {
        return (diff, false);
    }
    let head = &diff.as_bytes()[..fit];
    let mut end = match memchr::memrchr(b'\n', head) {
        Some(index) => index + 1,
        None => fit,
    };
    while end > 0 && !diff.is_char_boundary(end) {
        end -= 1;
    }
    let mut diff = diff;
    diff.truncate(end);
    (diff, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn edit(old_text: &str, new_text: &str, replace_all: bool) -> Edit {
        Edit {
            old_text: old_text.into(),
            new_text: new_text.into(),
            replace_all,
        }
    }

    fn params(path: &str, edits: Vec<Edit>) -> Params {
        Params {
            path: path.into(),
            edits,
            dry_run: false,
        }
    }

    #[tokio::test]
    async fn approval_plan_is_the_diff_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("n.txt"), "one\ntwo\n").unwrap();
        let call = params("n.txt", vec![edit("two", "2", false)]);
        let Plan::Text(text) = EditFile.plan(&ctx(dir.path()), &call).await.unwrap() else {
            panic!("a plan of its own")
        };
        assert!(text.contains("-two\n+2\n"), "{text}");
        assert!(text.contains("1 replacement"), "{text}");
        let on_disk = std::fs::read_to_string(dir.path().join("n.txt")).unwrap();
        assert_eq!(on_disk, "one\ntwo\n");
        let dry = Params {
            dry_run: true,
            ..call
        };
        assert_eq!(
            EditFile.plan(&ctx(dir.path()), &dry).await.unwrap(),
            Plan::NoChange
        );
    }

    const TEXT: &str = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

    #[tokio::test]
    async fn edits_apply_in_order_and_return_a_unified_diff() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.txt");
        std::fs::write(&file, TEXT).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = EditFile
            .run(
                ctx(dir.path()),
                params(
                    "n.txt",
                    vec![
                        edit("five\n", "FIVE\n", false),
                        edit("FIVE\nsix", "5\n6", false),
                    ],
                ),
            )
            .await
            .unwrap();
        assert_eq!(out.replacements, 2);
        assert!(!out.diff_truncated && !out.dry_run);
        assert_eq!(
            out.diff,
            "--- a/n.txt\n+++ b/n.txt\n@@ -2,8 +2,8 @@\n two\n three\n four\n-five\n-six\n+5\n+6\n seven\n eight\n nine\n"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            TEXT.replace("five\nsix", "5\n6")
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[tokio::test]
    async fn a_failing_edit_is_named_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.txt");
        std::fs::write(&file, TEXT).unwrap();
        let error = EditFile
            .run(
                ctx(dir.path()),
                params(
                    "n.txt",
                    vec![
                        edit("one", "1", false),
                        edit("eleven", "11", false),
                        edit("ten", "10", false),
                    ],
                ),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error
                .to_string()
                .starts_with("edit 2 of 3: old_text not found"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), TEXT);

        let error = EditFile
            .run(
                ctx(dir.path()),
                params("n.txt", vec![edit("e", "E", false)]),
            )
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains(
                "edit 1 of 1: old_text matches 9 times; make old_text longer or set replace_all"
            ),
            "{error}"
        );
        let error = EditFile
            .run(ctx(dir.path()), params("n.txt", vec![edit("", "x", false)]))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("old_text is empty"), "{error}");
        let error = EditFile
            .run(
                ctx(dir.path()),
                params("n.txt", vec![edit("one two", "x", false)]),
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("whitespace"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), TEXT);
    }

    #[tokio::test]
    async fn replace_all_counts_every_match() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.txt");
        std::fs::write(&file, TEXT).unwrap();
        let out = EditFile
            .run(ctx(dir.path()), params("n.txt", vec![edit("e", "E", true)]))
            .await
            .unwrap();
        assert_eq!(out.replacements, 9);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            TEXT.replace('e', "E")
        );
    }

    #[tokio::test]
    async fn dry_run_shows_the_diff_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n.txt");
        std::fs::write(&file, "a\r\nb\r\n").unwrap();
        let mut dry = params("n.txt", vec![edit("a\r\n", "A\r\n", false)]);
        dry.dry_run = true;
        let out = EditFile.run(ctx(dir.path()), dry).await.unwrap();
        assert!(out.dry_run);
        assert!(out.diff.contains("-a\r\n+A\r\n"), "{:?}", out.diff);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\r\nb\r\n");
        let error = EditFile
            .run(
                ctx(dir.path()),
                params("n.txt", vec![edit("a\nb", "x", false)]),
            )
            .await
            .unwrap_err();
        assert!(error.to_string().contains("CRLF"), "{error}");
    }

    #[tokio::test]
    async fn a_long_diff_is_cut_on_a_line_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (0..2000).map(|n| format!("line {n}\n")).collect();
        std::fs::write(dir.path().join("big.txt"), &text).unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.server.max_output_bytes = 4096;
        let out = EditFile
            .run(
                ToolCtx::for_tests(config),
                params("big.txt", vec![edit("line", "LINE", true)]),
            )
            .await
            .unwrap();
        assert!(out.diff_truncated);
        assert!(out.diff.ends_with('\n'));
        assert!(serde_json::to_string(&out.diff).unwrap().len() <= 2048 + 2);
        assert_eq!(out.replacements, 2000);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("big.txt")).unwrap(),
            text.replace("line", "LINE")
        );
    }

    #[tokio::test]
    async fn binary_missing_and_outside_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bin"), b"\xff\xfe\x00").unwrap();
        let error = EditFile
            .run(ctx(dir.path()), params("bin", vec![edit("a", "b", false)]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let error = EditFile
            .run(
                ctx(dir.path()),
                params("missing.txt", vec![edit("a", "b", false)]),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        let error = EditFile
            .run(
                ctx(dir.path()),
                params("/etc/hostname", vec![edit("a", "b", false)]),
            )
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = EditFile
            .run(ctx(dir.path()), params("bin", vec![]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }
}
