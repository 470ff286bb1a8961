//! `id`: its read-only options.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "id",
    summary: "their read-only options, no operands where they take none",
    check: Check::Options(&ID),
};

const ID: Spec = Spec {
    flags: "aZgGnruz",
    long_flags: &[
        "context", "group", "groups", "name", "real", "user", "zero", "help", "version",
    ],
    literal_only: true,
    ..Spec::new("id")
};
