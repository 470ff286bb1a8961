//! `cat`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "cat",
    summary: "their read-only options",
    check: Check::Options(&CAT),
};

const CAT: Spec = Spec {
    flags: "AbeEnstTuv",
    long_flags: &[
        "show-all",
        "number-nonblank",
        "show-ends",
        "number",
        "squeeze-blank",
        "show-tabs",
        "show-nonprinting",
        "help",
        "version",
    ],
    ..Spec::new("cat")
};
