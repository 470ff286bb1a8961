//! `uname`: its read-only options, no operand.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "uname",
    summary: "their read-only options, no operands where they take none",
    check: Check::OptionsWithoutOperands(&UNAME),
};

const UNAME: Spec = Spec {
    flags: "asnrvmpio",
    long_flags: &[
        "all",
        "kernel-name",
        "nodename",
        "kernel-release",
        "kernel-version",
        "machine",
        "processor",
        "hardware-platform",
        "operating-system",
        "help",
        "version",
    ],
    literal_only: true,
    ..Spec::new("uname")
};
