//! A minimal MCP client over stdio: newline-delimited JSON-RPC 2.0 to a spawned `skippy`.
//!
//! Timing is taken around the pipe round trip only: requests are serialised before the clock starts,
//! and the clock stops as soon as the matching response line has been read, before it is parsed.
//! A watchdog thread kills a server that does not answer within [`REQUEST_TIMEOUT`], so that a
//! hung tool turns into an error row instead of a hung benchmark.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Longest wait for one response before the server is killed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How to start the server: binary, working directory (its only file root by default), a
/// scratch directory for HOME, XDG_STATE_HOME (the audit log) and XDG_CONFIG_HOME, and an optional
/// configuration file passed as `--config`.
pub struct Launch {
    pub bin: PathBuf,
    pub work_dir: PathBuf,
    pub scratch: PathBuf,
    pub config: Option<PathBuf>,
}

impl Launch {
    fn command(&self) -> Result<Command> {
        let home = self.scratch.join("home");
        let state = self.scratch.join("state");
        let config = self.scratch.join("config");
        for dir in [&home, &state, &config] {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let stderr = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stderr_log())?;
        let mut command = Command::new(&self.bin);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        // A clean environment: no SKIPPY_* from the caller's shell, no user configuration.
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CONFIG_HOME", &config)
            .current_dir(&self.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        Ok(command)
    }

    pub fn stderr_log(&self) -> PathBuf {
        self.scratch.join("server-stderr.log")
    }

    /// The audit log the server writes by default under XDG_STATE_HOME.
    pub fn audit_log(&self) -> PathBuf {
        self.scratch.join("state/skippy/audit.jsonl")
    }
}

/// One response line and the round-trip time.
pub struct Response {
    pub message: Value,
    pub bytes: usize,
    pub elapsed: Duration,
}

pub struct Server {
    child: Arc<Mutex<Child>>,
    pid: u32,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
    line: String,
    stderr_log: PathBuf,
    watchdog: Watchdog,
}

impl Server {
    /// Spawns the server and completes the `initialize` handshake. Returns the server and the
    /// time from just before the spawn to the initialize response.
    pub fn start(launch: &Launch) -> Result<(Self, Duration)> {
        let initialize = request_line(
            0,
            "initialize",
            &json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "skippy-bench", "version": env!("CARGO_PKG_VERSION")},
            }),
        )?;
        let mut command = launch.command()?;
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {}", launch.bin.display()))?;
        let stdin = child.stdin.take().context("no stdin pipe")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        let mut server = Server {
            watchdog: Watchdog::start(child.clone()),
            child,
            pid,
            stdin: Some(stdin),
            stdout: BufReader::with_capacity(1 << 16, stdout),
            next_id: 1,
            line: String::with_capacity(1 << 16),
            stderr_log: launch.stderr_log(),
        };
        let response = server.exchange(0, &initialize)?;
        let elapsed = started.elapsed();
        if let Some(error) = response.message.get("error") {
            bail!("initialize failed: {error}");
        }
        server.send(&notification_line("notifications/initialized")?)?;
        Ok((server, elapsed))
    }

    /// A request; a JSON-RPC error response is returned as an `Err`.
    pub fn request(&mut self, method: &str, params: &Value) -> Result<Response> {
        let id = self.next_id;
        self.next_id += 1;
        let line = request_line(id, method, params)?;
        let response = self.exchange(id, &line)?;
        if let Some(error) = response.message.get("error") {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("");
            bail!(
                "JSON-RPC error {}: {message}",
                error.get("code").unwrap_or(&Value::Null)
            );
        }
        Ok(response)
    }

    /// `tools/call`; a result with `isError: true` is returned as an `Err` carrying its text.
    pub fn call_tool(&mut self, name: &str, arguments: &Value) -> Result<Response> {
        let response =
            self.request("tools/call", &json!({"name": name, "arguments": arguments}))?;
        let result = &response.message["result"];
        if result["isError"].as_bool() == Some(true) {
            bail!("{}", tool_error_text(result));
        }
        Ok(response)
    }

    /// Sends `tools/call` requests for every `(name, arguments)` at once, in one write, and waits
    /// for all their responses (in any order). Returns the time from the write to the last
    /// response, and the results in request order; any error response fails the whole batch.
    pub fn call_tools_at_once(
        &mut self,
        calls: &[(&str, Value)],
    ) -> Result<(Duration, Vec<Value>)> {
        let first_id = self.next_id;
        let mut batch = String::new();
        for (name, arguments) in calls {
            let id = self.next_id;
            self.next_id += 1;
            batch.push_str(&request_line(
                id,
                "tools/call",
                &json!({"name": name, "arguments": arguments}),
            )?);
        }
        self.watchdog.arm(REQUEST_TIMEOUT);
        let started = Instant::now();
        let result = self
            .send(&batch)
            .and_then(|()| self.read_responses(first_id, calls.len(), started));
        self.watchdog.disarm();
        let (elapsed, messages) = result.map_err(|error| {
            if self.watchdog.fired() {
                anyhow!(
                    "no response within {} s (server killed)",
                    REQUEST_TIMEOUT.as_secs()
                )
            } else {
                error
            }
        })?;
        let mut results = Vec::with_capacity(messages.len());
        for mut message in messages {
            if let Some(error) = message.get("error") {
                bail!("JSON-RPC error: {error}");
            }
            let result = message["result"].take();
            if result["isError"].as_bool() == Some(true) {
                bail!("{}", tool_error_text(&result));
            }
            results.push(result);
        }
        Ok((elapsed, results))
    }

    /// Reads until the responses to ids `first_id .. first_id + count` have all arrived.
    fn read_responses(
        &mut self,
        first_id: u64,
        count: usize,
        started: Instant,
    ) -> Result<(Duration, Vec<Value>)> {
        let mut messages = vec![Value::Null; count];
        let mut missing = count;
        let mut elapsed = Duration::ZERO;
        while missing > 0 {
            self.line.clear();
            let bytes = self.stdout.read_line(&mut self.line)?;
            // The clock stops at the last response line, before it is parsed.
            elapsed = started.elapsed();
            if bytes == 0 {
                bail!("the server closed stdout{}", stderr_tail(&self.stderr_log));
            }
            let message: Value = serde_json::from_str(&self.line)
                .with_context(|| format!("invalid JSON from the server: {:.200}", self.line))?;
            let index = message
                .get("id")
                .and_then(Value::as_u64)
                .and_then(|id| id.checked_sub(first_id))
                .and_then(|offset| usize::try_from(offset).ok())
                .filter(|&index| index < count);
            if let Some(index) = index
                && messages[index].is_null()
            {
                messages[index] = message;
                missing -= 1;
            }
        }
        Ok((elapsed, messages))
    }

    /// False once the process has exited (killed by the watchdog, or crashed).
    pub fn is_running(&self) -> bool {
        self.child
            .lock()
            .is_ok_and(|mut child| matches!(child.try_wait(), Ok(None)))
    }

    /// A field of /proc/PID/status in kB, e.g. `VmRSS` or `VmHWM`.
    pub fn status_kb(&self, field: &str) -> Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let value = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .with_context(|| format!("no {field} in /proc/{}/status", self.pid))?;
        let number = value.trim().trim_end_matches("kB").trim();
        Ok(number.parse()?)
    }

    /// Closes stdin (the server exits at EOF) and waits for the exit; kills it after 5 s.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if self.stdin.take().is_none() {
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut child = self
                .child
                .lock()
                .map_err(|_| anyhow!("child lock poisoned"))?;
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                bail!("the server did not exit within 5 s of stdin closing");
            }
            drop(child);
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn send(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin already closed")?;
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        Ok(())
    }

    /// Writes `line` and reads until the response with `id`, skipping notifications.
    fn exchange(&mut self, id: u64, line: &str) -> Result<Response> {
        self.watchdog.arm(REQUEST_TIMEOUT);
        let started = Instant::now();
        let result = self
            .send(line)
            .and_then(|()| self.read_response(id, started));
        self.watchdog.disarm();
        result.map_err(|error| {
            if self.watchdog.fired() {
                anyhow!(
                    "no response within {} s (server killed)",
                    REQUEST_TIMEOUT.as_secs()
                )
            } else {
                error
            }
        })
    }

    fn read_response(&mut self, id: u64, started: Instant) -> Result<Response> {
        loop {
            self.line.clear();
            let bytes = self.stdout.read_line(&mut self.line)?;
            let elapsed = started.elapsed();
            if bytes == 0 {
                bail!("the server closed stdout{}", stderr_tail(&self.stderr_log));
            }
            let message: Value = serde_json::from_str(&self.line)
                .with_context(|| format!("invalid JSON from the server: {:.200}", self.line))?;
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                let bytes = self.line.trim_end_matches('\n').len();
                return Ok(Response {
                    message,
                    bytes,
                    elapsed,
                });
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
        self.watchdog.stop.store(true, Ordering::Relaxed);
    }
}

fn request_line(id: u64, method: &str, params: &Value) -> Result<String> {
    let mut line = serde_json::to_string(
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )?;
    line.push('\n');
    Ok(line)
}

fn notification_line(method: &str) -> Result<String> {
    let mut line = serde_json::to_string(&json!({"jsonrpc": "2.0", "method": method}))?;
    line.push('\n');
    Ok(line)
}

/// The text of an `isError` result: Skippy puts a JSON `{code, message}` in the first text block.
fn tool_error_text(result: &Value) -> String {
    let text = result["content"][0]["text"].as_str().unwrap_or("(no text)");
    match serde_json::from_str::<Value>(text) {
        Ok(error) if error.get("message").is_some() => format!(
            "{}: {}",
            error["code"].as_str().unwrap_or("error"),
            error["message"].as_str().unwrap_or("")
        ),
        _ => text.to_string(),
    }
}

fn stderr_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let tail: String = text.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
    if tail.is_empty() {
        String::new()
    } else {
        format!(" (stderr: {tail:.300})")
    }
}

/// Kills the child when a request has been outstanding past its deadline.
struct Watchdog {
    base: Instant,
    /// Milliseconds since `base`; 0 when no request is outstanding.
    deadline_ms: Arc<AtomicU64>,
    fired: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(child: Arc<Mutex<Child>>) -> Self {
        let base = Instant::now();
        let deadline_ms = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (deadline, fire, halt) = (deadline_ms.clone(), fired.clone(), stop.clone());
        thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(100));
                let due = deadline.load(Ordering::Relaxed);
                if due != 0 && millis_since(base) > due {
                    fire.store(true, Ordering::Relaxed);
                    if let Ok(mut child) = child.lock() {
                        let _ = child.kill();
                    }
                    return;
                }
            }
        });
        Self {
            base,
            deadline_ms,
            fired,
            stop,
        }
    }

    fn arm(&self, timeout: Duration) {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX / 2);
        self.deadline_ms
            .store(millis_since(self.base) + timeout_ms, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.deadline_ms.store(0, Ordering::Relaxed);
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }
}

fn millis_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX / 2) + 1
}
