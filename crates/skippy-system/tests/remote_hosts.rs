//! The system tools with `host` set, against a real OpenSSH sshd on 127.0.0.1 (skippy-remote's
//! test harness). The "remote" host is this machine, so every figure can be checked against the
//! local call: same hostname, memory, CPUs, filesystems and processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use skippy_core::{Config, Tool, ToolCtx};
use skippy_remote::Hosts;
use skippy_remote::testing::TestSshd;
use skippy_system::{
    CheckServiceStatus, GetCpuInfo, GetDiskUsage, GetMemoryInfo, GetSystemInfo, ListProcesses,
};
use skippy_system::{
    check_service_status, get_cpu_info, get_disk_usage, get_memory_info, get_system_info,
    list_processes,
};

const HOST: &str = "box";

struct Harness {
    dir: tempfile::TempDir,
    // Dropped last: it stops sshd.
    _sshd: TestSshd,
    ctx: ToolCtx,
    hosts: Arc<Hosts>,
}

fn harness() -> Option<Harness> {
    let sshd = TestSshd::start()?;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_for(dir.path()).unwrap();
    config.hosts.insert(HOST.into(), sshd.host_config(HOST));
    let hosts = Hosts::from_config(&config);
    Some(Harness {
        dir,
        _sshd: sshd,
        ctx: ToolCtx::for_tests(config),
        hosts,
    })
}

fn remote() -> Option<String> {
    Some(HOST.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn system_info_matches_the_local_call() {
    let Some(h) = harness() else { return };
    let tool = GetSystemInfo {
        hosts: h.hosts.clone(),
    };
    let local = tool
        .run(h.ctx.clone(), get_system_info::Params { host: None })
        .await
        .unwrap();
    let there = tool
        .run(h.ctx.clone(), get_system_info::Params { host: remote() })
        .await
        .unwrap();
    assert_eq!(there.hostname, local.hostname);
    assert_eq!(there.os, local.os);
    assert_eq!(there.kernel, local.kernel);
    assert_eq!(there.architecture, local.architecture);
    assert_eq!(there.cpu, local.cpu);
    assert_eq!(there.memory.total, local.memory.total);
    assert!(there.memory.available > 0 && there.memory.available <= there.memory.total);
    assert!(there.uptime_seconds.abs_diff(local.uptime_seconds) <= 5);
    let boot = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp()
    };
    assert!((boot(&there.boot_time) - boot(&local.boot_time)).abs() <= 1);
    assert!(there.load_average.fifteen >= 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cpu_and_memory_match_the_local_call() {
    let Some(h) = harness() else { return };
    let cpu = GetCpuInfo {
        hosts: h.hosts.clone(),
    };
    let params = |host| get_cpu_info::Params {
        sample_ms: Some(100),
        host,
    };
    let local = cpu.run(h.ctx.clone(), params(None)).await.unwrap();
    let there = cpu.run(h.ctx.clone(), params(remote())).await.unwrap();
    assert_eq!(there.sample_ms, 100);
    assert_eq!(there.per_core.len(), local.per_core.len());
    assert!((0.0..=100.0).contains(&there.overall_percent));
    for (index, (remote_core, local_core)) in there.per_core.iter().zip(&local.per_core).enumerate()
    {
        assert_eq!(remote_core.core, index);
        assert!((0.0..=100.0).contains(&remote_core.usage_percent));
        assert_eq!(remote_core.frequency_mhz > 0, local_core.frequency_mhz > 0);
    }

    let memory = GetMemoryInfo {
        hosts: h.hosts.clone(),
    };
    let local = memory
        .run(h.ctx.clone(), get_memory_info::Params { host: None })
        .await
        .unwrap();
    let there = memory
        .run(h.ctx.clone(), get_memory_info::Params { host: remote() })
        .await
        .unwrap();
    assert_eq!(there.total, local.total);
    assert_eq!(there.swap_total, local.swap_total);
    assert_eq!(there.used, there.total - there.available);
    assert!(there.free > 0 && there.free <= there.total);
    assert!((0.0..=100.0).contains(&there.used_percent));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_host_applies_when_host_is_omitted() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_for(dir.path()).unwrap();
    config.hosts.insert(HOST.into(), sshd.host_config(HOST));
    config.server.default_host = HOST.into();
    let hosts = Hosts::from_config(&config);
    let tool = GetMemoryInfo {
        hosts: hosts.clone(),
    };
    let output = tool
        .run(
            ToolCtx::for_tests(config),
            get_memory_info::Params { host: None },
        )
        .await
        .unwrap();
    assert!(output.total > 0);
    // The call went over SSH: the pool opened a connection.
    assert_eq!(hosts.remote(HOST).unwrap().connections_opened(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_usage_matches_the_local_call() {
    let Some(h) = harness() else { return };
    let tool = GetDiskUsage {
        hosts: h.hosts.clone(),
    };
    let params = |path: Option<String>, host| get_disk_usage::Params { path, host };
    let local = tool.run(h.ctx.clone(), params(None, None)).await.unwrap();
    let there = tool
        .run(h.ctx.clone(), params(None, remote()))
        .await
        .unwrap();
    let points = |output: &get_disk_usage::Output| -> Vec<String> {
        output
            .filesystems
            .iter()
            .map(|filesystem| filesystem.mount_point.clone())
            .collect()
    };
    assert_eq!(points(&there), points(&local));
    let root = |output: &get_disk_usage::Output| {
        output
            .filesystems
            .iter()
            .find(|filesystem| filesystem.mount_point == "/")
            .cloned()
            .unwrap()
    };
    let (local_root, remote_root) = (root(&local), root(&there));
    assert_eq!(remote_root.total, local_root.total);
    assert_eq!(remote_root.fs_type, local_root.fs_type);
    assert_eq!(remote_root.device, local_root.device);

    let temp = h.dir.path().display().to_string();
    let local = tool
        .run(h.ctx.clone(), params(Some(temp.clone()), None))
        .await
        .unwrap();
    let there = tool
        .run(h.ctx.clone(), params(Some(temp), remote()))
        .await
        .unwrap();
    assert_eq!(there.filesystems.len(), 1);
    assert_eq!(
        there.filesystems[0].mount_point,
        local.filesystems[0].mount_point
    );
    assert_eq!(there.filesystems[0].total, local.filesystems[0].total);

    let missing = h.dir.path().join("no such dir").display().to_string();
    let error = tool
        .run(h.ctx.clone(), params(Some(missing), remote()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found", "{error}");
    assert!(error.to_string().contains("host box"), "{error}");
    // A path that looks like an option is an operand after `--`.
    let error = tool
        .run(h.ctx.clone(), params(Some("/--help".into()), remote()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_found", "{error}");
    let error = tool
        .run(h.ctx.clone(), params(Some("-h".into()), remote()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
}

#[tokio::test(flavor = "multi_thread")]
async fn processes_match_the_local_call() {
    let Some(h) = harness() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_for(dir.path()).unwrap();
    config.secrets.add("s3cr3t-known-value");
    config.hosts = h.ctx.config.hosts.clone();
    let ctx = ToolCtx::for_tests(config);
    let tool = ListProcesses {
        hosts: h.hosts.clone(),
    };
    // `; :` keeps the shell from exec-ing sleep, so its command line stays visible.
    let mut quiet = std::process::Command::new("sh")
        .args([
            "-c",
            "sleep 30; :",
            "sh",
            "--password=hunter2x",
            "s3cr3t-known-value",
        ])
        .spawn()
        .unwrap();
    let mut busy = std::process::Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .unwrap();
    let params = |host, sample_ms| list_processes::Params {
        name_filter: None,
        sort_by: list_processes::SortBy::Pid,
        limit: Some(500),
        offset: None,
        sample_ms: Some(sample_ms),
        host,
    };
    let local = tool.run(ctx.clone(), params(None, 0)).await;
    let there = tool.run(ctx.clone(), params(remote(), 500)).await;
    let filtered = tool
        .run(
            ctx.clone(),
            list_processes::Params {
                name_filter: Some("HUNTER2X".into()),
                ..params(remote(), 0)
            },
        )
        .await;
    quiet.kill().unwrap();
    quiet.wait().unwrap();
    busy.kill().unwrap();
    busy.wait().unwrap();
    let (local, there, filtered) = (local.unwrap(), there.unwrap(), filtered.unwrap());

    let find = |output: &list_processes::Output, pid: u32| {
        output
            .processes
            .iter()
            .find(|process| process.pid == pid)
            .cloned()
            .unwrap_or_else(|| panic!("pid {pid} missing from {output:?}"))
    };
    let (local_quiet, remote_quiet) = (find(&local, quiet.id()), find(&there, quiet.id()));
    assert_eq!(remote_quiet.name, local_quiet.name);
    assert_eq!(remote_quiet.ppid, Some(std::process::id()));
    // Compared by uid: accounts may share one, and ps and sysinfo may pick different names.
    let uid_of = |name: &Option<String>| {
        let name = name.as_deref().unwrap();
        nix::unistd::User::from_name(name)
            .unwrap()
            .map_or_else(|| name.to_string(), |user| user.uid.to_string())
    };
    assert_eq!(uid_of(&remote_quiet.user), uid_of(&local_quiet.user));
    assert_eq!(remote_quiet.command, local_quiet.command);
    assert_eq!(
        remote_quiet.command,
        "sh -c sleep 30; : sh --password=******** ********"
    );
    assert_eq!(remote_quiet.status, "sleeping");
    let started = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp()
    };
    assert!((started(&remote_quiet.started_at) - started(&local_quiet.started_at)).abs() <= 2);
    assert!(remote_quiet.memory_bytes > 0);
    // The filter sees masked text only.
    assert!(filtered.processes.iter().all(|p| p.pid != quiet.id()));

    // Sampled over 500 ms on the remote side, like locally.
    let remote_busy = find(&there, busy.id());
    assert!(remote_busy.cpu_percent > 0.0, "{remote_busy:?}");
    assert_eq!(remote_busy.status, "running");
    // The inspection script does not list itself; sshd's session does show up.
    assert!(
        there
            .processes
            .iter()
            .all(|p| !p.command.contains("skippy-section") && !p.command.starts_with("ps -eo")),
        "{there:?}"
    );
    assert!(there.processes.iter().any(|p| p.name.starts_with("sshd")));
    assert!(there.total_processes.abs_diff(local.total_processes) <= 20);
    for pair in there.processes.windows(2) {
        assert!(pair[0].pid < pair[1].pid);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn service_status_without_remote_systemd_is_unavailable() {
    let Some(h) = harness() else { return };
    let tool = CheckServiceStatus {
        hosts: h.hosts.clone(),
    };
    let result = tool
        .run(
            h.ctx.clone(),
            check_service_status::Params {
                service: "ssh".into(),
                host: remote(),
            },
        )
        .await;
    if std::path::Path::new("/run/systemd/system").exists() {
        assert_eq!(result.unwrap().name, "ssh.service");
        return;
    }
    let error = result.unwrap_err();
    assert_eq!(error.code(), "unavailable", "{error}");
    assert!(error.to_string().contains("host box"), "{error}");
}

#[tokio::test]
async fn unknown_hosts_are_invalid_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ToolCtx::for_tests(Config::defaults_for(dir.path()).unwrap());
    let hosts = Arc::new(Hosts::default());
    let nowhere = || Some("nowhere".to_string());
    let errors = vec![
        GetSystemInfo {
            hosts: hosts.clone(),
        }
        .run(ctx.clone(), get_system_info::Params { host: nowhere() })
        .await
        .unwrap_err(),
        GetCpuInfo {
            hosts: hosts.clone(),
        }
        .run(
            ctx.clone(),
            get_cpu_info::Params {
                sample_ms: None,
                host: nowhere(),
            },
        )
        .await
        .unwrap_err(),
        GetMemoryInfo {
            hosts: hosts.clone(),
        }
        .run(ctx.clone(), get_memory_info::Params { host: nowhere() })
        .await
        .unwrap_err(),
        GetDiskUsage {
            hosts: hosts.clone(),
        }
        .run(
            ctx.clone(),
            get_disk_usage::Params {
                path: None,
                host: nowhere(),
            },
        )
        .await
        .unwrap_err(),
        ListProcesses {
            hosts: hosts.clone(),
        }
        .run(
            ctx.clone(),
            list_processes::Params {
                name_filter: None,
                sort_by: list_processes::SortBy::Cpu,
                limit: None,
                offset: None,
                sample_ms: None,
                host: nowhere(),
            },
        )
        .await
        .unwrap_err(),
        CheckServiceStatus {
            hosts: hosts.clone(),
        }
        .run(
            ctx.clone(),
            check_service_status::Params {
                service: "ssh".into(),
                host: nowhere(),
            },
        )
        .await
        .unwrap_err(),
    ];
    for error in errors {
        assert_eq!(error.code(), "invalid_argument", "{error}");
        assert!(
            error.to_string().contains("unknown host `nowhere`"),
            "{error}"
        );
    }
}
