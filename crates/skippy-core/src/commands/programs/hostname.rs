//! `hostname`: only its printing options and no operand (given an operand or `-F/--file`, or
//! `-b/--boot`, it sets the host name).

use super::{Check, Rule};
use crate::commands::Denial;
use crate::commands::options::{Spec, no_operands, scan};
use crate::commands::parse::Argument;

pub(super) const RULE: Rule = Rule {
    program: "hostname",
    summary: "only printing options such as -f, -s, -I; no operand",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let items = scan(&HOSTNAME, args)?;
    no_operands(
        &HOSTNAME,
        &items,
        "hostname may only print (it sets the name given an operand)",
    )
}

const HOSTNAME: Spec = Spec {
    flags: "aAdfiIsyV",
    long_flags: &[
        "alias",
        "all-fqdns",
        "domain",
        "fqdn",
        "long",
        "ip-address",
        "all-ip-addresses",
        "short",
        "yp",
        "nis",
        "help",
        "version",
    ],
    refused: &[
        ("-F", "it sets the host name from a file"),
        ("--file", "it sets the host name from a file"),
        ("-b", "it sets the host name"),
        ("--boot", "it sets the host name"),
    ],
    literal_only: true,
    ..Spec::new("hostname")
};
