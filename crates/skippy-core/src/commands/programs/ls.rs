//! `ls`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "ls",
    summary: "their read-only options",
    check: Check::Options(&LS),
};

const LS: Spec = Spec {
    flags: "aAbBcCdDfFgGhHiklLmnNopqQrRsStuUvxXZ1",
    valued: "ITw",
    long_flags: &[
        "all",
        "almost-all",
        "author",
        "escape",
        "ignore-backups",
        "directory",
        "dired",
        "file-type",
        "full-time",
        "group-directories-first",
        "no-group",
        "human-readable",
        "si",
        "dereference-command-line",
        "dereference-command-line-symlink-to-dir",
        "inode",
        "kibibytes",
        "dereference",
        "numeric-uid-gid",
        "literal",
        "hide-control-chars",
        "show-control-chars",
        "quote-name",
        "reverse",
        "recursive",
        "size",
        "context",
        "zero",
        "help",
        "version",
    ],
    long_valued: &[
        "block-size",
        "format",
        "hide",
        "indicator-style",
        "ignore",
        "quoting-style",
        "sort",
        "time",
        "time-style",
        "tabsize",
        "width",
    ],
    long_optional: &["color", "classify", "hyperlink"],
    ..Spec::new("ls")
};
