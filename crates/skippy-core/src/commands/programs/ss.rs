//! `ss`: its read-only options. Refused: `-K/--kill` (closes sockets), `-D/--diag` (writes a
//! file), `-E/--events` (never ends), `-F/--filter` (reads a file), `-N/--net` (another network
//! namespace) and `-r/--resolve` (DNS). Every argument must be a literal.

use super::{Check, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "ss",
    summary: "no -K/--kill, -D/--diag, -E/--events, -F/--filter, -N/--net, -r/--resolve",
    check: Check::Options(&SS),
};

const SS: Spec = Spec {
    flags: "hVvnoemipbdtSuwxal460sZzHMOT",
    valued: "fA",
    long_flags: &[
        "numeric",
        "options",
        "extended",
        "memory",
        "info",
        "processes",
        "bpf",
        "dccp",
        "tcp",
        "sctp",
        "udp",
        "raw",
        "unix",
        "tipc",
        "vsock",
        "all",
        "listening",
        "ipv4",
        "ipv6",
        "packet",
        "summary",
        "version",
        "help",
        "context",
        "contexts",
        "no-header",
        "xdp",
        "mptcp",
        "oneline",
        "threads",
        "cgroup",
        "inet-sockopt",
    ],
    long_valued: &["family", "socket", "query"],
    refused: &[
        ("-K", "it closes sockets"),
        ("--kill", "it closes sockets"),
        ("-D", "it writes a file"),
        ("--diag", "it writes a file"),
        ("-E", "it never ends"),
        ("--events", "it never ends"),
        ("-F", "it reads a filter from a file"),
        ("--filter", "it reads a filter from a file"),
        ("-N", "it switches to another network namespace"),
        ("--net", "it switches to another network namespace"),
        ("-r", "it resolves addresses through DNS"),
        ("--resolve", "it resolves addresses through DNS"),
    ],
    literal_only: true,
    ..Spec::new("ss")
};
