//! Numeric limits are clamped to their ceiling, not refused.
//!
//! A model that asks for more than a tool allows (`max_results: 100000`) gets the ceiling's worth
//! and is told so, rather than a failed round trip it has to read, fix and repeat. A value that
//! means nothing (no results at all, a CPU sample shorter than the clock can measure) is still an
//! `invalid_argument` error: clamping it upwards would quietly answer a different question.
//!
//! Every tool reports a clamp the same way: its output gets `<param>_clamped_to` (for example
//! `max_results_clamped_to: 10000`, or `limit_clamped_to` for a parameter called `limit`),
//! omitted when nothing was clamped; and `truncated` is set as usual when results were left out,
//! which includes results cut at the ceiling. A parameter's doc comment states its ceiling as
//! "max N (larger is clamped)".

use std::fmt::Display;

use crate::error::{ToolError, ToolResult};

/// A limit after clamping: the value to use, and the ceiling when the request was above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamped<T> {
    pub value: T,
    /// The ceiling, when the requested value was larger (for the output's `<param>_clamped_to`).
    pub clamped_to: Option<T>,
}

/// A count of results or lines: `default` when absent, at least 1, at most `ceiling`.
pub fn limit<T>(name: &str, value: Option<T>, default: T, ceiling: T) -> ToolResult<Clamped<T>>
where
    T: Copy + Ord + Display + From<u8>,
{
    range(name, value, default, T::from(1), ceiling)
}

/// A number in `floor..=ceiling`: `default` when absent; below `floor` is an error (the value is
/// meaningless, such as zero results), above `ceiling` is clamped to it.
pub fn range<T>(
    name: &str,
    value: Option<T>,
    default: T,
    floor: T,
    ceiling: T,
) -> ToolResult<Clamped<T>>
where
    T: Copy + Ord + Display,
{
    let wanted = value.unwrap_or(default);
    if wanted < floor {
        return Err(ToolError::invalid(format!(
            "`{name}` must be at least {floor} (got {wanted}); omit it for the default, {default}"
        )));
    }
    if wanted > ceiling {
        return Ok(Clamped {
            value: ceiling,
            clamped_to: Some(ceiling),
        });
    }
    Ok(Clamped {
        value: wanted,
        clamped_to: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defect_limits_are_clamped_not_refused() {
        let clamped = limit("max_results", Some(100_000u32), 200, 10_000).unwrap();
        assert_eq!(
            clamped,
            Clamped {
                value: 10_000,
                clamped_to: Some(10_000)
            }
        );
        let clamped = limit("max_matches", Some(u64::MAX), 200, 5_000).unwrap();
        assert_eq!((clamped.value, clamped.clamped_to), (5_000, Some(5_000)));

        // At or below the ceiling, and the default: used as they are, nothing reported.
        for (value, expected) in [(Some(10_000u32), 10_000), (Some(1), 1), (None, 200)] {
            let clamped = limit("max_results", value, 200, 10_000).unwrap();
            assert_eq!((clamped.value, clamped.clamped_to), (expected, None));
        }

        // Zero asks for nothing: still an error, naming the parameter and the default.
        let error = limit("max_results", Some(0u32), 200, 10_000).unwrap_err();
        assert_eq!(error.code(), "invalid_argument");
        let message = error.to_string();
        assert!(
            message.contains("`max_results` must be at least 1"),
            "{message}"
        );
        assert!(message.contains("default, 200"), "{message}");

        // A floor other than 1 (a sample too short to measure) is kept; the ceiling clamps.
        assert_eq!(
            range("sample_ms", Some(49u64), 200, 50, 5_000)
                .unwrap_err()
                .code(),
            "invalid_argument"
        );
        let clamped = range("sample_ms", Some(60_000u64), 200, 50, 5_000).unwrap();
        assert_eq!((clamped.value, clamped.clamped_to), (5_000, Some(5_000)));
        // Zero allowed (context lines): never an error.
        let clamped = range("context_lines", Some(0u32), 0, 0, 10).unwrap();
        assert_eq!((clamped.value, clamped.clamped_to), (0, None));
    }
}
