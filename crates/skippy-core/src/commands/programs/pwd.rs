//! `pwd`: its read-only options, no operand.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "pwd",
    summary: "their read-only options, no operands where they take none",
    check: Check::OptionsWithoutOperands(&PWD),
};

const PWD: Spec = Spec {
    flags: "LP",
    long_flags: &["logical", "physical", "help", "version"],
    literal_only: true,
    ..Spec::new("pwd")
};
