//! `check_service_status`: the state of one systemd unit, from `systemctl show`.
//!
//! The unit name is validated before anything runs: 1..=256 characters from `[A-Za-z0-9:_.@-]`,
//! not starting with `-`. A name without a unit-type suffix (`.service`, `.socket`, `.timer`, ...)
//! gets `.service` appended, as systemctl itself does, so `nginx` and `php8.2-fpm` both work.
//! Without a running systemd (`/run/systemd/system` absent, e.g. in most containers) the tool
//! returns `unavailable`. A unit that does not exist is not an error: `load_state` says
//! `not-found`. `since` is the time the unit last entered the active state, in RFC 3339 when
//! systemctl's local-time format can be read, as printed otherwise. Runs `systemctl show` (argv
//! only, 10 s limit) through the host's executor; on a remote `host` as `env TZ=UTC LC_ALL=C
//! systemctl show ...`, so its times are UTC, and a host without systemd (no `systemctl`, or
//! "not been booted with systemd") is `unavailable`. Reads only, no side effects.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, NaiveDateTime, TimeZone};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skippy_core::limits::truncate_utf8;
use skippy_core::process::CommandOutput;
use skippy_core::{Annotations, Tool, ToolCtx, ToolError, ToolResult, Toolset};
use skippy_remote::{Executor, Hosts, RunOptions};

use crate::remote;

/// Present exactly when systemd is the running init system (sd_booted(3)).
const SYSTEMD_MARKER: &str = "/run/systemd/system";
const MAX_UNIT_LEN: usize = 256;
const TIMEOUT: Duration = Duration::from_secs(10);
const PROPERTIES: &str = "--property=LoadState,ActiveState,SubState,ActiveEnterTimestamp,MainPID,Description,UnitFileState";
/// Unit type suffixes known to systemd (systemd.unit(5)).
const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "device",
    "mount",
    "automount",
    "swap",
    "target",
    "path",
    "timer",
    "slice",
    "scope",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// e.g. nginx or cron.timer
    pub service: String,
    /// From list_hosts; default local
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Output {
    pub name: String,
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_pid: Option<u32>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_file_state: Option<String>,
}

pub struct CheckServiceStatus {
    pub hosts: Arc<Hosts>,
}

impl Tool for CheckServiceStatus {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "check_service_status";
    const TITLE: &'static str = "Service status";
    const DESCRIPTION: &'static str =
        "State of one systemd unit: load, active, sub, since, main PID.";
    const TOOLSET: Toolset = Toolset::System;
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    const TIMEOUT: Option<Duration> = Some(TIMEOUT);

    async fn run(&self, ctx: ToolCtx, params: Params) -> ToolResult<Output> {
        let unit = unit_name(&params.service)?;
        let executor = remote::executor(&self.hosts, &ctx, params.host.as_deref())?;
        let local = matches!(executor, Executor::Local);
        if local && !Path::new(SYSTEMD_MARKER).exists() {
            return Err(ToolError::Unavailable(format!(
                "systemd is not running here ({SYSTEMD_MARKER} does not exist, as in most \
                 containers), so there is no service manager to ask about `{unit}`"
            )));
        }
        let show = [
            "systemctl",
            "show",
            "--no-pager",
            PROPERTIES,
            "--",
            unit.as_str(),
        ];
        let argv: Vec<String> = if local {
            show.map(String::from).into()
        } else {
            // UTC makes the remote timestamps readable whatever the host's zone.
            ["env", "TZ=UTC", "LC_ALL=C"]
                .into_iter()
                .chain(show)
                .map(String::from)
                .collect()
        };
        let options = RunOptions {
            timeout: TIMEOUT,
            max_output_bytes: 64 * 1024,
            cwd: None,
            limits: None,
        };
        let output = executor.run(&argv, &options, &ctx.cancel).await?;
        if !local && lacks_systemd(&output) {
            return Err(ToolError::Unavailable(format!(
                "systemd is not running on host {} (no systemctl, or not booted with systemd), so \
                 there is no service manager to ask about `{unit}`",
                executor.host_name()
            )));
        }
        if !output.success() {
            let stderr = output.stderr.trim();
            let on_host = if local {
                String::new()
            } else {
                format!(" on host {}", executor.host_name())
            };
            return Err(ToolError::CommandFailed(format!(
                "`systemctl show {unit}` failed{on_host} (exit {}): {}",
                output
                    .exit_code
                    .map_or_else(|| "by signal".to_string(), |code| code.to_string()),
                truncate_utf8(stderr, 500)
            )));
        }
        Ok(parse_show(&unit, &output.stdout))
    }
}

/// Whether a failed remote `systemctl` says there is no systemd: the program is missing (127, from
/// `env` or the shell), or systemd is not PID 1 / its bus is not there.
fn lacks_systemd(output: &CommandOutput) -> bool {
    if output.success() {
        return false;
    }
    output.exit_code == Some(127)
        || output
            .stderr
            .contains("System has not been booted with systemd")
        || output.stderr.contains("Failed to connect to bus")
}

/// Validate a unit name and add `.service` when it names no unit type.
fn unit_name(raw: &str) -> ToolResult<String> {
    if raw.is_empty() || raw.len() > MAX_UNIT_LEN {
        return Err(ToolError::invalid(format!(
            "`service` must be 1 to {MAX_UNIT_LEN} characters long, such as `nginx` or `cron.timer`"
        )));
    }
    if raw.starts_with('-') {
        return Err(ToolError::invalid(
            "`service` must not start with `-`; pass a unit name such as `nginx`",
        ));
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '@' | '-')))
    {
        return Err(ToolError::invalid(format!(
            "`service` contains `{bad}`; unit names use only letters, digits and `:_.@-`"
        )));
    }
    let typed = raw
        .rsplit_once('.')
        .is_some_and(|(_, suffix)| UNIT_TYPES.contains(&suffix));
    Ok(if typed {
        raw.to_string()
    } else {
        format!("{raw}.service")
    })
}

/// Read the `Key=Value` lines of `systemctl show`. Missing keys stay empty.
fn parse_show(unit: &str, text: &str) -> Output {
    let mut output = Output {
        name: unit.to_string(),
        ..Output::default()
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key {
            "LoadState" => output.load_state = value.to_string(),
            "ActiveState" => output.active_state = value.to_string(),
            "SubState" => output.sub_state = value.to_string(),
            "Description" => output.description = value.to_string(),
            "MainPID" => output.main_pid = value.parse().ok().filter(|pid| *pid != 0),
            "ActiveEnterTimestamp" => {
                output.since = (!value.is_empty()).then(|| timestamp(value));
            }
            "UnitFileState" => {
                output.unit_file_state = (!value.is_empty()).then(|| value.to_string());
            }
            _ => {}
        }
    }
    output
}

/// systemd prints `Thu 2026-11-19 08:12:01 UTC` in the local zone. The zone abbreviation cannot be
/// resolved on its own, but it is this machine's zone (systemctl ran here with the same TZ), so
/// the local offset applies; UTC is taken as such. Anything unreadable is returned as printed.
fn timestamp(text: &str) -> String {
    let mut parts = text.split_whitespace();
    let (Some(_weekday), Some(date), Some(time)) = (parts.next(), parts.next(), parts.next())
    else {
        return text.to_string();
    };
    let zone = parts.next().unwrap_or("");
    let Ok(naive) = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S")
    else {
        return text.to_string();
    };
    let utc = if matches!(zone, "UTC" | "GMT" | "Z") {
        Some(naive.and_utc())
    } else {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|local| local.to_utc())
    };
    utc.map_or_else(
        || text.to_string(),
        |utc| utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use skippy_core::Config;

    /// Representative `systemctl show --property=... -- ssh.service` output (Debian 12, systemd 252).
    const RUNNING: &str = "\
MainPID=812
LoadState=loaded
ActiveState=active
SubState=running
Description=OpenBSD Secure Shell server
UnitFileState=enabled
ActiveEnterTimestamp=Thu 2026-11-19 08:12:01 UTC
";

    /// Representative output of the same command for a unit that does not exist.
    const MISSING: &str = "\
MainPID=0
LoadState=not-found
ActiveState=inactive
SubState=dead
Description=skippy-missing.service
UnitFileState=
ActiveEnterTimestamp=
";

    #[test]
    fn parses_a_running_service() {
        assert_eq!(
            parse_show("ssh.service", RUNNING),
            Output {
                name: "ssh.service".into(),
                load_state: "loaded".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                since: Some("2026-11-19T08:12:01Z".into()),
                main_pid: Some(812),
                description: "OpenBSD Secure Shell server".into(),
                unit_file_state: Some("enabled".into()),
            }
        );
    }

    #[test]
    fn a_missing_unit_is_data_not_an_error() {
        let output = parse_show("skippy-missing.service", MISSING);
        assert_eq!(output.load_state, "not-found");
        assert_eq!(output.active_state, "inactive");
        assert_eq!(output.sub_state, "dead");
        assert_eq!(output.main_pid, None);
        assert_eq!(output.since, None);
        assert_eq!(output.unit_file_state, None);
        let json = serde_json::to_value(&output).unwrap();
        assert!(json.get("since").is_none() && json.get("main_pid").is_none());
    }

    #[test]
    fn descriptions_keep_their_equals_signs_and_odd_timestamps_pass_through() {
        let output = parse_show(
            "x.service",
            "Description=a=b\nActiveEnterTimestamp=n/a\nMainPID=abc\n",
        );
        assert_eq!(output.description, "a=b");
        assert_eq!(output.since.as_deref(), Some("n/a"));
        assert_eq!(output.main_pid, None);
    }

    #[test]
    fn local_timestamps_become_rfc3339() {
        let naive =
            NaiveDateTime::parse_from_str("2026-03-01 12:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let expected = Local
            .from_local_datetime(&naive)
            .earliest()
            .unwrap()
            .to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(timestamp("Sun 2026-03-01 12:00:00 CET"), expected);
    }

    #[test]
    fn remote_hosts_without_systemd_are_recognised() {
        let output = |code: i32, stderr: &str| CommandOutput {
            exit_code: Some(code),
            stdout: String::new(),
            stderr: stderr.into(),
            stdout_truncated: false,
            stderr_truncated: false,
            duration_ms: 1.0,
            limit_hit: None,
        };
        // Captured on the development machine, a container whose PID 1 is not systemd.
        let container = output(
            1,
            "System has not been booted with systemd as init system (PID 1). Can't operate.\n\
             Failed to connect to bus: Host is down\n",
        );
        assert!(lacks_systemd(&container));
        assert!(lacks_systemd(&output(
            127,
            "env: 'systemctl': No such file or directory\n"
        )));
        assert!(!lacks_systemd(&output(1, "Access denied\n")));
        assert!(!lacks_systemd(&output(0, "")));
    }

    #[test]
    fn unit_names_are_validated_and_typed() {
        assert_eq!(unit_name("nginx").unwrap(), "nginx.service");
        assert_eq!(unit_name("cron.timer").unwrap(), "cron.timer");
        assert_eq!(unit_name("ssh.socket").unwrap(), "ssh.socket");
        assert_eq!(unit_name("php8.2-fpm").unwrap(), "php8.2-fpm.service");
        assert_eq!(unit_name("getty@tty1").unwrap(), "getty@tty1.service");
        assert_eq!(
            unit_name("systemd-fsck@dev-disk-by\\x2duuid")
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        for bad in [
            "",
            "-H",
            "--host=evil",
            "a b",
            "nginx;reboot",
            "a/b",
            "$(id)",
            "ünit",
        ] {
            assert_eq!(
                unit_name(bad).unwrap_err().code(),
                "invalid_argument",
                "{bad}"
            );
        }
        assert!(unit_name(&"a".repeat(256)).is_ok());
        assert_eq!(
            unit_name(&"a".repeat(257)).unwrap_err().code(),
            "invalid_argument"
        );
    }

    #[tokio::test]
    async fn answers_unavailable_without_systemd_and_checks_names_first() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
        let tool = CheckServiceStatus {
            hosts: Arc::default(),
        };
        let invalid = tool
            .run(
                ctx.clone(),
                Params {
                    service: "-x".into(),
                    host: None,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(invalid.code(), "invalid_argument");

        let unknown_host = tool
            .run(
                ctx.clone(),
                Params {
                    service: "nginx".into(),
                    host: Some("nowhere".into()),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(unknown_host.code(), "invalid_argument");

        let result = tool
            .run(
                ctx,
                Params {
                    service: "skippy-definitely-missing".into(),
                    host: None,
                },
            )
            .await;
        if Path::new(SYSTEMD_MARKER).exists() {
            let output = result.unwrap();
            assert_eq!(output.name, "skippy-definitely-missing.service");
            assert_eq!(output.load_state, "not-found");
        } else {
            let error = result.unwrap_err();
            assert_eq!(error.code(), "unavailable");
            assert!(
                error.to_string().contains("systemd is not running"),
                "{error}"
            );
        }
    }
}
