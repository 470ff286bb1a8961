//! `cut`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "cut",
    summary: "their read-only options",
    check: Check::Options(&CUT),
};

const CUT: Spec = Spec {
    flags: "nsz",
    valued: "bcdf",
    long_flags: &[
        "complement",
        "only-delimited",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &[
        "bytes",
        "characters",
        "delimiter",
        "fields",
        "output-delimiter",
    ],
    ..Spec::new("cut")
};
