//! One successful call of every tool through the real binary, plus the common failure shapes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn every_listed_tool_answers_successfully() {
    let sandbox = Sandbox::new();
    let log = sandbox.write(
        "app.log",
        "2026-11-21T10:00:00Z INFO started worker 1\n2026-11-21T10:00:01Z ERROR failed to open /tmp/a\n2026-11-21T10:00:02Z ERROR failed to open /tmp/b\n",
    );
    sandbox.write("notes.txt", "alpha\nbeta\ngamma\n");
    sandbox.write("dup/a.bin", &"z".repeat(2048));
    sandbox.write("dup/b.bin", &"z".repeat(2048));
    let mut server = sandbox.start();
    let log = log.to_str().unwrap().to_string();
    let calls: Vec<(&str, Value)> = vec![
        ("read_file", json!({"path": "notes.txt"})),
        (
            "write_file",
            json!({"path": "out/new.txt", "content": "hello\n", "create_dirs": true}),
        ),
        (
            "edit_file",
            json!({"path": "notes.txt", "edits": [{"old_text": "beta", "new_text": "BETA"}]}),
        ),
        ("list_directory", json!({"path": "."})),
        ("search_files", json!({"path": ".", "query": "gamma"})),
        (
            "get_file_info",
            json!({"path": "notes.txt", "checksum": true}),
        ),
        ("find_duplicates", json!({"path": "dup"})),
        ("get_system_info", json!({})),
        ("get_cpu_info", json!({"sample_ms": 100})),
        ("get_memory_info", json!({})),
        ("get_disk_usage", json!({})),
        ("list_processes", json!({"limit": 5})),
        ("tail_log", json!({"path": log, "lines": 2})),
        ("search_log", json!({"path": log, "pattern": "error"})),
        ("summarize_log", json!({"path": log})),
        ("list_hosts", json!({})),
        ("run_remote_command", json!({"command": "uname -s"})),
        ("remote_status", json!({})),
        ("server_status", json!({})),
    ];
    let mut covered: Vec<&str> = calls.iter().map(|(name, _)| *name).collect();
    let mut results = std::collections::HashMap::new();
    for (name, arguments) in &calls {
        results.insert(*name, server.call_ok(name, arguments.clone()));
    }
    // check_service_status needs systemd: here either a real answer or `unavailable`, never a crash.
    let result = server.call("check_service_status", json!({"service": "cron"}));
    if result["isError"] == true {
        let body: Value =
            serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(!std::path::Path::new("/run/systemd/system").exists());
    } else {
        assert!(result["structuredContent"]["load_state"].is_string());
    }
    covered.push("check_service_status");
    // Transfers need a remote host (tests/remote.rs runs them against a real sshd); on `local` they
    // say to use the file tools.
    for tool in ["upload_file", "download_file"] {
        let (code, message) = server.call_err(
            tool,
            json!({"local_path": "notes.txt", "remote_path": "/tmp/x"}),
        );
        assert_eq!(code, "invalid_argument", "{tool}: {message}");
        covered.push(tool);
    }
    let mut listed = server.tool_names();
    listed.sort();
    covered.sort();
    assert_eq!(listed, covered, "every listed tool must be exercised here");

    // Spot-check real values.
    assert_eq!(results["read_file"]["content"], "alpha\nbeta\ngamma\n");
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("out/new.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(results["write_file"]["created"], true);
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("notes.txt")).unwrap(),
        "alpha\nBETA\ngamma\n"
    );
    assert!(
        results["edit_file"]["diff"]
            .as_str()
            .unwrap()
            .contains("+BETA")
    );
    assert_eq!(results["search_files"]["matches"][0]["line_number"], 3);
    assert_eq!(results["get_file_info"]["size"], 17);
    assert_eq!(
        results["find_duplicates"]["groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(results["find_duplicates"]["wasted_bytes"], 2048);
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(results["get_system_info"]["hostname"], hostname.trim());
    assert!(results["get_memory_info"]["total"].as_u64().unwrap() > 0);
    assert_eq!(results["tail_log"]["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        results["search_log"]["matches"].as_array().unwrap().len(),
        2
    );
    assert_eq!(results["summarize_log"]["levels"]["error"], 2);
    assert_eq!(results["list_hosts"]["hosts"][0]["name"], "local");
    assert_eq!(results["run_remote_command"]["stdout"], "Linux\n");
    assert_eq!(results["remote_status"]["hostname"], hostname.trim());
    let status_tools = results["server_status"]["tools"].as_array().unwrap();
    assert!(
        status_tools
            .iter()
            .any(|t| t["tool"] == "read_file" && t["calls"] == 1)
    );
}

#[test]
fn bad_arguments_give_invalid_argument_results() {
    let sandbox = Sandbox::new();
    sandbox.write("a.txt", "x\n");
    let mut server = sandbox.start();
    let cases = [
        ("read_file", json!({})),
        ("read_file", json!({"path": "a.txt", "limit": -1})),
        ("read_file", json!({"path": "a.txt", "encoding": "rot13"})),
        (
            "write_file",
            json!({"path": "a.txt", "content": "x", "mode": "sideways"}),
        ),
        (
            "edit_file",
            json!({"path": "a.txt", "edits": [{"old_text": "", "new_text": "y"}]}),
        ),
        ("list_directory", json!({"path": ".", "colour": true})),
        ("search_files", json!({"path": ".", "query": "(unclosed"})),
        ("search_files", json!({"path": "."})),
        ("get_cpu_info", json!({"sample_ms": "fast"})),
        ("list_processes", json!({"sort_by": "mood"})),
        ("check_service_status", json!({"service": "--force"})),
        ("check_service_status", json!({"service": "a;b"})),
        ("tail_log", json!({"path": "/var/log/x", "filter": "(["})),
        (
            "search_log",
            json!({"path": "/var/log/x", "pattern": "a", "since": "last tuesday"}),
        ),
        ("summarize_log", json!({"path": "/var/log/x", "top": "ten"})),
    ];
    for (tool, arguments) in cases {
        let (code, message) = server.call_err(tool, arguments.clone());
        assert_eq!(code, "invalid_argument", "{tool}({arguments}): {message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn missing_files_are_not_found() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    let missing = sandbox.root.join("missing.log");
    for (tool, arguments) in [
        ("read_file", json!({"path": "missing.txt"})),
        ("get_file_info", json!({"path": "missing.txt"})),
        ("list_directory", json!({"path": "missing-dir"})),
        (
            "edit_file",
            json!({"path": "missing.txt", "edits": [{"old_text": "a", "new_text": "b"}]}),
        ),
        ("tail_log", json!({"path": missing})),
        ("search_log", json!({"path": missing, "pattern": "x"})),
        ("summarize_log", json!({"path": missing})),
    ] {
        let (code, message) = server.call_err(tool, arguments.clone());
        assert_eq!(code, "not_found", "{tool}({arguments}): {message}");
    }
}

#[test]
fn paging_through_a_file_returns_every_line_once() {
    let sandbox = Sandbox::new();
    let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
    sandbox.write("big.txt", &text);
    let mut server = sandbox.start();
    let mut collected = String::new();
    let mut offset = json!(1);
    let mut pages = 0;
    while !offset.is_null() {
        let page = server.call_ok(
            "read_file",
            json!({"path": "big.txt", "offset": offset, "limit": 300}),
        );
        collected.push_str(page["content"].as_str().unwrap());
        assert_eq!(page["truncated"], !page["next_offset"].is_null());
        offset = page["next_offset"].clone();
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!(pages, 4);
    assert_eq!(collected, text);
}

#[test]
fn output_ceiling_truncates_with_a_continuation() {
    let sandbox = Sandbox::new().with_config("[server]\nmax_output_bytes = 8192\n");
    let text: String = (1..=2000)
        .map(|i| format!("a fairly long line number {i} of text\n"))
        .collect();
    sandbox.write("big.txt", &text);
    let mut server = sandbox.start();
    let page = server.call_ok("read_file", json!({"path": "big.txt"}));
    assert_eq!(page["truncated"], true);
    assert!(page["content"].as_str().unwrap().len() <= 8192);
    let next = page["next_offset"].as_i64().unwrap();
    let second = server.call_ok("read_file", json!({"path": "big.txt", "offset": next}));
    let first_lines = page["content"].as_str().unwrap().lines().count() as i64;
    assert_eq!(next, first_lines + 1);
    assert!(
        second["content"]
            .as_str()
            .unwrap()
            .starts_with(&format!("a fairly long line number {next} "))
    );
    // A listing larger than the ceiling pages too.
    for i in 0..400 {
        sandbox.write(&format!("many/file-with-a-long-name-{i:04}.txt"), "x");
    }
    let listing = server.call_ok("list_directory", json!({"path": "many", "limit": 5000}));
    assert_eq!(listing["truncated"], true);
    assert!(listing["next_offset"].as_u64().unwrap() > 0);
}
