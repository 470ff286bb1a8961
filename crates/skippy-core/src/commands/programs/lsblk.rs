//! `lsblk`: its read-only options; `--sysroot` is refused.

use super::{Check, Rule, SYSROOT};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "lsblk",
    summary: "no --sysroot",
    check: Check::Options(&LSBLK),
};

const LSBLK: Spec = Spec {
    flags: "ADJMOPSabdfilmnprstyzhV",
    valued: "EIeowx",
    optional: "T",
    long_flags: &[
        "noempty",
        "discard",
        "json",
        "merge",
        "output-all",
        "pairs",
        "scsi",
        "all",
        "bytes",
        "nodeps",
        "fs",
        "ascii",
        "list",
        "perms",
        "noheadings",
        "paths",
        "raw",
        "inverse",
        "topology",
        "shell",
        "zoned",
        "help",
        "version",
    ],
    long_valued: &["dedup", "include", "exclude", "output", "width", "sort"],
    long_optional: &["tree"],
    refused: &[("--sysroot", SYSROOT)],
    literal_only: true,
    ..Spec::new("lsblk")
};
