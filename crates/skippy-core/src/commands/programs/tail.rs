//! `tail`: its read-only options and the obsolete count (`tail -5 x`, `tail +5 x`); everything that
//! follows a file (`-f`, `-F`, `--follow`, `--pid`, `--retry`, `-s`) is refused: it never ends.

use super::{Check, Rule};
use crate::commands::options::{Spec, scan};
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "tail",
    summary: "no -f/-F/--follow, --pid, --retry, -s",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let args = obsolete_count(args)?;
    scan(&TAIL, args).map(|_| ())
}

const FOLLOW: &str = "it never ends (-f/-F/--follow); use `tail -n N`";

const TAIL: Spec = Spec {
    flags: "qvz",
    valued: "cn",
    long_flags: &[
        "quiet",
        "silent",
        "verbose",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["bytes", "lines"],
    numeric: true,
    refused: &[
        ("-f", FOLLOW),
        ("-F", FOLLOW),
        ("--follow", FOLLOW),
        ("--retry", FOLLOW),
        ("--pid", "it only matters with -f, which never ends"),
        ("-s", "it only matters with -f, which never ends"),
        (
            "--sleep-interval",
            "it only matters with -f, which never ends",
        ),
        (
            "--max-unchanged-stats",
            "it only matters with -f, which never ends",
        ),
    ],
    ..Spec::new("tail")
};

/// tail's obsolete first-argument count (`tail -5 x`, `tail +5 x`, `tail -5c x`): allowed
/// without `f` (follow). Returns the arguments left for the option scan.
fn obsolete_count(args: &[Argument]) -> Result<&[Argument], Denial> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(args);
    };
    let text = first.value.as_str();
    if !first.literal || text.starts_with("--") {
        return Ok(args);
    }
    let Some(body) = text.strip_prefix(['-', '+']) else {
        return Ok(args);
    };
    let suffix = body.trim_start_matches(|c: char| c.is_ascii_digit());
    let counted = suffix.len() < body.len() || text.starts_with('+');
    let obsolete = counted
        && suffix.len() <= 2
        && suffix
            .chars()
            .all(|c| matches!(c, 'b' | 'c' | 'l' | 'f' | 'F'));
    if !obsolete {
        return Ok(args);
    }
    if suffix.contains(['f', 'F']) {
        return Err(Denial::rule(format!(
            "`tail {}` is not allowed: -f/-F/--follow never ends; use `tail -n N`",
            shown(text)
        )));
    }
    Ok(rest)
}
