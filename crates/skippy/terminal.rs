//! Approvals for `skippy call`: the person at the terminal is asked on stderr and answers on stdin.
//!
//! `skippy call` is the operator's own command, but an agent with a shell can run it too, so it
//! fails closed like the server: without a terminal to ask on, a call that needs approval is
//! refused, unless the command line says `--yes` (the operator approving in advance, as in a
//! script they wrote). The audit line records `approved` either way.

use std::io::{BufRead, IsTerminal, Write};

use skippy_core::approval::{Answer, AnswerFuture, ApprovalRequest, Approver};

pub struct TerminalApprover {
    /// `--yes`: every call is approved without a question.
    pub approved_in_advance: bool,
}

impl TerminalApprover {
    fn interactive() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }
}

impl Approver for TerminalApprover {
    fn unavailable(&self) -> Option<String> {
        if self.approved_in_advance || Self::interactive() {
            return None;
        }
        Some(
            "`skippy call` has no terminal to ask on (stdin or stderr is not a terminal); run it from \
             a terminal, or add --yes to approve the call yourself"
                .to_string(),
        )
    }

    fn ask<'a>(&'a self, request: &'a ApprovalRequest) -> AnswerFuture<'a> {
        Box::pin(async move {
            if self.approved_in_advance {
                tracing::info!(tool = request.tool, "approved in advance with --yes");
                return Answer::Approved;
            }
            let message = request.message();
            // A blocking read on the blocking pool; Ctrl-C cancels the call (the adapter stops
            // waiting) and the process exits without joining this thread.
            let read = tokio::task::spawn_blocking(move || -> std::io::Result<Option<String>> {
                let mut err = std::io::stderr().lock();
                write!(err, "{message}\n\nRun it? [y/N] ")?;
                err.flush()?;
                let mut line = String::new();
                let read = std::io::stdin().lock().read_line(&mut line)?;
                Ok((read > 0).then_some(line))
            });
            match read.await {
                Ok(Ok(Some(line))) => {
                    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                        Answer::Approved
                    } else {
                        Answer::Declined
                    }
                }
                Ok(Ok(None)) => Answer::Cancelled {
                    reason: "end of input on the terminal".to_string(),
                },
                Ok(Err(error)) => Answer::Cancelled {
                    reason: format!("the terminal could not be read: {error}"),
                },
                Err(error) => Answer::Cancelled {
                    reason: format!("the question could not be asked: {error}"),
                },
            }
        })
    }
}
