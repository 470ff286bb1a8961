//! `mount`: only without arguments, where it lists the mounts (with arguments it mounts).

use super::{Check, Rule};
use crate::commands::Denial;
use crate::commands::parse::Argument;

pub(super) const RULE: Rule = Rule {
    program: "mount",
    summary: "no arguments",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Denial::rule(
            "`mount` is allowed only without arguments (it then lists mounts); filter with \
             `mount | grep ...`",
        ))
    }
}
