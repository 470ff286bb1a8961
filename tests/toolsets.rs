//! Toolset selection (`--toolsets`, `SKIPPY_TOOLSETS`, `server.toolsets`): only the selected toolsets
//! are offered and callable, the `disabled_*` settings still subtract, `server_status` and
//! `skippy tools` say what is enabled, and a misspelt toolset stops the server with the valid names.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn toolsets_env_offers_only_the_selected_toolsets_and_disabled_tools_still_subtract() {
    let sandbox = Sandbox::new()
        .with_env("SKIPPY_TOOLSETS", "files,server")
        .with_config("[server]\ndisabled_tools = [\"write_file\"]\n");
    let mut server = sandbox.start();
    let names = server.tool_names();
    assert!(names.contains(&"read_file".to_string()), "{names:?}");
    assert!(names.contains(&"server_status".to_string()), "{names:?}");
    for hidden in [
        "write_file",
        "get_system_info",
        "tail_log",
        "run_remote_command",
    ] {
        assert!(
            !names.contains(&hidden.to_string()),
            "{hidden} offered: {names:?}"
        );
    }
    // Not offered means not callable either.
    let (code, message) = server.call_err("get_system_info", json!({}));
    assert_eq!(code, "policy_denied");
    assert!(
        message.contains("`system` toolset") && message.contains("--toolsets"),
        "{message}"
    );
    let status = server.call_ok("server_status", json!({}));
    assert_eq!(status["toolsets_enabled"], json!(["files", "server"]));
}

#[test]
fn toolsets_file_key_and_disabled_toolsets_combine_in_server_status() {
    let sandbox = Sandbox::new().with_config(
        "[server]\ntoolsets = [\"logs\", \"remote\", \"server\"]\ndisabled_toolsets = [\"remote\"]\n",
    );
    let mut server = sandbox.start();
    let names = server.tool_names();
    assert!(names.contains(&"tail_log".to_string()), "{names:?}");
    assert!(!names.contains(&"list_hosts".to_string()), "{names:?}");
    assert!(!names.contains(&"read_file".to_string()), "{names:?}");
    let status = server.call_ok("server_status", json!({}));
    assert_eq!(status["toolsets_enabled"], json!(["logs", "server"]));
}

#[test]
fn toolsets_flag_wins_over_the_environment_for_every_subcommand() {
    let sandbox = Sandbox::new().with_env("SKIPPY_TOOLSETS", "system");
    let output = sandbox
        .command()
        .args(["tools", "--json", "--toolsets", "files,logs"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"read_file") && names.contains(&"tail_log"),
        "{names:?}"
    );
    assert!(!names.contains(&"get_system_info"), "{names:?}");

    let output = sandbox
        .command()
        .args(["--toolsets", "files", "call", "get_system_info"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("policy_denied"));
}

#[test]
fn unknown_toolset_is_a_config_error_listing_the_valid_ones() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .command()
        .args(["serve", "--toolsets", "files,fils"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`fils`"), "{stderr}");
    for valid in ["files", "system", "logs", "remote", "server"] {
        assert!(stderr.contains(valid), "{stderr} lacks {valid}");
    }
}

#[test]
fn tools_text_shows_each_toolset_state_and_cost() {
    let sandbox = Sandbox::new().with_config("[server]\ndisabled_toolsets = [\"remote\"]\n");
    let output = sandbox
        .command()
        .args(["tools", "--toolsets", "files,remote,server"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let row = |name: &str| {
        text.lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}: {text}"))
            .to_string()
    };
    assert!(row("files").contains("enabled"), "{text}");
    assert!(row("system").contains("not selected"), "{text}");
    assert!(row("remote").contains("disabled"), "{text}");
    // Every row has a byte cost: the last column is a number above zero.
    for name in ["files", "system", "logs", "remote", "server"] {
        let bytes: usize = row(name)
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap();
        assert!(bytes > 0, "{name}: {text}");
    }
    assert!(text.contains("tools/list offers"), "{text}");
}
