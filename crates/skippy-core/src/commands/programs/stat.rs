//! `stat`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "stat",
    summary: "their read-only options",
    check: Check::Options(&STAT),
};

const STAT: Spec = Spec {
    flags: "Lft",
    valued: "c",
    long_flags: &["dereference", "file-system", "terse", "help", "version"],
    long_valued: &["format", "printf", "cached"],
    ..Spec::new("stat")
};
