//! `uptime`: its read-only options, no operand.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "uptime",
    summary: "their read-only options, no operands where they take none",
    check: Check::OptionsWithoutOperands(&UPTIME),
};

const UPTIME: Spec = Spec {
    flags: "psV",
    long_flags: &["pretty", "since", "help", "version"],
    ..Spec::new("uptime")
};
