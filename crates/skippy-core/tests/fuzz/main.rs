//! Time-bounded fuzzing of the parsers that read model input: the shell-command allowlist, globs,
//! regular expressions and paths.
//!
//! Each target is an `#[ignore]`d test so the normal suite stays fast; `.ci/run` runs them with
//! `cargo test -p skippy-core --test fuzz -- --ignored`, each for `SKIPPY_FUZZ_SECS` seconds
//! (default 5). Inputs come from proptest strategies (random structure near the grammar's edges);
//! a target fails on a panic, or on an input that takes longer than its per-input budget. The seed
//! of a failing run is printed so that it can be replayed with `SKIPPY_FUZZ_SEED`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commands;
mod harness;
mod paths;
mod patterns;
