//! `nproc`: its read-only options, no operand.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "nproc",
    summary: "their read-only options, no operands where they take none",
    check: Check::OptionsWithoutOperands(&NPROC),
};

const NPROC: Spec = Spec {
    long_flags: &["all", "help", "version"],
    long_valued: &["ignore"],
    literal_only: true,
    ..Spec::new("nproc")
};
