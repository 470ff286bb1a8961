//! Guessing the severity of a log line.
//!
//! Access-log lines (a common/combined-format timestamp followed by a quoted request) are judged by
//! their HTTP status: 5xx error, 4xx warning, anything else info. Other lines take the level of the
//! first keyword found as a whole word, case-insensitively, in the message (after the timestamp and
//! syslog host, so a host called `debug-box` does not count): emerg, emergency, alert, crit,
//! critical, fatal, panic, err, error, fail, failed, failure -> error; warn, warning -> warning;
//! notice, info -> info; debug, trace -> debug. No keyword: other.

use schemars::JsonSchema;
use serde::Serialize;

use crate::timestamp::{Timestamp, TimestampKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
    Info,
    Debug,
    Other,
}

const LONGEST_KEYWORD: usize = 9;

/// The level named by `word` (any case), if it is a level keyword.
pub fn keyword(word: &[u8]) -> Option<Level> {
    if word.len() < 3 || word.len() > LONGEST_KEYWORD {
        return None;
    }
    let mut lower = [0u8; LONGEST_KEYWORD];
    for (slot, byte) in lower.iter_mut().zip(word) {
        *slot = byte.to_ascii_lowercase();
    }
    match &lower[..word.len()] {
        b"emerg" | b"emergency" | b"alert" | b"crit" | b"critical" | b"fatal" | b"panic"
        | b"err" | b"error" | b"fail" | b"failed" | b"failure" => Some(Level::Error),
        b"warn" | b"warning" => Some(Level::Warning),
        b"notice" | b"info" => Some(Level::Info),
        b"debug" | b"trace" => Some(Level::Debug),
        _ => None,
    }
}

/// The level of the first keyword in `text`; words are runs of letters, digits and `_`.
pub fn first_keyword(text: &[u8]) -> Option<Level> {
    text.split(|byte| !(byte.is_ascii_alphanumeric() || *byte == b'_'))
        .find_map(keyword)
}

/// The level from an access log line's HTTP status, when `line` is one.
pub fn http_status(line: &[u8], stamp: &Timestamp) -> Option<Level> {
    if stamp.kind != TimestampKind::AccessLog {
        return None;
    }
    let rest = line.get(stamp.end..)?.strip_prefix(b"] \"")?;
    let close = memchr::memchr(b'"', rest)?;
    let after = rest.get(close + 1..)?.strip_prefix(b" ")?;
    let status = after.get(..3)?;
    if !status.iter().all(u8::is_ascii_digit) || after.get(3).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(match status[0] {
        b'5' => Level::Error,
        b'4' => Level::Warning,
        _ => Level::Info,
    })
}

/// The level of a line, given its timestamp (if any) and its message body (see
/// [`crate::template::split_message`]).
pub fn detect(line: &[u8], stamp: Option<&Timestamp>, message: &[u8]) -> Level {
    if let Some(level) = stamp.and_then(|stamp| http_status(line, stamp)) {
        return level;
    }
    first_keyword(message).unwrap_or(Level::Other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::split_message;
    use crate::timestamp::find_timestamp;
    use chrono::{TimeZone, Utc};

    fn level(line: &str) -> Level {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let stamp = find_timestamp(line.as_bytes(), now);
        let message = split_message(line, stamp.as_ref());
        detect(line.as_bytes(), stamp.as_ref(), message.body.as_bytes())
    }

    #[test]
    fn keywords_as_whole_words() {
        assert_eq!(level("2026-11-21T10:00:00Z ERROR boom"), Level::Error);
        assert_eq!(
            level("[Sat Nov 21 10:29:23 2026] [core:crit] x"),
            Level::Error
        );
        assert_eq!(
            level("Nov 21 10:29:23 h sshd[1]: Failed password"),
            Level::Error
        );
        assert_eq!(level("level=warn msg=slow"), Level::Warning);
        assert_eq!(level("<Notice> started"), Level::Info);
        assert_eq!(level("TRACE enter"), Level::Debug);
        assert_eq!(level("errors: 0, terrorism, debugger"), Level::Other);
        assert_eq!(level("ERROR_CODE 5"), Level::Other);
        // The first keyword wins: an info line mentioning an error is info.
        assert_eq!(level("INFO retrying after error"), Level::Info);
        // A host name is not a message.
        assert_eq!(
            level("Nov 21 10:29:23 debug-box cron[5]: job ran"),
            Level::Other
        );
    }

    #[test]
    fn http_status_decides_for_access_logs() {
        let base = r#"203.0.113.9 - - [21/Nov/2026:10:29:23 +0000] "GET /error HTTP/1.1""#;
        assert_eq!(level(&format!("{base} 503 12")), Level::Error);
        assert_eq!(level(&format!("{base} 404 12")), Level::Warning);
        assert_eq!(level(&format!("{base} 200 12 \"-\" \"x\"")), Level::Info);
        assert_eq!(level(&format!("{base} 301 -")), Level::Info);
    }
}
