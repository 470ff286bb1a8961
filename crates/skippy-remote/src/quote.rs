//! POSIX shell quoting: turning an argv into one command string that a remote shell parses back
//! into exactly that argv.
//!
//! SSH has no argv: the server hands one string to the user's login shell (`$SHELL -c <string>`).
//! Every word that is not made only of characters no POSIX shell treats specially is put in single
//! quotes, where nothing is special, and a `'` inside becomes `'\''` (close, escaped quote, reopen).
//! The program word is always quoted, so that a name such as `A=b` is not taken as an assignment,
//! `if` not as a reserved word, and an alias never replaces it. Words starting with `=` are quoted
//! too, because zsh expands `=cmd` to a path.
//!
//! NUL cannot be represented in a shell string (or any C string), so it is refused.

use std::borrow::Cow;

use skippy_core::{ToolError, ToolResult};

/// True for bytes that no POSIX shell (nor zsh) gives a meaning to inside a word.
fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'_' | b'.' | b'/' | b'=' | b':' | b'@' | b'%' | b'+' | b'-'
        )
}

/// Quote one word for a POSIX shell. Plain words are returned unchanged; an empty word is `''`.
pub fn quote_arg(word: &str) -> Cow<'_, str> {
    if !word.is_empty() && !word.starts_with('=') && word.bytes().all(is_plain) {
        return Cow::Borrowed(word);
    }
    Cow::Owned(single_quote(word))
}

/// Always single-quote `word`.
fn single_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Join an argv into one shell command line that runs exactly that argv.
///
/// Errors (`invalid_argument`) on an empty argv, an empty program name, or a NUL byte anywhere.
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> ToolResult<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(ToolError::invalid(
            "the command is empty; give the program and its arguments as a list",
        ));
    };
    let program = program.as_ref();
    if program.is_empty() {
        return Err(ToolError::invalid("the program name is empty"));
    }
    if argv.iter().any(|word| word.as_ref().contains('\0')) {
        return Err(ToolError::invalid(
            "an argument contains a NUL byte, which cannot be passed to a remote command",
        ));
    }
    let mut line = single_quote(program);
    for arg in args {
        line.push(' ');
        line.push_str(&quote_arg(arg.as_ref()));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile words and how they must be quoted.
    const TABLE: &[(&str, &str)] = &[
        ("plain-word_1.2/x:y@z%+=", "plain-word_1.2/x:y@z%+="),
        ("", "''"),
        ("a b", "'a b'"),
        ("; rm -rf ~", "'; rm -rf ~'"),
        ("$(id)", "'$(id)'"),
        ("`id`", "'`id`'"),
        ("it's", "'it'\\''s'"),
        ("'", "''\\'''"),
        ("\"dq\"", "'\"dq\"'"),
        ("back\\slash", "'back\\slash'"),
        ("line\nbreak", "'line\nbreak'"),
        ("tab\there", "'tab\there'"),
        ("ünïcødé ✓", "'ünïcødé ✓'"),
        ("*", "'*'"),
        ("~", "'~'"),
        ("#comment", "'#comment'"),
        ("a|b&c>d<e", "'a|b&c>d<e'"),
        ("=ls", "'=ls'"),
        ("!", "'!'"),
        ("{a,b}", "'{a,b}'"),
        ("$HOME", "'$HOME'"),
    ];

    #[test]
    fn quotes_table() {
        for (input, expected) in TABLE {
            assert_eq!(quote_arg(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn program_word_is_always_quoted() {
        assert_eq!(
            quote_argv(&["A=b", "ls", "-l"]).unwrap(),
            "'A=b' ls -l".to_string()
        );
        assert_eq!(quote_argv(&["if"]).unwrap(), "'if'");
    }

    #[test]
    fn refuses_empty_and_nul() {
        assert_eq!(
            quote_argv::<&str>(&[]).unwrap_err().code(),
            "invalid_argument"
        );
        assert_eq!(quote_argv(&[""]).unwrap_err().code(), "invalid_argument");
        assert_eq!(
            quote_argv(&["echo", "a\0b"]).unwrap_err().code(),
            "invalid_argument"
        );
    }

    /// The real test: a local POSIX shell parses the quoted line back into the same argv.
    #[test]
    fn local_sh_round_trips_hostile_argv() {
        let mut words: Vec<String> = TABLE.iter().map(|(input, _)| input.to_string()).collect();
        // Generated words: every printable ASCII byte and some control bytes, alone and mixed.
        for byte in 1u8..=127 {
            words.push(format!("{}", byte as char));
            words.push(format!("x{}y'z", byte as char));
        }
        words.push("'\\''".into());
        words.push("\\'\"$`!\n\r".into());
        let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
        argv.extend(words.iter().cloned());
        let line = quote_argv(&argv).unwrap();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let parsed: Vec<String> = output
            .stdout
            .split(|b| *b == 0)
            .map(|part| String::from_utf8(part.to_vec()).unwrap())
            .collect();
        // printf '%s\0' ends every word with NUL: the last split part is empty.
        assert_eq!(parsed.len(), words.len() + 1);
        assert_eq!(&parsed[..words.len()], words.as_slice());
    }
}
