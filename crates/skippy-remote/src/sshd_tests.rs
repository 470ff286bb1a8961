//! Tests against a real OpenSSH sshd on 127.0.0.1 (see [`crate::testing`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use skippy_core::config::FixedEnv;
use skippy_core::hosts::{HostConfig, HostKeyPolicy, RawHost, validate_hosts};
use skippy_core::redact::Secrets;
use skippy_core::{Access, AllowedPath, PathPolicy};
use tokio_util::sync::CancellationToken;

use crate::exec::{RemoteCommand, RunOptions, exec};
use crate::executor::Hosts;
use crate::pool::HostHandle;
use crate::sftp::{download, upload};
use crate::testing::TestSshd;

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

async fn run_argv(host: &HostHandle, argv: &[&str]) -> skippy_core::process::CommandOutput {
    exec(
        host,
        RemoteCommand::Argv(&strings(argv)),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap()
}

async fn run_shell(host: &HostHandle, line: &str) -> skippy_core::process::CommandOutput {
    exec(
        host,
        RemoteCommand::Shell(line),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// A unique `sleep` duration, so that its processes can be found with pgrep.
fn unique_sleep() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap();
    format!("300.{}", u32::from_le_bytes(bytes))
}

/// Remote processes whose command line contains `sleep <duration>`, found by pgrep run over SSH.
/// The pattern `slee[p]` does not match pgrep's own command line, nor the shell around it.
async fn remote_sleepers(host: &HostHandle, duration: &str) -> String {
    let pattern = format!("slee[p] {duration}");
    let output = run_argv(host, &["pgrep", "-af", &pattern]).await;
    output.stdout
}

/// Wait until no process of `duration` is left (the kill runs asynchronously when a call is dropped).
async fn assert_no_sleepers(host: &HostHandle, duration: &str) {
    let mut left = String::new();
    for _ in 0..100 {
        left = remote_sleepers(host, duration).await;
        if left.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("remote processes survived: {left}");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_auth_runs_commands_with_exit_code_and_streams() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let output = run_shell(&host, "echo out; echo err >&2; exit 3").await;
    assert_eq!(output.stdout, "out\n", "{}", sshd.log());
    assert_eq!(output.stderr, "err\n");
    assert_eq!(output.exit_code, Some(3));
    // The login user is the test user (as root: a uid-0 alias, see testing::ROOT_ALIAS).
    let output = run_argv(&host, &["id", "-u"]).await;
    assert_eq!(output.stdout.trim(), nix::unistd::geteuid().to_string());
    // Empty stdin, like /dev/null locally.
    let output = run_argv(&host, &["cat"]).await;
    assert_eq!((output.stdout.as_str(), output.exit_code), ("", Some(0)));
    // No environment is forwarded: a variable of ours does not reach the remote side.
    let output = run_shell(&host, "echo \"[${CARGO_PKG_NAME:-unset}]\"").await;
    assert_eq!(output.stdout, "[unset]\n");
    assert_eq!(host.connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_arguments_reach_the_remote_program_literally() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let hostile = [
        "; rm -rf ~",
        "$(id)",
        "`id`",
        "it's",
        "\"double\"",
        "back\\slash\\",
        "line\nbreak",
        "ünïcødé ✓",
        "",
        "*",
        "~",
        "$HOME",
        "a'b\"c$d`e\\f",
        "=ls",
        "-n",
    ];
    let mut argv = vec!["printf", "%s\\n"];
    argv.extend(hostile);
    let output = run_argv(&host, &argv).await;
    let expected: String = hostile.iter().map(|w| format!("{w}\n")).collect();
    assert_eq!(output.stdout, expected);
    assert_eq!(output.exit_code, Some(0));
    // A program name that looks like an assignment is a program name, not `A=b` then `id`.
    let output = run_argv(&host, &["A=b", "id"]).await;
    assert_eq!(output.exit_code, Some(127), "{output:?}");
    assert_eq!(output.stdout, "");
    // Through the executor too.
    let hosts = Hosts::from_host_configs([sshd.host_config("box")]);
    let executor = hosts.executor("box").unwrap();
    let output = executor
        .run(
            &strings(&["printf", "%s|", "$(id)", "a b"]),
            &RunOptions::default(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(output.stdout, "$(id)|a b|");
    let options = RunOptions {
        cwd: Some("/".into()),
        ..RunOptions::default()
    };
    let output = executor
        .run_shell("pwd; echo $((6 * 7))", &options, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(output.stdout, "/\n42\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn output_is_capped() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let options = RunOptions {
        max_output_bytes: 1000,
        ..RunOptions::default()
    };
    let output = exec(
        &host,
        RemoteCommand::Shell("yes x | head -c 100000; echo done >&2"),
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(output.stdout.len(), 1000);
    assert!(output.stdout_truncated);
    assert_eq!(output.stderr, "done\n");
    assert_eq!(output.exit_code, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn password_auth_from_an_environment_variable() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let Some((user, password)) = sshd.password_user() else {
        return;
    };
    let build = |password: &str| -> HostConfig {
        let mut raw = BTreeMap::new();
        raw.insert(
            "pw".to_string(),
            RawHost {
                address: "127.0.0.1".into(),
                port: Some(sshd.port()),
                user: Some(user.clone()),
                password_env: Some("SKIPPY_TEST_PASSWORD".into()),
                known_hosts: Some(sshd.known_hosts().to_path_buf()),
                ..RawHost::default()
            },
        );
        let env = FixedEnv::new(sshd.dir()).with("SKIPPY_TEST_PASSWORD", password);
        let mut secrets = Secrets::new();
        let mut hosts = validate_hosts(&raw, &env, None, &mut secrets).unwrap();
        hosts.remove("pw").unwrap()
    };
    let host = HostHandle::new(build(&password));
    let output = run_argv(&host, &["id", "-un"]).await;
    assert_eq!(output.stdout.trim(), user, "{}", sshd.log());

    let wrong = format!("{password}-wrong");
    let host = HostHandle::new(build(&wrong));
    let error = exec(
        &host,
        RemoteCommand::Argv(&strings(&["true"])),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "permission_denied");
    let message = error.to_string();
    assert!(message.contains("password"), "{message}");
    assert!(message.contains(&user), "{message}");
    assert!(!message.contains(&wrong), "the secret leaked: {message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rejected_lists_methods_and_unreachable_host_is_unavailable() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let mut config = sshd.host_config("box");
    config.auth = vec![skippy_core::hosts::HostAuth::Key {
        path: sshd.dir().join("missing_key"),
        passphrase: None,
    }];
    let error = HostHandle::new(config).connect().await.unwrap_err();
    assert_eq!(error.code(), "permission_denied");
    assert!(error.to_string().contains("missing_key"), "{error}");
    assert!(error.to_string().contains("does not exist"), "{error}");

    let mut config = sshd.host_config("ebon");
    config.port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = HostHandle::new(config).connect().await.unwrap_err();
    assert_eq!(error.code(), "unavailable");
    assert!(
        error
            .to_string()
            .starts_with("cannot connect to host ebon (127.0.0.1:")
            && error.to_string().contains("connection refused"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_or_unknown_host_key_is_refused_and_nothing_runs() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let ran = sshd.dir().join("ran");
    let touch = strings(&["touch", ran.to_str().unwrap()]);
    // A different key recorded for the host: a changed key.
    let other = sshd.dir().join("other_key");
    std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    let other_public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let changed = sshd.dir().join("changed_known_hosts");
    std::fs::write(
        &changed,
        format!("[127.0.0.1]:{} {other_public}", sshd.port()),
    )
    .unwrap();
    let mut config = sshd.host_config("box");
    config.known_hosts = changed;
    let host = HostHandle::new(config);
    let error = exec(
        &host,
        RemoteCommand::Argv(&touch),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "permission_denied");
    assert!(error.to_string().contains("HOST KEY CHANGED"), "{error}");
    assert!(!ran.exists(), "a command ran despite a changed host key");

    // Not recorded at all, strict policy: refused with the fingerprint and how to add it.
    let mut config = sshd.host_config("box");
    config.known_hosts = sshd.dir().join("empty_known_hosts");
    let host = HostHandle::new(config);
    let error = exec(
        &host,
        RemoteCommand::Argv(&touch),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    let message = error.to_string();
    assert_eq!(error.code(), "permission_denied");
    assert!(message.contains("SHA256:"), "{message}");
    assert!(
        message.contains(&format!(
            "ssh-keyscan -p {} -t ed25519 127.0.0.1",
            sshd.port()
        )),
        "{message}"
    );
    assert!(message.contains("accept-new"), "{message}");
    assert!(!ran.exists(), "a command ran on an unknown host");
    assert_eq!(host.connections_opened(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_new_records_the_key_and_hashed_entries_verify() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let mut config = sshd.host_config("box");
    config.known_hosts = sshd.dir().join("empty_known_hosts");
    config.host_key_policy = HostKeyPolicy::AcceptNew;
    let skippy_file = config.skippy_known_hosts.clone();
    let output = run_argv(&HostHandle::new(config.clone()), &["echo", "first"]).await;
    assert_eq!(output.stdout, "first\n");
    let recorded = std::fs::read_to_string(&skippy_file).unwrap();
    assert_eq!(recorded, format!("{}\n", sshd.host_key_line()));
    // Now known: a strict host that reads Skippy's file connects too.
    config.host_key_policy = HostKeyPolicy::Strict;
    let output = run_argv(&HostHandle::new(config), &["echo", "again"]).await;
    assert_eq!(output.stdout, "again\n");

    // A hashed known_hosts (ssh-keygen -H) verifies as well.
    let hashed = sshd.dir().join("hashed_known_hosts");
    std::fs::copy(sshd.known_hosts(), &hashed).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .arg("-q")
        .arg("-H")
        .arg("-f")
        .arg(&hashed)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&hashed).unwrap().starts_with("|1|"));
    let mut config = sshd.host_config("box");
    config.known_hosts = hashed;
    let output = run_argv(&HostHandle::new(config), &["echo", "hashed"]).await;
    assert_eq!(output.stdout, "hashed\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_kills_the_remote_process_group() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let duration = unique_sleep();
    let options = RunOptions {
        timeout: Duration::from_millis(1500),
        ..RunOptions::default()
    };
    let line = format!("sleep {duration} & sleep {duration}; echo never");
    let error = exec(
        &host,
        RemoteCommand::Shell(&line),
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "timeout");
    assert!(error.to_string().contains("host box"), "{error}");
    assert_no_sleepers(&host, &duration).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancellation_and_dropping_the_call_kill_the_remote_process_group() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let duration = unique_sleep();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        trigger.cancel();
    });
    let argv = strings(&["sh", "-c", &format!("sleep {duration} & wait")]);
    let error = exec(
        &host,
        RemoteCommand::Argv(&argv),
        &RunOptions::default(),
        &cancel,
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "cancelled");
    assert_no_sleepers(&host, &duration).await;

    // The caller's future is dropped mid-run (an aborted task): the guard kills the group.
    let duration = unique_sleep();
    let line = format!("sleep {duration}");
    let task_host = host.clone();
    let task = tokio::spawn(async move {
        exec(
            &task_host,
            RemoteCommand::Shell(&line),
            &RunOptions::default(),
            &CancellationToken::new(),
        )
        .await
    });
    // Wait until the command runs, then abort the call.
    for _ in 0..100 {
        if !remote_sleepers(&host, &duration).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!remote_sleepers(&host, &duration).await.is_empty());
    task.abort();
    let _ = task.await;
    assert_no_sleepers(&host, &duration).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_reconnects_after_sshd_restarts() {
    let Some(mut sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    assert_eq!(run_argv(&host, &["echo", "one"]).await.stdout, "one\n");
    assert_eq!(host.connections_opened(), 1);
    sshd.restart();
    assert_eq!(
        run_argv(&host, &["echo", "two"]).await.stdout,
        "two\n",
        "{}",
        sshd.log()
    );
    assert_eq!(host.connections_opened(), 2);
    assert_eq!(run_argv(&host, &["echo", "three"]).await.stdout, "three\n");
    assert_eq!(host.connections_opened(), 2);
    // With the server gone for good, the error says what to check.
    sshd.stop();
    let error = exec(
        &host,
        RemoteCommand::Argv(&strings(&["true"])),
        &RunOptions::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "unavailable");
    assert!(error.to_string().contains("connection refused"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_share_one_connection() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let calls = (0..20).map(|i| {
        let host = host.clone();
        async move {
            let argv = strings(&["echo", &i.to_string()]);
            let output = exec(
                &host,
                RemoteCommand::Argv(&argv),
                &RunOptions::default(),
                &CancellationToken::new(),
            )
            .await
            .unwrap();
            assert_eq!(output.stdout, format!("{i}\n"));
        }
    });
    futures::future::join_all(calls).await;
    assert_eq!(host.connections_opened(), 1);
    assert!(host.is_connected().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let mut config = sshd.host_config("box");
    config.idle_close = Duration::from_millis(300);
    let host = HostHandle::new(config);
    run_argv(&host, &["true"]).await;
    assert!(host.is_connected().await);
    let mut connected = true;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        connected = host.is_connected().await;
        if !connected {
            break;
        }
    }
    assert!(!connected, "the idle connection was not closed");
    assert_eq!(run_argv(&host, &["echo", "back"]).await.stdout, "back\n");
    assert_eq!(host.connections_opened(), 2);
}

/// Local path policy over `dir` (read and write).
fn allowed(dir: &Path, path: &Path, access: Access) -> AllowedPath {
    let root = std::fs::canonicalize(dir).unwrap();
    PathPolicy::new(vec![], vec![root], "test roots")
        .check_path(path, access)
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A host without the sftp subsystem: each refused transfer must give its channel back. Before the
/// fix every attempt waited 10 s for an SFTP answer and kept its channel open, so after MaxSessions
/// (here 20) attempts even plain commands on that connection failed.
#[tokio::test(flavor = "multi_thread")]
async fn defect_refused_sftp_subsystem_leaks_no_session() {
    let Some(sshd) = TestSshd::start_without_sftp() else {
        return;
    };
    let local_dir = sshd.dir().join("local");
    std::fs::create_dir_all(&local_dir).unwrap();
    let source = local_dir.join("data.bin");
    std::fs::write(&source, b"data").unwrap();
    let source = allowed(&local_dir, &source, Access::Read);
    let mut config = sshd.host_config("box");
    config.remote_roots = vec![sshd.dir().to_string_lossy().into_owned()];
    let host = HostHandle::new(config);
    let cancel = CancellationToken::new();
    for _ in 0..25 {
        let error = upload(&host, &source, "data.bin", false, 1 << 20, &cancel)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "unavailable", "{error}");
        assert!(
            error.to_string().contains("refused the sftp subsystem"),
            "{error}"
        );
    }
    let output = run_argv(&host, &["echo", "still", "serving"]).await;
    assert_eq!(output.stdout, "still serving\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn sftp_round_trip_with_checksums_and_atomic_replace() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let remote_root = sshd.dir().join("remote");
    let local_dir = sshd.dir().join("local");
    std::fs::create_dir_all(&remote_root).unwrap();
    std::fs::create_dir_all(&local_dir).unwrap();
    let remote_root = std::fs::canonicalize(&remote_root).unwrap();
    let mut config = sshd.host_config("box");
    config.remote_roots = vec![remote_root.to_string_lossy().into_owned()];
    let host = HostHandle::new(config);
    let cancel = CancellationToken::new();

    // 300 KB of varied bytes: several pipelined chunks and a short last one.
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let source = local_dir.join("data.bin");
    std::fs::write(&source, &content).unwrap();
    let source = allowed(&local_dir, &source, Access::Read);
    let target = remote_root.join("data.bin");
    let target_text = target.to_str().unwrap();

    let sent = upload(&host, &source, target_text, false, 1 << 20, &cancel)
        .await
        .unwrap();
    assert_eq!(sent.bytes, 300_000);
    assert_eq!(sent.sha256, sha256_hex(&content));
    assert_eq!(sent.remote_path, target_text);
    assert!(!sent.replaced);
    assert_eq!(std::fs::read(&target).unwrap(), content);

    // Relative paths resolve against the first remote root.
    let error = upload(&host, &source, "data.bin", false, 1 << 20, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_exists");
    let error = upload(&host, &source, target_text, true, 1000, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    assert!(error.to_string().contains("max_bytes"), "{error}");

    // Replace: a hard link to the old file keeps the old content, so the new file was renamed over
    // the target, not written into it.
    let old_link = remote_root.join("old-link");
    std::fs::hard_link(&target, &old_link).unwrap();
    let replacement = local_dir.join("v2.txt");
    std::fs::write(&replacement, "version 2\n").unwrap();
    let replacement = allowed(&local_dir, &replacement, Access::Read);
    let sent = upload(&host, &replacement, "data.bin", true, 1 << 20, &cancel)
        .await
        .unwrap();
    assert!(sent.replaced);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "version 2\n");
    assert_eq!(std::fs::read(&old_link).unwrap(), content);
    let leftovers: Vec<String> = std::fs::read_dir(&remote_root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("skippy-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // Download back.
    let back = local_dir.join("back.bin");
    let back_allowed = allowed(&local_dir, &back, Access::Write);
    let got = download(&host, "old-link", &back_allowed, false, 1 << 20, &cancel)
        .await
        .unwrap();
    assert_eq!(got.bytes, 300_000);
    assert_eq!(got.sha256, sha256_hex(&content));
    assert_eq!(std::fs::read(&back).unwrap(), content);
    let back_allowed = allowed(&local_dir, &back, Access::Write);
    let error = download(&host, "data.bin", &back_allowed, false, 1 << 20, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_exists");
    let got = download(&host, "data.bin", &back_allowed, true, 1 << 20, &cancel)
        .await
        .unwrap();
    assert!(got.replaced);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "version 2\n");
    let error = download(&host, "missing.bin", &back_allowed, true, 1 << 20, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found");
    let error = download(&host, "old-link", &back_allowed, true, 10, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    let leftovers: Vec<String> = std::fs::read_dir(&local_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".skippy-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // Empty files work too.
    let empty = local_dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let sent = upload(
        &host,
        &allowed(&local_dir, &empty, Access::Read),
        "empty",
        false,
        10,
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(
        (sent.bytes, sent.sha256.as_str()),
        (0, sha256_hex(b"").as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_roots_refuse_parent_and_symlink_escapes() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let base = std::fs::canonicalize(sshd.dir()).unwrap();
    let remote_root = base.join("remote");
    let outside = base.join("outside");
    std::fs::create_dir_all(&remote_root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "secret\n").unwrap();
    std::os::unix::fs::symlink(&outside, remote_root.join("link")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), remote_root.join("secret-link")).unwrap();
    let local_dir = base.join("local");
    std::fs::create_dir_all(&local_dir).unwrap();
    let source = local_dir.join("f");
    std::fs::write(&source, "x").unwrap();
    let source = allowed(&local_dir, &source, Access::Read);
    let sink = allowed(&local_dir, &local_dir.join("g"), Access::Write);
    let mut config = sshd.host_config("box");
    config.remote_roots = vec![remote_root.to_string_lossy().into_owned()];
    let host = HostHandle::new(config);
    let cancel = CancellationToken::new();

    for path in [
        "../outside/new".to_string(),
        format!("{}/../outside/new", remote_root.display()),
        "/etc/new".to_string(),
        "/../../etc/new".to_string(),
        "link/new".to_string(),
        "link/../../outside/new".to_string(),
    ] {
        let error = upload(&host, &source, &path, true, 100, &cancel)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied", "{path}: {error}");
    }
    for path in [
        "link/secret",
        "secret-link",
        "../outside/secret",
        "/etc/passwd",
    ] {
        let error = download(&host, path, &sink, true, 100, &cancel)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied", "{path}: {error}");
    }
    let error = download(&host, "link/secret", &sink, true, 100, &cancel)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("symbolic link"), "{error}");
    let error = upload(&host, &source, "bad\0name", true, 100, &cancel)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    assert!(!outside.join("new").exists());
    assert!(!local_dir.join("g").exists());
    // Inside the root, `..` that stays inside is fine.
    let sent = upload(&host, &source, "sub/../ok", false, 100, &cancel)
        .await
        .unwrap();
    assert_eq!(sent.remote_path, remote_root.join("ok").to_string_lossy());
}

#[tokio::test(flavor = "multi_thread")]
async fn passphrase_keys_and_the_agent_authenticate_in_order() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    // A passphrase-protected key, authorized.
    let protected = sshd.dir().join("protected_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&protected)
        .status()
        .unwrap();
    assert!(status.success());
    let mut authorized = std::fs::read_to_string(sshd.dir().join("authorized_keys")).unwrap();
    authorized.push_str(&std::fs::read_to_string(protected.with_extension("pub")).unwrap());
    std::fs::write(sshd.dir().join("authorized_keys"), authorized).unwrap();
    let key = |passphrase: &str| skippy_core::hosts::HostAuth::Key {
        path: protected.clone(),
        passphrase: Some(passphrase.to_string()),
    };
    let mut config = sshd.host_config("box");
    config.auth = vec![key("correct horse")];
    assert_eq!(
        run_argv(&HostHandle::new(config.clone()), &["echo", "pp"])
            .await
            .stdout,
        "pp\n"
    );
    config.auth = vec![key("wrong horse")];
    let error = HostHandle::new(config.clone()).connect().await.unwrap_err();
    assert_eq!(error.code(), "permission_denied");
    assert!(error.to_string().contains("wrong passphrase"), "{error}");
    assert!(!error.to_string().contains("wrong horse"), "{error}");

    // An agent holding the user key; the failing key method comes first and is skipped.
    let socket = sshd.dir().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(sshd.user_key())
        .env("SSH_AUTH_SOCK", &socket)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(added.success());
    config.auth = vec![key("wrong horse"), skippy_core::hosts::HostAuth::Agent];
    let host = HostHandle::with_agent_socket(config.clone(), socket.clone());
    let output = run_argv(&host, &["echo", "agent"]).await;
    assert_eq!(output.stdout, "agent\n");
    // The agent alone, but it holds no key the server accepts.
    let emptied = std::process::Command::new("ssh-add")
        .arg("-D")
        .env("SSH_AUTH_SOCK", &socket)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(emptied.success());
    config.auth = vec![skippy_core::hosts::HostAuth::Agent];
    let error = HostHandle::with_agent_socket(config, socket)
        .connect()
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("agent: it holds no keys"),
        "{error}"
    );
    let _ = agent.kill();
    let _ = agent.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_lost_mid_command_is_an_error_not_a_result() {
    let Some(mut sshd) = TestSshd::start() else {
        return;
    };
    let host = HostHandle::new(sshd.host_config("box"));
    let duration = unique_sleep();
    let line = format!("sleep {duration}");
    let task_host = host.clone();
    let task = tokio::spawn(async move {
        exec(
            &task_host,
            RemoteCommand::Shell(&line),
            &RunOptions::default(),
            &CancellationToken::new(),
        )
        .await
    });
    for _ in 0..100 {
        if !remote_sleepers(&host, &duration).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sshd.stop();
    let error = task.await.unwrap().unwrap_err();
    assert_eq!(error.code(), "unavailable");
    assert!(error.to_string().contains("was lost"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_session_is_enough_for_transfers_and_busy_sessions_time_out() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let base = std::fs::canonicalize(sshd.dir()).unwrap();
    let mut config = sshd.host_config("box");
    config.max_sessions = 1;
    config.remote_roots = vec![base.to_string_lossy().into_owned()];
    let host = HostHandle::new(config);
    let cancel = CancellationToken::new();
    let source = base.join("one.txt");
    std::fs::write(&source, "one\n").unwrap();
    let source = allowed(&base, &source, Access::Read);
    // Upload = SFTP session, checksum command, SFTP session: one at a time.
    let sent = upload(&host, &source, "copy.txt", false, 100, &cancel)
        .await
        .unwrap();
    assert_eq!(sent.bytes, 4);

    let busy_host = host.clone();
    let busy = tokio::spawn(async move { run_shell(&busy_host, "sleep 3").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let options = RunOptions {
        timeout: Duration::from_millis(500),
        ..RunOptions::default()
    };
    let error = exec(
        &host,
        RemoteCommand::Shell("true"),
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "timeout");
    assert!(error.to_string().contains("could not start"), "{error}");
    assert_eq!(busy.await.unwrap().exit_code, Some(0));
}
