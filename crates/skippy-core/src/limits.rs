//! Output caps and paging helpers shared by tools.
//!
//! Every text or list result is cut at a cap and then says so: `truncated: true` plus a continuation
//! value (`next_offset`) that the next call accepts.

/// Bytes reserved for the JSON envelope around content when a tool budgets its text.
pub const ENVELOPE_RESERVE: usize = 2 * 1024;

/// The largest prefix of `text` that is at most `max` bytes and ends on a character boundary.
pub fn truncate_utf8(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A running byte budget for building a capped list or text.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    remaining: usize,
}

impl Budget {
    /// A budget of `max_output_bytes` minus the envelope reserve.
    pub fn for_output(max_output_bytes: usize) -> Self {
        Self {
            remaining: max_output_bytes.saturating_sub(ENVELOPE_RESERVE),
        }
    }

    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Take `cost` bytes if they fit; false (and nothing taken) otherwise.
    pub fn take(&mut self, cost: usize) -> bool {
        if cost > self.remaining {
            return false;
        }
        self.remaining -= cost;
        true
    }
}

/// Approximate serialized size of a string in JSON (quotes and escapes included).
pub fn json_len(text: &str) -> usize {
    2 + text.len()
        + text
            .bytes()
            .filter(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\t' | b'\r'))
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("abc", 10), "abc");
    }

    #[test]
    fn budget_refuses_what_does_not_fit() {
        let mut budget = Budget::for_output(ENVELOPE_RESERVE + 10);
        assert!(budget.take(6));
        assert!(!budget.take(5));
        assert!(budget.take(4));
        assert_eq!(budget.remaining(), 0);
    }
}
