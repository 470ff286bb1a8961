//! Per-program rules: THE list of programs that have a rule ([`RULES`]), one file per program.
//!
//! A rule is what Skippy knows about one program's arguments: the options it may take (an
//! allowlist, see [`super::options`]) and, where the program reads more than options, checks on
//! its subcommands, operands and values. Adding a rule means one new file here and one line in
//! [`RULES`] (see the module docs of `commands`, "Adding a program rule"). Programs without a rule
//! (ones an operator adds to the allowlist) take any arguments, except for the /proc check that
//! the policy applies to every argument before the rule.
//!
//! What is refused and why, in short (the full lists are the `Spec`s in each file):
//! - Options that reach another host or container: `systemctl -H/--host/-M/--machine`, docker
//!   global options (`-H`, `--context`, `--config`, `--tls*`), `journalctl -M`, `ip -n/-netns`,
//!   `ss -N/--net`.
//! - Options that read another file than the operands in a way Skippy cannot judge:
//!   `journalctl --file/-D/--directory/--root/--image` (the log allowlist is not modelled here,
//!   so they are refused), `grep -f/--file/--exclude-from`, `date -f/--file`, `hostname -F`,
//!   `ss -F/--filter`, `ip -b/-batch`, `lscpu/lsblk --sysroot`, `du -X/--exclude-from`, and
//!   `--files0-from` (`wc`, `du`, `sort`: it names files to read, out of sight of the /proc check).
//! - Options that write, change state or run a program: `sort -o/-T/--compress-program`,
//!   `date -s`, `ss -K/-D`, `ip -force`, `df --sync`, `find -exec/-ok/-delete/-fprint/-fls`.
//! - Options that never end: `tail -f/-F/--follow/--pid/--retry/-s`, `journalctl -f`,
//!   `docker logs -f`, `docker stats` without `--no-stream`, `free -s/-c`, `ss -E`.
//! - Options that do DNS lookups (not local): `ss -r`, `ip -r`, `who --lookup`, `last -d`.
//! - `ps`: no `e` (environments) anywhere, see `ps.rs`.

use std::sync::LazyLock;

use super::Denial;
use super::options::{Spec, no_operands, scan};
use super::parse::Argument;

mod cat;
mod cut;
mod date;
mod df;
mod docker;
mod du;
mod echo;
mod find;
mod free;
mod grep;
mod head;
mod hostname;
mod id;
mod ip;
mod journalctl;
mod last;
mod ls;
mod lsblk;
mod lscpu;
mod mount;
mod nproc;
mod ps;
mod pwd;
mod sort;
mod ss;
mod stat;
mod systemctl;
mod tail;
mod uname;
mod uniq;
mod uptime;
mod w;
mod wc;
mod who;
mod whoami;

/// Every program rule, one line each. The order is the order of [`rule_summary`], where
/// neighbours with the same summary share a line.
static RULES: &[Rule] = &[
    // Programs that can reach another host, change state, write, or never end: subcommand,
    // operand and value rules, or long lists of refused options.
    systemctl::RULE,
    docker::RULE,
    journalctl::RULE,
    ip::RULE,
    find::RULE,
    tail::RULE,
    mount::RULE,
    sort::RULE,
    uniq::RULE,
    date::RULE,
    hostname::RULE,
    ss::RULE,
    grep::RULE,
    ps::RULE,
    // Read-only programs with a few refused options (file lists, DNS, repeats, other roots).
    wc::RULE,
    du::RULE,
    free::RULE,
    df::RULE,
    who::RULE,
    last::RULE,
    lsblk::RULE,
    lscpu::RULE,
    // Read-only programs: their option allowlists.
    ls::RULE,
    cat::RULE,
    head::RULE,
    stat::RULE,
    cut::RULE,
    uptime::RULE,
    uname::RULE,
    id::RULE,
    whoami::RULE,
    w::RULE,
    pwd::RULE,
    nproc::RULE,
    // Anything goes: it only prints.
    echo::RULE,
];

/// Reasons shared by several rules.
const REMOTE: &str = "it operates on another host or container (systemctl runs ssh for -H)";
const SYSROOT: &str = "it reads another system root";

/// What Skippy knows about one program's arguments.
pub(super) struct Rule {
    /// The program's name, as on the allowlist.
    pub program: &'static str,
    /// One line for [`rule_summary`]: what the rule allows or refuses.
    pub summary: &'static str,
    /// How the arguments are judged.
    pub check: Check,
}

/// How a rule judges the arguments (after the /proc check, which every program gets).
pub(super) enum Check {
    /// Any arguments: the program only prints them.
    Anything,
    /// The option allowlist (the `Spec` names the same program).
    Options(&'static Spec),
    /// The option allowlist, and no operand: the program takes none.
    OptionsWithoutOperands(&'static Spec),
    /// The program's own check, for rules that read subcommands, operands or values; it usually
    /// starts with [`scan`] on the program's `Spec`.
    Custom(fn(&[Argument]) -> Result<(), Denial>),
}

/// Check `args` of `program` against its rule. Programs without a rule (operator-added ones)
/// pass.
pub(super) fn check(program: &str, args: &[Argument]) -> Result<(), Denial> {
    let Some(rule) = RULES.iter().find(|rule| rule.program == program) else {
        return Ok(());
    };
    match rule.check {
        Check::Anything => Ok(()),
        Check::Options(spec) => scan(spec, args).map(|_| ()),
        Check::OptionsWithoutOperands(spec) => {
            let items = scan(spec, args)?;
            no_operands(spec, &items, "it takes no operand")
        }
        Check::Custom(check) => check(args),
    }
}

/// One line per program with a rule, for documentation and tool descriptions. Programs next to
/// each other in the list of rules with the same summary share a line (`ls, cat, head, ...`).
pub fn rule_summary() -> &'static [(&'static str, &'static str)] {
    static SUMMARY: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        let mut lines: Vec<(Vec<&str>, &'static str)> = Vec::new();
        for rule in RULES {
            match lines.last_mut() {
                Some((programs, summary)) if *summary == rule.summary => {
                    programs.push(rule.program);
                }
                _ => lines.push((vec![rule.program], rule.summary)),
            }
        }
        // Built once and kept for the life of the process, like the rules themselves.
        lines
            .into_iter()
            .map(|(programs, summary)| (&*programs.join(", ").leak(), summary))
            .collect()
    });
    &SUMMARY
}

/// The programs that have a rule.
#[cfg(test)]
pub(super) fn ruled_programs() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|rule| rule.program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_has_one_rule_named_like_its_spec() {
        let mut seen: Vec<&str> = Vec::new();
        for rule in RULES {
            assert!(!seen.contains(&rule.program), "{} twice", rule.program);
            seen.push(rule.program);
            if let Check::Options(spec) | Check::OptionsWithoutOperands(spec) = rule.check {
                assert_eq!(spec.program, rule.program);
            }
        }
    }
}
