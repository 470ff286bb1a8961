//! `head`: its read-only options, and `-NUM` counts.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "head",
    summary: "their read-only options",
    check: Check::Options(&HEAD),
};

const HEAD: Spec = Spec {
    flags: "qvz",
    valued: "cn",
    long_flags: &[
        "quiet",
        "silent",
        "verbose",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["bytes", "lines"],
    numeric: true,
    ..Spec::new("head")
};
