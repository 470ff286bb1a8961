//! `wc`: its read-only options; `--files0-from` is refused (it names the files to open out of
//! sight of the /proc check).

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "wc",
    summary: "no --files0-from",
    check: Check::Options(&WC),
};

const WC: Spec = Spec {
    flags: "cmlLw",
    long_flags: &[
        "bytes",
        "chars",
        "lines",
        "max-line-length",
        "words",
        "help",
        "version",
    ],
    long_valued: &["total"],
    refused: &[(
        "--files0-from",
        "it reads the names of the files to open from a file Skippy cannot check",
    )],
    ..Spec::new("wc")
};
