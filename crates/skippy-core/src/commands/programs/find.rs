//! `find`: leading `-H/-L/-P/-O<level>`, starting points, then an expression of known tests,
//! options and read-only actions. Refused: everything that runs a command, deletes or writes a
//! file (`-exec`, `-execdir`, `-ok`, `-okdir`, `-delete`, `-fprint*`, `-fls`) and
//! `-files0-from`.

use super::{Check, Rule};
use crate::commands::options::{check_expansion, not_literal};
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "find",
    summary: "known tests, options and -print/-print0/-printf/-ls/-prune/-quit; no -exec, -execdir, -ok, -okdir, -delete, -fprint, -fprint0, -fprintf, -fls, -files0-from",
    check: Check::Custom(check),
};

/// find: leading `-H`/`-L`/`-P`/`-O<level>`, then starting points, then an expression of known
/// tests, options and read-only actions.
fn check(args: &[Argument]) -> Result<(), Denial> {
    let mut index = 0;
    while let Some(argument) = args.get(index) {
        let leading_option = argument.literal
            && (matches!(argument.value.as_str(), "-H" | "-L" | "-P")
                || argument
                    .value
                    .strip_prefix("-O")
                    .is_some_and(|level| level.bytes().all(|b| b.is_ascii_digit())));
        if !leading_option {
            break;
        }
        index += 1;
    }
    // Starting points: anything before the first word that starts an expression.
    while let Some(argument) = args.get(index) {
        if argument.literal && starts_expression(&argument.value) {
            break;
        }
        check_expansion("find", argument)?;
        if !argument.literal && argument.value.starts_with(['(', '!', ',', ')']) {
            return Err(not_literal("find", argument));
        }
        index += 1;
    }
    while let Some(argument) = args.get(index) {
        index += 1;
        if !argument.literal {
            return Err(not_literal("find", argument));
        }
        let token = argument.value.as_str();
        if FIND_FORBIDDEN.contains(&token) {
            return Err(Denial::rule(format!(
                "`find {token}` is not allowed: it runs commands, deletes or writes files. \
                 Forbidden: {}",
                FIND_FORBIDDEN.join(", ")
            )));
        }
        match find_primary(token) {
            Some(Primary::Bare) => {}
            Some(Primary::Valued) => {
                // The value is whatever comes next, even `-4000` or `-exec`.
                if let Some(value) = args.get(index) {
                    check_expansion("find", value)?;
                    index += 1;
                }
            }
            None => {
                return Err(Denial::rule(format!(
                    "`find {}` is not allowed: it is not one of the tests, options and read-only \
                     actions Skippy knows. Allowed: {} {} -newerXY",
                    shown(token),
                    FIND_BARE.join(" "),
                    FIND_VALUED.join(" ")
                )));
            }
        }
    }
    Ok(())
}

fn starts_expression(word: &str) -> bool {
    (word.starts_with('-') && word.len() > 1) || matches!(word, "(" | ")" | "!" | ",")
}

/// find's expression: what each primary is, by name.
#[derive(Clone, Copy, PartialEq)]
enum Primary {
    /// No argument.
    Bare,
    /// Takes the next argument.
    Valued,
}

const FIND_BARE: &[&str] = &[
    "(",
    ")",
    "!",
    ",",
    "-not",
    "-a",
    "-and",
    "-o",
    "-or",
    "-depth",
    "-d",
    "-mount",
    "-xdev",
    "-noleaf",
    "-daystart",
    "-follow",
    "-nowarn",
    "-warn",
    "-ignore_readdir_race",
    "-noignore_readdir_race",
    "-help",
    "-version",
    "-empty",
    "-executable",
    "-false",
    "-nogroup",
    "-nouser",
    "-readable",
    "-true",
    "-writable",
    "-print",
    "-print0",
    "-ls",
    "-prune",
    "-quit",
];

const FIND_VALUED: &[&str] = &[
    "-maxdepth",
    "-mindepth",
    "-regextype",
    "-amin",
    "-anewer",
    "-atime",
    "-cmin",
    "-cnewer",
    "-ctime",
    "-fstype",
    "-gid",
    "-group",
    "-ilname",
    "-iname",
    "-inum",
    "-ipath",
    "-iregex",
    "-iwholename",
    "-links",
    "-lname",
    "-mmin",
    "-mtime",
    "-name",
    "-newer",
    "-path",
    "-perm",
    "-regex",
    "-samefile",
    "-size",
    "-type",
    "-uid",
    "-used",
    "-user",
    "-wholename",
    "-xtype",
    "-context",
    "-printf",
];

const FIND_FORBIDDEN: &[&str] = &[
    "-exec",
    "-execdir",
    "-ok",
    "-okdir",
    "-delete",
    "-fprint",
    "-fprint0",
    "-fprintf",
    "-fls",
    "-files0-from",
];

fn find_primary(token: &str) -> Option<Primary> {
    if FIND_BARE.contains(&token) {
        return Some(Primary::Bare);
    }
    if FIND_VALUED.contains(&token) {
        return Some(Primary::Valued);
    }
    // `-newerXY` compares timestamps: X and Y from a, B, c, m, t.
    let newer = token
        .strip_prefix("-newer")
        .filter(|xy| xy.len() == 2 && xy.chars().all(|c| matches!(c, 'a' | 'B' | 'c' | 'm' | 't')));
    newer.map(|_| Primary::Valued)
}
