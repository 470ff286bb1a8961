//! `free`: its read-only options, no operand; `-s`/`-c` (repeat until killed) are refused.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "free",
    summary: "no -s/--seconds, -c/--count (repeat)",
    check: Check::OptionsWithoutOperands(&FREE),
};

const FREE: Spec = Spec {
    flags: "bkmghltvwV",
    long_flags: &[
        "bytes",
        "kilo",
        "mega",
        "giga",
        "tera",
        "peta",
        "kibi",
        "mebi",
        "gibi",
        "tebi",
        "pebi",
        "human",
        "si",
        "lohi",
        "total",
        "committed",
        "wide",
        "help",
        "version",
    ],
    refused: &[
        ("-s", "it repeats until killed"),
        ("--seconds", "it repeats until killed"),
        ("-c", "it repeats; run `free` once"),
        ("--count", "it repeats; run `free` once"),
    ],
    literal_only: true,
    ..Spec::new("free")
};
