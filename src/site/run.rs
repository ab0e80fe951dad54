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

mod puppet;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use puppet::{verdict, PuppetAgents, PuppetFailure, PuppetStatus};

use crate::report::{nodes, now, Progress, SiteOutcome, SiteStatus};
use crate::rpc::{NodeFailure, RpcClient};
use crate::stop::Stop;

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

/// Runs the site's `groups` (each sorted; in order) on the fleet.
pub async fn run_site(
    rpc: &RpcClient,
    groups: &[Vec<String>],
    settings: &RunSettings,
    progress: &Progress,
    stop: &Stop,
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
        touched: false,
        all,
        disable_message: format!(
            "Disabled during {} started by {} at {}",
            settings.what,
            settings.caller,
            now()
        ),
    };
    let status = run.run(groups, stop).await;
    let failures = match &status {
        // Nothing is known of the nodes: none failed that anyone could tell.
        Err(Halt::Failed(failure)) if failure.unreachable.is_some() => Vec::new(),
        Err(Halt::Failed(failure)) => failure.failures.clone(),
        Err(Halt::Refused(_, disabled)) => disabled.clone(),
        _ => Vec::new(),
    };
    let status = match status {
        Ok(()) => SiteStatus::Succeeded,
        Err(Halt::Refused(reason, _)) => SiteStatus::Refused { reason },
        Err(Halt::Failed(PuppetFailure {
            unreachable: Some(reason),
            ..
        })) => SiteStatus::Unreachable {
            reason,
            changed: run.touched,
        },
        Err(Halt::Failed(failure)) => SiteStatus::Failed {
            reason: failure.doing.clone(),
        },
        Err(Halt::Interrupted) => SiteStatus::Interrupted,
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

/// Why a site run ended before its end.
enum Halt {
    /// Before anything was changed, with the nodes that were in the way.
    Refused(String, Vec<NodeFailure>),
    Failed(PuppetFailure),
    Interrupted,
}

/// How a batch failed: before its runs could be checked (it did not run, as far as anyone can
/// tell), or at the check of runs that happened (the nodes not named ran).
enum BatchFailure {
    Before(PuppetFailure),
    Checked(PuppetFailure),
}

struct SiteRunState<'a> {
    agents: PuppetAgents<'a>,
    settings: &'a RunSettings,
    progress: &'a Progress,
    ran: Vec<String>,
    /// Whether a node may have been changed (disabling them has begun).
    touched: bool,
    all: Vec<String>,
    disable_message: String,
}

impl SiteRunState<'_> {
    /// A failure of the broker rather than of the nodes (`PuppetFailure::unreachable`) ends
    /// the run as `Halt::Failed` at any point, the first check included (where the nodes'
    /// failures are a refusal).
    async fn run(&mut self, groups: &[Vec<String>], stop: &Stop) -> Result<(), Halt> {
        let all = self.all.clone();
        let count = nodes(all.len());
        let settings = self.settings;
        self.progress
            .line(&format!("Checking that Puppet is enabled on {count}"));
        let disabled = self.agents.disabled(&all).await.map_err(|failure| {
            if failure.unreachable.is_some() {
                return Halt::Failed(failure);
            }
            Halt::Refused(
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
            return Err(Halt::Refused(reason, disabled));
        }
        self.progress.line(&format!(
            "Disabling Puppet on {count}: {}",
            self.disable_message
        ));
        self.touched = true;
        self.agents
            .disable(&all, &self.disable_message, false)
            .await
            .map_err(Halt::Failed)?;
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
            .map_err(Halt::Failed)?;

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
                if stop.is_requested() {
                    return Err(Halt::Interrupted);
                }
                match self.run_batch(batch, number).await {
                    Ok(()) => {}
                    Err(BatchFailure::Before(failure)) => return Err(Halt::Failed(failure)),
                    Err(BatchFailure::Checked(failure)) => {
                        // The batch ran; only the nodes named failed.
                        let failed: Vec<&String> =
                            failure.failures.iter().map(|f| &f.identity).collect();
                        self.ran
                            .extend(batch.iter().filter(|n| !failed.contains(n)).cloned());
                        return Err(Halt::Failed(failure));
                    }
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
        self.agents.enable(&all).await.map_err(Halt::Failed)
    }

    /// One batch: enable, run, wait for the run to be seen and to end, disable, check.
    async fn run_batch(&self, batch: &[String], group: usize) -> Result<(), BatchFailure> {
        let started = self
            .run_and_wait(batch, group)
            .await
            .map_err(BatchFailure::Before)?;
        let count = nodes(batch.len());
        self.progress
            .line(&format!("Checking the Puppet runs of {count}"));
        self.agents
            .check_runs(&started)
            .await
            .map_err(BatchFailure::Checked)
    }

    /// Enable, run, wait for the run to be seen and to end, disable; when each node's run
    /// was started (epoch seconds).
    async fn run_and_wait(
        &self,
        batch: &[String],
        group: usize,
    ) -> Result<BTreeMap<String, u64>, PuppetFailure> {
        let settings = self.settings;
        let count = nodes(batch.len());
        self.progress.line(&format!("Enabling Puppet on {count}"));
        if let Err(failure) = self.agents.enable(batch).await {
            self.disable_again(batch, &failure).await;
            return Err(failure);
        }
        self.progress.line(&format!(
            "Running Puppet on {count} of group {group}: {}",
            names(batch)
        ));
        let started = match self.agents.run_once(batch).await {
            Ok(started) => started,
            Err(failure) => {
                self.disable_again(batch, &failure).await;
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
        if waited
            .as_ref()
            .is_err_and(|failure| failure.unreachable.is_some())
        {
            // Nothing can be asked of the nodes now.
            return waited.map(|()| started);
        }
        self.progress.line(&format!("Disabling Puppet on {count}"));
        let disabled = self
            .agents
            .disable(batch, &self.disable_message, true)
            .await;
        waited?;
        disabled?;
        Ok(started)
    }

    /// After a failure part way through a batch: lock its nodes again, best effort (the
    /// failure already says what went wrong; a node that cannot be locked is named). Not
    /// with the broker out of reach: nothing can be asked then.
    async fn disable_again(&self, batch: &[String], failure: &PuppetFailure) {
        if failure.unreachable.is_some() {
            return;
        }
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

#[cfg(test)]
mod tests;
