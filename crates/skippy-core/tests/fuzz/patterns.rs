//! Fuzz target `patterns`: globs and regular expressions given by the model, through
//! `skippy_core::patterns` (the only place that compiles them).
//!
//! Inputs are built from the grammars' sharp edges: deep and unbalanced braces, many stars and
//! `**`, character classes (negated, unclosed, with `]` first), escapes, huge repetition counts
//! (`a{1000}{1000}`), nested groups, Unicode classes and case folding, and long repetitions of any
//! of them. Compiling (and a match against a sample path or line) must return, never panic,
//! within the per-input budget.

use std::time::Duration;

use proptest::prelude::*;
use skippy_core::patterns::{self, GlobOptions, RegexOptions};

use crate::harness;

const GLOB_FRAGMENTS: &[&str] = &[
    "*",
    "**",
    "**/",
    "/**",
    "?",
    "{",
    "}",
    ",",
    "{a,b}",
    "{,}",
    "{}",
    "[",
    "]",
    "[!",
    "[^",
    "[]",
    "[!]",
    "[a-z]",
    "[z-a]",
    "[-]",
    "[\\]]",
    "\\",
    "\\*",
    "\\{",
    "\\[",
    "a",
    "b",
    ".",
    "/",
    "//",
    "-",
    "é",
    "\u{10FFFF}",
    "\0",
    "..",
    "~",
];

const REGEX_FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "(?:",
    "(?i)",
    "(?-u)",
    "(?s)",
    "(?P<n>",
    "|",
    "*",
    "+",
    "?",
    "*?",
    "{1000}",
    "{1000}{1000}",
    "{0,1000}",
    "{1000,}",
    "{4294967295}",
    "{",
    "}",
    ",",
    "[",
    "]",
    "[^",
    "[[:alpha:]]",
    "[a-z&&b]",
    "[a--b]",
    "\\w",
    "\\W",
    "\\d",
    "\\s",
    "\\b",
    "\\B",
    "\\p{L}",
    "\\P{Greek}",
    "\\x{10FFFF}",
    "\\",
    "\\1",
    ".",
    "^",
    "$",
    "a",
    "é",
    "\\n",
    "\\x00",
    "\\Q",
    "\0",
];

fn fragments(set: &'static [&'static str]) -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        8 => prop::sample::select(set).prop_map(str::to_string),
        2 => "[a-z0-9]{1,6}",
        1 => any::<char>().prop_map(|c| c.to_string()),
        // Long repetitions: nesting, star and length limits.
        1 => (prop::sample::select(set), 1usize..3000)
            .prop_map(|(fragment, count)| fragment.repeat(count)),
    ];
    prop::collection::vec(fragment, 0..24).prop_map(|parts| parts.concat())
}

/// `n` levels of braces around `inner`, sometimes with alternatives at every level.
fn deep_braces() -> impl Strategy<Value = String> {
    (1usize..400, any::<bool>(), fragments(GLOB_FRAGMENTS)).prop_map(|(depth, comma, inner)| {
        let open = if comma { "{x," } else { "{" };
        format!("{}{inner}{}", open.repeat(depth), "}".repeat(depth))
    })
}

#[test]
#[ignore = "fuzz target: run with --ignored (see main.rs)"]
fn patterns() {
    let input = prop_oneof![
        3 => fragments(GLOB_FRAGMENTS).prop_map(|text| (true, text)),
        1 => deep_braces().prop_map(|text| (true, text)),
        3 => fragments(REGEX_FRAGMENTS).prop_map(|text| (false, text)),
    ];
    let options = (any::<bool>(), any::<bool>(), any::<bool>());
    harness::fuzz(
        "patterns",
        (input, options),
        Duration::from_secs(2),
        |((is_glob, text), (first, second, grep))| {
            if *is_glob {
                let options = GlobOptions {
                    literal_separator: *first,
                    case_insensitive: *second,
                };
                if let Ok(matcher) = patterns::glob("name_glob", text, options) {
                    matcher.is_match("src/a/b.rs");
                    matcher.is_match(text.as_str());
                }
            } else {
                let options = RegexOptions {
                    case_insensitive: *first,
                    literal: *second,
                };
                // One compiler per input: a pattern at the size limit takes ~0.5 s to refuse in
                // an unoptimized build (~50 ms optimized), and the budget is per input.
                if *grep {
                    let _ = patterns::grep_matcher("pattern", text, options);
                } else if let Ok(regex) = patterns::regex("filter", text, options) {
                    regex.is_match(b"2026-11-21T10:00:00Z ERROR disk full\n");
                }
            }
        },
    );
}
