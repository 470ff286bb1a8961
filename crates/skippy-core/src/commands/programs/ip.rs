//! `ip`: known global options, an object, and only a show/list/get verb; mutating words (`add`,
//! `set`, `exec`, ...) are refused anywhere, and so are `-b/-batch` (reads commands from a file),
//! `-n/-netns` (enters a namespace), `-force` and `-r/-resolve` (DNS).

use super::{Check, Rule};
use crate::commands::Denial;
use crate::commands::options::literals;
use crate::commands::parse::Argument;

pub(super) const RULE: Rule = Rule {
    program: "ip",
    summary: "options -4 -6 -br -s -d -j -p -o -c -h -N -t -a -V -iec -f FAMILY (no -b/-batch, -n/-netns, -force, -r); objects such as addr, link, route; only show/list/ls/get",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
    let args = literals("ip", args)?;
    if let Some(word) = args.iter().find(|arg| IP_MUTATING_WORDS.contains(arg)) {
        return Err(Denial::rule(format!(
            "`ip ... {word}` is not allowed: only show/list forms such as `ip addr`, `ip -br a`, \
             `ip route show`"
        )));
    }
    let mut rest = args.iter();
    let object = loop {
        match rest.next() {
            None => return Ok(()),
            Some(option) if IP_VALUED_OPTIONS.contains(option) => {
                rest.next();
            }
            Some(option) if option.starts_with('-') => {
                if !IP_OPTIONS.contains(option) {
                    return Err(Denial::rule(format!(
                        "`ip {option}` is not allowed (-b/-batch reads commands from a file, \
                         -n/-netns enters a namespace, -force and -r/-resolve are refused too); \
                         allowed options: {} {}",
                        IP_OPTIONS.join(" "),
                        IP_VALUED_OPTIONS.join(" FAMILY ")
                    )));
                }
            }
            Some(object) => break object,
        }
    };
    if !IP_OBJECTS.contains(object) {
        return Err(Denial::rule(format!(
            "`ip {object}` is not allowed; allowed objects: {}",
            IP_OBJECTS.join(", ")
        )));
    }
    match rest.next() {
        None => Ok(()),
        Some(verb) if IP_SHOW_VERBS.contains(verb) => Ok(()),
        Some(verb) => Err(Denial::rule(format!(
            "`ip {object} {verb}` is not allowed: after the object only {} (spelled out)",
            IP_SHOW_VERBS.join(", ")
        ))),
    }
}

/// Global `ip` options that take no value and change nothing. iproute2 matches options by
/// prefix in a fixed order; every spelling here was checked to select the option it names.
const IP_OPTIONS: &[&str] = &[
    "-4",
    "-6",
    "-br",
    "-brief",
    "-s",
    "-stats",
    "-statistics",
    "-d",
    "-details",
    "-j",
    "-json",
    "-p",
    "-pretty",
    "-o",
    "-oneline",
    "-c",
    "-color",
    "-h",
    "-human",
    "-N",
    "-Numeric",
    "-t",
    "-timestamp",
    "-a",
    "-all",
    "-V",
    "-Version",
    "-iec",
];

/// Global `ip` options that take the next argument as a value.
const IP_VALUED_OPTIONS: &[&str] = &["-f", "-family"];

/// `ip` objects that may be shown (exact spellings only; iproute2 also accepts prefixes, which are
/// not modelled).
const IP_OBJECTS: &[&str] = &[
    "a",
    "addr",
    "address",
    "addrlabel",
    "l",
    "link",
    "r",
    "ro",
    "route",
    "ru",
    "rule",
    "n",
    "neigh",
    "neighbor",
    "neighbour",
    "ntable",
    "maddr",
    "maddress",
    "mroute",
    "netns",
    "netconf",
    "nexthop",
    "tunnel",
    "tuntap",
    "vrf",
    "token",
    "tcp_metrics",
    "tcpmetrics",
    "stats",
];

/// The only `ip` subcommands allowed after the object.
const IP_SHOW_VERBS: &[&str] = &["show", "list", "ls", "lst", "get"];

/// Words refused anywhere in `ip` arguments.
const IP_MUTATING_WORDS: &[&str] = &[
    "add", "append", "change", "del", "delete", "exec", "flush", "prepend", "replace", "restore",
    "save", "set", "monitor",
];
