//! Log tools: `tail_log`, `search_log` and `summarize_log`.
//!
//! Paths resolve only through the log allowlist (`ctx.log_path`: `/var/log` and the file roots by
//! default, plus configured aliases). Every tool is read-only. Gzip files, rotated ones included,
//! are read transparently. Shared helpers: timestamp recognition ([`timestamp`]), message templates
//! ([`template`]), level guessing ([`level`]), a backwards line reader ([`backward`]) and the file
//! reader with gzip detection ([`reader`]).

pub mod backward;
pub mod level;
pub mod output;
pub mod reader;
pub mod rotated;
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

#[cfg(test)]
mod schema_size {
    //! `tools/list` should average at most 900 bytes per tool, schemas included. These three tools
    //! carry more parameters than most (paging, time ranges, rotation), so they sit above that
    //! (about 980, 1740 and 1620 bytes); this guard keeps them from growing unnoticed. It
    //! approximates the binary's compaction (crates/skippy/schema.rs).
    use schemars::JsonSchema;
    use schemars::generate::SchemaSettings;
    use serde_json::{Value, json};
    use skippy_core::Tool;

    fn compact(value: &mut Value, output: bool) {
        match value {
            Value::Object(object) => {
                for key in ["$schema", "title", "format"] {
                    object.remove(key);
                }
                if object.get("default") == Some(&Value::Null) {
                    object.remove("default");
                }
                if output {
                    for key in ["required", "minimum", "additionalProperties"] {
                        object.remove(key);
                    }
                    if object.contains_key("properties") {
                        object.remove("description");
                    }
                }
                object.values_mut().for_each(|child| compact(child, output));
            }
            Value::Array(items) => items.iter_mut().for_each(|item| compact(item, output)),
            _ => {}
        }
    }

    fn schema<T: JsonSchema>(settings: SchemaSettings, output: bool) -> Value {
        let mut value =
            serde_json::to_value(settings.into_generator().into_root_schema_for::<T>()).unwrap();
        value.as_object_mut().unwrap().remove("description");
        compact(&mut value, output);
        value
    }

    fn listing<T: Tool>() -> String {
        let entry = json!({
            "name": T::NAME,
            "title": T::TITLE,
            "description": T::DESCRIPTION,
            "inputSchema": schema::<T::Params>(SchemaSettings::draft2020_12(), false),
            "outputSchema": schema::<T::Output>(SchemaSettings::draft2020_12().for_serialize(), true),
            "annotations": {"title": T::TITLE, "readOnlyHint": true, "destructiveHint": false,
                "idempotentHint": true, "openWorldHint": false},
        });
        serde_json::to_string(&entry).unwrap()
    }

    #[test]
    fn tools_list_entries_stay_small() {
        let sizes = [
            listing::<crate::TailLog>().len(),
            listing::<crate::SearchLog>().len(),
            listing::<crate::SummarizeLog>().len(),
        ];
        let average = sizes.iter().sum::<usize>() / sizes.len();
        assert!(average <= 1_450, "{sizes:?}");
    }

    #[test]
    #[ignore = "prints the listing, for editing descriptions"]
    fn print_listing() {
        for text in [
            listing::<crate::TailLog>(),
            listing::<crate::SearchLog>(),
            listing::<crate::SummarizeLog>(),
        ] {
            eprintln!("{} {text}\n", text.len());
        }
    }
}
