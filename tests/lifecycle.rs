//! Time limits and cancellation, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[test]
fn cancelled_call_gets_no_response_and_is_audited_as_cancelled() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    let started = Instant::now();
    let id = server.request_async(
        "tools/call",
        json!({"name": "get_cpu_info", "arguments": {"sample_ms": 5000}}),
    );
    std::thread::sleep(Duration::from_millis(200));
    server.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "test"}),
    );
    // The server stays responsive and never answers the cancelled id.
    let status = server.call_ok("server_status", json!({}));
    assert!(status["version"].is_string());
    assert!(
        server
            .response_within(id, Duration::from_millis(500))
            .is_none(),
        "a cancelled request must not be answered"
    );
    let lines = audit_lines_until(&sandbox.audit_path(), |l| l["tool"] == "get_cpu_info");
    let line = lines.iter().find(|l| l["tool"] == "get_cpu_info").unwrap();
    assert_eq!(line["code"], "cancelled", "{line}");
    assert!(
        line["duration_ms"].as_f64().unwrap() < 5000.0,
        "the call ran to completion: {line}"
    );
    assert!(started.elapsed() < Duration::from_secs(5) + WAIT);
    let status = server.call_ok("server_status", json!({}));
    let cpu = status["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "get_cpu_info")
        .unwrap()
        .clone();
    assert_eq!(cpu["cancelled"], 1, "{cpu}");
}

#[test]
fn call_past_its_timeout_returns_timeout_while_another_call_is_answered() {
    let sandbox = Sandbox::new().with_config("[server.tool_timeouts_ms]\nget_cpu_info = 700\n");
    let mut server = sandbox.start();
    let slow = server.request_async(
        "tools/call",
        json!({"name": "get_cpu_info", "arguments": {"sample_ms": 5000}}),
    );
    let fast = server.request_async(
        "tools/call",
        json!({"name": "server_status", "arguments": {}}),
    );
    // The fast call is answered first, while the slow one is still running.
    let first = server.next_message(WAIT).expect("a response");
    assert_eq!(
        first["id"],
        json!(fast),
        "the concurrent call should be answered before the slow one: {first}"
    );
    let response = server.response(slow);
    let result = &response["result"];
    assert_eq!(result["isError"], true, "{response}");
    let body: serde_json::Value =
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tool_timeouts_ms"),
        "{body}"
    );
    let status = server.call_ok("server_status", json!({}));
    let cpu = status["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "get_cpu_info")
        .unwrap()
        .clone();
    assert_eq!(cpu["timeouts"], 1, "{cpu}");
}

#[test]
fn progress_notifications_reach_a_client_that_asks_for_them() {
    let sandbox = Sandbox::new();
    // Enough same-size files that find_duplicates reports progress while hashing.
    for i in 0..400 {
        sandbox.write(&format!("d/{i}.bin"), &format!("{:0>4096}", i % 3));
    }
    let mut server = sandbox.start();
    let id = server.request_async(
        "tools/call",
        json!({"name": "find_duplicates", "arguments": {"path": "d"}, "_meta": {"progressToken": "p1"}}),
    );
    let response = server.response(id);
    assert_eq!(response["result"]["isError"], false, "{response}");
    let groups = response["result"]["structuredContent"]["groups"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(groups, 3);
    let notes = server.take_notifications();
    assert!(!notes.is_empty(), "no progress notification arrived");
    assert!(
        notes.iter().all(
            |n| n["method"] == "notifications/progress" && n["params"]["progressToken"] == "p1"
        ),
        "{notes:?}"
    );
}
