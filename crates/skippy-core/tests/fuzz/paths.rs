//! Fuzz target `paths`: path strings given by the model, through `PathPolicy::check`.
//!
//! The root is a temporary directory holding a file, a subdirectory, a symbolic link out of the
//! root, a link loop and a dangling link. Inputs join components that stress resolution: `..`,
//! `.`, empty components (`//`), `~`, NUL, very long names, Unicode, the links, and the root
//! itself or `/` in front. The check must return, never panic, within the per-input budget, and
//! every path it accepts must lie under the root.

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use skippy_core::{Access, PathPolicy};

use crate::harness;

const COMPONENTS: &[&str] = &[
    "..", ".", "", "sub", "file", "out", "loop", "dangling", "missing", "~", "~root", "\0", " ",
    "\\", "a b", "é", "..\0", "...", "sub/..", "file/..", "out/..", "/", "//",
];

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(COMPONENTS).prop_map(str::to_string),
        1 => "[a-z.]{1,8}",
        1 => (1usize..5000).prop_map(|length| "n".repeat(length)),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

/// A root with the usual traps in it.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("file"), "x").unwrap();
    std::fs::write(root.join("sub/file"), "x").unwrap();
    std::os::unix::fs::symlink("/", root.join("out")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    (dir, root)
}

#[test]
#[ignore = "fuzz target: run with --ignored (see main.rs)"]
fn paths() {
    let (_dir, root) = fixture();
    let policy = PathPolicy::new(vec![root.clone()], vec![root.clone()], "roots");
    let shown = root.to_string_lossy().into_owned();
    let prefix = prop_oneof![
        Just(String::new()),
        Just("/".to_string()),
        Just(format!("{shown}/")),
        Just(shown.clone()),
        Just("~/".to_string()),
    ];
    let input = (
        prefix,
        prop::collection::vec(component(), 0..16),
        any::<bool>(),
    );
    let mut accepted = 0u64;
    harness::fuzz(
        "paths",
        input,
        Duration::from_secs(2),
        |(prefix, components, write)| {
            let raw = format!("{prefix}{}", components.join("/"));
            let access = if *write { Access::Write } else { Access::Read };
            if let Ok(allowed) = policy.check(&raw, access) {
                accepted += 1;
                assert!(
                    allowed.as_path().starts_with(&root),
                    "{raw:?} was allowed as {}, outside the root {}",
                    allowed.as_path().display(),
                    root.display()
                );
            }
        },
    );
    // The inputs reach the accepting side too, not only the refusals.
    assert!(accepted > 0, "no input was accepted: the strategy is off");
}
