//! Approvals as a real MCP client sees them: runs `tests/approvals/test_approvals.py`, which drives
//! the built `skippy` with the official MCP Python SDK client and its elicitation callback (accept,
//! decline, cancel, no capability, protocol 2026-07-28) and checks the files and the audit log.
//!
//! Needs `python3` with the `mcp` package. Without them the test prints SKIPPED and passes, except
//! under `CI=true`, where it fails: `.ci/run` installs the SDK so that CI always runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use serde_json::{Value, json};

fn python_sdk_available() -> Result<(), String> {
    match Command::new("python3").args(["-c", "import mcp"]).output() {
        Err(error) => Err(format!("python3 cannot run: {error}")),
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "the MCP Python SDK is missing (python3 -m pip install mcp): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

#[test]
fn approvals_through_elicitation_with_the_python_sdk_client() {
    if let Err(reason) = python_sdk_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the approval tests: {reason}"
        );
        eprintln!("SKIPPED approvals_through_elicitation_with_the_python_sdk_client: {reason}");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/approvals/test_approvals.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_skippy"))
        .output()
        .expect("run the approval script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "approval checks failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("all approval checks passed"), "{stdout}");
}

/// Start a raw JSON-RPC client session that declares `elicitation`.
fn start_with_elicitation(sandbox: &Sandbox) -> Server {
    let mut server = sandbox.start();
    let response = server.request(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
               "clientInfo": {"name": "approval-tests", "version": "1"}}),
    );
    assert!(response.get("result").is_some(), "{response}");
    server.notify("notifications/initialized", json!({}));
    server
}

/// Call `write_file` and answer the approval question with `answer`; returns the question and the
/// call's error (code, message), if any.
fn call_answering(server: &mut Server, answer: Value) -> (Value, Option<(String, String)>) {
    let id = server.request_async(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": "raw.txt", "content": "raw\n"}}),
    );
    let question = loop {
        let message = server
            .next_message(WAIT)
            .expect("an elicitation/create request before the result");
        if message["method"] == "elicitation/create" {
            break message;
        }
        assert_ne!(
            message["id"],
            json!(id),
            "the call ended without asking: {message}"
        );
    };
    server.send(&json!({"jsonrpc": "2.0", "id": question["id"], "result": answer}));
    let result = server.response(id)["result"].clone();
    let error = (result["isError"] == json!(true)).then(|| {
        let body: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        (
            body["error"]["code"].as_str().unwrap().to_string(),
            body["error"]["message"].as_str().unwrap().to_string(),
        )
    });
    (question["params"].clone(), error)
}

#[test]
fn approval_raw_client_accept_runs_and_decline_writes_nothing() {
    let sandbox = Sandbox::new().with_env("SKIPPY_APPROVALS", "destructive");
    let mut server = start_with_elicitation(&sandbox);
    let (question, error) = call_answering(&mut server, json!({"action": "decline"}));
    let message = question["message"].as_str().unwrap();
    assert!(
        message.contains("raw.txt") && message.contains("4 bytes"),
        "{message}"
    );
    assert_eq!(
        question["requestedSchema"]["properties"]["approve"]["type"],
        "boolean"
    );
    let (code, text) = error.expect("declined");
    assert_eq!(code, "policy_denied");
    assert!(
        text.contains("declined by the user; nothing was done"),
        "{text}"
    );
    assert!(
        !sandbox.root.join("raw.txt").exists(),
        "a declined write wrote nothing"
    );

    let (_, error) = call_answering(
        &mut server,
        json!({"action": "accept", "content": {"approve": true}}),
    );
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("raw.txt")).unwrap(),
        "raw\n"
    );
    let lines = audit_lines_until(&sandbox.audit_path(), |line| line["approval"] == "approved");
    let decisions: Vec<&Value> = lines.iter().map(|line| &line["approval"]).collect();
    assert_eq!(decisions, [&json!("declined"), &json!("approved")]);
}

#[test]
fn approval_client_without_elicitation_is_refused_naming_the_keys() {
    let sandbox = Sandbox::new().with_env("SKIPPY_APPROVALS", "destructive");
    let mut server = sandbox.start();
    server.initialize();
    let (code, message) = server.call_err("write_file", json!({"path": "no.txt", "content": "no"}));
    assert_eq!(code, "policy_denied");
    for words in [
        "`elicitation` capability",
        "server.approvals",
        "server.approval_overrides.write_file",
    ] {
        assert!(message.contains(words), "{message}");
    }
    assert!(!sandbox.root.join("no.txt").exists());
    // Tools that change nothing are not affected.
    server.call_ok("list_directory", json!({"path": "."}));
}

#[test]
fn approval_skippy_call_without_a_terminal_is_refused_and_yes_approves() {
    let sandbox = Sandbox::new().with_env("SKIPPY_APPROVALS", "destructive");
    let args = r#"{"path": "cli.txt", "content": "cli"}"#;
    let output = sandbox
        .command()
        .args(["call", "write_file", args])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("policy_denied") && stdout.contains("--yes"),
        "{stdout}"
    );
    assert!(!sandbox.root.join("cli.txt").exists());

    let output = sandbox
        .command()
        .args(["call", "--yes", "write_file", args])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("cli.txt")).unwrap(),
        "cli"
    );
    let lines = audit_lines_until(&sandbox.audit_path(), |line| line["approval"] == "approved");
    let decisions: Vec<&Value> = lines.iter().map(|line| &line["approval"]).collect();
    assert_eq!(decisions, [&json!("unsupported"), &json!("approved")]);
}

#[test]
fn approval_overrides_naming_an_unknown_tool_are_a_configuration_error() {
    let sandbox =
        Sandbox::new().with_config("[server.approval_overrides]\nwrite_fil = \"always\"\n");
    let output = sandbox
        .command()
        .args(["call", "list_directory"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown tool `write_fil` in server.approval_overrides"),
        "{stderr}"
    );
}

/// A call cancelled by the client while its question is open: the question is withdrawn
/// (`notifications/cancelled` for the elicitation), nothing runs, and the audit says `cancelled`.
#[test]
fn approval_question_is_withdrawn_when_the_call_is_cancelled() {
    let sandbox = Sandbox::new().with_env("SKIPPY_APPROVALS", "destructive");
    let mut server = start_with_elicitation(&sandbox);
    let id = server.request_async(
        "tools/call",
        json!({"name": "write_file", "arguments": {"path": "late.txt", "content": "late"}}),
    );
    let question = loop {
        let message = server
            .next_message(WAIT)
            .expect("an elicitation/create request");
        if message["method"] == "elicitation/create" {
            break message;
        }
    };
    server.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "the user stopped it"}),
    );
    let withdrawn = loop {
        let message = server
            .next_message(WAIT)
            .expect("notifications/cancelled for the question");
        if message["method"] == "notifications/cancelled" {
            break message;
        }
    };
    assert_eq!(withdrawn["params"]["requestId"], question["id"]);
    // A late answer changes nothing.
    server.send(&json!({"jsonrpc": "2.0", "id": question["id"],
                        "result": {"action": "accept", "content": {"approve": true}}}));
    let lines = audit_lines_until(&sandbox.audit_path(), |line| line["tool"] == "write_file");
    assert_eq!(lines[0]["approval"], "cancelled");
    assert_eq!(lines[0]["code"], "cancelled");
    assert!(!sandbox.root.join("late.txt").exists());
}
