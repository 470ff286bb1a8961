//! The fuzz loop shared by every target.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// How long each target runs: `SKIPPY_FUZZ_SECS`, default 5 seconds.
pub fn budget() -> Duration {
    let secs = std::env::var("SKIPPY_FUZZ_SECS")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// Feed values drawn from `strategy` to `target` until the time budget is spent. Fails the test
/// (with the seed and the input) when `target` panics or one input takes longer than `per_input`.
pub fn fuzz<S, F>(name: &str, strategy: S, per_input: Duration, mut target: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: FnMut(&S::Value),
{
    let seed: u64 = std::env::var("SKIPPY_FUZZ_SEED")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let deadline = Instant::now() + budget();
    let mut inputs = 0u64;
    while Instant::now() < deadline {
        let tree = strategy
            .new_tree(&mut runner)
            .unwrap_or_else(|reason| panic!("{name}: could not generate an input: {reason}"));
        let value = tree.current();
        let started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(&value)));
        let took = started.elapsed();
        if let Err(cause) = outcome {
            let message = cause
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| cause.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{name}: panicked on input {value:?} (SKIPPY_FUZZ_SEED={seed}, after {inputs} inputs): {message}"
            );
        }
        assert!(
            took <= per_input,
            "{name}: input {value:?} took {took:?}, over {per_input:?} (SKIPPY_FUZZ_SEED={seed})"
        );
        inputs += 1;
    }
    eprintln!(
        "{name}: {inputs} inputs in {:?}, no failure (seed {seed})",
        budget()
    );
}
