//! Remote hosts end to end: the binary, configured with a host that is a real OpenSSH sshd started on
//! 127.0.0.1 by the test (skippy_remote::testing::TestSshd). Without sshd these tests say so and
//! pass; with CI=true they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;
use skippy_remote::testing::TestSshd;

/// A sandbox whose config declares host `lab` = the test sshd, with the given exec policy.
fn lab(sshd: &TestSshd, exec_policy: &str, extra: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let config = format!(
        "[hosts.lab]\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\nexec_policy = \"{exec_policy}\"\nremote_roots = [\"{}\"]\nlog_paths = [\"{}\"]\n{extra}",
        sshd.port(),
        sshd.user(),
        sshd.user_key().display(),
        sshd.known_hosts().display(),
        sandbox.outside.display(),
        sandbox.outside.display(),
    );
    sandbox.with_config(&config)
}

#[test]
fn host_aware_tools_answer_for_a_remote_host_like_for_local() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd, "allowlist", "");
    std::fs::write(
        sandbox.outside.join("app.log"),
        "2026-11-21T10:00:00Z ERROR boom\n2026-11-21T10:00:01Z INFO fine\n",
    )
    .unwrap();
    let mut server = sandbox.start();

    let hosts = server.call_ok("list_hosts", json!({"check": true}));
    let lab = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "lab")
        .unwrap()
        .clone();
    assert_eq!(lab["reachable"], true, "{lab}");
    assert!(
        lab["host_key_fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:"),
        "{lab}"
    );

    let local = server.call_ok("get_memory_info", json!({}));
    let remote = server.call_ok("get_memory_info", json!({"host": "lab"}));
    assert_eq!(
        local["total"], remote["total"],
        "the sshd runs on this machine"
    );
    let info = server.call_ok("get_system_info", json!({"host": "lab"}));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(info["hostname"], hostname.trim());

    let tail = server.call_ok(
        "tail_log",
        json!({"host": "lab", "path": sandbox.outside.join("app.log"), "lines": 1}),
    );
    assert_eq!(tail["lines"], json!(["2026-11-21T10:00:01Z INFO fine"]));
    let (code, _) = server.call_err("tail_log", json!({"host": "lab", "path": "/etc/passwd"}));
    assert_eq!(code, "policy_denied");

    let ok = server.call_ok(
        "run_remote_command",
        json!({"host": "lab", "command": "echo 'a; b' | wc -c"}),
    );
    assert_eq!(ok["exit_code"], 0);
    assert_eq!(ok["stdout"].as_str().unwrap().trim(), "5");
    let marker = sandbox.outside.join("should-not-exist");
    for command in [
        "sudo id",
        "ls $(id)",
        &format!("touch {}", marker.display()),
    ] {
        let (code, message) = server.call_err(
            "run_remote_command",
            json!({"host": "lab", "command": command}),
        );
        assert_eq!(code, "policy_denied", "{command}: {message}");
    }
    assert!(!marker.exists());
    let (code, _) = server.call_err("get_memory_info", json!({"host": "nowhere"}));
    assert_eq!(code, "invalid_argument");
}

#[test]
fn transfers_round_trip_with_checksums_and_stay_in_the_roots() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd, "allowlist", "");
    let content: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    sandbox.write("up.txt", &content);
    let mut server = sandbox.start();
    let remote = sandbox.outside.join("remote.txt");
    let up = server.call_ok(
        "upload_file",
        json!({"host": "lab", "local_path": "up.txt", "remote_path": remote}),
    );
    assert_eq!(up["bytes"], content.len());
    assert_eq!(std::fs::read_to_string(&remote).unwrap(), content);
    let down = server.call_ok(
        "download_file",
        json!({"host": "lab", "remote_path": remote, "local_path": "down.txt"}),
    );
    assert_eq!(down["sha256"], up["sha256"]);
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("down.txt")).unwrap(),
        content
    );
    let (code, _) = server.call_err(
        "download_file",
        json!({"host": "lab", "remote_path": remote, "local_path": "down.txt"}),
    );
    assert_eq!(code, "already_exists");
    let (code, _) = server.call_err(
        "upload_file",
        json!({"host": "lab", "local_path": "up.txt", "remote_path": "/etc/skippy-test"}),
    );
    assert_eq!(code, "policy_denied");
    let (code, _) = server.call_err(
        "upload_file",
        json!({"host": "lab", "local_path": "../outside/remote.txt", "remote_path": remote}),
    );
    assert_eq!(code, "policy_denied");
}

#[test]
fn a_remote_timeout_leaves_no_process_and_the_server_keeps_serving() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd, "unrestricted", "");
    let mut server = sandbox.start();
    // A unique duration makes the remote process findable by its command line.
    let duration = format!("300.{}", std::process::id());
    let (code, _) = server.call_err(
        "run_remote_command",
        json!({"host": "lab", "command": format!("sleep {duration}"), "timeout_secs": 1}),
    );
    assert_eq!(code, "timeout");
    let mut left = String::new();
    for _ in 0..100 {
        let out = std::process::Command::new("pgrep")
            .args(["-af", &format!("slee[p] {duration}")])
            .output()
            .unwrap();
        left = String::from_utf8_lossy(&out.stdout).to_string();
        if left.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(left.trim().is_empty(), "remote process survived: {left}");
    let status = server.call_ok("remote_status", json!({"host": "lab"}));
    assert!(status["memory"]["total"].as_u64().unwrap() > 0);
}
