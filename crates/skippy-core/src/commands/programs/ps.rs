//! `ps`: its selection and format options, never the letter `e` where ps could read it as its BSD
//! option that prints every process's environment (see [`check`]).

use super::{Check, Rule};
use crate::commands::options::literals;
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "ps",
    summary: "no `e` in options or selection lists (it prints environments); use -A for all processes",
    check: Check::Custom(check),
};

/// ps letters that take a value (UNIX `-o fmt` or BSD `o fmt`) whose value is a format or sort
/// list, which ps reads the same way in both syntaxes.
const PS_FORMAT_LETTERS: &str = "oOk";
/// Other ps letters that take a value (a list of pids, users, groups, ttys, commands, sessions).
const PS_LIST_LETTERS: &str = "pqtuUgGCs";
/// GNU long options of ps without a value, and with one.
const PS_LONG_FLAGS: &[&str] = &[
    "deselect",
    "forest",
    "headers",
    "no-headers",
    "context",
    "cumulative",
    "version",
    "help",
];
const PS_LONG_VALUED: &[&str] = &[
    "Group",
    "group",
    "pid",
    "ppid",
    "quick-pid",
    "sid",
    "tty",
    "user",
    "User",
    "format",
    "sort",
    "cols",
    "columns",
    "width",
    "rows",
    "lines",
];

/// ps mixes UNIX (`-ef`), BSD (`aux`) and GNU (`--sort`) syntax, and when the UNIX reading of the
/// arguments fails for any reason it reads them all again as BSD options, where `e` (even the
/// `e` of `-ef`, or of a value such as `-C sleep`) prints every process's environment. So the
/// letter `e` is refused in every argument except format and sort lists and GNU option values;
/// `-A` selects all processes like `-e`.
fn check(args: &[Argument]) -> Result<(), Denial> {
    let args = literals("ps", args)?;
    let environment = |arg: &str| {
        Denial::rule(format!(
            "`ps {}` is not allowed: ps can read the letter `e` as its BSD option that prints \
             every process's environment (it re-reads all options BSD-style after any error). \
             Use `-A` for all processes (`ps -Af`, `ps -Ao pid,args`), and filter by name with \
             `ps -A | grep NAME`",
            shown(arg)
        ))
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if PS_LONG_VALUED.contains(&name) {
                if attached.is_none() {
                    rest.next();
                }
            } else if !PS_LONG_FLAGS.contains(&name) || attached.is_some() {
                return Err(Denial::rule(format!(
                    "`ps --{name}` is not allowed: it is not one of the options Skippy knows to be \
                     read-only and local. Allowed long options: --{} (with a value: --{})",
                    PS_LONG_FLAGS.join(" --"),
                    PS_LONG_VALUED.join(" --")
                )));
            }
            continue;
        }
        let letters = arg.strip_prefix('-').unwrap_or(arg);
        if letters.bytes().all(|b| b.is_ascii_digit() || b == b',') {
            // Process ids (`ps 1`, `ps -1` is a process group).
            continue;
        }
        for (position, letter) in letters.char_indices() {
            if letter == 'e' {
                return Err(environment(arg));
            }
            let takes_value =
                PS_FORMAT_LETTERS.contains(letter) || PS_LIST_LETTERS.contains(letter);
            if !takes_value {
                continue;
            }
            let attached = &letters[position + 1..];
            let value = if attached.is_empty() {
                rest.next().copied().unwrap_or_default()
            } else {
                attached
            };
            if PS_LIST_LETTERS.contains(letter) && value.contains('e') {
                return Err(environment(value));
            }
            break;
        }
    }
    Ok(())
}
