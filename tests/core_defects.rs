//! Regression tests for the core defects of issue 7, section 1, driven through the real binary: the
//! `remote` toolset could not be disabled, log tools refused relative paths, and a numeric limit
//! above its ceiling was an error instead of the ceiling's worth of results.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn defect_remote_toolset_can_be_disabled() {
    let sandbox = Sandbox::new().with_config("[server]\ndisabled_toolsets = [\"remote\"]\n");
    // `doctor` validates the configuration the way `serve` does; it used to call `remote` unknown.
    let doctor = sandbox.command().arg("doctor").output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(!report.contains("unknown toolset"), "{report}");

    let mut server = sandbox.start();
    let names = server.tool_names();
    let remote = [
        "list_hosts",
        "run_remote_command",
        "remote_status",
        "upload_file",
        "download_file",
    ];
    assert!(
        names.iter().all(|name| !remote.contains(&name.as_str())),
        "{names:?}"
    );
    assert!(names.iter().any(|name| name == "read_file"), "{names:?}");
    let (code, message) = server.call_err("run_remote_command", json!({"command": "uname -s"}));
    assert_eq!(code, "policy_denied", "{message}");
    assert!(message.contains("remote"), "{message}");
    let status = server.call_ok("server_status", json!({}));
    let enabled = status["toolsets_enabled"].as_array().unwrap();
    assert!(!enabled.contains(&json!("remote")), "{status}");
    assert!(enabled.contains(&json!("files")), "{status}");
}

#[test]
fn defect_log_tools_resolve_relative_paths() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "logs/syslog",
        "Jan 1 00:00:01 box cron[1]: one\nJan 1 00:00:02 box cron[1]: two\n",
    );
    sandbox.write("secret.txt", "x\n");
    let mut server = sandbox.start();

    let tail = server.call_ok("tail_log", json!({"path": "logs/syslog", "lines": 1}));
    assert_eq!(tail["lines"], json!(["Jan 1 00:00:02 box cron[1]: two"]));
    let search = server.call_ok(
        "search_log",
        json!({"path": "./logs/syslog", "pattern": "one"}),
    );
    assert_eq!(search["matches"].as_array().unwrap().len(), 1, "{search}");
    let summary = server.call_ok("summarize_log", json!({"path": "logs/syslog"}));
    assert_eq!(summary["lines_scanned"], 2, "{summary}");
    // The same path means the same file to a file tool.
    let read = server.call_ok("read_file", json!({"path": "logs/syslog"}));
    assert!(
        read["content"].as_str().unwrap().ends_with("two\n"),
        "{read}"
    );

    // Relative paths still end at the log allowlist.
    let outside = sandbox.outside.join("other.log");
    std::fs::write(&outside, "x\n").unwrap();
    let (code, message) = server.call_err("tail_log", json!({"path": "../outside/other.log"}));
    assert_eq!(code, "policy_denied", "{message}");
    // A bare name that is neither an alias nor a file: both are named in the message.
    let (code, message) = server.call_err("tail_log", json!({"path": "syslog"}));
    assert_eq!(code, "not_found", "{message}");
    assert!(message.contains("not a log alias"), "{message}");
}

/// The result of a call that must succeed; the limit fields are what this test is about.
fn clamped(server: &mut Server, tool: &str, arguments: Value, field: &str, ceiling: u64) -> Value {
    let output = server.call_ok(tool, arguments.clone());
    assert_eq!(
        output[field],
        json!(ceiling),
        "{tool}({arguments}): {output}"
    );
    output
}

#[test]
fn defect_limits_are_clamped_not_refused() {
    // Room for 10,000 matches in one result, so that only the clamp cuts.
    let sandbox = Sandbox::new().with_config("[server]\nmax_output_bytes = 4194304\n");
    let many: String = (1..=10_010).map(|n| format!("match {n}\n")).collect();
    sandbox.write("big/a.txt", &many);
    sandbox.write("app.log", &many);
    let mut server = sandbox.start();

    let search = clamped(
        &mut server,
        "search_files",
        json!({"path": ".", "query": "match", "max_results": 100_000}),
        "max_results_clamped_to",
        10_000,
    );
    assert_eq!(search["matches"].as_array().unwrap().len(), 10_000);
    assert_eq!(search["truncated"], true, "the clamp cut 10 matches");
    assert!(search.get("context_lines_clamped_to").is_none(), "{search}");

    let log = clamped(
        &mut server,
        "search_log",
        json!({"path": "app.log", "pattern": "match", "max_matches": 10_000}),
        "max_matches_clamped_to",
        5_000,
    );
    assert_eq!(log["matches"].as_array().unwrap().len(), 5_000);
    assert_eq!(log["truncated"], true);

    let processes = clamped(
        &mut server,
        "list_processes",
        json!({"limit": 100_000, "sample_ms": 0}),
        "limit_clamped_to",
        500,
    );
    assert!(
        processes.get("sample_ms_clamped_to").is_none(),
        "{processes}"
    );

    let tail = clamped(
        &mut server,
        "tail_log",
        json!({"path": "app.log", "lines": 1_000_000}),
        "lines_clamped_to",
        10_000,
    );
    assert_eq!(tail["count"], 10_000);
    assert_eq!(tail["truncated"], true, "older lines were left out");

    // Within the ceiling: no clamp field at all.
    let search = server.call_ok(
        "search_files",
        json!({"path": ".", "query": "match 1\\b", "max_results": 10_000}),
    );
    assert!(search.get("max_results_clamped_to").is_none(), "{search}");

    // Zero asks for nothing: still an error that says what to do.
    let (code, message) = server.call_err(
        "search_files",
        json!({"path": ".", "query": "match", "max_results": 0}),
    );
    assert_eq!(code, "invalid_argument");
    assert!(message.contains("at least 1"), "{message}");
}
