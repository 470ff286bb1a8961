//! Helpers shared by the file tools: entry kinds, JSON size accounting, display paths, hashing,
//! race-safe opening and a per-thread collector for parallel walks. Every open, create and
//! replace goes through `skippy_core::safe_fs`; nothing here opens a file by path.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};
use skippy_core::safe_fs;
use skippy_core::{Access, AllowedPath, PathPolicy, ToolError, ToolResult, check_cancelled};
use tokio_util::sync::CancellationToken;

/// Read buffer for hashing and streaming: large enough that syscalls are not the cost.
pub(crate) const IO_BUFFER: usize = 256 * 1024;

// What a directory entry is. Symlinks are reported as links, never followed. (A plain comment:
// a doc comment would be repeated in every schema that uses the type.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

impl Kind {
    pub(crate) fn of(file_type: std::fs::FileType) -> Kind {
        if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    }
}

/// Bytes that `bytes` take inside a JSON string (without the quotes), as serde_json writes them.
pub(crate) fn escaped_len(bytes: &[u8]) -> usize {
    bytes.iter().map(|&byte| escaped_byte_len(byte)).sum()
}

fn escaped_byte_len(byte: u8) -> usize {
    match byte {
        b'"' | b'\\' | b'\n' | b'\t' | b'\r' | 0x08 | 0x0c => 2,
        0x00..=0x1f => 6,
        _ => 1,
    }
}

/// The longest prefix of `bytes` whose JSON-escaped length is at most `budget`.
pub(crate) fn fitting_prefix(bytes: &[u8], budget: usize) -> usize {
    let mut cost = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        cost += escaped_byte_len(byte);
        if cost > budget {
            return index;
        }
    }
    bytes.len()
}

/// JSON cost of a string value including its quotes and a separating comma.
pub(crate) fn json_string_cost(text: &str) -> usize {
    escaped_len(text.as_bytes()) + 3
}

/// How a path found under the directory the model named is shown back: joined onto the model's
/// own spelling (like ripgrep), so it can be passed to another tool as is.
pub(crate) fn display_join(raw: &str, relative: &Path) -> String {
    let relative = relative.to_string_lossy();
    if relative.is_empty() {
        return raw.to_string();
    }
    if raw == "." || raw == "./" {
        return relative.into_owned();
    }
    let separator = if raw.ends_with('/') { "" } else { "/" };
    format!("{raw}{separator}{relative}")
}

/// Stream a regular file through SHA-256, polling cancellation between blocks. The file is
/// opened race-safely ([`safe_fs`]): `path` may come from a walk, not only from a check.
pub(crate) fn sha256_file(
    policy: &PathPolicy,
    path: &Path,
    cancel: &CancellationToken,
) -> ToolResult<String> {
    let mut file = safe_fs::open_read_found(policy, path, Access::Read)?;
    let mut hasher = Sha256::new();
    hash_reader(&mut file, &mut hasher, path, cancel, u64::MAX)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feed up to `limit` bytes of `reader` into `hasher`; returns the bytes read.
pub(crate) fn hash_reader(
    reader: &mut impl Read,
    hasher: &mut Sha256,
    path: &Path,
    cancel: &CancellationToken,
    limit: u64,
) -> ToolResult<u64> {
    let mut buffer = vec![0u8; IO_BUFFER];
    let mut total = 0u64;
    while total < limit {
        check_cancelled(cancel)?;
        let want = usize::try_from(limit - total)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let read = match reader.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(ToolError::io(path, &error)),
        };
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok(total)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Permission bits a new file gets: 0666 minus the process umask. The umask is read from
/// `/proc/self/status` because `umask(2)` can only be read by setting it, which races other threads.
#[cfg(test)]
pub(crate) fn new_file_mode() -> u32 {
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    0o666 & !umask
}

/// Open a checked regular file for reading, race-safely (see [`safe_fs`]: beneath its root, no
/// link followed, `O_NONBLOCK` so a FIFO swapped in cannot block, type and real path verified on
/// the descriptor), with its metadata.
pub(crate) fn open_regular(
    policy: &PathPolicy,
    path: &AllowedPath,
) -> ToolResult<(File, Metadata)> {
    let file = safe_fs::open_read(policy, path)?;
    let metadata = file
        .metadata()
        .map_err(|error| ToolError::io(path.as_path(), &error))?;
    Ok((file, metadata))
}

impl Kind {
    pub(crate) fn of_entry(kind: safe_fs::EntryKind) -> Kind {
        match kind {
            safe_fs::EntryKind::File => Kind::File,
            safe_fs::EntryKind::Dir => Kind::Dir,
            safe_fs::EntryKind::Symlink => Kind::Symlink,
            safe_fs::EntryKind::Other => Kind::Other,
        }
    }
}

/// Collects items on one walker thread and hands them to the shared list when the thread's
/// visitor is dropped, so parallel walks take the lock once per thread rather than per item.
pub(crate) struct ThreadCollector<'a, T> {
    pub(crate) items: Vec<T>,
    shared: &'a Mutex<Vec<T>>,
}

impl<'a, T> ThreadCollector<'a, T> {
    pub(crate) fn new(shared: &'a Mutex<Vec<T>>) -> Self {
        Self {
            items: Vec::new(),
            shared,
        }
    }
}

impl<T> Drop for ThreadCollector<'_, T> {
    fn drop(&mut self) {
        let items = std::mem::take(&mut self.items);
        match self.shared.lock() {
            Ok(mut shared) => shared.extend(items),
            Err(poisoned) => poisoned.into_inner().extend(items),
        }
    }
}

/// Take the items out of a shared list once every walker thread is done.
pub(crate) fn into_items<T>(shared: Mutex<Vec<T>>) -> Vec<T> {
    match shared.into_inner() {
        Ok(items) => items,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Walker threads: the machine's cores (the walk is I/O- and syscall-bound beyond that).
pub(crate) fn walker_threads() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .min(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_length_matches_serde_json() {
        for text in [
            "plain",
            "a\"b\\c\n\t\r",
            "\u{1}\u{8}\u{c}\u{7f}\u{1f}",
            "héllo",
        ] {
            let json = serde_json::to_string(text).unwrap();
            assert_eq!(escaped_len(text.as_bytes()) + 2, json.len(), "{text:?}");
        }
    }

    #[test]
    fn fitting_prefix_counts_escapes() {
        assert_eq!(fitting_prefix(b"a\nb", 2), 1);
        assert_eq!(fitting_prefix(b"a\nb", 3), 2);
        assert_eq!(fitting_prefix(b"abc", 10), 3);
    }

    #[test]
    fn display_join_keeps_the_callers_spelling() {
        assert_eq!(display_join(".", Path::new("a/b")), "a/b");
        assert_eq!(display_join("src", Path::new("a.rs")), "src/a.rs");
        assert_eq!(display_join("/x/", Path::new("a.rs")), "/x/a.rs");
        assert_eq!(display_join("/x", Path::new("")), "/x");
    }
}
