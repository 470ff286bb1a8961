//! Issue 6, finding 4: globs given to `search_files` and `list_directory` made globset panic
//! ("regex compilation shouldn't fail"), losing the request. They are now bounded before they are
//! compiled (`skippy_core::patterns`) and refused with `invalid_argument`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use skippy_core::config::Config;
use skippy_core::{Tool, ToolCtx};
use skippy_files::{ListDirectory, SearchFiles};

fn ctx(dir: &std::path::Path) -> ToolCtx {
    ToolCtx::for_tests(Config::defaults_for(dir).unwrap())
}

fn deep_braces() -> String {
    format!("{}a{}", "{".repeat(300), "}".repeat(300))
}

async fn search(dir: &std::path::Path, params: serde_json::Value) -> Result<String, String> {
    let params = serde_json::from_value(params).unwrap();
    SearchFiles
        .run(ctx(dir), params)
        .await
        .map(|out| serde_json::to_string(&out).unwrap())
        .map_err(|error| format!("{}: {error}", error.code()))
}

async fn list(dir: &std::path::Path, params: serde_json::Value) -> Result<String, String> {
    let params = serde_json::from_value(params).unwrap();
    ListDirectory
        .run(ctx(dir), params)
        .await
        .map(|out| serde_json::to_string(&out).unwrap())
        .map_err(|error| format!("{}: {error}", error.code()))
}

#[tokio::test]
async fn finding_04_search_files_glob_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), "x\n").unwrap();
    for glob in [deep_braces(), "*".repeat(100_000), "*".repeat(1000)] {
        let error = search(dir.path(), json!({"path": ".", "name_glob": glob}))
            .await
            .unwrap_err();
        assert!(
            error.starts_with("invalid_argument: `name_glob`"),
            "{error}"
        );
    }
    let found = search(dir.path(), json!({"path": ".", "name_glob": "{a,b}"}))
        .await
        .unwrap();
    assert!(found.contains("\"a\""), "{found}");
}

#[tokio::test]
async fn finding_04_list_directory_glob_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.log"), "x\n").unwrap();
    for glob in [deep_braces(), "*".repeat(100_000)] {
        let error = list(dir.path(), json!({"path": ".", "pattern": glob}))
            .await
            .unwrap_err();
        assert!(error.starts_with("invalid_argument: `pattern`"), "{error}");
    }
    let listed = list(dir.path(), json!({"path": ".", "pattern": "*.log"}))
        .await
        .unwrap();
    assert!(listed.contains("a.log"), "{listed}");
}

#[tokio::test]
async fn finding_04_search_files_regex_bombs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for query in ["a{1000}{1000}", &"(".repeat(300), &"x".repeat(10_000)] {
        let error = search(dir.path(), json!({"path": ".", "query": query}))
            .await
            .unwrap_err();
        assert!(error.starts_with("invalid_argument: `query`"), "{error}");
    }
}
