//! Path confinement through the real binary: every published bypass of other servers must be
//! refused (see ../shared/reference/peer-survey.md §9), and nothing outside the roots may change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::symlink;

use common::*;
use serde_json::json;

fn setup() -> (Sandbox, std::path::PathBuf) {
    let sandbox = Sandbox::new();
    // A sibling whose name starts with the root's name (CVE-2025-53110).
    let sibling = sandbox.root.parent().unwrap().join("root_sensitive");
    std::fs::create_dir_all(&sibling).unwrap();
    std::fs::write(sibling.join("secret.txt"), "top secret\n").unwrap();
    std::fs::write(sandbox.outside.join("secret.txt"), "outside secret\n").unwrap();
    (sandbox, sibling)
}

#[test]
fn reads_outside_the_roots_are_refused() {
    let (sandbox, sibling) = setup();
    symlink(
        sandbox.outside.join("secret.txt"),
        sandbox.root.join("link-out"),
    )
    .unwrap();
    symlink(&sandbox.outside, sandbox.root.join("dir-out")).unwrap();
    let mut server = sandbox.start();
    let outside = sandbox.outside.join("secret.txt");
    let sibling_secret = sibling.join("secret.txt");
    let attempts = [
        json!({"path": outside}),
        json!({"path": sibling_secret}),
        json!({"path": "../outside/secret.txt"}),
        json!({"path": "./../root_sensitive/secret.txt"}),
        json!({"path": format!("{}/../outside/secret.txt", sandbox.root.display())}),
        json!({"path": "link-out"}),
        json!({"path": "dir-out/secret.txt"}),
        json!({"path": "/etc/passwd"}),
        json!({"path": "~/.ssh/id_rsa"}),
    ];
    for arguments in attempts {
        let (code, message) = server.call_err("read_file", arguments.clone());
        assert!(
            code == "policy_denied" || code == "not_found",
            "read_file({arguments}) -> {code}: {message}"
        );
        assert!(!message.contains("secret\n"));
    }
    for tool in [
        "get_file_info",
        "list_directory",
        "search_files",
        "find_duplicates",
    ] {
        for target in [&sandbox.outside, &sibling] {
            let mut arguments = json!({"path": target});
            if tool == "search_files" {
                arguments["query"] = json!("secret");
            }
            let (code, _) = server.call_err(tool, arguments);
            assert_eq!(code, "policy_denied", "{tool} on {}", target.display());
        }
    }
    let (code, _) = server.call_err("read_file", json!({"path": "a\u{0}b"}));
    assert_eq!(code, "invalid_argument");
}

#[test]
fn writes_cannot_escape_through_symlinks_dots_or_prefix_siblings() {
    let (sandbox, sibling) = setup();
    // A symlink inside the root pointing to a file outside (CVE-2025-53109).
    symlink(
        sandbox.outside.join("secret.txt"),
        sandbox.root.join("link-out"),
    )
    .unwrap();
    // A symlinked parent directory with a new file under it (DesktopCommander #219).
    symlink(&sandbox.outside, sandbox.root.join("dir-out")).unwrap();
    // A dangling symlink whose target would be created outside.
    symlink(
        sandbox.outside.join("created-through-dangling.txt"),
        sandbox.root.join("dangling"),
    )
    .unwrap();
    let mut server = sandbox.start();
    let attempts = [
        json!({"path": "link-out", "content": "pwned"}),
        json!({"path": "link-out", "content": "pwned", "mode": "append"}),
        json!({"path": "dir-out/new.txt", "content": "pwned"}),
        json!({"path": "dir-out/deeper/new.txt", "content": "pwned", "create_dirs": true}),
        json!({"path": "dangling", "content": "pwned"}),
        json!({"path": "dangling", "content": "pwned", "mode": "create_new"}),
        json!({"path": "../outside/new.txt", "content": "pwned"}),
        json!({"path": "nothere/../../outside/new.txt", "content": "pwned", "create_dirs": true}),
        json!({"path": sibling.join("new.txt"), "content": "pwned"}),
        json!({"path": sibling.join("secret.txt"), "content": "pwned"}),
    ];
    for arguments in attempts {
        let (code, message) = server.call_err("write_file", arguments.clone());
        assert!(
            code == "policy_denied" || code == "invalid_argument",
            "write_file({arguments}) -> {code}: {message}"
        );
    }
    let (code, _) = server.call_err(
        "edit_file",
        json!({"path": "link-out", "edits": [{"old_text": "outside", "new_text": "pwned"}]}),
    );
    assert_eq!(code, "policy_denied");
    // Nothing outside changed or appeared.
    assert_eq!(
        std::fs::read_to_string(sandbox.outside.join("secret.txt")).unwrap(),
        "outside secret\n"
    );
    assert_eq!(
        std::fs::read_to_string(sibling.join("secret.txt")).unwrap(),
        "top secret\n"
    );
    let outside_entries: Vec<_> = std::fs::read_dir(&sandbox.outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        outside_entries,
        vec![std::ffi::OsString::from("secret.txt")]
    );
    assert!(!sibling.join("new.txt").exists());
    // Writing inside still works, and dry_run writes nothing.
    let dry = server.call_ok(
        "write_file",
        json!({"path": "ok.txt", "content": "fine", "dry_run": true}),
    );
    assert_eq!(dry["dry_run"], true);
    assert!(!sandbox.root.join("ok.txt").exists());
    server.call_ok("write_file", json!({"path": "ok.txt", "content": "fine"}));
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("ok.txt")).unwrap(),
        "fine"
    );
}

#[test]
fn read_roots_are_not_writable_and_log_allowlist_is_separate() {
    let sandbox = Sandbox::new();
    let readonly = sandbox.outside.clone();
    std::fs::write(readonly.join("r.txt"), "read me\n").unwrap();
    let config = format!(
        "[files]\nread_roots = [\"{}\"]\nwrite_roots = [\"{}\"]\n[logs]\nallowed_paths = []\n",
        readonly.display(),
        sandbox.root.display()
    );
    let sandbox = sandbox.with_config(&config);
    let mut server = sandbox.start();
    let read = server.call_ok("read_file", json!({"path": readonly.join("r.txt")}));
    assert_eq!(read["content"], "read me\n");
    let (code, message) = server.call_err(
        "write_file",
        json!({"path": readonly.join("r.txt"), "content": "x"}),
    );
    assert_eq!(code, "policy_denied");
    assert!(message.contains("read-only root"), "{message}");
    // /var/log is not on this allowlist.
    let (code, _) = server.call_err("tail_log", json!({"path": "/var/log/dpkg.log"}));
    assert_eq!(code, "policy_denied");
    let (code, _) = server.call_err("tail_log", json!({"path": "/etc/passwd"}));
    assert_eq!(code, "policy_denied");
}

#[test]
fn log_aliases_resolve_and_are_still_checked() {
    let sandbox = Sandbox::new();
    let log = sandbox.write("logs/app.log", "one\ntwo\n");
    std::fs::write(sandbox.outside.join("x.log"), "nope\n").unwrap();
    let config = format!(
        "[logs]\nallowed_paths = []\n[logs.aliases]\napp = \"{}\"\nsneaky = \"{}\"\n",
        log.display(),
        sandbox.outside.join("x.log").display()
    );
    let sandbox = sandbox.with_config(&config);
    let mut server = sandbox.start();
    let tail = server.call_ok("tail_log", json!({"path": "app", "lines": 1}));
    assert_eq!(tail["lines"], json!(["two"]));
    let (code, _) = server.call_err("tail_log", json!({"path": "sneaky"}));
    assert_eq!(code, "policy_denied");
}
