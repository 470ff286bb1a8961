//! `date`: its read-only options and a `+FORMAT` operand; it may not set the clock (`-s/--set`,
//! a date operand) or read dates from a file (`-f/--file`).

use super::{Check, Rule};
use crate::commands::Denial;
use crate::commands::options::{Spec, operands, scan};
use crate::commands::parse::Argument;

pub(super) const RULE: Rule = Rule {
    program: "date",
    summary: "no -s/--set, -f/--file and no date operand (only +FORMAT)",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let items = scan(&DATE, args)?;
    if operands(&items)
        .iter()
        .any(|operand| !operand.value.starts_with('+'))
    {
        return Err(Denial::rule(CLOCK));
    }
    Ok(())
}

const CLOCK: &str = "`date` may not set the clock: no -s/--set and no date operand (only +FORMAT)";

const DATE: Spec = Spec {
    flags: "uR",
    valued: "dr",
    optional: "I",
    long_flags: &[
        "utc",
        "universal",
        "rfc-email",
        "debug",
        "resolution",
        "help",
        "version",
    ],
    long_valued: &["date", "reference", "rfc-3339"],
    long_optional: &["iso-8601"],
    refused: &[
        ("-s", CLOCK),
        ("--set", CLOCK),
        (
            "-f",
            "it reads dates from a file and prints the lines it cannot parse",
        ),
        (
            "--file",
            "it reads dates from a file and prints the lines it cannot parse",
        ),
    ],
    literal_only: true,
    ..Spec::new("date")
};
