//! Option allowlists: which options a program accepts, and a getopt-style scan that sorts its
//! arguments into options, option values and operands the way the program itself will.
//!
//! The scan follows GNU `getopt_long` (and Go's pflag, which docker uses): short options cluster
//! (`-tlnp`), a short option that takes a value takes the rest of its cluster or the next argument
//! (even one starting with `-`), long options are `--name`, `--name=value` or `--name value`,
//! options may follow operands, and `--` ends the options. Two deliberate differences make the
//! scan stricter than the program, never looser:
//! - Only exact long names are accepted. getopt_long also accepts any unambiguous prefix
//!   (`--ho` for `--host`); every allowed name is a real option of the program, and getopt_long
//!   prefers an exact match over a prefix match, so an allowed name is always read as itself.
//! - Options after operands are checked as options even where the program (POSIXLY_CORRECT,
//!   non-GNU builds) would read them as operands.

use super::parse::{Argument, Leading};
use super::{Denial, shown};

/// The options a program accepts. Names are written as typed (`-a`, `--all`).
#[derive(Debug)]
pub(super) struct Spec {
    pub program: &'static str,
    /// Short options without a value, as letters (`"alh"`).
    pub flags: &'static str,
    /// Short options that take a value: the rest of the cluster or the next argument.
    pub valued: &'static str,
    /// Short options with an optional value, only in the rest of the cluster (`-b-1`).
    pub optional: &'static str,
    /// Long options without a value (`"all"` for `--all`).
    pub long_flags: &'static [&'static str],
    /// Long options that take a value (`--type=x` or `--type x`).
    pub long_valued: &'static [&'static str],
    /// Long options with an optional value, only after `=` (`--color[=WHEN]`).
    pub long_optional: &'static [&'static str],
    /// Options refused with a specific reason (for the message), as typed.
    pub refused: &'static [(&'static str, &'static str)],
    /// Every argument must be a literal (the rule reads values Skippy must see).
    pub literal_only: bool,
    /// `-NUM` (all digits) is a count (`head -5`, `grep -3`, `last -10`).
    pub numeric: bool,
    /// Long flags accept `=true` / `=false` (Go's pflag booleans).
    pub bool_values: bool,
    /// An option with an optional value that also takes the next argument when it looks like a
    /// value the program would read (journalctl's `-n 50`, `-b -1`).
    pub lookahead: fn(&str, &str) -> bool,
}

/// No lookahead: optional values are only attached.
pub(super) fn no_lookahead(_option: &str, _next: &str) -> bool {
    false
}

impl Spec {
    /// A spec with nothing allowed; fill in with struct update syntax.
    pub const fn new(program: &'static str) -> Self {
        Spec {
            program,
            flags: "",
            valued: "",
            optional: "",
            long_flags: &[],
            long_valued: &[],
            long_optional: &[],
            refused: &[],
            literal_only: false,
            numeric: false,
            bool_values: false,
            lookahead: no_lookahead,
        }
    }

    /// The allowed options, for messages: `-a -l -t VALUE --all --type=VALUE --color[=VALUE]`.
    pub fn allowed(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.flags.chars().map(|c| format!("-{c}")));
        parts.extend(self.valued.chars().map(|c| format!("-{c} VALUE")));
        parts.extend(self.optional.chars().map(|c| format!("-{c}[VALUE]")));
        if self.numeric {
            parts.push("-NUM".to_string());
        }
        parts.extend(self.long_flags.iter().map(|name| format!("--{name}")));
        parts.extend(
            self.long_valued
                .iter()
                .map(|name| format!("--{name}=VALUE")),
        );
        parts.extend(
            self.long_optional
                .iter()
                .map(|name| format!("--{name}[=VALUE]")),
        );
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(" ")
        }
    }

    /// Refuse option `name` (as the program reads it) found in argument `arg`.
    pub fn refuse(&self, name: &str, arg: &str) -> Denial {
        let reason = self
            .refused
            .iter()
            .find(|(refused, _)| *refused == name)
            .map_or(
                "it is not one of the options Skippy knows to be read-only and local",
                |(_, reason)| *reason,
            );
        let program = self.program;
        let head = if name == arg || arg.starts_with(&format!("{name}=")) {
            format!("`{program} {name}` is not allowed")
        } else {
            format!(
                "`{program} {}` is not allowed (option `{name}`)",
                shown(arg)
            )
        };
        Denial::rule(format!(
            "{head}: {reason}. Allowed options of `{program}`: {}",
            self.allowed()
        ))
    }
}

/// One scanned argument.
#[derive(Debug)]
pub(super) enum Item<'a> {
    /// An option as the program reads it (`-a`, `--all`), with its value if it has one.
    Option {
        name: String,
        value: Option<Value<'a>>,
    },
    /// An operand (after `--`, or any argument that is not an option or a value).
    Operand(&'a Argument),
}

/// An option's value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Value<'a> {
    pub text: &'a str,
    pub literal: bool,
}

impl<'a> Item<'a> {
    /// The value of option `name` if this item is that option.
    pub fn value_of(&self, names: &[&str]) -> Option<Option<Value<'a>>> {
        match self {
            Item::Option { name, value } if names.contains(&name.as_str()) => Some(*value),
            _ => None,
        }
    }

    pub fn is(&self, names: &[&str]) -> bool {
        self.value_of(names).is_some()
    }
}

/// The operands among `items`.
pub(super) fn operands<'a>(items: &[Item<'a>]) -> Vec<&'a Argument> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Operand(argument) => Some(*argument),
            Item::Option { .. } => None,
        })
        .collect()
}

/// Refuse a non-literal argument that could expand into an option (rule 2 of the module doc).
pub(super) fn check_expansion(program: &str, argument: &Argument) -> Result<(), Denial> {
    if argument.literal {
        return Ok(());
    }
    if argument.splits {
        return Err(Denial::rule(format!(
            "the unquoted `$` expansion in `{}` (an argument of `{program}`) may split into \
             several words, one of which could start with `-` and be read as an option; put it in \
             double quotes (\"/srv/$NAME\") or use plain literals",
            shown(&argument.raw)
        )));
    }
    match argument.leading {
        Leading::Literal(first) if first != '-' => Ok(()),
        Leading::Tilde => Ok(()),
        _ => Err(Denial::rule(format!(
            "`{}` cannot be checked as an argument of `{program}`: an argument with `$`, a glob \
             or a brace must start with a literal character other than `-` (e.g. \
             `/var/log/*.log`, `./*`) or come after `--`, because its expansion could start with \
             `-` and be read as an option; quote patterns ('*.log') or use plain literals",
            shown(&argument.raw)
        ))),
    }
}

/// The refusal for a non-literal argument of a program that needs literals.
pub(super) fn not_literal(program: &str, argument: &Argument) -> Denial {
    Denial::rule(format!(
        "`{program}` arguments must be plain literals (no `$`, `~`, or unquoted glob or brace \
         characters; quote patterns like '*.log') so Skippy can check them; got `{}`",
        shown(&argument.raw)
    ))
}

/// All arguments as literal strings, for rules that read every value.
pub(super) fn literals<'a>(program: &str, args: &'a [Argument]) -> Result<Vec<&'a str>, Denial> {
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

/// Refuse the first operand of a program that takes none, with `reason`.
pub(super) fn no_operands(spec: &Spec, items: &[Item], reason: &str) -> Result<(), Denial> {
    let Some(operand) = operands(items).first().copied() else {
        return Ok(());
    };
    Err(Denial::rule(format!(
        "`{} {}` is not allowed: {reason}; allowed options: {}",
        spec.program,
        shown(&operand.value),
        spec.allowed()
    )))
}

/// Sort `args` into options and operands per `spec`, refusing unknown options and non-literal
/// arguments that could expand into options.
pub(super) fn scan<'a>(spec: &Spec, args: &'a [Argument]) -> Result<Vec<Item<'a>>, Denial> {
    let mut items = Vec::with_capacity(args.len());
    let mut index = 0;
    let mut options_ended = false;
    while let Some(argument) = args.get(index) {
        index += 1;
        if !argument.literal {
            if spec.literal_only {
                return Err(not_literal(spec.program, argument));
            }
            if !options_ended {
                check_expansion(spec.program, argument)?;
            }
            items.push(Item::Operand(argument));
            continue;
        }
        let text = argument.value.as_str();
        if options_ended || text == "-" || !text.starts_with('-') {
            items.push(Item::Operand(argument));
            continue;
        }
        if text == "--" {
            options_ended = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let option = format!("--{name}");
            let value = if spec.long_flags.contains(&name) {
                match attached {
                    None => None,
                    Some(boolean @ ("true" | "false")) if spec.bool_values => Some(Value {
                        text: boolean,
                        literal: true,
                    }),
                    Some(_) => {
                        return Err(Denial::rule(format!(
                            "`{} {option}` takes no value; write `{option}` alone",
                            spec.program
                        )));
                    }
                }
            } else if spec.long_valued.contains(&name) {
                match attached {
                    Some(value) => Some(Value {
                        text: value,
                        literal: true,
                    }),
                    None => take_next(spec, args, &mut index)?,
                }
            } else if spec.long_optional.contains(&name) {
                match attached {
                    Some(value) => Some(Value {
                        text: value,
                        literal: true,
                    }),
                    None => lookahead(spec, &option, args, &mut index),
                }
            } else {
                return Err(spec.refuse(&option, text));
            };
            items.push(Item::Option {
                name: option,
                value,
            });
            continue;
        }
        let letters = &text[1..];
        if spec.numeric && letters.bytes().all(|b| b.is_ascii_digit()) {
            items.push(Item::Option {
                name: "-NUM".to_string(),
                value: Some(Value {
                    text: letters,
                    literal: true,
                }),
            });
            continue;
        }
        for (position, letter) in letters.char_indices() {
            let option = format!("-{letter}");
            let rest = &letters[position + letter.len_utf8()..];
            if spec.flags.contains(letter) {
                items.push(Item::Option {
                    name: option,
                    value: None,
                });
                continue;
            }
            let value = if spec.valued.contains(letter) {
                if rest.is_empty() {
                    take_next(spec, args, &mut index)?
                } else {
                    Some(Value {
                        text: rest,
                        literal: true,
                    })
                }
            } else if spec.optional.contains(letter) {
                if rest.is_empty() {
                    lookahead(spec, &option, args, &mut index)
                } else {
                    Some(Value {
                        text: rest,
                        literal: true,
                    })
                }
            } else {
                return Err(spec.refuse(&option, text));
            };
            items.push(Item::Option {
                name: option,
                value,
            });
            break;
        }
    }
    Ok(items)
}

/// The next argument as an option's value (getopt takes it whatever it starts with).
/// A value that is not literal must pass the same checks as any other argument: an expansion
/// could vanish or split and shift the words after it.
fn take_next<'a>(
    spec: &Spec,
    args: &'a [Argument],
    index: &mut usize,
) -> Result<Option<Value<'a>>, Denial> {
    let Some(next) = args.get(*index) else {
        return Ok(None);
    };
    *index += 1;
    if !next.literal {
        if spec.literal_only {
            return Err(not_literal(spec.program, next));
        }
        check_expansion(spec.program, next)?;
    }
    Ok(Some(Value {
        text: next.value.as_str(),
        literal: next.literal,
    }))
}

/// The next argument as the value of an optional-value option, when the program would take it.
fn lookahead<'a>(
    spec: &Spec,
    option: &str,
    args: &'a [Argument],
    index: &mut usize,
) -> Option<Value<'a>> {
    let next = args.get(*index)?;
    if next.literal && (spec.lookahead)(option, &next.value) {
        *index += 1;
        Some(Value {
            text: next.value.as_str(),
            literal: true,
        })
    } else {
        None
    }
}
