//! Turning a log line into a message template, so that lines that differ only in their variable
//! parts (numbers, addresses, identifiers) group together.
//!
//! [`split_message`] drops the timestamp and, for syslog-style lines, the host name and the
//! `[pid]` of the process tag (the process name is kept: "sshd: ..." says more than "...").
//! [`template_into`] then masks, left to right: UUIDs (`<uuid>`), IPv4 and IPv6 addresses
//! (`<ip>`), MAC addresses (`<mac>`), `0x` numbers and hexadecimal words of 6 or more characters
//! with both digits and letters (`<hex>`), and every other run of digits, decimals included (`<n>`).
//! Quoted strings are kept: in access logs they hold the request line, which is what tells
//! requests apart. Templates are cut at [`TEMPLATE_CAP`] bytes to bound memory.

use crate::level;
use crate::timestamp::{Timestamp, TimestampKind};

/// Longest template kept, in bytes.
pub const TEMPLATE_CAP: usize = 200;

/// A line split into its process name (syslog tag without pid) and message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub process: Option<&'a str>,
    pub body: &'a str,
}

/// Drop the timestamp prefix and a syslog `host process[pid]:` prefix.
pub fn split_message<'a>(line: &'a str, stamp: Option<&Timestamp>) -> Message<'a> {
    let Some(stamp) = stamp else {
        return Message {
            process: None,
            body: line.trim(),
        };
    };
    // `end` lies on an ASCII byte boundary of a str, so slicing is safe; `get` keeps it panic-free.
    let rest = line
        .get(stamp.end..)
        .unwrap_or_default()
        .trim_start_matches([']', ' ', '\t']);
    if matches!(stamp.kind, TimestampKind::Syslog | TimestampKind::Iso)
        && let Some(message) = split_syslog_prefix(rest)
    {
        return message;
    }
    Message {
        process: None,
        body: rest.trim(),
    }
}

/// `host tag[pid]: body` -> (tag, body). The host may not be a level word (`ERROR x: y` is an
/// application line, not syslog).
fn split_syslog_prefix(rest: &str) -> Option<Message<'_>> {
    let (host, after_host) = rest.split_once(' ')?;
    if host.is_empty() || host.contains(':') || level::keyword(host.as_bytes()).is_some() {
        return None;
    }
    // The tag is the next word, ending in `:`.
    let (tag, body) = match memchr::memchr(b' ', after_host.as_bytes()) {
        Some(space) => (after_host.get(..space)?, after_host.get(space + 1..)?),
        None => (after_host, ""),
    };
    let tag = tag.strip_suffix(':')?;
    let name = match tag.split_once('[') {
        Some((name, pid)) => {
            let pid = pid.strip_suffix(']')?;
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            name
        }
        None => tag,
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./@()".contains(&b));
    valid.then(|| Message {
        process: Some(name),
        body: body.trim(),
    })
}

/// Write the template of `message` into `out` (cleared first).
pub fn template_into(message: Message<'_>, out: &mut String) {
    out.clear();
    if let Some(process) = message.process {
        out.push_str(process);
        out.push_str(": ");
    }
    mask_into(message.body, out);
    if out.len() > TEMPLATE_CAP {
        let cut = skippy_core::limits::truncate_utf8(out, TEMPLATE_CAP).len();
        out.truncate(cut);
        out.push('…');
    }
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Append `body` to `out` with its variable parts masked.
fn mask_into(body: &str, out: &mut String) {
    let bytes = body.as_bytes();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        // Stop early once the template is long enough to be cut anyway.
        if out.len() + (at - copied) > TEMPLATE_CAP + 4 {
            break;
        }
        let byte = bytes[at];
        let boundary = at == 0 || !is_word(bytes[at - 1]);
        let mut found = None;
        if boundary && (byte.is_ascii_hexdigit() || byte == b':') {
            found = match_uuid(bytes, at)
                .map(|len| (len, "<uuid>"))
                .or_else(|| match_ipv4(bytes, at).map(|len| (len, "<ip>")))
                .or_else(|| match_colon_hex(bytes, at))
                .or_else(|| match_hex(bytes, at).map(|len| (len, "<hex>")));
        }
        if found.is_none() && byte.is_ascii_digit() {
            found = Some((match_number(bytes, at), "<n>"));
        }
        match found {
            Some((len, placeholder)) => {
                out.push_str(body.get(copied..at).unwrap_or_default());
                out.push_str(placeholder);
                at += len;
                copied = at;
            }
            None => at += 1,
        }
    }
    let mut end = at.min(bytes.len());
    while !body.is_char_boundary(end) {
        end += 1;
    }
    out.push_str(body.get(copied..end).unwrap_or_default());
}

fn hex_run(bytes: &[u8], at: usize) -> usize {
    bytes[at.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count()
}

fn ends_word(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|&b| !is_word(b))
}

/// `8-4-4-4-12` hexadecimal digits.
fn match_uuid(bytes: &[u8], at: usize) -> Option<usize> {
    let mut cursor = at;
    for (index, width) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if index > 0 {
            if bytes.get(cursor) != Some(&b'-') {
                return None;
            }
            cursor += 1;
        }
        if hex_run(bytes, cursor) != width {
            return None;
        }
        cursor += width;
    }
    ends_word(bytes, cursor).then_some(cursor - at)
}

fn decimal_run(bytes: &[u8], at: usize) -> usize {
    bytes[at.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Four dot-separated groups of 1 to 3 digits.
fn match_ipv4(bytes: &[u8], at: usize) -> Option<usize> {
    let mut cursor = at;
    for index in 0..4 {
        if index > 0 {
            if bytes.get(cursor) != Some(&b'.') {
                return None;
            }
            cursor += 1;
        }
        let run = decimal_run(bytes, cursor);
        if !(1..=3).contains(&run) {
            return None;
        }
        cursor += run;
    }
    let followed_by_digit =
        bytes.get(cursor) == Some(&b'.') && bytes.get(cursor + 1).is_some_and(u8::is_ascii_digit);
    (ends_word(bytes, cursor) && !followed_by_digit).then_some(cursor - at)
}

/// Colon-separated hexadecimal groups: an IPv6 address (with `::` or 8 groups; a dotted IPv4
/// tail is allowed) or a MAC address (6 groups of 2).
fn match_colon_hex(bytes: &[u8], at: usize) -> Option<(usize, &'static str)> {
    let mut cursor = at;
    let mut groups = 0;
    let mut colons = 0;
    let mut double = false;
    let mut all_pairs = true;
    loop {
        if let Some(len) = match_ipv4(bytes, cursor).filter(|_| colons >= 2) {
            cursor += len;
            groups += 2;
            all_pairs = false;
            break;
        }
        let run = hex_run(bytes, cursor);
        if run > 4 {
            return None;
        }
        if run > 0 {
            groups += 1;
            all_pairs &= run == 2;
            cursor += run;
        }
        if bytes.get(cursor) != Some(&b':') {
            break;
        }
        if bytes.get(cursor + 1) == Some(&b':') {
            if double {
                return None;
            }
            double = true;
            colons += 2;
            cursor += 2;
        } else {
            colons += 1;
            cursor += 1;
        }
    }
    if !ends_word(bytes, cursor) || cursor == at {
        return None;
    }
    // A trailing single colon ("addr 10:20:") belongs to the text, not the address.
    if bytes[cursor - 1] == b':' && !(cursor >= 2 && bytes[cursor - 2] == b':') {
        return None;
    }
    let ipv6 = (double && colons >= 2 && groups <= 7) || (!double && groups == 8 && colons == 7);
    if ipv6 {
        return Some((cursor - at, "<ip>"));
    }
    let mac = !double && groups == 6 && colons == 5 && all_pairs;
    mac.then_some((cursor - at, "<mac>"))
}

/// `0x` followed by hex digits, or a whole word of 6+ hex digits with both digits and letters.
fn match_hex(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
        let run = hex_run(bytes, at + 2);
        return (run > 0 && ends_word(bytes, at + 2 + run)).then_some(run + 2);
    }
    let run = hex_run(bytes, at);
    let word = &bytes[at..at + run];
    let mixed = word.iter().any(u8::is_ascii_digit) && word.iter().any(u8::is_ascii_alphabetic);
    (run >= 6 && mixed && ends_word(bytes, at + run)).then_some(run)
}

/// Digits, with an optional decimal part.
fn match_number(bytes: &[u8], at: usize) -> usize {
    let whole = decimal_run(bytes, at);
    if bytes.get(at + whole) == Some(&b'.') {
        let fraction = decimal_run(bytes, at + whole + 1);
        if fraction > 0 {
            return whole + 1 + fraction;
        }
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::find_timestamp;
    use chrono::{TimeZone, Utc};

    fn template(line: &str) -> String {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        let stamp = find_timestamp(line.as_bytes(), now);
        let mut out = String::new();
        template_into(split_message(line, stamp.as_ref()), &mut out);
        out
    }

    #[test]
    fn strips_syslog_prefix_and_masks_variables() {
        assert_eq!(
            template(
                "Nov 21 10:29:23 web1 sshd[4242]: Failed password for root from 203.0.113.9 port 52311 ssh2"
            ),
            "sshd: Failed password for root from <ip> port <n> ssh<n>"
        );
        assert_eq!(
            template("Nov 21 10:29:24 web1 kernel: eth0: link up"),
            "kernel: eth<n>: link up"
        );
    }

    #[test]
    fn lines_differing_in_variables_share_a_template() {
        let a = template("2026-11-21T10:00:00Z ERROR job 17 failed on 10.0.0.1 after 2.5s");
        let b = template(
            "2026-11-21T11:30:00.5+02:00 ERROR job 943 failed on 192.168.1.20 after 13.25s",
        );
        assert_eq!(a, b);
        assert_eq!(a, "ERROR job <n> failed on <ip> after <n>s");
    }

    #[test]
    fn masks_uuids_hex_ipv6_and_macs() {
        assert_eq!(
            template("request 123e4567-e89b-12d3-a456-426614174000 done"),
            "request <uuid> done"
        );
        assert_eq!(
            template("commit a3f9c21 at 0xDEADBEEF, word deadbeef"),
            "commit <hex> at <hex>, word deadbeef"
        );
        assert_eq!(
            template("from 2001:db8::1 and ::1 and fe80::a:b%eth0"),
            "from <ip> and <ip> and <ip>%eth<n>"
        );
        assert_eq!(
            template("from 2001:db8:0:0:0:0:0:1 via ::ffff:192.0.2.1"),
            "from <ip> via <ip>"
        );
        assert_eq!(template("mac 00:1a:2b:3c:4d:5e up"), "mac <mac> up");
        assert_eq!(template("took 10:29:23 total"), "took <n>:<n>:<n> total");
    }

    #[test]
    fn keeps_non_syslog_shapes_intact() {
        // An application line whose first word after the stamp is a level is not a syslog host.
        assert_eq!(
            template("2026-11-21 10:29:23,123 ERROR db: connection lost"),
            "ERROR db: connection lost"
        );
        assert_eq!(
            template(
                r#"203.0.113.9 - - [21/Nov/2026:10:29:23 +0000] "GET /a?id=5 HTTP/1.1" 200 512"#
            ),
            r#""GET /a?id=<n> HTTP/<n>" <n> <n>"#
        );
        assert_eq!(template("no stamp 42 here"), "no stamp <n> here");
    }

    #[test]
    fn long_templates_are_capped() {
        let line = format!("x {}", "word ".repeat(200));
        let out = template(&line);
        assert!(out.len() <= TEMPLATE_CAP + '…'.len_utf8());
        assert!(out.ends_with('…'));
    }
}
