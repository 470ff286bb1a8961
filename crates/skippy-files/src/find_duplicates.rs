//! `find_duplicates`: groups of files with identical content under a directory.
//!
//! Three passes, each cheaper than the next would be: files are grouped by size; same-size files are
//! told apart by a SHA-256 of their first 4 KiB; only files that still collide are hashed whole.
//! Hashing runs on several threads with large buffers and reports progress. The walk skips symbolic
//! links, empty files and (unless `include_hidden`) dot entries; it does NOT apply .gitignore rules,
//! because ignored build output and caches use disk space like anything else. Hard links to one inode
//! are one file (they take no extra space), shown under the first path in path order.
//!
//! Output: groups sorted by wasted bytes (size × (copies − 1)), largest first, capped by
//! `max_groups` and the output budget (a group too big for the budget lists as many paths as fit;
//! `count` is the real number). `wasted_bytes` sums every group found, including those cut.
//! No side effects. Files are hashed through `skippy_core::safe_fs` (opened beneath their root
//! without following links, non-blocking, verified), never by the walker's path alone.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ignore::WalkState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skippy_core::clamp;
use skippy_core::limits::Budget;
use skippy_core::safe_fs;
use skippy_core::{
    Access, Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled,
};
use tokio_util::sync::CancellationToken;

use crate::common::{
    ThreadCollector, display_join, hash_reader, into_items, json_string_cost, walker_threads,
};

const DEFAULT_MIN_SIZE: u64 = 1024;
const DEFAULT_MAX_GROUPS: u32 = 100;
const MAX_GROUPS: u32 = 1000;
/// Bytes hashed by the cheap second pass.
const HEAD_BYTES: u64 = 4096;
/// JSON cost of one group besides its paths: keys, size, count, the 64-character digest.
const GROUP_OVERHEAD: usize = 120;
/// Minimum time between progress notifications.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first root
    pub path: String,
    /// Bytes; default 1024
    pub min_size: Option<u64>,
    /// Default 100, max 1000 (larger is clamped)
    pub max_groups: Option<u32>,
    /// Include dot entries
    #[serde(default)]
    pub include_hidden: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Group {
    pub size: u64,
    pub sha256: String,
    pub count: u64,
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub groups: Vec<Group>,
    /// Over all groups found
    pub wasted_bytes: u64,
    pub files_scanned: u64,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_groups_clamped_to: Option<u32>,
}

pub struct FindDuplicates;

impl Tool for FindDuplicates {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "find_duplicates";
    const TITLE: &'static str = "Find duplicate files";
    const DESCRIPTION: &'static str =
        "Groups of identical files under a directory, largest waste first.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let max_groups = clamp::limit(
            "max_groups",
            params.max_groups,
            DEFAULT_MAX_GROUPS,
            MAX_GROUPS,
        )?;
        let root = ctx.read_path(&params.path)?;
        let metadata = std::fs::metadata(root.as_path())
            .map_err(|error| ToolError::io(root.as_path(), &error))?;
        if !metadata.is_dir() {
            return Err(ToolError::invalid(format!(
                "`{}` is not a directory",
                params.path
            )));
        }
        let scan = Scan {
            ctx: ctx.clone(),
            root: root.into_path_buf(),
            raw: params.path,
            min_size: params.min_size.unwrap_or(DEFAULT_MIN_SIZE).max(1),
            max_groups: max_groups.value as usize,
            include_hidden: params.include_hidden,
            budget: Budget::for_output(ctx.max_output_bytes()),
        };
        let mut output = ctx.blocking(move |cancel| scan.run(&cancel)).await?;
        output.max_groups_clamped_to = max_groups.clamped_to;
        Ok(output)
    }
}

struct Scan {
    ctx: ToolCtx,
    root: PathBuf,
    raw: String,
    min_size: u64,
    max_groups: usize,
    include_hidden: bool,
    budget: Budget,
}

/// A SHA-256 digest.
type DigestBytes = [u8; 32];
/// A candidate with the digest of its current pass.
type Hashed = (Candidate, DigestBytes);

/// A file that may have twins.
struct Candidate {
    path: PathBuf,
    size: u64,
    device: u64,
    inode: u64,
}

/// Rate-limits progress notifications across threads.
struct Throttle {
    start: Instant,
    last_ms: AtomicU64,
}

impl Throttle {
    /// `last_ms` value meaning "nothing reported yet": the first call reports at once.
    const NEVER: u64 = u64::MAX;

    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(Self::NEVER),
        }
    }

    fn ready(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last_ms.load(Ordering::Relaxed);
        let due =
            last == Self::NEVER || now >= last.saturating_add(PROGRESS_EVERY.as_millis() as u64);
        due && self
            .last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

impl Scan {
    fn run(&self, cancel: &CancellationToken) -> ToolResult<Output> {
        let (candidates, files_scanned) = self.walk(cancel)?;
        let by_size = same_size_groups(candidates);

        // Pass 2: the first 4 KiB. For files no longer than that, this is already the full digest.
        let heads = hash_all(&self.ctx, &by_size, HEAD_BYTES, "partial", cancel)?;
        let mut complete: Vec<(u64, DigestBytes, PathBuf)> = Vec::new();
        let mut to_hash_whole = Vec::new();
        for group in regroup(by_size, heads) {
            if group[0].0.size <= HEAD_BYTES {
                complete.extend(
                    group
                        .into_iter()
                        .map(|(candidate, digest)| (candidate.size, digest, candidate.path)),
                );
            } else {
                to_hash_whole.extend(group.into_iter().map(|(candidate, _)| candidate));
            }
        }

        // Pass 3: whole files, only for those whose size and first 4 KiB collide.
        let wholes = hash_all(&self.ctx, &to_hash_whole, u64::MAX, "full", cancel)?;
        for group in regroup(to_hash_whole, wholes) {
            complete.extend(
                group
                    .into_iter()
                    .map(|(candidate, digest)| (candidate.size, digest, candidate.path)),
            );
        }
        Ok(self.report(complete, files_scanned))
    }

    /// Walk the tree and keep regular files of at least `min_size` bytes, one per inode.
    fn walk(&self, cancel: &CancellationToken) -> ToolResult<(Vec<Candidate>, u64)> {
        let shared = Mutex::new(Vec::new());
        let scanned = AtomicU64::new(0);
        let throttle = Throttle::new();
        ignore::WalkBuilder::new(&self.root)
            .standard_filters(false)
            .hidden(!self.include_hidden)
            .follow_links(false)
            .threads(walker_threads())
            .build_parallel()
            .run(|| {
                let mut collector = ThreadCollector::new(&shared);
                let (scanned, throttle) = (&scanned, &throttle);
                Box::new(move |entry| {
                    if cancel.is_cancelled() {
                        return WalkState::Quit;
                    }
                    let Ok(entry) = entry else {
                        return WalkState::Continue;
                    };
                    if !entry
                        .file_type()
                        .is_some_and(|file_type| file_type.is_file())
                    {
                        return WalkState::Continue;
                    }
                    let count = scanned.fetch_add(1, Ordering::Relaxed) + 1;
                    if throttle.ready() {
                        self.ctx
                            .progress(count as f64, None, || format!("scanned {count} files"));
                    }
                    let Ok(metadata) = entry.metadata() else {
                        return WalkState::Continue;
                    };
                    if metadata.len() >= self.min_size {
                        collector.items.push(Candidate {
                            path: entry.into_path(),
                            size: metadata.len(),
                            device: metadata.dev(),
                            inode: metadata.ino(),
                        });
                    }
                    WalkState::Continue
                })
            });
        check_cancelled(cancel)?;
        let mut candidates = into_items(shared);
        candidates.sort_by(|a, b| (a.device, a.inode, &a.path).cmp(&(b.device, b.inode, &b.path)));
        candidates
            .dedup_by(|later, first| later.device == first.device && later.inode == first.inode);
        Ok((candidates, scanned.load(Ordering::Relaxed)))
    }

    fn report(&self, complete: Vec<(u64, DigestBytes, PathBuf)>, files_scanned: u64) -> Output {
        let mut by_digest: HashMap<(u64, DigestBytes), Vec<PathBuf>> = HashMap::new();
        for (size, digest, path) in complete {
            by_digest.entry((size, digest)).or_default().push(path);
        }
        let mut groups: Vec<(u64, String, Vec<PathBuf>)> = by_digest
            .into_iter()
            .filter(|(_, paths)| paths.len() > 1)
            .map(|((size, digest), mut paths)| {
                paths.sort();
                (size, hex::encode(digest), paths)
            })
            .collect();
        let wasted = |size: u64, copies: usize| size * (copies as u64 - 1);
        groups.sort_by(|a, b| {
            wasted(b.0, b.2.len())
                .cmp(&wasted(a.0, a.2.len()))
                .then_with(|| a.1.cmp(&b.1))
        });
        let wasted_bytes = groups
            .iter()
            .map(|(size, _, paths)| wasted(*size, paths.len()))
            .sum();
        let mut truncated = groups.len() > self.max_groups;
        groups.truncate(self.max_groups);

        let mut budget = self.budget;
        let mut shown = Vec::with_capacity(groups.len());
        for (size, sha256, paths) in groups {
            let count = paths.len() as u64;
            let mut listed = Vec::with_capacity(paths.len());
            let mut fits = budget.take(GROUP_OVERHEAD);
            for path in &paths {
                if !fits {
                    break;
                }
                let relative = path.strip_prefix(&self.root).unwrap_or(path);
                let text = display_join(&self.raw, relative);
                fits = budget.take(json_string_cost(&text));
                if fits {
                    listed.push(text);
                }
            }
            if !fits {
                truncated = true;
                if shown.is_empty() && listed.len() > 1 {
                    shown.push(Group {
                        size,
                        sha256,
                        count,
                        paths: listed,
                    });
                }
                break;
            }
            shown.push(Group {
                size,
                sha256,
                count,
                paths: listed,
            });
        }
        Output {
            groups: shown,
            wasted_bytes,
            files_scanned,
            truncated,
            max_groups_clamped_to: None,
        }
    }
}

/// Keep only files that share their size with another; each group is sorted by path.
fn same_size_groups(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| (a.size, &a.path).cmp(&(b.size, &b.path)));
    let mut kept = Vec::with_capacity(candidates.len());
    let mut run: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        if run.last().is_some_and(|last| last.size != candidate.size) {
            keep_run(&mut run, &mut kept);
        }
        run.push(candidate);
    }
    keep_run(&mut run, &mut kept);
    kept
}

fn keep_run(run: &mut Vec<Candidate>, kept: &mut Vec<Candidate>) {
    if run.len() > 1 {
        kept.append(run);
    } else {
        run.clear();
    }
}

/// Group candidates by (size, digest), dropping files that could not be read and singletons.
fn regroup(candidates: Vec<Candidate>, digests: Vec<Option<DigestBytes>>) -> Vec<Vec<Hashed>> {
    let mut groups: HashMap<(u64, DigestBytes), Vec<Hashed>> = HashMap::new();
    for (candidate, digest) in candidates.into_iter().zip(digests) {
        if let Some(digest) = digest {
            groups
                .entry((candidate.size, digest))
                .or_default()
                .push((candidate, digest));
        }
    }
    groups
        .into_values()
        .filter(|group| group.len() > 1)
        .collect()
}

/// SHA-256 of the first `limit` bytes of every candidate, on several threads. An unreadable file
/// gets `None`. Progress is reported in bytes hashed.
fn hash_all(
    ctx: &ToolCtx,
    candidates: &[Candidate],
    limit: u64,
    pass: &str,
    cancel: &CancellationToken,
) -> ToolResult<Vec<Option<DigestBytes>>> {
    let total_bytes: u64 = candidates
        .iter()
        .map(|candidate| candidate.size.min(limit))
        .sum();
    let next = AtomicUsize::new(0);
    let done_bytes = AtomicU64::new(0);
    let throttle = Throttle::new();
    let results = Mutex::new(vec![None; candidates.len()]);
    let threads = walker_threads().min(candidates.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(candidate) = candidates.get(index) else {
                        break;
                    };
                    if cancel.is_cancelled() {
                        break;
                    }
                    let digest = hash_prefix(&ctx.config.files, candidate, limit, cancel);
                    local.push((index, digest));
                    let done = done_bytes.fetch_add(candidate.size.min(limit), Ordering::Relaxed);
                    if throttle.ready() {
                        ctx.progress(done as f64, Some(total_bytes as f64), || {
                            format!(
                                "{pass} hashing: {} of {} MiB",
                                done >> 20,
                                total_bytes >> 20
                            )
                        });
                    }
                }
                let mut results = match results.lock() {
                    Ok(results) => results,
                    Err(poisoned) => poisoned.into_inner(),
                };
                for (index, digest) in local {
                    results[index] = digest;
                }
            });
        }
    });
    check_cancelled(cancel)?;
    Ok(into_items(results))
}

/// SHA-256 of the first `limit` bytes of a candidate. The walker found it by path, so it is opened
/// race-safely (`safe_fs`: beneath its root, no link followed, `O_NONBLOCK`, descriptor verified)
/// and must still be the inode the walk saw; anything else counts as unreadable.
fn hash_prefix(
    policy: &PathPolicy,
    candidate: &Candidate,
    limit: u64,
    cancel: &CancellationToken,
) -> Option<DigestBytes> {
    let path = candidate.path.as_path();
    let mut file = match safe_fs::open_read_found(policy, path, Access::Read) {
        Ok(file) => file,
        Err(error) => {
            tracing::debug!(%error, path = %path.display(), "find_duplicates: skipped a file");
            return None;
        }
    };
    let metadata = file.metadata().ok()?;
    if (metadata.dev(), metadata.ino()) != (candidate.device, candidate.inode) {
        return None;
    }
    let mut hasher = Sha256::new();
    hash_reader(&mut file, &mut hasher, path, cancel, limit).ok()?;
    Some(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn params() -> Params {
        Params {
            path: ".".into(),
            min_size: None,
            max_groups: None,
            include_hidden: false,
        }
    }

    fn content(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|n| (n as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/deep")).unwrap();
        let a = content(1, 5000);
        for path in ["a1", "sub/a2", "sub/deep/a3", ".a4"] {
            std::fs::write(root.join(path), &a).unwrap();
        }
        // Same size and first 4 KiB as `a`, different tail: only the full hash tells them apart.
        let mut c = a.clone();
        c[4999] ^= 0xff;
        std::fs::write(root.join("c"), &c).unwrap();
        let b = content(2, 2000);
        std::fs::write(root.join("b1"), &b).unwrap();
        std::fs::write(root.join("b2"), &b).unwrap();
        std::fs::hard_link(root.join("b1"), root.join("b1_hard")).unwrap();
        std::fs::write(root.join("d"), content(3, 2000)).unwrap();
        std::fs::write(root.join("tiny1"), "0123456789").unwrap();
        std::fs::write(root.join("tiny2"), "0123456789").unwrap();
        std::fs::write(root.join("e1"), "").unwrap();
        std::fs::write(root.join("e2"), "").unwrap();
        symlink(root.join("a1"), root.join("link_to_a1")).unwrap();
        dir
    }

    #[tokio::test]
    async fn finds_groups_in_three_passes_sorted_by_waste() {
        let dir = fixture();
        let out = FindDuplicates.run(ctx(dir.path()), params()).await.unwrap();
        assert_eq!(out.groups.len(), 2);
        assert_eq!(out.groups[0].paths, ["a1", "sub/a2", "sub/deep/a3"]);
        assert_eq!((out.groups[0].size, out.groups[0].count), (5000, 3));
        assert_eq!(
            out.groups[0].sha256,
            crate::common::sha256_hex(&content(1, 5000))
        );
        assert_eq!(
            out.groups[1].paths,
            ["b1", "b2"],
            "a hard link is not a copy"
        );
        assert_eq!(out.wasted_bytes, 5000 * 2 + 2000);
        assert_eq!(out.files_scanned, 12);
        assert!(!out.truncated);
    }

    #[tokio::test]
    async fn hidden_small_files_and_the_group_cap() {
        let dir = fixture();
        let mut everything = params();
        everything.include_hidden = true;
        everything.min_size = Some(0);
        let out = FindDuplicates
            .run(ctx(dir.path()), everything)
            .await
            .unwrap();
        let paths: Vec<&Vec<String>> = out.groups.iter().map(|group| &group.paths).collect();
        assert_eq!(
            paths,
            [
                &vec![".a4", "a1", "sub/a2", "sub/deep/a3"],
                &vec!["b1", "b2"],
                &vec!["tiny1", "tiny2"]
            ]
        );
        assert_eq!(out.wasted_bytes, 5000 * 3 + 2000 + 10);

        let mut capped = params();
        capped.max_groups = Some(1);
        let out = FindDuplicates.run(ctx(dir.path()), capped).await.unwrap();
        assert_eq!(out.groups.len(), 1);
        assert!(out.truncated);
        assert_eq!(out.wasted_bytes, 5000 * 2 + 2000);
    }

    #[tokio::test]
    async fn reports_hashing_progress_and_honours_cancellation() {
        struct Recorder(std::sync::Mutex<Vec<String>>);
        impl skippy_core::ProgressSink for Recorder {
            fn report(&self, _progress: f64, _total: Option<f64>, message: Option<String>) {
                self.0.lock().unwrap().extend(message);
            }
        }
        let dir = fixture();
        let recorder = std::sync::Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        let with_progress = ctx(dir.path()).with_progress(recorder.clone());
        FindDuplicates.run(with_progress, params()).await.unwrap();
        let messages = recorder.0.lock().unwrap().clone();
        assert!(
            messages
                .iter()
                .any(|message| message.starts_with("scanned ")),
            "{messages:?}"
        );

        let cancelled = ctx(dir.path());
        cancelled.cancel.cancel();
        let error = FindDuplicates.run(cancelled, params()).await.unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }

    #[tokio::test]
    async fn refuses_files_and_bad_caps() {
        let dir = fixture();
        let mut file = params();
        file.path = "a1".into();
        let error = FindDuplicates.run(ctx(dir.path()), file).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let mut bad = params();
        bad.max_groups = Some(0);
        let error = FindDuplicates.run(ctx(dir.path()), bad).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[tokio::test]
    async fn defect_limits_are_clamped_not_refused() {
        let dir = fixture();
        let mut large = params();
        large.max_groups = Some(u32::MAX);
        let out = FindDuplicates.run(ctx(dir.path()), large).await.unwrap();
        assert_eq!(out.max_groups_clamped_to, Some(MAX_GROUPS));
        assert!(!out.groups.is_empty());
        let out = FindDuplicates.run(ctx(dir.path()), params()).await.unwrap();
        assert_eq!(out.max_groups_clamped_to, None);
    }
}
