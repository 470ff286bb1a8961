//! `systemctl`: its read-only options, then only a read-only subcommand. Refused: `-H/--host`
//! and `-M/--machine` (another host or container), `--root` and `--image`. Every argument must be a
//! literal, since the subcommand is read from the arguments.

use super::{Check, REMOTE, Rule};
use crate::commands::options::{Spec, operands, scan};
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "systemctl",
    summary: "subcommands status, show, list-units, list-unit-files, list-timers, list-sockets, list-dependencies, is-active, is-enabled, is-failed, is-system-running, cat; no -H/--host, -M/--machine, --root, --image",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let items = scan(&SYSTEMCTL, args)?;
    // No subcommand: systemctl lists units.
    let Some(verb) = operands(&items).first().map(|verb| verb.value.as_str()) else {
        return Ok(());
    };
    if SYSTEMCTL_VERBS.contains(&verb) {
        return Ok(());
    }
    Err(Denial::rule(format!(
        "`systemctl {}` is not allowed: only the read-only subcommands {}",
        shown(verb),
        SYSTEMCTL_VERBS.join(", ")
    )))
}

const SYSTEMCTL: Spec = Spec {
    flags: "halqr",
    valued: "tpnoP",
    long_flags: &[
        "help",
        "version",
        "system",
        "user",
        "failed",
        "all",
        "full",
        "recursive",
        "reverse",
        "with-dependencies",
        "show-types",
        "value",
        "quiet",
        "no-pager",
        "no-legend",
        "plain",
    ],
    long_valued: &[
        "type",
        "state",
        "property",
        "lines",
        "output",
        "legend",
        "timestamp",
    ],
    refused: &[
        ("-H", REMOTE),
        ("--host", REMOTE),
        ("-M", REMOTE),
        ("--machine", REMOTE),
        ("--root", "it operates on another root directory"),
        ("--image", "it operates on a disk image"),
    ],
    literal_only: true,
    ..Spec::new("systemctl")
};

const SYSTEMCTL_VERBS: &[&str] = &[
    "status",
    "show",
    "list-units",
    "list-unit-files",
    "list-timers",
    "list-sockets",
    "list-dependencies",
    "is-active",
    "is-enabled",
    "is-failed",
    "is-system-running",
    "cat",
];
