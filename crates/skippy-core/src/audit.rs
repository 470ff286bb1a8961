//! The audit log: one JSON line per tool call, written by a background thread.
//!
//! Calls hand their record to a bounded channel with `try_send` and move on, so a slow or full disk
//! never slows a call; if the channel is full the record is dropped and counted (the count is written
//! into the next line that gets through, and shown by `server_status`).

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::approval::ApprovalDecision;

/// How many records may wait for the writer before new ones are dropped.
const QUEUE_DEPTH: usize = 4096;

/// One audit line.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC time the call started.
    pub time: String,
    pub tool: String,
    /// Arguments, with secrets redacted.
    pub arguments: Value,
    pub duration_ms: f64,
    /// `ok` or `error`.
    pub outcome: &'static str,
    /// The error code when `outcome` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Size of the result sent back, in bytes.
    pub bytes: usize,
    /// Records dropped before this one because the writer was behind.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_before: u64,
    /// Whether a person approved the call, when it needed approval (`server.approvals`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalDecision>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// What the writer thread receives.
enum Entry {
    Record(Box<AuditRecord>),
    /// Write out everything queued before this, then answer.
    Flush(SyncSender<()>),
}

/// A handle to the audit log; cheap to clone. A disabled log accepts and ignores records.
#[derive(Clone, Default)]
pub struct AuditLog {
    sender: Option<SyncSender<Entry>>,
    dropped: Arc<AtomicU64>,
    path: Option<PathBuf>,
}

impl AuditLog {
    /// A log that writes nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Open (creating directories, mode 0600) and start the writer thread.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let (sender, receiver) = sync_channel(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("skippy-audit".into())
            .spawn(move || write_loop(receiver, BufWriter::new(file)))?;
        Ok(Self {
            sender: Some(sender),
            dropped: Arc::new(AtomicU64::new(0)),
            path: Some(path.to_path_buf()),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Records dropped so far because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queue a record without blocking.
    pub fn record(&self, mut record: AuditRecord) {
        let Some(sender) = &self.sender else { return };
        record.dropped_before = self.dropped.swap(0, Ordering::Relaxed);
        let dropped_before = record.dropped_before;
        match sender.try_send(Entry::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped
                    .fetch_add(1 + dropped_before, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait until every record queued so far is on disk, for at most `wait`; false if it is not.
    /// For a process about to exit (`skippy call`, server shutdown): the writer thread does not
    /// outlive it, so the last calls' lines would otherwise be lost.
    pub fn flush(&self, wait: Duration) -> bool {
        let Some(sender) = &self.sender else {
            return true;
        };
        let deadline = Instant::now() + wait;
        let (done, finished) = sync_channel(1);
        let mut entry = Entry::Flush(done);
        loop {
            match sender.try_send(entry) {
                Ok(()) => break,
                Err(TrySendError::Full(again)) if Instant::now() < deadline => {
                    entry = again;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return false,
            }
        }
        finished
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

fn write_loop(receiver: Receiver<Entry>, mut out: BufWriter<std::fs::File>) {
    while let Ok(entry) = receiver.recv() {
        let mut waiting = Vec::new();
        // Drain what is already queued before flushing, so bursts cost one write.
        for entry in std::iter::once(entry).chain(receiver.try_iter()) {
            match entry {
                Entry::Record(record) => write_one(&mut out, &record),
                Entry::Flush(done) => waiting.push(done),
            }
        }
        if let Err(error) = out.flush() {
            tracing::warn!(%error, "audit log flush failed");
        }
        for done in waiting {
            let _ = done.try_send(());
        }
    }
}

fn write_one(out: &mut BufWriter<std::fs::File>, record: &AuditRecord) {
    let result = serde_json::to_writer(&mut *out, record)
        .and_then(|()| out.write_all(b"\n").map_err(serde_json::Error::io));
    if let Err(error) = result {
        tracing::warn!(%error, "audit log write failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn writes_one_json_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for n in 0..3 {
            log.record(AuditRecord {
                time: "2026-11-21T00:00:00Z".into(),
                tool: format!("tool{n}"),
                arguments: serde_json::json!({"n": n}),
                duration_ms: 1.5,
                outcome: "ok",
                code: None,
                bytes: 10,
                dropped_before: 0,
                approval: (n == 1).then_some(ApprovalDecision::Declined),
            });
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 3 {
                let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
                assert_eq!(first["tool"], "tool0");
                assert_eq!(first["outcome"], "ok");
                assert!(first.get("approval").is_none(), "absent when not asked");
                let second: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
                assert_eq!(second["approval"], "declined");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "audit lines not written: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    /// `skippy call` exits right after its one call: without a flush its audit line (and the
    /// approval decision in it) could be lost with the writer thread.
    #[test]
    fn flush_waits_until_every_queued_line_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for n in 0..100 {
            log.record(AuditRecord {
                time: "2026-11-21T00:00:00Z".into(),
                tool: format!("tool{n}"),
                arguments: serde_json::json!({}),
                duration_ms: 1.0,
                outcome: "ok",
                code: None,
                bytes: 1,
                dropped_before: 0,
                approval: Some(ApprovalDecision::Approved),
            });
        }
        assert!(log.flush(Duration::from_secs(30)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 100);
        assert!(AuditLog::disabled().flush(Duration::ZERO));
    }
}
