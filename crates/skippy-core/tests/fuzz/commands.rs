//! Fuzz target `commands`: the shell-command allowlist (`CommandPolicy::check`).
//!
//! Inputs are shell-ish strings built from the grammar's sharp edges: quotes, `$(`, backticks,
//! `${`, `<<`, braces, parentheses, operators, newlines, option-like words, /proc paths and long
//! repetitions. The check must return (never panic) within the per-input budget, and a command it
//! accepts must name only allowlisted programs.

use std::time::Duration;

use proptest::prelude::*;
use skippy_core::commands::{CommandPolicy, DEFAULT_PROGRAMS};

use crate::harness;

/// Fragments that each exercise a construct the policy must judge.
const FRAGMENTS: &[&str] = &[
    " ",
    "  ",
    "\t",
    "\n",
    ";",
    "|",
    "|&",
    "&",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "{",
    "}",
    "{ ",
    " }",
    "$(",
    "`",
    "${",
    "}",
    "$((",
    "))",
    "$[",
    "$'",
    "$\"",
    "\"",
    "'",
    "\\",
    "<",
    ">",
    ">&",
    "2>&1",
    "<<",
    "<<<",
    "<<-",
    ">/dev/null",
    "&>",
    "<(",
    ">(",
    "#",
    "=",
    "*",
    "?",
    "[",
    "]",
    "~",
    ",",
    "$X",
    "$_",
    "$PPID",
    "$IFS",
    "${X}",
    "${X:-y}",
    "${!X}",
    "${X[0]}",
    "--",
    "-",
    "-H",
    "--host",
    "--host=x",
    "--ho=x",
    "-tlnp",
    "-f",
    "-e",
    "-exec",
    "-delete",
    "+5f",
    "/proc/",
    "/proc/1/",
    "environ",
    "mem",
    "/dev/fd/../",
    "..",
    "/",
    "if ",
    "then ",
    "fi",
    "for ",
    "do ",
    "done",
    "case ",
    "esac",
    "while ",
    "[[ ",
    " ]]",
    "((",
    "function ",
    "coproc ",
    "time ",
    "sudo",
    "env",
    "sh -c",
    "x=1 ",
    "é",
    "\u{202e}",
];

/// Program names: allowlisted, never-allowed and unknown.
const PROGRAMS: &[&str] = &[
    "ls",
    "cat",
    "grep",
    "systemctl",
    "docker",
    "journalctl",
    "find",
    "ps",
    "ip",
    "ss",
    "tail",
    "date",
    "sort",
    "uniq",
    "echo",
    "/usr/bin/ls",
    "sudo",
    "bash",
    "xargs",
    "rm",
    "curl",
    "l\\s",
    "\"ls\"",
    "'cat'",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(FRAGMENTS).prop_map(str::to_string),
        3 => prop::sample::select(PROGRAMS).prop_map(str::to_string),
        2 => "[a-z0-9/._=-]{1,12}",
        1 => any::<char>().prop_map(|c| c.to_string()),
        // Long repetitions of one fragment (nesting, here-document and allocation limits).
        1 => (prop::sample::select(FRAGMENTS), 1usize..3000)
            .prop_map(|(fragment, count)| fragment.repeat(count)),
    ]
}

/// A command: a program, then fragments.
fn command() -> impl Strategy<Value = String> {
    (
        prop::sample::select(PROGRAMS),
        prop::collection::vec(fragment(), 0..24),
    )
        .prop_map(|(program, fragments)| format!("{program} {}", fragments.concat()))
}

/// A command made only of fragments, without a program in front.
fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|fragments| fragments.concat())
}

#[test]
#[ignore = "fuzz target: run with --ignored (see main.rs)"]
fn commands() {
    let policy = CommandPolicy::default_inspection();
    harness::fuzz(
        "commands",
        prop_oneof![command(), soup()],
        Duration::from_secs(2),
        |input: &String| {
            if let Ok(checked) = policy.check(input) {
                assert!(!checked.programs.is_empty(), "{input:?}");
                for program in &checked.programs {
                    assert!(
                        DEFAULT_PROGRAMS.contains(&program.as_str()),
                        "{input:?} was accepted with `{program}`, which is not allowlisted"
                    );
                }
            }
        },
    );
}
