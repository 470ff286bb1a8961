//! `read_file`: read a text file by lines, or any file as base64 by bytes.
//!
//! A positive `offset` scans forward with a memchr newline search and stops once `limit` lines are
//! collected, so the start of a huge file is cheap; line numbers are absolute and 1-based. A
//! negative `offset` reads backwards from the end in 64 KiB blocks until enough newlines are found,
//! so the tail of a 1 GB file costs a block or two. Tail line numbers count from the end (-1 is the
//! last line) because absolute numbers would mean reading the whole file. `total_lines` is reported
//! only when it is known without extra cost (the read reached the end or the beginning, or the
//! unread rest is at most 16 MiB).
//!
//! Limits: `limit` lines and the output byte budget, whichever comes first; `next_offset` continues.
//! A single line longer than the budget is cut at a character boundary and named in `cut_line`.
//! Text mode refuses binary content (a NUL byte in the first 8 KiB, or invalid UTF-8 in what would
//! be returned) and says to use base64 mode, where `offset` and `limit` count bytes instead.
//! Files the kernel reports as empty (procfs, sysfs) are read up to 16 MiB. No side effects.

use std::fs::{File, Metadata};
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::limits::Budget;
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use tokio_util::sync::CancellationToken;

use crate::common::{IO_BUFFER, escaped_len, fitting_prefix, open_regular};

const DEFAULT_LIMIT: u64 = 2000;
/// A NUL byte in this many leading bytes marks a file as binary (the same rule as git and grep).
const BINARY_PROBE: usize = 8 * 1024;
/// Block size of the backward scan for negative offsets.
const TAIL_BLOCK: usize = 64 * 1024;
/// When the unread rest of the file is at most this big, its lines are counted for `total_lines`.
const COUNT_REST_MAX: u64 = 16 * 1024 * 1024;
/// Files whose size the kernel reports as 0 (procfs, sysfs) are read whole, up to this much.
const UNSIZED_MAX: u64 = 16 * 1024 * 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Encoding {
    #[default]
    Utf8,
    Base64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Absolute or relative to first root
    pub path: String,
    /// 1-based line (base64: byte); -N: last N lines
    pub offset: Option<i64>,
    /// Lines (base64: bytes); default 2000
    pub limit: Option<u64>,
    /// Default utf8
    #[serde(default)]
    pub encoding: Encoding,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Output {
    pub content: String,
    /// <0 when reading the tail; base64: bytes
    pub start_line: i64,
    pub end_line: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_lines: Option<u64>,
    pub size: u64,
    pub truncated: bool,
    pub next_offset: Option<i64>,
    /// Line cut to fit the output cap
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_line: Option<i64>,
}

pub struct ReadFile;

impl Tool for ReadFile {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "read_file";
    const TITLE: &'static str = "Read file";
    const DESCRIPTION: &'static str =
        "Read a file: text by lines (negative offset tails; fast on huge files) or base64.";
    const TOOLSET: Toolset = Toolset::Files;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        if params.limit == Some(0) {
            return Err(ToolError::invalid("limit must be at least 1"));
        }
        let path = ctx.read_path(&params.path)?;
        let budget = Budget::for_output(ctx.max_output_bytes()).remaining();
        let config = ctx.config.clone();
        ctx.blocking(move |cancel| {
            // Opened (and verified) on the blocking pool, like every read.
            let opened = open_regular(&config.files, &path)?;
            // The line scanners report cancellation as an I/O error; name it for what it is.
            read(opened, path.as_path(), &params, budget, &cancel).map_err(|error| {
                if cancel.is_cancelled() {
                    ToolError::Cancelled
                } else {
                    error
                }
            })
        })
        .await
    }
}

fn read(
    (file, metadata): (File, Metadata),
    path: &Path,
    params: &Params,
    budget: usize,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let size = metadata.len();
    match params.encoding {
        Encoding::Base64 => {
            let offset = params.offset.unwrap_or(0);
            read_base64(&file, size, offset, params.limit, budget, path)
        }
        Encoding::Utf8 => {
            refuse_binary_start(&file, path)?;
            let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
            match params.offset.unwrap_or(1) {
                offset if offset < 0 => read_tail(
                    file,
                    size,
                    offset.unsigned_abs(),
                    limit,
                    budget,
                    path,
                    cancel,
                ),
                offset => read_forward(
                    file,
                    size,
                    offset.unsigned_abs().max(1),
                    limit,
                    budget,
                    path,
                    cancel,
                ),
            }
        }
    }
}

fn binary_error(path: &Path, why: &str) -> ToolError {
    ToolError::invalid(format!(
        "`{}` looks binary ({why}); pass encoding: \"base64\" to read it as bytes",
        path.display()
    ))
}

fn refuse_binary_start(file: &File, path: &Path) -> ToolResult<()> {
    let mut probe = [0u8; BINARY_PROBE];
    let read = read_at_most(file, &mut probe, 0).map_err(|error| ToolError::io(path, &error))?;
    match memchr::memchr(0, &probe[..read]) {
        Some(at) => Err(binary_error(path, &format!("NUL byte at offset {at}"))),
        None => Ok(()),
    }
}

/// Fill `buffer` from `offset` until it is full or the file ends; returns the bytes read.
fn read_at_most(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn read_forward(
    file: File,
    size: u64,
    first: u64,
    limit: u64,
    budget: usize,
    path: &Path,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let io = |error: std::io::Error| ToolError::io(path, &error);
    let mut reader = BufReader::with_capacity(IO_BUFFER, file);
    let skipped = skip_lines(&mut reader, first - 1, cancel).map_err(io)?;
    let at_end = reader.fill_buf().map_err(io)?.is_empty();
    if skipped.newlines < first - 1 || (at_end && first > 1) {
        let total = skipped.newlines + u64::from(skipped.partial);
        return Err(ToolError::invalid(format!(
            "offset {first} is past the end: the file has {total} lines"
        )));
    }
    let collected = collect_lines(&mut reader, limit, budget, cancel).map_err(io)?;
    let content = into_text(collected.content, collected.cut, path)?;
    let total_lines = if !collected.more {
        Some(first - 1 + collected.lines)
    } else if size <= COUNT_REST_MAX {
        let rest = skip_lines(&mut reader, u64::MAX, cancel).map_err(io)?;
        Some(first - 1 + collected.lines + rest.newlines + u64::from(rest.partial))
    } else {
        None
    };
    let start = to_i64(first);
    let next_offset = collected.more.then(|| start + to_i64(collected.lines));
    Ok(Output {
        content,
        start_line: start,
        end_line: start + to_i64(collected.lines) - 1,
        total_lines,
        size,
        truncated: next_offset.is_some() || collected.cut,
        next_offset,
        cut_line: collected.cut.then_some(start),
    })
}

fn read_tail(
    mut file: File,
    size: u64,
    wanted: u64,
    limit: u64,
    budget: usize,
    path: &Path,
    cancel: &CancellationToken,
) -> ToolResult<Output> {
    let io = |error: std::io::Error| ToolError::io(path, &error);
    let (collected, total_lines, tail_lines) = if size == 0 {
        // procfs and sysfs report size 0 but have content: read it whole (it is small).
        let mut data = Vec::new();
        (&mut file)
            .take(UNSIZED_MAX)
            .read_to_end(&mut data)
            .map_err(io)?;
        let (start, total) = tail_start_in_memory(&data, wanted);
        let tail_lines = total.map_or(wanted, |total| total.min(wanted));
        let mut reader = Cursor::new(&data[start..]);
        let collected =
            collect_lines(&mut reader, limit.min(tail_lines), budget, cancel).map_err(io)?;
        (collected, total, tail_lines)
    } else {
        let (start, total) = tail_start(&file, size, wanted, cancel).map_err(io)?;
        let tail_lines = total.map_or(wanted, |total| total.min(wanted));
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut reader = BufReader::with_capacity(IO_BUFFER.min(TAIL_BLOCK * 4), file);
        let collected =
            collect_lines(&mut reader, limit.min(tail_lines), budget, cancel).map_err(io)?;
        (collected, total, tail_lines)
    };
    let content = into_text(collected.content, collected.cut, path)?;
    let start = -to_i64(tail_lines);
    let next_offset = (collected.lines < tail_lines).then(|| start + to_i64(collected.lines));
    Ok(Output {
        content,
        start_line: start,
        end_line: start + to_i64(collected.lines) - 1,
        total_lines,
        size,
        truncated: next_offset.is_some() || collected.cut,
        next_offset,
        cut_line: collected.cut.then_some(start),
    })
}

/// Where the last `wanted` lines start, scanning backwards in blocks. A final newline ends the last
/// line rather than starting an empty one. Returns the byte offset and, when the scan reached the
/// start of the file, the file's total line count.
fn tail_start(
    file: &File,
    size: u64,
    wanted: u64,
    cancel: &CancellationToken,
) -> std::io::Result<(u64, Option<u64>)> {
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, size - 1)?;
    let mut position = if last[0] == b'\n' { size - 1 } else { size };
    let mut block = vec![0u8; TAIL_BLOCK];
    let mut found = 0u64;
    while position > 0 {
        if cancel.is_cancelled() {
            return Err(std::io::Error::other("cancelled"));
        }
        let length = usize::try_from(position)
            .unwrap_or(TAIL_BLOCK)
            .min(TAIL_BLOCK);
        position -= length as u64;
        file.read_exact_at(&mut block[..length], position)?;
        for index in memchr::memrchr_iter(b'\n', &block[..length]) {
            found += 1;
            if found == wanted {
                return Ok((position + index as u64 + 1, None));
            }
        }
    }
    Ok((0, Some(found + 1)))
}

/// [`tail_start`] for content already in memory.
fn tail_start_in_memory(data: &[u8], wanted: u64) -> (usize, Option<u64>) {
    let Some(&last) = data.last() else {
        return (0, Some(0));
    };
    let end = if last == b'\n' {
        data.len() - 1
    } else {
        data.len()
    };
    let mut found = 0u64;
    for index in memchr::memrchr_iter(b'\n', &data[..end]) {
        found += 1;
        if found == wanted {
            return (index + 1, None);
        }
    }
    (0, Some(found + 1))
}

struct Skipped {
    newlines: u64,
    /// The file ended with bytes after the last newline counted.
    partial: bool,
}

/// Consume up to `count` lines (through their newline). Stops early at the end of the file.
fn skip_lines(
    reader: &mut impl BufRead,
    count: u64,
    cancel: &CancellationToken,
) -> std::io::Result<Skipped> {
    let mut newlines = 0u64;
    let mut partial = false;
    while newlines < count {
        if cancel.is_cancelled() {
            return Err(std::io::Error::other("cancelled"));
        }
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        let mut consumed = buffer.len();
        for index in memchr::memchr_iter(b'\n', buffer) {
            newlines += 1;
            if newlines == count {
                consumed = index + 1;
                break;
            }
        }
        partial = buffer[consumed - 1] != b'\n';
        reader.consume(consumed);
    }
    Ok(Skipped { newlines, partial })
}

struct Collected {
    content: Vec<u8>,
    lines: u64,
    /// The only line collected was longer than the budget and was cut.
    cut: bool,
    /// More lines follow the collected ones.
    more: bool,
}

/// Collect whole lines (with their line endings) until `limit` lines or the byte budget is reached.
/// A first line that alone exceeds the budget is cut and the rest of it skipped.
fn collect_lines(
    reader: &mut impl BufRead,
    limit: u64,
    budget: usize,
    cancel: &CancellationToken,
) -> std::io::Result<Collected> {
    let mut content = Vec::new();
    let mut cost = 0usize;
    let mut lines = 0u64;
    loop {
        if lines == limit {
            let more = !reader.fill_buf()?.is_empty();
            return Ok(Collected {
                content,
                lines,
                cut: false,
                more,
            });
        }
        let line_start = content.len();
        let mut started = false;
        loop {
            if cancel.is_cancelled() {
                return Err(std::io::Error::other("cancelled"));
            }
            let buffer = reader.fill_buf()?;
            if buffer.is_empty() {
                if started {
                    lines += 1;
                }
                return Ok(Collected {
                    content,
                    lines,
                    cut: false,
                    more: false,
                });
            }
            started = true;
            let (piece, line_ends) = match memchr::memchr(b'\n', buffer) {
                Some(index) => (&buffer[..=index], true),
                None => (buffer, false),
            };
            let piece_cost = escaped_len(piece);
            if cost + piece_cost > budget {
                if lines > 0 {
                    content.truncate(line_start);
                    return Ok(Collected {
                        content,
                        lines,
                        cut: false,
                        more: true,
                    });
                }
                let fit = fitting_prefix(piece, budget - cost);
                content.extend_from_slice(&piece[..fit]);
                let consumed = piece.len();
                reader.consume(consumed);
                if !line_ends {
                    skip_lines(reader, 1, cancel)?;
                }
                let more = !reader.fill_buf()?.is_empty();
                return Ok(Collected {
                    content,
                    lines: 1,
                    cut: true,
                    more,
                });
            }
            content.extend_from_slice(piece);
            cost += piece_cost;
            let consumed = piece.len();
            reader.consume(consumed);
            if line_ends {
                lines += 1;
                break;
            }
        }
    }
}

/// Validate collected bytes as UTF-8. A cut line may end inside a character: that tail is dropped.
fn into_text(content: Vec<u8>, cut: bool, path: &Path) -> ToolResult<String> {
    match String::from_utf8(content) {
        Ok(text) => Ok(text),
        Err(error) => {
            let utf8 = error.utf8_error();
            if cut && utf8.error_len().is_none() {
                let mut bytes = error.into_bytes();
                bytes.truncate(utf8.valid_up_to());
                return String::from_utf8(bytes).map_err(|_| binary_error(path, "invalid UTF-8"));
            }
            Err(binary_error(path, "invalid UTF-8"))
        }
    }
}

fn read_base64(
    file: &File,
    size: u64,
    offset: i64,
    limit: Option<u64>,
    budget: usize,
    path: &Path,
) -> ToolResult<Output> {
    if size > 0 && offset > to_i64(size) {
        return Err(ToolError::invalid(format!(
            "offset {offset} is past the end: the file has {size} bytes"
        )));
    }
    let io = |error: std::io::Error| ToolError::io(path, &error);
    // Base64 turns 3 bytes into 4 characters.
    let most = (budget / 4 * 3) as u64;
    let limit = limit.unwrap_or(most).min(most);
    let start = if offset < 0 {
        size.saturating_sub(offset.unsigned_abs())
    } else {
        offset.unsigned_abs()
    };
    let mut data = vec![0u8; usize::try_from(limit).unwrap_or(usize::MAX)];
    let read = read_at_most(file, &mut data, start).map_err(io)?;
    data.truncate(read);
    let end = start + read as u64;
    let more = read as u64 == limit && read_at_most(file, &mut [0u8; 1], end).map_err(io)? == 1;
    let next_offset = more.then(|| to_i64(end));
    Ok(Output {
        content: base64::engine::general_purpose::STANDARD.encode(&data),
        start_line: to_i64(start),
        end_line: to_i64(end),
        total_lines: None,
        size,
        truncated: more,
        next_offset,
        cut_line: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    fn ctx_with(dir: &Path, max_output_bytes: usize) -> ToolCtx {
        let mut config = Config::defaults_for(dir).unwrap();
        config.server.max_output_bytes = max_output_bytes;
        ToolCtx::for_tests(config)
    }

    fn ctx(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    fn params(path: &str, offset: Option<i64>, limit: Option<u64>) -> Params {
        Params {
            path: path.into(),
            offset,
            limit,
            encoding: Encoding::Utf8,
        }
    }

    fn numbered(lines: usize) -> String {
        (1..=lines)
            .map(|n| format!("line {n} {}\n", "x".repeat(n % 37)))
            .collect()
    }

    async fn page_through(
        ctx: &ToolCtx,
        path: &str,
        mut offset: i64,
        limit: u64,
    ) -> (String, usize) {
        let mut whole = String::new();
        let mut pages = 0;
        loop {
            let out = ReadFile
                .run(ctx.clone(), params(path, Some(offset), Some(limit)))
                .await
                .unwrap();
            assert_eq!(out.start_line, offset);
            whole.push_str(&out.content);
            pages += 1;
            match out.next_offset {
                Some(next) => {
                    assert!(out.truncated);
                    assert_eq!(next, out.end_line + 1);
                    offset = next;
                }
                None => return (whole, pages),
            }
        }
    }

    #[tokio::test]
    async fn pages_by_limit_reassemble_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = numbered(5000);
        std::fs::write(dir.path().join("a.txt"), &text).unwrap();
        let (whole, pages) = page_through(&ctx(dir.path()), "a.txt", 1, 700).await;
        assert_eq!(whole, text);
        assert_eq!(pages, 8);

        let first = ReadFile
            .run(ctx(dir.path()), params("a.txt", None, Some(2)))
            .await
            .unwrap();
        assert_eq!(first.content, "line 1 x\nline 2 xx\n");
        assert_eq!((first.start_line, first.end_line), (1, 2));
        assert_eq!(first.total_lines, Some(5000));
        assert_eq!(first.next_offset, Some(3));
    }

    #[tokio::test]
    async fn pages_by_byte_budget_reassemble_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = numbered(3000).replace("x\n", "\"\t\\x\n");
        std::fs::write(dir.path().join("a.txt"), &text).unwrap();
        let ctx = ctx_with(dir.path(), 4096);
        let (whole, pages) = page_through(&ctx, "a.txt", 1, 100_000).await;
        assert_eq!(whole, text);
        assert!(pages > 20, "{pages}");
        // Each page stays within the budget once serialized.
        let out = ReadFile
            .run(ctx.clone(), params("a.txt", Some(1), None))
            .await
            .unwrap();
        assert!(serde_json::to_string(&out.content).unwrap().len() <= 4096 - 2048 + 2);
    }

    #[tokio::test]
    async fn last_line_without_newline_and_past_the_end() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "one\ntwo\nthree").unwrap();
        let out = ReadFile
            .run(ctx(dir.path()), params("a.txt", Some(3), None))
            .await
            .unwrap();
        assert_eq!(out.content, "three");
        assert_eq!(
            (out.start_line, out.end_line, out.total_lines),
            (3, 3, Some(3))
        );
        assert_eq!(out.next_offset, None);
        assert!(!out.truncated);
        let error = ReadFile
            .run(ctx(dir.path()), params("a.txt", Some(4), None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.to_string().contains("3 lines"), "{error}");

        std::fs::write(dir.path().join("empty"), "").unwrap();
        let out = ReadFile
            .run(ctx(dir.path()), params("empty", None, None))
            .await
            .unwrap();
        assert_eq!((out.content.as_str(), out.total_lines), ("", Some(0)));
        let out = ReadFile
            .run(ctx(dir.path()), params("empty", Some(-5), None))
            .await
            .unwrap();
        assert_eq!((out.content.as_str(), out.total_lines), ("", Some(0)));
    }

    #[tokio::test]
    async fn tail_of_a_big_file_counts_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let text = numbered(200_000);
        std::fs::write(dir.path().join("big.log"), &text).unwrap();
        let expected: String = text
            .lines()
            .skip(200_000 - 100)
            .map(|l| format!("{l}\n"))
            .collect();

        let out = ReadFile
            .run(ctx(dir.path()), params("big.log", Some(-100), None))
            .await
            .unwrap();
        assert_eq!(out.content, expected);
        assert_eq!((out.start_line, out.end_line), (-100, -1));
        assert_eq!(
            (out.next_offset, out.truncated, out.total_lines),
            (None, false, None)
        );
        assert_eq!(out.size, text.len() as u64);

        let half = ReadFile
            .run(ctx(dir.path()), params("big.log", Some(-100), Some(50)))
            .await
            .unwrap();
        assert_eq!(
            (half.start_line, half.end_line, half.next_offset),
            (-100, -51, Some(-50))
        );
        assert!(half.truncated);
        let rest = ReadFile
            .run(ctx(dir.path()), params("big.log", Some(-50), Some(50)))
            .await
            .unwrap();
        assert_eq!(
            (rest.start_line, rest.end_line, rest.next_offset),
            (-50, -1, None)
        );
        assert_eq!(format!("{}{}", half.content, rest.content), expected);

        // Paging a tail by the byte budget also ends exactly at the last line.
        let small = ctx_with(dir.path(), 4096);
        let (whole, pages) = page_through(&small, "big.log", -500, 1000).await;
        let last_500: String = text
            .lines()
            .skip(200_000 - 500)
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(whole, last_500);
        assert!(pages > 5);
    }

    #[tokio::test]
    async fn tail_longer_than_the_file_reports_total() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\nb\nc").unwrap();
        let out = ReadFile
            .run(ctx(dir.path()), params("a.txt", Some(-10), None))
            .await
            .unwrap();
        assert_eq!(out.content, "a\nb\nc");
        assert_eq!(
            (out.start_line, out.end_line, out.total_lines),
            (-3, -1, Some(3))
        );
        let out = ReadFile
            .run(ctx(dir.path()), params("a.txt", Some(-1), None))
            .await
            .unwrap();
        assert_eq!((out.content.as_str(), out.start_line), ("c", -1));
    }

    #[tokio::test]
    async fn a_line_longer_than_the_budget_is_cut_on_a_char_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let long = "é".repeat(5000);
        std::fs::write(dir.path().join("a.txt"), format!("{long}\nnext\n")).unwrap();
        let ctx = ctx_with(dir.path(), 4096);
        let out = ReadFile
            .run(ctx.clone(), params("a.txt", None, None))
            .await
            .unwrap();
        assert_eq!(out.cut_line, Some(1));
        assert!(out.truncated);
        assert_eq!(out.content, "é".repeat(1024));
        assert_eq!(out.next_offset, Some(2));
        let next = ReadFile
            .run(ctx, params("a.txt", Some(2), None))
            .await
            .unwrap();
        assert_eq!(next.content, "next\n");
    }

    #[tokio::test]
    async fn binary_is_refused_and_base64_reads_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        std::fs::write(dir.path().join("bin"), &bytes).unwrap();
        let error = ReadFile
            .run(ctx(dir.path()), params("bin", None, None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(
            error.to_string().contains("encoding: \"base64\""),
            "{error}"
        );

        std::fs::write(dir.path().join("latin1"), b"caf\xe9\n").unwrap();
        let error = ReadFile
            .run(ctx(dir.path()), params("latin1", None, None))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("base64"), "{error}");

        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap()
        };
        let mut params = params("bin", None, None);
        params.encoding = Encoding::Base64;
        let out = ReadFile.run(ctx(dir.path()), params).await.unwrap();
        assert_eq!(decode(&out.content), bytes);
        assert_eq!(
            (out.start_line, out.end_line, out.next_offset),
            (0, 10_000, None)
        );

        // Paging bytes under a small budget, then a negative byte offset.
        let small = ctx_with(dir.path(), 4096);
        let mut offset = 0;
        let mut whole = Vec::new();
        loop {
            let params = Params {
                path: "bin".into(),
                offset: Some(offset),
                limit: None,
                encoding: Encoding::Base64,
            };
            let out = ReadFile.run(small.clone(), params).await.unwrap();
            assert_eq!(out.start_line, offset);
            whole.extend(decode(&out.content));
            match out.next_offset {
                Some(next) => offset = next,
                None => break,
            }
        }
        assert_eq!(whole, bytes);
        let params = Params {
            path: "bin".into(),
            offset: Some(-16),
            limit: Some(8),
            encoding: Encoding::Base64,
        };
        let out = ReadFile.run(ctx(dir.path()), params).await.unwrap();
        assert_eq!(decode(&out.content), &bytes[9984..9992]);
        assert_eq!((out.start_line, out.next_offset), (9984, Some(9992)));
    }

    #[tokio::test]
    async fn finding_03_skippy_own_proc_files_are_refused() {
        // The review's setup: a read root containing /proc.
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults_for(dir.path()).unwrap();
        config.files = skippy_core::PathPolicy::new(
            vec![std::path::PathBuf::from("/proc")],
            config.files.write_roots().to_vec(),
            "file roots",
        );
        let ctx = ToolCtx::for_tests(config);
        let pid = std::process::id();
        for path in [
            "/proc/self/environ".to_string(),
            "/proc/thread-self/environ".to_string(),
            format!("/proc/{pid}/environ"),
            format!("/proc/{pid}/cmdline"),
            "/proc/1/environ".to_string(),
        ] {
            let mut params = params(&path, None, None);
            params.encoding = Encoding::Base64;
            let error = ReadFile.run(ctx.clone(), params).await.unwrap_err();
            assert_eq!(error.code(), "policy_denied", "{path}: {error}");
        }
        let out = ReadFile
            .run(ctx, params("/proc/meminfo", None, None))
            .await
            .unwrap();
        assert!(out.content.contains("MemTotal"));
    }

    #[tokio::test]
    async fn directories_missing_files_and_outside_paths_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let error = ReadFile
            .run(ctx(dir.path()), params("sub", None, None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.to_string().contains("directory"), "{error}");
        nix::unistd::mkfifo(&dir.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = ReadFile
            .run(ctx(dir.path()), params("fifo", None, None))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        let error = ReadFile
            .run(ctx(dir.path()), params("nope.txt", None, None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "not_found");
        let error = ReadFile
            .run(ctx(dir.path()), params("/etc/hostname", None, None))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied");
        let error = ReadFile
            .run(ctx(dir.path()), params("x", None, Some(0)))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
    }
}
