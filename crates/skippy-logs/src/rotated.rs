//! Finding the rotated siblings of a log file, oldest first.
//!
//! For `syslog` these are `syslog.1`, `syslog.2.gz`, ... (logrotate's numbered scheme, where a
//! higher number is older) and `syslog-20261121[.gz]` (its `dateext` scheme). Only regular files
//! are returned: symbolic links are skipped, not followed. At most [`MAX_SIBLINGS`] are kept
//! (the newest ones).

use std::cmp::Reverse;
use std::path::{Path, PathBuf};

/// Most rotated files searched besides the live one.
pub const MAX_SIBLINGS: usize = 50;

/// How old a sibling is: dated ones by date, numbered ones by number (higher = older).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    Dated(u64),
    Numbered(Reverse<u64>),
}

/// Rotated siblings of `path`, oldest first (the live file itself is not included).
pub fn rotated_siblings(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (Some(directory), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(Vec::new());
    };
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if !file_type.is_file() {
            continue;
        }
        if let Some(file_name) = entry.file_name().to_str() {
            found.push((file_name.to_string(), entry.path()));
        }
    }
    Ok(newest(oldest_first(name, found)))
}

/// Of `candidates` (file name, value), the values whose name is a rotated copy of `name`,
/// oldest first (ties by name).
pub fn oldest_first<T>(name: &str, candidates: impl IntoIterator<Item = (String, T)>) -> Vec<T> {
    let mut found: Vec<(Age, String, T)> = candidates
        .into_iter()
        .filter_map(|(candidate, value)| {
            age_of(name, &candidate).map(|age| (age, candidate, value))
        })
        .collect();
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    found.into_iter().map(|(_, _, value)| value).collect()
}

/// The last [`MAX_SIBLINGS`] of a list ordered oldest first.
pub fn newest<T>(oldest_first: Vec<T>) -> Vec<T> {
    let skip = oldest_first.len().saturating_sub(MAX_SIBLINGS);
    oldest_first.into_iter().skip(skip).collect()
}

/// The age of `candidate` if it is a rotated copy of `name`.
fn age_of(name: &str, candidate: &str) -> Option<Age> {
    let rest = candidate.strip_prefix(name)?;
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    let all_digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if let Some(number) = rest.strip_prefix('.').filter(|n| all_digits(n)) {
        return number.parse().ok().map(|n| Age::Numbered(Reverse(n)));
    }
    let date = rest.strip_prefix('-').filter(|d| all_digits(d))?;
    (date.len() == 8 || date.len() == 10)
        .then(|| date.parse().ok().map(Age::Dated))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_and_dated_siblings_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "app.log",
            "app.log.1",
            "app.log.2.gz",
            "app.log.10.gz",
            "app.log.old",
            "app.log.1.bak",
            "app.logger.1",
            "other.log.1",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::os::unix::fs::symlink(dir.path().join("app.log.1"), dir.path().join("app.log.3"))
            .unwrap();
        let names: Vec<String> = rotated_siblings(&dir.path().join("app.log"))
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app.log.10.gz", "app.log.2.gz", "app.log.1"]);
    }

    #[test]
    fn dateext_siblings() {
        assert_eq!(
            age_of("syslog", "syslog-20261120.gz"),
            Some(Age::Dated(20261120))
        );
        assert!(age_of("syslog", "syslog-20261120") < age_of("syslog", "syslog-20261121"));
        assert_eq!(age_of("syslog", "syslog-abc"), None);
        assert_eq!(age_of("syslog", "syslog"), None);
    }
}
