//! Opening log files, transparently decompressing gzip, and reading lines forwards.
//!
//! Compression is detected by the gzip magic bytes (`1f 8b`), not the file name, so a rotated
//! `syslog.2.gz` and a compressed file without the suffix both read as text. Multi-member gzip files
//! (as `cat a.gz b.gz` makes) are read whole. The bytes come from a [`Source`]: a local file, or a
//! file on a remote host ([`crate::remote_file`]), so that one implementation serves both.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use skippy_core::safe_fs;
use skippy_core::{AllowedPath, PathPolicy, ToolError, ToolResult};
use tokio_util::sync::CancellationToken;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Most bytes of log text one call reads from compressed files, counted after decompression and
/// summed over every file of the call (rotated `.gz` siblings included); also the most bytes
/// `tail_log` reads backwards while looking for filter matches. A gzip file can hold 1,000 times
/// its size (a 10 MiB file can unpack to 10 GiB), so its cost is bounded by what it unpacks to,
/// not by what it weighs on disk. Past it a tool stops, keeps what it found, and says so
/// (`truncated` and `scan_ceiling_bytes`).
pub const SCAN_CEILING: u64 = 256 * 1024 * 1024;

/// Only the first this many bytes of a line are matched against a pattern or kept in memory;
/// the rest of the line is skipped (and counted as a cut line). A single 100 MiB line thus costs
/// the same as a 64 KiB one and cannot hide the lines after it.
pub const LINE_WINDOW: usize = 64 * 1024;

/// Where a log file's bytes come from: anything readable and seekable.
pub trait Source: Read + Seek + Send {}

impl<T: Read + Seek + Send> Source for T {}

/// An open log file.
pub struct LogFile {
    pub file: Box<dyn Source>,
    /// Size on disk, in bytes.
    pub size: u64,
    pub gzip: bool,
}

impl std::fmt::Debug for LogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFile")
            .field("size", &self.size)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

/// Open a local log file for reading, through [`safe_fs::open_read`]: the open resolves beneath a
/// log root with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`, and the opened descriptor must be a regular
/// file (`fstat`) whose real path is still under the log allowlist. So a file swapped for a FIFO
/// after the path check cannot block the thread, and one swapped for a symbolic link cannot lead
/// outside (issue 6, findings 7 and 10). Size and type come from the descriptor, not the path.
pub fn open_log(policy: &PathPolicy, path: &AllowedPath) -> ToolResult<LogFile> {
    let mut file = safe_fs::open_read(policy, path)?;
    let shown = path.as_path();
    let size = file
        .metadata()
        .map_err(|error| ToolError::io(shown, &error))?
        .len();
    let gzip = is_gzip(&mut file).map_err(|error| ToolError::io(shown, &error))?;
    Ok(LogFile {
        file: Box::new(file),
        size,
        gzip,
    })
}

/// True when the file starts with the gzip magic bytes. Leaves the position at the start.
pub fn is_gzip(file: &mut (impl Read + Seek)) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut filled = 0;
    while filled < magic.len() {
        match file.read(&mut magic[filled..])? {
            0 => break,
            count => filled += count,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(filled == magic.len() && magic == GZIP_MAGIC)
}

/// The text of a log file: the bytes as they are, or decompressed.
pub enum LogReader {
    Plain(Box<dyn Source>),
    Gzip(Box<MultiGzDecoder<BufReader<Box<dyn Source>>>>),
}

impl LogReader {
    pub fn new(log: LogFile) -> Self {
        if log.gzip {
            LogReader::Gzip(Box::new(MultiGzDecoder::new(BufReader::new(log.file))))
        } else {
            LogReader::Plain(log.file)
        }
    }
}

impl Read for LogReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            LogReader::Plain(file) => file.read(buffer),
            LogReader::Gzip(decoder) => decoder.read(buffer),
        }
    }
}

/// Turn a read error into a tool error: cancellation if the token fired, else an I/O error that
/// names the file (damaged gzip data and files truncated under us show up here).
pub fn read_error(path: &Path, error: &io::Error, cancel: &CancellationToken) -> ToolError {
    if cancel.is_cancelled() {
        return ToolError::Cancelled;
    }
    // A remote source carries the executor's own error (timeout, lost connection...) through `Read`.
    if let Some(inner) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ToolError>())
    {
        return inner.clone();
    }
    match error.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            ToolError::Io(format!(
                "reading `{}` failed ({error}): it is damaged gzip data, or it was truncated while being read (log rotation); retry",
                path.display()
            ))
        }
        _ => ToolError::io(path, error),
    }
}

/// Bytes between two progress reports of a [`Watched`] reader.
const PROGRESS_EVERY: u64 = 16 * 1024 * 1024;

/// A progress callback: gets the bytes read so far.
pub type OnProgress = Box<dyn FnMut(u64) + Send>;

/// A reader that stops with an error as soon as the call is cancelled, counts what it read,
/// reports progress every 16 MiB, and (with [`Watched::with_ceiling`]) ends early at a byte
/// ceiling.
pub struct Watched<R> {
    inner: R,
    cancel: CancellationToken,
    pub bytes: u64,
    pub newlines: u64,
    pub last_byte: Option<u8>,
    count_lines: bool,
    on_progress: Option<OnProgress>,
    next_report: u64,
    ceiling: Option<u64>,
    /// The ceiling ended the reading while the source had more.
    pub hit_ceiling: bool,
}

impl<R: Read> Watched<R> {
    pub fn new(inner: R, cancel: CancellationToken, count_lines: bool) -> Self {
        Self {
            inner,
            cancel,
            bytes: 0,
            newlines: 0,
            last_byte: None,
            count_lines,
            on_progress: None,
            next_report: PROGRESS_EVERY,
            ceiling: None,
            hit_ceiling: false,
        }
    }

    /// End the stream (as if at end of file) after `ceiling` bytes, setting `hit_ceiling` when
    /// the source had more.
    pub fn with_ceiling(mut self, ceiling: Option<u64>) -> Self {
        self.ceiling = ceiling;
        self
    }

    pub fn with_progress(mut self, on_progress: OnProgress) -> Self {
        self.on_progress = Some(on_progress);
        self
    }

    /// Lines read so far: newlines, plus a final line without one.
    pub fn lines(&self) -> u64 {
        self.newlines + u64::from(self.last_byte.is_some_and(|byte| byte != b'\n'))
    }
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let mut buffer = buffer;
        if let Some(ceiling) = self.ceiling {
            let room = ceiling.saturating_sub(self.bytes);
            if room == 0 {
                // One probe byte tells a source that ends exactly at the ceiling from a longer one.
                if !self.hit_ceiling && !buffer.is_empty() {
                    self.hit_ceiling = self.inner.read(&mut [0u8; 1])? > 0;
                }
                return Ok(0);
            }
            let length = buffer
                .len()
                .min(usize::try_from(room).unwrap_or(usize::MAX));
            buffer = &mut std::mem::take(&mut buffer)[..length];
        }
        let count = self.inner.read(buffer)?;
        let chunk = &buffer[..count];
        self.bytes += count as u64;
        if self.count_lines {
            self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        }
        if let Some(&last) = chunk.last() {
            self.last_byte = Some(last);
        }
        if self.bytes >= self.next_report
            && let Some(report) = self.on_progress.as_mut()
        {
            report(self.bytes);
            self.next_report = self.bytes + PROGRESS_EVERY;
        }
        Ok(count)
    }
}

/// A reader that passes text through with every line cut to its first `max_line` bytes (the
/// newline kept, so line numbers do not change), for consumers such as `grep-searcher` that would
/// otherwise hold a whole line in memory. `cut` counts the lines that were cut.
pub struct CutLines<R> {
    inner: R,
    max_line: usize,
    /// Bytes of the current line passed through so far.
    in_line: usize,
    /// The current line is over `max_line`: drop bytes up to its newline.
    skipping: bool,
    pub cut: u64,
}

impl<R: BufRead> CutLines<R> {
    pub fn new(inner: R, max_line: usize) -> Self {
        Self {
            inner,
            max_line: max_line.max(1),
            in_line: 0,
            skipping: false,
            cut: 0,
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: BufRead> Read for CutLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(0);
            }
            if self.skipping {
                match memchr::memchr(b'\n', chunk) {
                    Some(newline) => {
                        // The newline itself is passed on below, ending the cut line.
                        self.inner.consume(newline);
                        self.skipping = false;
                        self.in_line = 0;
                    }
                    None => {
                        let length = chunk.len();
                        self.inner.consume(length);
                    }
                }
                continue;
            }
            if self.in_line == self.max_line && chunk[0] != b'\n' {
                self.skipping = true;
                self.cut += 1;
                continue;
            }
            let window = &chunk[..chunk.len().min(out.len())];
            let mut length = 0;
            while length < window.len() {
                let room = self.max_line - self.in_line;
                let rest = &window[length..];
                match memchr::memchr(b'\n', &rest[..rest.len().min(room + 1)]) {
                    Some(newline) => {
                        length += newline + 1;
                        self.in_line = 0;
                    }
                    None => {
                        let taken = rest.len().min(room);
                        length += taken;
                        self.in_line += taken;
                        if self.in_line == self.max_line {
                            break;
                        }
                    }
                }
            }
            out[..length].copy_from_slice(&window[..length]);
            self.inner.consume(length);
            return Ok(length);
        }
    }
}

/// Reads lines forwards from a buffered reader. Lines come without `\n` (and `\r`), with the offset
/// of their first byte; only the first `max_line` bytes of a longer line are kept.
pub struct ForwardLines<R> {
    reader: R,
    line: Vec<u8>,
    offset: u64,
    max_line: usize,
}

/// One line read forwards.
#[derive(Debug, PartialEq, Eq)]
pub struct ForwardLine<'a> {
    pub offset: u64,
    pub bytes: &'a [u8],
    pub cut: bool,
}

impl<R: BufRead> ForwardLines<R> {
    /// `offset` is the position of the reader's first byte in the file.
    pub fn new(reader: R, offset: u64, max_line: usize) -> Self {
        Self {
            reader,
            line: Vec::new(),
            offset,
            max_line,
        }
    }

    /// Offset just past the last line returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    pub fn next_line(&mut self) -> io::Result<Option<ForwardLine<'_>>> {
        self.line.clear();
        let start = self.offset;
        let mut length = 0usize;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if chunk.is_empty() {
                if length == 0 {
                    return Ok(None);
                }
                break;
            }
            let (part, consumed, finished) = match memchr::memchr(b'\n', chunk) {
                Some(newline) => (&chunk[..newline], newline + 1, true),
                None => (chunk, chunk.len(), false),
            };
            let room = self.max_line.saturating_sub(self.line.len());
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            length += part.len();
            self.reader.consume(consumed);
            self.offset += consumed as u64;
            if finished {
                break;
            }
        }
        let mut bytes = &self.line[..];
        if length == bytes.len() && bytes.last() == Some(&b'\r') {
            bytes = &bytes[..bytes.len() - 1];
        }
        Ok(Some(ForwardLine {
            offset: start,
            bytes,
            cut: length > self.max_line,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::{Cursor, Write};

    /// A log policy with `dir` as its only root, and a path under it checked by that policy.
    fn checked(dir: &Path, name: &str) -> (PathPolicy, AllowedPath) {
        let root = std::fs::canonicalize(dir).unwrap();
        let policy = PathPolicy::new(vec![root.clone()], Vec::new(), "log roots");
        let path = policy
            .check_path(&root.join(name), skippy_core::Access::Read)
            .unwrap();
        (policy, path)
    }

    fn open_in(dir: &Path, name: &str) -> ToolResult<LogFile> {
        let (policy, path) = checked(dir, name);
        open_log(&policy, &path)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn detects_gzip_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let packed = dir.path().join("app.log.1");
        std::fs::write(&packed, gzip(b"hello\n")).unwrap();
        let plain = dir.path().join("plain.gz");
        std::fs::write(&plain, b"not compressed\n").unwrap();
        let tiny = dir.path().join("tiny");
        std::fs::write(&tiny, b"\x1f").unwrap();

        let log = open_in(dir.path(), "app.log.1").unwrap();
        assert!(log.gzip);
        let mut text = String::new();
        LogReader::new(log).read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello\n");
        assert!(!open_in(dir.path(), "plain.gz").unwrap().gzip);
        assert!(!open_in(dir.path(), "tiny").unwrap().gzip);
    }

    #[test]
    fn reads_concatenated_gzip_members() {
        let mut data = gzip(b"one\n");
        data.extend(gzip(b"two\n"));
        let mut decoder = MultiGzDecoder::new(&data[..]);
        let mut text = String::new();
        decoder.read_to_string(&mut text).unwrap();
        assert_eq!(text, "one\ntwo\n");
    }

    #[test]
    fn refuses_directories_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(
            open_in(dir.path(), "sub").unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(
            open_in(dir.path(), "missing").unwrap_err().code(),
            "not_found"
        );
    }

    #[test]
    fn forward_lines_with_offsets_crlf_and_caps() {
        let data = b"ab\r\n\nlong-line-here\nlast";
        let reader = BufReader::with_capacity(3, Cursor::new(&data[..]));
        let mut lines = ForwardLines::new(reader, 10, 5);
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            got.push((
                line.offset,
                String::from_utf8_lossy(line.bytes).into_owned(),
                line.cut,
            ));
        }
        assert_eq!(
            got,
            [
                (10, "ab".to_string(), false),
                (14, String::new(), false),
                (15, "long-".to_string(), true),
                (30, "last".to_string(), false),
            ]
        );
        assert_eq!(lines.offset(), 34);
    }

    /// What `CutLines` passes through, read in reads of `step` bytes from a buffer of `capacity`.
    fn cut(data: &[u8], max_line: usize, capacity: usize, step: usize) -> (Vec<u8>, u64) {
        let mut cutter = CutLines::new(BufReader::with_capacity(capacity, data), max_line);
        let mut out = Vec::new();
        let mut buffer = vec![0u8; step];
        loop {
            let count = cutter.read(&mut buffer).unwrap();
            if count == 0 {
                break;
            }
            out.extend_from_slice(&buffer[..count]);
        }
        (out, cutter.cut)
    }

    #[test]
    fn cut_lines_keeps_newlines_and_line_starts() {
        let data = b"short\nexactly5\n0123456789abcdef\n\nabcdefgh";
        for capacity in [1, 2, 3, 7, 64] {
            for step in [1, 2, 5, 64] {
                let (out, count) = cut(data, 8, capacity, step);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    "short\nexactly5\n01234567\n\nabcdefgh",
                    "capacity {capacity}, step {step}"
                );
                assert_eq!(count, 1);
            }
        }
        let (out, count) = cut(b"0123456789", 4, 3, 2);
        assert_eq!((out.as_slice(), count), (&b"0123"[..], 1));
    }

    #[test]
    fn watched_ceiling_ends_the_stream_and_says_so() {
        let token = CancellationToken::new();
        let mut exact = Watched::new(&b"abcd"[..], token.clone(), false).with_ceiling(Some(4));
        let mut sink = Vec::new();
        exact.read_to_end(&mut sink).unwrap();
        assert_eq!((sink.as_slice(), exact.hit_ceiling), (&b"abcd"[..], false));
        let mut longer = Watched::new(&b"abcdef"[..], token, false).with_ceiling(Some(4));
        let mut sink = Vec::new();
        longer.read_to_end(&mut sink).unwrap();
        assert_eq!((sink.as_slice(), longer.hit_ceiling), (&b"abcd"[..], true));
        assert_eq!(longer.bytes, 4);
    }

    #[test]
    fn watched_reader_counts_and_stops_on_cancel() {
        let token = CancellationToken::new();
        let mut watched = Watched::new(&b"a\nb\nc"[..], token.clone(), true);
        let mut sink = Vec::new();
        watched.read_to_end(&mut sink).unwrap();
        assert_eq!((watched.bytes, watched.lines()), (5, 3));
        token.cancel();
        let mut again = Watched::new(&b"x"[..], token, false);
        assert!(again.read(&mut [0u8; 4]).is_err());
    }
}
