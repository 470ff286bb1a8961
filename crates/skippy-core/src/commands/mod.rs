//! The command allowlist policy for `run_remote_command`.
//!
//! A model sends one shell command string; the remote host's login shell will run it over SSH. In
//! `allowlist` mode Skippy decides, before anything runs, whether the string is allowed. The
//! decision is made on a real parse of the string (POSIX/bash syntax, with the `brush-parser`
//! crate), never on substring matching, and it fails closed: every syntax node and word piece that
//! this module does not explicitly accept is refused.
//!
//! # API
//!
//! - [`CommandPolicy::default_inspection`]: the default allowlist of read-only inspection programs
//!   ([`DEFAULT_PROGRAMS`]).
//! - [`CommandPolicy::with_programs`]: an operator-configured list of program names (names only,
//!   no slashes). A name that is never allowed (privilege tools, exec wrappers, interpreters) is an
//!   `invalid_argument` error, so a bad configuration fails at startup.
//! - [`CommandPolicy::check`]: `Ok(CheckedCommand)` with the program of every simple command in
//!   order, or `Err(ToolError::PolicyDenied)` whose message names the offending program or
//!   construct and says what is allowed. An empty, over-long or unparsable command is
//!   `invalid_argument`.
//!
//! # Layout
//!
//! - `parse.rs`: the pre-checks on the raw string, the parse, and the word analysis (quote
//!   removal into an `Argument`: its value, whether it is literal, what it starts with).
//! - `policy.rs`: [`CommandPolicy`], the walk over lists, pipelines and simple commands, program
//!   words and redirections, and the never-allowed programs.
//! - `proc.rs`: the /proc rule applied to every argument of every program.
//! - `options.rs`: option allowlists (`Spec`) and the getopt-style scan that reads arguments the
//!   way the program will.
//! - `programs/`: one file per program rule and, in `programs/mod.rs`, THE list of rules.
//!
//! # Adding a program rule
//!
//! 1. Create `programs/<program>.rs` with a `pub(super) const RULE: Rule`: the program's name,
//!    a one-line summary (shown by [`rule_summary`]) and its check: `Check::Options(&SPEC)` for an
//!    option allowlist alone, `Check::OptionsWithoutOperands(&SPEC)` for a program that takes no
//!    operand, or `Check::Custom(check)` for a function that reads the arguments itself
//!    (subcommands, values, operands), usually after `options::scan` (see `systemctl.rs`,
//!    `docker.rs`). Write the `Spec` from the program's own option parser, not its manual page:
//!    every option the program reads, refused ones in `refused` with the reason.
//! 2. Add `mod <program>;` and one line `<program>::RULE,` to the list in `programs/mod.rs`.
//! 3. To run it by default, add the name to [`DEFAULT_PROGRAMS`]; every default program must have
//!    a rule (a test checks it).
//! 4. Pin what the rule refuses and accepts with cases in `tests.rs` (`assert_refused` /
//!    `assert_accepted`), each refusal with a fragment of its message.
//!
//! # What is accepted
//!
//! Simple commands joined by `|`, `|&`, `;`, `&&`, `||` and newlines (a leading `!` is accepted),
//! where every simple command passes these checks:
//!
//! - The program word is a literal after quote removal (`"ls"`, `l\s` and `'ls'` are `ls`; no `$`,
//!   glob, brace, tilde or other expansion). A program given by path is judged by its basename and
//!   only from `/bin`, `/usr/bin`, `/sbin`, `/usr/sbin` or `/usr/local/bin`.
//! - Privilege tools (`sudo`, `su`, `doas`, ...) and exec wrappers or interpreters (`env`, `xargs`,
//!   `timeout`, `sh`, `python3`, `awk`, `sed`, ...) are refused even if an operator lists them.
//! - The program is on the allowlist, and its arguments pass its rule (see [`rule_summary`] and
//!   the files under `commands/programs/`). Every program on [`DEFAULT_PROGRAMS`] has an OPTION
//!   ALLOWLIST: the short options (clusters such as `-tlnp` included), the exact long names
//!   (`--name` and `--name=value`) and which of them take a value, so that a value (`-e -H`,
//!   `-n -5`) is never mistaken for an option or operand. An unknown option is refused with its
//!   name and the list of allowed ones; getopt_long prefixes (`--ho` for `--host`) are unknown
//!   names. Options are checked wherever they appear (GNU programs read options after operands).
//!   Refused among others: options that reach another host or container (`systemctl -H/-M`,
//!   docker global options, `ip -n`, `ss -N`), read a file Skippy cannot judge (`journalctl
//!   --file/-D`, `grep -f`, `date -f`, `ip -b`, `ss -F`, `--files0-from`), write or run something
//!   (`sort -o/-T/--compress-program`, `find -exec/-fprint`), never end (`tail -f/--pid`,
//!   `journalctl -f`), and the letter `e` in `ps` arguments (environments).
//! - Programs an OPERATOR adds to the allowlist without a rule keep the earlier behaviour: their
//!   arguments pass unchecked (Skippy does not know their options), except for the /proc check
//!   below. Rules still apply to an operator list's names that have one.
//! - Non-literal arguments (`$VAR`, `~`, globs, braces) of programs with a rule: a glob or
//!   expansion can produce a word starting with `-` (a file named `--host=x`), so such an
//!   argument is accepted only when its first character is a literal character other than `-`
//!   (`/var/log/*.log`, `./x*`), or a `~`, or it comes after `--`; an unquoted `$VAR` is refused
//!   anywhere in a word before `--` since field splitting can start a new word (`a$IFS-H`).
//!   Programs whose rule reads values (systemctl, docker, journalctl, ip, ss, ps, date, uniq,
//!   hostname, ...) need literals. `echo` takes anything. `$_`, `$BASH_COMMAND` and similar
//!   parameters that repeat model text from elsewhere are refused everywhere.
//! - No argument of any program may reach a process's secrets under /proc (`environ`, `mem`,
//!   `fd/N`, ... of Skippy itself on host `local`), literally or through a glob, `$PPID`, `..`
//!   or `/dev/fd/..` (see `commands/proc.rs`); recursive `grep` only over absolute directories
//!   other than `/` and `/proc`. [`check_working_directory`] keeps the working directory out of
//!   /proc.
//! - Redirections only duplicate or close descriptors (`2>&1`, `>&2`, `2>&-`) or read from or write
//!   to `/dev/null` (`2>/dev/null`, `</dev/null`). `&>` is refused: dash reads `cmd &>f` as
//!   `cmd &` then `>f`.
//!
//! # What is always refused
//!
//! Control characters other than tab and newline; `<<` anywhere, even quoted (here-documents and
//! here-strings; the check runs before parsing because brush-parser 0.4.0 can allocate without
//! bound on some malformed here-documents); more than [`MAX_NESTING`] nesting openers (the parser
//! recurses on them) or more than [`MAX_COMMAND_BYTES`] bytes. Then, on the parse:
//! command substitution (`$(...)`, backticks), process substitution, arithmetic expansion,
//! parameter expansions with operators or indirection (`${X:=...}`, `${X@P}`, `${!X}`,
//! `${a[i]}`), any other `$` form the parser leaves as text (`${ cmd; }`, zsh's `${(e)X}`), `[`
//! right after a parameter (a zsh subscript), `$'...'` and `$"..."` quoting, unquoted
//! parentheses (zsh glob qualifiers, fish command substitution, extglob), variable assignments
//! (standalone or before a command), file redirections, here-documents and here-strings, background `&`, `time`, every compound command
//! (subshells, brace groups, `if`, `for`, `while`, `until`, `case`, `select`, `((...))`, `[[...]]`,
//! `coproc`) and function definitions. Subshells and brace groups are refused rather than walked:
//! nothing an inspection needs requires them.
//!
//! # Assumptions
//!
//! The remote login shell is POSIX-family (sh, dash, bash, ksh, zsh). Constructs where those shells
//! and fish or csh disagree in ways that matter (unquoted parentheses, a single-quoted string
//! ending in a backslash, `=` at the start of a word for zsh) are refused or treated as
//! non-literal, but the tool running the command should still check the login shell. Aliases and
//! functions defined by the remote user's own startup files are outside this policy.

mod options;
mod parse;
mod policy;
mod proc;
mod programs;
#[cfg(test)]
mod tests;

pub use parse::{MAX_COMMAND_BYTES, MAX_NESTING};
pub use policy::{CheckedCommand, CommandPolicy, DEFAULT_PROGRAMS, check_working_directory};
pub use programs::rule_summary;

/// Why a command was refused; the category decides what the message says is allowed instead.
#[derive(Debug)]
enum Denial {
    /// The program itself: the message lists the allowed programs.
    Program(String),
    /// A shell construct: the message says which constructs are allowed.
    Construct(String),
    /// A per-program rule: the reason already says what that program allows.
    Rule(String),
}

impl Denial {
    fn program(reason: impl Into<String>) -> Self {
        Denial::Program(reason.into())
    }

    fn construct(reason: impl Into<String>) -> Self {
        Denial::Construct(reason.into())
    }

    fn rule(reason: impl Into<String>) -> Self {
        Denial::Rule(reason.into())
    }
}

/// A word for a message: at most 60 characters.
fn shown(text: &str) -> String {
    const LIMIT: usize = 60;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(LIMIT).collect();
        cut.push('…');
        cut
    }
}
