//! `docker`: the subcommand first (no global option: `-H/--host`, `-c/--context`, `--config` and
//! `--tls*` reach another daemon or read other credentials), only read-only subcommands, each
//! with its own option allowlist; `logs` never follows and `stats` needs `--no-stream`.

use super::{Check, Rule};
use crate::commands::options::{Spec, not_literal, scan};
use crate::commands::parse::Argument;
use crate::commands::{Denial, shown};

pub(super) const RULE: Rule = Rule {
    program: "docker",
    summary: "subcommands ps, logs (no -f), inspect, stats (with --no-stream), images, version, info, each with its read-only options; no global options (-H, --context, --config, --tls*)",
    check: Check::Custom(check),
};

fn check(args: &[Argument]) -> Result<(), Denial> {
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
