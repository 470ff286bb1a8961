//! Time helpers: RFC 3339 formatting and the `since`/`until` argument syntax shared by tools.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{ToolError, ToolResult};

/// RFC 3339 UTC with second precision, e.g. `2026-11-21T10:29:23Z`.
pub fn rfc3339(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 UTC with millisecond precision.
pub fn rfc3339_millis(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Seconds since the epoch to RFC 3339.
pub fn rfc3339_from_unix(seconds: u64) -> String {
    rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Parse a duration such as `90s`, `15m`, `2h`, `3d`, `1w` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    Some(Duration::from_secs(number.checked_mul(seconds)?))
}

/// Parse a `since`/`until` argument: an RFC 3339 time, or a duration meaning "that long ago".
pub fn parse_time_bound(name: &str, text: &str, now: DateTime<Utc>) -> ToolResult<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Some(ago) = parse_duration(text) {
        let ago = chrono::Duration::from_std(ago)
            .map_err(|_| ToolError::invalid(format!("`{name}` is too far back")))?;
        return Ok(now - ago);
    }
    Err(ToolError::invalid(format!(
        "`{name}` = `{text}` is neither an RFC 3339 time (2026-11-21T10:00:00Z) nor a duration (90s, 15m, 2h, 3d)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2x"), None);
        let now = Utc::now();
        assert_eq!(
            parse_time_bound("since", "1h", now).unwrap(),
            now - chrono::Duration::hours(1)
        );
        assert!(parse_time_bound("since", "2026-11-21T10:00:00+01:00", now).is_ok());
        assert_eq!(
            parse_time_bound("since", "yesterday", now)
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
    }
}
