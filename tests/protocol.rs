//! The MCP protocol surface: handshakes, framing errors, lifecycle, CLI basics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

#[test]
fn initialize_reports_name_version_instructions_and_tools_capability() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.spawn();
    let response = server.initialize();
    let result = &response["result"];
    assert_eq!(result["serverInfo"]["name"], "skippy");
    assert_eq!(result["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert!(result["capabilities"]["tools"].is_object());
    assert!(
        result["instructions"]
            .as_str()
            .unwrap()
            .contains("next_offset")
    );
    assert!(server.close().success());
}

#[test]
fn server_discover_lifecycle_lists_and_calls_tools() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.spawn();
    let response = server.discover();
    let result = &response["result"];
    let versions = result["supportedVersions"]
        .as_array()
        .expect("supportedVersions");
    assert!(versions.contains(&json!("2026-07-28")), "{result}");
    let list = server.request("tools/list", json!({}));
    assert!(
        list["result"]["tools"].as_array().unwrap().len() >= 17,
        "{list}"
    );
    let status = server.call_ok("server_status", json!({}));
    assert_eq!(status["protocol_version"], "2026-07-28");
    assert!(server.close().success());
}

#[test]
fn malformed_json_line_gets_parse_error_and_server_keeps_serving() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    server.send_raw("{this is not json");
    let error = server.next_message(WAIT).expect("a parse error response");
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert_eq!(error["id"], Value::Null);
    // Valid JSON that is not a JSON-RPC message: invalid request, with its id.
    server.send_raw(r#"{"jsonrpc":"2.0","id":"odd","unexpected":true}"#);
    let error = server
        .next_message(WAIT)
        .expect("an invalid request response");
    assert_eq!(error["error"]["code"], -32600, "{error}");
    assert_eq!(error["id"], "odd");
    let status = server.call_ok("server_status", json!({}));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(server.close().success());
}

#[test]
fn stdin_eof_exits_zero_before_and_after_handshake() {
    let sandbox = Sandbox::new();
    let server = sandbox.spawn();
    assert_eq!(server.close().code(), Some(0));
    let server = sandbox.start();
    assert_eq!(server.close().code(), Some(0));
}

#[test]
fn sigterm_exits_cleanly() {
    let sandbox = Sandbox::new();
    // During the handshake wait (after start-up: a signal before main() runs cannot be handled) ...
    let mut early = sandbox.spawn();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = early.child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = wait_exit(&mut early.child, WAIT).expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
    // ... and while serving.
    let mut server = sandbox.start();
    let pid = nix_pid(&server);
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    let status = wait_exit(&mut server.child, WAIT).expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

fn nix_pid(server: &Server) -> u32 {
    server.child.id()
}

#[test]
fn unknown_tool_is_a_protocol_error_and_unknown_field_an_is_error_result() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    let response = server.request(
        "tools/call",
        json!({"name": "no_such_tool", "arguments": {}}),
    );
    assert_eq!(response["error"]["code"], -32602, "{response}");
    let (code, message) = server.call_err("server_status", json!({"surprise": 1}));
    assert_eq!(code, "invalid_argument");
    assert!(message.contains("surprise"), "{message}");
    let (code, message) = server.call_err("read_file", json!({"path": "x", "limit": "many"}));
    assert_eq!(code, "invalid_argument", "{message}");
}

#[test]
fn huge_argument_is_answered_with_an_error_and_nothing_is_lost() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    // 3 MiB of content for a file outside the roots: under server.max_request_bytes (4 MiB), so
    // parsed, then refused by policy.
    let big = "x".repeat(3 * 1024 * 1024);
    let outside = sandbox.outside.join("big.txt");
    let (code, _) = server.call_err("write_file", json!({"path": outside, "content": big}));
    assert_eq!(code, "policy_denied");
    assert!(!outside.exists());
    // Over the ceiling: refused unparsed, answered with the request's id (finding 6).
    let huge = "x".repeat(5 * 1024 * 1024);
    let response = server.request(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": "huge.txt", "content": huge}}),
    );
    assert_eq!(response["error"]["code"], json!(-32600), "{response}");
    assert!(!sandbox.root.join("huge.txt").exists());
    let status = server.call_ok("server_status", json!({}));
    assert!(status["uptime_seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn every_call_writes_one_audit_line_with_secrets_redacted() {
    let sandbox = Sandbox::new().with_env("EBON_PASSWORD", "correct-horse-battery");
    sandbox.write("notes.txt", "the password is correct-horse-battery\n");
    let mut server = sandbox.start();
    let content = server.call_ok("read_file", json!({"path": "notes.txt"}));
    assert!(
        !content["content"]
            .as_str()
            .unwrap()
            .contains("correct-horse-battery"),
        "secret leaked: {content}"
    );
    assert!(content["content"].as_str().unwrap().contains("********"));
    let _ = server.call_err(
        "read_file",
        json!({"path": "missing-correct-horse-battery.txt"}),
    );
    let audit = sandbox.audit_path();
    let lines = audit_lines_until(&audit, |l| {
        l["tool"] == "read_file" && l["outcome"] == "error"
    });
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(
        !text.contains("correct-horse-battery"),
        "secret in audit log: {text}"
    );
    let ok = lines
        .iter()
        .find(|l| l["tool"] == "read_file" && l["outcome"] == "ok")
        .expect("ok line");
    assert_eq!(ok["arguments"]["path"], "notes.txt");
    assert!(ok["bytes"].as_u64().unwrap() > 0);
    assert!(ok["duration_ms"].as_f64().is_some());
    assert!(ok["time"].as_str().unwrap().ends_with('Z'));
    let err = lines.iter().find(|l| l["outcome"] == "error").unwrap();
    assert_eq!(err["code"], "not_found");
}

#[test]
fn read_only_mode_hides_and_refuses_mutating_tools() {
    let sandbox = Sandbox::new().with_config("[server]\nread_only = true\n");
    let mut server = sandbox.start();
    let list = server.request("tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"write_file") && !names.contains(&"edit_file"),
        "{names:?}"
    );
    assert!(names.contains(&"read_file"));
    let (code, _) = server.call_err("write_file", json!({"path": "a.txt", "content": "x"}));
    assert_eq!(code, "policy_denied");
    assert!(!sandbox.root.join("a.txt").exists());
}

#[test]
fn disabled_tools_and_toolsets_are_hidden_and_refused() {
    let sandbox = Sandbox::new().with_config(
        "[server]\ndisabled_tools = [\"read_file\"]\ndisabled_toolsets = [\"logs\"]\n",
    );
    let mut server = sandbox.start();
    let list = server.request("tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"read_file") && !names.contains(&"tail_log"),
        "{names:?}"
    );
    let (code, _) = server.call_err("read_file", json!({"path": "x"}));
    assert_eq!(code, "policy_denied");
    let (code, _) = server.call_err("tail_log", json!({"path": "/var/log/x"}));
    assert_eq!(code, "policy_denied");
}

#[test]
fn config_errors_name_the_key_and_exit_non_zero() {
    let sandbox = Sandbox::new().with_config("[server]\nmax_output_byte = 1\n");
    let output = sandbox.command().arg("doctor").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("max_output_byte"));
    let output = sandbox
        .command()
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("max_output_byte"),
        "{output:?}"
    );
    let sandbox = Sandbox::new().with_config("[server]\ndisabled_tools = [\"reed_file\"]\n");
    let output = sandbox
        .command()
        .arg("serve")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("reed_file"));
}

#[test]
fn cli_call_prints_json_and_exit_status_follows_is_error() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "hello\n");
    let output = sandbox
        .command()
        .args(["call", "read_file", r#"{"path":"a.txt"}"#])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["content"], "hello\n");
    let output = sandbox
        .command()
        .args(["call", "read_file", r#"{"path":"nope.txt"}"#])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["error"]["code"], "not_found");
    let output = sandbox
        .command()
        .args(["call", "get_system_info"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn doctor_passes_on_defaults_and_version_prints() {
    let sandbox = Sandbox::new();
    let output = sandbox.command().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("no problems found"), "{text}");
    let with_host = Sandbox::new().with_config(
        "[hosts.ebon]\naddress = \"10.0.0.29\"\nidentity_file = \"/nonexistent/key\"\n",
    );
    let output = with_host.command().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("host ebon") && text.contains("identity_file does not exist"),
        "{text}"
    );
    let output = sandbox.command().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_request_before_the_handshake_does_not_kill_the_server() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.spawn();
    let id = server.request_async("tools/list", json!({}));
    let early = server.response_within(id, Duration::from_secs(5));
    if let Some(early) = early {
        assert!(early.get("error").is_some(), "{early}");
    }
    server.initialize();
    let list = server.request("tools/list", json!({}));
    assert!(list["result"]["tools"].is_array());
}
