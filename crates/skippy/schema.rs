//! JSON schemas for tool parameters and results, generated from the Rust types by schemars and then
//! compacted: `tools/list` is read by the model on every session, so noise costs context.
//!
//! Compaction removes `$schema`, every `title`, `"default": null`, and schemars' non-standard
//! integer/float `format` values (`uint`, `int64`, `double`, ... which validators warn about).

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// Non-standard `format` values that schemars emits for numbers.
const NUMBER_FORMATS: &[&str] = &[
    "uint", "uint8", "uint16", "uint32", "uint64", "uint128", "int", "int8", "int16", "int32",
    "int64", "int128", "float", "double",
];

/// Schema of what a type accepts (tool parameters). Beyond the common compaction: `minimum: 0` (every
/// count is unsigned) and defaults equal to the zero value (`false`, `0`) are dropped, and an optional
/// parameter is typed as its plain type (leaving it out is how it is omitted).
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12());
    let mut value = Value::Object(std::mem::take(Arc::make_mut(&mut schema)));
    slim_input(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(JsonObject::new()),
    }
}

/// `"type": ["integer", "null"]` -> `"type": "integer"`.
fn drop_null_type(object: &mut JsonObject) {
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            object.insert("type".into(), single);
        }
    }
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
    drop_null_type(object);
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
}
