//! `last`: its read-only options; `-d/--dns` (DNS) is refused.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "last",
    summary: "no -d/--dns",
    check: Check::Options(&LAST),
};

const LAST: Spec = Spec {
    flags: "aFiRwxV",
    valued: "fnstp",
    long_flags: &[
        "hostlast",
        "fulltimes",
        "ip",
        "nohostname",
        "fullnames",
        "system",
        "help",
        "version",
    ],
    long_valued: &["file", "limit", "since", "until", "present", "time-format"],
    refused: &[
        ("-d", "it resolves addresses through DNS"),
        ("--dns", "it resolves addresses through DNS"),
    ],
    literal_only: true,
    numeric: true,
    ..Spec::new("last")
};
