//! A streaming check of a JSON-RPC line's shape, run on the bytes as they arrive, before anything is
//! parsed: nesting depth and the number of items in any one array or object are bounded, and the
//! top-level `id` is picked out so that a refused message can still be answered with its id.
//!
//! A small message can otherwise cost far more memory than its size once parsed (a 30 MiB array of
//! 15 million zeros becomes gigabytes of `serde_json::Value`s), and deep nesting costs stack.

/// Bounds on the shape of one message.
#[derive(Debug, Clone, Copy)]
pub struct ShapeLimits {
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
    /// Most items in one array or members in one object.
    pub max_items: usize,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_items: 10_000,
        }
    }
}

/// The longest top-level `id` captured, in bytes (ids are numbers or short strings).
const MAX_ID_BYTES: usize = 128;

/// Scanner state for one line.
#[derive(Debug, Default)]
pub struct ShapeScanner {
    in_string: bool,
    escaped: bool,
    /// Item count per open container (only the innermost `max_depth` are tracked).
    items: Vec<usize>,
    depth: usize,
    /// Depth-1 object key being read (first bytes only) and whether it was `"id"`.
    key: Vec<u8>,
    reading_key: bool,
    expect_key: bool,
    after_id_key: bool,
    capturing_id: bool,
    id: Vec<u8>,
    violation: Option<String>,
}

impl ShapeScanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first limit the line broke, if any.
    pub fn violation(&self) -> Option<&str> {
        self.violation.as_deref()
    }

    /// The raw text of the top-level `id` value, when one was seen.
    pub fn id(&self) -> Option<serde_json::Value> {
        if self.id.is_empty() {
            return None;
        }
        serde_json::from_slice(self.id.trim_ascii()).ok()
    }

    /// Feed the next bytes of the line.
    pub fn feed(&mut self, bytes: &[u8], limits: ShapeLimits) {
        for &byte in bytes {
            self.step(byte, limits);
        }
    }

    fn step(&mut self, byte: u8, limits: ShapeLimits) {
        if self.capturing_id {
            let ends = !self.in_string && matches!(byte, b',' | b'}' | b']');
            if !ends {
                if self.id.len() < MAX_ID_BYTES {
                    self.id.push(byte);
                }
            } else {
                self.capturing_id = false;
            }
        }
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                if self.reading_key {
                    self.reading_key = false;
                    self.after_id_key = self.key == b"id";
                }
            } else if self.reading_key && self.key.len() < 3 {
                self.key.push(byte);
            }
            return;
        }
        match byte {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expect_key {
                    self.reading_key = true;
                    self.expect_key = false;
                    self.key.clear();
                }
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > limits.max_depth {
                    self.refuse(format!(
                        "it nests arrays and objects deeper than {} levels",
                        limits.max_depth
                    ));
                } else {
                    self.items.push(0);
                }
                if self.depth == 1 && byte == b'{' {
                    self.expect_key = true;
                }
            }
            b'}' | b']' => {
                if self.depth <= limits.max_depth {
                    self.items.pop();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            b',' => {
                if self.depth <= limits.max_depth
                    && let Some(count) = self.items.last_mut()
                {
                    *count += 1;
                    if *count >= limits.max_items {
                        let limit = limits.max_items;
                        self.refuse(format!(
                            "an array or object in it has more than {limit} items"
                        ));
                    }
                }
                if self.depth == 1 {
                    self.expect_key = true;
                    self.after_id_key = false;
                }
            }
            b':' if self.depth == 1 && self.after_id_key => {
                self.after_id_key = false;
                self.capturing_id = true;
                self.id.clear();
            }
            _ => {}
        }
    }

    fn refuse(&mut self, reason: String) {
        if self.violation.is_none() {
            self.violation = Some(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> ShapeScanner {
        let mut scanner = ShapeScanner::new();
        // Feed in odd-sized pieces: the scanner must not depend on chunk boundaries.
        for chunk in text.as_bytes().chunks(3) {
            scanner.feed(chunk, ShapeLimits::default());
        }
        scanner
    }

    #[test]
    fn finds_the_top_level_id_only() {
        let line = r#"{"jsonrpc":"2.0","params":{"id":99,"arguments":{"x":"\"id\":5"}},"id":7,"method":"m"}"#;
        assert_eq!(scan(line).id(), Some(serde_json::json!(7)));
        assert_eq!(
            scan(r#"{"id": "req-1" ,"method":"x"}"#).id(),
            Some(serde_json::json!("req-1"))
        );
        assert_eq!(scan(r#"{"method":"x"}"#).id(), None);
        assert!(
            scan(r#"{"id":1,"a":[1,2,{"b":[3]}]}"#)
                .violation()
                .is_none()
        );
    }

    #[test]
    fn finding_06_refuses_deep_nesting_and_huge_arrays() {
        let deep = format!(r#"{{"id":3,"a":{}{}}}"#, "[".repeat(100), "]".repeat(100));
        let scanner = scan(&deep);
        assert!(scanner.violation().unwrap().contains("deeper than 64"));
        assert_eq!(scanner.id(), Some(serde_json::json!(3)));

        let zeros = vec!["0"; 20_000].join(",");
        let wide = format!(
            r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"arguments":{{"a":[{zeros}]}}}},"id":"late"}}"#
        );
        let scanner = scan(&wide);
        assert!(
            scanner
                .violation()
                .unwrap()
                .contains("more than 10000 items")
        );
        assert_eq!(scanner.id(), Some(serde_json::json!("late")));
    }

    #[test]
    fn commas_and_brackets_inside_strings_do_not_count() {
        let text = format!(r#"{{"id":1,"s":"{}"}}"#, "[,".repeat(50_000));
        assert!(scan(&text).violation().is_none());
    }
}
