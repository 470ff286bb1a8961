//! `echo` only prints; it has no option that reads, writes or runs anything, so it takes any
//! arguments (the /proc check still applies to them).

use super::{Check, Rule};

pub(super) const RULE: Rule = Rule {
    program: "echo",
    summary: "any arguments (it only prints)",
    check: Check::Anything,
};
