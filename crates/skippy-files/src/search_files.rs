//! `search_files`: search file contents with a regex (ripgrep's engine), or find files by name.
//!
//! The walk is ripgrep's: parallel over the machine's cores, symbolic links never followed, hidden
//! entries skipped unless `include_hidden`, and `.gitignore` (inside git repositories), `.ignore`
//! and global git excludes respected unless `respect_gitignore` is false. The matcher is built once
//! and each walker thread keeps its own searcher. Files with a NUL byte are treated as binary and
//! skipped. Matching is line by line; lines are shown cut to 500 characters.
//!
//! Limits: `max_results` matches (or files, with only `name_glob`) and the output byte budget;
//! the search stops early once enough are found, so which matches a truncated result holds can vary
//! between calls (narrow `path` or the pattern to see the rest). Results are sorted by path, then
//! line. Unreadable files are skipped. No side effects.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use globset::GlobMatcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use ignore::WalkState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::limits::Budget;
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled};
use tokio_util::sync::CancellationToken;

use crate::common::{ThreadCollector, display_join, into_items, json_string_cost, walker_threads};

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
    /// Directory or file; absolute, or relative to the first root
    pub path: String,
    /// Regex matched per line
    pub query: Option<String>,
    /// Glob on file names, e.g. *.rs
    pub name_glob: Option<String>,
    /// Match case exactly
    #[serde(default)]
    pub case_sensitive: bool,
    /// query is a fixed string, not a regex
    #[serde(default)]
    pub literal: bool,
    /// Context lines around each match (max 10)
    #[serde(default)]
    pub context_lines: u32,
    /// Max matches, or files without query (default 200, max 10000)
    pub max_results: Option<u32>,
    /// Search dot files and dot directories
    #[serde(default)]
    pub include_hidden: bool,
    /// Skip what .gitignore and .ignore exclude
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
}

pub struct SearchFiles;

impl Tool for SearchFiles {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "search_files";
    const TITLE: &'static str = "Search files";
    const DESCRIPTION: &'static str = "Search file contents by regex or literal (ripgrep engine, honours .gitignore), or find files by name.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let search = Search::new(&params)?;
        let root = ctx.read_path(&params.path)?;
        if !root.exists() {
            return Err(ToolError::io(
                root.as_path(),
                &std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let budget = Budget::for_output(ctx.max_output_bytes());
        let walker = ignore::WalkBuilder::new(root.as_path())
            .hidden(!params.include_hidden)
            .git_ignore(params.respect_gitignore)
            .git_global(params.respect_gitignore)
            .git_exclude(params.respect_gitignore)
            .ignore(params.respect_gitignore)
            .parents(params.respect_gitignore)
            .follow_links(false)
            .threads(walker_threads())
            .build_parallel();
        let raw = params.path;
        ctx.blocking(move |cancel| search.run(walker, root.as_path(), &raw, budget, &cancel))
            .await
    }
}

/// Everything decided before the walk: compiled matchers and limits.
struct Search {
    matcher: Option<RegexMatcher>,
    glob: Option<(GlobMatcher, bool)>,
    context: usize,
    max_results: usize,
}

impl Search {
    fn new(params: &Params) -> ToolResult<Search> {
        if params.query.is_none() && params.name_glob.is_none() {
            return Err(ToolError::invalid(
                "give query (to search contents), name_glob (to find files), or both",
            ));
        }
        let max_results = params.max_results.unwrap_or(DEFAULT_MAX_RESULTS);
        if !(1..=MAX_RESULTS).contains(&max_results) {
            return Err(ToolError::invalid(format!(
                "max_results must be 1..={MAX_RESULTS}"
            )));
        }
        if params.context_lines > MAX_CONTEXT {
            return Err(ToolError::invalid(format!(
                "context_lines must be 0..={MAX_CONTEXT}"
            )));
        }
        let matcher = match params.query.as_deref() {
            Some("") => return Err(ToolError::invalid("query is empty")),
            Some(query) => Some(
                RegexMatcherBuilder::new()
                    .case_insensitive(!params.case_sensitive)
                    .fixed_strings(params.literal)
                    .line_terminator(Some(b'\n'))
                    .build(query)
                    .map_err(|error| ToolError::invalid(format!("invalid query: {error}")))?,
            ),
            None => None,
        };
        let glob = match params.name_glob.as_deref() {
            Some(pattern) => {
                let glob = globset::GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|error| ToolError::invalid(format!("invalid name_glob: {error}")))?;
                Some((glob.compile_matcher(), pattern.contains('/')))
            }
            None => None,
        };
        Ok(Search {
            matcher,
            glob,
            context: params.context_lines as usize,
            max_results: max_results as usize,
        })
    }

    fn run(
        &self,
        walker: ignore::WalkParallel,
        root: &Path,
        raw: &str,
        budget: Budget,
        cancel: &CancellationToken,
    ) -> ToolResult<Output> {
        let state = State {
            found: AtomicUsize::new(0),
            quit: AtomicBool::new(false),
            files_searched: AtomicU64::new(0),
            cancel,
        };
        let matches = Mutex::new(Vec::new());
        let files = Mutex::new(Vec::new());
        walker.run(|| {
            let mut visitor = Visitor {
                search: self,
                state: &state,
                root,
                searcher: SearcherBuilder::new()
                    .binary_detection(BinaryDetection::quit(b'\x00'))
                    .line_number(true)
                    .before_context(self.context)
                    .after_context(self.context)
                    .build(),
                sink: FileSink::new(self, &state),
                matches: ThreadCollector::new(&matches),
                files: ThreadCollector::new(&files),
            };
            Box::new(move |entry| visitor.visit(entry))
        });
        check_cancelled(cancel)?;
        let files_searched = state.files_searched.load(Ordering::Relaxed);
        let found = state.found.load(Ordering::Relaxed);
        let mut budget = budget;
        if self.matcher.is_some() {
            let mut matches = into_items(matches);
            matches.sort_by(|a, b| {
                Path::new(&a.path)
                    .cmp(Path::new(&b.path))
                    .then(a.line_number.cmp(&b.line_number))
            });
            let mut truncated = found > self.max_results || matches.len() > self.max_results;
            matches.truncate(self.max_results);
            let mut kept = Vec::with_capacity(matches.len());
            for mut item in matches {
                item.path = display_join(raw, Path::new(&item.path));
                let cost = json_string_cost(&item.path)
                    + json_string_cost(&item.line)
                    + item
                        .context_before
                        .iter()
                        .chain(&item.context_after)
                        .map(|line| json_string_cost(line))
                        .sum::<usize>()
                    + MATCH_OVERHEAD;
                if !budget.take(cost) {
                    truncated = true;
                    break;
                }
                kept.push(item);
            }
            return Ok(Output {
                matches: Some(kept),
                files: None,
                files_searched,
                truncated,
            });
        }
        let mut files: Vec<PathBuf> = into_items(files);
        files.sort();
        let mut truncated = files.len() > self.max_results;
        files.truncate(self.max_results);
        let mut kept = Vec::with_capacity(files.len());
        for file in files {
            let shown = display_join(raw, &file);
            if !budget.take(json_string_cost(&shown)) {
                truncated = true;
                break;
            }
            kept.push(shown);
        }
        Ok(Output {
            matches: None,
            files: Some(kept),
            files_searched,
            truncated,
        })
    }
}

/// Counters shared by the walker threads.
struct State<'a> {
    found: AtomicUsize,
    quit: AtomicBool,
    files_searched: AtomicU64,
    cancel: &'a CancellationToken,
}

impl State<'_> {
    fn should_stop(&self) -> bool {
        self.quit.load(Ordering::Relaxed) || self.cancel.is_cancelled()
    }

    /// Count `count` more results; true when the search has enough (one past the cap, so that
    /// `truncated` is only reported when something was really left out).
    fn add_found(&self, count: usize, max_results: usize) -> bool {
        let total = self.found.fetch_add(count, Ordering::Relaxed) + count;
        if total > max_results {
            self.quit.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// One walker thread: its own searcher and sink, results collected locally.
struct Visitor<'a> {
    search: &'a Search,
    state: &'a State<'a>,
    root: &'a Path,
    searcher: Searcher,
    sink: FileSink<'a>,
    matches: ThreadCollector<'a, Match>,
    files: ThreadCollector<'a, PathBuf>,
}

impl Visitor<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> WalkState {
        if self.state.should_stop() {
            return WalkState::Quit;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tracing::debug!(%error, "search_files: skipped an unreadable entry");
                return WalkState::Continue;
            }
        };
        if !entry
            .file_type()
            .is_some_and(|file_type| file_type.is_file())
        {
            return WalkState::Continue;
        }
        let relative = entry
            .path()
            .strip_prefix(self.root)
            .unwrap_or(Path::new(""));
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
        self.state.files_searched.fetch_add(1, Ordering::Relaxed);
        let Some(matcher) = &self.search.matcher else {
            self.files.items.push(relative.to_path_buf());
            if self.state.add_found(1, self.search.max_results) {
                return WalkState::Quit;
            }
            return WalkState::Continue;
        };
        self.sink.reset();
        if let Err(error) = self
            .searcher
            .search_path(matcher, entry.path(), &mut self.sink)
        {
            tracing::debug!(%error, path = %entry.path().display(), "search_files: skipped a file");
        }
        if self.sink.binary {
            // Matches found before the NUL byte are dropped: the file is binary as a whole.
            self.sink.matches.clear();
        }
        if !self.sink.matches.is_empty() {
            // Counted once the file is done, so a binary file never uses up the cap.
            self.state
                .add_found(self.sink.matches.len(), self.search.max_results);
            let shown = relative.to_string_lossy();
            for mut item in self.sink.matches.drain(..) {
                item.path.clear();
                item.path.push_str(&shown);
                self.matches.items.push(item);
            }
        }
        if self.state.should_stop() {
            WalkState::Quit
        } else {
            WalkState::Continue
        }
    }
}

/// Collects one file's matches with their context. Lines that are context for several matches are
/// reported once by the searcher; the sink hands them to every match they belong to.
struct FileSink<'a> {
    context: usize,
    max_results: usize,
    state: &'a State<'a>,
    matches: Vec<Match>,
    /// The last `context` lines seen, for the before-context of the next match.
    recent: VecDeque<(u64, String)>,
    binary: bool,
}

impl<'a> FileSink<'a> {
    fn new(search: &Search, state: &'a State<'a>) -> Self {
        Self {
            context: search.context,
            max_results: search.max_results,
            state,
            matches: Vec::new(),
            recent: VecDeque::with_capacity(search.context),
            binary: false,
        }
    }

    fn reset(&mut self) {
        self.matches.clear();
        self.recent.clear();
        self.binary = false;
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
        self.matches.push(Match {
            path: String::new(),
            line_number,
            line,
            context_before,
            context_after: Vec::new(),
        });
        // Stop this file once it alone would pass the cap; the global count is added afterwards.
        let found = self.state.found.load(Ordering::Relaxed) + self.matches.len();
        if found > self.max_results || self.state.should_stop() {
            return Ok(false);
        }
        Ok(true)
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
        Ok(true)
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
        assert!(error.to_string().contains("invalid query"), "{error}");
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

    #[tokio::test]
    async fn max_results_stops_early_and_results_are_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..60 {
            std::fs::write(
                dir.path().join(format!("f{n:02}.txt")),
                "needle\nhay\nneedle\n",
            )
            .unwrap();
        }
        let mut capped = query("needle");
        capped.max_results = Some(10);
        let out = SearchFiles.run(ctx(dir.path()), capped).await.unwrap();
        assert!(out.truncated);
        let found = hits(&out);
        assert_eq!(found.len(), 10);
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(found, sorted);

        let mut exact = query("needle");
        exact.max_results = Some(120);
        let out = SearchFiles.run(ctx(dir.path()), exact).await.unwrap();
        assert!(!out.truncated);
        assert_eq!(hits(&out).len(), 120);
        assert_eq!(out.files_searched, 60);
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
