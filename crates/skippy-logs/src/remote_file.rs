//! A file on a remote host, read through the executor as `Read + Seek`, so that the local line
//! readers, the gzip decoder and the searcher run unchanged on remote data.
//!
//! A read that misses the cache fetches one window of the file and keeps it. Windows grow
//! 64 KiB, 256 KiB, 1 MiB... up to 8 MiB, so a short tail costs one or two small transfers and a
//! long scan few round trips, while memory stays bounded by one window whatever the file size.
//! A window goes forwards from the read position, or backwards from it when reading moves towards
//! the start (a tail). Reading stops at the size `stat` gave when the file was opened; a file that
//! shrinks meanwhile (rotation by truncation) fails the read.
//!
//! Transport: the executor hands output back as UTF-8 text (invalid bytes replaced), so a window
//! is first fetched raw with `dd iflag=skip_bytes,count_bytes` (its stderr says how many bytes were
//! copied) and used when it decodes unambiguously: a few bytes of margin absorb multi-byte
//! characters cut at the window's edges. Otherwise the window is fetched again with `od` in hex,
//! exact for any bytes but about twice the transfer and slower (some 50 MB/s on the host; windows
//! stop at 2 MiB); once bytes that are not UTF-8 were seen (gzip, Latin-1), the rest of the file
//! goes through hex too. A gzip file is thus transferred whole, compressed, and unpacked here.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::Instant;

use skippy_core::ToolResult;
use skippy_core::process::CommandOutput;
use skippy_remote::HostHandle;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::reader::{LogFile, is_gzip, read_error};
use crate::remote::{failure, run};

const FIRST_WINDOW: u64 = 64 * 1024;
const RAW_MAX: u64 = 8 * 1024 * 1024;
const HEX_MAX: u64 = 2 * 1024 * 1024;
/// Bytes fetched beyond a window's edge: a UTF-8 character cut there is up to 3 more bytes.
const MARGIN: u64 = 3;
/// Bytes per `od` output line (8 words of 8 bytes).
const HEX_LINE: u64 = 64;
const REPLACEMENT: &str = "\u{FFFD}";

/// A remote regular file of known size, read window by window.
pub struct RemoteFile {
    host: HostHandle,
    path: String,
    size: u64,
    position: u64,
    /// File bytes from `cache_start`.
    cache: Vec<u8>,
    cache_start: u64,
    /// Size of the next window.
    window: u64,
    /// Raw transfer failed to decode once: use hex from now on.
    binary: bool,
    runtime: Handle,
    cancel: CancellationToken,
    deadline: Instant,
}

/// What a raw window turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    Bytes(Vec<u8>),
    /// Replaced bytes inside: the file is not UTF-8 text.
    Binary,
    /// Replacement characters at both edges, or output that does not add up: fetch again as hex.
    Unclear,
}

impl RemoteFile {
    /// Open `path` (already checked) and detect gzip. Must run on a blocking thread of the runtime.
    pub fn open(
        host: HostHandle,
        path: String,
        size: u64,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> ToolResult<LogFile> {
        let runtime = Handle::try_current().map_err(skippy_core::ToolError::internal)?;
        let mut file = RemoteFile {
            host,
            path,
            size,
            position: 0,
            cache: Vec::new(),
            cache_start: 0,
            window: FIRST_WINDOW,
            binary: false,
            runtime,
            cancel: cancel.clone(),
            deadline,
        };
        let shown = std::path::PathBuf::from(&file.path);
        let gzip = is_gzip(&mut file).map_err(|error| read_error(&shown, &error, cancel))?;
        Ok(LogFile {
            file: Box::new(file),
            size,
            gzip,
        })
    }

    fn cache_end(&self) -> u64 {
        self.cache_start + self.cache.len() as u64
    }

    fn cached(&self, position: u64) -> bool {
        position >= self.cache_start && position < self.cache_end()
    }

    /// Fetch the window around the read position (`want` bytes asked) into the cache.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        let position = self.position;
        let window = self.window;
        let adjacent_after = !self.cache.is_empty() && position == self.cache_end();
        let backward = !self.cache.is_empty() && position < self.cache_start;
        let (start, end) = if backward {
            // Up to the cached window, not into it: the read returns less, and its caller reads on.
            let end = position
                .saturating_add(want as u64)
                .min(self.size)
                .min(self.cache_start);
            (end.saturating_sub(window).min(position), end)
        } else {
            (position, position.saturating_add(window).min(self.size))
        };
        // Edges known to fall between characters need no margin: the file's ends, and the edge
        // shared with the cached window (whose bytes say whether a character straddles it).
        let ext_start = if start == 0 {
            0
        } else if adjacent_after {
            start - incomplete_suffix(&self.cache) as u64
        } else {
            start.saturating_sub(MARGIN)
        };
        let ext_end = if end == self.size {
            end
        } else if backward && end == self.cache_start {
            end + leading_continuations(&self.cache) as u64
        } else {
            (end + MARGIN).min(self.size)
        };
        let bytes = self.fetch(start, end, ext_start, ext_end)?;
        let max = if self.binary { HEX_MAX } else { RAW_MAX };
        self.window = (window * 4).min(max);
        self.cache = bytes;
        self.cache_start = start;
        Ok(())
    }

    /// The bytes `[start, end)`; `[ext_start, ext_end)` is what a raw transfer asks for.
    fn fetch(&mut self, start: u64, end: u64, ext_start: u64, ext_end: u64) -> io::Result<Vec<u8>> {
        if !self.binary {
            let count = ext_end - ext_start;
            let argv = vec![
                "dd".to_string(),
                format!("if={}", self.path),
                "iflag=skip_bytes,count_bytes".into(),
                "bs=262144".into(),
                format!("skip={ext_start}"),
                format!("count={count}"),
            ];
            let output = self.run("dd", &argv, count as usize + 4096)?;
            // Without dd's count, the text cannot be placed: hex tells exactly.
            let decoded = match dd_bytes(&output.stderr) {
                Some(received) if received < count => return Err(shrunk()),
                Some(received) => decode_text(&output.stdout, received, ext_start, start, end),
                None => Decoded::Unclear,
            };
            match decoded {
                Decoded::Bytes(bytes) => return Ok(bytes),
                Decoded::Unclear => {}
                Decoded::Binary => {
                    self.binary = true;
                    self.window = self.window.min(HEX_MAX);
                }
            }
        }
        let count = end - start;
        let argv = vec![
            "od".to_string(),
            "-Ad".into(),
            "-v".into(),
            "-tx8".into(),
            format!("-w{HEX_LINE}"),
            "--endian=big".into(),
            format!("-j{start}"),
            format!("-N{count}"),
            "--".into(),
            self.path.clone(),
        ];
        // 17 characters per 8 bytes, plus an address of up to 20 digits per line.
        let cap = (count / 8 * 17 + count / HEX_LINE * 24 + 4096) as usize;
        let output = self.run("od", &argv, cap)?;
        decode_hex(&output.stdout, start, count)
    }

    fn run(&self, program: &str, argv: &[String], cap: usize) -> io::Result<CommandOutput> {
        let output = self
            .runtime
            .block_on(run(&self.host, argv, cap, self.deadline, &self.cancel))
            .map_err(io::Error::other)?;
        if !output.success() {
            return Err(io::Error::other(failure(
                &self.host, program, &self.path, &output,
            )));
        }
        Ok(output)
    }
}

impl Read for RemoteFile {
    /// Fills the whole buffer unless the end comes first, as a local file does: readers that
    /// stop early (the searcher) then report the same byte counts for both.
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buffer.len() && self.position < self.size {
            if !self.cached(self.position) {
                self.fill(buffer.len() - done)?;
            }
            let offset = usize::try_from(self.position - self.cache_start)
                .map_err(|_| io::Error::other("window offset out of range"))?;
            let available = self.cache.get(offset..).unwrap_or_default();
            if available.is_empty() {
                return Err(io::Error::other("empty window"));
            }
            let count = (buffer.len() - done).min(available.len());
            buffer[done..done + count].copy_from_slice(&available[..count]);
            done += count;
            self.position += count as u64;
        }
        Ok(done)
    }
}

impl Seek for RemoteFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        };
        self.position = target;
        Ok(target)
    }
}

fn shrunk() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the file became shorter while being read",
    )
}

/// How many bytes `dd` copied, from its closing statistics line on stderr.
fn dd_bytes(stderr: &str) -> Option<u64> {
    stderr.lines().rev().find_map(|line| {
        let (number, rest) = line.split_once(' ')?;
        if rest.starts_with("byte") {
            number.parse().ok()
        } else {
            None
        }
    })
}

/// Bytes at the end of `bytes` that start a UTF-8 character without finishing it.
fn incomplete_suffix(bytes: &[u8]) -> usize {
    let tail = &bytes[bytes.len().saturating_sub(3)..];
    for (index, &byte) in tail.iter().enumerate().rev() {
        if byte & 0xC0 == 0x80 {
            continue;
        }
        let width = match byte {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return 0,
        };
        let have = tail.len() - index;
        return if have < width { have } else { 0 };
    }
    0
}

/// Continuation bytes at the start of `bytes` (the end of a character that began before).
fn leading_continuations(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take(3)
        .take_while(|byte| *byte & 0xC0 == 0x80)
        .count()
}

/// The bytes `[start, end)` from the lossy text of a raw transfer of `received` bytes starting
/// at `ext_start`. Leading replacement characters are bytes of a character cut at the start (one
/// byte each when the file is UTF-8), a trailing one is a character cut at the end; the rest
/// re-encodes exactly. Its position is known when only one edge was replaced.
pub(crate) fn decode_text(
    text: &str,
    received: u64,
    ext_start: u64,
    start: u64,
    end: u64,
) -> Decoded {
    let mut inner = text;
    let mut leading = 0u64;
    while let Some(rest) = inner.strip_prefix(REPLACEMENT) {
        inner = rest;
        leading += 1;
    }
    let trailing = match inner.strip_suffix(REPLACEMENT) {
        Some(rest) => {
            inner = rest;
            true
        }
        None => false,
    };
    if leading > MARGIN || inner.contains(REPLACEMENT) {
        return Decoded::Binary;
    }
    let length = inner.len() as u64;
    let Some(outside) = received.checked_sub(length) else {
        return Decoded::Unclear;
    };
    let inner_start = match (leading > 0, trailing) {
        (false, false) if outside == 0 => ext_start,
        (true, false) if (leading..=3 * leading).contains(&outside) => ext_start + outside,
        (false, true) if (1..=MARGIN).contains(&outside) => ext_start,
        _ => return Decoded::Unclear,
    };
    if inner_start > start || inner_start + length < end {
        return Decoded::Unclear;
    }
    let from = (start - inner_start) as usize;
    let to = (end - inner_start) as usize;
    Decoded::Bytes(inner.as_bytes()[from..to].to_vec())
}

/// Parse `od -Ad -v -tx8 --endian=big` output: `<address> <16 hex digits>...` lines and a last
/// line with the end address alone. Returns exactly `count` bytes starting at `start`.
pub(crate) fn decode_hex(text: &str, start: u64, count: u64) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "unexpected output from od");
    let mut bytes = Vec::with_capacity(usize::try_from(count).unwrap_or(0) + 8);
    let mut end_address = None;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(address) = fields.next() else {
            continue;
        };
        let address: u64 = address.parse().map_err(|_| bad())?;
        let mut words = 0;
        for word in fields {
            if word.len() != 16 {
                return Err(bad());
            }
            let value = u64::from_str_radix(word, 16).map_err(|_| bad())?;
            bytes.extend_from_slice(&value.to_be_bytes());
            words += 1;
        }
        if words == 0 {
            end_address = Some(address);
        }
    }
    let received = end_address
        .and_then(|end| end.checked_sub(start))
        .ok_or_else(bad)?;
    if received < count {
        return Err(shrunk());
    }
    if (bytes.len() as u64) < count {
        return Err(bad());
    }
    bytes.truncate(count as usize);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lossy(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn plain_ascii_windows_decode_exactly() {
        let data = b"0123456789";
        let text = lossy(&data[2..9]);
        assert_eq!(
            decode_text(&text, 7, 2, 3, 8),
            Decoded::Bytes(b"34567".to_vec())
        );
        // Fewer characters than bytes announced: something does not add up.
        assert_eq!(decode_text(&text, 9, 2, 3, 8), Decoded::Unclear);
    }

    #[test]
    fn characters_cut_at_one_edge_are_recovered() {
        let data = "ab€cd€ef".as_bytes(); // € is 3 bytes: e2 82 ac
        // The margin starts inside the first €: two stray bytes, then "cd".
        let window = &data[3..];
        let decoded = decode_text(&lossy(window), window.len() as u64, 3, 5, 12);
        assert_eq!(decoded, Decoded::Bytes(data[5..12].to_vec()));
        // The margin ends inside the second €: anchored at the start instead.
        let window = &data[0..8];
        let decoded = decode_text(&lossy(window), 8, 0, 0, 6);
        assert_eq!(decoded, Decoded::Bytes(data[0..6].to_vec()));
        // Cut at both edges: positions are ambiguous.
        let window = &data[3..8];
        assert_eq!(decode_text(&lossy(window), 5, 3, 5, 7), Decoded::Unclear);
        // The wanted bytes themselves are replaced: not recoverable from text.
        let window = &data[3..12];
        assert_eq!(decode_text(&lossy(window), 9, 3, 4, 12), Decoded::Unclear);
    }

    #[test]
    fn invalid_bytes_inside_mean_binary() {
        let data = b"\x1f\x8b\x08\x00\x00abc\xff\xfexyz";
        assert_eq!(decode_text(&lossy(data), 13, 0, 0, 13), Decoded::Binary);
        let genuine = "a\u{FFFD}b";
        assert_eq!(decode_text(genuine, 5, 0, 0, 5), Decoded::Binary);
    }

    #[test]
    fn utf8_edge_helpers() {
        assert_eq!(incomplete_suffix("ab€".as_bytes()), 0);
        assert_eq!(incomplete_suffix(&"ab€".as_bytes()[..4]), 2);
        assert_eq!(incomplete_suffix(&"ab€".as_bytes()[..3]), 1);
        assert_eq!(incomplete_suffix(b"abc"), 0);
        assert_eq!(incomplete_suffix(b""), 0);
        assert_eq!(leading_continuations(&"€x".as_bytes()[1..]), 2);
        assert_eq!(leading_continuations(b"x"), 0);
    }

    #[test]
    fn parses_dd_statistics() {
        let stderr = "12+1 records in\n12+1 records out\n3145731 bytes (3.1 MB, 3.0 MiB) copied, 0.01 s, 300 MB/s\n";
        assert_eq!(dd_bytes(stderr), Some(3_145_731));
        assert_eq!(dd_bytes("1 byte copied, 0 s, 1 B/s\n"), Some(1));
        assert_eq!(dd_bytes("0 bytes copied, 0 s\n"), Some(0));
        assert_eq!(dd_bytes("dd: something odd\n"), None);
    }

    #[test]
    fn parses_od_hex_words() {
        let text = "0000005 4142434445464748 494a4b0000000000\n0000016\n";
        assert_eq!(decode_hex(text, 5, 11).unwrap(), b"ABCDEFGHIJK");
        let short = "0000005 4142434400000000\n0000009\n";
        assert_eq!(
            decode_hex(short, 5, 11).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert_eq!(
            decode_hex("motd\n", 0, 1).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    /// The real `od` and `dd` agree with the parsers (the same programs a host runs).
    #[test]
    fn parsers_match_local_coreutils() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let data: Vec<u8> = (0..1000u32).map(|n| (n * 7 % 256) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let od = std::process::Command::new("od")
            .args([
                "-Ad",
                "-v",
                "-tx8",
                "-w64",
                "--endian=big",
                "-j13",
                "-N900",
                "--",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8(od.stdout).unwrap();
        assert_eq!(decode_hex(&text, 13, 900).unwrap(), data[13..913]);
        let dd = std::process::Command::new("dd")
            .arg(format!("if={}", path.display()))
            .args([
                "iflag=skip_bytes,count_bytes",
                "bs=262144",
                "skip=10",
                "count=20",
            ])
            .output()
            .unwrap();
        assert_eq!(dd.stdout, data[10..30]);
        assert_eq!(dd_bytes(&String::from_utf8_lossy(&dd.stderr)), Some(20));
    }
}
