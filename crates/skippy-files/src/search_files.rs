//! `search_files`: search file contents with a regex (ripgrep's engine), or find files by name.
//!
//! The walk is ripgrep's: parallel over the machine's cores, symbolic links never followed, hidden
//! entries skipped unless `include_hidden`, and `.gitignore` (inside git repositories), `.ignore`
//! and global git excludes respected unless `respect_gitignore` is false. The matcher is built once
//! and each walker thread keeps its own searcher. Files with a NUL byte are treated as binary and
//! skipped. Matching is line by line; lines are shown cut to 500 characters.
//!
//! Results are sorted by path, then line. Limits: `max_results` matches (or files, with only
//! `name_glob`) and the output byte budget. A cut result is the first page in that order, with
//! `truncated` and `next_after`, the key of its last result; passing it back as `after` returns
//! the results after it, so paging visits every result once. The walk keeps only the smallest
//! results found so far; once they fill a page, files and directories sorting after its last path
//! are skipped unsearched, as is everything up to the cursor. Unreadable files are skipped. No
//! side effects.
//!
//! The walker opens directories by path, so each file is opened through `skippy_core::safe_fs`
//! (beneath its root, no link followed, `O_NONBLOCK`, the descriptor's type and real path verified)
//! before a byte is searched, and a name listed without `query` is verified the same way.

use std::cmp::Ordering as KeyOrder;
use std::collections::{BinaryHeap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use globset::GlobMatcher;
use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::WalkState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp;
use skippy_core::limits::Budget;
use skippy_core::patterns::{self, GlobOptions, RegexOptions};
use skippy_core::safe_fs;
use skippy_core::{
    Access, Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled,
};
use tokio_util::sync::CancellationToken;

use crate::common::{display_join, json_string_cost, walker_threads};

const DEFAULT_MAX_RESULTS: u32 = 200;
const MAX_RESULTS: u32 = 10_000;
const MAX_CONTEXT: u32 = 10;
/// Lines are shown up to this many characters, then cut with an ellipsis.
const MAX_LINE_CHARS: usize = 500;
/// JSON cost of one match besides its texts: keys, line number, punctuation.
const MATCH_OVERHEAD: usize = 40;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Dir or file: absolute or relative to first root
    pub path: String,
    /// Regex, per line
    pub query: Option<String>,
    /// Glob on file names, e.g. *.rs
    pub name_glob: Option<String>,
    /// Match case
    #[serde(default)]
    pub case_sensitive: bool,
    /// query is not a regex
    #[serde(default)]
    pub literal: bool,
    /// Max 10 (larger is clamped)
    #[serde(default)]
    pub context_lines: u32,
    /// Matches, or files without query; default 200, max 10000 (larger is clamped)
    pub max_results: Option<u32>,
    /// next_after of the last page
    pub after: Option<String>,
    /// Include dot entries
    #[serde(default)]
    pub include_hidden: bool,
    /// Skip .gitignore/.ignore matches
    #[serde(default = "yes")]
    pub respect_gitignore: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Match {
    pub path: String,
    pub line_number: u64,
    pub line: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_before: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_after: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<Match>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    pub files_searched: u64,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results_clamped_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_lines_clamped_to: Option<u32>,
}

pub struct SearchFiles;

impl Tool for SearchFiles {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "search_files";
    const TITLE: &'static str = "Search files";
    const DESCRIPTION: &'static str = "Search file contents by regex or literal (ripgrep, honours .gitignore), or find files by name.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let budget = Budget::for_output(ctx.max_output_bytes());
        let search = Search::new(&params, budget)?;
        let root = ctx.read_path(&params.path)?;
        if !root.exists() {
            return Err(ToolError::io(
                root.as_path(),
                &std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        // The walker compiles every ignore file it meets, and one written to hold a glob bomb
        // would overflow its stack (an abort no `catch_unwind` catches). So each ignore file is
        // checked before the walker reads it: the root's and its parents' now, each directory's
        // as the walker is about to enter it.
        let bad_ignore_file: Arc<Mutex<Option<ToolError>>> = Arc::default();
        let mut builder = ignore::WalkBuilder::new(root.as_path());
        builder
            .hidden(!params.include_hidden)
            .git_ignore(params.respect_gitignore)
            .git_global(params.respect_gitignore)
            .git_exclude(params.respect_gitignore)
            .ignore(params.respect_gitignore)
            .parents(params.respect_gitignore)
            .follow_links(false)
            .threads(walker_threads());
        if params.respect_gitignore {
            for directory in root.as_path().ancestors() {
                check_ignore_files(directory)?;
            }
            let slot = bad_ignore_file.clone();
            builder.filter_entry(move |entry| {
                if entry.depth() == 0 || !entry.file_type().is_some_and(|kind| kind.is_dir()) {
                    return true;
                }
                match check_ignore_files(entry.path()) {
                    Ok(()) => true,
                    Err(error) => {
                        if let Ok(mut slot) = slot.lock() {
                            slot.get_or_insert(error);
                        }
                        false
                    }
                }
            });
        }
        let walker = builder.build_parallel();
        let config = ctx.config.clone();
        let output = ctx
            .blocking(move |cancel| search.run(&config.files, walker, root.as_path(), &cancel))
            .await?;
        if let Some(error) = bad_ignore_file.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(error);
        }
        Ok(output)
    }
}

/// The ignore files the walker would read in `directory`, checked (see [`patterns::check_ignore_file`]).
fn check_ignore_files(directory: &Path) -> ToolResult<()> {
    for name in [".gitignore", ".ignore", ".git/info/exclude"] {
        patterns::check_ignore_file(&directory.join(name))?;
    }
    Ok(())
}

/// Where the previous page ended: the key of its last result, relative to the search root.
#[derive(Debug)]
struct Cursor {
    path: PathBuf,
    /// 0 for a file listed by name.
    line_number: u64,
}

impl Cursor {
    /// Parse `next_after` as written by [`Cursor::encode`]: `<line>:<path>` for matches, the path
    /// alone for files, the path being shown as joined onto `raw`.
    fn parse(text: &str, raw: &str, by_line: bool) -> ToolResult<Cursor> {
        let malformed = || {
            ToolError::invalid(
                "after must be the next_after of a previous call with the same path and query",
            )
        };
        let (line_number, shown) = if by_line {
            let (number, shown) = text.split_once(':').ok_or_else(malformed)?;
            if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(malformed());
            }
            (number.parse::<u64>().map_err(|_| malformed())?, shown)
        } else {
            (0, text)
        };
        let relative = undo_display_join(raw, shown).ok_or_else(malformed)?;
        Ok(Cursor {
            path: PathBuf::from(relative),
            line_number,
        })
    }

    fn encode(shown: &str, line_number: Option<u64>) -> String {
        match line_number {
            Some(number) => format!("{number}:{shown}"),
            None => shown.to_string(),
        }
    }
}

/// The path relative to the search root that `display_join(raw, ..)` showed as `shown`.
fn undo_display_join<'a>(raw: &str, shown: &'a str) -> Option<&'a str> {
    if shown.is_empty() {
        return None;
    }
    if raw == "." || raw == "./" {
        return Some(shown);
    }
    if shown == raw {
        return Some("");
    }
    let rest = shown.strip_prefix(raw)?;
    if raw.ends_with('/') {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// Everything decided before the walk: compiled matchers, limits and the cursor.
struct Search {
    matcher: Option<RegexMatcher>,
    glob: Option<(GlobMatcher, bool)>,
    context: usize,
    max_results: usize,
    /// The ceilings the request was clamped to, reported in the output.
    max_results_clamped_to: Option<u32>,
    context_lines_clamped_to: Option<u32>,
    budget: Budget,
    /// The path argument as given: results are shown joined onto it.
    raw: String,
    after: Option<Cursor>,
}

impl Search {
    fn new(params: &Params, budget: Budget) -> ToolResult<Search> {
        if params.query.is_none() && params.name_glob.is_none() {
            return Err(ToolError::invalid(
                "give query (to search contents), name_glob (to find files), or both",
            ));
        }
        let max_results = clamp::limit(
            "max_results",
            params.max_results,
            DEFAULT_MAX_RESULTS,
            MAX_RESULTS,
        )?;
        let context = clamp::range(
            "context_lines",
            Some(params.context_lines),
            0,
            0,
            MAX_CONTEXT,
        )?;
        let matcher = match params.query.as_deref() {
            Some("") => return Err(ToolError::invalid("query is empty")),
            Some(query) => Some(patterns::grep_matcher(
                "query",
                query,
                RegexOptions {
                    case_insensitive: !params.case_sensitive,
                    literal: params.literal,
                },
            )?),
            None => None,
        };
        let glob = match params.name_glob.as_deref() {
            Some(pattern) => {
                let options = GlobOptions {
                    literal_separator: true,
                    case_insensitive: false,
                };
                let glob = patterns::glob("name_glob", pattern, options)?;
                Some((glob, pattern.contains('/')))
            }
            None => None,
        };
        let after = params
            .after
            .as_deref()
            .map(|text| Cursor::parse(text, &params.path, matcher.is_some()))
            .transpose()?;
        Ok(Search {
            matcher,
            glob,
            context: context.value as usize,
            max_results: max_results.value as usize,
            max_results_clamped_to: max_results.clamped_to,
            context_lines_clamped_to: context.clamped_to,
            budget,
            raw: params.path.clone(),
            after,
        })
    }

    /// Results kept: one past `max_results`, so that `truncated` means something was left out.
    fn capacity(&self) -> usize {
        self.max_results + 1
    }

    fn run(
        &self,
        policy: &PathPolicy,
        walker: ignore::WalkParallel,
        root: &Path,
        cancel: &CancellationToken,
    ) -> ToolResult<Output> {
        let shared = Shared {
            cancel,
            files_searched: AtomicU64::new(0),
            bound_version: AtomicUsize::new(0),
            best: Mutex::new(Best::new(self)),
        };
        walker.run(|| {
            let mut visitor = Visitor {
                search: self,
                policy,
                shared: &shared,
                root,
                searcher: SearcherBuilder::new()
                    .binary_detection(BinaryDetection::quit(b'\x00'))
                    .line_number(true)
                    .before_context(self.context)
                    .after_context(self.context)
                    .build(),
                sink: FileSink::new(self, cancel),
                pending: Vec::new(),
                seen_version: 0,
                bound: None,
            };
            Box::new(move |entry| visitor.visit(entry))
        });
        check_cancelled(cancel)?;
        let files_searched = shared.files_searched.load(Ordering::Relaxed);
        let best = match shared.best.into_inner() {
            Ok(best) => best,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.page(best.heap.into_vec(), files_searched)
    }

    /// The output: `hits` in order, cut at `max_results` and at the byte budget.
    fn page(&self, mut hits: Vec<Hit>, files_searched: u64) -> ToolResult<Output> {
        hits.sort_unstable();
        let mut truncated = hits.len() > self.max_results;
        hits.truncate(self.max_results);
        let mut budget = self.budget;
        let mut shown = Vec::with_capacity(hits.len());
        for hit in hits {
            if !budget.take(hit.cost) {
                truncated = true;
                break;
            }
            shown.push((display_join(&self.raw, &hit.path), hit.found));
        }
        let next_after = match shown.last() {
            Some((path, found)) if truncated => Some(Cursor::encode(
                path,
                found.as_ref().map(|item| item.line_number),
            )),
            None if truncated => {
                return Err(ToolError::OutputTooLarge(
                    "the next result alone is larger than the output limit; lower context_lines"
                        .to_string(),
                ));
            }
            _ => None,
        };
        let (matches, files) = if self.matcher.is_some() {
            let matches = shown
                .into_iter()
                .filter_map(|(path, found)| found.map(|item| Match { path, ..item }))
                .collect();
            (Some(matches), None)
        } else {
            let files = shown.into_iter().map(|(path, _)| path).collect();
            (None, Some(files))
        };
        Ok(Output {
            matches,
            files,
            files_searched,
            truncated,
            next_after,
            max_results_clamped_to: self.max_results_clamped_to,
            context_lines_clamped_to: self.context_lines_clamped_to,
        })
    }
}

/// State shared by the walker threads.
struct Shared<'a> {
    cancel: &'a CancellationToken,
    files_searched: AtomicU64,
    /// Bumped on every change of the page's bound, so threads re-read it only when it moved.
    bound_version: AtomicUsize,
    /// The smallest results found so far.
    best: Mutex<Best>,
}

/// One result with its sort key (path relative to the root, then line) and its JSON cost.
#[derive(Debug)]
struct Hit {
    path: Arc<Path>,
    /// 0 for a file listed by name.
    line_number: u64,
    cost: usize,
    found: Option<Match>,
}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> KeyOrder {
        self.path
            .cmp(&other.path)
            .then(self.line_number.cmp(&other.line_number))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<KeyOrder> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Hit {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == KeyOrder::Equal
    }
}

impl Eq for Hit {}

/// The smallest results: a max-heap holding no more than a page, by count and by bytes.
struct Best {
    heap: BinaryHeap<Hit>,
    cost: usize,
    capacity: usize,
    budget: usize,
}

impl Best {
    fn new(search: &Search) -> Self {
        Self {
            heap: BinaryHeap::new(),
            cost: 0,
            capacity: search.capacity(),
            budget: search.budget.remaining(),
        }
    }

    /// A full page: a result after the largest one held cannot be shown.
    fn is_full(&self) -> bool {
        self.heap.len() >= self.capacity || self.cost > self.budget
    }

    /// Add `hit` unless it sorts after a full page; false when it was left out.
    fn push(&mut self, hit: Hit) -> bool {
        if self.is_full() && self.heap.peek().is_some_and(|largest| hit > *largest) {
            return false;
        }
        self.cost += hit.cost;
        self.heap.push(hit);
        while self.heap.len() > self.capacity || self.largest_is_spare() {
            if let Some(largest) = self.heap.pop() {
                self.cost -= largest.cost;
            }
        }
        true
    }

    /// The page is over the byte budget even without its largest result.
    fn largest_is_spare(&self) -> bool {
        self.heap
            .peek()
            .is_some_and(|largest| self.cost - largest.cost > self.budget)
    }

    /// Paths after this one cannot be on the page.
    fn bound(&self) -> Option<&Arc<Path>> {
        if self.is_full() {
            self.heap.peek().map(|largest| &largest.path)
        } else {
            None
        }
    }
}

/// One walker thread: its own searcher and sink, and the page bound it last read.
struct Visitor<'a> {
    search: &'a Search,
    /// Files are opened through the policy (`safe_fs`), never by the walker's path alone.
    policy: &'a PathPolicy,
    shared: &'a Shared<'a>,
    root: &'a Path,
    searcher: Searcher,
    sink: FileSink<'a>,
    /// One file's results, before they go to the shared page.
    pending: Vec<Hit>,
    /// The last `bound_version` read, and the bound read then.
    seen_version: usize,
    bound: Option<Arc<Path>>,
}

impl Visitor<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        if self.shared.cancel.is_cancelled() {
            return WalkState::Quit;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(%error, "search_files: skipped an unreadable entry");
                return WalkState::Continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        let relative = entry
            .path()
            .strip_prefix(self.root)
            .unwrap_or(Path::new(""));
        if file_type.is_dir() {
            if entry.depth() > 0 && self.skips_dir(relative) {
                return WalkState::Skip;
            }
            return WalkState::Continue;
        }
        if !file_type.is_file() || self.after_bound(relative) {
            return WalkState::Continue;
        }
        let skip_through = match &self.search.after {
            None => 0,
            Some(after) => match relative.cmp(&after.path) {
                KeyOrder::Less => return WalkState::Continue,
                KeyOrder::Equal if self.search.matcher.is_none() => return WalkState::Continue,
                KeyOrder::Equal => after.line_number,
                KeyOrder::Greater => 0,
            },
        };
        if let Some((glob, on_path)) = &self.search.glob {
            let candidate = if *on_path {
                relative
            } else {
                Path::new(entry.file_name())
            };
            if !glob.is_match(candidate) {
                return WalkState::Continue;
            }
        }
        self.shared.files_searched.fetch_add(1, Ordering::Relaxed);
        let Some(matcher) = &self.search.matcher else {
            // The walker found this name by path: list it only if it is really where it seems
            // (a directory swapped for a link mid-walk would show another directory's names).
            if let Err(error) = safe_fs::open_metadata(self.policy, entry.path(), Access::Read) {
                tracing::debug!(%error, path = %entry.path().display(), "search_files: skipped a file");
                return WalkState::Continue;
            }
            self.pending.push(Hit {
                path: Arc::from(relative),
                line_number: 0,
                cost: self.path_cost(relative),
                found: None,
            });
            self.publish();
            return WalkState::Continue;
        };
        self.sink.reset(skip_through);
        // The walker opens directories by path; each file is opened beneath its root without
        // following links, and its descriptor verified, before a byte is searched (`safe_fs`).
        let searched = safe_fs::open_read_found(self.policy, entry.path(), Access::Read)
            .map_err(|error| error.to_string())
            .and_then(|file| {
                self.searcher
                    .search_file(matcher, &file, &mut self.sink)
                    .map_err(|error| error.to_string())
            });
        if let Err(error) = searched {
            tracing::debug!(%error, path = %entry.path().display(), "search_files: skipped a file");
        }
        if self.sink.binary {
            // Matches found before the NUL byte are dropped: the file is binary as a whole.
            self.sink.matches.clear();
        }
        if !self.sink.matches.is_empty() {
            let path: Arc<Path> = Arc::from(relative);
            let path_cost = self.path_cost(relative);
            for item in self.sink.matches.drain(..) {
                let cost = path_cost
                    + json_string_cost(&item.line)
                    + item
                        .context_before
                        .iter()
                        .chain(&item.context_after)
                        .map(|line| json_string_cost(line))
                        .sum::<usize>()
                    + MATCH_OVERHEAD;
                self.pending.push(Hit {
                    path: Arc::clone(&path),
                    line_number: item.line_number,
                    cost,
                    found: Some(item),
                });
            }
            self.publish();
        }
        if self.shared.cancel.is_cancelled() {
            WalkState::Quit
        } else {
            WalkState::Continue
        }
    }

    /// JSON cost of a result's path as shown.
    fn path_cost(&self, relative: &Path) -> usize {
        json_string_cost(&display_join(&self.search.raw, relative))
    }

    /// A directory whose whole subtree sorts before the cursor or after the page.
    fn skips_dir(&mut self, relative: &Path) -> bool {
        if let Some(after) = &self.search.after
            && relative < after.path.as_path()
            && !after.path.starts_with(relative)
        {
            return true;
        }
        self.after_bound(relative)
    }

    /// True when every result under `relative` would sort after a full page's last result.
    fn after_bound(&mut self, relative: &Path) -> bool {
        let version = self.shared.bound_version.load(Ordering::Acquire);
        if version != self.seen_version {
            self.seen_version = version;
            self.bound = lock(&self.shared.best).bound().cloned();
        }
        self.bound
            .as_ref()
            .is_some_and(|bound| relative > bound.as_ref())
    }

    /// Add this file's results to the page, and note when that moved the page's bound.
    fn publish(&mut self) {
        let mut best = lock(&self.shared.best);
        let before = best.bound().cloned();
        // A file's results come in order: once one is left out, so are the rest.
        for hit in self.pending.drain(..) {
            if !best.push(hit) {
                break;
            }
        }
        let after = best.bound().cloned();
        let moved = match (&before, &after) {
            (Some(before), Some(after)) => !Arc::ptr_eq(before, after),
            (None, None) => false,
            _ => true,
        };
        if moved {
            self.shared.bound_version.fetch_add(1, Ordering::Release);
        }
        self.seen_version = self.shared.bound_version.load(Ordering::Acquire);
        self.bound = after;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Collects one file's matches with their context. Lines that are context for several matches are
/// reported once by the searcher; the sink hands them to every match they belong to.
struct FileSink<'a> {
    context: usize,
    /// More matches than this from one file can never all be on the page.
    capacity: usize,
    /// Matches up to this line are before the cursor: only context for later ones.
    skip_through: u64,
    cancel: &'a CancellationToken,
    matches: Vec<Match>,
    /// The last `context` lines seen, for the before-context of the next match.
    recent: VecDeque<(u64, String)>,
    binary: bool,
}

impl<'a> FileSink<'a> {
    fn new(search: &Search, cancel: &'a CancellationToken) -> Self {
        Self {
            context: search.context,
            capacity: search.capacity(),
            skip_through: 0,
            cancel,
            matches: Vec::new(),
            recent: VecDeque::with_capacity(search.context),
            binary: false,
        }
    }

    fn reset(&mut self, skip_through: u64) {
        self.matches.clear();
        self.recent.clear();
        self.binary = false;
        self.skip_through = skip_through;
    }

    /// Once the file has given all the matches it can, the line after which the last one's
    /// after-context is complete.
    fn done_after(&self) -> Option<u64> {
        if self.matches.len() < self.capacity {
            return None;
        }
        self.matches
            .last()
            .map(|item| item.line_number + self.context as u64)
    }

    /// Give a line to the after-context of the earlier matches it follows closely enough.
    fn attach_after(&mut self, line_number: u64, text: &str) {
        for item in self.matches.iter_mut().rev() {
            if item.line_number + self.context as u64 >= line_number
                && item.line_number < line_number
            {
                item.context_after.push(text.to_string());
            } else {
                break;
            }
        }
    }

    fn remember(&mut self, line_number: u64, text: String) {
        if self.context == 0 {
            return;
        }
        if self.recent.len() == self.context {
            self.recent.pop_front();
        }
        self.recent.push_back((line_number, text));
    }

    /// Whether the searcher should go on after `line_number`.
    fn wants_more(&self, line_number: u64) -> bool {
        !self.cancel.is_cancelled() && self.done_after().is_none_or(|last| line_number < last)
    }
}

impl Sink for FileSink<'_> {
    type Error = std::io::Error;

    fn matched(
        &mut self,
        _searcher: &Searcher,
        found: &SinkMatch<'_>,
    ) -> Result<bool, Self::Error> {
        let line_number = found.line_number().unwrap_or(0);
        let line = shown_line(found.bytes());
        if self.done_after().is_some() {
            // Past the file's share of the page: only after-context for the matches kept.
            self.attach_after(line_number, &line);
            return Ok(self.wants_more(line_number));
        }
        let mut context_before = Vec::new();
        if self.context > 0 {
            self.attach_after(line_number, &line);
            context_before = self
                .recent
                .iter()
                .filter(|(number, _)| number + self.context as u64 >= line_number)
                .map(|(_, text)| text.clone())
                .collect();
            self.remember(line_number, line.clone());
        }
        if line_number > self.skip_through {
            self.matches.push(Match {
                path: String::new(),
                line_number,
                line,
                context_before,
                context_after: Vec::new(),
            });
        }
        Ok(self.wants_more(line_number))
    }

    fn context(
        &mut self,
        _searcher: &Searcher,
        context: &SinkContext<'_>,
    ) -> Result<bool, Self::Error> {
        let line_number = context.line_number().unwrap_or(0);
        let line = shown_line(context.bytes());
        self.attach_after(line_number, &line);
        self.remember(line_number, line);
        Ok(self.wants_more(line_number))
    }

    fn binary_data(&mut self, _searcher: &Searcher, _offset: u64) -> Result<bool, Self::Error> {
        self.binary = true;
        Ok(false)
    }
}

/// A line as shown: without its line ending, invalid UTF-8 replaced, cut to [`MAX_LINE_CHARS`].
fn shown_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn query(text: &str) -> Params {
        Params {
            path: ".".into(),
            query: Some(text.into()),
            name_glob: None,
            case_sensitive: false,
            literal: false,
            context_lines: 0,
            max_results: None,
            after: None,
            include_hidden: false,
            respect_gitignore: true,
        }
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(root.join("a.txt"), "alpha\nbeta\nGamma\ndelta\nepsilon\n").unwrap();
        std::fs::write(root.join("sub/b.rs"), "fn beta() {}\nabc\na.c\n").unwrap();
        std::fs::write(root.join("ignored.txt"), "beta\n").unwrap();
        std::fs::write(root.join(".hidden.txt"), "beta\n").unwrap();
        std::fs::write(root.join("bin.dat"), b"beta\n\x00\x01\x02beta\n").unwrap();
        dir
    }

    fn hits(out: &Output) -> Vec<(String, u64)> {
        out.matches
            .as_ref()
            .unwrap()
            .iter()
            .map(|item| (item.path.clone(), item.line_number))
            .collect()
    }

    fn pairs(items: &[(&str, u64)]) -> Vec<(String, u64)> {
        items
            .iter()
            .map(|(path, line)| (path.to_string(), *line))
            .collect()
    }

    #[tokio::test]
    async fn regex_search_skips_ignored_hidden_and_binary_files() {
        let dir = fixture();
        let out = SearchFiles
            .run(ctx(dir.path()), query("bet?a"))
            .await
            .unwrap();
        assert_eq!(hits(&out), pairs(&[("a.txt", 2), ("sub/b.rs", 1)]));
        assert_eq!(out.matches.as_ref().unwrap()[1].line, "fn beta() {}");
        assert_eq!(out.files_searched, 3, "a.txt, bin.dat, sub/b.rs");
        assert!(!out.truncated);
        assert!(out.files.is_none());

        let mut everything = query("beta");
        everything.respect_gitignore = false;
        everything.include_hidden = true;
        let out = SearchFiles.run(ctx(dir.path()), everything).await.unwrap();
        assert_eq!(
            hits(&out),
            pairs(&[
                (".hidden.txt", 1),
                ("a.txt", 2),
                ("ignored.txt", 1),
                ("sub/b.rs", 1)
            ])
        );
    }

    #[tokio::test]
    async fn case_and_literal_switches() {
        let dir = fixture();
        let out = SearchFiles
            .run(ctx(dir.path()), query("gamma"))
            .await
            .unwrap();
        assert_eq!(hits(&out), pairs(&[("a.txt", 3)]));
        let mut exact = query("gamma");
        exact.case_sensitive = true;
        let out = SearchFiles.run(ctx(dir.path()), exact).await.unwrap();
        assert!(hits(&out).is_empty());

        let out = SearchFiles
            .run(ctx(dir.path()), query("a.c"))
            .await
            .unwrap();
        assert_eq!(hits(&out), pairs(&[("sub/b.rs", 2), ("sub/b.rs", 3)]));
        let mut literal = query("a.c");
        literal.literal = true;
        let out = SearchFiles.run(ctx(dir.path()), literal).await.unwrap();
        assert_eq!(hits(&out), pairs(&[("sub/b.rs", 3)]));

        let error = SearchFiles
            .run(ctx(dir.path()), query("("))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("`query` is not a valid regex"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn context_lines_belong_to_every_match_they_surround() {
        let dir = fixture();
        let mut around = query("^(beta|delta)$");
        around.context_lines = 2;
        around.path = "a.txt".into();
        let out = SearchFiles.run(ctx(dir.path()), around).await.unwrap();
        let matches = out.matches.unwrap();
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].path, "a.txt");
        assert_eq!(matches[0].context_before, ["alpha"]);
        assert_eq!(matches[0].context_after, ["Gamma", "delta"]);
        assert_eq!(matches[1].context_before, ["beta", "Gamma"]);
        assert_eq!(matches[1].context_after, ["epsilon"]);
    }

    /// 19 files, 3 matching lines each, in directories whose names sort differently as strings
    /// (`a-b` < `a/b`) than as paths (`a/b` < `a-b`).
    fn paging_fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let places = ["", "a", "a/b", "a-b", "a.b", "b/c/d", "z"];
        let mut made = 0;
        for round in 0.. {
            for place in places {
                if made == 19 {
                    return dir;
                }
                let folder = dir.path().join(place);
                std::fs::create_dir_all(&folder).unwrap();
                let gap = "hay\n".repeat(round % 3);
                std::fs::write(
                    folder.join(format!("f{round}.txt")),
                    format!("needle 1\nhay\n{gap}needle 2\nhay\nneedle 3\n"),
                )
                .unwrap();
                made += 1;
            }
        }
        dir
    }

    /// Call with `params` page by page; returns the pages and checks the paging fields.
    async fn all_pages(ctx: &ToolCtx, params: impl Fn() -> Params) -> Vec<Output> {
        let mut pages: Vec<Output> = Vec::new();
        let mut after = None;
        loop {
            let mut page = params();
            page.after = after.clone();
            let out = SearchFiles.run(ctx.clone(), page).await.unwrap();
            assert_eq!(out.truncated, out.next_after.is_some());
            after = out.next_after.clone();
            pages.push(out);
            if after.is_none() {
                return pages;
            }
            assert!(pages.len() < 100, "paging does not end");
        }
    }

    #[tokio::test]
    async fn paging_visits_every_match_once_in_order() {
        let dir = paging_fixture();
        let ctx = ctx(dir.path());
        let mut whole = query("needle");
        whole.context_lines = 1;
        let whole = SearchFiles.run(ctx.clone(), whole).await.unwrap();
        assert!(!whole.truncated);
        assert_eq!(whole.next_after, None);
        let everything = hits(&whole);
        assert_eq!(everything.len(), 57);
        let mut sorted = everything.clone();
        sorted.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)).then(a.1.cmp(&b.1)));
        sorted.dedup();
        assert_eq!(
            everything, sorted,
            "sorted by path, then line; no duplicates"
        );
        assert_eq!(everything[0], ("a/b/f0.txt".to_string(), 1));

        let pages = all_pages(&ctx, || {
            let mut page = query("needle");
            page.context_lines = 1;
            page.max_results = Some(10);
            page
        })
        .await;
        assert_eq!(pages.len(), 6);
        assert_eq!(pages[0].next_after.as_deref(), Some("1:a/f0.txt"));
        let paged: Vec<&Match> = pages
            .iter()
            .flat_map(|page| page.matches.as_ref().unwrap())
            .collect();
        let whole: Vec<&Match> = whole.matches.as_ref().unwrap().iter().collect();
        assert_eq!(
            format!("{paged:?}"),
            format!("{whole:?}"),
            "same matches and context"
        );

        // The same under a sub-path given with a trailing slash.
        let pages = all_pages(&ctx, || {
            let mut page = query("needle");
            page.path = "a/".into();
            page.max_results = Some(4);
            page
        })
        .await;
        let paged: Vec<(String, u64)> = pages.iter().flat_map(hits).collect();
        let under_a: Vec<(String, u64)> = everything
            .iter()
            .filter(|(path, _)| path.starts_with("a/"))
            .cloned()
            .collect();
        assert_eq!(paged, under_a);
    }

    #[tokio::test]
    async fn paging_by_name_visits_every_file_once_in_order() {
        let dir = paging_fixture();
        let ctx = ctx(dir.path());
        let by_name = || {
            let mut params = query("x");
            params.query = None;
            params.name_glob = Some("*.txt".into());
            params
        };
        let whole = SearchFiles.run(ctx.clone(), by_name()).await.unwrap();
        let everything = whole.files.unwrap();
        assert_eq!(everything.len(), 19);
        assert!(!whole.truncated);
        let pages = all_pages(&ctx, || {
            let mut params = by_name();
            params.max_results = Some(5);
            params
        })
        .await;
        assert_eq!(pages.len(), 4);
        assert_eq!(pages[0].next_after.as_deref(), Some(everything[4].as_str()));
        let paged: Vec<String> = pages
            .iter()
            .flat_map(|page| page.files.clone().unwrap())
            .collect();
        assert_eq!(paged, everything);
    }

    #[tokio::test]
    async fn malformed_cursors_are_refused() {
        let dir = paging_fixture();
        for (path, by_name, after) in [
            (".", false, "a/f1.txt"),
            (".", false, "x:a/f1.txt"),
            (".", false, ":a/f1.txt"),
            (".", false, "1:"),
            (".", true, ""),
            ("a", false, "1:b/c/d/f5.txt"),
            ("a", true, "ab/f1.txt"),
        ] {
            let mut params = query("needle");
            params.path = path.into();
            if by_name {
                params.query = None;
                params.name_glob = Some("*".into());
            }
            params.after = Some(after.into());
            let error = SearchFiles.run(ctx(dir.path()), params).await.unwrap_err();
            assert_eq!(error.code(), "invalid_argument", "{after}");
            assert!(error.to_string().contains("next_after"), "{error}");
        }
    }

    #[tokio::test]
    async fn byte_budget_cuts_with_a_cursor_that_continues() {
        let dir = paging_fixture();
        let mut raw = skippy_core::config::RawConfig::default();
        raw.server.max_output_bytes = 4096;
        let small = ToolCtx::for_tests(
            skippy_core::config::validate(
                raw,
                skippy_core::config::ConfigSource::Defaults,
                &skippy_core::config::FixedEnv::new(dir.path()),
            )
            .unwrap(),
        );
        let long = || {
            let mut params = query("needle");
            params.context_lines = 2;
            params
        };
        let whole = SearchFiles.run(ctx(dir.path()), long()).await.unwrap();
        assert!(!whole.truncated);
        let first = SearchFiles.run(small.clone(), long()).await.unwrap();
        assert!(first.truncated);
        let shown = first.matches.as_ref().unwrap();
        assert!(!shown.is_empty() && shown.len() < 57, "{}", shown.len());
        assert!(serde_json::to_string(&first).unwrap().len() <= 4096);
        let last = shown.last().unwrap();
        assert_eq!(
            first.next_after,
            Some(format!("{}:{}", last.line_number, last.path))
        );
        let pages = all_pages(&small, long).await;
        assert!(pages.len() > 2);
        let paged: Vec<(String, u64)> = pages.iter().flat_map(hits).collect();
        assert_eq!(paged, hits(&whole));
    }

    #[tokio::test]
    async fn a_single_file_pages_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("one.txt"), "needle\n".repeat(25)).unwrap();
        let pages = all_pages(&ctx(dir.path()), || {
            let mut params = query("needle");
            params.path = "one.txt".into();
            params.max_results = Some(10);
            params
        })
        .await;
        assert_eq!(pages[0].next_after.as_deref(), Some("10:one.txt"));
        let lines: Vec<u64> = pages.iter().flat_map(hits).map(|(_, line)| line).collect();
        assert_eq!(lines, (1..=25).collect::<Vec<u64>>());
    }

    #[tokio::test]
    async fn name_glob_alone_lists_files() {
        let dir = fixture();
        let mut by_name = query("x");
        by_name.query = None;
        by_name.name_glob = Some("*.rs".into());
        let out = SearchFiles.run(ctx(dir.path()), by_name).await.unwrap();
        assert_eq!(out.files.unwrap(), ["sub/b.rs"]);
        assert!(out.matches.is_none());

        let mut both = query("abc");
        both.name_glob = Some("*.txt".into());
        let out = SearchFiles.run(ctx(dir.path()), both).await.unwrap();
        assert!(hits(&out).is_empty());

        let absolute = dir.path().to_str().unwrap().to_string();
        let mut by_path = query("x");
        by_path.query = None;
        by_path.name_glob = Some("sub/*".into());
        by_path.path = absolute.clone();
        let out = SearchFiles.run(ctx(dir.path()), by_path).await.unwrap();
        assert_eq!(out.files.unwrap(), [format!("{absolute}/sub/b.rs")]);

        let mut neither = query("x");
        neither.query = None;
        let error = SearchFiles.run(ctx(dir.path()), neither).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[tokio::test]
    async fn a_cancelled_call_stops_with_cancelled() {
        let dir = fixture();
        let ctx = ctx(dir.path());
        ctx.cancel.cancel();
        let error = SearchFiles.run(ctx, query("beta")).await.unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }

    #[tokio::test]
    async fn long_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("long.txt"),
            format!("{}needle{}\n", "é".repeat(600), "x".repeat(600)),
        )
        .unwrap();
        let out = SearchFiles
            .run(ctx(dir.path()), query("needle"))
            .await
            .unwrap();
        let line = &out.matches.unwrap()[0].line;
        assert_eq!(line.chars().count(), MAX_LINE_CHARS + 1);
        assert!(line.ends_with('…'));
    }
}
