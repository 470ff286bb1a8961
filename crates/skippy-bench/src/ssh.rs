//! The SSH benchmarks: `run_remote_command {host: "bench", command: "true"}` against a throwaway
//! OpenSSH sshd on 127.0.0.1 (`skippy_remote::testing::TestSshd`), beside OpenSSH's own client on
//! the same server.
//!
//! Measured: the first call of a fresh server process (connect + key exchange + authentication +
//! the command), calls on the pooled connection, bursts of concurrent calls on one session (and how
//! many connections they opened, from the sshd log), and `ssh … true` with a warm ControlMaster
//! and with a new connection per run. Without sshd every row says how to install it; without the
//! tool in this build the Skippy rows are "n/a (error: ...)" and the OpenSSH rows are still taken.

use std::fs;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use skippy_remote::testing::{ROOT_ALIAS, SSHD, TestSshd};

use crate::client::{Launch, Server};
use crate::report::Row;
use crate::stats::{Samples, format_ms};

/// Target for one `run_remote_command` of `true` on the pooled connection, over loopback.
pub const TARGET_POOLED_CALL: Duration = Duration::from_micros(1500);
/// Calls sent at once in the concurrency benchmark.
const BURST: usize = 20;
/// Unrecorded calls before the pooled series (the first opens the connection).
const POOLED_WARMUP: usize = 20;
/// Unrecorded `ssh` runs that start and warm the ControlMaster.
const CONTROL_MASTER_WARMUP: usize = 5;
/// The host name the configuration declares for the throwaway sshd.
const HOST: &str = "bench";
const TOOL: &str = "run_remote_command";
const SSHD_MISSING: &str = "sshd not installed (apt-get install openssh-server)";
const SSH_MISSING: &str = "ssh not installed (apt-get install openssh-client)";
/// The line sshd (LogLevel VERBOSE) writes for each authenticated connection.
const AUTH_LINE: &str = "Accepted publickey for ";

/// How many times each SSH measurement is repeated.
pub struct Counts {
    /// Fresh server processes whose first call is timed.
    pub first_call: usize,
    /// Sequential calls on the pooled connection.
    pub pooled: usize,
    /// `ssh` runs over a warm ControlMaster.
    pub control_master: usize,
    /// `ssh` runs that each open a new connection.
    pub fresh_ssh: usize,
    /// Bursts of [`BURST`] concurrent calls.
    pub bursts: usize,
}

impl Counts {
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                first_call: 3,
                pooled: 100,
                control_master: 50,
                fresh_ssh: 10,
                bursts: 5,
            }
        } else {
            Self {
                first_call: 10,
                pooled: 500,
                control_master: 200,
                fresh_ssh: 50,
                bursts: 20,
            }
        }
    }
}

/// The metric names and targets, so that a failed or skipped measurement keeps its row.
struct Metrics {
    first_call: String,
    pooled_p50: String,
    pooled_p99: String,
    burst: String,
    burst_connections: String,
    control_master: String,
    fresh_ssh: String,
    pooled_target: String,
    connections_target: String,
}

impl Metrics {
    fn new(counts: &Counts) -> Self {
        Self {
            first_call: format!(
                "SSH: first run_remote_command `true` of a fresh server, incl. connect + auth (median of {})",
                counts.first_call
            ),
            pooled_p50: format!(
                "SSH: run_remote_command `true` on the pooled connection p50 ({} sequential calls)",
                counts.pooled
            ),
            pooled_p99: "SSH: run_remote_command `true` on the pooled connection p99".to_string(),
            burst: format!(
                "SSH: {BURST} concurrent run_remote_command `true` on one session, wall time (median of {} bursts)",
                counts.bursts
            ),
            burst_connections: "SSH: connections opened by the concurrent calls (sshd log)"
                .to_string(),
            control_master: format!(
                "OpenSSH `ssh … true` over a warm ControlMaster p50 ({} runs)",
                counts.control_master
            ),
            fresh_ssh: format!(
                "OpenSSH `ssh … true`, new connection per run, p50 ({} runs)",
                counts.fresh_ssh
            ),
            pooled_target: format!("≤ {}", format_ms(TARGET_POOLED_CALL)),
            connections_target: "1".to_string(),
        }
    }

    /// The Skippy rows, all unavailable for the same reason.
    fn skippy_unavailable(&self, reason: &Unavailable) -> Vec<Row> {
        vec![
            reason.row(&self.first_call, "—"),
            reason.row(&self.pooled_p50, &self.pooled_target),
            reason.row(&self.pooled_p99, "—"),
            reason.row(&self.burst, "—"),
            reason.row(&self.burst_connections, &self.connections_target),
        ]
    }

    /// The OpenSSH rows, all unavailable for the same reason.
    fn openssh_unavailable(&self, reason: &Unavailable) -> Vec<Row> {
        vec![
            reason.row(&self.control_master, "—"),
            reason.row(&self.fresh_ssh, "—"),
        ]
    }
}

/// Why a group of rows has no number.
enum Unavailable {
    /// A program is missing: the row says how to install it.
    Missing(&'static str),
    Failed(anyhow::Error),
}

impl Unavailable {
    fn row(&self, metric: &str, target: &str) -> Row {
        match self {
            Unavailable::Missing(reason) => Row::unavailable(metric, target, reason),
            Unavailable::Failed(error) => Row::failed(metric, target, error),
        }
    }
}

/// Runs every SSH measurement; returns its rows and method notes. `scratch` is a fresh directory
/// for the configuration, the server's HOME and state, and the ControlMaster socket.
pub fn run(
    bin: &Path,
    work_dir: &Path,
    scratch: &Path,
    counts: &Counts,
) -> (Vec<Row>, Vec<String>) {
    let metrics = Metrics::new(counts);
    let mut notes = method_notes();
    let sshd = match start_sshd() {
        Ok(sshd) => sshd,
        Err(reason) => {
            let mut rows = metrics.skippy_unavailable(&reason);
            rows.extend(metrics.openssh_unavailable(&reason));
            return (rows, notes);
        }
    };
    let alias = if sshd.user() == ROOT_ALIAS {
        " (the harness's alias of root: uid 0 with /bin/sh as its shell, since root's bash would source ~/.bashrc for every command)"
    } else {
        ""
    };
    notes.push(format!(
        "SSH server: {} on 127.0.0.1 port {}, login account `{}`{alias}; client: {}.",
        version_of(SSHD, "-V"),
        sshd.port(),
        sshd.user(),
        version_of("ssh", "-V")
    ));
    let launch = match configure(bin, work_dir, scratch, &sshd) {
        Ok(launch) => launch,
        Err(error) => {
            let mut rows = metrics.skippy_unavailable(&Unavailable::Failed(error));
            rows.extend(openssh(&sshd, scratch, counts, &metrics, &mut notes));
            return (rows, notes);
        }
    };
    let mut bench = SshBench {
        launch,
        sshd: &sshd,
        counts,
        metrics: &metrics,
        rows: Vec::new(),
        notes,
    };
    eprintln!("ssh: run_remote_command ...");
    match bench.probe() {
        Ok(()) => {
            bench.first_call();
            bench.pooled();
            bench.concurrent();
        }
        Err(error) => {
            let rows = metrics.skippy_unavailable(&Unavailable::Failed(error));
            bench.rows.extend(rows);
        }
    }
    let SshBench {
        mut rows,
        mut notes,
        ..
    } = bench;
    rows.extend(openssh(&sshd, scratch, counts, &metrics, &mut notes));
    (rows, notes)
}

/// Starts the throwaway sshd. The harness panics on a broken installation (key generation,
/// a server that never listens): that becomes an error row, not a crashed benchmark.
fn start_sshd() -> Result<TestSshd, Unavailable> {
    if !Path::new(SSHD).exists() {
        return Err(Unavailable::Missing(SSHD_MISSING));
    }
    eprintln!("ssh: starting sshd ...");
    match panic::catch_unwind(AssertUnwindSafe(TestSshd::start)) {
        Ok(Some(sshd)) => Ok(sshd),
        Ok(None) => Err(Unavailable::Missing(SSHD_MISSING)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(Unavailable::Failed(anyhow!(
                "starting the test sshd failed: {message}"
            )))
        }
    }
}

/// Writes the configuration that declares `[hosts.bench]` and returns how to start the server.
fn configure(bin: &Path, work_dir: &Path, scratch: &Path, sshd: &TestSshd) -> Result<Launch> {
    fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let config = scratch.join("skippy.toml");
    let text = format!(
        "# Written by skippy-bench: the throwaway sshd of the SSH benchmarks.\n\
         [hosts.{HOST}]\n\
         address = \"127.0.0.1\"\n\
         port = {}\n\
         user = {}\n\
         identity_file = {}\n\
         known_hosts = {}\n\
         exec_policy = \"unrestricted\"\n",
        sshd.port(),
        toml_string(sshd.user())?,
        toml_string(&sshd.user_key().to_string_lossy())?,
        toml_string(&sshd.known_hosts().to_string_lossy())?,
    );
    fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    Ok(Launch {
        bin: bin.to_path_buf(),
        work_dir: work_dir.to_path_buf(),
        scratch: scratch.to_path_buf(),
        config: Some(config),
    })
}

/// A TOML basic string: JSON's string escapes are valid TOML.
fn toml_string(text: &str) -> Result<String> {
    Ok(serde_json::to_string(text)?)
}

struct SshBench<'a> {
    launch: Launch,
    sshd: &'a TestSshd,
    counts: &'a Counts,
    metrics: &'a Metrics,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl SshBench<'_> {
    /// Checks that this build lists the tool with the parameters the benchmark sends, and that
    /// one call succeeds.
    fn probe(&mut self) -> Result<()> {
        let mut server = self.start_server()?;
        let listed = server.request("tools/list", &json!({}))?;
        let tools = listed.message["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(tool) = tools.iter().find(|tool| tool["name"] == TOOL) else {
            bail!("`{TOOL}` is not in tools/list of this build");
        };
        for parameter in ["host", "command"] {
            if tool["inputSchema"]["properties"].get(parameter).is_none() {
                bail!("`{TOOL}` has no `{parameter}` parameter in this build");
            }
        }
        call_true(&mut server)?;
        server.stop()?;
        Ok(())
    }

    /// A fresh server after `initialize` and `tools/list`, as a client leaves it.
    fn start_server(&self) -> Result<Server> {
        let (mut server, _) = Server::start(&self.launch).context("starting the server")?;
        server.request("tools/list", &json!({}))?;
        Ok(server)
    }

    /// The first call of each fresh server process (one unrecorded process first).
    fn first_call(&mut self) {
        let runs = self.counts.first_call;
        eprintln!("ssh: first call of {runs} fresh servers ...");
        let result = (|| {
            let mut times = Vec::with_capacity(runs + 1);
            for _ in 0..=runs {
                let mut server = self.start_server()?;
                times.push(call_true(&mut server)?);
                server.stop()?;
            }
            times.remove(0);
            Ok::<_, anyhow::Error>(Samples::new(times))
        })();
        self.rows.push(match result {
            Ok(samples) => Row::info(
                &self.metrics.first_call,
                format!(
                    "{} (range {} – {})",
                    format_ms(samples.median()),
                    format_ms(samples.percentile(0.0)),
                    format_ms(samples.percentile(100.0))
                ),
            ),
            Err(error) => Row::failed(&self.metrics.first_call, "—", &error),
        });
    }

    /// Sequential calls on one session's pooled connection.
    fn pooled(&mut self) {
        let runs = self.counts.pooled;
        eprintln!("ssh: {runs} pooled calls ...");
        let result = (|| {
            let mut server = self.start_server()?;
            for _ in 0..POOLED_WARMUP {
                call_true(&mut server)?;
            }
            let before = self.authentications();
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                times.push(call_true(&mut server)?);
            }
            let opened = self.authentications().saturating_sub(before);
            server.stop()?;
            Ok::<_, anyhow::Error>((Samples::new(times), opened))
        })();
        match result {
            Ok((samples, opened)) => {
                self.rows.push(Row::checked(
                    &self.metrics.pooled_p50,
                    format_ms(samples.median()),
                    &self.metrics.pooled_target,
                    samples.median() <= TARGET_POOLED_CALL,
                ));
                self.rows.push(Row::info(
                    &self.metrics.pooled_p99,
                    format_ms(samples.percentile(99.0)),
                ));
                self.notes.push(format!(
                    "Pooled series: {POOLED_WARMUP} unrecorded calls first (the first opens the connection); the sshd log shows {opened} new authentication(s) during the {runs} timed calls."
                ));
            }
            Err(error) => {
                self.rows.push(Row::failed(
                    &self.metrics.pooled_p50,
                    &self.metrics.pooled_target,
                    &error,
                ));
                self.rows
                    .push(Row::failed(&self.metrics.pooled_p99, "—", &error));
            }
        }
    }

    /// Bursts of [`BURST`] calls written at once on one session; the first, unrecorded, burst
    /// hits a fresh server, so that the concurrent first calls race to connect.
    fn concurrent(&mut self) {
        let bursts = self.counts.bursts;
        eprintln!("ssh: {bursts} bursts of {BURST} concurrent calls ...");
        let calls: Vec<(&str, Value)> = (0..BURST).map(|_| (TOOL, true_arguments())).collect();
        let result = (|| {
            let before = self.authentications();
            let mut server = self.start_server()?;
            let mut times = Vec::with_capacity(bursts + 1);
            for _ in 0..=bursts {
                let (elapsed, results) = server.call_tools_at_once(&calls)?;
                for result in &results {
                    check_exit_zero(&result["structuredContent"])?;
                }
                times.push(elapsed);
            }
            times.remove(0);
            let opened = self.authentications().saturating_sub(before);
            server.stop()?;
            Ok::<_, anyhow::Error>((Samples::new(times), opened))
        })();
        match result {
            Ok((samples, opened)) => {
                let median = samples.median();
                let rate = BURST as f64 / median.as_secs_f64().max(f64::MIN_POSITIVE);
                self.rows.push(Row::info(
                    &self.metrics.burst,
                    format!("{} ({rate:.0} calls/s)", format_ms(median)),
                ));
                let calls = (bursts + 1) * BURST;
                self.rows.push(Row::checked(
                    &self.metrics.burst_connections,
                    format!("{opened} for {calls} calls"),
                    &self.metrics.connections_target,
                    opened == 1,
                ));
            }
            Err(error) => {
                self.rows
                    .push(Row::failed(&self.metrics.burst, "—", &error));
                self.rows.push(Row::failed(
                    &self.metrics.burst_connections,
                    &self.metrics.connections_target,
                    &error,
                ));
            }
        }
    }

    /// Authenticated connections so far, from the sshd log.
    fn authentications(&self) -> usize {
        self.sshd.log().matches(AUTH_LINE).count()
    }
}

fn true_arguments() -> Value {
    json!({"host": HOST, "command": "true"})
}

/// One `run_remote_command` of `true`; checks that it exited 0 and returns the round trip.
fn call_true(server: &mut Server) -> Result<Duration> {
    let mut response = server.call_tool(TOOL, &true_arguments())?;
    check_exit_zero(&response.message["result"]["structuredContent"].take())?;
    Ok(response.elapsed)
}

fn check_exit_zero(structured: &Value) -> Result<()> {
    if structured["exit_code"].as_i64() != Some(0) {
        bail!(
            "`true` did not exit 0: exit_code {}, stderr {:.200}",
            structured["exit_code"],
            structured["stderr"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// OpenSSH's client on the same sshd: a warm ControlMaster, then a new connection per run.
fn openssh(
    sshd: &TestSshd,
    scratch: &Path,
    counts: &Counts,
    metrics: &Metrics,
    notes: &mut Vec<String>,
) -> Vec<Row> {
    eprintln!("ssh: OpenSSH client ...");
    match Command::new("ssh")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return metrics.openssh_unavailable(&Unavailable::Missing(SSH_MISSING));
        }
        Err(error) => {
            let error = anyhow::Error::new(error).context("running ssh -V");
            return metrics.openssh_unavailable(&Unavailable::Failed(error));
        }
    }
    let client = SshClient {
        sshd,
        stderr_log: scratch.join("ssh-stderr.log"),
        control_path: scratch.join("cm-%C"),
    };
    let mut rows = Vec::new();
    let runs = counts.control_master;
    let result = (|| {
        for _ in 0..CONTROL_MASTER_WARMUP {
            client.time(&client.control_master_options())?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(client.time(&client.control_master_options())?);
        }
        Ok::<_, anyhow::Error>(Samples::new(times))
    })();
    client.stop_master();
    rows.push(match result {
        Ok(samples) => Row::info(&metrics.control_master, format_ms(samples.median())),
        Err(error) => Row::failed(&metrics.control_master, "—", &error),
    });

    let runs = counts.fresh_ssh;
    let fresh = ["-o", "ControlMaster=no", "-o", "ControlPath=none"].map(String::from);
    let result = (|| {
        client.time(&fresh)?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            times.push(client.time(&fresh)?);
        }
        Ok::<_, anyhow::Error>(Samples::new(times))
    })();
    rows.push(match result {
        Ok(samples) => Row::info(&metrics.fresh_ssh, format_ms(samples.median())),
        Err(error) => Row::failed(&metrics.fresh_ssh, "—", &error),
    });
    notes.push(format!(
        "OpenSSH commands: `ssh {} <options> -i <user key> -p <port> <user>@127.0.0.1 true`, with `{}` for the ControlMaster series and `{}` for the new-connection series.",
        client.common_options().join(" "),
        client
            .control_master_options()
            .join(" ")
            .replace(&scratch.to_string_lossy().into_owned(), "<tmp>"),
        fresh.join(" ")
    ));
    rows
}

struct SshClient<'a> {
    sshd: &'a TestSshd,
    /// ssh's stderr (and the background master's) goes to a file: a pipe would stay open as long
    /// as the master lives.
    stderr_log: PathBuf,
    control_path: PathBuf,
}

impl SshClient<'_> {
    /// Options every run shares: no user configuration, no prompts, the harness's key only.
    fn common_options(&self) -> Vec<String> {
        [
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ]
        .map(String::from)
        .to_vec()
    }

    fn control_master_options(&self) -> Vec<String> {
        vec![
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={}", self.control_path.display()),
            "-o".into(),
            "ControlPersist=60".into(),
        ]
    }

    fn command(&self, options: &[String]) -> Result<Command> {
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_log)
            .with_context(|| format!("opening {}", self.stderr_log.display()))?;
        let mut command = Command::new("ssh");
        command
            .args(self.common_options())
            .args(options)
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.sshd.known_hosts().display()
            ))
            .arg("-i")
            .arg(self.sshd.user_key())
            .arg("-p")
            .arg(self.sshd.port().to_string())
            .arg(format!("{}@127.0.0.1", self.sshd.user()))
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        Ok(command)
    }

    /// Spawn → exit of one `ssh … true`.
    fn time(&self, options: &[String]) -> Result<Duration> {
        let mut command = self.command(options)?;
        command.arg("true");
        let started = Instant::now();
        let status = command.status().context("running ssh")?;
        let elapsed = started.elapsed();
        if !status.success() {
            let text = fs::read_to_string(&self.stderr_log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(2).collect();
            bail!("ssh failed ({status}): {:.200}", tail.join(" / "));
        }
        Ok(elapsed)
    }

    /// `ssh -O exit`: stops the background master.
    fn stop_master(&self) {
        if let Ok(mut command) = self.command(&self.control_master_options()) {
            let _ = command.args(["-O", "exit"]).status();
        }
    }
}

/// The first line a program prints for its version (OpenSSH prints it on stderr).
fn version_of(program: &str, flag: &str) -> String {
    Command::new(program)
        .arg(flag)
        .output()
        .ok()
        .and_then(|output| {
            let text = [output.stderr, output.stdout].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .find(|line| line.starts_with("OpenSSH"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown version".to_string())
}

fn method_notes() -> Vec<String> {
    vec![
        format!("SSH: a throwaway OpenSSH sshd (`skippy_remote::testing::TestSshd`: ed25519 host and user keys, LogLevel VERBOSE) listens on 127.0.0.1. Skippy starts with `--config` declaring `[hosts.{HOST}]` for it: key authentication, strict host-key checking against the harness's known_hosts, exec_policy = \"unrestricted\" so that `true` may run, every other setting at its default (max_sessions 8). Every call is `run_remote_command {{host: \"{HOST}\", command: \"true\"}}` and is checked to exit 0."),
        "SSH first call: each fresh server process (one unrecorded process first) answers initialize and tools/list; then the clock runs around its first run_remote_command, which opens the TCP connection, exchanges keys, verifies the host key, authenticates and runs the command.".to_string(),
        format!("SSH concurrency: {BURST} tools/call requests (distinct ids) written in one write on one session; the clock runs from the write to the last of the {BURST} responses; calls/s = {BURST} / median wall time. The first, unrecorded, burst goes to a fresh server so that {BURST} first calls race to connect. The pool lets max_sessions (8) channels run at once on its connection. Connections are counted as \"{}\" lines in the sshd log.", AUTH_LINE.trim_end()),
        "OpenSSH beside it: each run is timed from spawning `ssh` to its exit, stdout discarded. The ControlMaster series follows 5 unrecorded runs that start and warm the master; the new-connection series follows 1 unrecorded run. Both pay for starting an ssh process per command, where run_remote_command pays for a JSON-RPC round trip on a long-lived server.".to_string(),
    ]
}
