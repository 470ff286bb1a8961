//! Test harness: spawns the built `skippy` binary in a scratch directory and speaks newline-delimited
//! JSON-RPC over its stdio, like an MCP client does.
// Test support code: panicking on a broken fixture is the right failure.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_skippy");
/// Upper bound on waiting for any single message; only reached when something is broken.
pub const WAIT: Duration = Duration::from_secs(30);

/// A scratch world for one server: a root directory (the working directory, hence the default
/// read/write root), a separate HOME and XDG dirs, and a place outside the root.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// Canonical path of the root (the server's working directory).
    pub root: PathBuf,
    /// Canonical path of a directory outside the root.
    pub outside: PathBuf,
    pub home: PathBuf,
    pub config: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical tempdir");
        let root = base.join("root");
        let outside = base.join("outside");
        let home = base.join("home");
        for d in [&root, &outside, &home] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        Sandbox {
            dir,
            root,
            outside,
            home,
            config: None,
            env: Vec::new(),
        }
    }

    /// Write `skippy.toml` (outside the root, passed with --config).
    pub fn with_config(mut self, toml: &str) -> Self {
        let path = self.home.join("skippy.toml");
        std::fs::write(&path, toml).expect("write config");
        self.config = Some(path);
        self
    }

    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    pub fn audit_path(&self) -> PathBuf {
        self.home.join("state/skippy/audit.jsonl")
    }

    pub fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
        path
    }

    /// A `Command` for the binary with this sandbox's environment (no inherited SKIPPY_* settings).
    pub fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_STATE_HOME", self.home.join("state"));
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Start the server (not yet initialized).
    pub fn spawn(&self) -> Server {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn skippy");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, erx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = etx.send(line);
            }
        });
        Server {
            child,
            stdin: Some(stdin),
            lines: rx,
            stderr: erx,
            pending: VecDeque::new(),
            next_id: 1,
            meta: None,
        }
    }

    /// Start and complete the `initialize` handshake.
    pub fn start(&self) -> Server {
        let mut server = self.spawn();
        server.initialize();
        server
    }
}

pub struct Server {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    /// Messages read while waiting for something else.
    pending: VecDeque<Value>,
    next_id: u64,
    /// `_meta` added to every request (the 2026-07-28 lifecycle).
    meta: Option<Value>,
}

impl Server {
    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    pub fn send(&mut self, message: &Value) {
        self.send_raw(&message.to_string());
    }

    /// Send a request and return its id (does not wait).
    pub fn request_async(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut params = params;
        if let (Some(meta), Value::Object(map)) = (&self.meta, &mut params) {
            let entry = map.entry("_meta").or_insert_with(|| json!({}));
            if let (Value::Object(target), Value::Object(source)) = (entry, meta) {
                for (k, v) in source {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        id
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Read the next message from the server, or None after `timeout`.
    pub fn next_message(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(message) = self.pending.pop_front() {
            return Some(message);
        }
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("server wrote non-JSON to stdout: {line:?}: {e}")),
            ),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Wait for the response with `id`; other messages are kept for later.
    pub fn response(&mut self, id: u64) -> Value {
        self.response_within(id, WAIT).unwrap_or_else(|| {
            panic!(
                "no response to request {id} within {WAIT:?}; stderr: {}",
                self.stderr_text()
            )
        })
    }

    pub fn response_within(&mut self, id: u64, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut skipped = Vec::new();
        let found = loop {
            if let Some(index) = self.pending.iter().position(|m| m["id"] == json!(id)) {
                break self.pending.remove(index);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let message: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("non-JSON on stdout: {line:?}: {e}"));
                    if message["id"] == json!(id) {
                        break Some(message);
                    }
                    skipped.push(message);
                }
                Err(_) => break None,
            }
        };
        self.pending.extend(skipped);
        found
    }

    /// Messages without an id (notifications) seen so far.
    pub fn take_notifications(&mut self) -> Vec<Value> {
        let (notes, rest): (Vec<Value>, Vec<Value>) =
            self.pending.drain(..).partition(|m| m.get("id").is_none());
        self.pending = rest.into();
        notes
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.request_async(method, params);
        self.response(id)
    }

    pub fn initialize(&mut self) -> Value {
        let response = self.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "skippy-tests", "version": "1"}}),
        );
        assert!(
            response.get("result").is_some(),
            "initialize failed: {response}"
        );
        self.notify("notifications/initialized", json!({}));
        response
    }

    /// The 2026-07-28 lifecycle: `server/discover`, then `_meta` on every request.
    pub fn discover(&mut self) -> Value {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "skippy-tests", "version": "1"},
        });
        self.meta = Some(meta);
        self.request("server/discover", json!({}))
    }

    /// Call a tool and return the `result` object (panics on a JSON-RPC error).
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        response
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("tools/call {tool} gave a JSON-RPC error: {response}"))
    }

    /// The names in `tools/list`, in order.
    pub fn tool_names(&mut self) -> Vec<String> {
        let list = self.request("tools/list", json!({}));
        list["result"]["tools"]
            .as_array()
            .expect("tools/list result")
            .iter()
            .map(|tool| tool["name"].as_str().expect("tool name").to_string())
            .collect()
    }

    /// Call a tool that must succeed; returns `structuredContent`.
    pub fn call_ok(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.call(tool, arguments.clone());
        assert_eq!(
            result["isError"],
            json!(false),
            "{tool}({arguments}) failed: {result}"
        );
        let structured = result["structuredContent"].clone();
        let text = result["content"][0]["text"].as_str().expect("text block");
        assert_eq!(
            serde_json::from_str::<Value>(text).expect("text block is JSON"),
            structured,
            "text block must mirror structuredContent"
        );
        structured
    }

    /// Call a tool that must fail; returns the error code and message.
    pub fn call_err(&mut self, tool: &str, arguments: Value) -> (String, String) {
        let result = self.call(tool, arguments.clone());
        assert_eq!(
            result["isError"],
            json!(true),
            "{tool}({arguments}) should fail: {result}"
        );
        let text = result["content"][0]["text"].as_str().expect("error text");
        let body: Value = serde_json::from_str(text).expect("error body is JSON");
        (
            body["error"]["code"].as_str().expect("code").to_string(),
            body["error"]["message"]
                .as_str()
                .expect("message")
                .to_string(),
        )
    }

    /// Close stdin and wait for exit.
    pub fn close(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        wait_exit(&mut self.child, WAIT).expect("server did not exit after stdin EOF")
    }

    pub fn stderr_text(&self) -> String {
        let mut text = String::new();
        while let Ok(line) = self.stderr.try_recv() {
            text.push_str(&line);
            text.push('\n');
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Read the audit log, waiting until `predicate` holds for some line (the writer is asynchronous).
pub fn audit_lines_until(path: &Path, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines: Vec<Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if lines.iter().any(&predicate) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "audit log {} never got the expected line: {lines:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
