//! Reading a file's lines from the end towards the start, one block at a time, so that the cost
//! of a tail depends on how much is returned and not on the size of the file.
//!
//! Lines come newest first, without their `\n`, each with the byte offset where it starts. A final
//! `\n` does not make an empty last line; a missing one does not lose the last line. Memory stays
//! bounded on pathological input: of a line longer than `max_line`, only its first `max_line`
//! bytes are kept (the line is reported as cut).

use std::io::{self, Read, Seek, SeekFrom};

/// One line read backwards.
#[derive(Debug, PartialEq, Eq)]
pub struct BackLine<'a> {
    /// Byte offset of the line's first byte.
    pub offset: u64,
    pub bytes: &'a [u8],
    /// Only the first `max_line` bytes of the line were kept.
    pub cut: bool,
}

pub struct BackwardLines<R> {
    reader: R,
    /// File offset of `buffer[0]`.
    position: u64,
    buffer: Vec<u8>,
    /// `buffer[..end]` has not been returned yet.
    end: usize,
    block: usize,
    max_line: usize,
    bytes_read: u64,
    /// The pending line was clipped to `max_line` bytes.
    clipped: bool,
    /// The final newline (if any) has been looked at.
    started: bool,
    done: bool,
}

impl<R: Read + Seek> BackwardLines<R> {
    /// Read the lines of `reader` that lie before byte offset `end` (the file size for a whole file).
    pub fn new(reader: R, end: u64, block: usize, max_line: usize) -> Self {
        Self {
            reader,
            position: end,
            buffer: Vec::new(),
            end: 0,
            block: block.max(1),
            max_line: max_line.max(1),
            bytes_read: 0,
            clipped: false,
            started: false,
            done: end == 0,
        }
    }

    /// Bytes read from the underlying reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next line towards the start of the file, or `None` at the start.
    pub fn next_line(&mut self) -> io::Result<Option<BackLine<'_>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if let Some(newline) = memchr::memrchr(b'\n', &self.buffer[..self.end]) {
                let line_end = self.end;
                self.end = newline;
                return Ok(Some(self.take(newline + 1, line_end)));
            }
            if self.position == 0 {
                self.done = true;
                return Ok(Some(self.take(0, self.end)));
            }
            self.read_block()?;
        }
    }

    fn take(&mut self, start: usize, end: usize) -> BackLine<'_> {
        let cut = std::mem::take(&mut self.clipped);
        BackLine {
            offset: self.position + start as u64,
            bytes: &self.buffer[start..end],
            cut,
        }
    }

    /// Prepend the block before `position` to the unread part of the buffer.
    fn read_block(&mut self) -> io::Result<()> {
        let length = usize::try_from(self.position)
            .unwrap_or(usize::MAX)
            .min(self.block);
        let start = self.position - length as u64;
        let mut block = vec![0u8; length + self.end];
        self.reader.seek(SeekFrom::Start(start))?;
        self.reader.read_exact(&mut block[..length])?;
        block[length..].copy_from_slice(&self.buffer[..self.end]);
        self.bytes_read += length as u64;
        self.position = start;
        self.end = block.len();
        self.buffer = block;
        if !self.started {
            self.started = true;
            if self.buffer.last() == Some(&b'\n') {
                self.end -= 1;
            }
        }
        // Still no line start in sight: keep only the earliest `max_line` bytes of this line.
        if self.end > self.max_line && memchr::memrchr(b'\n', &self.buffer[..self.end]).is_none() {
            self.end = self.max_line;
            self.buffer.truncate(self.max_line);
            self.clipped = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn all_lines(text: &[u8], block: usize, max_line: usize) -> Vec<(u64, String, bool)> {
        let mut reader = BackwardLines::new(Cursor::new(text), text.len() as u64, block, max_line);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((
                line.offset,
                String::from_utf8_lossy(line.bytes).into_owned(),
                line.cut,
            ));
        }
        out
    }

    fn texts(lines: &[(u64, String, bool)]) -> Vec<&str> {
        lines.iter().map(|(_, text, _)| text.as_str()).collect()
    }

    #[test]
    fn yields_lines_newest_first_with_offsets() {
        for block in [1, 2, 3, 7, 64] {
            let lines = all_lines(b"one\ntwo\n\nfour\n", block, 100);
            assert_eq!(texts(&lines), ["four", "", "two", "one"], "block {block}");
            let offsets: Vec<u64> = lines.iter().map(|(offset, _, _)| *offset).collect();
            assert_eq!(offsets, [9, 8, 4, 0], "block {block}");
        }
    }

    #[test]
    fn handles_missing_final_newline_and_empty_input() {
        assert_eq!(texts(&all_lines(b"a\nb", 2, 100)), ["b", "a"]);
        assert!(all_lines(b"", 4, 100).is_empty());
        assert_eq!(texts(&all_lines(b"\n", 4, 100)), [""]);
        assert_eq!(texts(&all_lines(b"\n\n", 1, 100)), ["", ""]);
    }

    #[test]
    fn stops_at_the_given_end() {
        let text = b"one\ntwo\nthree\n";
        let mut reader = BackwardLines::new(Cursor::new(&text[..]), 8, 3, 100);
        let mut got = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            got.push(String::from_utf8_lossy(line.bytes).into_owned());
        }
        assert_eq!(got, ["two", "one"]);
        assert_eq!(reader.bytes_read(), 8);
    }

    #[test]
    fn clips_overlong_lines_to_their_start() {
        let text = format!("short\n{}\nend\n", "abcdefghij".repeat(10));
        let lines = all_lines(text.as_bytes(), 4, 16);
        assert_eq!(lines[0], (107, "end".to_string(), false));
        assert_eq!(lines[1].0, 6);
        assert!(lines[1].1.starts_with("abcdefghij"));
        assert!(lines[1].1.len() <= 16 + 4);
        assert!(lines[1].2);
        assert_eq!(lines[2], (0, "short".to_string(), false));
    }
}
