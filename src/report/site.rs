//! What a site run tells its operator besides its progress (progress.rs): what it did, what
//! state it leaves the nodes in and what to do next, and what a stop does as it comes.

use super::{nodes, Progress};
use crate::rpc::NodeFailure;
use crate::stop::Stop;

/// How a site run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOutcome {
    pub status: SiteStatus,
    /// The nodes whose Puppet run succeeded, in the order they ran.
    pub ran: Vec<String>,
    /// The nodes whose run failed or could not be checked, with why.
    pub failures: Vec<NodeFailure>,
    /// Nodes that did not run.
    pub not_run: Vec<String>,
    /// Every node of the site; all enabled again on success, all left disabled otherwise
    /// (unless the run stopped before disabling any).
    pub nodes: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SiteStatus {
    Succeeded,
    /// Refused before touching any node (a node was disabled already, or did not answer).
    Refused {
        reason: String,
    },
    /// Failed after disabling the nodes; they stay disabled.
    Failed {
        reason: String,
    },
    Interrupted,
    /// Stopped because the broker is out of reach (`reason` says where): what the nodes do
    /// now is unknown. `changed`: disabling them had begun.
    Unreachable {
        reason: String,
        changed: bool,
    },
}

impl SiteOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == SiteStatus::Succeeded
    }
}

/// What the operator reads at the end: the outcome, what was done, what state the nodes are
/// left in, and what to do next.
pub fn outcome_lines(outcome: &SiteOutcome, what: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut chars = what.chars();
    let title = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    match &outcome.status {
        SiteStatus::Succeeded => {
            lines.push(format!(
                "{title} succeeded: {} ran Puppet in {:.2} seconds; Puppet is enabled on all of them again",
                nodes(outcome.ran.len()),
                outcome.seconds
            ));
            return lines;
        }
        SiteStatus::Refused { reason } => {
            lines.push(format!("{title} did not start: {reason}"));
            return lines;
        }
        SiteStatus::Failed { reason } => {
            lines.push(format!("{title} failed: could not {reason}:"));
            for failure in &outcome.failures {
                lines.push(format!("    {}: {}", failure.identity, failure.message));
            }
        }
        SiteStatus::Interrupted => lines.push(format!("{title} was interrupted (Ctrl-C).")),
        SiteStatus::Unreachable { reason, changed } => {
            lines.push(format!("{title} stopped: {reason}."));
            if !changed {
                lines.push("Nothing was changed.".to_string());
                return lines;
            }
        }
    }
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    lines.push(format!("Ran Puppet successfully: {}", list(&outcome.ran)));
    lines.push(format!("Did not run: {}", list(&outcome.not_run)));
    if let SiteStatus::Unreachable { .. } = outcome.status {
        lines.push(format!(
            "Puppet may be left disabled on the {} (\"Disabled during {what} ...\"), and enabled on those of the batch that was under way: once the broker is back, check them (`orchestrate rpc puppet status`), then enable Puppet on them (`orchestrate rpc puppet enable -I NODE`, or `puppet agent --enable` on each)",
            nodes(outcome.nodes.len()),
        ));
        return lines;
    }
    lines.push(format!(
        "Puppet is left disabled on all {} (\"Disabled during {what} ...\"), as the site may be half deployed: check the nodes, then enable Puppet on them (`orchestrate rpc puppet enable -I NODE`, or `puppet agent --enable` on each)",
        nodes(outcome.nodes.len()),
    ));
    lines
}

/// Tells the operator of a site run what a stop does, as it comes: the first signal lets the
/// batch under way finish, the second gives up the safe point. Returns once the stop is forced
/// (never, if it is not), having said so; the run is to be dropped then.
pub async fn until_forced(stop: &Stop, progress: &Progress) {
    stop.requested().await;
    progress.line(
        "Interrupted: the batch under way finishes, then the run stops with every node disabled (Ctrl-C again to stop at once)",
    );
    // A run can wait minutes for a batch; a second Ctrl-C is the way out, at the cost of the
    // safe point: the batch under way may be left enabled.
    stop.forced().await;
    progress.line(
        "Stopped at once: Puppet is left disabled on the site's nodes, except perhaps those of the batch that was running; check them",
    );
}
