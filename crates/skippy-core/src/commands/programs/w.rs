//! `w`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "w",
    summary: "their read-only options, no operands where they take none",
    check: Check::Options(&W),
};

const W: Spec = Spec {
    flags: "husfoipV",
    long_flags: &[
        "no-header",
        "no-current",
        "short",
        "from",
        "old-style",
        "ip-addr",
        "pids",
        "help",
        "version",
    ],
    literal_only: true,
    ..Spec::new("w")
};
