//! Races against the file tools through the real binary (issue 6, findings 7 and 10): another
//! thread swaps files, links, directories and FIFOs inside a root in a loop while the server
//! answers calls on them. Each loop is bounded (a couple of seconds); the assertions are about what
//! happened, never about how long it took. Also the other descriptor-level rules of the file
//! tools: no append through a hard link (finding 8), no Skippy `/proc` entry (finding 3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// How long each race runs. A bound on the loop, not a threshold on anything measured.
const RACE_FOR: Duration = Duration::from_millis(2500);
/// Content of the files outside the root. It contains the text the edits look for, so an edit
/// that reached it would show it in its diff.
const SECRET: &str = "inside OUTSIDE-SECRET-7f3a\n";
const MARKER: &str = "OUTSIDE-SECRET-7f3a";

/// A thread running `step` in a loop until stopped; counts its rounds.
struct Swapper {
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    handle: Option<JoinHandle<()>>,
}

impl Swapper {
    fn start(mut step: impl FnMut() + Send + 'static) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let handle = {
            let (stop, rounds) = (Arc::clone(&stop), Arc::clone(&rounds));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    step();
                    rounds.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Swapper {
            stop,
            rounds,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            handle.join().unwrap();
        }
        self.rounds.load(Ordering::Relaxed)
    }
}

/// Replace `path` atomically with a regular file holding `content`.
fn put_file(path: &Path, content: &str) {
    let staging = path.with_extension("staging-file");
    let _ = std::fs::write(&staging, content);
    let _ = std::fs::rename(&staging, path);
}

/// Replace `path` atomically with a symbolic link to `target`.
fn put_link(path: &Path, target: &Path) {
    let staging = path.with_extension("staging-link");
    let _ = std::fs::remove_file(&staging);
    let _ = symlink(target, &staging);
    let _ = std::fs::rename(&staging, path);
}

/// Replace `path` atomically with a FIFO.
fn put_fifo(path: &Path) {
    let staging = path.with_extension("staging-fifo");
    let _ = std::fs::remove_file(&staging);
    let _ = nix::unistd::mkfifo(&staging, nix::sys::stat::Mode::S_IRWXU);
    let _ = std::fs::rename(&staging, path);
}

/// Every `.skippy-*.tmp` file under `dir`, recursively, not following links.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".skippy-") && name.ends_with(".tmp") {
            found.push(path.clone());
        }
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            found.extend(temp_files(&path));
        }
    }
    found
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Send every call of `batch` at once, then collect each answer (a call never answered fails the
/// test after the harness's generous wait). Returns the answers.
fn call_batch(server: &mut Server, batch: &[(&str, Value)]) -> Vec<Value> {
    let ids: Vec<u64> = batch
        .iter()
        .map(|(tool, arguments)| {
            server.request_async("tools/call", json!({"name": tool, "arguments": arguments}))
        })
        .collect();
    ids.into_iter()
        .zip(batch)
        .map(|(id, (tool, arguments))| {
            server.response_within(id, WAIT).unwrap_or_else(|| {
                panic!(
                    "{tool}({arguments}) was never answered; stderr: {}",
                    server.stderr_text()
                )
            })
        })
        .collect()
}

#[test]
fn finding_07_symlink_and_directory_swaps_never_reach_outside() {
    let sandbox = Sandbox::new();
    let outside = sandbox.outside.clone();
    std::fs::write(outside.join("target.txt"), SECRET).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    let outside_before = names(&outside);
    let race = sandbox.root.join("race");
    std::fs::create_dir_all(race.join("dir")).unwrap();
    std::fs::write(race.join("target.txt"), "inside\n").unwrap();
    std::fs::write(race.join("dir/target.txt"), "inside\n").unwrap();
    let mut server = sandbox.start();

    // A file that is a regular file one moment and a link out the next, and a directory that is a
    // real directory one moment and a link to the outside directory the next.
    let swapper = {
        let (race, outside) = (race.clone(), outside.clone());
        let mut round = 0u64;
        Swapper::start(move || {
            round += 1;
            let file = race.join("target.txt");
            if round.is_multiple_of(2) {
                put_file(&file, "inside\n");
            } else {
                put_link(&file, &outside.join("target.txt"));
            }
            let dir = race.join("dir");
            let parked = race.join("parked");
            if round.is_multiple_of(2) {
                let _ = std::fs::remove_file(&dir);
                let _ = std::fs::rename(&parked, &dir);
            } else {
                let _ = std::fs::rename(&dir, &parked);
                let _ = symlink(&outside, &dir);
            }
        })
    };

    let edit = |path: &str| json!({"path": path, "edits": [{"old_text": "inside", "new_text": "changed"}], "dry_run": true});
    let batch = [
        ("read_file", json!({"path": "race/target.txt"})),
        ("read_file", json!({"path": "race/dir/target.txt"})),
        ("read_file", json!({"path": "race/dir/secret.txt"})),
        ("edit_file", edit("race/target.txt")),
        ("edit_file", edit("race/dir/target.txt")),
        (
            "write_file",
            json!({"path": "race/target.txt", "content": "inside\n"}),
        ),
        (
            "write_file",
            json!({"path": "race/dir/target.txt", "content": "inside\n"}),
        ),
        (
            "write_file",
            json!({"path": "race/dir/new.txt", "content": "inside\n", "mode": "create_new"}),
        ),
        (
            "write_file",
            json!({"path": "race/target.txt", "content": "more\n", "mode": "append"}),
        ),
        (
            "write_file",
            json!({"path": "race/dir/target.txt", "content": "more\n", "mode": "append"}),
        ),
        ("list_directory", json!({"path": "race/dir"})),
        (
            "search_files",
            json!({"path": "race", "query": MARKER, "include_hidden": true}),
        ),
        (
            "get_file_info",
            json!({"path": "race/dir/target.txt", "checksum": true}),
        ),
    ];
    let started = Instant::now();
    let mut calls = 0usize;
    let mut answered_ok = 0usize;
    let mut caught_in_the_window = 0usize;
    while started.elapsed() < RACE_FOR {
        for (answer, (tool, arguments)) in call_batch(&mut server, &batch).iter().zip(&batch) {
            calls += 1;
            let text = answer.to_string();
            assert!(
                !text.contains(MARKER),
                "{tool}({arguments}) reached the outside file: {text}"
            );
            assert!(
                !(*tool == "list_directory" && text.contains("secret.txt")),
                "list_directory listed the outside directory: {text}"
            );
            if answer["result"]["isError"] == json!(false) {
                answered_ok += 1;
            }
            // The refusals that only the descriptor-level checks can give: the path check passed,
            // then a link was swapped in before the open. Where main opened by path, these calls
            // read or wrote the outside file.
            if [
                "changed while",
                "became a symbolic link",
                "(or became) a symbolic link",
                "leads outside its root",
            ]
            .iter()
            .any(|refusal| text.contains(refusal))
            {
                caught_in_the_window += 1;
            }
        }
    }
    let rounds = swapper.finish();

    assert_eq!(
        std::fs::read_to_string(outside.join("target.txt")).unwrap(),
        SECRET
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        SECRET
    );
    assert_eq!(
        names(&outside),
        outside_before,
        "nothing was created outside"
    );
    assert!(temp_files(&outside).is_empty());
    // Still serving, and no temporary file left behind inside either.
    server.call_ok("list_directory", json!({"path": "race"}));
    assert_eq!(temp_files(&sandbox.root), Vec::<PathBuf>::new());
    // The race really ran both ways: many swaps, and calls that both succeeded and were refused.
    assert!(rounds > 10, "the swapper ran {rounds} rounds");
    assert!(
        answered_ok > 0 && answered_ok < calls,
        "{answered_ok} of {calls} calls succeeded"
    );
    assert!(
        caught_in_the_window > 0,
        "no call hit the window between check and open in {calls} calls ({rounds} swaps)"
    );
}

#[test]
fn finding_10_a_file_swapped_for_a_fifo_never_blocks_a_call() {
    let sandbox = Sandbox::new();
    let race = sandbox.root.join("race");
    std::fs::create_dir_all(&race).unwrap();
    std::fs::write(race.join("f"), "inside\n").unwrap();
    let mut server = sandbox.start();

    let swapper = {
        let race = race.clone();
        let mut round = 0u64;
        Swapper::start(move || {
            round += 1;
            if round.is_multiple_of(2) {
                put_file(&race.join("f"), "inside\n");
            } else {
                put_fifo(&race.join("f"));
            }
        })
    };
    let batch = [
        ("read_file", json!({"path": "race/f"})),
        ("read_file", json!({"path": "race/f", "encoding": "base64"})),
        ("get_file_info", json!({"path": "race/f", "checksum": true})),
        (
            "edit_file",
            json!({"path": "race/f", "edits": [{"old_text": "inside", "new_text": "x"}], "dry_run": true}),
        ),
        (
            "write_file",
            json!({"path": "race/f", "content": "more\n", "mode": "append", "dry_run": true}),
        ),
        (
            "write_file",
            json!({"path": "race/f", "content": "more\n", "mode": "append"}),
        ),
        ("search_files", json!({"path": "race", "query": "inside"})),
        ("find_duplicates", json!({"path": "race", "min_size": 1})),
    ];
    let started = Instant::now();
    let mut calls = 0usize;
    while started.elapsed() < RACE_FOR {
        // call_batch fails the test if any call is not answered.
        calls += call_batch(&mut server, &batch).len();
    }
    let rounds = swapper.finish();
    assert!(rounds > 10 && calls > 0, "{rounds} swaps, {calls} calls");

    // No server thread is left waiting in a FIFO open: the server still answers, and where the
    // kernel shows wait channels, none is a FIFO's.
    put_file(&race.join("f"), "inside\n");
    server.call_ok("read_file", json!({"path": "race/f"}));
    let tasks = format!("/proc/{}/task", server.child.id());
    for task in std::fs::read_dir(&tasks).unwrap().flatten() {
        let wchan = std::fs::read_to_string(task.path().join("wchan")).unwrap_or_default();
        assert!(
            !wchan.contains("fifo"),
            "a server thread is blocked in {wchan}"
        );
    }
}

#[test]
fn finding_08_append_through_a_hard_link_is_refused() {
    let sandbox = Sandbox::new();
    let victim = sandbox.outside.join("victim.txt");
    std::fs::write(&victim, "outside\n").unwrap();
    std::fs::hard_link(&victim, sandbox.root.join("hard.txt")).unwrap();
    let mut server = sandbox.start();
    for dry_run in [false, true] {
        let (code, message) = server.call_err(
            "write_file",
            json!({"path": "hard.txt", "content": "pwned\n", "mode": "append", "dry_run": dry_run}),
        );
        assert_eq!(code, "policy_denied", "{message}");
        assert!(message.contains("hard links"), "{message}");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "outside\n");
    // Whole-file writes replace this name only, which breaks the link.
    server.call_ok(
        "write_file",
        json!({"path": "hard.txt", "content": "mine\n"}),
    );
    server.call_ok(
        "edit_file",
        json!({"path": "hard.txt", "edits": [{"old_text": "mine", "new_text": "ours"}]}),
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "outside\n");
    assert_eq!(
        std::fs::read_to_string(sandbox.root.join("hard.txt")).unwrap(),
        "ours\n"
    );
}

#[test]
fn finding_03_file_tools_refuse_skippy_proc_entries() {
    let sandbox = Sandbox::new().with_config("[files]\nread_roots = [\"/proc\", \".\"]\n");
    let mut server = sandbox.start();
    let pid = server.child.id();
    // A thread of the server other than the main one: /proc/<tid> works though it is not listed.
    let tid = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .find(|tid| *tid != pid.to_string())
        .expect("the server runs more than one thread");
    let secrets = [
        "/proc/self/environ".to_string(),
        "/proc/thread-self/environ".to_string(),
        format!("/proc/{pid}/environ"),
        format!("/proc/{pid}/mem"),
        format!("/proc/{pid}/cmdline"),
        format!("/proc/{pid}/task/{tid}/environ"),
        format!("/proc/{tid}/environ"),
        "/proc/1/environ".to_string(),
    ];
    for path in &secrets {
        for (tool, arguments) in [
            ("read_file", json!({"path": path, "encoding": "base64"})),
            ("get_file_info", json!({"path": path, "checksum": true})),
            ("search_files", json!({"path": path, "query": "."})),
        ] {
            let (code, message) = server.call_err(tool, arguments.clone());
            assert_eq!(code, "policy_denied", "{tool}({arguments}): {message}");
        }
    }
    for directory in [
        "/proc/self".to_string(),
        format!("/proc/{pid}"),
        format!("/proc/{tid}"),
    ] {
        let (code, message) = server.call_err("list_directory", json!({"path": directory}));
        assert_eq!(code, "policy_denied", "{directory}: {message}");
    }
    // The rest of /proc stays readable under a /proc root.
    let meminfo = server.call_ok("read_file", json!({"path": "/proc/meminfo"}));
    assert!(meminfo["content"].as_str().unwrap().contains("MemTotal"));
}
