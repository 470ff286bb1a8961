//! Deterministic benchmark data: a 1 GiB syslog-style log and a 20,000-file text tree.
//!
//! Both are generated once into the data directory and reused: a file is written under a temporary
//! name and renamed when complete, and the tree gets a marker file last, so an interrupted run never
//! leaves half a data set that a later run would mistake for a whole one.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Size of the generated log: 1 GiB (the last line may run a little past it).
pub const LOG_BYTES: u64 = 1 << 30;
/// Directories in the tree, and files in each.
pub const TREE_DIRS: usize = 200;
pub const TREE_FILES_PER_DIR: usize = 100;
/// The content query: it matches in about 1.5% of the tree's files.
pub const TREE_QUERY: &str = "connection (reset|refused) by peer";
/// The name-only query: about 10% of the files are Markdown.
pub const TREE_NAME_GLOB: &str = "*.md";

/// Bump when the generators change, so that stale data is regenerated.
const DATA_VERSION: &str = "v1";

/// SplitMix64: tiny, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        // `below` is < len, which fits in usize.
        &items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

/// Returns the path of the 1 GiB log, generating it if it is missing.
pub fn ensure_log(data_dir: &Path) -> Result<PathBuf> {
    let path = data_dir.join(format!("syslog-1g-{DATA_VERSION}.log"));
    if fs::metadata(&path).is_ok_and(|meta| meta.len() >= LOG_BYTES) {
        return Ok(path);
    }
    eprintln!("generating {} (1 GiB, once) ...", path.display());
    let partial = path.with_extension("log.partial");
    write_log(&partial).with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(path)
}

fn write_log(path: &Path) -> Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng::new(0x5EED_1065);
    let mut line = String::with_capacity(4096);
    let mut written = 0u64;
    // Seconds since Jan 1 00:00:00; about one line per second, like a busy small server.
    let mut clock = 0u64;
    while written < LOG_BYTES {
        clock += rng.below(3);
        line.clear();
        syslog_line(&mut rng, clock, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(())
}

const MONTHS: [(&str, u64); 12] = [
    ("Jan", 31),
    ("Feb", 28),
    ("Mar", 31),
    ("Apr", 30),
    ("May", 31),
    ("Jun", 30),
    ("Jul", 31),
    ("Aug", 31),
    ("Sep", 30),
    ("Oct", 31),
    ("Nov", 30),
    ("Dec", 31),
];

const USERS: &[&str] = &[
    "root", "admin", "ubuntu", "deploy", "www-data", "backup", "git", "test", "oracle", "pi",
];
const UNITS: &[&str] = &[
    "apt-daily.service",
    "logrotate.service",
    "certbot.service",
    "phpsessionclean.service",
    "man-db.service",
    "fstrim.service",
    "systemd-tmpfiles-clean.service",
    "mariadb.service",
];
const CRON_COMMANDS: &[&str] = &[
    "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    "cd / && run-parts --report /etc/cron.hourly",
    "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi",
    "/usr/local/bin/backup-wordpress.sh --incremental >> /var/log/backup.log 2>&1",
    "wp --path=/var/www/html cron event run --due-now --quiet",
];
const PLUGINS: &[&str] = &[
    "woocommerce",
    "contact-form-7",
    "wordfence",
    "elementor",
    "yoast-seo",
    "akismet",
];

fn push_ip(rng: &mut Rng, line: &mut String) {
    let _ = write!(
        line,
        "{}.{}.{}.{}",
        rng.between(1, 223),
        rng.below(256),
        rng.below(256),
        rng.between(1, 254)
    );
}

/// One line in the traditional syslog format, e.g.
/// `Mar 14 06:25:01 ebon sshd[1234]: Failed password for root from 1.2.3.4 port 5 ssh2`.
fn syslog_line(rng: &mut Rng, clock: u64, line: &mut String) {
    let seconds = clock % (365 * 86_400);
    let mut day_of_year = seconds / 86_400;
    let mut month = "Dec";
    for (name, days) in MONTHS {
        if day_of_year < days {
            month = name;
            break;
        }
        day_of_year -= days;
    }
    let time_of_day = seconds % 86_400;
    let _ = write!(
        line,
        "{month} {:>2} {:02}:{:02}:{:02} ebon ",
        day_of_year + 1,
        time_of_day / 3600,
        time_of_day / 60 % 60,
        time_of_day % 60
    );
    let pid = rng.between(300, 4_000_000);
    let port = rng.between(1024, 65535);
    match rng.below(100) {
        0..=19 => {
            let _ = write!(
                line,
                "sshd[{pid}]: Failed password for invalid user {} from ",
                rng.pick(USERS)
            );
            push_ip(rng, line);
            let _ = write!(line, " port {port} ssh2");
        }
        20..=29 => {
            let _ = write!(
                line,
                "sshd[{pid}]: Accepted publickey for {} from ",
                rng.pick(USERS)
            );
            push_ip(rng, line);
            let _ = write!(line, " port {port} ssh2: ED25519 SHA256:");
            for _ in 0..43 {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                line.push(char::from(*rng.pick(alphabet)));
            }
        }
        30..=44 => {
            let _ = write!(
                line,
                "CRON[{pid}]: ({}) CMD ({})",
                rng.pick(USERS),
                rng.pick(CRON_COMMANDS)
            );
        }
        45..=64 => {
            let _ = write!(
                line,
                "kernel: [{}.{:06}] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:{:02x}:{:02x}:{:02x}:fe:ff:ff:ff:ff:ff:08:00 SRC=",
                clock + 1000,
                rng.below(1_000_000),
                rng.below(256),
                rng.below(256),
                rng.below(256)
            );
            push_ip(rng, line);
            line.push_str(" DST=10.0.0.5");
            let _ = write!(
                line,
                " LEN={} TOS=0x00 PREC=0x00 TTL={} ID={} DF PROTO=TCP SPT={port} DPT={} WINDOW={} RES=0x00 SYN URGP=0",
                rng.between(40, 1500),
                rng.between(30, 255),
                rng.below(65536),
                rng.pick(&[22, 23, 80, 443, 3306, 3389, 5432, 8080]),
                rng.between(1024, 65535)
            );
        }
        65..=79 => {
            let unit = rng.pick(UNITS);
            match rng.below(3) {
                0 => {
                    let _ = write!(line, "systemd[1]: Started {unit}.");
                }
                1 => {
                    let _ = write!(line, "systemd[1]: {unit}: Deactivated successfully.");
                }
                _ => {
                    let _ = write!(
                        line,
                        "systemd[1]: {unit}: Consumed {}.{:03}s CPU time.",
                        rng.below(30),
                        rng.below(1000)
                    );
                }
            }
        }
        80..=89 => {
            let _ = write!(line, "postfix/smtpd[{pid}]: connect from unknown[");
            push_ip(rng, line);
            line.push(']');
        }
        90..=98 => {
            let _ = write!(
                line,
                "php-fpm8.2[{pid}]: [pool www] child {} exited with code 0 after {}.{:06} seconds from start",
                rng.between(1000, 99999),
                rng.below(5000),
                rng.below(1_000_000)
            );
        }
        _ => {
            // The occasional long line: a PHP warning with a stack trace folded into one line.
            let plugin = rng.pick(PLUGINS);
            let _ = write!(
                line,
                "php-fpm8.2[{pid}]: PHP Warning:  Undefined array key \"{}\" in /var/www/html/wp-content/plugins/{plugin}/includes/class-{plugin}.php on line {}. Stack trace:",
                rng.pick(USERS),
                rng.between(10, 3000)
            );
            for frame in 0..rng.between(3, 25) {
                let _ = write!(
                    line,
                    " #{frame} /var/www/html/wp-includes/class-wp-hook.php({}): {}->handle_request(Array)",
                    rng.between(100, 400),
                    rng.pick(PLUGINS)
                );
            }
        }
    }
}

/// The generated file tree and what a correct search of it finds.
pub struct Tree {
    pub root: PathBuf,
    pub files: usize,
    pub bytes: u64,
    /// Files with at least one line matching [`TREE_QUERY`] (case-insensitive).
    pub matching_files: usize,
    /// Lines matching [`TREE_QUERY`] (case-insensitive).
    pub matching_lines: usize,
    /// Files matching [`TREE_NAME_GLOB`].
    pub markdown_files: usize,
}

/// Returns the 20,000-file tree, generating it if its completion marker is missing.
pub fn ensure_tree(data_dir: &Path) -> Result<Tree> {
    let root = data_dir.join(format!("tree-{DATA_VERSION}"));
    let marker = data_dir.join(format!("tree-{DATA_VERSION}.complete"));
    if let Ok(text) = fs::read_to_string(&marker)
        && let Some(tree) = parse_marker(&root, &text)
    {
        return Ok(tree);
    }
    eprintln!("generating {} (20,000 files, once) ...", root.display());
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("removing {}", root.display()))?;
    }
    let tree = write_tree(&root).with_context(|| format!("writing {}", root.display()))?;
    fs::write(
        &marker,
        format!(
            "{} {} {} {} {}\n",
            tree.files, tree.bytes, tree.matching_files, tree.matching_lines, tree.markdown_files
        ),
    )?;
    Ok(tree)
}

fn parse_marker(root: &Path, text: &str) -> Option<Tree> {
    let numbers: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [files, bytes, matching_files, matching_lines, markdown_files] = numbers[..] else {
        return None;
    };
    Some(Tree {
        root: root.to_path_buf(),
        files: usize::try_from(files).ok()?,
        bytes,
        matching_files: usize::try_from(matching_files).ok()?,
        matching_lines: usize::try_from(matching_lines).ok()?,
        markdown_files: usize::try_from(markdown_files).ok()?,
    })
}

/// Words for the filler text: none of them is "by" or "peer", so only the planted lines match.
const WORDS: &[&str] = &[
    "the",
    "server",
    "request",
    "handler",
    "returns",
    "value",
    "config",
    "error",
    "timeout",
    "cache",
    "buffer",
    "thread",
    "socket",
    "client",
    "session",
    "token",
    "update",
    "plugin",
    "database",
    "query",
    "index",
    "table",
    "column",
    "backup",
    "restore",
    "deploy",
    "release",
    "version",
    "module",
    "function",
    "struct",
    "impl",
    "async",
    "await",
    "result",
    "option",
    "string",
    "vector",
    "map",
    "key",
    "path",
    "file",
    "directory",
    "read",
    "write",
    "open",
    "close",
    "lock",
    "unlock",
    "retry",
    "failed",
    "success",
    "warning",
    "notice",
    "debug",
    "trace",
    "user",
    "group",
    "permission",
    "denied",
    "allowed",
    "network",
    "interface",
    "address",
    "port",
    "connection",
    "established",
    "closed",
    "reset",
    "refused",
    "and",
    "or",
    "not",
    "with",
    "from",
    "into",
    "over",
    "under",
    "after",
    "before",
    "while",
    "when",
    "then",
    "else",
    "for",
    "each",
    "every",
    "some",
    "none",
    "all",
    "first",
    "last",
    "next",
    "previous",
    "count",
    "size",
    "length",
    "width",
    "height",
    "offset",
    "limit",
    "page",
    "line",
    "column",
    "byte",
    "kilobyte",
    "megabyte",
    "memory",
    "disk",
    "cpu",
    "load",
    "average",
    "process",
    "service",
    "daemon",
    "kernel",
    "module",
    "wordpress",
    "nginx",
    "mariadb",
    "php",
    "cron",
    "systemd",
    "journal",
    "rotate",
    "compress",
];
const PLANTED: &[&str] = &[
    "connection reset by peer",
    "Connection reset by peer",
    "CONNECTION RESET BY PEER",
    "connection refused by peer",
    "Connection Refused by Peer",
];
/// Extensions and their weights out of 20: 10% Markdown.
const EXTENSIONS: &[(&str, u64)] = &[("txt", 12), ("rs", 4), ("md", 2), ("log", 2)];

fn write_tree(root: &Path) -> Result<Tree> {
    let mut rng = Rng::new(0x7EE5_2000);
    let mut tree = Tree {
        root: root.to_path_buf(),
        files: 0,
        bytes: 0,
        matching_files: 0,
        matching_lines: 0,
        markdown_files: 0,
    };
    let mut text = String::with_capacity(10_000);
    for dir_index in 0..TREE_DIRS {
        let dir = root.join(format!("d{dir_index:03}"));
        fs::create_dir_all(&dir)?;
        for file_index in 0..TREE_FILES_PER_DIR {
            let extension = weighted_extension(&mut rng);
            let planted = if rng.chance(15) { rng.between(1, 3) } else { 0 };
            text.clear();
            file_text(&mut rng, planted, &mut text);
            let path = dir.join(format!("f{file_index:03}.{extension}"));
            fs::write(&path, text.as_bytes())?;
            tree.files += 1;
            tree.bytes += text.len() as u64;
            if planted > 0 {
                tree.matching_files += 1;
                tree.matching_lines += usize::try_from(planted)?;
            }
            if extension == "md" {
                tree.markdown_files += 1;
            }
        }
    }
    Ok(tree)
}

fn weighted_extension(rng: &mut Rng) -> &'static str {
    let mut roll = rng.below(20);
    for (extension, weight) in EXTENSIONS {
        if roll < *weight {
            return extension;
        }
        roll -= weight;
    }
    "txt"
}

/// 2–8 KB of lines of 40–100 characters, with `planted` lines carrying the query.
fn file_text(rng: &mut Rng, planted: u64, text: &mut String) {
    let target = usize::try_from(rng.between(2048, 8192)).unwrap_or(4096);
    let mut planted_positions: Vec<usize> = (0..planted)
        .map(|_| usize::try_from(rng.below(30)).unwrap_or(0))
        .collect();
    planted_positions.sort_unstable();
    let mut line_number = 0;
    while text.len() < target {
        while planted_positions
            .first()
            .is_some_and(|&position| position <= line_number)
        {
            planted_positions.remove(0);
            planted_line(rng, text);
            line_number += 1;
        }
        let line_start = text.len();
        let width = usize::try_from(rng.between(40, 100)).unwrap_or(60);
        while text.len() - line_start < width {
            if text.len() > line_start {
                text.push(' ');
            }
            text.push_str(rng.pick::<&str>(WORDS));
        }
        text.push('\n');
        line_number += 1;
    }
    // Short files may end before the last planted position: plant the rest at the end.
    for _ in planted_positions {
        planted_line(rng, text);
    }
}

fn planted_line(rng: &mut Rng, text: &mut String) {
    let _ = write!(text, "{} {}: ", rng.pick(WORDS), rng.pick(WORDS));
    text.push_str(rng.pick::<&str>(PLANTED));
    text.push('\n');
}
