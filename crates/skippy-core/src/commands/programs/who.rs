//! `who`: its read-only options; `--lookup` (DNS) is refused.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "who",
    summary: "no --lookup",
    check: Check::Options(&WHO),
};

const WHO: Spec = Spec {
    flags: "abdHlmpqrstTwu",
    long_flags: &[
        "all", "boot", "dead", "heading", "ips", "login", "process", "count", "runlevel", "short",
        "time", "mesg", "users", "message", "writable", "help", "version",
    ],
    refused: &[("--lookup", "it resolves host names through DNS")],
    literal_only: true,
    ..Spec::new("who")
};
