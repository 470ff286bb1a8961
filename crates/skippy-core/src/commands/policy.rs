//! The policy: which programs may run ([`CommandPolicy`]), and the walk over the parsed command
//! that accepts only simple commands joined by lists and pipelines, judges every program word,
//! every redirection and every argument, and turns a [`Denial`] into a `policy_denied` message
//! that says what is allowed instead.

use brush_parser::ast::{self, Command, CommandPrefixOrSuffixItem, CompoundCommand, IoRedirect};

use super::parse::{Argument, analyse_word, parse};
use super::{Denial, proc, programs, shown};
use crate::error::ToolError;

/// The default allowlist: read-only inspection programs.
pub const DEFAULT_PROGRAMS: &[&str] = &[
    "uptime",
    "df",
    "free",
    "ps",
    "ls",
    "cat",
    "head",
    "tail",
    "grep",
    "wc",
    "uname",
    "hostname",
    "who",
    "w",
    "last",
    "ss",
    "ip",
    "id",
    "whoami",
    "date",
    "du",
    "stat",
    "systemctl",
    "journalctl",
    "docker",
    "find",
    "pwd",
    "echo",
    "sort",
    "uniq",
    "cut",
    "lsblk",
    "mount",
    "nproc",
    "lscpu",
];

/// Programs that change identity or confinement: never allowed.
const PRIVILEGE_TOOLS: &[&str] = &[
    "sudo", "su", "doas", "pkexec", "run0", "su-exec", "sudo-rs", "sudoedit", "runuser", "chroot",
    "nsenter", "unshare", "setpriv", "capsh", "sg", "newgrp",
];

/// Programs that run another program or interpret code: never allowed. Names are compared after
/// stripping a version suffix (`python3.12` is `python`).
const EXEC_WRAPPERS: &[&str] = &[
    "env",
    "nohup",
    "timeout",
    "xargs",
    "nice",
    "ionice",
    "stdbuf",
    "setsid",
    "time",
    "command",
    "builtin",
    "exec",
    "eval",
    "source",
    ".",
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "ash",
    "rbash",
    "fish",
    "csh",
    "tcsh",
    "busybox",
    "toybox",
    "python",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "deno",
    "bun",
    "php",
    "lua",
    "tclsh",
    "expect",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "sed",
    "watch",
    "script",
    "flock",
    "chrt",
    "taskset",
    "strace",
    "ltrace",
    "gdb",
    "systemd-run",
    "ssh",
];

/// Directories a program may be named from by absolute path.
const BIN_DIRS: &[&str] = &["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin"];

/// Which programs may run, and their per-program rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPolicy {
    /// Allowed program names, in configured order (used in messages).
    programs: Vec<String>,
}

/// A command that passed [`CommandPolicy::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCommand {
    /// The program (basename) of every simple command, in order.
    pub programs: Vec<String>,
}

impl CommandPolicy {
    /// The default allowlist ([`DEFAULT_PROGRAMS`]).
    pub fn default_inspection() -> Self {
        CommandPolicy {
            programs: DEFAULT_PROGRAMS
                .iter()
                .map(|name| name.to_string())
                .collect(),
        }
    }

    /// An operator-configured allowlist: program names only (no slashes). Per-program rules still
    /// apply to the names that have one. Never-allowed names are an error.
    pub fn with_programs(programs: &[String]) -> Result<Self, ToolError> {
        if programs.is_empty() {
            return Err(ToolError::invalid(
                "the command allowlist is empty; list at least one program or disable the tool",
            ));
        }
        let mut allowed: Vec<String> = Vec::with_capacity(programs.len());
        for name in programs {
            validate_program_name(name)?;
            if let Some(reason) = never_allowed(name) {
                return Err(ToolError::invalid(format!(
                    "`{name}` cannot be put on the command allowlist: {reason}"
                )));
            }
            if !allowed.contains(name) {
                allowed.push(name.clone());
            }
        }
        Ok(CommandPolicy { programs: allowed })
    }

    /// The allowed program names, in configured order.
    pub fn programs(&self) -> &[String] {
        &self.programs
    }

    /// Decide whether `command` may run. Nothing is executed.
    pub fn check(&self, command: &str) -> Result<CheckedCommand, ToolError> {
        let program = parse(command)?;
        let mut programs = Vec::new();
        for list in &program.complete_commands {
            self.walk_list(list, &mut programs)
                .map_err(|denial| self.to_error(denial))?;
        }
        if programs.is_empty() {
            return Err(ToolError::invalid(
                "the command contains no program to run (only comments?); send a command such as `uptime`",
            ));
        }
        Ok(CheckedCommand { programs })
    }

    fn to_error(&self, denial: Denial) -> ToolError {
        match denial {
            Denial::Program(reason) => ToolError::denied(format!(
                "{reason}. Allowed programs: {}",
                self.programs.join(", ")
            )),
            Denial::Construct(reason) => ToolError::denied(format!(
                "{reason}. Allowed: simple commands from the allowlist joined by `|`, `;`, `&&`, \
                 `||` or newlines, with literal or `$VAR` arguments and redirections only to \
                 /dev/null or between descriptors (`2>&1`)"
            )),
            Denial::Rule(reason) => ToolError::denied(reason),
        }
    }

    fn walk_list(&self, list: &ast::CompoundList, found: &mut Vec<String>) -> Result<(), Denial> {
        for ast::CompoundListItem(and_or, separator) in &list.0 {
            if matches!(separator, ast::SeparatorOperator::Async) {
                return Err(Denial::construct(
                    "background execution with `&` is never allowed: Skippy could not collect or \
                     stop the command",
                ));
            }
            for (_, pipeline) in and_or.iter() {
                self.walk_pipeline(pipeline, found)?;
            }
        }
        Ok(())
    }

    fn walk_pipeline(
        &self,
        pipeline: &ast::Pipeline,
        found: &mut Vec<String>,
    ) -> Result<(), Denial> {
        if pipeline.timed.is_some() {
            return Err(Denial::program(
                "`time` is never allowed: exec wrapper / interpreter",
            ));
        }
        if pipeline.seq.is_empty() {
            return Err(Denial::construct("an empty pipeline is not allowed"));
        }
        for command in &pipeline.seq {
            match command {
                Command::Simple(simple) => found.push(self.check_simple(simple)?),
                Command::Compound(compound, _) => {
                    return Err(Denial::construct(format!(
                        "{} is not allowed: compound commands are refused",
                        describe_compound(compound)
                    )));
                }
                Command::Function(definition) => {
                    return Err(Denial::construct(format!(
                        "defining the function `{}` is not allowed",
                        shown(&definition.fname.value)
                    )));
                }
                Command::ExtendedTest(..) => {
                    return Err(Denial::construct(
                        "the test command `[[ ... ]]` is not allowed: compound commands are refused",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Check one simple command and return its program name.
    fn check_simple(&self, simple: &ast::SimpleCommand) -> Result<String, Denial> {
        for item in simple.prefix.iter().flat_map(|prefix| &prefix.0) {
            match item {
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => check_redirect(redirect)?,
                CommandPrefixOrSuffixItem::AssignmentWord(_, word) => {
                    return Err(Denial::construct(format!(
                        "the variable assignment `{}` is not allowed (before a command it changes \
                         that command's environment, e.g. LD_PRELOAD)",
                        shown(&word.value)
                    )));
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {
                    return Err(process_substitution());
                }
                CommandPrefixOrSuffixItem::Word(word) => {
                    return Err(Denial::construct(format!(
                        "unexpected word `{}` before the program",
                        shown(&word.value)
                    )));
                }
            }
        }
        let Some(program_word) = &simple.word_or_name else {
            return Err(Denial::construct(
                "a redirection without a program is not allowed",
            ));
        };
        let name = self.check_program_word(program_word)?;

        let mut args = Vec::new();
        for item in simple.suffix.iter().flat_map(|suffix| &suffix.0) {
            match item {
                CommandPrefixOrSuffixItem::Word(word) => args.push(analyse_word(word)?),
                // `a=1` after the program is an ordinary argument (declaration builtins such as
                // `export` are not allowed programs).
                CommandPrefixOrSuffixItem::AssignmentWord(_, word) => {
                    args.push(analyse_word(word)?)
                }
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => check_redirect(redirect)?,
                CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {
                    return Err(process_substitution());
                }
            }
        }
        check_arguments(&name, &args)?;
        Ok(name)
    }

    /// Judge the program word and return the program's basename.
    fn check_program_word(&self, word: &ast::Word) -> Result<String, Denial> {
        let analysed = analyse_word(word)?;
        if !analysed.literal || analysed.value.is_empty() {
            return Err(Denial::construct(format!(
                "the program word `{}` must be a plain name after quote removal: no `$`, glob \
                 (`*?[`), brace, tilde or other expansion",
                shown(&word.value)
            )));
        }
        let (directory, name) = match analysed.value.rsplit_once('/') {
            Some((directory, name)) => (Some(directory), name),
            None => (None, analysed.value.as_str()),
        };
        if let Some(reason) = never_allowed(name) {
            return Err(Denial::program(format!(
                "`{name}` is never allowed: {reason}"
            )));
        }
        if let Some(directory) = directory
            && !BIN_DIRS.contains(&directory)
        {
            return Err(Denial::program(format!(
                "`{}` is outside the usual program directories ({}); name the program without \
                 a path",
                shown(&analysed.value),
                BIN_DIRS.join(", ")
            )));
        }
        if !self.programs.iter().any(|allowed| allowed == name) {
            return Err(Denial::program(format!("`{name}` is not on the allowlist")));
        }
        Ok(name.to_string())
    }
}

fn process_substitution() -> Denial {
    Denial::construct(
        "process substitution `<(...)` / `>(...)` is never allowed: it runs a command Skippy \
         cannot check",
    )
}

/// Accept only descriptor duplication/closing and `/dev/null`.
fn check_redirect(redirect: &IoRedirect) -> Result<(), Denial> {
    use ast::{IoFileRedirectKind as Kind, IoFileRedirectTarget as Target};
    match redirect {
        IoRedirect::File(_, kind, target) => match (kind, target) {
            (_, Target::ProcessSubstitution(..)) => Err(process_substitution()),
            (Kind::DuplicateInput | Kind::DuplicateOutput, Target::Fd(_)) => Ok(()),
            (Kind::DuplicateInput | Kind::DuplicateOutput, Target::Duplicate(word)) => {
                let target = analyse_word(word)?;
                let descriptor = target.value.strip_suffix('-').unwrap_or(&target.value);
                let is_descriptor = descriptor.is_empty() && target.value == "-"
                    || !descriptor.is_empty() && descriptor.bytes().all(|b| b.is_ascii_digit());
                if target.literal && is_descriptor {
                    Ok(())
                } else {
                    Err(Denial::construct(format!(
                        "the redirection `>&{}` is not allowed: it names a file, not a descriptor",
                        shown(&word.value)
                    )))
                }
            }
            (Kind::Read | Kind::Write | Kind::Append | Kind::Clobber, Target::Filename(word)) => {
                if is_dev_null(word)? {
                    Ok(())
                } else {
                    Err(Denial::construct(format!(
                        "the redirection to or from `{}` is not allowed: redirections may not \
                         read or write files (pass a file to read as an argument)",
                        shown(&word.value)
                    )))
                }
            }
            (Kind::ReadAndWrite, _) => Err(Denial::construct(
                "the read-write redirection `<>` is not allowed",
            )),
            _ => Err(Denial::construct(format!(
                "the redirection `{redirect}` is not allowed"
            ))),
        },
        IoRedirect::HereDocument(..) => {
            Err(Denial::construct("here-documents (`<<`) are not allowed"))
        }
        IoRedirect::HereString(..) => {
            Err(Denial::construct("here-strings (`<<<`) are not allowed"))
        }
        // dash reads `cmd &>file` as `cmd &` then `>file`.
        IoRedirect::OutputAndError(word, _) => Err(Denial::construct(format!(
            "the redirection `&>{}` is not allowed (dash reads it as background `&`); write \
             `>/dev/null 2>&1`",
            shown(&word.value)
        ))),
    }
}

fn is_dev_null(word: &ast::Word) -> Result<bool, Denial> {
    let target = analyse_word(word)?;
    Ok(target.literal && target.value == "/dev/null")
}

/// Operator-configured names: a plain file name made of safe characters.
fn validate_program_name(name: &str) -> Result<(), ToolError> {
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if valid {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "`{}` is not a valid program name for the command allowlist: use a bare name such as \
             `uptime` (letters, digits, `.`, `_`, `+`, `-`; no slashes)",
            shown(name)
        )))
    }
}

/// Why `name` can never run, if it can never run.
fn never_allowed(name: &str) -> Option<&'static str> {
    if PRIVILEGE_TOOLS.contains(&name) {
        return Some("privilege escalation");
    }
    let unversioned = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let unversioned = if unversioned.is_empty() {
        name
    } else {
        unversioned
    };
    if EXEC_WRAPPERS.contains(&name)
        || EXEC_WRAPPERS.contains(&unversioned)
        || name.starts_with("python")
    {
        return Some("exec wrapper / interpreter (it runs other programs or code)");
    }
    None
}

/// Refuse a working directory that could be inside `/proc` (or reach it through `/dev/fd`),
/// where a relative argument such as `environ` names a process secret.
pub fn check_working_directory(cwd: &str) -> Result<(), ToolError> {
    if proc::directory_reaches_proc(cwd) {
        return Err(ToolError::denied(format!(
            "the working directory `{}` is not allowed: commands may not run inside /proc (or \
             through `..` or /dev/fd), where relative paths reach process secrets; use a \
             directory such as /tmp or your home",
            shown(cwd)
        )));
    }
    Ok(())
}

/// Check every argument for process secrets, then apply the program's rule, if it has one.
fn check_arguments(program: &str, args: &[Argument]) -> Result<(), Denial> {
    for argument in args {
        if let Some(reason) = proc::secret_reason(&argument.pattern) {
            return Err(Denial::rule(format!(
                "the argument `{}` of `{program}` is not allowed: {reason}. Other /proc files \
                 (`/proc/meminfo`, `/proc/1/status`, `ls /proc`) are fine",
                shown(&argument.raw)
            )));
        }
    }
    programs::check(program, args)
}

fn describe_compound(compound: &CompoundCommand) -> &'static str {
    match compound {
        CompoundCommand::Arithmetic(_) => "the arithmetic command `((...))`",
        CompoundCommand::ArithmeticForClause(_) => "an arithmetic `for ((...))` loop",
        CompoundCommand::BraceGroup(_) => "a brace group `{ ...; }`",
        CompoundCommand::Subshell(_) => "a subshell `( ... )`",
        CompoundCommand::ForClause(_) => "a `for` loop",
        CompoundCommand::CaseClause(_) => "a `case` statement",
        CompoundCommand::IfClause(_) => "an `if` statement",
        CompoundCommand::WhileClause(_) => "a `while` loop",
        CompoundCommand::UntilClause(_) => "an `until` loop",
        CompoundCommand::Coprocess(_) => "a `coproc`",
    }
}
