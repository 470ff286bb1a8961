//! The one place where patterns given by the model (globs and regular expressions) are compiled.
//!
//! A pattern is cheap to send and can be expensive to compile: `{{{…a…}}}` nested 300 deep or
//! 100,000 `*` made globset panic ("regex compilation shouldn't fail"), and `a{1000}{1000}` asks
//! for a program of a million states. So every pattern is bounded *before* it is compiled
//! (length, brace nesting, alternatives, stars), every regex is compiled with the same size
//! limits ([`REGEX_SIZE_LIMIT`], [`REGEX_DFA_SIZE_LIMIT`], [`REGEX_NEST_LIMIT`]) whichever tool
//! compiles it, and globset's compile runs under `catch_unwind` as a backstop, so that a pattern
//! the checks let through but the library cannot handle is an `invalid_argument` error, never a
//! lost request. Errors name the parameter (`field`) and say how to simplify.
//!
//! Matching cost stays linear: globset and the regex crates use finite automata without
//! backtracking, so a compiled pattern cannot take exponential time on a long input.

use std::panic::{self, AssertUnwindSafe};

use globset::{GlobBuilder, GlobMatcher};
use grep_regex::{RegexMatcher, RegexMatcherBuilder};

use crate::error::{ToolError, ToolResult};

/// Longest glob, in bytes. Names and paths are short; a longer glob is not a real file pattern.
pub const MAX_GLOB_LEN: usize = 1024;
/// Deepest nesting of `{…}` alternatives in a glob.
pub const MAX_GLOB_NESTING: usize = 8;
/// Most alternatives (`{a,b}` counts two) in a glob, over all its braces.
pub const MAX_GLOB_ALTERNATIVES: usize = 256;
/// Most `*` in a glob (`**` counts two).
pub const MAX_GLOB_STARS: usize = 64;
/// Longest regular expression (or literal search string), in bytes.
pub const MAX_REGEX_LEN: usize = 4096;
/// Largest compiled regex program, in bytes, for every tool. Equal to globset's own fixed NFA limit,
/// so a glob and a regex meet the same ceiling.
pub const REGEX_SIZE_LIMIT: usize = 10 * 1024 * 1024;
/// Largest lazy-DFA cache of one regex, in bytes (per searching thread). Past it the engine clears
/// its cache or falls back to a slower one; memory stays bounded either way.
pub const REGEX_DFA_SIZE_LIMIT: usize = 10 * 1024 * 1024;
/// Deepest nesting of groups and repetitions in a regex.
pub const REGEX_NEST_LIMIT: u32 = 100;

/// How a glob is matched.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobOptions {
    /// `*` and `?` do not match `/` (only `**` crosses directories).
    pub literal_separator: bool,
    pub case_insensitive: bool,
}

/// How a regular expression is matched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegexOptions {
    pub case_insensitive: bool,
    /// The pattern is a literal string, not a regex.
    pub literal: bool,
}

/// Compile the glob `pattern` (the value of parameter `field`) after checking its bounds.
pub fn glob(field: &str, pattern: &str, options: GlobOptions) -> ToolResult<GlobMatcher> {
    check_glob(field, pattern)?;
    let built = GlobBuilder::new(pattern)
        .literal_separator(options.literal_separator)
        .case_insensitive(options.case_insensitive)
        .build()
        .map_err(|error| {
            ToolError::invalid(format!("`{field}` is not a valid glob: {}", error.kind()))
        })?;
    // globset turns the glob into a regex and `expect`s it to compile; a glob that passed the checks
    // above should compile, and if one does not, the request gets an answer instead of a panic.
    panic::catch_unwind(AssertUnwindSafe(|| built.compile_matcher())).map_err(|_| {
        tracing::warn!(field, length = pattern.len(), "glob compilation panicked");
        ToolError::invalid(format!(
            "`{field}` is too complex to compile; simplify it (fewer `*`, fewer or flatter `{{…}}` alternatives)"
        ))
    })
}

/// Check a glob's length, brace nesting, alternatives and stars. Escapes (`\x`) and character
/// classes (`[…]`) are skipped, as globset reads them.
pub fn check_glob(field: &str, pattern: &str) -> ToolResult<()> {
    if pattern.len() > MAX_GLOB_LEN {
        return Err(ToolError::invalid(format!(
            "`{field}` is {} bytes long; a glob may be at most {MAX_GLOB_LEN} bytes",
            pattern.len()
        )));
    }
    let shape = GlobShape::of(pattern);
    if shape.nesting > MAX_GLOB_NESTING {
        return Err(ToolError::invalid(format!(
            "`{field}` nests `{{…}}` {} deep; at most {MAX_GLOB_NESTING} levels are allowed, flatten the alternatives",
            shape.nesting
        )));
    }
    if shape.alternatives > MAX_GLOB_ALTERNATIVES {
        return Err(ToolError::invalid(format!(
            "`{field}` has {} alternatives; at most {MAX_GLOB_ALTERNATIVES} are allowed, split the search",
            shape.alternatives
        )));
    }
    if shape.stars > MAX_GLOB_STARS {
        return Err(ToolError::invalid(format!(
            "`{field}` has {} `*`; at most {MAX_GLOB_STARS} are allowed, use fewer wildcards",
            shape.stars
        )));
    }
    Ok(())
}

/// Largest ignore file (`.gitignore`, `.ignore`, `.git/info/exclude`) [`check_ignore_file`] reads.
pub const MAX_IGNORE_FILE: u64 = 1024 * 1024;

/// Check the globs of an ignore file before a directory walker (the `ignore` crate) compiles them.
/// Such a file can be written by a tool, and globset's translation recurses once per nested `{`:
/// a line of some 10,000 nested braces overflows the walker's stack and aborts the whole process,
/// which no `catch_unwind` can catch. Every line must pass [`check_glob`]. A missing file passes.
pub fn check_ignore_file(path: &std::path::Path) -> ToolResult<()> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Not blocking on a FIFO, not following a link (finding 10).
    let flags = nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_NOFOLLOW;
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(path);
    let file = match opened {
        Ok(file) => file,
        // Absent (also below a `.git` that is a file, as in worktrees), or unreadable by the
        // walker too: nothing is compiled from it.
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::NotADirectory
                    | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(());
        }
        Err(error) => return Err(ToolError::io(path, &error)),
    };
    let metadata = file
        .metadata()
        .map_err(|error| ToolError::io(path, &error))?;
    if !metadata.is_file() {
        return Err(ToolError::invalid(format!(
            "`{}` is not a regular file; remove it, or pass respect_gitignore=false",
            path.display()
        )));
    }
    let mut text = Vec::new();
    file.take(MAX_IGNORE_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|error| ToolError::io(path, &error))?;
    if text.len() as u64 > MAX_IGNORE_FILE {
        return Err(ToolError::invalid(format!(
            "`{}` is over {} KiB; Skippy does not read ignore files that large: shorten it, or \
             pass respect_gitignore=false",
            path.display(),
            MAX_IGNORE_FILE / 1024
        )));
    }
    for (number, line) in String::from_utf8_lossy(&text).lines().enumerate() {
        check_glob("line", line).map_err(|error| {
            ToolError::invalid(format!(
                "`{}` line {}: {error}; fix the file, or pass respect_gitignore=false",
                path.display(),
                number + 1
            ))
        })?;
    }
    Ok(())
}

/// What makes a glob expensive, counted outside escapes and character classes.
#[derive(Debug, Default, PartialEq, Eq)]
struct GlobShape {
    nesting: usize,
    alternatives: usize,
    stars: usize,
}

impl GlobShape {
    fn of(pattern: &str) -> Self {
        let mut shape = GlobShape::default();
        let mut depth = 0usize;
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '[' => {
                    // `[!]…]`, `[^]…]` and `[]…]` hold a literal `]` first.
                    if matches!(chars.peek(), Some('!' | '^')) {
                        chars.next();
                    }
                    if chars.peek() == Some(&']') {
                        chars.next();
                    }
                    for inner in chars.by_ref() {
                        if inner == ']' {
                            break;
                        }
                    }
                }
                '{' => {
                    depth += 1;
                    shape.nesting = shape.nesting.max(depth);
                    shape.alternatives += 1;
                }
                ',' if depth > 0 => shape.alternatives += 1,
                '}' => depth = depth.saturating_sub(1),
                '*' => shape.stars += 1,
                _ => {}
            }
        }
        shape
    }
}

/// Compile `pattern` (the value of parameter `field`) as a `regex::bytes::Regex`.
pub fn regex(field: &str, pattern: &str, options: RegexOptions) -> ToolResult<regex::bytes::Regex> {
    check_regex(field, pattern)?;
    let source = if options.literal {
        regex::escape(pattern)
    } else {
        pattern.to_string()
    };
    regex::bytes::RegexBuilder::new(&source)
        .case_insensitive(options.case_insensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|error| regex_error(field, &error.to_string()))
}

/// Compile `pattern` (the value of parameter `field`) as a line-oriented matcher for
/// `grep-searcher` (lines end at `\n`).
pub fn grep_matcher(field: &str, pattern: &str, options: RegexOptions) -> ToolResult<RegexMatcher> {
    check_regex(field, pattern)?;
    RegexMatcherBuilder::new()
        .case_insensitive(options.case_insensitive)
        .fixed_strings(options.literal)
        .line_terminator(Some(b'\n'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build(pattern)
        .map_err(|error| regex_error(field, &error.to_string()))
}

/// Check a regex's length before it is parsed.
pub fn check_regex(field: &str, pattern: &str) -> ToolResult<()> {
    if pattern.len() > MAX_REGEX_LEN {
        return Err(ToolError::invalid(format!(
            "`{field}` is {} bytes long; a pattern may be at most {MAX_REGEX_LEN} bytes",
            pattern.len()
        )));
    }
    Ok(())
}

/// One message for a regex that does not compile, whichever library refused it. A pattern over the
/// size limit says so in words the model can act on.
fn regex_error(field: &str, detail: &str) -> ToolError {
    if detail.contains("size limit") || detail.contains("nest limit") {
        return ToolError::invalid(format!(
            "`{field}` compiles to more than the {} MiB regex limit (or nests deeper than {REGEX_NEST_LIMIT}); \
             simplify it: smaller repetition counts (`{{n}}`), fewer nested groups, or a plainer character class",
            REGEX_SIZE_LIMIT / (1024 * 1024)
        ));
    }
    ToolError::invalid(format!("`{field}` is not a valid regex: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_braces(depth: usize) -> String {
        format!("{}a{}", "{".repeat(depth), "}".repeat(depth))
    }

    #[test]
    fn finding_04_deep_braces_refused_without_panic() {
        let error = glob("name_glob", &nested_braces(300), GlobOptions::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        assert!(error.to_string().contains("name_glob"), "{error}");
    }

    #[test]
    fn finding_04_many_stars_refused_without_panic() {
        let error = glob("name_glob", &"*".repeat(100_000), GlobOptions::default()).unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        // Under the length cap, the star count still refuses.
        let error = glob("pattern", &"*".repeat(1000), GlobOptions::default()).unwrap_err();
        assert!(error.to_string().contains("`*`"), "{error}");
    }

    #[test]
    fn finding_04_ordinary_globs_still_match() {
        let options = GlobOptions {
            literal_separator: true,
            case_insensitive: false,
        };
        let matcher = glob("name_glob", "**/*.{rs,toml}", options).unwrap();
        assert!(matcher.is_match("src/lib.rs"));
        assert!(matcher.is_match("Cargo.toml"));
        assert!(!matcher.is_match("README.md"));
        let nested = glob("pattern", &nested_braces(MAX_GLOB_NESTING), options).unwrap();
        assert!(nested.is_match("a"));
        let folded = glob(
            "pattern",
            "*.LOG",
            GlobOptions {
                case_insensitive: true,
                ..options
            },
        )
        .unwrap();
        assert!(folded.is_match("syslog.log"));
        assert_eq!(
            glob("pattern", "{a,b", options).unwrap_err().code(),
            "invalid_argument"
        );
    }

    #[test]
    fn glob_shape_skips_escapes_and_classes() {
        assert_eq!(
            GlobShape::of(r"\{\*[{*]]{a,{b,c}}*"),
            GlobShape {
                nesting: 2,
                alternatives: 4,
                stars: 1
            }
        );
        assert_eq!(GlobShape::of("[!]{]*").stars, 1);
    }

    #[test]
    fn ignore_files_with_glob_bombs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".gitignore");
        assert!(check_ignore_file(&path).is_ok());
        std::fs::write(&path, "target/\n*.{log,tmp}\n# comment\n").unwrap();
        assert!(check_ignore_file(&path).is_ok());
        std::fs::write(&path, format!("ok\n{}\n", nested_braces(10_000))).unwrap();
        let error = check_ignore_file(&path).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }

    #[test]
    fn finding_04_huge_regexes_refused_by_every_compiler() {
        for pattern in ["a{1000}{1000}", "(?:\\w{100}){100}", &"(".repeat(200)] {
            let error = regex("filter", pattern, RegexOptions::default()).unwrap_err();
            assert_eq!(error.code(), "invalid_argument", "{pattern}");
            let error = grep_matcher("pattern", pattern, RegexOptions::default()).unwrap_err();
            assert_eq!(error.code(), "invalid_argument", "{pattern}");
        }
        let long = "a".repeat(MAX_REGEX_LEN + 1);
        assert!(regex("filter", &long, RegexOptions::default()).is_err());
        assert!(
            grep_matcher(
                "query",
                &long,
                RegexOptions {
                    literal: true,
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn finding_04_ordinary_regexes_still_match() {
        let folded = regex(
            "filter",
            "error|warn",
            RegexOptions {
                case_insensitive: true,
                literal: false,
            },
        )
        .unwrap();
        assert!(folded.is_match(b"disk ERROR"));
        let literal = regex(
            "filter",
            "a.b",
            RegexOptions {
                literal: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(literal.is_match(b"xa.by") && !literal.is_match(b"axb"));
        assert!(grep_matcher("pattern", r"\d+ ms", RegexOptions::default()).is_ok());
        assert_eq!(
            regex("filter", "(", RegexOptions::default())
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
    }
}
