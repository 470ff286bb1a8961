//! Documentation and API snapshots that must not drift from the registry.
//!
//! `tools/list` is the API a model sees: any change to a name, description, annotation or schema
//! shows up as a diff of `tests/snapshots/tools_list.json`. Regenerate deliberately with
//! `UPDATE_SNAPSHOTS=1 cargo test --test docs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;

fn output(args: &[&str]) -> String {
    let sandbox = Sandbox::new();
    let output = sandbox.command().args(args).output().expect("run skippy");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn update() -> bool {
    std::env::var_os("UPDATE_SNAPSHOTS").is_some()
}

fn repo(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn tools_list_matches_snapshot() {
    let sandbox = Sandbox::new();
    let mut server = sandbox.start();
    let list = server.request("tools/list", serde_json::json!({}));
    let tools = list["result"]["tools"].clone();
    let pretty = serde_json::to_string_pretty(&tools).unwrap() + "\n";
    let path = repo("tests/snapshots/tools_list.json");
    if update() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == pretty,
        "tools/list changed; review the diff and run `UPDATE_SNAPSHOTS=1 cargo test --test docs` to accept it"
    );
    // Every tool carries both schemas, and the hints that differ from the MCP spec's defaults
    // (readOnlyHint false, destructiveHint true, idempotentHint false, openWorldHint true): a hint
    // equal to its default, or destructive/idempotent on a read-only tool (meaningful only when
    // readOnlyHint is false), costs bytes and tells a client nothing.
    for tool in tools.as_array().unwrap() {
        let name = &tool["name"];
        let annotations = tool["annotations"].as_object().unwrap();
        let read_only = annotations.get("readOnlyHint") == Some(&Value::Bool(true));
        for (hint, default) in [
            ("readOnlyHint", false),
            ("destructiveHint", true),
            ("idempotentHint", false),
            ("openWorldHint", true),
        ] {
            match annotations.get(hint) {
                None => {}
                Some(Value::Bool(value)) => {
                    assert_ne!(*value, default, "{name}: {hint} equals the default");
                    if read_only {
                        assert!(
                            !matches!(hint, "destructiveHint" | "idempotentHint"),
                            "{name}: {hint} on a read-only tool"
                        );
                    }
                }
                Some(other) => panic!("{name}: {hint} is not a boolean: {other}"),
            }
        }
        assert_eq!(tool["inputSchema"]["type"], "object");
        assert_eq!(tool["outputSchema"]["type"], "object");
        let text = tool.to_string();
        assert!(
            !text.contains("$ref"),
            "{name}: schemas share nothing by $ref"
        );
    }
}

/// The context budget: every tool costs the model its `tools/list` entry in every conversation.
/// Issue 7 set the target at 900 bytes of compact JSON per tool on average (name, title,
/// description, annotations, input and output schema). Compaction and terse docs took the 22 tools
/// from 1,180 to about 1,050; most of the rest is field names and types (the output schemas alone
/// are about 470 bytes a tool), which only smaller results can shrink (docs/benchmarks.md). Until
/// then this test is a ratchet at 1,070: a change that makes the average entry larger fails here.
#[test]
fn tools_list_average_entry_stays_within_the_byte_budget() {
    const BUDGET: usize = 1070;
    let json: Value = serde_json::from_str(&output(&["tools", "--json"])).unwrap();
    let tools = json["tools"].as_array().unwrap();
    assert!(
        tools.len() >= 22,
        "the sandbox offers every registered tool"
    );
    let sizes: Vec<(usize, &str)> = tools
        .iter()
        .map(|tool| {
            (
                serde_json::to_vec(tool).unwrap().len(),
                tool["name"].as_str().unwrap(),
            )
        })
        .collect();
    let total: usize = sizes.iter().map(|(bytes, _)| bytes).sum();
    let average = total / tools.len();
    let mut largest = sizes.clone();
    largest.sort_unstable_by(|a, b| b.cmp(a));
    assert!(
        average <= BUDGET,
        "tools/list averages {average} bytes per tool ({total} bytes, {} tools), over the {BUDGET}-byte budget; \
         shorten descriptions and parameter docs (units and limits, no prose). Largest: {:?}",
        tools.len(),
        &largest[..largest.len().min(5)]
    );
}

/// Replace the text between `<!-- begin NAME -->` and `<!-- end NAME -->`.
fn splice(document: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- begin {name} -->\n");
    let end = format!("<!-- end {name} -->");
    let start = document.find(&begin)? + begin.len();
    let stop = document[start..].find(&end)? + start;
    Some(format!(
        "{}{}{}",
        &document[..start],
        body,
        &document[stop..]
    ))
}

fn check_generated_section(file: &str, name: &str, body: &str) {
    let path = repo(file);
    let document = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = splice(&document, name, body)
        .unwrap_or_else(|| panic!("{file} lacks the `{name}` markers"));
    if update() && expected != document {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        expected == document,
        "{file}: the `{name}` section is out of date; run `UPDATE_SNAPSHOTS=1 cargo test --test docs`"
    );
}

#[test]
fn readme_tools_table_matches_registry() {
    let table = output(&["tools", "--markdown"]);
    check_generated_section("README.md", "tools", &table);
}

#[test]
fn readme_toolset_costs_match_registry() {
    let table = output(&["tools", "--costs"]);
    check_generated_section("README.md", "toolset-costs", &table);
}

#[test]
fn configuration_reference_names_every_key_and_variable() {
    let text =
        std::fs::read_to_string(repo("docs/configuration.md")).expect("docs/configuration.md");
    // Every key of the raw configuration, found by serializing it (with one host so that the host
    // keys appear too): a new key without documentation fails here.
    let mut raw = skippy_core::config::RawConfig::default();
    raw.hosts.insert("example".into(), Default::default());
    let value = serde_json::to_value(&raw).unwrap();
    let mut keys = Vec::new();
    for (section, table) in value.as_object().unwrap() {
        keys.push(format!("[{section}"));
        let fields = if section == "hosts" {
            &table["example"]
        } else {
            table
        };
        keys.extend(fields.as_object().unwrap().keys().map(|k| format!("`{k}`")));
    }
    for key in keys {
        assert!(
            text.contains(&key),
            "docs/configuration.md does not document {key}"
        );
    }
    for var in skippy_env_vars() {
        assert!(
            text.contains(&var),
            "docs/configuration.md does not document `{var}`"
        );
    }
}

/// The environment variables named in skippy-core's `env.rs` constants.
fn skippy_env_vars() -> Vec<String> {
    let source = std::fs::read_to_string(repo("crates/skippy-core/src/env.rs")).unwrap();
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once("= \""))
        .map(|(_, value)| value.trim_end_matches("\";").to_string())
        .filter(|value| value.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[test]
fn tools_reference_matches_registry() {
    let json: Value = serde_json::from_str(&output(&["tools", "--json"])).unwrap();
    let mut body = String::new();
    for tool in json["tools"].as_array().unwrap() {
        body.push_str(&reference_section(tool));
    }
    check_generated_section("docs/tools.md", "reference", &body);
}

/// One tool's section of docs/tools.md, from its `tools/list` entry.
fn reference_section(tool: &Value) -> String {
    let name = tool["name"].as_str().unwrap_or_default();
    let annotations = &tool["annotations"];
    // Absent hints read as the MCP defaults: not read-only, destructive.
    let kind = if annotations["readOnlyHint"] == true {
        "read-only"
    } else if annotations["destructiveHint"] != false {
        "mutating, destructive"
    } else {
        "mutating"
    };
    // Absent title: it would only repeat the name (`read_file` -> "Read file").
    let title = match annotations["title"].as_str() {
        Some(title) => title.to_string(),
        None => {
            let words = name.replace('_', " ");
            let mut chars = words.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    };
    let mut text = format!(
        "### `{name}`\n\n{}\n\n*{title}; {kind}.*\n\n",
        tool["description"].as_str().unwrap_or_default(),
    );
    let schema = &tool["inputSchema"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match schema["properties"].as_object() {
        Some(props) if !props.is_empty() => {
            text.push_str("| Parameter | Type | Required | Description |\n|---|---|---|---|\n");
            for (param, spec) in props {
                text.push_str(&format!(
                    "| `{param}` | {} | {} | {} |\n",
                    type_name(spec, schema),
                    if required.contains(&param.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    spec["description"]
                        .as_str()
                        .unwrap_or_default()
                        .replace('|', "\\|")
                        .replace('\n', " ")
                ));
            }
        }
        _ => text.push_str("No parameters.\n"),
    }
    let fields: Vec<String> = tool["outputSchema"]["properties"]
        .as_object()
        .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
        .unwrap_or_default();
    text.push_str(&format!("\nResult fields: {}.\n\n", fields.join(", ")));
    text
}

fn type_name(spec: &Value, root: &Value) -> String {
    if let Some(values) = spec["enum"].as_array() {
        let names: Vec<String> = values
            .iter()
            .filter_map(Value::as_str)
            .map(|v| format!("`{v}`"))
            .collect();
        return names.join(" \\| ");
    }
    if let Some(reference) = spec["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let target = &root["$defs"][name];
        if let Some(values) = target["enum"].as_array() {
            return values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(" \\| ");
        }
        if let Some(variants) = target["oneOf"].as_array() {
            let names: Vec<String> = variants
                .iter()
                .filter_map(|v| v["const"].as_str().or(v["enum"][0].as_str()))
                .map(|v| format!("`{v}`"))
                .collect();
            if !names.is_empty() {
                return names.join(" \\| ");
            }
        }
        return name.to_string();
    }
    if let Some(any) = spec["anyOf"].as_array() {
        return any
            .iter()
            .map(|s| type_name(s, root))
            .filter(|t| t != "null")
            .collect::<Vec<_>>()
            .join(" or ");
    }
    match &spec["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_name(&spec["items"], root)),
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "value".to_string(),
    }
}
