//! `whoami`: `--help` and `--version` only, no operand.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "whoami",
    summary: "their read-only options, no operands where they take none",
    check: Check::OptionsWithoutOperands(&WHOAMI),
};

const WHOAMI: Spec = Spec {
    long_flags: &["help", "version"],
    literal_only: true,
    ..Spec::new("whoami")
};
