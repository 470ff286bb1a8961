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

fn upload_params(local: &str, remote: &str, overwrite: bool, dry_run: bool) -> upload_file::Params {
    upload_file::Params {
        host: Some("box".into()),
        local_path: local.into(),
        remote_path: remote.into(),
        overwrite,
        dry_run,
    }
}

/// Finding 1: with a root covering a home, files that the host executes or that configure SSH or
/// authentication are refused, in dry runs too, also through a symlinked directory that resolves
/// into `.ssh` and through a `.ssh` that is itself a link; an executable file is not replaced.
#[tokio::test(flavor = "multi_thread")]
async fn finding_01_upload_refuses_files_the_host_executes() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let remote = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(remote.path()).unwrap();
    for dir in [
        ".ssh",
        ".config/autostart",
        ".config/systemd/user",
        "plain",
        "other",
    ] {
        std::fs::create_dir_all(home.join(dir)).unwrap();
    }
    symlink(home.join(".ssh"), home.join("linked")).unwrap();
    symlink(home.join("plain"), home.join("other/.ssh")).unwrap();
    std::fs::write(home.join("run.sh"), "echo old\n").unwrap();
    std::fs::set_permissions(home.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = home.display().to_string();
    let Some(fx) = fixture(|host| {
        host.exec_policy = ExecPolicy::Disabled;
        // The second root lets the cron path pass the roots, so only the protected list stops it.
        host.remote_roots = vec![root.clone(), "/".into()];
    }) else {
        return;
    };
    std::fs::write(
        fx.local.path().join("payload"),
        "touch /tmp/skippy-planted\n",
    )
    .unwrap();
    let upload = UploadFile {
        hosts: fx.hosts.clone(),
    };
    let cron = "/etc/cron.d/skippy-finding-01";
    let planted = [
        ".ssh/rc",
        ".ssh/authorized_keys",
        ".ssh/config",
        ".bashrc",
        ".profile",
        ".config/autostart/x.desktop",
        ".config/systemd/user/x.service",
        "linked/rc",
        "other/.ssh/rc",
        cron,
    ];
    for target in planted {
        for dry_run in [true, false] {
            let error = upload
                .run(
                    fx.ctx.clone(),
                    upload_params("payload", target, false, dry_run),
                )
                .await
                .unwrap_err();
            assert_eq!(error.code(), "policy_denied", "{target}: {error}");
            assert!(error.to_string().contains("matched"), "{target}: {error}");
        }
    }
    for target in planted {
        let path = if target.starts_with('/') {
            std::path::PathBuf::from(target)
        } else {
            home.join(target)
        };
        assert!(!path.exists(), "{} was written", path.display());
    }
    assert!(!home.join("plain/rc").exists());
    let error = upload
        .run(
            fx.ctx.clone(),
            upload_params("payload", "run.sh", true, false),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "policy_denied", "{error}");
    assert!(error.to_string().contains("executable"), "{error}");
    assert_eq!(
        std::fs::read_to_string(home.join("run.sh")).unwrap(),
        "echo old\n"
    );
    // An ordinary file still goes through, and arrives without execute bits.
    std::fs::set_permissions(
        fx.local.path().join("payload"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let done = upload
        .run(
            fx.ctx.clone(),
            upload_params("payload", "plain/notes.txt", false, false),
        )
        .await
        .unwrap();
    assert_eq!(done.remote_path, format!("{root}/plain/notes.txt"));
    let mode = std::fs::metadata(home.join("plain/notes.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0, "mode {mode:o}");
}

/// Finding 1, end to end: on an `exec_policy = "disabled"` host whose roots cover the real home,
/// planting `~/.ssh/rc` (which sshd would run at the start of the next session) is refused, and the
/// next tool call runs nothing the model sent.
#[tokio::test(flavor = "multi_thread")]
async fn finding_01_disabled_host_runs_nothing_planted() {
    let Some(probe) = TestSshd::start() else {
        return;
    };
    let home = nix::unistd::User::from_name(probe.user())
        .unwrap()
        .map(|user| user.dir.display().to_string())
        .unwrap();
    drop(probe);
    let Some(fx) = fixture(|host| {
        host.exec_policy = ExecPolicy::Disabled;
        host.remote_roots = vec![home.clone()];
    }) else {
        return;
    };
    let marker = fx.local.path().join("planted-ran");
    std::fs::write(
        fx.local.path().join("rc_payload"),
        format!("touch '{}'\n", marker.display()),
    )
    .unwrap();
    let upload = UploadFile {
        hosts: fx.hosts.clone(),
    };
    for target in [".ssh/rc", ".bashrc", ".profile", ".ssh/authorized_keys"] {
        // overwrite: false, so that even a regression cannot clobber an existing file here.
        let result = upload
            .run(
                fx.ctx.clone(),
                upload_params("rc_payload", target, false, false),
            )
            .await;
        if result.is_ok() {
            let _ = std::fs::remove_file(std::path::Path::new(&home).join(target));
        }
        let error = result
            .err()
            .unwrap_or_else(|| panic!("{target} was planted"));
        assert_eq!(error.code(), "policy_denied", "{target}: {error}");
    }
    let status = RemoteStatus {
        hosts: fx.hosts.clone(),
    };
    status
        .run(
            fx.ctx.clone(),
            remote_status::Params {
                host: Some("box".into()),
            },
        )
        .await
        .unwrap();
    assert!(!marker.exists(), "a planted file ran on the next session");
    let error = fx.command("uptime").await.unwrap_err();
    assert_eq!(error.code(), "policy_denied");
}

/// Finding 1: a host without `remote_roots` refuses every transfer before connecting, and the
/// error names the key to set.
#[tokio::test(flavor = "multi_thread")]
async fn finding_01_transfers_need_configured_remote_roots() {
    let Some(fx) = fixture(|host| host.remote_roots = Vec::new()) else {
        return;
    };
    std::fs::write(fx.local.path().join("a.txt"), "x").unwrap();
    let upload = UploadFile {
        hosts: fx.hosts.clone(),
    };
    let error = upload
        .run(
            fx.ctx.clone(),
            upload_params("a.txt", "a.txt", false, false),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "policy_denied");
    assert!(
        error.to_string().contains("hosts.box.remote_roots"),
        "{error}"
    );
    let download = DownloadFile {
        hosts: fx.hosts.clone(),
    };
    let error = download
        .run(
            fx.ctx.clone(),
            download_file::Params {
                host: Some("box".into()),
                remote_path: "~/.ssh/id_ed25519".into(),
                local_path: "key".into(),
                overwrite: false,
                dry_run: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "policy_denied");
    assert!(
        error.to_string().contains("hosts.box.remote_roots"),
        "{error}"
    );
    assert_eq!(fx.connections(), 0);
    assert!(!fx.local.path().join("key").exists());
}

/// Finding 5, remote: the memory hog stops at the configured limit and says so, and the limits the
/// command sees are the configured ones.
#[tokio::test(flavor = "multi_thread")]
async fn finding_05_remote_commands_run_under_the_memory_and_cpu_limits() {
    let Some(mut fx) = fixture(|_| {}) else {
        return;
    };
    let output = fx
        .command_with("tail -n 7 /dev/zero", None, Some(10))
        .await
        .unwrap();
    assert_ne!(output.exit_code, Some(0));
    assert_eq!(
        output.limit_hit,
        Some(skippy_core::process::LimitHit::Memory),
        "{output:?}"
    );
    assert!(output.note.unwrap().contains("exec.max_memory_mb"));
    let output = fx
        .command_with("cat /proc/self/limits", None, Some(10))
        .await
        .unwrap();
    crate::tools::run_remote_command::tests::assert_limits(
        &output.stdout,
        512 * 1024 * 1024,
        "10 11",
    );
    let mut config = (*fx.ctx.config).clone();
    config.exec.max_memory_mb = Some(128);
    config.exec.max_cpu_secs = skippy_core::config::CpuLimit::Fixed(2);
    fx.ctx = ToolCtx::for_tests(config);
    let output = fx.command("cat /proc/self/limits").await.unwrap();
    crate::tools::run_remote_command::tests::assert_limits(
        &output.stdout,
        128 * 1024 * 1024,
        "2 3",
    );
    let output = fx
        .command_with("while :; do :; done", None, Some(20))
        .await
        .unwrap();
    assert_eq!(
        output.limit_hit,
        Some(skippy_core::process::LimitHit::Cpu),
        "{output:?}"
    );
}

/// The approval question of a transfer comes from its dry run: file, size, destination, and
/// whether a file is replaced. Nothing moves.
#[tokio::test(flavor = "multi_thread")]
async fn approval_plans_of_transfers_name_file_size_and_destination() {
    use skippy_core::Plan;
    let remote = tempfile::tempdir().unwrap();
    let remote_root = std::fs::canonicalize(remote.path()).unwrap();
    let root = remote_root.display().to_string();
    let Some(fx) = fixture(|host| host.remote_roots = vec![root.clone()]) else {
        return;
    };
    std::fs::write(fx.local.path().join("up.txt"), "12345").unwrap();
    std::fs::write(remote_root.join("down.txt"), "1234567").unwrap();
    let upload = UploadFile {
        hosts: fx.hosts.clone(),
    };
    let params = upload_file::Params {
        host: Some("box".into()),
        local_path: "up.txt".into(),
        remote_path: "up.txt".into(),
        overwrite: false,
        dry_run: false,
    };
    let Plan::Text(text) = upload.plan(&fx.ctx, &params).await.unwrap() else {
        panic!("a plan of its own")
    };
    assert!(text.starts_with("Upload "), "{text}");
    assert!(text.contains("(5 bytes) to host box"), "{text}");
    assert!(
        text.contains(&format!("{root}/up.txt (a new file)")),
        "{text}"
    );
    assert!(!remote_root.join("up.txt").exists());

    let download = DownloadFile {
        hosts: fx.hosts.clone(),
    };
    let params = download_file::Params {
        host: Some("box".into()),
        remote_path: "down.txt".into(),
        local_path: "down.txt".into(),
        overwrite: false,
        dry_run: false,
    };
    let Plan::Text(text) = download.plan(&fx.ctx, &params).await.unwrap() else {
        panic!("a plan of its own")
    };
    assert!(
        text.contains(&format!("Download {root}/down.txt (7 bytes) from host box")),
        "{text}"
    );
    assert!(!fx.local.path().join("down.txt").exists());
    let dry = download_file::Params {
        dry_run: true,
        ..params
    };
    assert_eq!(download.plan(&fx.ctx, &dry).await.unwrap(), Plan::NoChange);
}
