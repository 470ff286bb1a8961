//! `tail_log`: the last lines of a log file, optionally only those matching a regex.
//!
//! Plain files are read backwards from the end in 64 KiB blocks, so the cost depends on what is
//! returned, not on the file size. With a filter, reading goes on backwards until enough lines
//! match, the start of the file is reached, or [`SCAN_CEILING`] bytes were read (then `truncated`
//! and `scan_ceiling_bytes` are set and `next_offset` says where to continue). Gzip files
//! (detected by content) cannot be read backwards: they are decompressed from the start, keeping
//! the last N lines in a ring buffer, and decompression stops at [`SCAN_CEILING`] bytes of text
//! (a gzip bomb costs no more than that; the result then says the lines are the last ones within
//! the ceiling). The filter sees the first [`LINE_WINDOW`] bytes of each line (`long_lines_cut`
//! counts longer ones). Lines come oldest first. When they exceed the output ceiling the oldest
//! are dropped; lines over [`LINE_CAP`] bytes are cut. `next_offset`, passed back as `before`,
//! pages to older lines. The file is opened without following links or blocking on a FIFO, and
//! the opened descriptor is checked ([`crate::reader::open_log`]).
//! With `host`, the same code reads the file on that host through windows fetched with `dd`/`od`
//! ([`crate::remote_file`]): the filter runs here, so its semantics do not change; a remote gzip
//! file is transferred whole. Read-only; no side effects.

use std::collections::VecDeque;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use regex::bytes::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp;
use skippy_core::limits::Budget;
use skippy_core::patterns::{self, RegexOptions};
use skippy_core::{Annotations, Tool, ToolCtx, ToolResult, Toolset, check_cancelled};
use skippy_remote::Hosts;
use tokio_util::sync::CancellationToken;

use crate::backward::BackwardLines;
use crate::output::{display_line, fit, is_zero};
use crate::reader::{
    ForwardLines, LINE_WINDOW, LogFile, LogReader, SCAN_CEILING, Watched, read_error,
};
use crate::target::LogTarget;

pub const DEFAULT_LINES: u32 = 100;
pub const MAX_LINES: u32 = 10_000;
/// Longest line returned, in bytes.
pub const LINE_CAP: usize = 8 * 1024;
const BLOCK: usize = 64 * 1024;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Log alias, or path (relative: to first root, local only)
    pub path: String,
    /// Max 10000 (larger is clamped)
    #[serde(default = "default_lines")]
    pub lines: u32,
    /// Regex
    #[serde(default)]
    #[schemars(with = "String")]
    pub filter: Option<String>,
    /// Byte offset (from next_offset)
    #[serde(default)]
    #[schemars(with = "u64")]
    pub before: Option<u64>,
    /// From list_hosts; default local
    #[serde(default)]
    #[schemars(with = "String")]
    pub host: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    /// Oldest first.
    pub lines: Vec<String>,
    pub count: usize,
    pub truncated: bool,
    pub bytes_read: u64,
    /// Pass as before for older lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub next_offset: Option<u64>,
    /// Lines over 64 KiB read: filtered and kept by their first 64 KiB only.
    #[serde(skip_serializing_if = "is_zero")]
    pub long_lines_cut: u64,
    /// Set (to the ceiling, in bytes) when reading stopped at the most text a call may read: a
    /// gzip file's later lines, or with a filter older lines, were not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub scan_ceiling_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_clamped_to: Option<u32>,
}

fn default_lines() -> u32 {
    DEFAULT_LINES
}

pub struct TailLog {
    pub hosts: Arc<Hosts>,
}

impl Tool for TailLog {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "tail_log";
    const TITLE: &'static str = "Tail log";
    const DESCRIPTION: &'static str =
        "Last lines of a log file (gzip too), optionally filtered by a regex.";
    const TOOLSET: Toolset = Toolset::Logs;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let wanted = clamp::limit("lines", Some(params.lines), DEFAULT_LINES, MAX_LINES)?;
        let filter = params
            .filter
            .as_deref()
            .map(|pattern| patterns::regex("filter", pattern, RegexOptions::default()))
            .transpose()?;
        let target =
            LogTarget::resolve(&ctx, &self.hosts, params.host.as_deref(), &params.path).await?;
        let request = Request {
            wanted: wanted.value as usize,
            filter,
            before: params.before,
            budget: Budget::for_output(ctx.max_output_bytes()),
        };
        let policy = ctx.config.logs.policy.clone();
        let mut output = ctx
            .blocking(move |cancel| {
                let log = target.open(&policy, &cancel)?;
                if log.gzip {
                    tail_stream(target.path(), log, request, &cancel)
                } else {
                    tail_backward(target.path(), log, request, &cancel)
                }
            })
            .await?;
        if wanted.clamped_to.is_some() {
            output.lines_clamped_to = wanted.clamped_to;
            // The ceiling's worth came back and older lines remain: the clamp cut them.
            output.truncated |=
                output.count == wanted.value as usize && output.next_offset.is_some();
        }
        Ok(output)
    }
}

struct Request {
    wanted: usize,
    filter: Option<Regex>,
    before: Option<u64>,
    budget: Budget,
}

fn matches(filter: Option<&Regex>, line: &[u8]) -> bool {
    filter.is_none_or(|regex| regex.is_match(line))
}

/// Plain files: read backwards from the end (or `before`).
fn tail_backward(
    path: &Path,
    log: LogFile,
    mut request: Request,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let end = request
        .before
        .map_or(log.size, |before| before.min(log.size));
    let mut reader = BackwardLines::new(log.file, end, BLOCK, LINE_WINDOW);
    let mut newest_first: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut long_lines_cut = 0u64;
    let mut scan_ceiling_bytes = None;
    // Offset of the oldest line dealt with: everything from here on was returned or filtered out.
    let mut resume: Option<u64> = None;
    let mut examined = 0u64;
    while newest_first.len() < request.wanted {
        if examined.is_multiple_of(1024) {
            check_cancelled(cancel)?;
        }
        if request.filter.is_some() && reader.bytes_read() >= SCAN_CEILING {
            truncated = true;
            scan_ceiling_bytes = Some(SCAN_CEILING);
            break;
        }
        let Some(line) = reader
            .next_line()
            .map_err(|error| read_error(path, &error, cancel))?
        else {
            break;
        };
        examined += 1;
        long_lines_cut += u64::from(line.cut);
        if !matches(request.filter.as_ref(), line.bytes) {
            resume = Some(line.offset);
            continue;
        }
        let (text, line_cut) = display_line(line.bytes, LINE_CAP, line.cut);
        let Some((text, budget_cut)) = fit(&mut request.budget, text, newest_first.is_empty())
        else {
            truncated = true;
            break;
        };
        truncated |= line_cut || budget_cut;
        resume = Some(line.offset);
        newest_first.push(text);
    }
    newest_first.reverse();
    Ok(Output {
        count: newest_first.len(),
        lines: newest_first,
        truncated,
        bytes_read: reader.bytes_read(),
        next_offset: resume.filter(|&offset| offset > 0),
        long_lines_cut,
        scan_ceiling_bytes,
        lines_clamped_to: None,
    })
}

/// Gzip files: decompress from the start, keeping the last matching lines.
fn tail_stream(
    path: &Path,
    log: LogFile,
    mut request: Request,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let watched =
        Watched::new(LogReader::new(log), cancel.clone(), false).with_ceiling(Some(SCAN_CEILING));
    let mut lines = ForwardLines::new(BufReader::with_capacity(BLOCK, watched), 0, LINE_WINDOW);
    let mut long_lines_cut = 0u64;
    // (offset, bytes, cut); the oldest slot is reused when the ring is full.
    let mut ring: VecDeque<(u64, Vec<u8>, bool)> =
        VecDeque::with_capacity(request.wanted.min(1024));
    while let Some(line) = lines
        .next_line()
        .map_err(|error| read_error(path, &error, cancel))?
    {
        if request.before.is_some_and(|before| line.offset >= before) {
            break;
        }
        long_lines_cut += u64::from(line.cut);
        if !matches(request.filter.as_ref(), line.bytes) {
            continue;
        }
        let mut slot = if ring.len() == request.wanted {
            ring.pop_front().unwrap_or_default()
        } else {
            Default::default()
        };
        slot.0 = line.offset;
        slot.1.clear();
        slot.1.extend_from_slice(line.bytes);
        slot.2 = line.cut;
        ring.push_back(slot);
    }
    let watched = lines.get_ref().get_ref();
    let bytes_read = watched.bytes;
    let scan_ceiling_bytes = watched.hit_ceiling.then_some(SCAN_CEILING);
    let mut newest_first = Vec::with_capacity(ring.len());
    let mut truncated = scan_ceiling_bytes.is_some();
    let mut oldest = None;
    for (offset, bytes, cut) in ring.iter().rev() {
        let (text, line_cut) = display_line(bytes, LINE_CAP, *cut);
        let Some((text, budget_cut)) = fit(&mut request.budget, text, newest_first.is_empty())
        else {
            truncated = true;
            break;
        };
        truncated |= line_cut || budget_cut;
        oldest = Some(*offset);
        newest_first.push(text);
    }
    newest_first.reverse();
    Ok(Output {
        count: newest_first.len(),
        lines: newest_first,
        truncated,
        bytes_read,
        next_offset: oldest.filter(|&offset| offset > 0),
        long_lines_cut,
        scan_ceiling_bytes,
        lines_clamped_to: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, gzip_file, write_file};

    fn tool() -> TailLog {
        TailLog {
            hosts: Arc::default(),
        }
    }

    fn params(path: &str, lines: Option<u32>) -> Params {
        Params {
            path: path.to_string(),
            lines: lines.unwrap_or(DEFAULT_LINES),
            filter: None,
            before: None,
            host: None,
        }
    }

    fn numbered(count: usize) -> String {
        (1..=count).map(|n| format!("line {n}\n")).collect()
    }

    #[tokio::test]
    async fn returns_exact_last_lines_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", &numbered(500));
        let out = tool()
            .run(context(dir.path()), params(&path, Some(3)))
            .await
            .unwrap();
        assert_eq!(out.lines, ["line 498", "line 499", "line 500"]);
        assert_eq!(out.count, 3);
        assert!(!out.truncated);
        let offset = numbered(497).len() as u64;
        assert_eq!(out.next_offset, Some(offset));
        assert!(out.bytes_read < 64 * 1024 + 1);

        // Paging back with `before` continues exactly where the last call stopped.
        let mut older = params(&path, Some(2));
        older.before = out.next_offset;
        let out = tool().run(context(dir.path()), older).await.unwrap();
        assert_eq!(out.lines, ["line 496", "line 497"]);
    }

    #[tokio::test]
    async fn default_is_a_hundred_lines_and_whole_small_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "a.log", &numbered(150));
        let out = tool()
            .run(context(dir.path()), params(&path, None))
            .await
            .unwrap();
        assert_eq!(out.count, 100);
        assert_eq!(out.lines[0], "line 51");
        let small = write_file(dir.path(), "b.log", "x\ny\n");
        let out = tool()
            .run(context(dir.path()), params(&small, Some(10)))
            .await
            .unwrap();
        assert_eq!(out.lines, ["x", "y"]);
        assert_eq!(out.next_offset, None);
    }

    #[tokio::test]
    async fn file_without_trailing_newline_and_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "a.log",
            "first\r\nsecond\r\nlast without newline",
        );
        let out = tool()
            .run(context(dir.path()), params(&path, Some(2)))
            .await
            .unwrap();
        assert_eq!(out.lines, ["second", "last without newline"]);
        let empty = write_file(dir.path(), "empty.log", "");
        let out = tool()
            .run(context(dir.path()), params(&empty, Some(2)))
            .await
            .unwrap();
        assert!(out.lines.is_empty());
    }

    #[tokio::test]
    async fn filter_reads_back_until_enough_matches() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=20_000)
            .map(|n| {
                if n % 1000 == 0 {
                    format!("{n} ERROR disk full\n")
                } else {
                    format!("{n} info ok\n")
                }
            })
            .collect();
        let path = write_file(dir.path(), "app.log", &text);
        let mut request = params(&path, Some(3));
        request.filter = Some("(?i)error".to_string());
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(
            out.lines,
            [
                "18000 ERROR disk full",
                "19000 ERROR disk full",
                "20000 ERROR disk full"
            ]
        );
        let from_match = (text.len() - text.find("18000 ERROR").unwrap()) as u64;
        assert!(out.bytes_read >= from_match && out.bytes_read < text.len() as u64);
        let mut bad = params(&path, Some(3));
        bad.filter = Some("(".to_string());
        let error = tool().run(context(dir.path()), bad).await.unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }

    #[tokio::test]
    async fn gzip_tail_with_filter() {
        let dir = tempfile::tempdir().unwrap();
        let path = gzip_file(dir.path(), "app.log.2.gz", &numbered(1000));
        let out = tool()
            .run(context(dir.path()), params(&path, Some(2)))
            .await
            .unwrap();
        assert_eq!(out.lines, ["line 999", "line 1000"]);
        let mut filtered = params(&path, Some(2));
        filtered.filter = Some("^line 5\\d$".to_string());
        let out = tool().run(context(dir.path()), filtered).await.unwrap();
        assert_eq!(out.lines, ["line 58", "line 59"]);
        let mut before = params(&path, Some(1));
        before.before = out.next_offset;
        let out = tool().run(context(dir.path()), before).await.unwrap();
        assert_eq!(out.lines, ["line 57"]);
    }

    #[tokio::test]
    async fn output_budget_drops_oldest_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "big.log", &numbered(2000));
        let mut config = skippy_core::Config::defaults_for(dir.path()).unwrap();
        config.server.max_output_bytes = 4096;
        let ctx = ToolCtx::for_tests(config);
        let out = tool()
            .run(ctx.clone(), params(&path, Some(1000)))
            .await
            .unwrap();
        assert!(out.truncated);
        assert!(out.count > 50 && out.count < 1000, "{}", out.count);
        assert_eq!(out.lines.last().unwrap(), "line 2000");
        let first: usize = out.lines[0]["line ".len()..].parse().unwrap();
        assert_eq!(first, 2001 - out.count);
        let mut next = params(&path, Some(1000));
        next.before = out.next_offset;
        let older = tool().run(ctx, next).await.unwrap();
        assert_eq!(older.lines.last().unwrap(), &format!("line {}", first - 1));
    }

    #[tokio::test]
    async fn long_lines_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(
            dir.path(),
            "a.log",
            &format!("{}\nshort\n", "x".repeat(100_000)),
        );
        let out = tool()
            .run(context(dir.path()), params(&path, Some(2)))
            .await
            .unwrap();
        assert!(out.truncated);
        assert_eq!(out.lines[0].len(), LINE_CAP + "…".len());
        assert_eq!(out.lines[1], "short");
        assert_eq!(out.long_lines_cut, 1);
    }

    #[tokio::test]
    async fn refuses_bad_arguments_and_paths() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let path = write_file(outside.path(), "secret.log", "x\n");
        let error = tool()
            .run(context(dir.path()), params(&path, None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = tool()
            .run(context(dir.path()), params("relative.log", None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        let inside = write_file(dir.path(), "a.log", "x\n");
        let error = tool()
            .run(context(dir.path()), params(&inside, Some(0)))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let missing = dir.path().join("missing.log");
        let error = tool()
            .run(context(dir.path()), params(missing.to_str().unwrap(), None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
    }

    #[tokio::test]
    async fn resolves_configured_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "app.log", "a\nb\n");
        let ctx = crate::test_support::context_with_alias(dir.path(), "app", &path);
        let out = tool().run(ctx, params("app", Some(1))).await.unwrap();
        assert_eq!(out.lines, ["b"]);
    }

    #[tokio::test]
    async fn defect_log_tools_resolve_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        write_file(&dir.path().join("logs"), "syslog", "a\nb\n");
        let out = tool()
            .run(context(dir.path()), params("logs/syslog", Some(1)))
            .await
            .unwrap();
        assert_eq!(out.lines, ["b"]);
    }
}
