//! The parse and the word analysis: the pre-checks that run on the raw string, the brush-parser
//! parse (which must never take the server down), and the quote removal of one word into an
//! [`Argument`] that the policy and the program rules judge.
//!
//! Everything here fails closed: a word piece this file does not explicitly understand is a
//! [`Denial`], and a string the parser cannot take is an error before anything is judged.

use std::panic::{self, AssertUnwindSafe};

use brush_parser::ast;
use brush_parser::word::{self, Parameter, ParameterExpr, WordPiece};
use brush_parser::{Parser, ParserOptions};

use super::{Denial, shown};
use crate::error::ToolError;

/// The longest command string accepted, in bytes.
pub const MAX_COMMAND_BYTES: usize = 8 * 1024;

/// The most nesting openers (`(`, `{`, backtick, `if`, `while`, ...) a command may contain. The
/// parser recurses on them; the bound keeps it far from the end of a 2 MiB thread stack.
pub const MAX_NESTING: usize = 32;

/// Words that open a nested construct in the parser (see [`MAX_NESTING`]).
const NESTING_KEYWORDS: &[&str] = &[
    "if", "elif", "while", "until", "for", "select", "case", "function", "coproc", "[[",
];

/// Pre-checks, then the parse. Errors here are final `ToolError`s.
pub(super) fn parse(command: &str) -> Result<ast::Program, ToolError> {
    if command.trim().is_empty() {
        return Err(ToolError::invalid(
            "the command is empty; send a command such as `uptime`",
        ));
    }
    if command.len() > MAX_COMMAND_BYTES {
        return Err(ToolError::invalid(format!(
            "the command is {} bytes; the limit is {MAX_COMMAND_BYTES}",
            command.len()
        )));
    }
    if let Some(control) = command
        .chars()
        .find(|c| c.is_control() && *c != '\n' && *c != '\t')
    {
        return Err(ToolError::denied(format!(
            "the command contains the control character U+{:04X}; only printable text, tabs and \
             newlines are allowed",
            u32::from(control)
        )));
    }
    // Here-documents are refused anyway, and brush-parser 0.4.0's here-document tokenizer can
    // allocate without bound on some malformed input (found by fuzzing): refuse `<<` unparsed.
    if command.contains("<<") {
        return Err(ToolError::denied(
            "`<<` (here-documents, here-strings) is not allowed anywhere in the command, even \
             quoted; pass data as arguments or read files with `cat`",
        ));
    }
    if nesting_openers(command) > MAX_NESTING {
        return Err(ToolError::denied(format!(
            "the command has more than {MAX_NESTING} parentheses, braces, backticks and compound \
             keywords; send a simpler command"
        )));
    }
    let options = ParserOptions::default();
    // The parser allows itself `unwrap`; a panic must refuse the command, not end the server.
    let parsed = panic::catch_unwind(AssertUnwindSafe(|| {
        Parser::new(std::io::Cursor::new(command.as_bytes()), &options).parse_program()
    }));
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(error)) => Err(ToolError::invalid(format!(
            "the command is not valid shell syntax as Skippy parses it ({error}); nothing was run"
        ))),
        Err(_) => Err(ToolError::denied(
            "Skippy's shell parser failed on this command; nothing was run, send a simpler command",
        )),
    }
}

/// An upper bound on the nesting depth the parser could reach.
fn nesting_openers(command: &str) -> usize {
    let characters = command
        .chars()
        .filter(|c| matches!(c, '(' | '{' | '`'))
        .count();
    // `$[` (old arithmetic) nests too; the fuzz target overflowed the stack with 300 of them.
    let brackets = command.matches("$[").count();
    let keywords = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>'))
        .filter(|token| NESTING_KEYWORDS.contains(token))
        .count();
    characters + brackets + keywords
}

/// A word after quote removal.
#[derive(Debug)]
pub(super) struct Argument {
    /// The word as written, for messages.
    pub(super) raw: String,
    /// The value with quotes removed; meaningful for decisions only when `literal`.
    pub(super) value: String,
    /// No expansion, glob or brace character: `value` is exactly what the program receives.
    pub(super) literal: bool,
    /// The previous piece was a text ending in a `$` that the parser did not read as an expansion.
    pending_dollar: bool,
    /// The previous piece was a parameter expansion.
    after_parameter: bool,
    /// What the expanded word starts with.
    pub(super) leading: Leading,
    /// An unquoted parameter expansion: the shell may split the word into several.
    pub(super) splits: bool,
    /// The word as a glob for the /proc check: quotes removed, every expansion written as `*`.
    pub(super) pattern: String,
}

/// The first character of a word after expansion, as far as Skippy can know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leading {
    /// Nothing yet (an empty word so far).
    Unset,
    /// A character written literally (quoted, escaped, or plain and not a glob character).
    Literal(char),
    /// `~`: the home directory, an absolute path.
    Tilde,
    /// A parameter expansion, glob or brace: anything, including `-`.
    Expansion,
}

/// Parameters whose value repeats text the model wrote elsewhere (the previous command's last
/// argument, the command line itself), so that Skippy never judged it in this position.
const ECHO_PARAMETERS: &[&str] = &[
    "_",
    "BASH_COMMAND",
    "BASH_EXECUTION_STRING",
    "BASH_ARGV",
    "BASH_REMATCH",
];

/// Quote-remove a word, refusing every expansion that can run code or that Skippy does not model.
pub(super) fn analyse_word(word: &ast::Word) -> Result<Argument, Denial> {
    let options = ParserOptions::default();
    let pieces = word::parse(&word.value, &options).map_err(|_| {
        Denial::construct(format!(
            "Skippy could not parse the word `{}`",
            shown(&word.value)
        ))
    })?;
    let mut argument = Argument {
        raw: word.value.clone(),
        value: String::new(),
        literal: true,
        pending_dollar: false,
        after_parameter: false,
        leading: Leading::Unset,
        splits: false,
        pattern: String::new(),
    };
    for piece in &pieces {
        add_piece(&piece.piece, false, &mut argument)?;
    }
    Ok(argument)
}

fn add_piece(piece: &WordPiece, quoted: bool, argument: &mut Argument) -> Result<(), Denial> {
    let raw = shown(&argument.raw);
    // A `$` the parser left as text, followed by anything, is an expansion it does not know
    // (`${ cmd; }` in bash 5.3 and ksh, `$[...]`, zsh's `${(e)X}`): refuse it.
    if std::mem::take(&mut argument.pending_dollar) {
        return Err(Denial::construct(format!(
            "the `$` expansion in `{raw}` is not one Skippy understands; only plain `$NAME` or \
             `${{NAME}}` are allowed (write a literal `$` as '$')"
        )));
    }
    let after_parameter = std::mem::take(&mut argument.after_parameter);
    match piece {
        WordPiece::Text(text) => {
            if text.contains('`') {
                return Err(Denial::construct(format!(
                    "the backtick in `{raw}` is not allowed (command substitution)"
                )));
            }
            if let Some(position) = text.find('$') {
                if position + 1 != text.len() {
                    return Err(Denial::construct(format!(
                        "the `$` expansion in `{raw}` is not one Skippy understands; only plain \
                         `$NAME` or `${{NAME}}` are allowed"
                    )));
                }
                argument.pending_dollar = true;
                argument.literal = false;
            }
            if after_parameter && text.starts_with('[') {
                return Err(Denial::construct(format!(
                    "`[` right after a parameter in `{raw}` is not allowed (zsh reads it as an \
                     array subscript); quote the `[`"
                )));
            }
            if !quoted {
                if text.contains(['(', ')']) {
                    return Err(Denial::construct(format!(
                        "unquoted parentheses in `{raw}` are not allowed (extglob, zsh glob \
                         qualifiers and fish command substitution); quote them"
                    )));
                }
                let zsh_equals = argument.value.is_empty() && text.starts_with('=');
                if zsh_equals || text.contains(['*', '?', '[', ']', '{', '}']) {
                    argument.literal = false;
                }
                if zsh_equals || text.starts_with(['*', '?', '[', '{']) {
                    argument.lead(Leading::Expansion);
                }
            }
            argument.push_literal(text);
        }
        WordPiece::SingleQuotedText(text) => {
            if text.ends_with('\\') {
                return Err(Denial::construct(format!(
                    "a single-quoted string ending in a backslash (`{raw}`) is not allowed: shells \
                     disagree on where it ends"
                )));
            }
            argument.push_literal(text);
        }
        WordPiece::DoubleQuotedSequence(inner) => {
            for piece in inner {
                add_piece(&piece.piece, true, argument)?;
            }
            // The closing quote ends a trailing `$`: `"cost$"` is literal.
            argument.pending_dollar = false;
            argument.after_parameter = false;
        }
        WordPiece::AnsiCQuotedText(_) | WordPiece::GettextDoubleQuotedSequence(_) => {
            return Err(Denial::construct(format!(
                "`$'...'` and `$\"...\"` quoting in `{raw}` is not allowed (dash reads it \
                 differently); use '...' or \"...\""
            )));
        }
        WordPiece::TildeExpansion(_) => {
            argument.literal = false;
            argument.lead(Leading::Tilde);
            argument.value.push('~');
            argument.pattern.push('*');
        }
        WordPiece::ParameterExpansion(expression) => {
            if !is_plain_parameter(expression) {
                return Err(Denial::construct(format!(
                    "the parameter expansion in `{raw}` is not allowed: only plain `$NAME` or \
                     `${{NAME}}` (no operators, indirection or array index)"
                )));
            }
            if let ParameterExpr::Parameter {
                parameter: Parameter::Named(name),
                ..
            } = expression
                && ECHO_PARAMETERS.contains(&name.as_str())
            {
                return Err(Denial::construct(format!(
                    "`${name}` in `{raw}` is not allowed: it repeats text from elsewhere in the                      command that Skippy did not check in this position; write the value out"
                )));
            }
            argument.literal = false;
            argument.after_parameter = true;
            argument.splits |= !quoted;
            argument.lead(Leading::Expansion);
            argument.value.push('$');
            argument.pattern.push('*');
        }
        WordPiece::CommandSubstitution(_) | WordPiece::BackquotedCommandSubstitution(_) => {
            return Err(Denial::construct(format!(
                "command substitution in `{raw}` is never allowed: it runs a command Skippy \
                 cannot check"
            )));
        }
        WordPiece::ArithmeticExpression(_) => {
            return Err(Denial::construct(format!(
                "arithmetic expansion in `{raw}` is not allowed"
            )));
        }
        WordPiece::EscapeSequence(sequence) => {
            let Some(escaped) = sequence.strip_prefix('\\') else {
                return Err(Denial::construct(format!(
                    "Skippy could not parse the escape in `{raw}`"
                )));
            };
            // A backslash-newline is a line continuation: it disappears.
            if escaped != "\n" {
                argument.push_literal(escaped);
            }
        }
    }
    Ok(())
}

impl Argument {
    /// Record what the word starts with, if nothing came before.
    fn lead(&mut self, leading: Leading) {
        if self.leading == Leading::Unset {
            self.leading = leading;
        }
    }

    /// Append text that reaches the program as written (glob characters in it were judged by the
    /// caller).
    fn push_literal(&mut self, text: &str) {
        if let Some(first) = text.chars().next() {
            self.lead(Leading::Literal(first));
        }
        self.value.push_str(text);
        self.pattern.push_str(text);
    }
}

fn is_plain_parameter(expression: &ParameterExpr) -> bool {
    matches!(
        expression,
        ParameterExpr::Parameter {
            parameter: Parameter::Named(_) | Parameter::Positional(_) | Parameter::Special(_),
            indirect: false,
        }
    )
}
