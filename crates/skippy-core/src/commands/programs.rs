//! Per-program rules for the default allowlist: the options each program may take (an allowlist,
//! see [`super::options`]) and checks on operands and values.
//!
//! What is refused and why, in short (the full lists are the `Spec`s below):
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
//! - `ps`: no `e` (environments) anywhere, see [`ps_rule`].

use super::options::{Item, Spec, check_expansion, not_literal, operands, scan};
use super::{Argument, Denial, shown};

/// Check `args` of `program` against its rule. Programs without a rule (operator-added ones)
/// pass.
pub(super) fn check(program: &str, args: &[Argument]) -> Result<(), Denial> {
    match program {
        // echo only prints; it has no option that reads, writes or runs anything.
        "echo" => Ok(()),
        "ps" => ps_rule(args),
        "find" => find_rule(args),
        "ip" => ip_rule(args),
        "docker" => docker_rule(args),
        "mount" => mount_rule(args),
        "tail" => {
            let args = tail_obsolete_count(args)?;
            scan(&TAIL, args).map(|_| ())
        }
        _ => {
            let Some(spec) = SPECS.iter().find(|spec| spec.program == program) else {
                return Ok(());
            };
            let items = scan(spec, args)?;
            match program {
                "systemctl" => systemctl_rule(&items),
                "date" => date_rule(&items),
                "uniq" => uniq_rule(&items),
                "grep" => grep_rule(&items),
                "hostname" | "pwd" | "uptime" | "free" | "nproc" | "whoami" | "uname" | "lscpu" => {
                    no_operands(spec, &items)
                }
                _ => Ok(()),
            }
        }
    }
}

/// Programs whose rule is a plain option spec (plus the checks in [`check`]).
static SPECS: &[Spec] = &[
    UPTIME, DF, FREE, LS, CAT, HEAD, GREP, WC, UNAME, HOSTNAME, WHO, W, LAST, SS, ID, WHOAMI, DATE,
    DU, STAT, SYSTEMCTL, JOURNALCTL, PWD, SORT, UNIQ, CUT, LSBLK, NPROC, LSCPU,
];

/// The programs that have a rule.
#[cfg(test)]
pub(super) fn ruled_programs() -> impl Iterator<Item = &'static str> {
    SPECS
        .iter()
        .map(|spec| spec.program)
        .chain(["echo", "ps", "find", "ip", "docker", "mount", "tail"])
}

const HELP: &[&str] = &["help", "version"];

const UPTIME: Spec = Spec {
    flags: "psV",
    long_flags: &["pretty", "since", "help", "version"],
    ..Spec::new("uptime")
};

const DF: Spec = Spec {
    flags: "ahHiklPTv",
    valued: "Btx",
    long_flags: &[
        "all",
        "human-readable",
        "si",
        "inodes",
        "local",
        "no-sync",
        "portability",
        "total",
        "print-type",
        "help",
        "version",
    ],
    long_valued: &["block-size", "type", "exclude-type"],
    long_optional: &["output"],
    refused: &[("--sync", "it calls sync(2), which writes")],
    ..Spec::new("df")
};

const FREE: Spec = Spec {
    flags: "bkmghltvwV",
    long_flags: &[
        "bytes",
        "kilo",
        "mega",
        "giga",
        "tera",
        "peta",
        "kibi",
        "mebi",
        "gibi",
        "tebi",
        "pebi",
        "human",
        "si",
        "lohi",
        "total",
        "committed",
        "wide",
        "help",
        "version",
    ],
    refused: &[
        ("-s", "it repeats until killed"),
        ("--seconds", "it repeats until killed"),
        ("-c", "it repeats; run `free` once"),
        ("--count", "it repeats; run `free` once"),
    ],
    literal_only: true,
    ..Spec::new("free")
};

const LS: Spec = Spec {
    flags: "aAbBcCdDfFgGhHiklLmnNopqQrRsStuUvxXZ1",
    valued: "ITw",
    long_flags: &[
        "all",
        "almost-all",
        "author",
        "escape",
        "ignore-backups",
        "directory",
        "dired",
        "file-type",
        "full-time",
        "group-directories-first",
        "no-group",
        "human-readable",
        "si",
        "dereference-command-line",
        "dereference-command-line-symlink-to-dir",
        "inode",
        "kibibytes",
        "dereference",
        "numeric-uid-gid",
        "literal",
        "hide-control-chars",
        "show-control-chars",
        "quote-name",
        "reverse",
        "recursive",
        "size",
        "context",
        "zero",
        "help",
        "version",
    ],
    long_valued: &[
        "block-size",
        "format",
        "hide",
        "indicator-style",
        "ignore",
        "quoting-style",
        "sort",
        "time",
        "time-style",
        "tabsize",
        "width",
    ],
    long_optional: &["color", "classify", "hyperlink"],
    ..Spec::new("ls")
};

const CAT: Spec = Spec {
    flags: "AbeEnstTuv",
    long_flags: &[
        "show-all",
        "number-nonblank",
        "show-ends",
        "number",
        "squeeze-blank",
        "show-tabs",
        "show-nonprinting",
        "help",
        "version",
    ],
    ..Spec::new("cat")
};

const HEAD: Spec = Spec {
    flags: "qvz",
    valued: "cn",
    long_flags: &[
        "quiet",
        "silent",
        "verbose",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["bytes", "lines"],
    numeric: true,
    ..Spec::new("head")
};

const FOLLOW: &str = "it never ends (-f/-F/--follow); use `tail -n N`";

const TAIL: Spec = Spec {
    flags: "qvz",
    valued: "cn",
    long_flags: &[
        "quiet",
        "silent",
        "verbose",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["bytes", "lines"],
    numeric: true,
    refused: &[
        ("-f", FOLLOW),
        ("-F", FOLLOW),
        ("--follow", FOLLOW),
        ("--retry", FOLLOW),
        ("--pid", "it only matters with -f, which never ends"),
        ("-s", "it only matters with -f, which never ends"),
        (
            "--sleep-interval",
            "it only matters with -f, which never ends",
        ),
        (
            "--max-unchanged-stats",
            "it only matters with -f, which never ends",
        ),
    ],
    ..Spec::new("tail")
};

/// tail's obsolete first-argument count (`tail -5 x`, `tail +5 x`, `tail -5c x`): allowed
/// without `f` (follow). Returns the arguments left for the option scan.
fn tail_obsolete_count(args: &[Argument]) -> Result<&[Argument], Denial> {
    let Some((first, rest)) = args.split_first() else {
        return Ok(args);
    };
    let text = first.value.as_str();
    if !first.literal || text.starts_with("--") {
        return Ok(args);
    }
    let Some(body) = text.strip_prefix(['-', '+']) else {
        return Ok(args);
    };
    let suffix = body.trim_start_matches(|c: char| c.is_ascii_digit());
    let counted = suffix.len() < body.len() || text.starts_with('+');
    let obsolete = counted
        && suffix.len() <= 2
        && suffix
            .chars()
            .all(|c| matches!(c, 'b' | 'c' | 'l' | 'f' | 'F'));
    if !obsolete {
        return Ok(args);
    }
    if suffix.contains(['f', 'F']) {
        return Err(Denial::rule(format!(
            "`tail {}` is not allowed: -f/-F/--follow never ends; use `tail -n N`",
            shown(text)
        )));
    }
    Ok(rest)
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
fn grep_rule(items: &[Item]) -> Result<(), Denial> {
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

const WC: Spec = Spec {
    flags: "cmlLw",
    long_flags: &[
        "bytes",
        "chars",
        "lines",
        "max-line-length",
        "words",
        "help",
        "version",
    ],
    long_valued: &["total"],
    refused: &[(
        "--files0-from",
        "it reads the names of the files to open from a file Skippy cannot check",
    )],
    ..Spec::new("wc")
};

const UNAME: Spec = Spec {
    flags: "asnrvmpio",
    long_flags: &[
        "all",
        "kernel-name",
        "nodename",
        "kernel-release",
        "kernel-version",
        "machine",
        "processor",
        "hardware-platform",
        "operating-system",
        "help",
        "version",
    ],
    literal_only: true,
    ..Spec::new("uname")
};

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

const WHO: Spec = Spec {
    flags: "abdHlmpqrstTwu",
    long_flags: &[
        "all", "boot", "dead", "heading", "ips", "login", "process", "count", "runlevel", "short",
        "time", "mesg", "users", "message", "writable", "help", "version",
    ],
    refused: &[("--lookup", "it resolves host names through DNS")],
    literal_only: true,
    ..Spec::new("who")
};

const W: Spec = Spec {
    flags: "husfoipV",
    long_flags: &[
        "no-header",
        "no-current",
        "short",
        "from",
        "old-style",
        "ip-addr",
        "pids",
        "help",
        "version",
    ],
    literal_only: true,
    ..Spec::new("w")
};

const LAST: Spec = Spec {
    flags: "aFiRwxV",
    valued: "fnstp",
    long_flags: &[
        "hostlast",
        "fulltimes",
        "ip",
        "nohostname",
        "fullnames",
        "system",
        "help",
        "version",
    ],
    long_valued: &["file", "limit", "since", "until", "present", "time-format"],
    refused: &[
        ("-d", "it resolves addresses through DNS"),
        ("--dns", "it resolves addresses through DNS"),
    ],
    literal_only: true,
    numeric: true,
    ..Spec::new("last")
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

const ID: Spec = Spec {
    flags: "aZgGnruz",
    long_flags: &[
        "context", "group", "groups", "name", "real", "user", "zero", "help", "version",
    ],
    literal_only: true,
    ..Spec::new("id")
};

const WHOAMI: Spec = Spec {
    long_flags: HELP,
    literal_only: true,
    ..Spec::new("whoami")
};

const CLOCK: &str = "`date` may not set the clock: no -s/--set and no date operand (only +FORMAT)";

const DATE: Spec = Spec {
    flags: "uR",
    valued: "dr",
    optional: "I",
    long_flags: &[
        "utc",
        "universal",
        "rfc-email",
        "debug",
        "resolution",
        "help",
        "version",
    ],
    long_valued: &["date", "reference", "rfc-3339"],
    long_optional: &["iso-8601"],
    refused: &[
        ("-s", CLOCK),
        ("--set", CLOCK),
        (
            "-f",
            "it reads dates from a file and prints the lines it cannot parse",
        ),
        (
            "--file",
            "it reads dates from a file and prints the lines it cannot parse",
        ),
    ],
    literal_only: true,
    ..Spec::new("date")
};

fn date_rule(items: &[Item]) -> Result<(), Denial> {
    if operands(items)
        .iter()
        .any(|operand| !operand.value.starts_with('+'))
    {
        return Err(Denial::rule(CLOCK));
    }
    Ok(())
}

const DU: Spec = Spec {
    flags: "0abcDHhkLlmPSsx",
    valued: "Bdt",
    long_flags: &[
        "null",
        "all",
        "apparent-size",
        "bytes",
        "total",
        "dereference-args",
        "human-readable",
        "inodes",
        "dereference",
        "count-links",
        "no-dereference",
        "separate-dirs",
        "si",
        "summarize",
        "one-file-system",
        "help",
        "version",
    ],
    long_valued: &[
        "block-size",
        "max-depth",
        "threshold",
        "time-style",
        "exclude",
    ],
    long_optional: &["time"],
    refused: &[
        (
            "--files0-from",
            "it reads the names of the files to measure from a file Skippy cannot check",
        ),
        ("-X", "it reads patterns from a file; use --exclude=PATTERN"),
        (
            "--exclude-from",
            "it reads patterns from a file; use --exclude=PATTERN",
        ),
    ],
    ..Spec::new("du")
};

const STAT: Spec = Spec {
    flags: "Lft",
    valued: "c",
    long_flags: &["dereference", "file-system", "terse", "help", "version"],
    long_valued: &["format", "printf", "cached"],
    ..Spec::new("stat")
};

const REMOTE: &str = "it operates on another host or container (systemctl runs ssh for -H)";

const SYSTEMCTL: Spec = Spec {
    flags: "halqr",
    valued: "tpnoP",
    long_flags: &[
        "help",
        "version",
        "system",
        "user",
        "failed",
        "all",
        "full",
        "recursive",
        "reverse",
        "with-dependencies",
        "show-types",
        "value",
        "quiet",
        "no-pager",
        "no-legend",
        "plain",
    ],
    long_valued: &[
        "type",
        "state",
        "property",
        "lines",
        "output",
        "legend",
        "timestamp",
    ],
    refused: &[
        ("-H", REMOTE),
        ("--host", REMOTE),
        ("-M", REMOTE),
        ("--machine", REMOTE),
        ("--root", "it operates on another root directory"),
        ("--image", "it operates on a disk image"),
    ],
    literal_only: true,
    ..Spec::new("systemctl")
};

const SYSTEMCTL_VERBS: &[&str] = &[
    "status",
    "show",
    "list-units",
    "list-unit-files",
    "list-timers",
    "list-sockets",
    "list-dependencies",
    "is-active",
    "is-enabled",
    "is-failed",
    "is-system-running",
    "cat",
];

fn systemctl_rule(items: &[Item]) -> Result<(), Denial> {
    // No subcommand: systemctl lists units.
    let Some(verb) = operands(items).first().map(|verb| verb.value.as_str()) else {
        return Ok(());
    };
    if SYSTEMCTL_VERBS.contains(&verb) {
        return Ok(());
    }
    Err(Denial::rule(format!(
        "`systemctl {}` is not allowed: only the read-only subcommands {}",
        shown(verb),
        SYSTEMCTL_VERBS.join(", ")
    )))
}

const NEVER_ENDS: &str = "it never ends; use `-n N` or `--since`";
const MODIFIES_JOURNAL: &str = "it modifies the journal";
const OTHER_JOURNAL: &str = "it reads journal files outside the system journal (Skippy does not \
                             check them against the log allowlist); use the log tools";

const JOURNALCTL: Spec = Spec {
    flags: "mkrxaqehNV",
    valued: "SUcutpgoFT",
    optional: "bn",
    long_flags: &[
        "system",
        "user",
        "merge",
        "dmesg",
        "reverse",
        "show-cursor",
        "utc",
        "catalog",
        "no-hostname",
        "no-full",
        "all",
        "no-tail",
        "quiet",
        "no-pager",
        "pager-end",
        "help",
        "version",
        "fields",
        "list-boots",
        "disk-usage",
        "header",
        "list-catalog",
        "dump-catalog",
    ],
    long_valued: &[
        "since",
        "until",
        "cursor",
        "after-cursor",
        "unit",
        "user-unit",
        "identifier",
        "exclude-identifier",
        "priority",
        "facility",
        "grep",
        "output",
        "output-fields",
        "field",
        "namespace",
    ],
    long_optional: &["boot", "lines", "case-sensitive"],
    refused: &[
        ("-f", NEVER_ENDS),
        ("--follow", NEVER_ENDS),
        ("--vacuum-size", MODIFIES_JOURNAL),
        ("--vacuum-files", MODIFIES_JOURNAL),
        ("--vacuum-time", MODIFIES_JOURNAL),
        ("--rotate", MODIFIES_JOURNAL),
        ("--flush", MODIFIES_JOURNAL),
        ("--sync", MODIFIES_JOURNAL),
        ("--relinquish-var", MODIFIES_JOURNAL),
        ("--smart-relinquish-var", MODIFIES_JOURNAL),
        ("--setup-keys", MODIFIES_JOURNAL),
        ("--update-catalog", MODIFIES_JOURNAL),
        ("--cursor-file", "it writes the cursor to a file"),
        ("-M", REMOTE),
        ("--machine", REMOTE),
        ("-D", OTHER_JOURNAL),
        ("--directory", OTHER_JOURNAL),
        ("--file", OTHER_JOURNAL),
        ("--root", OTHER_JOURNAL),
        ("--image", OTHER_JOURNAL),
    ],
    literal_only: true,
    lookahead: journalctl_lookahead,
    ..Spec::new("journalctl")
};

/// journalctl takes the next argument as the value of `-n`/`--lines` or `-b`/`--boot` when it
/// parses as one (`-n 50`, `-b -1`); anything else is left alone, as journalctl does.
fn journalctl_lookahead(option: &str, next: &str) -> bool {
    let signed_number = |text: &str| {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    match option {
        "-n" | "--lines" => next == "all" || signed_number(next),
        "-b" | "--boot" => {
            let id_len = next.bytes().take_while(u8::is_ascii_hexdigit).count();
            signed_number(next)
                || (id_len == 32 && (next.len() == 32 || signed_number(&next[32..])))
        }
        _ => false,
    }
}

const PWD: Spec = Spec {
    flags: "LP",
    long_flags: &["logical", "physical", "help", "version"],
    literal_only: true,
    ..Spec::new("pwd")
};

const SORT: Spec = Spec {
    flags: "bdfgiMhnRrVcCmsuz",
    valued: "ktS",
    long_flags: &[
        "ignore-leading-blanks",
        "dictionary-order",
        "ignore-case",
        "general-numeric-sort",
        "ignore-nonprinting",
        "month-sort",
        "human-numeric-sort",
        "numeric-sort",
        "random-sort",
        "reverse",
        "version-sort",
        "debug",
        "merge",
        "stable",
        "unique",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &[
        "sort",
        "batch-size",
        "key",
        "field-separator",
        "buffer-size",
        "parallel",
    ],
    long_optional: &["check"],
    refused: &[
        ("-o", "-o/--output writes a file"),
        ("--output", "-o/--output writes a file"),
        ("--compress-program", "it runs a program"),
        ("-T", "it writes temporary files into a directory"),
        (
            "--temporary-directory",
            "it writes temporary files into a directory",
        ),
        (
            "--files0-from",
            "it reads the names of the files to sort from a file Skippy cannot check",
        ),
        ("--random-source", "it reads a file Skippy cannot check"),
    ],
    ..Spec::new("sort")
};

const UNIQ: Spec = Spec {
    flags: "cdDiuz",
    valued: "fsw",
    long_flags: &[
        "count",
        "repeated",
        "ignore-case",
        "unique",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &["skip-fields", "skip-chars", "check-chars"],
    long_optional: &["all-repeated", "group"],
    literal_only: true,
    ..Spec::new("uniq")
};

fn uniq_rule(items: &[Item]) -> Result<(), Denial> {
    if operands(items).len() > 1 {
        return Err(Denial::rule(
            "`uniq` with two operands writes the second one; pass at most one file (and option \
             values attached, e.g. `-f2`)",
        ));
    }
    Ok(())
}

const CUT: Spec = Spec {
    flags: "nsz",
    valued: "bcdf",
    long_flags: &[
        "complement",
        "only-delimited",
        "zero-terminated",
        "help",
        "version",
    ],
    long_valued: &[
        "bytes",
        "characters",
        "delimiter",
        "fields",
        "output-delimiter",
    ],
    ..Spec::new("cut")
};

const SYSROOT: &str = "it reads another system root";

const LSBLK: Spec = Spec {
    flags: "ADJMOPSabdfilmnprstyzhV",
    valued: "EIeowx",
    optional: "T",
    long_flags: &[
        "noempty",
        "discard",
        "json",
        "merge",
        "output-all",
        "pairs",
        "scsi",
        "all",
        "bytes",
        "nodeps",
        "fs",
        "ascii",
        "list",
        "perms",
        "noheadings",
        "paths",
        "raw",
        "inverse",
        "topology",
        "shell",
        "zoned",
        "help",
        "version",
    ],
    long_valued: &["dedup", "include", "exclude", "output", "width", "sort"],
    long_optional: &["tree"],
    refused: &[("--sysroot", SYSROOT)],
    literal_only: true,
    ..Spec::new("lsblk")
};

const NPROC: Spec = Spec {
    long_flags: &["all", "help", "version"],
    long_valued: &["ignore"],
    literal_only: true,
    ..Spec::new("nproc")
};

const LSCPU: Spec = Spec {
    flags: "abBcJxyhV",
    optional: "Cep",
    long_flags: &[
        "all",
        "online",
        "bytes",
        "offline",
        "json",
        "hex",
        "physical",
        "output-all",
        "help",
        "version",
    ],
    long_optional: &["caches", "extended", "parse"],
    refused: &[("-s", SYSROOT), ("--sysroot", SYSROOT)],
    literal_only: true,
    ..Spec::new("lscpu")
};

fn no_operands(spec: &Spec, items: &[Item]) -> Result<(), Denial> {
    let Some(operand) = operands(items).first().copied() else {
        return Ok(());
    };
    let reason = if spec.program == "hostname" {
        "hostname may only print (it sets the name given an operand)"
    } else {
        "it takes no operand"
    };
    Err(Denial::rule(format!(
        "`{} {}` is not allowed: {reason}; allowed options: {}",
        spec.program,
        shown(&operand.value),
        spec.allowed()
    )))
}

fn mount_rule(args: &[Argument]) -> Result<(), Denial> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Denial::rule(
            "`mount` is allowed only without arguments (it then lists mounts); filter with \
             `mount | grep ...`",
        ))
    }
}

/// All arguments as literal strings, for rules that read every value.
fn literals<'a>(program: &str, args: &'a [Argument]) -> Result<Vec<&'a str>, Denial> {
    args.iter()
        .map(|argument| {
            if argument.literal {
                Ok(argument.value.as_str())
            } else {
                Err(not_literal(program, argument))
            }
        })
        .collect()
}

/// ps letters that take a value (UNIX `-o fmt` or BSD `o fmt`) whose value is a format or sort
/// list, which ps reads the same way in both syntaxes.
const PS_FORMAT_LETTERS: &str = "oOk";
/// Other ps letters that take a value (a list of pids, users, groups, ttys, commands, sessions).
const PS_LIST_LETTERS: &str = "pqtuUgGCs";
/// GNU long options of ps without a value, and with one.
const PS_LONG_FLAGS: &[&str] = &[
    "deselect",
    "forest",
    "headers",
    "no-headers",
    "context",
    "cumulative",
    "version",
    "help",
];
const PS_LONG_VALUED: &[&str] = &[
    "Group",
    "group",
    "pid",
    "ppid",
    "quick-pid",
    "sid",
    "tty",
    "user",
    "User",
    "format",
    "sort",
    "cols",
    "columns",
    "width",
    "rows",
    "lines",
];

/// ps mixes UNIX (`-ef`), BSD (`aux`) and GNU (`--sort`) syntax, and when the UNIX reading of the
/// arguments fails for any reason it reads them all again as BSD options, where `e` (even the
/// `e` of `-ef`, or of a value such as `-C sleep`) prints every process's environment. So the
/// letter `e` is refused in every argument except format and sort lists and GNU option values;
/// `-A` selects all processes like `-e`.
fn ps_rule(args: &[Argument]) -> Result<(), Denial> {
    let args = literals("ps", args)?;
    let environment = |arg: &str| {
        Denial::rule(format!(
            "`ps {}` is not allowed: ps can read the letter `e` as its BSD option that prints \
             every process's environment (it re-reads all options BSD-style after any error). \
             Use `-A` for all processes (`ps -Af`, `ps -Ao pid,args`), and filter by name with \
             `ps -A | grep NAME`",
            shown(arg)
        ))
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(long) = arg.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            if PS_LONG_VALUED.contains(&name) {
                if attached.is_none() {
                    rest.next();
                }
            } else if !PS_LONG_FLAGS.contains(&name) || attached.is_some() {
                return Err(Denial::rule(format!(
                    "`ps --{name}` is not allowed: it is not one of the options Skippy knows to be \
                     read-only and local. Allowed long options: --{} (with a value: --{})",
                    PS_LONG_FLAGS.join(" --"),
                    PS_LONG_VALUED.join(" --")
                )));
            }
            continue;
        }
        let letters = arg.strip_prefix('-').unwrap_or(arg);
        if letters.bytes().all(|b| b.is_ascii_digit() || b == b',') {
            // Process ids (`ps 1`, `ps -1` is a process group).
            continue;
        }
        for (position, letter) in letters.char_indices() {
            if letter == 'e' {
                return Err(environment(arg));
            }
            let takes_value =
                PS_FORMAT_LETTERS.contains(letter) || PS_LIST_LETTERS.contains(letter);
            if !takes_value {
                continue;
            }
            let attached = &letters[position + 1..];
            let value = if attached.is_empty() {
                rest.next().copied().unwrap_or_default()
            } else {
                attached
            };
            if PS_LIST_LETTERS.contains(letter) && value.contains('e') {
                return Err(environment(value));
            }
            break;
        }
    }
    Ok(())
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

/// find: leading `-H`/`-L`/`-P`/`-O<level>`, then starting points, then an expression of known
/// tests, options and read-only actions.
fn find_rule(args: &[Argument]) -> Result<(), Denial> {
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

fn ip_rule(args: &[Argument]) -> Result<(), Denial> {
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

const DOCKER_FOLLOW: &str = "`docker logs -f/--follow` never ends; use `--tail N`";

/// docker subcommands and their options (Go pflag: exact names, `--flag=true` for booleans).
const DOCKER_SUBCOMMANDS: &[Spec] = &[
    Spec {
        flags: "alqs",
        valued: "fn",
        long_flags: &["all", "latest", "no-trunc", "quiet", "size"],
        long_valued: &["filter", "format", "last"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker ps")
    },
    Spec {
        flags: "t",
        valued: "n",
        long_flags: &["details", "timestamps"],
        long_valued: &["since", "until", "tail"],
        refused: &[("-f", DOCKER_FOLLOW), ("--follow", DOCKER_FOLLOW)],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker logs")
    },
    Spec {
        flags: "s",
        valued: "f",
        long_flags: &["size"],
        long_valued: &["format", "type"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker inspect")
    },
    Spec {
        flags: "a",
        long_flags: &["all", "no-stream", "no-trunc"],
        long_valued: &["format"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker stats")
    },
    Spec {
        flags: "aq",
        valued: "f",
        long_flags: &["all", "digests", "no-trunc", "quiet", "tree"],
        long_valued: &["filter", "format"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker images")
    },
    Spec {
        valued: "f",
        long_valued: &["format"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker version")
    },
    Spec {
        valued: "f",
        long_valued: &["format"],
        literal_only: true,
        bool_values: true,
        ..Spec::new("docker info")
    },
];

fn docker_rule(args: &[Argument]) -> Result<(), Denial> {
    let Some((subcommand, rest)) = args.split_first() else {
        return Ok(());
    };
    if !subcommand.literal {
        return Err(not_literal("docker", subcommand));
    }
    let subcommand = subcommand.value.as_str();
    if subcommand.starts_with('-') {
        return Err(Denial::rule(format!(
            "docker global options such as `{}` are not allowed (-H/--host, -c/--context, \
             --config and --tls* reach another daemon or read other credentials); put the \
             subcommand first, e.g. `docker ps -a`",
            shown(subcommand)
        )));
    }
    let name = format!("docker {subcommand}");
    let Some(spec) = DOCKER_SUBCOMMANDS.iter().find(|spec| spec.program == name) else {
        return Err(Denial::rule(format!(
            "`docker {}` is not allowed: only the read-only subcommands {}",
            shown(subcommand),
            DOCKER_SUBCOMMANDS
                .iter()
                .map(|spec| spec.program.trim_start_matches("docker "))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let items = scan(spec, rest)?;
    let no_stream = items.iter().any(|item| {
        item.value_of(&["--no-stream"])
            .is_some_and(|value| value.is_none_or(|value| value.text == "true"))
    });
    if subcommand == "stats" && !no_stream {
        return Err(Denial::rule(
            "`docker stats` needs `--no-stream`: without it the command never ends",
        ));
    }
    Ok(())
}
