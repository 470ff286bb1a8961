//! The log tools with `host` against a real OpenSSH sshd on 127.0.0.1 (see
//! `skippy_remote::testing`). The host is this machine, so every remote result must equal the
//! local result on the same file, byte for byte once serialized.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use skippy_core::{Tool, ToolCtx};
use skippy_remote::Hosts;
use skippy_remote::testing::TestSshd;

use crate::test_support::{context, context_with_alias, gzip_file, write_file};
use crate::{SearchLog, SummarizeLog, TailLog, search_log, summarize_log, tail_log};

const HOST: &str = "box";

/// A test sshd whose host `box` has `logs` (canonical) as its only `log_paths` entry.
struct Env {
    _sshd: TestSshd,
    hosts: Arc<Hosts>,
    _dir: tempfile::TempDir,
    logs: PathBuf,
    /// Local roots for remote calls: they do not include `logs`, so only the host policy applies.
    elsewhere: tempfile::TempDir,
}

/// One test at a time: every remote command starts the login shell of the test user, whose
/// start-up files may be slow or take locks (pyenv's rehash does), so parallel tests would time out.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Env {
    async fn start() -> Option<(Env, tokio::sync::MutexGuard<'static, ()>)> {
        let guard = SERIAL.lock().await;
        let sshd = TestSshd::start()?;
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let logs = logs.canonicalize().unwrap();
        let mut host = sshd.host_config(HOST);
        host.log_paths = vec![logs.to_str().unwrap().to_string()];
        let env = Env {
            _sshd: sshd,
            hosts: Arc::new(Hosts::from_host_configs([host])),
            _dir: dir,
            logs,
            elsewhere: tempfile::tempdir().unwrap(),
        };
        Some((env, guard))
    }

    /// Roots elsewhere, and a generous deadline (each remote command pays for a login shell).
    fn remote_ctx(&self) -> ToolCtx {
        let config = skippy_core::Config::defaults_for(self.elsewhere.path()).unwrap();
        ToolCtx::new(
            Arc::new(config),
            tokio_util::sync::CancellationToken::new(),
            std::time::Instant::now() + std::time::Duration::from_secs(120),
        )
    }

    fn outside(&self) -> &Path {
        self.elsewhere.path()
    }

    fn tail(&self) -> TailLog {
        TailLog {
            hosts: self.hosts.clone(),
        }
    }

    fn search(&self) -> SearchLog {
        SearchLog {
            hosts: self.hosts.clone(),
        }
    }

    fn summarize(&self) -> SummarizeLog {
        SummarizeLog {
            hosts: self.hosts.clone(),
        }
    }

    /// Run `tool` locally and on the host; assert equal results and return the remote one.
    async fn same<T: Tool>(&self, tool: &T, make: impl Fn(Option<String>) -> T::Params) -> T::Output
    where
        T::Output: Serialize,
    {
        let local = tool.run(context(&self.logs), make(None)).await.unwrap();
        let remote = tool
            .run(self.remote_ctx(), make(Some(HOST.to_string())))
            .await
            .unwrap();
        assert_eq!(json(&local), json(&remote));
        remote
    }

    async fn remote_error<T: Tool>(&self, tool: &T, params: T::Params) -> skippy_core::ToolError {
        match tool.run(self.remote_ctx(), params).await {
            Ok(_) => panic!("expected an error"),
            Err(error) => error,
        }
    }
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap()
}

fn tail_params(path: &str, lines: u32, host: Option<String>) -> tail_log::Params {
    tail_log::Params {
        path: path.to_string(),
        lines,
        filter: None,
        before: None,
        host,
    }
}

fn search_params(path: &str, pattern: &str, host: Option<String>) -> search_log::Params {
    search_log::Params {
        path: path.to_string(),
        pattern: pattern.to_string(),
        case_sensitive: false,
        context_lines: 0,
        max_matches: search_log::DEFAULT_MAX_MATCHES,
        since: None,
        until: None,
        include_rotated: false,
        offset: 0,
        host,
    }
}

fn summarize_params(path: &str, host: Option<String>) -> summarize_log::Params {
    summarize_log::Params {
        path: path.to_string(),
        since: None,
        top: summarize_log::DEFAULT_TOP,
        max_lines: summarize_log::DEFAULT_MAX_LINES,
        offset: 0,
        host,
    }
}

/// About 2.4 MB of dated lines with multi-byte characters (so window edges cut some of them),
/// an error every 997 lines.
fn app_log(lines: usize) -> String {
    (1..=lines)
        .map(|n| {
            let (minute, second) = ((n / 60) % 60, n % 60);
            let hour = 10 + n / 3600;
            if n % 997 == 0 {
                format!(
                    "2026-11-21T{hour:02}:{minute:02}:{second:02}Z ERROR job {n} failed: disk €{n} full 😀\n"
                )
            } else {
                format!(
                    "2026-11-21T{hour:02}:{minute:02}:{second:02}Z INFO job {n} ok für Müller ✓\n"
                )
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn tail_matches_local_with_filter_paging_and_gzip() {
    let Some((env, _serial)) = Env::start().await else {
        return;
    };
    let text = app_log(40_000);
    let path = write_file(&env.logs, "app.log", &text);
    let path = path.as_str();
    let tail = env.tail();

    let out = env.same(&tail, |host| tail_params(path, 3, host)).await;
    assert_eq!(out.lines.len(), 3);
    assert!(out.lines[2].contains("job 40000 ok"), "{:?}", out.lines);

    // A filter that needs reading back through several growing windows.
    let filtered = |before: Option<u64>| {
        move |host| tail_log::Params {
            filter: Some("ERROR job \\d+ failed".into()),
            before,
            ..tail_params(path, 30, host)
        }
    };
    let out = env.same(&tail, filtered(None)).await;
    assert_eq!(out.count, 30);
    assert!(
        out.lines[29].contains("job 39880 failed"),
        "{:?}",
        out.lines
    );
    // Paging back with `before` continues where the last call stopped, on the host too.
    let older = env.same(&tail, filtered(out.next_offset)).await;
    assert_eq!(older.count, 10);
    assert!(
        older.lines[9].contains("job 9970 failed"),
        "{:?}",
        older.lines
    );
    assert_eq!(older.next_offset, None);

    // Many lines at once, cut by the output ceiling.
    let out = env
        .same(&tail, |host| tail_params(path, 10_000, host))
        .await;
    assert!(out.truncated);
    let out = env
        .same(&tail, |host| tail_log::Params {
            before: out.next_offset,
            ..tail_params(path, 10_000, host)
        })
        .await;
    assert!(out.count > 0);

    let packed = gzip_file(&env.logs, "app.log.1.gz", &app_log(5_000));
    let out = env
        .same(&tail, |host| tail_log::Params {
            filter: Some("failed".into()),
            ..tail_params(&packed, 2, host)
        })
        .await;
    assert_eq!(out.lines.len(), 2);
    assert!(out.lines[1].contains("job 4985 failed"), "{:?}", out.lines);
}

#[tokio::test(flavor = "multi_thread")]
async fn non_utf8_files_and_edge_cases_match_local() {
    let Some((env, _serial)) = Env::start().await else {
        return;
    };
    // Latin-1 text: raw transfer cannot carry it, hex does.
    let mut latin: Vec<u8> = Vec::new();
    for n in 0..20_000 {
        latin.extend_from_slice(format!("{n} caf").as_bytes());
        latin.extend_from_slice(b"\xe9 ");
        latin.extend_from_slice(if n % 500 == 0 { b"ERROR\r\n" } else { b"ok\n" });
    }
    let latin_path = env.logs.join("latin.log");
    std::fs::write(&latin_path, &latin).unwrap();
    let latin_path = latin_path.to_str().unwrap().to_string();
    let tail = env.tail();
    let out = env
        .same(&tail, |host| tail_params(&latin_path, 5, host))
        .await;
    assert_eq!(out.lines[4], "19999 caf\u{FFFD} ok");
    env.same(&env.search(), |host| {
        search_params(&latin_path, "error", host)
    })
    .await;
    env.same(&env.summarize(), |host| summarize_params(&latin_path, host))
        .await;

    let empty = write_file(&env.logs, "empty.log", "");
    let out = env.same(&tail, |host| tail_params(&empty, 5, host)).await;
    assert!(out.lines.is_empty());
    let no_newline = write_file(&env.logs, "short.log", "one\r\ntwo\nthree");
    let out = env
        .same(&tail, |host| tail_params(&no_newline, 5, host))
        .await;
    assert_eq!(out.lines, ["one", "two", "three"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_matches_local_with_context_time_range_and_rotation() {
    let Some((env, _serial)) = Env::start().await else {
        return;
    };
    let path = write_file(&env.logs, "app.log", &app_log(40_000));
    let search = env.search();
    let out = env
        .same(&search, |host| search_log::Params {
            context_lines: 2,
            since: Some("2026-11-21T12:00:00Z".into()),
            until: Some("2026-11-21T18:00:00Z".into()),
            ..search_params(&path, "error", host)
        })
        .await;
    assert!(!out.matches.is_empty());
    let first = &out.matches[0];
    assert_eq!(first.line_number, 7976);
    assert_eq!(first.context_before.len(), 2);
    assert_eq!(first.context_after.len(), 2);
    assert!(first.context_after[0].contains("job 7977 ok"));
    assert_eq!(first.timestamp.as_deref(), Some("2026-11-21T12:12:56Z"));

    // Paging by max_matches and offset.
    let out = env
        .same(&search, |host| search_log::Params {
            max_matches: 7,
            offset: 3,
            ..search_params(&path, "failed", host)
        })
        .await;
    assert_eq!(out.next_offset, Some(10));

    // Rotated siblings: a gzip one, a plain one, and a symlink to a file outside (skipped).
    gzip_file(&env.logs, "app.log.2.gz", "old hit\nnothing\n");
    write_file(&env.logs, "app.log.1", "nothing\nmiddle hit\n");
    let secret = write_file(env.outside(), "secret.log", "secret hit\n");
    std::os::unix::fs::symlink(&secret, env.logs.join("app.log.3")).unwrap();
    let out = env
        .same(&search, |host| search_log::Params {
            include_rotated: true,
            ..search_params(&path, "hit", host)
        })
        .await;
    let lines: Vec<&str> = out.matches.iter().map(|m| m.line.as_str()).collect();
    assert_eq!(lines, ["old hit", "middle hit"]);
    assert_eq!(
        out.matches[0].file.as_deref(),
        env.logs.join("app.log.2.gz").to_str()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn summarize_counts_equal_local_including_gzip_and_paging() {
    let Some((env, _serial)) = Env::start().await else {
        return;
    };
    let path = write_file(&env.logs, "app.log", &app_log(40_000));
    let summarize = env.summarize();
    let out = env
        .same(&summarize, |host| summarize_params(&path, host))
        .await;
    assert_eq!(out.lines_scanned, 40_000);
    assert_eq!(out.levels.error, 40);
    let out = env
        .same(&summarize, |host| summarize_log::Params {
            max_lines: 12_345,
            ..summarize_params(&path, host)
        })
        .await;
    assert!(out.truncated);
    env.same(&summarize, |host| summarize_log::Params {
        offset: out.next_offset.unwrap(),
        since: Some("2026-11-21T15:00:00Z".into()),
        ..summarize_params(&path, host)
    })
    .await;
    let packed = gzip_file(&env.logs, "app.log.1.gz", &app_log(3_000));
    let out = env
        .same(&summarize, |host| summarize_log::Params {
            offset: 1000,
            ..summarize_params(&packed, host)
        })
        .await;
    assert!(out.lines_scanned > 2900);
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_paths_obey_the_host_log_paths() {
    let Some((env, _serial)) = Env::start().await else {
        return;
    };
    let host = || Some(HOST.to_string());
    let tail = env.tail();
    let secret = write_file(env.outside(), "secret.log", "secret\n");

    // A symlink inside log_paths that points outside.
    let link = env.logs.join("evil.log");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let error = env
        .remote_error(&tail, tail_params(link.to_str().unwrap(), 5, host()))
        .await;
    assert_eq!(error.code(), "policy_denied");
    assert!(error.to_string().contains("symbolic link"), "{error}");
    // A symlinked directory inside log_paths, too.
    std::os::unix::fs::symlink(env.outside(), env.logs.join("dir")).unwrap();
    let through = env.logs.join("dir/secret.log");
    let error = env
        .remote_error(
            &env.search(),
            search_params(through.to_str().unwrap(), "x", host()),
        )
        .await;
    assert_eq!(error.code(), "policy_denied");

    // Outside log_paths, directly or with `..`.
    let error = env
        .remote_error(&tail, tail_params(&secret, 5, host()))
        .await;
    assert_eq!(error.code(), "policy_denied");
    assert!(
        error.to_string().contains(env.logs.to_str().unwrap()),
        "{error}"
    );
    let climbing = format!("{}/../../etc/passwd", env.logs.display());
    let error = env
        .remote_error(&env.summarize(), summarize_params(&climbing, host()))
        .await;
    assert_eq!(error.code(), "policy_denied");

    // Aliases are local-only; relative paths are refused.
    let inside = write_file(&env.logs, "app.log", "a\nb\n");
    let aliased = context_with_alias(&env.logs, "app", &inside);
    let error = match tail
        .run(aliased.clone(), tail_params("app", 1, host()))
        .await
    {
        Ok(_) => panic!("an alias with a host must be refused"),
        Err(error) => error,
    };
    assert_eq!(error.code(), "invalid_argument");
    let local = tail
        .run(aliased, tail_params("app", 1, None))
        .await
        .unwrap();
    assert_eq!(local.lines, ["b"]);
    let error = env
        .remote_error(&tail, tail_params("app.log", 1, host()))
        .await;
    assert_eq!(error.code(), "invalid_argument");

    // Missing files, directories, unknown hosts.
    let missing = env.logs.join("missing.log");
    let error = env
        .remote_error(&tail, tail_params(missing.to_str().unwrap(), 1, host()))
        .await;
    assert_eq!(error.code(), "not_found");
    let error = env
        .remote_error(&tail, tail_params(env.logs.to_str().unwrap(), 1, host()))
        .await;
    assert_eq!(error.code(), "invalid_argument");
    let error = env
        .remote_error(&tail, tail_params(&inside, 1, Some("nowhere".into())))
        .await;
    assert_eq!(error.code(), "invalid_argument");

    // Inside: fine.
    let out = tail
        .run(env.remote_ctx(), tail_params(&inside, 1, host()))
        .await
        .unwrap();
    assert_eq!(out.lines, ["b"]);
}
