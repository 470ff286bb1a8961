//! Regression tests for issue 6 that concern all three log tools at once: a gzip bomb
//! (finding 11), one regex size limit for every tool (finding 11), a FIFO or link swapped in
//! after the path check (findings 10 and 7), and a huge line (finding 9).

use std::io::Write;
use std::sync::Arc;

use skippy_core::Tool;
use tokio_util::sync::CancellationToken;

use crate::reader::{LINE_WINDOW, SCAN_CEILING};
use crate::target::LogTarget;
use crate::test_support::{context, gzip_bomb, write_file};
use crate::{SearchLog, SummarizeLog, TailLog, search_log, summarize_log, tail_log};

const MIB: u64 = 1024 * 1024;

fn tail(path: &str, filter: Option<&str>) -> tail_log::Params {
    tail_log::Params {
        path: path.to_string(),
        lines: 5,
        filter: filter.map(str::to_string),
        before: None,
        host: None,
    }
}

fn search(path: &str, pattern: &str) -> search_log::Params {
    search_log::Params {
        path: path.to_string(),
        pattern: pattern.to_string(),
        case_sensitive: false,
        context_lines: 0,
        max_matches: 10,
        since: None,
        until: None,
        include_rotated: false,
        offset: 0,
        host: None,
    }
}

fn summarize(path: &str) -> summarize_log::Params {
    summarize_log::Params {
        path: path.to_string(),
        since: None,
        top: 5,
        max_lines: summarize_log::DEFAULT_MAX_LINES,
        offset: 0,
        host: None,
    }
}

fn tail_tool() -> TailLog {
    TailLog {
        hosts: Arc::default(),
    }
}

fn search_tool() -> SearchLog {
    SearchLog {
        hosts: Arc::default(),
    }
}

fn summarize_tool() -> SummarizeLog {
    SummarizeLog {
        hosts: Arc::default(),
    }
}

/// A gzip file that unpacks past the ceiling: every tool stops at the ceiling of decompressed
/// bytes, keeps what it found and says so, instead of unpacking the whole bomb.
#[tokio::test]
async fn finding_11_gzip_bomb_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let members = (SCAN_CEILING / MIB) as usize + 16;
    let bomb = gzip_bomb(dir.path(), "app.log.1.gz", members);
    let on_disk = std::fs::metadata(&bomb).unwrap().len();
    assert!(on_disk * 100 < SCAN_CEILING, "{on_disk}");

    let out = tail_tool()
        .run(context(dir.path()), tail(&bomb, None))
        .await
        .unwrap();
    assert_eq!(out.scan_ceiling_bytes, Some(SCAN_CEILING));
    assert!(out.truncated);
    assert_eq!(out.bytes_read, SCAN_CEILING);
    assert_eq!(out.count, 5);

    let out = search_tool()
        .run(context(dir.path()), search(&bomb, "1"))
        .await
        .unwrap();
    assert_eq!(out.scan_ceiling_bytes, Some(SCAN_CEILING));
    assert!(out.truncated && out.matches.is_empty());
    assert_eq!(out.bytes_scanned, SCAN_CEILING);
    assert_eq!(out.next_offset, None);

    let out = summarize_tool()
        .run(context(dir.path()), summarize(&bomb))
        .await
        .unwrap();
    assert_eq!(out.scan_ceiling_bytes, Some(SCAN_CEILING));
    assert!(out.truncated);
    assert_eq!(out.bytes_scanned, SCAN_CEILING);
    assert_eq!(out.lines_scanned, SCAN_CEILING / MIB);
}

/// A rotated bomb spends the ceiling, but the live (plain) file is still searched after it.
#[tokio::test]
async fn finding_11_rotated_bomb_does_not_hide_the_live_file() {
    let dir = tempfile::tempdir().unwrap();
    gzip_bomb(
        dir.path(),
        "app.log.2.gz",
        (SCAN_CEILING / MIB) as usize + 1,
    );
    crate::test_support::gzip_file(dir.path(), "app.log.1.gz", "rotated needle\n");
    let path = write_file(dir.path(), "app.log", "live needle\n");
    let mut request = search(&path, "needle");
    request.include_rotated = true;
    let out = search_tool()
        .run(context(dir.path()), request)
        .await
        .unwrap();
    let lines: Vec<&str> = out.matches.iter().map(|m| m.line.as_str()).collect();
    assert_eq!(lines, ["live needle"]);
    assert_eq!(out.scan_ceiling_bytes, Some(SCAN_CEILING));
    assert!(out.truncated);
    assert_eq!(
        out.bytes_scanned,
        SCAN_CEILING + "live needle\n".len() as u64
    );
}

/// The same regex is too large for every tool that compiles one: before, `search_files` allowed a
/// 100 MB program and `tail_log` 10 MB, so this pattern passed one and failed the other.
#[tokio::test]
async fn finding_11_one_regex_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "app.log", "abc\n");
    // About 300,000 NFA states: between the two old limits.
    let pattern = "(?:[a-z]{1000}){300}";
    let mut messages = Vec::new();

    let error = tail_tool()
        .run(context(dir.path()), tail(&path, Some(pattern)))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    messages.push(error.to_string().replace("`filter`", "`_`"));
    let error = search_tool()
        .run(context(dir.path()), search(&path, pattern))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    messages.push(error.to_string().replace("`pattern`", "`_`"));
    let params: skippy_files::search_files::Params =
        serde_json::from_value(serde_json::json!({"path": ".", "query": pattern})).unwrap();
    let error = skippy_files::SearchFiles
        .run(context(dir.path()), params)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    messages.push(error.to_string().replace("`query`", "`_`"));

    assert!(messages[0].contains("regex limit"), "{}", messages[0]);
    assert!(
        messages.iter().all(|message| *message == messages[0]),
        "{messages:#?}"
    );
    // A pattern one notch smaller still works everywhere.
    let out = tail_tool()
        .run(
            context(dir.path()),
            tail(&path, Some("(?:[a-z]{1000}){10}|abc")),
        )
        .await
        .unwrap();
    assert_eq!(out.lines, ["abc"]);
}

/// A 100 MiB line (over the searcher's old 64 MiB allocation limit) neither fails `search_log`
/// nor hides the lines after it; it is matched by its start and counted. `tail_log` with a
/// filter and `summarize_log` read past it too.
#[tokio::test]
async fn finding_09_search_log_long_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(b"first needle ").unwrap();
    let block = vec![b'x'; 1024 * 1024];
    for _ in 0..100 {
        file.write_all(&block).unwrap();
    }
    file.write_all(b" needle at the end\nlater needle\n")
        .unwrap();
    drop(file);
    let path = path.to_str().unwrap().to_string();

    let out = search_tool()
        .run(context(dir.path()), search(&path, "needle"))
        .await
        .unwrap();
    let found: Vec<(u64, &str)> = out
        .matches
        .iter()
        .map(|found| (found.line_number, &found.line[..12]))
        .collect();
    assert_eq!(found, [(1, "first needle"), (2, "later needle")]);
    assert_eq!(out.long_lines_cut, 1);
    assert_eq!(out.lines_scanned, 2);
    assert!(!out.truncated);

    // What lies past the window of a long line is not matched, and that is what the count says.
    let out = search_tool()
        .run(context(dir.path()), search(&path, "at the end"))
        .await
        .unwrap();
    assert!(out.matches.is_empty());
    assert_eq!(out.long_lines_cut, 1);

    let out = tail_tool()
        .run(context(dir.path()), tail(&path, Some("needle")))
        .await
        .unwrap();
    assert_eq!(out.count, 2);
    assert_eq!(out.lines[1], "later needle");
    assert_eq!(out.long_lines_cut, 1);

    let out = summarize_tool()
        .run(context(dir.path()), summarize(&path))
        .await
        .unwrap();
    assert_eq!(out.lines_scanned, 2);
    const { assert!(LINE_WINDOW < 100 * 1024 * 1024) };
}

/// A FIFO at the log path, there from the start or swapped in after the path check, is refused
/// at once: the open does not block (O_NONBLOCK) and the descriptor's type is checked (fstat).
/// A symbolic link swapped in is refused as well (O_NOFOLLOW, and the descriptor's real path is
/// checked against the log allowlist).
#[tokio::test]
async fn finding_10_tail_log_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // A blocking open would hang here; the guard turns a regression into a failure.
    let tool = tail_tool();
    let call = tool.run(context(dir.path()), tail(fifo.to_str().unwrap(), None));
    let error = tokio::time::timeout(std::time::Duration::from_secs(60), call)
        .await
        .expect("tail_log blocked on a FIFO")
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");
    assert!(error.to_string().contains("FIFO"), "{error}");

    // Checked while a regular file, opened after the swap.
    let ctx = context(dir.path());
    let hosts = skippy_remote::Hosts::default();
    let path = write_file(dir.path(), "app.log", "line\n");
    let target = LogTarget::resolve(&ctx, &hosts, None, &path).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    nix::unistd::mkfifo(
        path.as_str(),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let policy = ctx.config.logs.policy.clone();
    let opened = tokio::task::spawn_blocking(move || {
        target.open(&policy, &CancellationToken::new()).map(|_| ())
    });
    let error = tokio::time::timeout(std::time::Duration::from_secs(60), opened)
        .await
        .expect("opening a swapped-in FIFO blocked")
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), "invalid_argument");

    // Swapped for a link to a file outside the log roots.
    let outside = tempfile::tempdir().unwrap();
    let secret = write_file(outside.path(), "secret.log", "secret\n");
    let path = write_file(dir.path(), "link.log", "line\n");
    let target = LogTarget::resolve(&ctx, &hosts, None, &path).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&secret, &path).unwrap();
    let error = target
        .open(&ctx.config.logs.policy, &CancellationToken::new())
        .unwrap_err();
    assert!(
        ["policy_denied", "invalid_argument", "permission_denied"].contains(&error.code()),
        "{error:?}"
    );
}
