//! Log tools: `tail_log`, `search_log` and `summarize_log`.
//!
//! Paths resolve only through the log allowlist (`ctx.log_path`: relative paths are relative to the
//! first file root, as for the file tools; the allowlist is `/var/log` and the file roots by
//! default, plus configured aliases). Every tool is read-only. Gzip files, rotated ones included,
//! are read transparently. Shared helpers: timestamp recognition ([`timestamp`]), message templates
//! ([`template`]), level guessing ([`level`]), a backwards line reader ([`backward`]) and the file
//! reader with gzip detection ([`reader`]).
//!
//! What hostile input can cost is bounded in [`reader`]: a local file is opened through
//! `skippy_core::safe_fs` (no link followed, no blocking on a FIFO, the descriptor's type and real
//! path checked against the log allowlist); compressed files unpack to at most
//! [`reader::SCAN_CEILING`] bytes per call; only the first [`reader::LINE_WINDOW`] bytes of a line
//! are matched; and patterns compile through `skippy_core::patterns` (one size limit for all).
//!
//! With `host`, a tool reads a file on that host instead: the path is checked against the host's
//! `log_paths` ([`remote`]) and its bytes are fetched by fixed commands through the executor
//! ([`remote_file`]), then processed by the same code as local files ([`target`]).

pub mod backward;
pub mod level;
pub mod output;
pub mod reader;
pub mod remote;
pub mod remote_file;
pub mod rotated;
pub mod target;
pub mod template;
pub mod timestamp;

mod search_log;
mod summarize_log;
mod tail_log;

pub use search_log::SearchLog;
pub use summarize_log::SummarizeLog;
pub use tail_log::TailLog;

/// The tools this crate provides, by wire name.
pub const TOOL_NAMES: &[&str] = &["tail_log", "search_log", "summarize_log"];

#[cfg(test)]
mod finding_tests;
#[cfg(test)]
mod remote_tests;

#[cfg(test)]
mod test_support {
    use std::io::Write;
    use std::path::Path;

    use skippy_core::ToolCtx;
    use skippy_core::config::{Config, ConfigSource, FixedEnv, RawConfig, validate};

    /// A context whose roots (and so log allowlist) are `dir`.
    pub fn context(dir: &Path) -> ToolCtx {
        ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
    }

    /// A context with a `logs.aliases` entry `alias = target`.
    pub fn context_with_alias(dir: &Path, alias: &str, target: &str) -> ToolCtx {
        let mut raw = RawConfig::default();
        raw.logs.aliases.insert(alias.to_string(), target.into());
        let config = validate(raw, ConfigSource::Defaults, &FixedEnv::new(dir)).unwrap();
        ToolCtx::for_tests(config)
    }

    /// Write `text` to `dir/name`; returns the path as a string.
    pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// A gzip file at `dir/name` that unpacks to `members` lines of 1 MiB (zeros, then a newline)
    /// while it weighs about 1 KiB per MiB: one compressed MiB repeated as gzip members (what
    /// `cat a.gz b.gz` makes), so that a bomb costs the test almost nothing to build.
    pub fn gzip_bomb(dir: &Path, name: &str, members: usize) -> String {
        let mebibyte = format!("{}\n", "0".repeat(1024 * 1024 - 1));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(mebibyte.as_bytes()).unwrap();
        let member = encoder.finish().unwrap();
        let path = dir.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        for _ in 0..members {
            file.write_all(&member).unwrap();
        }
        path.to_str().unwrap().to_string()
    }

    /// Write `text` gzip-compressed to `dir/name`.
    pub fn gzip_file(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    }
}
