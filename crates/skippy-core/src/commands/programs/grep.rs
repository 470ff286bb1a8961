//! `grep`: its read-only options; patterns only from arguments (`-f/--file` and `--exclude-from`
//! read files), no `-R` (it follows every symbolic link), and a recursive search (`-r`,
//! `-d recurse`) only over absolute directories outside `/`, `/proc` and `/dev`.

use super::{Check, Rule};
use crate::commands::options::{Item, Spec, operands, scan};
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "grep",
    summary: "no -f/--file, --exclude-from, -R; -r only over absolute directories other than / and /proc",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let items = scan(&GREP, args)?;
    recursion_stays_out_of_proc(&items)
}

const GREP_RECURSION: &str = "recursive search reads every file below the operands; give \
                              absolute directories outside /proc, e.g. `grep -r x /var/log`";

const GREP: Spec = Spec {
    flags: "EFGPiywxzsvVbnHhoqaIrLlcTZU",
    valued: "emABCdD",
    long_flags: &[
        "extended-regexp",
        "fixed-strings",
        "basic-regexp",
        "perl-regexp",
        "ignore-case",
        "no-ignore-case",
        "word-regexp",
        "line-regexp",
        "null-data",
        "no-messages",
        "invert-match",
        "version",
        "help",
        "byte-offset",
        "line-number",
        "line-buffered",
        "with-filename",
        "no-filename",
        "only-matching",
        "quiet",
        "silent",
        "text",
        "recursive",
        "files-without-match",
        "files-with-matches",
        "count",
        "initial-tab",
        "null",
        "no-group-separator",
        "binary",
    ],
    long_valued: &[
        "regexp",
        "max-count",
        "label",
        "binary-files",
        "directories",
        "devices",
        "include",
        "exclude",
        "exclude-dir",
        "before-context",
        "after-context",
        "context",
        "group-separator",
    ],
    long_optional: &["color", "colour"],
    refused: &[
        (
            "-f",
            "it reads patterns from a file; pass patterns with -e instead",
        ),
        (
            "--file",
            "it reads patterns from a file; pass patterns with -e instead",
        ),
        (
            "--exclude-from",
            "it reads patterns from a file; use --exclude=GLOB",
        ),
        (
            "-R",
            "it follows every symbolic link, which can lead into /proc; use -r",
        ),
        (
            "--dereference-recursive",
            "it follows every symbolic link, which can lead into /proc; use -r",
        ),
    ],
    numeric: true,
    ..Spec::new("grep")
};

/// Recursive grep reads every file below its operands: refuse operands that are `/`, under
/// `/proc` or `/dev`, hold `..`, are relative (the working directory could be `/`) or are not
/// literal.
fn recursion_stays_out_of_proc(items: &[Item]) -> Result<(), Denial> {
    let recursive = items.iter().any(|item| {
        item.is(&["-r", "--recursive"])
            || item
                .value_of(&["-d", "--directories"])
                .flatten()
                .is_some_and(|value| !value.literal || "recurse".starts_with(value.text))
    });
    if !recursive {
        return Ok(());
    }
    let has_pattern = items.iter().any(|item| item.is(&["-e", "--regexp"]));
    let operands = operands(items);
    let directories = if has_pattern {
        &operands[..]
    } else {
        operands.get(1..).unwrap_or_default()
    };
    if directories.is_empty() {
        return Err(Denial::rule(format!(
            "`grep -r` without a directory searches the working directory: {GREP_RECURSION}"
        )));
    }
    for directory in directories {
        let normalized = normalize(&directory.value);
        // `..` after a symlink (`/dev/fd/..` is `/proc/self`) defeats lexical normalisation.
        let refused = !directory.literal
            || !directory.value.starts_with('/')
            || directory
                .value
                .split('/')
                .any(|component| component == "..")
            || normalized == "/dev"
            || normalized.starts_with("/dev/")
            || normalized == "/"
            || normalized == "/proc"
            || normalized.starts_with("/proc/");
        if refused {
            return Err(Denial::rule(format!(
                "`grep -r` over `{}` is not allowed: {GREP_RECURSION}",
                shown(&directory.raw)
            )));
        }
    }
    Ok(())
}

/// Lexical normalisation of an absolute path (`//proc/./x/..` is `/proc`).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}
