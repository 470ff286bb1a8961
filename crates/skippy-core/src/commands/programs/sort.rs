//! `sort`: its read-only options. Refused: `-o/--output` (writes a file), `-T` (writes temporary
//! files), `--compress-program` (runs a program), `--files0-from` and `--random-source` (read files
//! Skippy cannot check).

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "sort",
    summary: "no -o/--output, -T, --compress-program, --files0-from, --random-source",
    check: Check::Options(&SORT),
};

const SORT: Spec = Spec {
    flags: "bdfgiMhnRrVcCmsuz",
    valued: "ktS",
    long_flags: &[
        "ignore-leading-blanks",
        "dictionary-order",
        "ignore-case",
        "general-numeric-sort",
        "ignore-nonprinting",
        "month-sort",
        "human-numeric-sort",
        "numeric-sort",
        "random-sort",
        "reverse",
        "version-sort",
        "debug",
        "merge",
        "stable",
        "unique",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &[
        "sort",
        "batch-size",
        "key",
        "field-separator",
        "buffer-size",
        "parallel",
    ],
    long_optional: &["check"],
    refused: &[
        ("-o", "-o/--output writes a file"),
        ("--output", "-o/--output writes a file"),
        ("--compress-program", "it runs a program"),
        ("-T", "it writes temporary files into a directory"),
        (
            "--temporary-directory",
            "it writes temporary files into a directory",
        ),
        (
            "--files0-from",
            "it reads the names of the files to sort from a file Skippy cannot check",
        ),
        ("--random-source", "it reads a file Skippy cannot check"),
    ],
    ..Spec::new("sort")
};
