//! Turning raw log bytes into the strings a result carries.

use skippy_core::limits::{Budget, json_len, truncate_utf8};

/// Marks a line that was cut.
pub const CUT_MARK: &str = "…";

/// `bytes` as text (invalid UTF-8 replaced), without a trailing `\r`, cut to `cap` bytes. The flag
/// says whether anything was cut, here or earlier (`already_cut`).
pub fn display_line(bytes: &[u8], cap: usize, already_cut: bool) -> (String, bool) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= cap && !already_cut {
        return (text.into_owned(), false);
    }
    let mut cut = truncate_utf8(&text, cap).to_string();
    cut.push_str(CUT_MARK);
    (cut, true)
}

/// For `skip_serializing_if`: counters that are usually zero stay out of results.
pub fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// Take the cost of `text` as a list item from `budget`. When it does not fit and `first` is set
/// (nothing returned yet), cut it to what is left so that a call always makes progress.
/// Returns the text to keep, and whether it was cut.
pub fn fit(budget: &mut Budget, text: String, first: bool) -> Option<(String, bool)> {
    if budget.take(json_len(&text) + 1) {
        return Some((text, false));
    }
    if !first {
        return None;
    }
    let room = budget.remaining().saturating_sub(CUT_MARK.len() + 8);
    let mut keep = room;
    loop {
        let candidate = truncate_utf8(&text, keep);
        if json_len(candidate) + CUT_MARK.len() < room || keep == 0 {
            let mut cut = candidate.to_string();
            cut.push_str(CUT_MARK);
            budget.take(json_len(&cut) + 1);
            return Some((cut, true));
        }
        keep = keep * 3 / 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::limits::ENVELOPE_RESERVE;

    #[test]
    fn display_cuts_long_lines_on_char_boundaries() {
        assert_eq!(
            display_line(b"abc\r", 10, false),
            ("abc".to_string(), false)
        );
        assert_eq!(
            display_line("héllo".as_bytes(), 2, false),
            ("h…".to_string(), true)
        );
        assert_eq!(display_line(b"ab", 10, true), ("ab…".to_string(), true));
        assert_eq!(display_line(b"a\xffb", 10, false).0, "a\u{fffd}b");
    }

    #[test]
    fn fit_cuts_only_the_first_item() {
        let mut budget = Budget::for_output(ENVELOPE_RESERVE + 40);
        assert_eq!(
            fit(&mut budget, "x".repeat(10), true),
            Some(("x".repeat(10), false))
        );
        assert_eq!(fit(&mut budget, "y".repeat(100), false), None);
        let mut fresh = Budget::for_output(ENVELOPE_RESERVE + 40);
        let (text, cut) = fit(&mut fresh, "z".repeat(100), true).unwrap();
        assert!(cut);
        assert!(text.len() < 40);
        assert!(text.starts_with("zzz"));
    }
}
