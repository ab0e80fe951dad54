//! The site run: Puppet on every node of the site, group by group, as seeds/001's logic flow
//! with REFERENCE.md section 5's improvements.
//!
//! 1. Every node must be enabled (else nothing is touched, and the disabled ones are named).
//! 2. Every node is disabled, with a message naming the caller and the time, so no scheduled
//!    or hand-started run interferes; then the run waits until none is applying.
//! 3. Per group, in batches of sorted certnames: enable, `runonce` (forced, fresh catalog),
//!    wait until the run is seen (applying, or `lastrun >= initiated_at`: a run that ended
//!    between two polls counts), wait until idle, disable, and fail on failed resources or a
//!    run without a resources section (a failed catalog).
//! 4. On success every node is enabled again. On failure or Ctrl-C every node stays disabled:
//!    the site is half deployed, and a scheduled run must not build on it before someone looks.

mod progress;
mod puppet;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use progress::{now, Progress};
pub use puppet::{verdict, PuppetAgents, PuppetFailure, PuppetStatus};

use crate::rpc::RpcClient;
use crate::run::step::NodeFailure;

use super::plan::plural;

/// How a site run goes.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// What the disable message and the output call the run: `the site run of production`.
    pub what: String,
    /// Who runs it, named in the disable message.
    pub caller: String,
    /// Nodes per batch within a group (all of the group at once without).
    pub batch: Option<usize>,
    /// Between two polls of `status`.
    pub poll_interval: Duration,
    /// The longest wait for a run to start, and again for it to end (and for the nodes to be
    /// idle at the start).
    pub run_timeout: Duration,
    /// How long each request waits for replies.
    pub request_timeout: Duration,
}

impl RunSettings {
    /// Choria's waits: a poll every 5 s, 40 polls.
    pub fn new(what: impl Into<String>, caller: impl Into<String>) -> RunSettings {
        RunSettings {
            what: what.into(),
            caller: caller.into(),
            batch: None,
            poll_interval: Duration::from_secs(5),
            run_timeout: Duration::from_secs(200),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Set (by Ctrl-C) to stop the run at the next safe point: before a batch starts.
#[derive(Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// An interrupt raised by Ctrl-C (while the runtime this is called on lives).
    pub fn on_ctrl_c(progress: Arc<Progress>) -> Interrupt {
        let interrupt = Interrupt::default();
        let raised = interrupt.clone();
        tokio::spawn(async move {
            let stop = crate::stop::Stop::on_signals();
            stop.requested().await;
            raised.raise();
            progress.line(
                "Interrupted: the batch under way finishes, then the run stops with every node disabled (Ctrl-C again to stop at once)",
            );
            // A run can wait minutes for a batch; a second Ctrl-C is the way out, at the cost
            // of the safe point: the batch under way may be left enabled.
            {
                stop.forced().await;
                progress.line(
                    "Stopped at once: Puppet is left disabled on the site's nodes, except perhaps those of the batch that was running; check them",
                );
                std::process::exit(130);
            }
        });
        interrupt
    }
}

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
}

impl SiteOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == SiteStatus::Succeeded
    }

    /// One line: what happened.
    pub fn summary(&self) -> String {
        let done = format!(
            "{} of {} node{} ran Puppet",
            self.ran.len(),
            self.nodes.len(),
            plural(self.nodes.len())
        );
        match &self.status {
            SiteStatus::Succeeded => format!("succeeded: {done}"),
            SiteStatus::Refused { reason } => format!("refused: {reason}"),
            SiteStatus::Failed { reason } => format!("failed: {reason}; {done}"),
            SiteStatus::Interrupted => format!("interrupted: {done}"),
        }
    }
}

/// Runs the site's `groups` (each sorted; in order) on the fleet.
pub async fn run_site(
    rpc: &RpcClient,
    groups: &[Vec<String>],
    settings: &RunSettings,
    progress: &Progress,
    interrupt: &Interrupt,
) -> SiteOutcome {
    let started = Instant::now();
    let mut all: Vec<String> = groups.iter().flatten().cloned().collect();
    all.sort();
    all.dedup();
    let mut run = SiteRunState {
        agents: PuppetAgents {
            rpc,
            timeout: settings.request_timeout,
        },
        settings,
        progress,
        ran: Vec::new(),
        all,
        disable_message: format!(
            "Disabled during {} started by {} at {}",
            settings.what,
            settings.caller,
            now()
        ),
    };
    let status = run.run(groups, interrupt).await;
    let failures = match &status {
        Err(Stop::Failed(failure)) => failure.failures.clone(),
        Err(Stop::Refused(_, disabled)) => disabled.clone(),
        _ => Vec::new(),
    };
    let status = match status {
        Ok(()) => SiteStatus::Succeeded,
        Err(Stop::Refused(reason, _)) => SiteStatus::Refused { reason },
        Err(Stop::Failed(failure)) => SiteStatus::Failed {
            reason: failure.doing.clone(),
        },
        Err(Stop::Interrupted) => SiteStatus::Interrupted,
    };
    let failed: Vec<&str> = failures.iter().map(|f| f.identity.as_str()).collect();
    // A refused run ran nowhere, the nodes in its way included.
    let failed = if matches!(status, SiteStatus::Refused { .. }) {
        Vec::new()
    } else {
        failed
    };
    let not_run = run
        .all
        .iter()
        .filter(|node| !run.ran.contains(node) && !failed.contains(&node.as_str()))
        .cloned()
        .collect();
    SiteOutcome {
        status,
        ran: run.ran,
        failures,
        not_run,
        nodes: run.all,
        seconds: started.elapsed().as_secs_f64(),
    }
}

enum Stop {
    /// Before anything was changed, with the nodes that were in the way.
    Refused(String, Vec<NodeFailure>),
    Failed(PuppetFailure),
    Interrupted,
}

struct SiteRunState<'a> {
    agents: PuppetAgents<'a>,
    settings: &'a RunSettings,
    progress: &'a Progress,
    ran: Vec<String>,
    all: Vec<String>,
    disable_message: String,
}

impl SiteRunState<'_> {
    async fn run(&mut self, groups: &[Vec<String>], interrupt: &Interrupt) -> Result<(), Stop> {
        let all = self.all.clone();
        let count = nodes(all.len());
        let settings = self.settings;
        self.progress
            .line(&format!("Checking that Puppet is enabled on {count}"));
        let disabled = self.agents.disabled(&all).await.map_err(|failure| {
            Stop::Refused(
                format!("{failure}\nNothing was changed."),
                failure.failures.clone(),
            )
        })?;
        if !disabled.is_empty() {
            let mut reason = format!(
                "Puppet is disabled on {} of the {count}; someone may be working on them:",
                disabled.len()
            );
            for node in &disabled {
                reason.push_str(&format!("\n    {}: {}", node.identity, node.message));
            }
            reason.push_str("\nNothing was changed.");
            return Err(Stop::Refused(reason, disabled));
        }
        self.progress.line(&format!(
            "Disabling Puppet on {count}: {}",
            self.disable_message
        ));
        self.agents
            .disable(&all, &self.disable_message, false)
            .await
            .map_err(Stop::Failed)?;
        self.progress
            .line(&format!("Waiting for {count} to become idle"));
        self.agents
            .wait_until(
                &all,
                "become idle",
                settings.poll_interval,
                settings.run_timeout,
                self.progress,
                |_, status| !status.applying,
            )
            .await
            .map_err(Stop::Failed)?;

        for (index, group) in groups.iter().enumerate() {
            let number = index + 1;
            let group_started = Instant::now();
            let size = settings.batch.unwrap_or(group.len()).max(1);
            self.progress.plain("");
            self.progress.plain(&format!(
                "Running node group {number} with {}{}",
                nodes(group.len()),
                match settings.batch {
                    Some(batch) => format!(" batched {batch} a time"),
                    None => String::new(),
                }
            ));
            for batch in group.chunks(size) {
                if interrupt.raised() {
                    return Err(Stop::Interrupted);
                }
                if let Err(failure) = self.run_batch(batch, number).await {
                    if failure.doing == puppet::CHECKING_RUNS {
                        // The batch ran; only the nodes named failed.
                        let failed: Vec<&String> =
                            failure.failures.iter().map(|f| &f.identity).collect();
                        self.ran
                            .extend(batch.iter().filter(|n| !failed.contains(n)).cloned());
                    }
                    return Err(Stop::Failed(failure));
                }
                self.ran.extend(batch.iter().cloned());
            }
            self.progress.plain(&format!(
                "Successful run of {} in group {number} in {:.2} seconds",
                nodes(group.len()),
                group_started.elapsed().as_secs_f64()
            ));
        }
        self.progress.plain("");
        self.progress.line(&format!("Enabling Puppet on {count}"));
        self.agents.enable(&all).await.map_err(Stop::Failed)
    }

    /// One batch: enable, run, wait for the run to be seen and to end, disable, check.
    async fn run_batch(&self, batch: &[String], group: usize) -> Result<(), PuppetFailure> {
        let settings = self.settings;
        let count = nodes(batch.len());
        self.progress.line(&format!("Enabling Puppet on {count}"));
        if let Err(failure) = self.agents.enable(batch).await {
            self.disable_again(batch).await;
            return Err(failure);
        }
        self.progress.line(&format!(
            "Running Puppet on {count} of group {group}: {}",
            names(batch)
        ));
        let started = match self.agents.run_once(batch).await {
            Ok(started) => started,
            Err(failure) => {
                self.disable_again(batch).await;
                return Err(failure);
            }
        };
        self.progress
            .line(&format!("Waiting for {count} to start a run"));
        let waited = async {
            self.agents
                .wait_until(
                    batch,
                    "start a Puppet run",
                    settings.poll_interval,
                    settings.run_timeout,
                    self.progress,
                    |node, status| status.run_seen(started.get(node).copied().unwrap_or(0)),
                )
                .await?;
            self.progress
                .line(&format!("Waiting for {count} to become idle"));
            self.agents
                .wait_until(
                    batch,
                    "finish the Puppet run",
                    settings.poll_interval,
                    settings.run_timeout,
                    self.progress,
                    |node, status| status.run_over(started.get(node).copied().unwrap_or(0)),
                )
                .await
        }
        .await;
        self.progress.line(&format!("Disabling Puppet on {count}"));
        let disabled = self
            .agents
            .disable(batch, &self.disable_message, true)
            .await;
        waited?;
        disabled?;
        self.progress
            .line(&format!("Checking the Puppet runs of {count}"));
        self.agents.check_runs(&started).await
    }

    /// After a failure part way through a batch: lock its nodes again, best effort (the
    /// failure already says what went wrong; a node that cannot be locked is named).
    async fn disable_again(&self, batch: &[String]) {
        if let Err(failure) = self
            .agents
            .disable(batch, &self.disable_message, true)
            .await
        {
            self.progress.line(&failure.to_string());
        }
    }
}

/// `dev2, dev3`, or the first few of many.
fn names(batch: &[String]) -> String {
    const SHOWN: usize = 5;
    if batch.len() <= SHOWN {
        batch.join(", ")
    } else {
        format!(
            "{}, ... and {} more",
            batch[..SHOWN].join(", "),
            batch.len() - SHOWN
        )
    }
}

/// `1 node`, `3 nodes`.
fn nodes(n: usize) -> String {
    format!("{n} node{}", plural(n))
}

/// What the operator reads at the end: the outcome, what was done, what state the nodes are
/// left in, and what to do next.
pub fn report(outcome: &SiteOutcome, settings: &RunSettings) -> Vec<String> {
    let mut lines = Vec::new();
    let what = &settings.what;
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
    lines.push(format!(
        "Puppet is left disabled on all {} (\"Disabled during {what} ...\"), as the site may be half deployed: check the nodes, then enable Puppet on them (`orchestrate rpc puppet enable -I NODE`, or `puppet agent --enable` on each)",
        nodes(outcome.nodes.len()),
    ));
    lines
}

#[cfg(test)]
mod tests;
