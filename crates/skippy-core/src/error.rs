//! The one error type every tool returns.
//!
//! Each variant maps to a stable, documented `code` string that clients can match on; the message is
//! written for the model and says what to do next. Internal details (OS error chains, library
//! messages that could leak paths outside the roots) belong in the log, not in the message.

use std::io;
use std::path::Path;

/// A tool failure. `code()` is part of the public contract: never rename a code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// The arguments are malformed or contradict each other.
    #[error("{0}")]
    InvalidArgument(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The target already exists and the call asked not to replace it.
    #[error("{0}")]
    AlreadyExists(String),
    /// Skippy's policy (roots, allowlists, read-only mode, disabled tools) refuses the call.
    #[error("{0}")]
    PolicyDenied(String),
    /// The operating system refused access.
    #[error("{0}")]
    PermissionDenied(String),
    /// A facility the tool needs is missing on this machine (no systemd, no binary, ...).
    #[error("{0}")]
    Unavailable(String),
    /// The call ran past its time limit and was stopped.
    #[error("{0}")]
    Timeout(String),
    /// The client cancelled the call.
    #[error("the call was cancelled by the client")]
    Cancelled,
    /// An external command ran and failed.
    #[error("{0}")]
    CommandFailed(String),
    /// The result would exceed the operator's output ceiling even after paging.
    #[error("{0}")]
    OutputTooLarge(String),
    /// An I/O failure not covered by a more specific code.
    #[error("{0}")]
    Io(String),
    /// A bug in Skippy. The message is generic; details are in the server log.
    #[error("{0}")]
    Internal(String),
}

impl ToolError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ToolError::InvalidArgument(_) => "invalid_argument",
            ToolError::NotFound(_) => "not_found",
            ToolError::AlreadyExists(_) => "already_exists",
            ToolError::PolicyDenied(_) => "policy_denied",
            ToolError::PermissionDenied(_) => "permission_denied",
            ToolError::Unavailable(_) => "unavailable",
            ToolError::Timeout(_) => "timeout",
            ToolError::Cancelled => "cancelled",
            ToolError::CommandFailed(_) => "command_failed",
            ToolError::OutputTooLarge(_) => "output_too_large",
            ToolError::Io(_) => "io",
            ToolError::Internal(_) => "internal",
        }
    }

    /// Every code, for documentation and tests.
    pub const CODES: &'static [&'static str] = &[
        "invalid_argument",
        "not_found",
        "already_exists",
        "policy_denied",
        "permission_denied",
        "unavailable",
        "timeout",
        "cancelled",
        "command_failed",
        "output_too_large",
        "io",
        "internal",
    ];

    pub fn invalid(message: impl Into<String>) -> Self {
        ToolError::InvalidArgument(message.into())
    }

    pub fn denied(message: impl Into<String>) -> Self {
        ToolError::PolicyDenied(message.into())
    }

    /// An internal error: the detail goes to the log, the model gets a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ToolError::Internal(
            "internal error in Skippy (details are in the server log); retry, or report it if it persists"
                .to_string(),
        )
    }

    /// Map an I/O error on `path` to the most specific code, with a message that names the path.
    pub fn io(path: &Path, error: &io::Error) -> Self {
        let shown = path.display();
        match error.kind() {
            io::ErrorKind::NotFound => ToolError::NotFound(format!(
                "`{shown}` does not exist; check the path (list_directory shows what is there)"
            )),
            io::ErrorKind::AlreadyExists => ToolError::AlreadyExists(format!(
                "`{shown}` already exists; use mode \"overwrite\" to replace it"
            )),
            io::ErrorKind::PermissionDenied => ToolError::PermissionDenied(format!(
                "the operating system denied access to `{shown}`; Skippy runs as a user without that permission"
            )),
            io::ErrorKind::IsADirectory => {
                ToolError::InvalidArgument(format!("`{shown}` is a directory, not a file"))
            }
            io::ErrorKind::NotADirectory => {
                ToolError::InvalidArgument(format!("`{shown}` is not a directory"))
            }
            _ if error.raw_os_error() == Some(nix::libc::ELOOP) => ToolError::PolicyDenied(
                format!("`{shown}` is a symbolic link, which Skippy does not follow when writing"),
            ),
            _ => ToolError::Io(format!("I/O error on `{shown}`: {error}")),
        }
    }
}

/// Shorthand used by every tool.
pub type ToolResult<T> = Result<T, ToolError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_code() {
        let samples = [
            ToolError::invalid("x"),
            ToolError::NotFound("x".into()),
            ToolError::AlreadyExists("x".into()),
            ToolError::denied("x"),
            ToolError::PermissionDenied("x".into()),
            ToolError::Unavailable("x".into()),
            ToolError::Timeout("x".into()),
            ToolError::Cancelled,
            ToolError::CommandFailed("x".into()),
            ToolError::OutputTooLarge("x".into()),
            ToolError::Io("x".into()),
            ToolError::Internal("x".into()),
        ];
        for error in &samples {
            assert!(ToolError::CODES.contains(&error.code()), "{}", error.code());
        }
        assert_eq!(samples.len(), ToolError::CODES.len());
    }

    #[test]
    fn io_errors_map_to_specific_codes() {
        let path = Path::new("/x");
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert_eq!(ToolError::io(path, &missing).code(), "not_found");
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(ToolError::io(path, &denied).code(), "permission_denied");
        let looped = io::Error::from_raw_os_error(nix::libc::ELOOP);
        assert_eq!(ToolError::io(path, &looped).code(), "policy_denied");
    }
}
