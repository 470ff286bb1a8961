//! Approvals: which calls need a person's yes before they run, and the words they are asked with.
//!
//! The operator decides (`server.approvals`, `server.approval_overrides`), whatever the client does
//! with the tools' annotations. The binary's adapter asks, through an [`Approver`] (MCP elicitation
//! when serving, the terminal for `skippy call`), before the tool runs; tools only describe what a
//! call will do, through [`crate::Tool::plan`]. Every way of not getting a clear yes refuses the
//! call: approvals fail closed.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::tool::Annotations;

/// How long the adapter waits for a person's answer. It does not count against the tool's own time
/// limit, which starts once the call is approved.
pub const APPROVAL_WAIT: Duration = Duration::from_secs(300);

/// Longest plan shown in a prompt, in bytes; a longer one is cut and says so.
pub const MAX_PLAN_BYTES: usize = 16 * 1024;

/// `server.approvals`: which calls need approval.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalMode {
    /// No call is asked about (unless `approval_overrides` says `always`).
    #[default]
    Off,
    /// Tools annotated destructive (they may overwrite, delete or run anything).
    Destructive,
    /// Every tool that is not read-only.
    AllMutating,
}

impl ApprovalMode {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalMode::Off => "off",
            ApprovalMode::Destructive => "destructive",
            ApprovalMode::AllMutating => "all-mutating",
        }
    }

    /// Parse the value of `SKIPPY_APPROVALS`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "off" => Some(ApprovalMode::Off),
            "destructive" => Some(ApprovalMode::Destructive),
            "all-mutating" => Some(ApprovalMode::AllMutating),
            _ => None,
        }
    }
}

/// `server.approval_overrides.<tool>`: a per-tool exception to the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOverride {
    /// Ask before every call of this tool, whatever the mode.
    Always,
    /// Never ask for this tool, whatever the mode.
    Never,
}

/// Whether a call of a tool with these annotations needs approval. The override wins over the mode.
pub fn needs_approval(
    mode: ApprovalMode,
    override_: Option<ApprovalOverride>,
    annotations: Annotations,
) -> bool {
    match override_ {
        Some(ApprovalOverride::Always) => return true,
        Some(ApprovalOverride::Never) => return false,
        None => {}
    }
    match mode {
        ApprovalMode::Off => false,
        ApprovalMode::Destructive => annotations.destructive && !annotations.read_only,
        ApprovalMode::AllMutating => !annotations.read_only,
    }
}

/// What a call will do, as a tool describes it for the approval prompt ([`crate::Tool::plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The tool has no description of its own: the prompt shows the call's arguments, secrets
    /// masked.
    Arguments,
    /// In the tool's own words: a diff, a host and a command, a transfer.
    Text(String),
    /// This call changes nothing (a dry run): it runs without asking.
    NoChange,
}

/// The outcome of asking, as written in the audit line (`approval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalDecision {
    Approved,
    Declined,
    Cancelled,
    /// Nobody could be asked: the client lacks elicitation, or `skippy call` has no terminal.
    Unsupported,
}

impl ApprovalDecision {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalDecision::Approved => "approved",
            ApprovalDecision::Declined => "declined",
            ApprovalDecision::Cancelled => "cancelled",
            ApprovalDecision::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ApprovalDecision {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// One question to a person.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub tool: &'static str,
    pub title: &'static str,
    /// What will happen, secrets masked, at most [`MAX_PLAN_BYTES`].
    pub plan: String,
    /// Why this call is asked about: the setting in force (`server.approvals = "destructive"`).
    pub reason: String,
    /// How long to wait for the answer.
    pub wait: Duration,
}

impl ApprovalRequest {
    /// The whole text shown to the person.
    pub fn message(&self) -> String {
        format!(
            "Skippy asks before running `{}` ({}):\n\n{}\n\nNothing happens unless you accept. (Asked because {}.)",
            self.tool, self.title, self.plan, self.reason
        )
    }
}

/// The person's answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Approved,
    Declined,
    /// Dismissed, timed out, or the connection failed while waiting; `reason` says which.
    Cancelled {
        reason: String,
    },
    /// Nobody can be asked; `reason` says why and what to change.
    Unsupported {
        reason: String,
    },
}

impl Answer {
    pub fn decision(&self) -> ApprovalDecision {
        match self {
            Answer::Approved => ApprovalDecision::Approved,
            Answer::Declined => ApprovalDecision::Declined,
            Answer::Cancelled { .. } => ApprovalDecision::Cancelled,
            Answer::Unsupported { .. } => ApprovalDecision::Unsupported,
        }
    }
}

/// The future an [`Approver`] returns.
pub type AnswerFuture<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

/// Asks a person. The MCP server implements it over elicitation; `skippy call` on the terminal.
pub trait Approver: Send + Sync {
    /// Why nobody can be asked, when that is known before asking; the adapter then refuses the call
    /// without preparing a plan (no dry run, no connection to a host).
    fn unavailable(&self) -> Option<String> {
        None
    }

    fn ask<'a>(&'a self, request: &'a ApprovalRequest) -> AnswerFuture<'a>;
}

/// The approver of a caller that has nobody to ask: every call that needs approval is refused.
pub struct NoApprover {
    /// Why, and what to do instead.
    pub reason: String,
}

impl Approver for NoApprover {
    fn unavailable(&self) -> Option<String> {
        Some(self.reason.clone())
    }

    fn ask<'a>(&'a self, _request: &'a ApprovalRequest) -> AnswerFuture<'a> {
        Box::pin(async move {
            Answer::Unsupported {
                reason: self.reason.clone(),
            }
        })
    }
}

/// Cut a plan to [`MAX_PLAN_BYTES`] on a character boundary, saying how much was left out.
pub fn cap_plan(plan: String) -> String {
    if plan.len() <= MAX_PLAN_BYTES {
        return plan;
    }
    let kept = crate::limits::truncate_utf8(&plan, MAX_PLAN_BYTES);
    format!(
        "{kept}\n… ({} more bytes not shown)",
        plan.len() - kept.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESTRUCTIVE: Annotations = Annotations {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    const MUTATING: Annotations = Annotations {
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    };

    #[test]
    fn approvals_follow_the_mode_and_the_annotations() {
        use ApprovalMode::*;
        let read_only = Annotations::READ_ONLY;
        let cases = [
            (Off, DESTRUCTIVE, false),
            (Off, MUTATING, false),
            (Destructive, DESTRUCTIVE, true),
            (Destructive, MUTATING, false),
            (Destructive, read_only, false),
            (AllMutating, DESTRUCTIVE, true),
            (AllMutating, MUTATING, true),
            (AllMutating, read_only, false),
        ];
        for (mode, annotations, expected) in cases {
            assert_eq!(
                needs_approval(mode, None, annotations),
                expected,
                "{mode:?} {annotations:?}"
            );
        }
    }

    #[test]
    fn approval_overrides_win_over_the_mode() {
        use ApprovalMode::*;
        for mode in [Off, Destructive, AllMutating] {
            for annotations in [DESTRUCTIVE, MUTATING, Annotations::READ_ONLY] {
                assert!(needs_approval(
                    mode,
                    Some(ApprovalOverride::Always),
                    annotations
                ));
                assert!(!needs_approval(
                    mode,
                    Some(ApprovalOverride::Never),
                    annotations
                ));
            }
        }
    }

    #[test]
    fn approval_modes_parse_as_documented() {
        assert_eq!(ApprovalMode::parse("off"), Some(ApprovalMode::Off));
        assert_eq!(
            ApprovalMode::parse(" destructive "),
            Some(ApprovalMode::Destructive)
        );
        assert_eq!(
            ApprovalMode::parse("all-mutating"),
            Some(ApprovalMode::AllMutating)
        );
        assert_eq!(ApprovalMode::parse("yes"), None);
        for mode in [
            ApprovalMode::Off,
            ApprovalMode::Destructive,
            ApprovalMode::AllMutating,
        ] {
            assert_eq!(ApprovalMode::parse(mode.name()), Some(mode));
        }
    }

    #[test]
    fn a_long_plan_is_cut_and_says_so() {
        let plan = "é".repeat(MAX_PLAN_BYTES);
        let capped = cap_plan(plan);
        assert!(capped.len() < MAX_PLAN_BYTES + 64);
        assert!(capped.ends_with("more bytes not shown)"), "{capped}");
        assert_eq!(cap_plan("short".into()), "short");
    }
}
