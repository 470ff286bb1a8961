//! Keeping commands away from process secrets under `/proc`.
//!
//! On host `local` a command's parent is Skippy, whose memory (and, until it is scrubbed, its
//! environment) holds secrets; `/proc/<pid>/environ`, `/proc/<pid>/mem` and the pipes behind
//! `/proc/<pid>/fd/N` expose them to any process of the same user. Every argument of every program
//! (operator-added ones too) is checked here, as a path, whatever the program does with it:
//!
//! - The word is split into paths at `=`, `,` and `:` (so that `--file=/proc/..` and lists are
//!   covered), and each path into components at `/`. A component is "near /proc" once an earlier component is or could be
//!   `proc` or `..`: `..` after a symlink such as `/dev/fd` (to `/proc/self/fd`) or `/proc/net`
//!   (to `/proc/self/net`) lands in a process directory, so lexical normalisation cannot be
//!   trusted.
//! - Near /proc, a last component that is or could be `environ`, `mem`, `pagemap`, `auxv`,
//!   `syscall` or `stack` is refused, and so is `fd` when the next component could be a
//!   descriptor number.
//! - A component "could be" a name when it is the name, or when it holds an expansion (`$X`,
//!   `~`, a brace) or a glob that matches the name (`*`, `pro?`, `[e]nviron`, `[0-9]*`).
//!
//! `cmdline` is not refused: `ps` shows every command line anyway, and Skippy keeps no secret in
//! its own. `ls /proc`, `cat /proc/meminfo` and `cat /proc/1/status` stay allowed. Relative words
//! (`cat environ`) depend on the working directory, which `run_remote_command` checks with
//! [`super::check_working_directory`].

/// Entries of a process directory that hold or lead to secrets (a file's content).
const SECRET_FILES: &[&str] = &["environ", "mem", "pagemap", "auxv", "syscall", "stack"];

/// Separators between the paths of one word (`--file=PATH`, `a,b`, `PATH:PATH`).
const LIST_SEPARATORS: &[char] = &['=', ',', ':'];

/// Why `pattern` (a word with expansions written as `*`) can reach a process secret, if it can.
pub(super) fn secret_reason(pattern: &str) -> Option<&'static str> {
    pattern
        .split(LIST_SEPARATORS)
        .find_map(|path| path_secret_reason(path))
}

/// The check for one path: secret files count as the last component (they have no children),
/// `fd` when a descriptor number could follow it.
fn path_secret_reason(path: &str) -> Option<&'static str> {
    let components: Vec<&str> = path.split('/').collect();
    let mut near_proc = false;
    for (position, component) in components.iter().enumerate() {
        let next = components.get(position + 1);
        if near_proc {
            let secret_file = SECRET_FILES
                .iter()
                .any(|secret| could_be(component, secret));
            if next.is_none() && secret_file {
                return Some(
                    "it can reach a process's environment or memory under /proc (Skippy's own \
                     secrets among them)",
                );
            }
            if could_be(component, "fd") && next.is_some_and(|next| could_be_number(next)) {
                return Some(
                    "it can open another process's file descriptors under /proc (Skippy's pipes \
                     among them)",
                );
            }
        }
        if could_be(component, "proc") || could_be(component, "..") {
            near_proc = true;
        }
    }
    None
}

/// Whether a working directory could be inside `/proc` (or reach it through `/dev/fd`).
pub(super) fn directory_reaches_proc(path: &str) -> bool {
    path.split('/').any(|component| {
        component == "proc" || component == ".." || component == "fd" || component.contains('*')
    })
}

/// Whether a component could expand to a descriptor number.
fn could_be_number(component: &str) -> bool {
    ["0", "3", "10", "255"]
        .iter()
        .any(|number| could_be(component, number))
}

/// Whether `component` (possibly a glob, with `*` for expansions) could name `name`.
fn could_be(component: &str, name: &str) -> bool {
    // Braces and tildes expand to anything Skippy does not enumerate.
    if component.contains(['{', '}', '~']) {
        return true;
    }
    glob_matches(component.as_bytes(), name.as_bytes())
}

/// One element of a glob.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// `*`: any run of characters.
    Star,
    /// `?` or a bracket expression: any one character.
    One,
    Byte(u8),
}

/// Shell-glob matching of `*`, `?` and `[...]`; a bracket expression is treated as matching any
/// one character (wider than the shell, which is the safe direction). Iterative, in
/// O(pattern × name): patterns come from the model and may be thousands of `*`.
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    let tokens = tokenize(pattern);
    let (mut token, mut byte) = (0, 0);
    // The last `*` seen and the name position it was tried at, for backtracking.
    let mut star: Option<(usize, usize)> = None;
    while byte < name.len() {
        match tokens.get(token) {
            Some(Token::Star) => {
                star = Some((token, byte));
                token += 1;
            }
            Some(Token::One) => {
                token += 1;
                byte += 1;
            }
            Some(Token::Byte(expected)) if *expected == name[byte] => {
                token += 1;
                byte += 1;
            }
            _ => match star {
                Some((star_token, star_byte)) => {
                    star = Some((star_token, star_byte + 1));
                    token = star_token + 1;
                    byte = star_byte + 1;
                }
                None => return false,
            },
        }
    }
    tokens[token.min(tokens.len())..]
        .iter()
        .all(|token| *token == Token::Star)
}

fn tokenize(pattern: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut index = 0;
    while let Some(&byte) = pattern.get(index) {
        index += 1;
        let token = match byte {
            b'*' => Token::Star,
            b'?' => Token::One,
            b'[' => {
                // `[]...]` may hold `]` first; an unclosed `[` is a literal character.
                let close = pattern
                    .get(index + 1..)
                    .and_then(|rest| rest.iter().position(|&b| b == b']'));
                match close {
                    Some(close) => {
                        index += close + 2;
                        Token::One
                    }
                    None => Token::Byte(b'['),
                }
            }
            other => Token::Byte(other),
        };
        // Consecutive stars are one star.
        if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
            tokens.push(token);
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_shell_or_wider() {
        assert!(glob_matches(b"*", b"environ"));
        assert!(glob_matches(b"pro?", b"proc"));
        assert!(glob_matches(b"[p]roc", b"proc"));
        assert!(glob_matches(b"[0-9]*", b"12"));
        assert!(!glob_matches(b"e*x", b"environ"));
        assert!(glob_matches(b"e*on", b"environ"));
        assert!(!glob_matches(b"status", b"environ"));
        assert!(glob_matches(b"[", b"["));
        assert!(glob_matches(b"[]]x", b"]x"));
        assert!(glob_matches(b"*e*n*v*", b"environ"));
        assert!(!glob_matches(b"*x*", b"environ"));
        assert!(glob_matches(b"environ*", b"environ"));
        let many = "*a".repeat(4000);
        assert!(!glob_matches(many.as_bytes(), b"environ"));
    }

    #[test]
    fn secrets_near_proc_are_found() {
        for word in [
            "/proc/1/environ",
            "/proc/self/environ",
            "/proc/thread-self/environ",
            "/proc/1/task/2/environ",
            "//proc/./1/../1/environ",
            "../../proc/1/environ",
            "/dev/fd/../environ",
            "/proc/net/../mem",
            "/proc/*/environ",
            "/pro?/1/environ",
            "/{proc,x}/1/environ",
            "/proc/1/e*",
            "--file=/proc/1/environ",
            "/proc/1/fd/0",
            "/proc/*/*/0",
        ] {
            assert!(secret_reason(word).is_some(), "{word}");
        }
        for word in [
            "/proc",
            "/proc/meminfo",
            "/proc/1/status",
            "/proc/*/status",
            "/proc/1/fd",
            "/dev/fd/0",
            "mem",
            "environ",
            "/var/log/syslog",
            "/proc/1/cmdline",
        ] {
            assert!(secret_reason(word).is_none(), "{word}");
        }
    }
}
