//! `uniq`: its read-only options and at most one file operand (with two, it writes the second).

use super::{Check, Rule};
use crate::commands::Denial;
use crate::commands::options::{Spec, operands, scan};
use crate::commands::parse::Argument;

pub(super) const RULE: Rule = Rule {
    program: "uniq",
    summary: "at most one file operand (a second one is written)",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let items = scan(&UNIQ, args)?;
    if operands(&items).len() > 1 {
        return Err(Denial::rule(
            "`uniq` with two operands writes the second one; pass at most one file (and option \
             values attached, e.g. `-f2`)",
        ));
    }
    Ok(())
}

const UNIQ: Spec = Spec {
    flags: "cdDiuz",
    valued: "fsw",
    long_flags: &[
        "count",
        "repeated",
        "ignore-case",
        "unique",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["skip-fields", "skip-chars", "check-chars"],
    long_optional: &["all-repeated", "group"],
    literal_only: true,
    ..Spec::new("uniq")
};
