//! Recognizing the timestamp of a log line.
//!
//! Looked for only near the start of the line (the first [`SCAN_WINDOW`] bytes, plus the first `[`
//! within [`BRACKET_WINDOW`] bytes for access logs whose client address comes first), so that
//! parsing costs a few dozen byte comparisons per line. Recognized shapes:
//!
//! - ISO 8601 / RFC 3339: `2026-11-21T10:29:23Z`, `2026-11-21T10:29:23.123+01:00`,
//!   `2026-11-21 10:29:23`, `2026-11-21 10:29:23,123` (no zone = UTC);
//! - nginx error log: `2026/11/21 10:29:23` (UTC);
//! - syslog: `Nov 21 10:29:23` or `Nov  1 10:29:23`. There is no year: the current year is assumed,
//!   or the previous one when that would put the line more than a day in the future. Syslog writes
//!   local time; it is read as UTC;
//! - Apache/nginx access log: `[21/Nov/2026:10:29:23 +0000]`;
//! - Apache error log / ctime: `[Sat Nov 21 10:29:23.123456 2026]` (UTC).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// How many leading bytes may hold the start of a timestamp.
pub const SCAN_WINDOW: usize = 40;
/// How far to look for the `[` that opens an access-log timestamp.
pub const BRACKET_WINDOW: usize = 160;

/// Which shape a timestamp had; later stages use it (syslog prefixes, HTTP status codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampKind {
    /// `2026-11-21T10:29:23Z` and its variants.
    Iso,
    /// `2026/11/21 10:29:23` (nginx error log).
    Slashed,
    /// `Nov 21 10:29:23` (traditional syslog).
    Syslog,
    /// `21/Nov/2026:10:29:23 +0000` (common/combined access log).
    AccessLog,
    /// `Sat Nov 21 10:29:23 2026` (ctime, Apache error log).
    Ctime,
}

/// A timestamp found in a line: its instant and the byte range it occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub time: DateTime<Utc>,
    pub start: usize,
    pub end: usize,
    pub kind: TimestampKind,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

/// Find the timestamp of `line`. `now` decides the year of year-less syslog stamps.
pub fn find_timestamp(line: &[u8], now: DateTime<Utc>) -> Option<Timestamp> {
    let window = line.len().min(SCAN_WINDOW);
    for start in 0..window {
        if start > 0 && line[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let byte = line[start];
        let found = if byte.is_ascii_digit() {
            parse_iso(line, start).or_else(|| parse_access(line, start))
        } else if byte.is_ascii_alphabetic() {
            parse_ctime(line, start).or_else(|| parse_syslog(line, start, now))
        } else {
            None
        };
        if found.is_some() {
            return found;
        }
    }
    // Access logs put the client, ident and user first; an IPv6 client pushes the stamp far out.
    let limit = line.len().min(BRACKET_WINDOW);
    let open = memchr::memchr(b'[', &line[..limit])?;
    let start = open + 1;
    if start < window {
        return None;
    }
    parse_access(line, start)
        .or_else(|| parse_ctime(line, start))
        .or_else(|| parse_iso(line, start))
}

/// Exactly `count` ASCII digits at `at`.
fn digits(line: &[u8], at: usize, count: usize) -> Option<u32> {
    let bytes = line.get(at..at + count)?;
    bytes.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

fn byte_is(line: &[u8], at: usize, expected: u8) -> bool {
    line.get(at) == Some(&expected)
}

/// A three-letter month name (any case) at `at`, as 1..=12.
fn month(line: &[u8], at: usize) -> Option<u32> {
    let name = line.get(at..at + 3)?;
    let position = MONTHS
        .iter()
        .position(|month| name.eq_ignore_ascii_case(&month[..]))?;
    u32::try_from(position + 1).ok()
}

fn weekday(line: &[u8], at: usize) -> bool {
    line.get(at..at + 3).is_some_and(|name| {
        WEEKDAYS
            .iter()
            .any(|day| name.eq_ignore_ascii_case(&day[..]))
    })
}

/// `HH:MM:SS` at `at`, then an optional `.fraction` or `,fraction`; returns the time and its end.
fn clock(line: &[u8], at: usize) -> Option<(NaiveTime, usize)> {
    let hour = digits(line, at, 2)?;
    let minute = byte_is(line, at + 2, b':')
        .then(|| digits(line, at + 3, 2))
        .flatten()?;
    let second = byte_is(line, at + 5, b':')
        .then(|| digits(line, at + 6, 2))
        .flatten()?;
    let mut end = at + 8;
    let mut nanos = 0u32;
    if matches!(line.get(end), Some(b'.' | b','))
        && line.get(end + 1).is_some_and(u8::is_ascii_digit)
    {
        end += 1;
        let mut scale = 100_000_000u32;
        while let Some(byte) = line.get(end).filter(|byte| byte.is_ascii_digit()) {
            nanos += u32::from(byte - b'0') * scale;
            scale /= 10;
            end += 1;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some((time, end))
}

/// A zone suffix at `at`: `Z`, `+HH:MM`, `+HHMM` or `+HH`. Returns seconds east of UTC and the end.
fn zone(line: &[u8], at: usize) -> Option<(i64, usize)> {
    let sign = match line.get(at)? {
        b'Z' | b'z' => return Some((0, at + 1)),
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = i64::from(digits(line, at + 1, 2)?);
    let (minutes, end) = if byte_is(line, at + 3, b':') {
        (i64::from(digits(line, at + 4, 2)?), at + 6)
    } else if let Some(minutes) = digits(line, at + 3, 2) {
        (i64::from(minutes), at + 5)
    } else {
        (0, at + 3)
    };
    Some((sign * (hours * 3600 + minutes * 60), end))
}

fn utc(date: NaiveDate, time: NaiveTime, east_seconds: i64) -> DateTime<Utc> {
    NaiveDateTime::new(date, time).and_utc() - Duration::seconds(east_seconds)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.f][zone]` or `YYYY/MM/DD HH:MM:SS[.f]`.
fn parse_iso(line: &[u8], start: usize) -> Option<Timestamp> {
    let year = digits(line, start, 4)?;
    let separator = *line.get(start + 4)?;
    let kind = match separator {
        b'-' => TimestampKind::Iso,
        b'/' => TimestampKind::Slashed,
        _ => return None,
    };
    let month = byte_is(line, start + 4, separator)
        .then(|| digits(line, start + 5, 2))
        .flatten()?;
    let day = byte_is(line, start + 7, separator)
        .then(|| digits(line, start + 8, 2))
        .flatten()?;
    if !matches!(line.get(start + 10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (time, mut end) = clock(line, start + 11)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let mut east = 0;
    if kind == TimestampKind::Iso
        && let Some((offset, zone_end)) = zone(line, end)
    {
        east = offset;
        end = zone_end;
    }
    Some(Timestamp {
        time: utc(date, time, east),
        start,
        end,
        kind,
    })
}

/// `DD/Mon/YYYY:HH:MM:SS [+-]HHMM` (the zone is optional).
fn parse_access(line: &[u8], start: usize) -> Option<Timestamp> {
    let day = digits(line, start, 2)?;
    if !byte_is(line, start + 2, b'/') || !byte_is(line, start + 6, b'/') {
        return None;
    }
    let month = month(line, start + 3)?;
    let year = digits(line, start + 7, 4)?;
    if !byte_is(line, start + 11, b':') {
        return None;
    }
    let (time, mut end) = clock(line, start + 12)?;
    let mut east = 0;
    if byte_is(line, end, b' ')
        && matches!(line.get(end + 1), Some(b'+' | b'-'))
        && let Some((offset, zone_end)) = zone(line, end + 1)
    {
        east = offset;
        end = zone_end;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(Timestamp {
        time: utc(date, time, east),
        start,
        end,
        kind: TimestampKind::AccessLog,
    })
}

/// `Mon DD HH:MM:SS` or `Mon  D HH:MM:SS` at `at` (day 1 or 2 digits, maybe space-padded).
/// Returns month, day, time and the end.
fn month_day_clock(line: &[u8], at: usize) -> Option<(u32, u32, NaiveTime, usize)> {
    let month = month(line, at)?;
    if !byte_is(line, at + 3, b' ') {
        return None;
    }
    let mut cursor = at + 4;
    if byte_is(line, cursor, b' ') {
        cursor += 1;
    }
    let (day, after_day) = match digits(line, cursor, 2) {
        Some(day) => (day, cursor + 2),
        None => (digits(line, cursor, 1)?, cursor + 1),
    };
    if !byte_is(line, after_day, b' ') {
        return None;
    }
    let (time, end) = clock(line, after_day + 1)?;
    Some((month, day, time, end))
}

fn parse_syslog(line: &[u8], start: usize, now: DateTime<Utc>) -> Option<Timestamp> {
    let (month, day, time, end) = month_day_clock(line, start)?;
    let time = infer_year(month, day, time, now)?;
    Some(Timestamp {
        time,
        start,
        end,
        kind: TimestampKind::Syslog,
    })
}

/// The current year, or the previous one when the current would be more than a day ahead of `now`.
fn infer_year(month: u32, day: u32, time: NaiveTime, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let this_year = NaiveDate::from_ymd_opt(now.year(), month, day).map(|date| utc(date, time, 0));
    match this_year {
        Some(candidate) if candidate <= now + Duration::days(1) => Some(candidate),
        _ => NaiveDate::from_ymd_opt(now.year() - 1, month, day).map(|date| utc(date, time, 0)),
    }
}

/// `Www Mon DD HH:MM:SS[.f] YYYY`.
fn parse_ctime(line: &[u8], start: usize) -> Option<Timestamp> {
    if !weekday(line, start) || !byte_is(line, start + 3, b' ') {
        return None;
    }
    let (month, day, time, after_clock) = month_day_clock(line, start + 4)?;
    if !byte_is(line, after_clock, b' ') {
        return None;
    }
    let year = digits(line, after_clock + 1, 4)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(Timestamp {
        time: utc(date, time, 0),
        start,
        end: after_clock + 5,
        kind: TimestampKind::Ctime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn parse(line: &str) -> Option<Timestamp> {
        find_timestamp(line.as_bytes(), now())
    }

    fn at(line: &str) -> String {
        parse(line)
            .map(|stamp| {
                stamp
                    .time
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            })
            .unwrap_or_else(|| "none".to_string())
    }

    #[test]
    fn iso_and_rfc3339_variants() {
        assert_eq!(
            at("2026-11-21T10:29:23Z app started"),
            "2026-11-21T10:29:23Z"
        );
        assert_eq!(
            at("2026-11-21T10:29:23.123+01:00 x"),
            "2026-11-21T09:29:23.123Z"
        );
        assert_eq!(at("2026-11-21T10:29:23-0230 x"), "2026-11-21T12:59:23Z");
        assert_eq!(at("2026-11-21 10:29:23 naive"), "2026-11-21T10:29:23Z");
        assert_eq!(
            at("2026-11-21 10:29:23,123 INFO python logging"),
            "2026-11-21T10:29:23.123Z"
        );
        assert_eq!(
            at("[2026-11-21T10:29:23.000123456Z] bracketed"),
            "2026-11-21T10:29:23.000123456Z"
        );
        let stamp = parse("<34>1 2026-11-21T10:29:23Z host app - msg").unwrap();
        assert_eq!(
            (stamp.start, stamp.end, stamp.kind),
            (6, 26, TimestampKind::Iso)
        );
    }

    #[test]
    fn nginx_error_log() {
        let stamp = parse("2026/11/21 10:29:23 [error] 123#0: *1 open() failed").unwrap();
        assert_eq!(stamp.kind, TimestampKind::Slashed);
        assert_eq!(stamp.end, 19);
        assert_eq!(at("2026/11/21 10:29:23 [error]"), "2026-11-21T10:29:23Z");
    }

    #[test]
    fn syslog_without_year() {
        let stamp = parse("Nov 21 10:29:23 host sshd[42]: Accepted key").unwrap();
        assert_eq!(stamp.kind, TimestampKind::Syslog);
        assert_eq!((stamp.start, stamp.end), (0, 15));
        assert_eq!(
            stamp.time,
            Utc.with_ymd_and_hms(2026, 11, 21, 10, 29, 23).unwrap()
        );
        assert_eq!(at("Nov  1 08:00:00 host cron: x"), "2026-11-01T08:00:00Z");
        assert_eq!(at("Nov 1 08:00:00 host cron: x"), "2026-11-01T08:00:00Z");
        // Tomorrow is still this year; later dates are last year's.
        assert_eq!(at("Nov 23 08:00:00 h a: b"), "2026-11-23T08:00:00Z");
        assert_eq!(at("Dec 31 23:59:59 h a: b"), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn syslog_year_rolls_back_in_january() {
        let january = Utc.with_ymd_and_hms(2027, 1, 1, 0, 30, 0).unwrap();
        let stamp = find_timestamp(b"Dec 31 23:59:00 h k: m", january).unwrap();
        assert_eq!(
            stamp.time,
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap()
        );
    }

    #[test]
    fn access_log() {
        let line = r#"203.0.113.9 - - [21/Nov/2026:10:29:23 +0100] "GET / HTTP/1.1" 200 512"#;
        let stamp = parse(line).unwrap();
        assert_eq!(stamp.kind, TimestampKind::AccessLog);
        assert_eq!(&line[stamp.start..stamp.end], "21/Nov/2026:10:29:23 +0100");
        assert_eq!(at(line), "2026-11-21T09:29:23Z");
        // A long IPv6 client pushes the bracket past the scan window.
        let far = r#"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff - someuser [21/Nov/2026:10:29:23 +0000] "GET / HTTP/1.1" 404 0"#;
        assert_eq!(at(far), "2026-11-21T10:29:23Z");
    }

    #[test]
    fn apache_error_log_and_ctime() {
        let line = "[Sat Nov 21 10:29:23.123456 2026] [core:error] [pid 42] AH00037: x";
        let stamp = parse(line).unwrap();
        assert_eq!(stamp.kind, TimestampKind::Ctime);
        assert_eq!(
            &line[stamp.start..stamp.end],
            "Sat Nov 21 10:29:23.123456 2026"
        );
        assert_eq!(at(line), "2026-11-21T10:29:23.123456Z");
        assert_eq!(at("Sun Nov  1 01:02:03 2026 x"), "2026-11-01T01:02:03Z");
    }

    #[test]
    fn rejects_non_timestamps() {
        assert!(parse("no timestamp here").is_none());
        assert!(parse("").is_none());
        assert!(parse("2026-13-40 10:29:23 bad date").is_none());
        assert!(parse("2026-11-21 25:00:00 bad hour").is_none());
        assert!(parse("Foo 21 10:29:23 not a month").is_none());
        assert!(parse("version 12026-11-21 10:29:23").is_none());
        // Too far into the line.
        assert!(parse(&format!("{} 2026-11-21T10:29:23Z", "x".repeat(50))).is_none());
    }
}
