//! Opening log files, transparently decompressing gzip, and reading lines forwards.
//!
//! Compression is detected by the gzip magic bytes (`1f 8b`), not the file name, so a rotated
//! `syslog.2.gz` and a compressed file without the suffix both read as text. Multi-member gzip files
//! (as `cat a.gz b.gz` makes) are read whole. The bytes come from a [`Source`]: a local file, or a
//! file on a remote host ([`crate::remote_file`]), so that one implementation serves both.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use skippy_core::{ToolError, ToolResult};
use tokio_util::sync::CancellationToken;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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

/// Open a log file for reading: it must be a regular file. Errors name the path and what to do.
pub fn open_log(path: &Path) -> ToolResult<LogFile> {
    let metadata = std::fs::metadata(path).map_err(|error| ToolError::io(path, &error))?;
    if metadata.is_dir() {
        return Err(ToolError::invalid(format!(
            "`{}` is a directory; pass a log file inside it",
            path.display()
        )));
    }
    // A FIFO or device would block or never end.
    if !metadata.is_file() {
        return Err(ToolError::invalid(format!(
            "`{}` is not a regular file",
            path.display()
        )));
    }
    let mut file = File::open(path).map_err(|error| ToolError::io(path, &error))?;
    let gzip = is_gzip(&mut file).map_err(|error| ToolError::io(path, &error))?;
    Ok(LogFile {
        file: Box::new(file),
        size: metadata.len(),
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

/// A reader that stops with an error as soon as the call is cancelled, counts what it read, and
/// reports progress every 16 MiB.
pub struct Watched<R> {
    inner: R,
    cancel: CancellationToken,
    pub bytes: u64,
    pub newlines: u64,
    pub last_byte: Option<u8>,
    count_lines: bool,
    on_progress: Option<OnProgress>,
    next_report: u64,
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
        }
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

        let log = open_log(&packed).unwrap();
        assert!(log.gzip);
        let mut text = String::new();
        LogReader::new(log).read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello\n");
        assert!(!open_log(&plain).unwrap().gzip);
        assert!(!open_log(&tiny).unwrap().gzip);
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
        assert_eq!(open_log(dir.path()).unwrap_err().code(), "invalid_argument");
        assert_eq!(
            open_log(&dir.path().join("missing")).unwrap_err().code(),
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
