//! The remote tools against a real OpenSSH sshd on 127.0.0.1 (see [`crate::testing`]). The server
//! runs on this machine as the current user, so what a tool reports can be checked locally.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use skippy_core::hosts::{ExecPolicy, HostConfig};
use skippy_core::{Config, Tool, ToolCtx};

use crate::testing::TestSshd;
use crate::tools::{download_file, list_hosts, remote_status, run_remote_command, upload_file};
use crate::{DownloadFile, Hosts, ListHosts, RemoteStatus, RunRemoteCommand, UploadFile};

/// A server, the host `box` on it, and a context whose file roots are `local`.
struct Fixture {
    sshd: TestSshd,
    local: tempfile::TempDir,
    hosts: Arc<Hosts>,
    ctx: ToolCtx,
}

fn fixture(adjust: impl FnOnce(&mut HostConfig)) -> Option<Fixture> {
    let sshd = TestSshd::start()?;
    let mut host = sshd.host_config("box");
    adjust(&mut host);
    let local = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_for(local.path()).unwrap();
    config.hosts.insert("box".into(), host.clone());
    let hosts = Arc::new(Hosts::from_host_configs([host]));
    let ctx = ToolCtx::for_tests(config);
    Some(Fixture {
        sshd,
        local,
        hosts,
        ctx,
    })
}

fn with_policy(policy: ExecPolicy) -> impl FnOnce(&mut HostConfig) {
    move |host| host.exec_policy = policy
}

impl Fixture {
    async fn command(&self, command: &str) -> skippy_core::ToolResult<run_remote_command::Output> {
        self.command_with(command, None, None).await
    }

    async fn command_with(
        &self,
        command: &str,
        cwd: Option<&str>,
        timeout_secs: Option<u64>,
    ) -> skippy_core::ToolResult<run_remote_command::Output> {
        let tool = RunRemoteCommand {
            hosts: self.hosts.clone(),
        };
        tool.run(
            self.ctx.clone(),
            run_remote_command::Params {
                host: Some("box".into()),
                command: command.into(),
                cwd: cwd.map(str::to_string),
                timeout_secs,
            },
        )
        .await
    }

    fn connections(&self) -> u64 {
        self.hosts.remote("box").unwrap().connections_opened()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `SHA256:...` of the server's host key, as `ssh-keygen -l` computes it from known_hosts.
fn keygen_fingerprint(known_hosts: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(known_hosts)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_hosts_check_reports_banner_and_the_verified_host_key() {
    let Some(fx) = fixture(|_| {}) else {
        return;
    };
    let tool = ListHosts {
        hosts: fx.hosts.clone(),
    };
    let output = tool
        .run(fx.ctx.clone(), list_hosts::Params { check: true })
        .await
        .unwrap();
    assert_eq!(output.hosts.len(), 2);
    assert_eq!(output.hosts[0].name, "local");
    assert_eq!(output.hosts[0].reachable, Some(true));
    let host = &output.hosts[1];
    assert_eq!(host.name, "box");
    assert_eq!(
        host.reachable,
        Some(true),
        "{:?}\n{}",
        host.error,
        fx.sshd.log()
    );
    assert_eq!(host.port, Some(fx.sshd.port()));
    assert_eq!(host.auth, ["key"]);
    assert_eq!(
        host.host_key_fingerprint.as_deref(),
        Some(keygen_fingerprint(fx.sshd.known_hosts()).as_str())
    );
    let banner = host.banner.as_deref().unwrap();
    assert!(banner.starts_with("SSH-2.0-OpenSSH_"), "{banner}");
    assert!(host.latency_ms.is_some());
    assert_eq!(host.error, None);
    // The check went through the pool: the connection is there for the next call.
    assert_eq!(fx.connections(), 1);
    let again = tool
        .run(fx.ctx.clone(), list_hosts::Params { check: true })
        .await
        .unwrap();
    assert_eq!(
        again.hosts[1].host_key_fingerprint,
        host.host_key_fingerprint
    );
    assert_eq!(fx.connections(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn allowlist_runs_inspection_commands_and_refuses_the_rest_before_connecting() {
    let Some(fx) = fixture(with_policy(ExecPolicy::Allowlist)) else {
        return;
    };
    let marker = fx.local.path().join("touched");
    let touch = format!("touch {}", marker.display());
    let refused = [
        "sudo id".to_string(),
        "ls $(id)".to_string(),
        "rm -rf /tmp/x".to_string(),
        touch.clone(),
        format!("ls; {touch}"),
        format!("ls `{touch}`"),
    ];
    for command in &refused {
        let error = fx.command(command).await.unwrap_err();
        assert_eq!(error.code(), "policy_denied", "{command}: {error}");
        assert!(error.to_string().contains("nothing ran"), "{error}");
    }
    // Refused before anything was sent: not even a connection was opened.
    assert_eq!(fx.connections(), 0);
    assert!(!marker.exists());

    let output = fx.command("uptime").await.unwrap();
    assert_eq!(output.exit_code, Some(0), "{}", output.stderr);
    assert!(output.stdout.contains("load average"), "{}", output.stdout);
    assert_eq!(output.host, "box");
    let output = fx.command("ls -la /").await.unwrap();
    assert_eq!(output.exit_code, Some(0));
    assert!(
        output.stdout.lines().any(|l| l.ends_with(" etc")),
        "{}",
        output.stdout
    );
    let output = fx.command("ps aux | head -3").await.unwrap();
    assert_eq!(output.stdout.lines().count(), 3, "{}", output.stdout);
    assert!(output.stdout.starts_with("USER"), "{}", output.stdout);
    // A non-zero exit status is a result.
    let output = fx.command("ls /no/such/dir").await.unwrap();
    assert_eq!(output.exit_code, Some(2));
    assert!(output.stderr.contains("/no/such/dir"), "{}", output.stderr);
    // cwd is applied on the host.
    let cwd = std::fs::canonicalize(fx.local.path()).unwrap();
    let output = fx
        .command_with("pwd", Some(cwd.to_str().unwrap()), None)
        .await
        .unwrap();
    assert_eq!(output.stdout, format!("{}\n", cwd.display()));
    assert!(!marker.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_refuses_everything_and_unrestricted_runs_as_given() {
    let Some(fx) = fixture(with_policy(ExecPolicy::Disabled)) else {
        return;
    };
    let error = fx.command("uptime").await.unwrap_err();
    assert_eq!(error.code(), "policy_denied");
    assert!(error.to_string().contains("disabled"), "{error}");
    assert_eq!(fx.connections(), 0);
    drop(fx);

    let Some(fx) = fixture(with_policy(ExecPolicy::Unrestricted)) else {
        return;
    };
    let marker = fx.local.path().join("made by touch");
    let command = format!("touch '{}' && echo done; exit 7", marker.display());
    let output = fx.command(&command).await.unwrap();
    assert_eq!(output.stdout, "done\n");
    assert_eq!(output.exit_code, Some(7));
    assert!(marker.exists());
}

/// A unique `sleep` argument, so that its processes can be found with pgrep.
fn unique_sleep() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap();
    format!("30.{}", u32::from_le_bytes(bytes))
}

/// Local processes (sshd runs here) whose command line contains `sleep <duration>`.
fn sleepers(duration: &str) -> String {
    let output = Command::new("pgrep")
        .arg("-af")
        .arg(format!("slee[p] {duration}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_secs_kills_the_remote_command() {
    let Some(fx) = fixture(with_policy(ExecPolicy::Unrestricted)) else {
        return;
    };
    let fx = Arc::new(fx);
    let duration = unique_sleep();
    let call = {
        let fx = fx.clone();
        let command = format!("sleep {duration}");
        tokio::spawn(async move { fx.command_with(&command, None, Some(1)).await })
    };
    // The command really started (so the check below is not vacuous)...
    let mut seen = false;
    while !call.is_finished() && !seen {
        seen = !sleepers(&duration).is_empty();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "the remote sleep never showed up:\n{}", fx.sshd.log());
    let error = call.await.unwrap().unwrap_err();
    assert_eq!(error.code(), "timeout", "{error}");
    assert!(error.to_string().contains("1.0 s"), "{error}");
    // ...and is gone once the call has returned.
    let mut left = sleepers(&duration);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = sleepers(&duration);
    }
    assert_eq!(left, "", "the remote command survived its timeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_status_is_parsed_from_the_real_host() {
    let Some(fx) = fixture(with_policy(ExecPolicy::Disabled)) else {
        return;
    };
    let tool = RemoteStatus {
        hosts: fx.hosts.clone(),
    };
    let output = tool
        .run(
            fx.ctx.clone(),
            remote_status::Params {
                host: Some("box".into()),
            },
        )
        .await
        .unwrap();
    let hostname = Command::new("hostname").output().unwrap();
    assert_eq!(
        output.hostname,
        String::from_utf8_lossy(&hostname.stdout).trim()
    );
    assert_eq!(output.host, "box");
    assert!(output.memory.total > 0);
    assert!(output.memory.used + output.memory.available == output.memory.total);
    assert!(!output.disks.is_empty());
    assert!(
        output.disks.iter().any(|d| d.mount_point == "/"),
        "{:?}",
        output.disks
    );
    assert!(!output.top_cpu.is_empty() && output.top_cpu.len() <= 5);
    assert!(!output.top_memory.is_empty() && output.top_memory.len() <= 5);
    assert!(
        output
            .top_cpu
            .iter()
            .chain(&output.top_memory)
            .all(|p| !p.command.contains("skippy-status")),
        "{output:?}"
    );
    let systemd = Path::new("/run/systemd/system").is_dir();
    assert_eq!(output.systemd, systemd);
    if !systemd {
        assert!(output.failed_units.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_and_download_round_trip_with_checks() {
    let remote = tempfile::tempdir().unwrap();
    let remote_root = std::fs::canonicalize(remote.path()).unwrap();
    let root = remote_root.display().to_string();
    let Some(fx) = fixture(|host| host.remote_roots = vec![root.clone()]) else {
        return;
    };
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let expected = sha256_hex(&content);
    std::fs::write(fx.local.path().join("data.bin"), &content).unwrap();
    let upload = UploadFile {
        hosts: fx.hosts.clone(),
    };
    let up = |remote_path: &str, overwrite: bool, dry_run: bool| upload_file::Params {
        host: Some("box".into()),
        local_path: "data.bin".into(),
        remote_path: remote_path.into(),
        overwrite,
        dry_run,
    };

    // A dry run checks everything and transfers nothing.
    let planned = upload
        .run(fx.ctx.clone(), up("copy.bin", false, true))
        .await
        .unwrap();
    assert!(planned.dry_run);
    assert_eq!(planned.bytes, content.len() as u64);
    assert_eq!(planned.sha256, None);
    assert_eq!(planned.remote_path, format!("{root}/copy.bin"));
    assert!(!remote_root.join("copy.bin").exists());

    let done = upload
        .run(fx.ctx.clone(), up("copy.bin", false, false))
        .await
        .unwrap();
    assert_eq!(done.sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(done.bytes, content.len() as u64);
    assert!(!done.replaced && !done.dry_run);
    assert_eq!(
        std::fs::read(remote_root.join("copy.bin")).unwrap(),
        content
    );

    let error = upload
        .run(fx.ctx.clone(), up("copy.bin", false, false))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_exists");
    let error = upload
        .run(fx.ctx.clone(), up("copy.bin", false, true))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_exists");
    let replaced = upload
        .run(fx.ctx.clone(), up("copy.bin", true, false))
        .await
        .unwrap();
    assert!(replaced.replaced);

    for escape in [
        "../escape.bin",
        "/etc/skippy-escape",
        "sub/../../escape.bin",
    ] {
        let error = upload
            .run(fx.ctx.clone(), up(escape, true, false))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "policy_denied", "{escape}: {error}");
    }
    assert!(!remote_root.parent().unwrap().join("escape.bin").exists());

    let download = DownloadFile {
        hosts: fx.hosts.clone(),
    };
    let down = |remote_path: &str, local_path: &str, overwrite: bool, dry_run: bool| {
        download_file::Params {
            host: Some("box".into()),
            remote_path: remote_path.into(),
            local_path: local_path.into(),
            overwrite,
            dry_run,
        }
    };
    let planned = download
        .run(fx.ctx.clone(), down("copy.bin", "back.bin", false, true))
        .await
        .unwrap();
    assert!(planned.dry_run);
    assert_eq!(planned.bytes, content.len() as u64);
    assert!(!fx.local.path().join("back.bin").exists());
    let done = download
        .run(fx.ctx.clone(), down("copy.bin", "back.bin", false, false))
        .await
        .unwrap();
    assert_eq!(done.sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(
        std::fs::read(fx.local.path().join("back.bin")).unwrap(),
        content
    );
    let error = download
        .run(fx.ctx.clone(), down("copy.bin", "back.bin", false, false))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "already_exists");
    let error = download
        .run(
            fx.ctx.clone(),
            down("../../etc/passwd", "passwd", false, false),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "policy_denied", "{error}");
    let error = download
        .run(fx.ctx.clone(), down("missing.bin", "m.bin", false, true))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found");
    assert!(!fx.local.path().join("passwd").exists());
}
