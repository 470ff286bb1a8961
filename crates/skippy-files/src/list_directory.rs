//! `list_directory`: the entries of a directory, optionally recursive, sorted by path and paged.
//!
//! The walk is depth-first with each directory's entries sorted by name, so entries come out in
//! path order without collecting the whole tree, and `offset` paging is stable between calls.
//! Symbolic links are listed as links and never followed: the walk reads verified directory
//! descriptors and opens each subdirectory relative to its parent without following links
//! (`skippy_core::safe_fs`), so a directory swapped for a link mid-walk is skipped, not listed. `pattern` filters what is listed by entry
//! name; directories that do not match are still walked. Hidden entries (dot names) are skipped
//! unless `include_hidden`, and a skipped directory is not walked.
//!
//! Limits: `limit` entries per page (max 5000) and the output byte budget; after the page, the walk
//! keeps counting matches for `total` up to 100000 and then stops. Unreadable subdirectories are
//! skipped. No side effects.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use globset::GlobMatcher;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp;
use skippy_core::limits::Budget;
use skippy_core::patterns::{self, GlobOptions};
use skippy_core::safe_fs::{self, PinnedDir};
use skippy_core::{
    Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled,
};
use tokio_util::sync::CancellationToken;

use crate::common::{Kind, json_string_cost};

const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 5000;
const MAX_DEPTH: u32 = 64;
/// The walk stops counting matches for `total` here.
const COUNT_CAP: u64 = 100_000;
/// JSON cost of one entry besides its name and path: keys, kind, size, time.
const ENTRY_OVERHEAD: usize = 100;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first root
    pub path: String,
    /// Walk subdirectories
    #[serde(default)]
    pub recursive: bool,
    /// Default 1 (recursive: 10), max 64 (larger is clamped)
    pub max_depth: Option<u32>,
    /// Glob on names, e.g. *.conf
    pub pattern: Option<String>,
    /// Include dot entries
    #[serde(default)]
    pub include_hidden: bool,
    /// Entries to skip
    #[serde(default)]
    pub offset: u64,
    /// Default 500, max 5000 (larger is clamped)
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Entry {
    pub name: String,
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub entries: Vec<Entry>,
    /// Counting stops at 100000
    pub total: u64,
    pub truncated: bool,
    pub next_offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_clamped_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth_clamped_to: Option<u32>,
}

pub struct ListDirectory;

impl Tool for ListDirectory {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "list_directory";
    const TITLE: &'static str = "List directory";
    const DESCRIPTION: &'static str =
        "List directory entries sorted by path, optionally recursive.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let limit = clamp::limit("limit", params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let default_depth = if params.recursive { 10 } else { 1 };
        let depth = clamp::limit("max_depth", params.max_depth, default_depth, MAX_DEPTH)?;
        let pattern = params
            .pattern
            .as_deref()
            .map(|pattern| patterns::glob("pattern", pattern, GlobOptions::default()))
            .transpose()?;
        let root = ctx.read_path(&params.path)?;
        let budget = Budget::for_output(ctx.max_output_bytes());
        let walk = Walk {
            depth: depth.value,
            pattern,
            include_hidden: params.include_hidden,
            offset: params.offset,
            limit: limit.value,
        };
        let config = ctx.config.clone();
        let mut output = ctx
            .blocking(move |cancel| {
                let directory = safe_fs::open_dir(&config.files, &root)?;
                walk.run(&config.files, &directory, budget, &cancel)
            })
            .await?;
        output.limit_clamped_to = limit.clamped_to;
        output.max_depth_clamped_to = depth.clamped_to;
        Ok(output)
    }
}

struct Walk {
    depth: u32,
    pattern: Option<GlobMatcher>,
    include_hidden: bool,
    offset: u64,
    limit: u32,
}

/// What a walk has found so far.
struct Found {
    entries: Vec<Entry>,
    matched: u64,
    page_full: bool,
    budget: Budget,
    /// The count cap was reached: the walk stops.
    done: bool,
}

impl Walk {
    /// Walk from a verified directory descriptor: every subdirectory is opened relative to its
    /// parent's descriptor, never through a link, and verified (`safe_fs`), so a directory swapped
    /// for a link during the walk is skipped rather than listed.
    fn run(
        &self,
        policy: &PathPolicy,
        root: &PinnedDir,
        budget: Budget,
        cancel: &CancellationToken,
    ) -> ToolResult<Output> {
        let mut found = Found {
            entries: Vec::new(),
            matched: 0,
            page_full: false,
            budget,
            done: false,
        };
        self.visit(policy, root, Path::new(""), 1, &mut found, cancel)?;
        let next_offset = found
            .page_full
            .then(|| self.offset + found.entries.len() as u64);
        Ok(Output {
            entries: found.entries,
            total: found.matched,
            truncated: found.page_full,
            next_offset,
            limit_clamped_to: None,
            max_depth_clamped_to: None,
        })
    }

    /// Depth-first, each directory's entries sorted by name, so entries come out in path order.
    fn visit(
        &self,
        policy: &PathPolicy,
        directory: &PinnedDir,
        relative: &Path,
        depth: u32,
        found: &mut Found,
        cancel: &CancellationToken,
    ) -> ToolResult<()> {
        let mut entries = directory.entries()?;
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        for entry in entries {
            check_cancelled(cancel)?;
            if found.done {
                return Ok(());
            }
            if !self.include_hidden && entry.name.as_bytes().starts_with(b".") {
                continue;
            }
            let path = relative.join(&entry.name);
            let matches = match &self.pattern {
                Some(pattern) => pattern.is_match(&entry.name),
                None => true,
            };
            if matches {
                self.record(&entry, &path, found);
            }
            let is_dir = entry
                .stat
                .is_some_and(|stat| stat.kind == safe_fs::EntryKind::Dir);
            if found.done || !is_dir || depth >= self.depth {
                continue;
            }
            match directory.open_subdir(policy, &entry.name) {
                Ok(subdirectory) => {
                    if let Err(error) =
                        self.visit(policy, &subdirectory, &path, depth + 1, found, cancel)
                    {
                        if matches!(error, ToolError::Cancelled) {
                            return Err(error);
                        }
                        tracing::debug!(%error, "list_directory: skipped an unreadable directory");
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "list_directory: skipped an unreadable directory");
                }
            }
        }
        Ok(())
    }

    /// Count a matching entry, and list it when it falls on the page and fits the budget.
    fn record(&self, entry: &safe_fs::DirEntry, path: &Path, found: &mut Found) {
        found.matched += 1;
        if found.matched > self.offset && !found.page_full {
            let listed = describe(entry, path);
            let cost =
                json_string_cost(&listed.name) + json_string_cost(&listed.path) + ENTRY_OVERHEAD;
            if found.entries.len() < self.limit as usize && found.budget.take(cost) {
                found.entries.push(listed);
                return;
            }
            found.page_full = true;
        }
        if found.matched >= COUNT_CAP {
            found.done = true;
        }
    }
}

fn describe(entry: &safe_fs::DirEntry, path: &Path) -> Entry {
    let stat = entry.stat;
    Entry {
        name: entry.name.to_string_lossy().into_owned(),
        path: path.to_string_lossy().into_owned(),
        kind: stat.map_or(Kind::Other, |stat| Kind::of_entry(stat.kind)),
        size: stat.map_or(0, |stat| stat.size),
        modified: stat
            .and_then(|stat| stat.modified)
            .map(skippy_core::time::rfc3339),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;
    use std::os::unix::fs::symlink;

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn params(path: &str) -> Params {
        Params {
            path: path.into(),
            recursive: false,
            max_depth: None,
            pattern: None,
            include_hidden: false,
            offset: 0,
            limit: None,
        }
    }

    fn paths(out: &Output) -> Vec<&str> {
        out.entries
            .iter()
            .map(|entry| entry.path.as_str())
            .collect()
    }

    fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.txt"), "12345").unwrap();
        std::fs::write(root.join("b.rs"), "fn main() {}").unwrap();
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("sub/c.rs"), "").unwrap();
        std::fs::write(root.join("sub/deeper/d.rs"), "").unwrap();
        std::fs::write(root.join(".hidden"), "").unwrap();
        std::fs::write(outside.path().join("secret.rs"), "").unwrap();
        symlink(outside.path(), root.join("link_out")).unwrap();
        (dir, outside)
    }

    #[tokio::test]
    async fn lists_one_level_sorted_with_kinds() {
        let (dir, _outside) = tree();
        let out = ListDirectory
            .run(ctx(dir.path()), params("."))
            .await
            .unwrap();
        assert_eq!(paths(&out), ["a.txt", "b.rs", "link_out", "sub"]);
        assert_eq!(out.total, 4);
        assert!(!out.truncated);
        assert_eq!(out.next_offset, None);
        let kinds: Vec<Kind> = out.entries.iter().map(|entry| entry.kind).collect();
        assert_eq!(kinds, [Kind::File, Kind::File, Kind::Symlink, Kind::Dir]);
        assert_eq!(out.entries[0].size, 5);
        assert_eq!(out.entries[0].name, "a.txt");
        assert!(out.entries[0].modified.as_deref().unwrap().ends_with('Z'));

        let mut hidden = params(".");
        hidden.include_hidden = true;
        let out = ListDirectory.run(ctx(dir.path()), hidden).await.unwrap();
        assert_eq!(paths(&out)[0], ".hidden");
    }

    #[tokio::test]
    async fn recursive_walk_never_follows_links_and_filters_by_glob() {
        let (dir, _outside) = tree();
        let mut recursive = params(".");
        recursive.recursive = true;
        let out = ListDirectory.run(ctx(dir.path()), recursive).await.unwrap();
        assert_eq!(
            paths(&out),
            [
                "a.txt",
                "b.rs",
                "link_out",
                "sub",
                "sub/c.rs",
                "sub/deeper",
                "sub/deeper/d.rs"
            ]
        );

        let mut globbed = params(".");
        globbed.recursive = true;
        globbed.pattern = Some("*.rs".into());
        let out = ListDirectory.run(ctx(dir.path()), globbed).await.unwrap();
        assert_eq!(paths(&out), ["b.rs", "sub/c.rs", "sub/deeper/d.rs"]);
        assert_eq!(out.entries[2].name, "d.rs");

        let mut shallow = params("sub");
        shallow.max_depth = Some(2);
        let out = ListDirectory.run(ctx(dir.path()), shallow).await.unwrap();
        assert_eq!(paths(&out), ["c.rs", "deeper", "deeper/d.rs"]);
    }

    #[tokio::test]
    async fn pages_cover_every_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..25 {
            std::fs::write(dir.path().join(format!("f{n:02}")), "").unwrap();
        }
        let mut all = Vec::new();
        let mut offset = 0;
        let mut offsets = Vec::new();
        loop {
            let mut page = params(".");
            page.offset = offset;
            page.limit = Some(10);
            let out = ListDirectory.run(ctx(dir.path()), page).await.unwrap();
            assert_eq!(out.total, 25);
            all.extend(out.entries.into_iter().map(|entry| entry.name));
            offsets.push(out.next_offset);
            match out.next_offset {
                Some(next) => offset = next,
                None => break,
            }
        }
        assert_eq!(offsets, [Some(10), Some(20), None]);
        let expected: Vec<String> = (0..25).map(|n| format!("f{n:02}")).collect();
        assert_eq!(all, expected);
    }

    #[tokio::test]
    async fn the_byte_budget_also_pages() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..100 {
            std::fs::write(
                dir.path().join(format!("{}{n:03}", "long_name_".repeat(4))),
                "",
            )
            .unwrap();
        }
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.server.max_output_bytes = 4096;
        let out = ListDirectory
            .run(ToolCtx::for_tests(config), params("."))
            .await
            .unwrap();
        assert!(out.truncated);
        assert!(out.entries.len() < 100 && !out.entries.is_empty());
        assert_eq!(out.next_offset, Some(out.entries.len() as u64));
        assert!(serde_json::to_string(&out).unwrap().len() <= 4096);
    }

    #[tokio::test]
    async fn bad_arguments_are_refused() {
        let (dir, _outside) = tree();
        let error = ListDirectory
            .run(ctx(dir.path()), params("a.txt"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let error = ListDirectory
            .run(ctx(dir.path()), params("link_out"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let mut bad = params(".");
        bad.pattern = Some("[".into());
        let error = ListDirectory.run(ctx(dir.path()), bad).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let mut bad = params(".");
        bad.limit = Some(0);
        let error = ListDirectory.run(ctx(dir.path()), bad).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[tokio::test]
    async fn defect_limits_are_clamped_not_refused() {
        let (dir, _outside) = tree();
        let mut large = params(".");
        large.limit = Some(5001);
        large.max_depth = Some(1000);
        let out = ListDirectory.run(ctx(dir.path()), large).await.unwrap();
        assert_eq!(out.limit_clamped_to, Some(MAX_LIMIT));
        assert_eq!(out.max_depth_clamped_to, Some(MAX_DEPTH));
        assert!(!out.entries.is_empty());
        let out = ListDirectory
            .run(ctx(dir.path()), params("."))
            .await
            .unwrap();
        assert_eq!(
            (out.limit_clamped_to, out.max_depth_clamped_to),
            (None, None)
        );
    }
}
