//! A remote command that is stopped (client cancellation, time limit, server shutdown) must not keep
//! running on the host: issue 7, section 1, the cancelled remote command that kept running.
//!
//! Every test runs, through the binary, a command on the test sshd (skippy_remote::testing) that never
//! ends by itself (`cat /dev/zero` into `wc -c`, allowlisted programs), made unique by a path that
//! does not exist, and then watches the host's process table for that path. Without sshd these tests
//! say so and pass; with CI=true they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use skippy_remote::testing::TestSshd;

/// Bound on waiting for the remote command to appear or to disappear; only reached when broken.
const PATIENCE: Duration = Duration::from_secs(30);

/// A sandbox whose config declares host `lab` = the test sshd, with the default (allowlist) policy.
fn lab(sshd: &TestSshd) -> Sandbox {
    let sandbox = Sandbox::new();
    let config = format!(
        "[hosts.lab]\naddress = \"127.0.0.1\"\nport = {}\nuser = \"{}\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
        sshd.port(),
        sshd.user(),
        sshd.user_key().display(),
        sshd.known_hosts().display(),
    );
    sandbox.with_config(&config)
}

/// A command that never ends by itself, findable on the host by `marker`.
fn endless(marker: &str) -> String {
    format!("cat /dev/zero /etc/hostname /nonexistent-{marker} | wc -c")
}

/// A marker no other test (or test run) uses.
fn unique_marker(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

/// The processes whose command line mentions `marker` (the remote `sh` and `cat`).
fn remote_processes(marker: &str) -> String {
    let out = std::process::Command::new("pgrep")
        .args(["-af", &format!("nonexistent-{marker}")])
        .output()
        .expect("run pgrep (procps)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Poll until `done(processes)` holds; returns the last listing.
fn wait_for(marker: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listing = remote_processes(marker);
        if done(&listing) || Instant::now() >= deadline {
            return listing;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start the endless command on `lab` and wait until it runs on the host; returns the request id.
fn start_endless(server: &mut Server, marker: &str, timeout_secs: u64) -> u64 {
    let id = server.request_async(
        "tools/call",
        json!({"name": "run_remote_command", "arguments": {
            "host": "lab", "command": endless(marker), "timeout_secs": timeout_secs}}),
    );
    let running = wait_for(marker, |listing| listing.contains("cat /dev/zero"));
    assert!(
        running.contains("cat /dev/zero"),
        "the remote command never started: {running:?}; stderr: {}",
        server.stderr_text()
    );
    id
}

fn assert_gone(marker: &str, after: &str) {
    let left = wait_for(marker, str::is_empty);
    if !left.is_empty() {
        // Do not leave `cat /dev/zero` spinning after a failure.
        for pid in left
            .lines()
            .filter_map(|line| line.split_whitespace().next())
        {
            if let Ok(pid) = pid.parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        panic!("after {after}, the remote command survived:\n{left}");
    }
}

#[test]
fn defect_remote_cancel_kills_the_remote_group() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd);
    let mut server = sandbox.start();
    let marker = unique_marker("cancel");
    let id = start_endless(&mut server, &marker, 60);
    server.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "the user changed their mind"}),
    );
    assert_gone(&marker, "notifications/cancelled");
    // The server keeps serving the host afterwards.
    let ok = server.call_ok(
        "run_remote_command",
        json!({"host": "lab", "command": "echo still here"}),
    );
    assert_eq!(ok["stdout"], "still here\n");
}

#[test]
fn defect_remote_timeout_kills_the_remote_group() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd);
    let mut server = sandbox.start();
    let marker = unique_marker("timeout");
    let id = start_endless(&mut server, &marker, 2);
    let response = server.response(id);
    let text = response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text: {response}"));
    let body: Value = serde_json::from_str(text).unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{response}");
    assert_gone(&marker, "the time limit");
}

#[test]
fn defect_remote_shutdown_kills_the_remote_group() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let sandbox = lab(&sshd);
    for how in ["stdin EOF", "SIGTERM"] {
        let mut server = sandbox.start();
        let marker = unique_marker("shutdown");
        start_endless(&mut server, &marker, 60);
        let status = if how == "SIGTERM" {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap());
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            wait_exit(&mut server.child, WAIT)
        } else {
            Some(server.close())
        };
        assert!(status.is_some(), "the server did not exit after {how}");
        assert_gone(&marker, &format!("the server exited on {how}"));
    }
}
