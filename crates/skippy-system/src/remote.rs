//! The remote side of the host-aware system tools: resolving `host`, running one FIXED inspection
//! script per call, and splitting its output into named sections.
//!
//! Scripts are built only from constants of this crate and numbers formatted here: no model input
//! ever reaches a shell string (model values such as a path or a unit name go as argv words through
//! [`Executor::run`]). Each section starts with a marker line `@@skippy-section:<name>`; anything
//! before the first marker (output of the login shell's start-up files) is ignored. A marker is
//! longer than a process name may be (15 bytes), so no process can forge one through the names in
//! `/proc/<pid>/stat`, and `ps` prints control characters as `?`.

use std::collections::HashMap;

use skippy_core::limits::truncate_utf8;
use skippy_core::{ToolCtx, ToolError, ToolResult};
use skippy_remote::{Executor, Hosts, RunOptions};

const MARKER: &str = "@@skippy-section:";

/// The executor for `host`, or for the configured default host.
pub fn executor(hosts: &Hosts, ctx: &ToolCtx, host: Option<&str>) -> ToolResult<Executor> {
    hosts.executor(host.unwrap_or(&ctx.config.server.default_host))
}

/// Limits for one remote command: the time the call has left, `max_output_bytes` per stream.
pub fn options(ctx: &ToolCtx, max_output_bytes: usize) -> RunOptions {
    RunOptions {
        timeout: ctx.remaining(),
        max_output_bytes,
        cwd: None,
        limits: None,
    }
}

/// A script of `(section, command)` steps, run under the C locale so that output is not translated.
pub fn script(steps: &[(&str, &str)]) -> String {
    let mut text = String::from("export LC_ALL=C\n");
    for (name, command) in steps {
        text.push_str(&format!("echo '{MARKER}{name}'\n{command}\n"));
    }
    text
}

/// `sleep` for `ms` milliseconds; whole seconds where `sleep` takes no fraction (POSIX only
/// requires integers).
pub fn sleep_command(ms: u64) -> String {
    format!(
        "sleep {}.{:03} 2>/dev/null || sleep {}",
        ms / 1000,
        ms % 1000,
        ms.div_ceil(1000).max(1)
    )
}

/// Run a fixed script on the host behind `executor` and split its output.
pub async fn run_script(
    executor: &Executor,
    ctx: &ToolCtx,
    script: &str,
    max_output_bytes: usize,
) -> ToolResult<Sections> {
    let output = executor
        .run_shell(script, &options(ctx, max_output_bytes), &ctx.cancel)
        .await?;
    if output.stdout_truncated {
        return Err(ToolError::OutputTooLarge(format!(
            "host {} returned more than {max_output_bytes} bytes of inspection data",
            executor.host_name()
        )));
    }
    let mut sections = Sections::parse(&output.stdout);
    sections.host = executor.host_name().to_string();
    sections.stderr = truncate_utf8(output.stderr.trim(), 300).to_string();
    Ok(sections)
}

/// The sections of one script's output, by name.
#[derive(Debug, Default)]
pub struct Sections {
    sections: HashMap<String, String>,
    host: String,
    stderr: String,
}

impl Sections {
    pub fn parse(text: &str) -> Self {
        let mut sections = HashMap::new();
        let mut current: Option<(String, String)> = None;
        for line in text.split_inclusive('\n') {
            if let Some(name) = line.trim_end_matches(['\n', '\r']).strip_prefix(MARKER) {
                if let Some((name, body)) = current.take() {
                    sections.insert(name, body);
                }
                current = Some((name.to_string(), String::new()));
            } else if let Some((_, body)) = current.as_mut() {
                body.push_str(line);
            }
        }
        if let Some((name, body)) = current {
            sections.insert(name, body);
        }
        Self {
            sections,
            ..Self::default()
        }
    }

    /// A section's text; empty when the section is missing.
    pub fn get(&self, name: &str) -> &str {
        self.sections.get(name).map_or("", String::as_str)
    }

    /// The error for data the host did not provide (`what`), with the script's stderr.
    pub fn missing(&self, what: &str) -> ToolError {
        let detail = if self.stderr.is_empty() {
            String::new()
        } else {
            format!(" (stderr: {})", self.stderr)
        };
        ToolError::Unavailable(format!(
            "host {} did not provide {what}; the system tools support Linux hosts with /proc and \
             procps{detail}",
            self.host
        ))
    }
}

/// The first `n` whitespace-separated fields of `line` and the rest of it (leading blanks removed,
/// inner spacing kept), for outputs whose last column may contain spaces.
pub fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Some((fields, rest.trim_end_matches(['\n', '\r'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_ignore_login_noise_and_keep_empty_ones() {
        let text = "Welcome!\n@@skippy-section:a\none\ntwo\n@@skippy-section:empty\n\
                    @@skippy-section:b\nthree";
        let sections = Sections::parse(text);
        assert_eq!(sections.get("a"), "one\ntwo\n");
        assert_eq!(sections.get("empty"), "");
        assert_eq!(sections.get("b"), "three");
        assert_eq!(sections.get("missing"), "");
        assert!(!sections.sections.contains_key("Welcome!"));
    }

    #[test]
    fn scripts_mark_every_step_and_sleep_falls_back_to_whole_seconds() {
        let text = script(&[("x", "uname -r"), ("y", "cat /proc/uptime")]);
        assert_eq!(
            text,
            "export LC_ALL=C\necho '@@skippy-section:x'\nuname -r\n\
             echo '@@skippy-section:y'\ncat /proc/uptime\n"
        );
        assert_eq!(sleep_command(200), "sleep 0.200 2>/dev/null || sleep 1");
        assert_eq!(sleep_command(2050), "sleep 2.050 2>/dev/null || sleep 3");
    }

    #[test]
    fn split_fields_keeps_spaces_in_the_last_column() {
        let (fields, rest) = split_fields("  12  34 x  a b  c\n", 3).unwrap();
        assert_eq!(fields, vec!["12", "34", "x"]);
        assert_eq!(rest, "a b  c");
        assert_eq!(split_fields("1 2", 3), None);
        assert_eq!(split_fields("1 2 3", 3).unwrap().1, "");
    }
}
