//! Regression tests for findings of the adversarial review (issue 6) that concern the server as a
//! whole: secrets in Skippy's own environment (3), panics (4), message size and shape (6) and
//! masking (12). Each test is named after its finding and drives the real binary over stdio.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::process::CommandExt;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const DB_URL: &str = "postgres://app:Sup3rS3cretPw@db.internal/prod";
const AWS_SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
const EBON_PASSWORD: &str = "ebon-Pa55word-42";

/// A sandbox whose server is started with secrets in its environment, as an operator's shell would.
fn secret_sandbox() -> Sandbox {
    Sandbox::new()
        .with_env("DATABASE_URL", DB_URL)
        .with_env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .with_env("EBON_PASSWORD", EBON_PASSWORD)
        .with_env("EBON_HOST", "dave@127.0.0.1:1")
}

/// Every way a secret can come back: as is, one character per line, base64.
fn assert_no_secret(context: &str, text: &str) {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for secret in [DB_URL, AWS_SECRET, EBON_PASSWORD, "Sup3rS3cretPw"] {
        assert!(
            !text.contains(secret),
            "{context}: `{secret}` leaked: {text}"
        );
        assert!(
            !squeezed.contains(secret),
            "{context}: `{secret}` leaked one character per line"
        );
        // The 12-character prefix the review got out with `grep -aoE 'NAME=.{0,12}'`.
        assert!(
            !text.contains(&secret[..12]),
            "{context}: a prefix of `{secret}` leaked: {text}"
        );
        for piece in text.split(|c: char| c == '"' || c.is_whitespace()) {
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(piece) {
                let decoded = String::from_utf8_lossy(&decoded);
                assert!(
                    !decoded.contains(secret),
                    "{context}: `{secret}` leaked base64-encoded"
                );
            }
        }
    }
}

#[test]
fn finding_03_server_environment_holds_no_secret() {
    let sandbox = secret_sandbox();
    let mut server = sandbox.start();
    let pid = server.child.id();
    // What any process of the same user can read: the server's initial environment.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert_no_secret("/proc/<skippy>/environ", &String::from_utf8_lossy(&environ));
    // The hand-over descriptor is closed once read.
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .collect();
    assert!(
        !fds.iter().any(|target| target.contains("skippy-env")),
        "the environment hand-over is still open: {fds:?}"
    );
    // The secrets are still known to the masker: a result containing one is masked.
    sandbox.write("leak.txt", &format!("url={DB_URL}\n"));
    let read = server.call_ok("read_file", json!({"path": "leak.txt"}));
    assert_no_secret("read_file of a file holding a secret", &read.to_string());
    // And the configuration read from the environment still works (EBON_HOST defines `ebon`).
    let hosts = server.call_ok("list_hosts", json!({}));
    assert!(hosts.to_string().contains("ebon"), "{hosts}");
}

#[test]
fn finding_03_commands_cannot_read_skippy_environment() {
    let sandbox = secret_sandbox();
    let mut server = sandbox.start();
    let pid = server.child.id();
    let commands = [
        "cat /proc/$PPID/environ".to_string(),
        "ps eww -o args -p $PPID".to_string(),
        "ps e -p $PPID".to_string(),
        "grep -ao . /proc/$PPID/environ".to_string(),
        "grep -aoE 'NAME=.{0,12}' /proc/$PPID/environ".to_string(),
        "grep -aoE 'DATABASE_URL=.{0,40}' /proc/$PPID/environ".to_string(),
        format!("cat /proc/{pid}/environ"),
        format!("grep -ao . /proc/{pid}/environ"),
        format!("cat /proc/{pid}/task/{pid}/environ"),
        "cat /proc/*/environ".to_string(),
        "grep -r DATABASE /proc/self/".to_string(),
    ];
    for command in commands {
        let result = server.call(
            "run_remote_command",
            json!({"host": "local", "command": command, "timeout_secs": 10}),
        );
        assert_no_secret(&command, &result.to_string());
    }
}

#[test]
fn finding_03_file_tools_cannot_read_skippy_proc_files() {
    let sandbox = secret_sandbox().with_config("[files]\nread_roots = [\"/proc\", \".\"]\n");
    let mut server = sandbox.start();
    let pid = server.child.id();
    let paths = [
        "/proc/self/environ".to_string(),
        "/proc/thread-self/environ".to_string(),
        format!("/proc/{pid}/environ"),
        format!("/proc/{pid}/task/{pid}/environ"),
        format!("/proc/{pid}/cmdline"),
    ];
    for path in paths {
        for encoding in ["utf8", "base64"] {
            let arguments = json!({"path": path, "encoding": encoding});
            let result = server.call("read_file", arguments.clone());
            assert_no_secret(&arguments.to_string(), &result.to_string());
        }
        let result = server.call(
            "search_files",
            json!({"path": path, "pattern": "SECRET|URL"}),
        );
        assert_no_secret(&path, &result.to_string());
    }
}

/// A glob that makes globset panic while compiling ("regex compilation shouldn't fail").
fn panicking_glob() -> String {
    format!("{}a{}", "{".repeat(300), "}".repeat(300))
}

#[test]
fn finding_04_hostile_patterns_are_answered_and_the_server_goes_on() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "a\n");
    let mut server = sandbox.start();
    let attempts = [
        (
            "search_files",
            json!({"path": ".", "name_glob": panicking_glob()}),
        ),
        (
            "search_files",
            json!({"path": ".", "name_glob": "*".repeat(100_000)}),
        ),
        (
            "list_directory",
            json!({"path": ".", "pattern": panicking_glob()}),
        ),
        (
            "list_directory",
            json!({"path": ".", "pattern": "*".repeat(100_000)}),
        ),
    ];
    for (tool, arguments) in attempts {
        let (code, message) = server.call_err(tool, arguments);
        assert!(
            code == "invalid_argument" || code == "internal",
            "{tool}: {code}: {message}"
        );
    }
    // The server still answers, and the failures are counted.
    let listing = server.call_ok("list_directory", json!({"path": "."}));
    assert!(listing.to_string().contains("a.txt"));
}

#[test]
fn finding_04_call_cli_does_not_crash_on_a_hostile_pattern() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command()
        .args([
            "call",
            "search_files",
            &json!({"path": ".", "name_glob": panicking_glob()}).to_string(),
        ])
        .output()
        .unwrap();
    // 1 = an error result; 101 would be a panic.
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let body: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

#[test]
fn finding_06_a_huge_array_is_refused_unparsed_with_its_id() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    // 15 million zeros: 30 MiB on the wire, gigabytes once parsed into JSON values.
    let zeros = vec!["0"; 15_000_000].join(",");
    server.send_raw(&format!(
        r#"{{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{{"name":"server_status","arguments":{{"a":[{zeros}]}}}}}}"#
    ));
    drop(zeros);
    let response = server.response(41);
    assert_eq!(response["error"]["code"], json!(-32600), "{response}");
    // A wide array under the byte ceiling is refused for its item count.
    let wide = vec!["0"; 20_000].join(",");
    server.send_raw(&format!(
        r#"{{"jsonrpc":"2.0","method":"tools/call","params":{{"name":"server_status","arguments":{{"a":[{wide}]}}}},"id":42}}"#
    ));
    let response = server.response(42);
    assert_eq!(response["error"]["code"], json!(-32600), "{response}");
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("items"),
        "{response}"
    );
    // Deep nesting.
    server.send_raw(&format!(
        r#"{{"jsonrpc":"2.0","id":43,"method":"tools/call","params":{{"name":"server_status","arguments":{{"a":{}{}}}}}}}"#,
        "[".repeat(500),
        "]".repeat(500)
    ));
    let response = server.response(43);
    assert_eq!(response["error"]["code"], json!(-32600), "{response}");
    // Nothing was materialized: the server's peak memory stayed far from the gigabytes the review saw.
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    // And it still serves.
    server.call_ok("server_status", json!({}));
}

#[test]
fn finding_06_request_ceiling_is_configurable_and_answered_with_the_id() {
    let sandbox = Sandbox::new().with_config("[server]\nmax_request_bytes = 65536\n");
    let mut server = sandbox.start();
    let content = "x".repeat(70_000);
    server.send_raw(
        &json!({"jsonrpc": "2.0", "id": 51, "method": "tools/call",
            "params": {"name": "write_file", "arguments": {"path": "big.txt", "content": content}}})
        .to_string(),
    );
    let response = server.response(51);
    assert_eq!(response["error"]["code"], json!(-32600), "{response}");
    let message = response["error"]["message"].as_str().unwrap();
    assert!(message.contains("max_request_bytes"), "{message}");
    assert!(!sandbox.root.join("big.txt").exists());
    // A message under the ceiling works.
    server.call_ok(
        "write_file",
        json!({"path": "small.txt", "content": "x".repeat(60_000)}),
    );
}

#[test]
fn finding_12_processes_show_no_credentials() {
    let sandbox = Sandbox::new();
    // A process whose command line carries credentials in the three forms the review found.
    let mut victim = std::process::Command::new("/usr/bin/perl")
        .arg0("mysql")
        .args([
            "-e",
            "sleep 60",
            "--",
            "skippy-victim-marker",
            "-pGlu3dS3cret",
            "--api-key=K3yValue99",
            "postgres://u:Pa55word77@db/x",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut server = sandbox.start();
    let listing = server.call_ok(
        "list_processes",
        json!({"name_filter": "skippy-victim-marker", "sample_ms": 0}),
    );
    let text = listing.to_string();
    let _ = victim.kill();
    let _ = victim.wait();
    assert!(
        text.contains(&victim.id().to_string()),
        "the victim process is listed: {text}"
    );
    for secret in ["Glu3dS3cret", "K3yValue99", "Pa55word77"] {
        assert!(!text.contains(secret), "`{secret}` shown: {text}");
    }
}

#[test]
fn finding_12_secret_in_names_and_debug_logs_is_masked() {
    let sandbox = secret_sandbox().with_env("SKIPPY_LOG", "debug");
    let audit = sandbox.audit_path();
    let mut server = sandbox.start();
    // A secret sent as an argument's name, and inside an argument's value.
    let result = server.call(
        "read_file",
        json!({EBON_PASSWORD: 1, "path": format!("x-{AWS_SECRET}")}),
    );
    assert_no_secret("result", &result.to_string());
    // A secret as the name of an unknown tool: the JSON-RPC error echoes the name.
    let response = server.request(
        "tools/call",
        json!({"name": format!("tool-{EBON_PASSWORD}"), "arguments": {}}),
    );
    assert!(response.get("error").is_some(), "{response}");
    assert_no_secret("unknown tool error", &response.to_string());
    server.call_ok("server_status", json!({}));
    let lines = audit_lines_until(&audit, |line| line["tool"] == json!("server_status"));
    assert_no_secret("audit log", &Value::Array(lines).to_string());
    std::thread::sleep(Duration::from_millis(300));
    let stderr = server.stderr_text();
    assert!(stderr.contains("DEBUG"), "debug logging is on: {stderr}");
    assert_no_secret("debug log", &stderr);
}

#[test]
fn finding_04_an_ignore_file_glob_bomb_does_not_abort_the_server() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "needle\n");
    let mut server = sandbox.start();
    // A tool can write an ignore file; the walker compiles it with recursion per nested `{`.
    let bomb = format!("{}a{}\n", "{".repeat(10_000), "}".repeat(10_000));
    for path in ["sub/.gitignore", ".gitignore"] {
        server.call_ok(
            "write_file",
            json!({"path": path, "content": bomb, "create_dirs": true}),
        );
        let (code, message) =
            server.call_err("search_files", json!({"path": ".", "query": "needle"}));
        assert_eq!(code, "invalid_argument", "{message}");
        assert!(message.contains(".gitignore"), "{message}");
        // Without the ignore files the search works.
        let found = server.call_ok(
            "search_files",
            json!({"path": ".", "query": "needle", "respect_gitignore": false}),
        );
        assert!(found.to_string().contains("a.txt"), "{found}");
    }
}
