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

use serde::Serialize;
use serde_json::Value;

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
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A handle to the audit log; cheap to clone. A disabled log accepts and ignores records.
#[derive(Clone, Default)]
pub struct AuditLog {
    sender: Option<SyncSender<AuditRecord>>,
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
        match sender.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(record)) => {
                self.dropped
                    .fetch_add(1 + record.dropped_before, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn write_loop(receiver: Receiver<AuditRecord>, mut out: BufWriter<std::fs::File>) {
    while let Ok(record) = receiver.recv() {
        write_one(&mut out, &record);
        // Drain what is already queued before flushing, so bursts cost one write.
        while let Ok(record) = receiver.try_recv() {
            write_one(&mut out, &record);
        }
        if let Err(error) = out.flush() {
            tracing::warn!(%error, "audit log flush failed");
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
            });
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 3 {
                let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
                assert_eq!(first["tool"], "tool0");
                assert_eq!(first["outcome"], "ok");
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
}
