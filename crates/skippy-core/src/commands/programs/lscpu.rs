//! `lscpu`: its read-only options, no operand; `-s/--sysroot` is refused.

use super::{Check, Rule, SYSROOT};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "lscpu",
    summary: "no -s/--sysroot",
    check: Check::OptionsWithoutOperands(&LSCPU),
};

const LSCPU: Spec = Spec {
    flags: "abBcJxyhV",
    optional: "Cep",
    long_flags: &[
        "all",
        "online",
        "bytes",
        "offline",
        "json",
        "hex",
        "physical",
        "output-all",
        "help",
        "version",
    ],
    long_optional: &["caches", "extended", "parse"],
    refused: &[("-s", SYSROOT), ("--sysroot", SYSROOT)],
    literal_only: true,
    ..Spec::new("lscpu")
};
