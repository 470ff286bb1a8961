//! `df`: its read-only options; `--sync` is refused (it calls sync(2), which writes).

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "df",
    summary: "no --sync",
    check: Check::Options(&DF),
};

const DF: Spec = Spec {
    flags: "ahHiklPTv",
    valued: "Btx",
    long_flags: &[
        "all",
        "human-readable",
        "si",
        "inodes",
        "local",
        "no-sync",
        "portability",
        "total",
        "print-type",
        "help",
        "version",
    ],
    long_valued: &["block-size", "type", "exclude-type"],
    long_optional: &["output"],
    refused: &[("--sync", "it calls sync(2), which writes")],
    ..Spec::new("df")
};
