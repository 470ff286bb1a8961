//! What `tools/list` says about a tool beyond its name and description: JSON schemas for parameters
//! and results, generated from the Rust types by schemars and then compacted, and the behaviour hints.
//! `tools/list` is read by the model on every session, so noise costs context: the average entry is
//! kept under [`BUDGET_BYTES_PER_TOOL`] by a test.
//!
//! Compaction removes what carries nothing for a client: `$schema`, every schema `title`,
//! `"default": null`, schemars' non-standard integer/float `format` values (`uint`, `int64`, `double`,
//! ... which validators warn about), `null` alternatives (results omit nulls; an optional parameter is
//! omitted), one `type` repeated in every variant of an enum, and hints equal to the MCP defaults.
//! Nothing is shared by `$ref` (clients resolve it badly) and every field keeps its one `type` (the
//! MCP Inspector's strict mode refuses type lists).

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;
use skippy_core::Annotations;

/// Ceiling on the average size of a `tools/list` entry (compact JSON: name, title, description,
/// annotations, input and output schema), in bytes. Every tool costs the model this much context in
/// every conversation; `tests/docs.rs` fails when the registered tools average more.
pub const BUDGET_BYTES_PER_TOOL: usize = 900;

/// Size of one `tools/list` entry as compact JSON, in bytes.
pub fn entry_bytes(tool: &Tool) -> usize {
    serde_json::to_vec(tool).map_or(0, |bytes| bytes.len())
}

/// The hints a client needs, as `annotations`: a hint equal to the MCP default (readOnlyHint false,
/// destructiveHint true, idempotentHint false, openWorldHint true) is left out, and so are
/// destructiveHint and idempotentHint of a read-only tool (the spec gives them meaning only when
/// readOnlyHint is false). A client reads the result exactly as the full set. The title is left out
/// when it only repeats the name (`read_file` -> "Read file").
pub fn annotations(name: &str, title: &str, hints: Annotations) -> ToolAnnotations {
    let mutating = !hints.read_only;
    let title = (!title.eq_ignore_ascii_case(&name.replace('_', " "))).then(|| title.to_string());
    ToolAnnotations::from_raw(
        title,
        hints.read_only.then_some(true),
        (mutating && !hints.destructive).then_some(false),
        (mutating && hints.idempotent).then_some(true),
        (!hints.open_world).then_some(false),
    )
}

/// Non-standard `format` values that schemars emits for numbers.
const NUMBER_FORMATS: &[&str] = &[
    "uint", "uint8", "uint16", "uint32", "uint64", "uint128", "int", "int8", "int16", "int32",
    "int64", "int128", "float", "double",
];

/// Schema of what a type accepts (tool parameters). Beyond the common compaction: `minimum: 0` (every
/// count is unsigned), defaults equal to the zero value (`false`, `0`) and `additionalProperties:
/// false` (the adapter refuses unknown fields anyway, naming the known ones) are dropped, and an
/// optional parameter is typed as its plain type (leaving it out is how it is omitted). A tool
/// without parameters keeps `additionalProperties: false`, the form the MCP spec recommends for it.
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12());
    let mut value = Value::Object(std::mem::take(Arc::make_mut(&mut schema)));
    slim_input(&mut value);
    if let Value::Object(root) = &mut value
        && root
            .get("properties")
            .is_none_or(|p| p.as_object().is_some_and(|p| p.is_empty()))
    {
        root.remove("properties");
        root.insert("additionalProperties".into(), Value::Bool(false));
    }
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::new()),
    }
}

/// `"type": ["integer", "null"]` -> `"type": "integer"`, and `"anyOf": [X, {"type": "null"}]` -> X
/// merged into the object (what schemars writes for an optional enum or struct).
fn drop_null_type(object: &mut JsonObject) {
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            object.insert("type".into(), single);
        }
    }
    let is_null = |variant: &Value| variant.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(variants)) = object.get("anyOf")
        && variants.len() == 2
        && variants.iter().any(is_null)
        && let Some(Value::Object(kept)) = variants.iter().find(|v| !is_null(v)).cloned()
    {
        object.remove("anyOf");
        for (key, value) in kept {
            object.entry(key).or_insert(value);
        }
    }
}

/// `"oneOf": [{"const": "a", "type": "string"}, {"const": "b", "type": "string"}]` -> `"enum": ["a",
/// "b"], "type": "string"`: the same values with the type said once. Left alone when a variant
/// carries a description (the variant docs would be lost) or the variants differ in type.
fn collapse_consts(object: &mut JsonObject) {
    let Some(Value::Array(variants)) = object.get("oneOf").or_else(|| object.get("anyOf")) else {
        return;
    };
    let mut values = Vec::with_capacity(variants.len());
    let mut kind: Option<&Value> = None;
    for variant in variants {
        let Value::Object(variant) = variant else {
            return;
        };
        let (Some(value), Some(variant_kind)) = (variant.get("const"), variant.get("type")) else {
            return;
        };
        if variant.len() != 2 || kind.is_some_and(|k| k != variant_kind) {
            return;
        }
        kind = Some(variant_kind);
        values.push(value.clone());
    }
    let Some(kind) = kind.cloned() else { return };
    object.remove("oneOf");
    object.remove("anyOf");
    object.insert("enum".into(), Value::Array(values));
    object.insert("type".into(), kind);
}

fn slim_input(value: &mut Value) {
    let Value::Object(object) = value else { return };
    if object.get("minimum").and_then(Value::as_u64) == Some(0) {
        object.remove("minimum");
    }
    let zero_default = match object.get("default") {
        Some(Value::Bool(false)) => true,
        Some(Value::Number(number)) => number.as_u64() == Some(0),
        _ => false,
    };
    if zero_default {
        object.remove("default");
    }
    if object.get("additionalProperties") == Some(&Value::Bool(false)) {
        object.remove("additionalProperties");
    }
    drop_null_type(object);
    collapse_consts(object);
    for (key, child) in object.iter_mut() {
        match (key.as_str(), child) {
            ("properties" | "$defs", Value::Object(map)) => map.values_mut().for_each(slim_input),
            ("items", item) => slim_input(item),
            (_, Value::Array(items)) if matches!(key.as_str(), "anyOf" | "oneOf" | "allOf") => {
                items.iter_mut().for_each(slim_input)
            }
            _ => {}
        }
    }
}

/// Schema of what a type writes (tool results). Output schemas describe the shape for clients that
/// validate `structuredContent`; `required` lists, numeric bounds and docs add bytes to every
/// `tools/list` without changing what validates, so they are dropped (field semantics belong in the
/// tool description and the docs).
pub fn output_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12().for_serialize());
    let mut value = Value::Object(std::mem::take(Arc::make_mut(&mut schema)));
    slim_output(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::new()),
    }
}

fn slim_output(value: &mut Value) {
    match value {
        Value::Object(object) => {
            // The adapter drops null fields from results, so no output value is ever null.
            drop_null_type(object);
            object.remove("required");
            object.remove("minimum");
            object.remove("maximum");
            object.remove("additionalProperties");
            object.remove("description");
            for (key, child) in object.iter_mut() {
                match key.as_str() {
                    "properties" | "$defs" | "definitions" => {
                        if let Value::Object(map) = child {
                            map.values_mut().for_each(slim_output);
                        }
                    }
                    _ => slim_output(child),
                }
            }
            // After the variants have lost their descriptions.
            collapse_consts(object);
        }
        Value::Array(items) => items.iter_mut().for_each(slim_output),
        _ => {}
    }
}

fn generate<T: JsonSchema>(mut settings: SchemaSettings) -> Arc<JsonObject> {
    // Inline nested types: `$defs` + `$ref` cost more bytes than they save for these small schemas.
    settings.inline_subschemas = true;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value =
        serde_json::to_value(schema).unwrap_or_else(|_| Value::Object(JsonObject::new()));
    if let Value::Object(root) = &mut value {
        root.remove("$schema");
        root.remove("description");
    }
    compact(&mut value);
    match value {
        Value::Object(mut object) => {
            if object.get("type").is_none() {
                object.insert("type".into(), Value::String("object".into()));
            }
            Arc::new(object)
        }
        _ => Arc::new(JsonObject::new()),
    }
}

/// Remove noise from a schema object and its sub-schemas. `properties` and `$defs` are maps of
/// names to schemas, so their keys are never treated as keywords.
fn compact(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("title");
            if object.get("default") == Some(&Value::Null) {
                object.remove("default");
            }
            if let Some(Value::String(format)) = object.get("format")
                && NUMBER_FORMATS.contains(&format.as_str())
            {
                object.remove("format");
            }
            for (key, child) in object.iter_mut() {
                match key.as_str() {
                    "properties" | "$defs" | "definitions" | "patternProperties" => {
                        if let Value::Object(map) = child {
                            map.values_mut().for_each(compact);
                        }
                    }
                    _ => compact(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(compact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        /// A count.
        count: u64,
        /// Optional title.
        #[serde(default)]
        title: Option<String>,
    }

    #[test]
    fn compacts_noise_but_keeps_property_names_and_docs() {
        let schema = input_schema::<Sample>();
        let text = serde_json::to_string(&*schema).unwrap();
        assert!(!text.contains("$schema"), "{text}");
        assert!(!text.contains("uint64"), "{text}");
        assert!(!text.contains("\"default\":null"), "{text}");
        assert_eq!(schema["type"], "object");
        assert!(schema["properties"].get("title").is_some(), "{text}");
        assert_eq!(schema["properties"]["count"]["description"], "A count.");
    }

    #[derive(JsonSchema, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        /// A path.
        path: String,
    }

    #[derive(JsonSchema, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}

    #[test]
    fn additional_properties_is_kept_only_for_a_tool_without_parameters() {
        let strict = serde_json::to_string(&*input_schema::<Strict>()).unwrap();
        assert!(!strict.contains("additionalProperties"), "{strict}");
        let nothing = input_schema::<Nothing>();
        assert_eq!(nothing["additionalProperties"], false);
        assert!(nothing.get("properties").is_none());
    }

    #[allow(dead_code)]
    #[derive(JsonSchema, serde::Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Limit {
        /// Memory.
        Memory,
        /// CPU time.
        Cpu,
    }

    #[derive(JsonSchema, serde::Serialize)]
    struct Result {
        limit_hit: Option<Limit>,
        note: Option<String>,
    }

    #[test]
    fn optional_enums_become_one_typed_enum_without_null() {
        let schema = output_schema::<Result>();
        assert_eq!(
            schema["properties"]["limit_hit"],
            serde_json::json!({"enum": ["memory", "cpu"], "type": "string"})
        );
        assert_eq!(
            schema["properties"]["note"],
            serde_json::json!({"type": "string"})
        );
    }

    #[test]
    fn hints_equal_to_the_mcp_defaults_are_left_out() {
        let read_only = annotations("read_file", "Read file", Annotations::READ_ONLY);
        assert_eq!(
            serde_json::to_value(&read_only).unwrap(),
            serde_json::json!({"readOnlyHint": true, "openWorldHint": false})
        );
        // Destructive, not idempotent, open world: every hint is the default.
        let remote = Annotations {
            read_only: false,
            destructive: true,
            idempotent: false,
            open_world: true,
        };
        let value = serde_json::to_value(annotations("run_remote_command", "Run command", remote));
        assert_eq!(value.unwrap(), serde_json::json!({"title": "Run command"}));
        let additive = Annotations {
            read_only: false,
            destructive: false,
            idempotent: true,
            open_world: false,
        };
        let value = serde_json::to_value(annotations("upload_file", "Upload file", additive));
        assert_eq!(
            value.unwrap(),
            serde_json::json!({"destructiveHint": false, "idempotentHint": true, "openWorldHint": false})
        );
    }
}
