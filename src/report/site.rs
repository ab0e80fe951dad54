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
    lines.push(format!("Ran Puppet successfully: {}", listed(&outcome.ran)));
    if let SiteStatus::Unreachable { .. } = outcome.status {
        lines.extend(state_unknown(outcome, what));
    } else {
        lines.extend(left_disabled(outcome, what));
    }
    lines
}

/// After a failure or a stop: every node is left disabled.
fn left_disabled(outcome: &SiteOutcome, what: &str) -> [String; 2] {
    [
        format!("Did not run: {}", listed(&outcome.not_run)),
        format!(
            "Puppet is left disabled on all {} (\"Disabled during {what} ...\"), as the site may be half deployed: check the nodes, then enable Puppet on them (`orchestrate rpc puppet enable -I NODE`, or `puppet agent --enable` on each)",
            nodes(outcome.nodes.len()),
        ),
    ]
}

/// With the broker out of reach: the batch under way may still be running, enabled, and
/// nobody can tell.
fn state_unknown(outcome: &SiteOutcome, what: &str) -> [String; 2] {
    [
        format!(
            "Did not run, or not known to have run: {}",
            listed(&outcome.not_run)
        ),
        format!(
            "Puppet may be left disabled on the {} (\"Disabled during {what} ...\"), and enabled on those of the batch that was under way: once the broker is back, check them (`orchestrate rpc puppet status`), then enable Puppet on them (`orchestrate rpc puppet enable -I NODE`, or `puppet agent --enable` on each)",
            nodes(outcome.nodes.len()),
        ),
    ]
}

/// `dev1, dev2`, or `none`.
fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable(changed: bool) -> SiteOutcome {
        SiteOutcome {
            status: SiteStatus::Unreachable {
                reason: "the broker at nats://b1:4222 is unreachable (no connection for 5s)".into(),
                changed,
            },
            ran: vec!["dev1".into()],
            failures: vec![],
            not_run: vec!["dev2".into()],
            nodes: vec!["dev1".into(), "dev2".into()],
            seconds: 1.0,
        }
    }

    #[test]
    fn a_lost_broker_claims_nothing_it_cannot_know() {
        let lines = outcome_lines(&unreachable(true), "the site run of production");
        assert_eq!(
            lines[0],
            "The site run of production stopped: the broker at nats://b1:4222 is unreachable (no connection for 5s)."
        );
        assert_eq!(lines[1], "Ran Puppet successfully: dev1");
        assert_eq!(lines[2], "Did not run, or not known to have run: dev2");
        assert!(lines[3].starts_with("Puppet may be left disabled on the 2 nodes"));
        assert_eq!(lines.len(), 4);
        let untouched = outcome_lines(&unreachable(false), "the site run of production");
        assert_eq!(untouched[1], "Nothing was changed.");
        assert_eq!(untouched.len(), 2);
    }
}
