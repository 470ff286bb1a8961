//! Skippy's own diagnostics: `tracing` to stderr, with every line passed through the secret masker.
//!
//! Log lines can carry what a client sent (rmcp logs whole requests at `debug`) and what tools saw,
//! so a secret value Skippy knows must not appear in them any more than in results. Each event is
//! formatted into a buffer and masked before it is written; stdout is never touched.

use std::io::Write;
use std::sync::OnceLock;

use skippy_core::env;
use skippy_core::redact::Secrets;
use tracing_subscriber::fmt::MakeWriter;

/// The secrets to mask, known once the configuration is loaded (lines before that are written
/// as they are: nothing secret has been read yet).
static SECRETS: OnceLock<Secrets> = OnceLock::new();

/// Start masking log lines with the configuration's secrets.
pub fn mask_with(secrets: &Secrets) {
    let _ = SECRETS.set(secrets.clone());
}

/// Mask `text` with the installed secrets.
pub fn mask(text: &str) -> String {
    match SECRETS.get() {
        Some(secrets) => secrets.mask(text).into_owned(),
        None => text.to_string(),
    }
}

pub fn init(level: Option<&str>, json: bool) {
    let filter = level
        .map(str::to_string)
        .or_else(|| env::var(env::LOG))
        .unwrap_or_else(|| "warn".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let json = json || env::var(env::LOG_FORMAT).is_some_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MaskingStderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A panic's default report goes straight to stderr; route it through the masked log instead.
    // A panic message can quote a whole model-given input: keep the first KiB.
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        tracing::error!(panic = %skippy_core::limits::truncate_utf8(&text, 1024), "panic");
    }));
}

/// Hands `tracing` one buffer per event; the buffer is masked and written to stderr when dropped.
struct MaskingStderr;

impl<'a> MakeWriter<'a> for MaskingStderr {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Vec::with_capacity(256))
    }
}

struct EventBuffer(Vec<u8>);

impl Write for EventBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let masked = mask(&text);
        let _ = std::io::stderr().lock().write_all(masked.as_bytes());
    }
}
