//! `search_log`: lines of a log file matching a regex, with context, optionally within a time range
//! and across rotated siblings.
//!
//! Scans forwards with ripgrep's searcher (`grep-searcher` + `grep-regex`), so a large file is
//! searched at close to `grep` speed; gzip files (rotated `.gz` siblings included) are searched
//! through a decompressing reader. `since`/`until` apply to matching lines whose timestamp parses
//! (see [`crate::timestamp`]); lines without one are kept, since a continuation line cannot be
//! dated on its own. With `include_rotated`, `name.N[.gz]` and `name-YYYYMMDD[.gz]` siblings are
//! searched first, oldest first, then the file itself; line numbers are per file. The search stops
//! at `max_matches` or the output ceiling (`truncated`; `next_offset` pages on) and promptly on
//! cancellation. Returned lines are cut at [`LINE_CAP`] bytes.
//!
//! Bounds on what the input can cost: only the first [`LINE_WINDOW`] bytes of a line are matched
//! (the rest is skipped before the searcher sees it, and `long_lines_cut` counts such lines), so a
//! 100 MiB line neither fails the search nor hides the lines after it; and compressed files are
//! decompressed up to [`SCAN_CEILING`] bytes of text per call, over all of them (past it the rest
//! of the compressed files is skipped, plain files are still searched, and the result has
//! `truncated` and `scan_ceiling_bytes`). Plain files are read whole: they cost what
//! they weigh on disk, within the call's time limit. Local files are opened without following
//! links or blocking on a FIFO, and the opened descriptor is checked ([`crate::reader::open_log`]).
//!
//! With `host`, the same searcher runs over the file on that host, streamed in windows of up to
//! 8 MiB ([`crate::remote_file`]); rotated siblings are listed and checked there
//! ([`crate::remote`]). Read-only; no side effects.

use std::collections::VecDeque;
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use grep_regex::RegexMatcher;
use grep_searcher::{Searcher, SearcherBuilder, Sink, SinkContext, SinkMatch};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp;
use skippy_core::config::Config;
use skippy_core::limits::{Budget, json_len};
use skippy_core::patterns::{self, RegexOptions};
use skippy_core::time::{parse_time_bound, rfc3339};
use skippy_core::{
    AllowedPath, Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset,
    check_cancelled,
};
use skippy_remote::Hosts;
use tokio_util::sync::CancellationToken;

use crate::output::{display_line, is_zero};
use crate::reader::{CutLines, LINE_WINDOW, LogReader, SCAN_CEILING, Watched, read_error};
use crate::rotated::rotated_siblings;
use crate::target::LogTarget;
use crate::timestamp::find_timestamp;

pub const DEFAULT_MAX_MATCHES: u32 = 200;
pub const MAX_MATCHES: u32 = 5_000;
pub const MAX_CONTEXT: u32 = 10;
/// Longest line returned, in bytes.
pub const LINE_CAP: usize = 1_000;
/// Most memory the searcher's buffer may take. Lines reach it cut to [`LINE_WINDOW`], so a match
/// with its before-context (11 lines) needs under 1 MiB; this is a backstop, not a working limit.
const HEAP_LIMIT: usize = 8 * 1024 * 1024;
/// Read size between the decompressor and the line cutter.
const BUFFER: usize = 64 * 1024;
/// Approximate JSON cost of a match's keys and numbers.
const MATCH_OVERHEAD: usize = 48;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Log alias, or path (relative: to first root, local only)
    pub path: String,
    /// Regex (ripgrep syntax)
    pub pattern: String,
    /// Match case
    #[serde(default)]
    pub case_sensitive: bool,
    /// Max 10 (larger is clamped)
    #[serde(default)]
    pub context_lines: u32,
    /// Max 5000 (larger is clamped)
    #[serde(default = "default_max_matches")]
    pub max_matches: u32,
    /// RFC 3339 or age (2h); undated lines kept
    #[serde(default)]
    #[schemars(with = "String")]
    pub since: Option<String>,
    /// Like since
    #[serde(default)]
    #[schemars(with = "String")]
    pub until: Option<String>,
    /// Also name.1, name.2.gz..., oldest first
    #[serde(default)]
    pub include_rotated: bool,
    /// From next_offset
    #[serde(default)]
    pub offset: u64,
    /// From list_hosts; default local
    #[serde(default)]
    #[schemars(with = "String")]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub matches: Vec<Match>,
    pub bytes_scanned: u64,
    pub lines_scanned: u64,
    pub truncated: bool,
    /// Pass as offset for more.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub next_offset: Option<u64>,
    /// Lines over 64 KiB: only their first 64 KiB were searched.
    #[serde(skip_serializing_if = "is_zero")]
    pub long_lines_cut: u64,
    /// Set (to the ceiling, in bytes) when the search stopped at the most decompressed text a
    /// call may read; later lines of compressed files were not searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub scan_ceiling_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_matches_clamped_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_lines_clamped_to: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Match {
    /// Set for rotated files.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub file: Option<String>,
    pub line_number: u64,
    pub line: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_before: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_after: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub timestamp: Option<String>,
}

fn default_max_matches() -> u32 {
    DEFAULT_MAX_MATCHES
}

pub struct SearchLog {
    pub hosts: Arc<Hosts>,
}

impl Tool for SearchLog {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "search_log";
    const TITLE: &'static str = "Search log";
    const DESCRIPTION: &'static str =
        "Regex search in a log file (gzip, rotated siblings) with context and a time range.";
    const TOOLSET: Toolset = Toolset::Logs;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let context = clamp::range(
            "context_lines",
            Some(params.context_lines),
            0,
            0,
            MAX_CONTEXT,
        )?;
        let max_matches = clamp::limit(
            "max_matches",
            Some(params.max_matches),
            DEFAULT_MAX_MATCHES,
            MAX_MATCHES,
        )?;
        let now = Utc::now();
        let since = bound("since", params.since.as_deref(), now)?;
        let until = bound("until", params.until.as_deref(), now)?;
        if let (Some(since), Some(until)) = (since, until)
            && since > until
        {
            return Err(ToolError::invalid(
                "`since` is later than `until`; swap them",
            ));
        }
        let matcher = patterns::grep_matcher(
            "pattern",
            &params.pattern,
            RegexOptions {
                case_insensitive: !params.case_sensitive,
                literal: false,
            },
        )?;
        let target =
            LogTarget::resolve(&ctx, &self.hosts, params.host.as_deref(), &params.path).await?;
        let include_rotated = params.include_rotated;
        // Remote siblings are listed now, asynchronously; local ones on the blocking thread.
        let plan = match target {
            LogTarget::Local(path) => Plan::Local(path),
            LogTarget::Remote(log) => {
                let mut files = Vec::new();
                if include_rotated {
                    for sibling in log.rotated_siblings(&ctx.cancel).await? {
                        let label = sibling.label();
                        files.push((LogTarget::Remote(sibling), Some(label)));
                    }
                }
                files.push((LogTarget::Remote(log), None));
                Plan::Files(files)
            }
        };
        let collector = Collector {
            now,
            since,
            until,
            context: u64::from(context.value),
            max_matches: max_matches.value as usize,
            skip: params.offset,
            skipped: 0,
            budget: Budget::for_output(ctx.max_output_bytes()),
            file: None,
            matches: Vec::new(),
            recent: VecDeque::new(),
            open: Vec::new(),
            truncated: false,
            stopped: false,
            last_line: 0,
            cancel: ctx.cancel.clone(),
        };
        let progress = ctx.clone();
        let config = Arc::clone(&ctx.config);
        let mut output = ctx
            .blocking(move |cancel| {
                let files = match plan {
                    Plan::Local(path) => files_to_search(&config, path, include_rotated)?,
                    Plan::Files(files) => files,
                };
                search_files(
                    &config.logs.policy,
                    &files,
                    &matcher,
                    collector,
                    &cancel,
                    &progress,
                )
            })
            .await?;
        output.max_matches_clamped_to = max_matches.clamped_to;
        output.context_lines_clamped_to = context.clamped_to;
        Ok(output)
    }
}

fn bound(name: &str, text: Option<&str>, now: DateTime<Utc>) -> ToolResult<Option<DateTime<Utc>>> {
    text.map(|text| parse_time_bound(name, text, now))
        .transpose()
}

/// The files to search, each with its label (None for the requested file).
type Files = Vec<(LogTarget, Option<String>)>;

enum Plan {
    /// Siblings still to be found, on the blocking thread.
    Local(AllowedPath),
    Files(Files),
}

/// The file itself, preceded by its rotated siblings (oldest first) when asked.
fn files_to_search(config: &Config, path: AllowedPath, include_rotated: bool) -> ToolResult<Files> {
    let mut files = Vec::new();
    if include_rotated {
        let siblings = rotated_siblings(path.as_path()).map_err(|error| {
            ToolError::io(path.as_path().parent().unwrap_or(Path::new("/")), &error)
        })?;
        for sibling in siblings {
            let allowed = path.child(&config.logs.policy, &sibling)?;
            let label = allowed.to_string();
            files.push((LogTarget::Local(allowed), Some(label)));
        }
    }
    files.push((LogTarget::Local(path), None));
    Ok(files)
}

fn search_files(
    policy: &PathPolicy,
    files: &[(LogTarget, Option<String>)],
    matcher: &RegexMatcher,
    mut collector: Collector,
    cancel: &CancellationToken,
    progress: &ToolCtx,
) -> ToolResult<Output> {
    let mut searcher = SearcherBuilder::new()
        .line_number(true)
        .before_context(collector.context as usize)
        .after_context(collector.context as usize)
        .heap_limit(Some(HEAP_LIMIT))
        .build();
    let mut bytes_scanned = 0u64;
    let mut lines_scanned = 0u64;
    let mut long_lines_cut = 0u64;
    // Decompressed bytes still allowed in this call, over all compressed files.
    let mut unpack_left = SCAN_CEILING;
    let mut scan_ceiling_bytes = None;
    for (target, label) in files {
        check_cancelled(cancel)?;
        let log = match target.open(policy, cancel) {
            Ok(log) => log,
            // A rotated file may be renamed or removed while we search.
            Err(error) if label.is_some() && error.code() == "not_found" => continue,
            Err(error) => return Err(error),
        };
        let gzip = log.gzip;
        if gzip && unpack_left == 0 {
            // The ceiling is spent: compressed files are skipped, plain ones still searched.
            continue;
        }
        let total = (!gzip).then_some(log.size as f64);
        let reporter = progress.clone();
        let watched = Watched::new(LogReader::new(log), cancel.clone(), true)
            .with_progress(Box::new(move |bytes| {
                reporter.progress(bytes as f64, total, || {
                    format!("searched {} MiB", bytes / (1024 * 1024))
                });
            }))
            .with_ceiling(gzip.then_some(unpack_left));
        let mut reader = CutLines::new(BufReader::with_capacity(BUFFER, watched), LINE_WINDOW);
        collector.start_file(label.clone());
        let result = search_one(&mut searcher, matcher, &mut reader, &mut collector);
        long_lines_cut += reader.cut;
        let watched = reader.get_ref().get_ref();
        bytes_scanned += watched.bytes;
        if gzip {
            unpack_left = unpack_left.saturating_sub(watched.bytes);
        }
        lines_scanned += if collector.stopped {
            collector.last_line
        } else {
            watched.lines()
        };
        let hit_ceiling = watched.hit_ceiling;
        result.map_err(|error| read_error(target.path(), &error, cancel))?;
        if hit_ceiling {
            scan_ceiling_bytes = Some(SCAN_CEILING);
        }
        if collector.stopped {
            break;
        }
    }
    let returned = collector.matches.len() as u64;
    Ok(Output {
        // Paging helps only when the collector stopped: past the ceiling, a later page would
        // stop at the same place.
        next_offset: collector.truncated.then_some(collector.skipped + returned),
        truncated: collector.truncated || scan_ceiling_bytes.is_some(),
        matches: collector.matches,
        bytes_scanned,
        lines_scanned,
        long_lines_cut,
        scan_ceiling_bytes,
        max_matches_clamped_to: None,
        context_lines_clamped_to: None,
    })
}

fn search_one(
    searcher: &mut Searcher,
    matcher: &RegexMatcher,
    reader: &mut CutLines<BufReader<Watched<LogReader>>>,
    collector: &mut Collector,
) -> io::Result<()> {
    searcher.search_reader(matcher, reader, collector)
}

/// Collects matches and their context across files.
struct Collector {
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    context: u64,
    max_matches: usize,
    /// Qualifying matches still to skip (paging).
    skip: u64,
    /// Qualifying matches skipped.
    skipped: u64,
    budget: Budget,
    /// Label of the file being searched (None for the requested file).
    file: Option<String>,
    matches: Vec<Match>,
    /// The last `context` lines seen, for the next match's before-context.
    recent: VecDeque<(u64, String)>,
    /// Matches whose after-context is still being filled: (index, last line number it covers).
    open: Vec<(usize, u64)>,
    truncated: bool,
    /// The search is over (limit or budget reached).
    stopped: bool,
    last_line: u64,
    cancel: CancellationToken,
}

impl Collector {
    fn start_file(&mut self, file: Option<String>) {
        self.file = file;
        self.recent.clear();
        self.open.clear();
        self.last_line = 0;
    }

    /// Within `since`/`until`, or undated.
    fn in_range(&self, time: Option<DateTime<Utc>>) -> bool {
        let Some(time) = time else {
            return true;
        };
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }

    fn stop(&mut self) -> Result<bool, io::Error> {
        self.truncated = true;
        self.stopped = true;
        Ok(false)
    }

    /// Handle one line the searcher reports (a match or a context line).
    fn line(&mut self, number: u64, bytes: &[u8], is_match: bool) -> Result<bool, io::Error> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        self.last_line = number;
        let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let text = (self.context > 0).then(|| display_line(bytes, LINE_CAP, false).0);
        if let Some(text) = &text
            && !self.open.is_empty()
        {
            for &(index, _) in &self.open {
                if !self.budget.take(json_len(text) + 1) {
                    return self.stop();
                }
                if let Some(found) = self.matches.get_mut(index) {
                    found.context_after.push(text.clone());
                }
            }
            self.open.retain(|&(_, last)| number < last);
        }
        if self.matches.len() >= self.max_matches && self.open.is_empty() {
            return self.stop();
        }
        if is_match && self.matches.len() < self.max_matches {
            let stamp = find_timestamp(bytes, self.now).map(|stamp| stamp.time);
            if self.in_range(stamp) {
                if self.skip > 0 {
                    self.skip -= 1;
                    self.skipped += 1;
                } else if !self.record(number, bytes, text.as_deref(), stamp) {
                    return self.stop();
                }
            }
        }
        if let Some(text) = text {
            if self.recent.len() as u64 >= self.context {
                self.recent.pop_front();
            }
            self.recent.push_back((number, text));
        }
        if self.matches.len() >= self.max_matches && self.open.is_empty() {
            return self.stop();
        }
        Ok(true)
    }

    /// Add a match; false when it does not fit the output budget.
    fn record(
        &mut self,
        number: u64,
        bytes: &[u8],
        text: Option<&str>,
        stamp: Option<DateTime<Utc>>,
    ) -> bool {
        let line = match text {
            Some(text) => text.to_string(),
            None => display_line(bytes, LINE_CAP, false).0,
        };
        let first_context = number.saturating_sub(self.context);
        let context_before: Vec<String> = self
            .recent
            .iter()
            .filter(|(seen, _)| *seen >= first_context && *seen < number)
            .map(|(_, text)| text.clone())
            .collect();
        let timestamp = stamp.map(|time| rfc3339(SystemTime::from(time)));
        let cost = MATCH_OVERHEAD
            + json_len(&line)
            + context_before
                .iter()
                .map(|t| json_len(t) + 1)
                .sum::<usize>()
            + self.file.as_deref().map_or(0, |f| json_len(f) + 8)
            + timestamp.as_deref().map_or(0, |t| json_len(t) + 12);
        if !self.budget.take(cost) {
            return false;
        }
        if self.context > 0 {
            self.open.push((self.matches.len(), number + self.context));
        }
        self.matches.push(Match {
            file: self.file.clone(),
            line_number: number,
            line,
            context_before,
            context_after: Vec::new(),
            timestamp,
        });
        true
    }
}

impl Sink for Collector {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        self.line(found.line_number().unwrap_or(0), found.bytes(), true)
    }

    fn context(
        &mut self,
        _searcher: &Searcher,
        context: &SinkContext<'_>,
    ) -> Result<bool, io::Error> {
        self.line(context.line_number().unwrap_or(0), context.bytes(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, gzip_file, write_file};

    fn tool() -> SearchLog {
        SearchLog {
            hosts: Arc::default(),
        }
    }

    fn params(path: &str, pattern: &str) -> Params {
        Params {
            path: path.to_string(),
            pattern: pattern.to_string(),
            case_sensitive: false,
            context_lines: 0,
            max_matches: DEFAULT_MAX_MATCHES,
            since: None,
            until: None,
            include_rotated: false,
            offset: 0,
            host: None,
        }
    }

    fn lines_of(out: &Output) -> Vec<&str> {
        out.matches.iter().map(|m| m.line.as_str()).collect()
    }

    const APP: &str = "\
2026-11-21T10:00:00Z INFO start
2026-11-21T10:05:00Z ERROR disk full
  at frame one
2026-11-21T10:10:00Z INFO retry
2026-11-21T10:15:00Z error disk still full
2026-11-21T10:20:00Z INFO done
";

    #[tokio::test]
    async fn finds_matches_case_insensitively_with_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", APP);
        let out = tool()
            .run(context(dir.path()), params(&path, "error"))
            .await
            .unwrap();
        assert_eq!(
            lines_of(&out),
            [
                "2026-11-21T10:05:00Z ERROR disk full",
                "2026-11-21T10:15:00Z error disk still full"
            ]
        );
        assert_eq!(out.matches[0].line_number, 2);
        assert_eq!(out.matches[1].line_number, 5);
        assert_eq!(
            out.matches[0].timestamp.as_deref(),
            Some("2026-11-21T10:05:00Z")
        );
        assert_eq!(out.lines_scanned, 6);
        assert_eq!(out.bytes_scanned, APP.len() as u64);
        assert!(!out.truncated);
        assert_eq!(out.next_offset, None);

        let mut exact = params(&path, "error");
        exact.case_sensitive = true;
        let out = tool().run(context(dir.path()), exact).await.unwrap();
        assert_eq!(out.matches.len(), 1);
        assert_eq!(out.matches[0].line_number, 5);
    }

    #[tokio::test]
    async fn context_before_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", APP);
        let mut request = params(&path, "disk");
        request.context_lines = 1;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.matches.len(), 2);
        let first = &out.matches[0];
        assert_eq!(first.context_before, ["2026-11-21T10:00:00Z INFO start"]);
        assert_eq!(first.context_after, ["  at frame one"]);
        let second = &out.matches[1];
        assert_eq!(second.context_before, ["2026-11-21T10:10:00Z INFO retry"]);
        assert_eq!(second.context_after, ["2026-11-21T10:20:00Z INFO done"]);

        // Adjacent matches: each sees the other as context.
        let mut request = params(&path, "disk|frame");
        request.context_lines = 1;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.matches[1].line, "  at frame one");
        assert_eq!(
            out.matches[1].context_before,
            ["2026-11-21T10:05:00Z ERROR disk full"]
        );
        assert_eq!(out.matches[0].context_after, ["  at frame one"]);
    }

    #[tokio::test]
    async fn since_and_until_on_iso_lines_keep_undated_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", APP);
        let mut request = params(&path, "disk|frame|INFO");
        request.since = Some("2026-11-21T10:05:00Z".to_string());
        request.until = Some("2026-11-21T10:15:00+00:00".to_string());
        let out = tool().run(context(dir.path()), request).await.unwrap();
        let numbers: Vec<u64> = out.matches.iter().map(|m| m.line_number).collect();
        assert_eq!(numbers, [2, 3, 4, 5]);

        let mut inverted = params(&path, "x");
        inverted.since = Some("2026-11-21T11:00:00Z".to_string());
        inverted.until = Some("2026-11-21T10:00:00Z".to_string());
        let error = tool().run(context(dir.path()), inverted).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[tokio::test]
    async fn since_as_a_duration_on_syslog_lines() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let stamp = |ago: i64| {
            (now - chrono::Duration::minutes(ago))
                .format("%b %e %H:%M:%S")
                .to_string()
        };
        let text = format!(
            "{} host sshd[1]: Failed password for root\n{} host sshd[2]: Failed password for bob\n{} host sshd[3]: Failed password for eve\n",
            stamp(300),
            stamp(90),
            stamp(5)
        );
        let path = write_file(dir.path(), "auth.log", &text);
        let mut request = params(&path, "failed password");
        request.since = Some("2h".to_string());
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.matches.len(), 2);
        assert!(out.matches[0].line.ends_with("bob"));
        let mut request = params(&path, "failed password");
        request.until = Some("1h".to_string());
        let out = tool().run(context(dir.path()), request).await.unwrap();
        let numbers: Vec<u64> = out.matches.iter().map(|m| m.line_number).collect();
        assert_eq!(numbers, [1, 2]);
    }

    #[tokio::test]
    async fn rotated_gzip_siblings_are_searched_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        gzip_file(dir.path(), "app.log.2.gz", "old hit\nnothing\n");
        write_file(dir.path(), "app.log.1", "nothing\nmiddle hit\n");
        let path = write_file(dir.path(), "app.log", "new hit\n");
        let mut request = params(&path, "hit");
        request.include_rotated = true;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(lines_of(&out), ["old hit", "middle hit", "new hit"]);
        let files: Vec<Option<String>> = out
            .matches
            .iter()
            .map(|m| {
                m.file.as_deref().map(|f| {
                    Path::new(f)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
            })
            .collect();
        assert_eq!(
            files,
            [
                Some("app.log.2.gz".to_string()),
                Some("app.log.1".to_string()),
                None
            ]
        );
        assert_eq!(out.matches[1].line_number, 2);
        assert_eq!(out.lines_scanned, 5);

        // Without the flag only the live file is searched.
        let out = tool()
            .run(context(dir.path()), params(&path, "hit"))
            .await
            .unwrap();
        assert_eq!(lines_of(&out), ["new hit"]);
    }

    #[tokio::test]
    async fn max_matches_truncates_and_offset_pages() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=50).map(|n| format!("event {n}\n")).collect();
        let path = write_file(dir.path(), "app.log", &text);
        let mut request = params(&path, "event");
        request.max_matches = 20;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.matches.len(), 20);
        assert!(out.truncated);
        assert_eq!(out.next_offset, Some(20));
        assert_eq!(out.matches[19].line, "event 20");

        let mut next = params(&path, "event");
        next.max_matches = 20;
        next.offset = 40;
        let out = tool().run(context(dir.path()), next).await.unwrap();
        assert_eq!(out.matches.len(), 10);
        assert_eq!(out.matches[0].line, "event 41");
        assert!(!out.truncated);
    }

    #[tokio::test]
    async fn output_budget_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=500)
            .map(|n| format!("event {n} {}\n", "x".repeat(80)))
            .collect();
        let path = write_file(dir.path(), "app.log", &text);
        let mut config = skippy_core::Config::defaults_for(dir.path()).unwrap();
        config.server.max_output_bytes = 8192;
        let out = tool()
            .run(ToolCtx::for_tests(config), params(&path, "event"))
            .await
            .unwrap();
        assert!(out.truncated);
        let count = out.matches.len() as u64;
        assert!(count > 10 && count < 200, "{count}");
        assert_eq!(out.next_offset, Some(count));
        assert!(serde_json::to_string(&out).unwrap().len() < 8192);
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_bad_arguments_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "app.log",
            &format!("hit {}\n", "y".repeat(5000)),
        );
        let out = tool()
            .run(context(dir.path()), params(&path, "hit"))
            .await
            .unwrap();
        assert_eq!(out.matches[0].line.len(), LINE_CAP + "…".len());
        for bad in [
            Params {
                max_matches: 0,
                ..params(&path, "x")
            },
            Params {
                since: Some("yesterday".into()),
                ..params(&path, "x")
            },
            params(&path, "("),
        ] {
            let error = tool().run(context(dir.path()), bad).await.unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
        }
    }

    #[tokio::test]
    async fn defect_limits_are_clamped_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=MAX_MATCHES + 10)
            .map(|n| format!("hit {n}\n"))
            .collect();
        let path = write_file(dir.path(), "app.log", &text);
        let mut config = skippy_core::Config::defaults_for(dir.path()).unwrap();
        config.server.max_output_bytes = 1024 * 1024;
        let large = Params {
            max_matches: 10_000,
            context_lines: 1000,
            ..params(&path, "hit")
        };
        let out = tool().run(ToolCtx::for_tests(config), large).await.unwrap();
        assert_eq!(out.max_matches_clamped_to, Some(MAX_MATCHES));
        assert_eq!(out.context_lines_clamped_to, Some(MAX_CONTEXT));
        assert!(out.truncated);
        assert!(out.next_offset.is_some());
        let out = tool()
            .run(context(dir.path()), params(&path, "hit 1\\b"))
            .await
            .unwrap();
        assert_eq!(out.max_matches_clamped_to, None);
        assert_eq!(out.context_lines_clamped_to, None);
    }

    #[tokio::test]
    async fn damaged_gzip_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log.1.gz");
        std::fs::write(&path, b"\x1f\x8b\x08\x00garbage that is not deflate").unwrap();
        let error = tool()
            .run(context(dir.path()), params(path.to_str().unwrap(), "x"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "io");
        assert!(error.to_string().contains("gzip"), "{error}");
    }

    #[tokio::test]
    async fn cancelled_search_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", APP);
        let ctx = context(dir.path());
        ctx.cancel.cancel();
        let error = tool().run(ctx, params(&path, "x")).await.unwrap_err();
        assert_eq!(error.code(), "cancelled");
    }
}
