//! Log tools: `tail_log`, `search_log` and `summarize_log`.
//!
//! Paths resolve only through the log allowlist (`ctx.log_path`: `/var/log` and the file roots by
//! default, plus configured aliases). Every tool is read-only. Gzip files, rotated ones included,
//! are read transparently. Shared helpers: timestamp recognition ([`timestamp`]), message templates
//! ([`template`]), level guessing ([`level`]), a backwards line reader ([`backward`]) and the file
//! reader with gzip detection ([`reader`]).
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

    /// Write `text` gzip-compressed to `dir/name`.
    pub fn gzip_file(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    }
}
