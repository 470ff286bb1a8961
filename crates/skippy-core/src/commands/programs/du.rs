//! `du`: its read-only options; `--files0-from` and `-X/--exclude-from` (they read file lists
//! Skippy cannot check) are refused.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "du",
    summary: "no --files0-from, -X/--exclude-from",
    check: Check::Options(&DU),
};

const DU: Spec = Spec {
    flags: "0abcDHhkLlmPSsx",
    valued: "Bdt",
    long_flags: &[
        "null",
        "all",
        "apparent-size",
        "bytes",
        "total",
        "dereference-args",
        "human-readable",
        "inodes",
        "dereference",
        "count-links",
        "no-dereference",
        "separate-dirs",
        "si",
        "summarize",
        "one-file-system",
        "help",
        "version",
    ],
    long_valued: &[
        "block-size",
        "max-depth",
        "threshold",
        "time-style",
        "exclude",
    ],
    long_optional: &["time"],
    refused: &[
        (
            "--files0-from",
            "it reads the names of the files to measure from a file Skippy cannot check",
        ),
        ("-X", "it reads patterns from a file; use --exclude=PATTERN"),
        (
            "--exclude-from",
            "it reads patterns from a file; use --exclude=PATTERN",
        ),
    ],
    ..Spec::new("du")
};
