//! `summarize_log`: what a log file says, in aggregate: line counts per level, the time span, and
//! the most frequent message templates with an example of each.
//!
//! One forward pass (gzip files are decompressed transparently) over at most `max_lines` lines;
//! when the cap stops it, `truncated` is set and `next_offset`, passed back as `offset`, resumes.
//! A compressed file is decompressed up to [`SCAN_CEILING`] bytes of text, those skipped to reach
//! `offset` included (a gzip bomb costs no more than that); past it the pass stops with
//! `truncated` and `scan_ceiling_bytes`, and no `next_offset`, since a later call would stop at
//! the same place. Only the first 16 KiB of a line are looked at, so a huge line costs no memory.
//! Local files are opened without following links or blocking on a FIFO, and the opened
//! descriptor is checked ([`crate::reader::open_log`]).
//! With `since`, lines stamped earlier are skipped; undated lines (stack traces, continuations)
//! follow the line before them. Levels and templates: see [`crate::level`] and
//! [`crate::template`]. Memory stays bounded: at most [`MAX_TEMPLATES`] templates are tracked;
//! lines whose template is new after that are counted in `untracked_lines`.
//! With `host`, the same pass runs over the file on that host, streamed in windows of up to 8 MiB
//! ([`crate::remote_file`]), so the counts equal a local run on the same bytes.
//! Read-only; no side effects.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::clamp;
use skippy_core::limits::{Budget, json_len};
use skippy_core::time::{parse_time_bound, rfc3339};
use skippy_core::{
    Annotations, PathPolicy, Tool, ToolCtx, ToolError, ToolResult, Toolset, check_cancelled,
};
use skippy_remote::Hosts;
use tokio_util::sync::CancellationToken;

use crate::level::{self, Level};
use crate::output::display_line;
use crate::reader::{ForwardLines, LogFile, LogReader, SCAN_CEILING, Watched, read_error};
use crate::target::LogTarget;
use crate::template::{split_message, template_into};
use crate::timestamp::find_timestamp;

pub const DEFAULT_TOP: u32 = 10;
pub const MAX_TOP: u32 = 100;
pub const DEFAULT_MAX_LINES: u64 = 5_000_000;
pub const MAX_MAX_LINES: u64 = 50_000_000;
/// Most distinct templates tracked.
pub const MAX_TEMPLATES: usize = 20_000;
/// Longest example line, in bytes.
const EXAMPLE_CAP: usize = 300;
/// Only the start of a longer line is looked at.
const MAX_LINE: usize = 16 * 1024;
const BUFFER: usize = 64 * 1024;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Log alias, or path (relative: to first root, local only)
    pub path: String,
    /// RFC 3339 or age (2h)
    #[serde(default)]
    #[schemars(with = "String")]
    pub since: Option<String>,
    /// Max 100 (larger is clamped)
    #[serde(default = "default_top")]
    pub top: u32,
    /// Lines to read (max 50000000, larger is clamped)
    #[serde(default = "default_max_lines")]
    pub max_lines: u64,
    /// Byte offset (from next_offset)
    #[serde(default)]
    pub offset: u64,
    /// From list_hosts; default local
    #[serde(default)]
    #[schemars(with = "String")]
    pub host: Option<String>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Levels {
    pub error: u64,
    pub warning: u64,
    pub info: u64,
    pub debug: u64,
    pub other: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Template {
    pub template: String,
    pub count: u64,
    #[schemars(with = "String")]
    pub level: Level,
    pub example: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub lines_scanned: u64,
    pub bytes_scanned: u64,
    pub levels: Levels,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub first_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub last_timestamp: Option<String>,
    pub top: Vec<Template>,
    pub distinct_templates: usize,
    /// Lines past the template cap.
    pub untracked_lines: u64,
    pub truncated: bool,
    /// Pass as offset to continue.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub next_offset: Option<u64>,
    /// Set (to the ceiling, in bytes) when the pass stopped at the most decompressed text a call
    /// may read; the rest of the compressed file was not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64")]
    pub scan_ceiling_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_clamped_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lines_clamped_to: Option<u64>,
}

fn default_top() -> u32 {
    DEFAULT_TOP
}

fn default_max_lines() -> u64 {
    DEFAULT_MAX_LINES
}

pub struct SummarizeLog {
    pub hosts: Arc<Hosts>,
}

impl Tool for SummarizeLog {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "summarize_log";
    const TITLE: &'static str = "Summarize log";
    const DESCRIPTION: &'static str =
        "Summarize a log (gzip too): counts per level, time span, top message templates.";
    const TOOLSET: Toolset = Toolset::Logs;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let top = clamp::limit("top", Some(params.top), DEFAULT_TOP, MAX_TOP)?;
        let max_lines = clamp::limit(
            "max_lines",
            Some(params.max_lines),
            DEFAULT_MAX_LINES,
            MAX_MAX_LINES,
        )?;
        let now = Utc::now();
        let since = params
            .since
            .as_deref()
            .map(|text| parse_time_bound("since", text, now))
            .transpose()?;
        let target =
            LogTarget::resolve(&ctx, &self.hosts, params.host.as_deref(), &params.path).await?;
        let request = Request {
            now,
            since,
            top: top.value as usize,
            max_lines: max_lines.value,
            offset: params.offset,
            budget: Budget::for_output(ctx.max_output_bytes()),
        };
        let progress = ctx.clone();
        let policy = ctx.config.logs.policy.clone();
        let mut output = ctx
            .blocking(move |cancel| summarize(&policy, &target, request, &cancel, &progress))
            .await?;
        if top.clamped_to.is_some() {
            output.top_clamped_to = top.clamped_to;
            // More templates than the ceiling shows: the clamp cut the list.
            output.truncated |= output.distinct_templates > top.value as usize;
        }
        output.max_lines_clamped_to = max_lines.clamped_to;
        Ok(output)
    }
}

struct Request {
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    top: usize,
    max_lines: u64,
    offset: u64,
    budget: Budget,
}

struct Entry {
    count: u64,
    level: Level,
    example: String,
}

/// Running totals of one pass.
#[derive(Default)]
struct Tally {
    levels: Levels,
    templates: HashMap<String, Entry>,
    untracked: u64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl Tally {
    fn count_level(&mut self, level: Level) {
        let slot = match level {
            Level::Error => &mut self.levels.error,
            Level::Warning => &mut self.levels.warning,
            Level::Info => &mut self.levels.info,
            Level::Debug => &mut self.levels.debug,
            Level::Other => &mut self.levels.other,
        };
        *slot += 1;
    }

    fn count_template(&mut self, template: &str, level: Level, line: &[u8], cut: bool) {
        if let Some(entry) = self.templates.get_mut(template) {
            entry.count += 1;
        } else if self.templates.len() < MAX_TEMPLATES {
            let example = display_line(line, EXAMPLE_CAP, cut).0;
            self.templates.insert(
                template.to_string(),
                Entry {
                    count: 1,
                    level,
                    example,
                },
            );
        } else {
            self.untracked += 1;
        }
    }

    /// The `top` most frequent templates (ties by template text), as many as fit the budget.
    fn top(&mut self, top: usize, budget: &mut Budget) -> (Vec<Template>, bool) {
        let mut entries: Vec<(String, Entry)> = self.templates.drain().collect();
        entries.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        let mut listed = Vec::new();
        for (template, entry) in entries.into_iter().take(top) {
            let cost = json_len(&template) + json_len(&entry.example) + 64;
            if !budget.take(cost) {
                return (listed, true);
            }
            listed.push(Template {
                template,
                count: entry.count,
                level: entry.level,
                example: entry.example,
            });
        }
        (listed, false)
    }
}

/// A reader positioned at `offset`, the file size, and how many more bytes of text may be read
/// (None for a plain file; for a gzip file what the ceiling leaves after the skipped bytes).
fn open_at(
    mut log: LogFile,
    path: &Path,
    offset: u64,
    cancel: &CancellationToken,
) -> ToolResult<(LogReader, u64, Option<u64>)> {
    let size = log.size;
    if !log.gzip {
        log.file
            .seek(SeekFrom::Start(offset.min(size)))
            .map_err(|error| ToolError::io(path, &error))?;
        return Ok((LogReader::new(log), size, None));
    }
    let mut reader = LogReader::new(log);
    let mut skipper =
        Watched::new(&mut reader, cancel.clone(), false).with_ceiling(Some(SCAN_CEILING));
    io::copy(&mut (&mut skipper).take(offset), &mut io::sink())
        .map_err(|error| read_error(path, &error, cancel))?;
    let left = SCAN_CEILING.saturating_sub(skipper.bytes);
    Ok((reader, size, Some(left)))
}

fn summarize(
    policy: &PathPolicy,
    target: &LogTarget,
    mut request: Request,
    cancel: &CancellationToken,
    progress: &ToolCtx,
) -> ToolResult<Output> {
    let path = target.path();
    let log = target.open(policy, cancel)?;
    let (reader, size, ceiling) = open_at(log, path, request.offset, cancel)?;
    let reporter = progress.clone();
    let watched = Watched::new(reader, cancel.clone(), false)
        .with_progress(Box::new(move |bytes| {
            reporter.progress(bytes as f64, Some(size as f64), || {
                format!("read {} MiB", bytes / (1024 * 1024))
            });
        }))
        .with_ceiling(ceiling);
    let mut lines = ForwardLines::new(
        BufReader::with_capacity(BUFFER, watched),
        request.offset,
        MAX_LINE,
    );
    let mut tally = Tally::default();
    let mut template = String::new();
    let mut lines_scanned = 0u64;
    let mut in_range = true;
    let mut next_offset = None;
    loop {
        if lines_scanned.is_multiple_of(4096) {
            check_cancelled(cancel)?;
        }
        let Some(line) = lines
            .next_line()
            .map_err(|error| read_error(path, &error, cancel))?
        else {
            break;
        };
        if lines_scanned == request.max_lines {
            next_offset = Some(line.offset);
            break;
        }
        lines_scanned += 1;
        let stamp = find_timestamp(line.bytes, request.now);
        if let Some(stamp) = &stamp {
            in_range = request.since.is_none_or(|since| stamp.time >= since);
            if in_range {
                tally.first.get_or_insert(stamp.time);
                tally.last = Some(stamp.time);
            }
        }
        if !in_range {
            continue;
        }
        let text = String::from_utf8_lossy(line.bytes);
        let message = split_message(&text, stamp.as_ref());
        let level = level::detect(line.bytes, stamp.as_ref(), message.body.as_bytes());
        tally.count_level(level);
        if message.body.is_empty() && message.process.is_none() {
            continue;
        }
        template_into(message, &mut template);
        tally.count_template(&template, level, line.bytes, line.cut);
    }
    let end = next_offset.unwrap_or_else(|| lines.offset());
    // A gzip file shorter than `offset` reads nothing; one longer than the ceiling stops there.
    let scan_ceiling_bytes = lines
        .get_ref()
        .get_ref()
        .hit_ceiling
        .then_some(SCAN_CEILING);
    let distinct_templates = tally.templates.len();
    let (top, top_cut) = tally.top(request.top, &mut request.budget);
    let timestamp = |time: Option<DateTime<Utc>>| time.map(|t| rfc3339(SystemTime::from(t)));
    Ok(Output {
        lines_scanned,
        bytes_scanned: end.saturating_sub(request.offset),
        levels: tally.levels,
        first_timestamp: timestamp(tally.first),
        last_timestamp: timestamp(tally.last),
        distinct_templates,
        top,
        untracked_lines: tally.untracked,
        truncated: next_offset.is_some() || top_cut || scan_ceiling_bytes.is_some(),
        next_offset,
        scan_ceiling_bytes,
        top_clamped_to: None,
        max_lines_clamped_to: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, gzip_file, write_file};

    fn tool() -> SummarizeLog {
        SummarizeLog {
            hosts: Arc::default(),
        }
    }

    fn params(path: &str) -> Params {
        Params {
            path: path.to_string(),
            since: None,
            top: DEFAULT_TOP,
            max_lines: DEFAULT_MAX_LINES,
            offset: 0,
            host: None,
        }
    }

    const SYSLOG: &str = "\
Nov 21 10:00:01 web1 sshd[100]: Failed password for root from 203.0.113.9 port 50001 ssh2
Nov 21 10:00:02 web1 sshd[101]: Failed password for root from 198.51.100.7 port 50002 ssh2
Nov 21 10:00:03 web1 sshd[102]: Failed password for root from 2001:db8::7 port 50003 ssh2
Nov 21 10:00:04 web1 CRON[200]: (root) CMD (run-parts /etc/cron.hourly)
Nov 21 10:00:05 web1 kernel: [12.345] warning: CPU 3 throttled
Nov 21 10:00:06 web1 app[7]: debug cache hit 42
Nov 21 10:00:07 web1 app[7]: INFO served 17 requests

";

    #[tokio::test]
    async fn counts_levels_and_groups_templates() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "syslog", SYSLOG);
        let out = tool()
            .run(context(dir.path()), params(&path))
            .await
            .unwrap();
        assert_eq!(out.lines_scanned, 8);
        assert_eq!(out.bytes_scanned, SYSLOG.len() as u64);
        let levels = &out.levels;
        assert_eq!(
            (
                levels.error,
                levels.warning,
                levels.info,
                levels.debug,
                levels.other
            ),
            (3, 1, 1, 1, 2)
        );
        assert_eq!(out.distinct_templates, 5);
        assert_eq!(
            out.top[0].template,
            "sshd: Failed password for root from <ip> port <n> ssh<n>"
        );
        assert_eq!(out.top[0].count, 3);
        assert_eq!(out.top[0].level, Level::Error);
        assert!(out.top[0].example.contains("203.0.113.9"));
        assert_eq!(out.top.len(), 5);
        assert!(
            out.first_timestamp
                .as_deref()
                .unwrap()
                .ends_with("-11-21T10:00:01Z")
        );
        assert!(
            out.last_timestamp
                .as_deref()
                .unwrap()
                .ends_with("-11-21T10:00:07Z")
        );
        assert!(!out.truncated);
        assert_eq!(out.untracked_lines, 0);
    }

    #[tokio::test]
    async fn access_log_levels_from_status() {
        let dir = tempfile::tempdir().unwrap();
        let line = |ip: &str, status: u32| {
            format!(
                "{ip} - - [21/Nov/2026:10:29:23 +0000] \"GET /index.html HTTP/1.1\" {status} 512 \"-\" \"curl\"\n"
            )
        };
        let text = [
            line("10.0.0.1", 200),
            line("10.0.0.2", 404),
            line("10.0.0.3", 502),
            line("10.0.0.4", 200),
        ]
        .concat();
        let path = gzip_file(dir.path(), "access.log.1", &text);
        let out = tool()
            .run(context(dir.path()), params(&path))
            .await
            .unwrap();
        let levels = &out.levels;
        assert_eq!((levels.error, levels.warning, levels.info), (1, 1, 2));
        assert_eq!(out.distinct_templates, 1);
        assert_eq!(out.top[0].count, 4);
        assert_eq!(out.first_timestamp.as_deref(), Some("2026-11-21T10:29:23Z"));
    }

    #[tokio::test]
    async fn since_skips_older_lines_and_their_continuations() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\
2026-01-01T00:00:00Z ERROR old failure
  at old frame
2099-01-01T00:00:00Z ERROR future failure
  at new frame
";
        let path = write_file(dir.path(), "app.log", text);
        let mut request = params(&path);
        request.since = Some("2030-01-01T00:00:00Z".to_string());
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.lines_scanned, 4);
        assert_eq!((out.levels.error, out.levels.other), (1, 1));
        assert_eq!(out.first_timestamp.as_deref(), Some("2099-01-01T00:00:00Z"));
        let templates: Vec<&str> = out.top.iter().map(|t| t.template.as_str()).collect();
        assert_eq!(templates, ["ERROR future failure", "at new frame"]);
    }

    #[tokio::test]
    async fn max_lines_truncates_and_offset_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (1..=10).map(|n| format!("job {n} ok\n")).collect();
        let path = write_file(dir.path(), "app.log", &text);
        let mut request = params(&path);
        request.max_lines = 4;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.lines_scanned, 4);
        assert!(out.truncated);
        let offset = "job 1 ok\njob 2 ok\njob 3 ok\njob 4 ok\n".len() as u64;
        assert_eq!(out.next_offset, Some(offset));
        assert_eq!(out.bytes_scanned, offset);
        let mut rest = params(&path);
        rest.offset = out.next_offset.unwrap();
        let out = tool().run(context(dir.path()), rest).await.unwrap();
        assert_eq!(out.lines_scanned, 6);
        assert_eq!(out.top[0].template, "job <n> ok");
        assert_eq!(out.top[0].count, 6);
        assert_eq!(out.top[0].example, "job 5 ok");
        assert!(!out.truncated);
    }

    #[tokio::test]
    async fn offset_into_a_gzip_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = gzip_file(dir.path(), "app.gz", "alpha 1\nbeta 2\n");
        let mut request = params(&path);
        request.offset = 8;
        let out = tool().run(context(dir.path()), request).await.unwrap();
        assert_eq!(out.lines_scanned, 1);
        assert_eq!(out.top[0].template, "beta <n>");
    }

    #[test]
    fn template_cap_counts_the_rest_as_untracked() {
        let mut tally = Tally::default();
        for n in 0..MAX_TEMPLATES + 5 {
            tally.count_template(&format!("t{n}"), Level::Other, b"x", false);
        }
        tally.count_template("t0", Level::Other, b"x", false);
        assert_eq!(tally.templates.len(), MAX_TEMPLATES);
        assert_eq!(tally.untracked, 5);
        assert_eq!(tally.templates["t0"].count, 2);
        let mut budget = Budget::for_output(1 << 20);
        let (top, cut) = tally.top(3, &mut budget);
        assert!(!cut);
        assert_eq!(top[0].template, "t0");
        assert_eq!(top[1].template, "t1");
    }

    #[tokio::test]
    async fn defect_limits_are_clamped_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Digits would be masked into one template: name each job with letters instead.
        let letter = |index: u8| char::from(b'a' + index);
        let text: String = (0..150u8)
            .map(|n| format!("job {}{} done\n", letter(n / 26), letter(n % 26)))
            .collect();
        let path = write_file(dir.path(), "a.log", &text);
        let large = Params {
            top: 1000,
            max_lines: u64::MAX,
            ..params(&path)
        };
        let out = tool().run(context(dir.path()), large).await.unwrap();
        assert_eq!(out.top_clamped_to, Some(MAX_TOP));
        assert_eq!(out.max_lines_clamped_to, Some(MAX_MAX_LINES));
        assert_eq!(out.top.len(), MAX_TOP as usize);
        assert!(out.distinct_templates > MAX_TOP as usize);
        assert!(out.truncated);
        assert_eq!(out.lines_scanned, 150);
    }

    #[tokio::test]
    async fn rejects_bad_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(dir.path(), "a.log", "x\n");
        for bad in [
            Params {
                top: 0,
                ..params(&path)
            },
            Params {
                max_lines: 0,
                ..params(&path)
            },
            Params {
                since: Some("soon".into()),
                ..params(&path)
            },
        ] {
            let error = tool().run(context(dir.path()), bad).await.unwrap_err();
            assert_eq!(error.code(), "invalid_argument");
        }
    }
}
