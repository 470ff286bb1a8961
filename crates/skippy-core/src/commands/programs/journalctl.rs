//! `journalctl`: read options only. Refused: following (`-f`), everything that modifies the
//! journal (`--vacuum-*`, `--rotate`, `--flush`, ...), `--cursor-file` (writes), `-M/--machine`
//! (another container) and other journals (`--file`, `-D/--directory`, `--root`, `--image`: the log
//! allowlist is not modelled here; the log tools read them).

use super::{Check, REMOTE, Rule};
use crate::commands::options::Spec;

pub(super) const RULE: Rule = Rule {
    program: "journalctl",
    summary: "read options only: no -f/--follow, --vacuum-*, --rotate, --flush, --sync, --relinquish-var, --setup-keys, --update-catalog, --cursor-file, -M/--machine, and no --file, -D/--directory, --root or --image (other journals are read with the log tools)",
    check: Check::Options(&JOURNALCTL),
};

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
