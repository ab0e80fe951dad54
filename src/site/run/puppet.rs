//! The `puppet` agent's actions (REFERENCE.md section 3) on a set of nodes, over the RPC
//! client: each returns what it learnt or the nodes that failed, with their messages. And the
//! waits, which poll `status` until every node is where the run needs it. Replies are read
//! with the agent's own types (`agent/puppet/reply.rs`, [`LastRunReport`]) and refusals told
//! apart by their statuscodes, never by their wording.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::agent::puppet::{LastRunReport, ReportError, ALREADY_DISABLED, ALREADY_ENABLED};
use crate::report::Progress;
use crate::rpc::{NodeFailure, RpcClient, RpcErrorKind};

/// What `status` says of a node: the agent's own [`Status`](crate::agent::puppet::Status).
pub use crate::agent::puppet::Status as PuppetStatus;

/// An action that did not succeed on every node.
#[derive(Debug, Clone, PartialEq)]
pub struct PuppetFailure {
    /// What was being done: `enable Puppet`, `start a run`.
    pub doing: String,
    pub failures: Vec<NodeFailure>,
    /// Why, when the broker is out of reach ("the broker at ... is unreachable"): nothing is
    /// known of the nodes, and nothing more can be asked of them.
    pub unreachable: Option<String>,
}

impl fmt::Display for PuppetFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not {} on {} of the nodes:",
            self.doing,
            self.failures.len()
        )?;
        for failure in &self.failures {
            write!(f, "\n    {}: {}", failure.identity, failure.message)?;
        }
        Ok(())
    }
}

/// Why a node's run failed, by its `last_run_summary`.
#[derive(Debug, thiserror::Error)]
pub enum FailedRun {
    /// The summary is of an earlier run.
    #[error(
        "the last run summary is of a run at {lastrun}, before this run started ({initiated_at})"
    )]
    Stale { lastrun: u64, initiated_at: u64 },
    /// The run applied nothing; `why` is the agent's account when it has one.
    #[error("the catalog failed: the run applied nothing and has no resources section{}", in_parentheses(.why))]
    CatalogFailed { why: Option<String> },
    #[error("the run summary has no resource counts: its catalog failed")]
    NoCounts,
    #[error("{}", match .0 { 1 => "1 resource failed".to_string(), n => format!("{n} resources failed") })]
    ResourcesFailed(u64),
    #[error(transparent)]
    Unreadable(#[from] ReportError),
}

fn in_parentheses(why: &Option<String>) -> String {
    why.as_ref()
        .map(|why| format!(" ({why})"))
        .unwrap_or_default()
}

/// The verdict on a node's run from its `last_run_summary`: Ok, or why it failed. A run whose
/// catalog failed has no resources section (the node agent says `catalog_failed` and gives
/// null counts); counting its missing failures as zero would call it a success.
pub fn verdict(data: &Value, initiated_at: u64) -> Result<(), FailedRun> {
    let report = LastRunReport::from_data(data)?;
    if let Some(lastrun) = report.lastrun {
        if lastrun < initiated_at {
            return Err(FailedRun::Stale {
                lastrun,
                initiated_at,
            });
        }
    }
    if report.catalog_failed == Some(true) || report.summary_lacks_resources() {
        return Err(FailedRun::CatalogFailed {
            why: report.run_failure,
        });
    }
    match report.failed() {
        None => Err(FailedRun::NoCounts),
        Some(0) => Ok(()),
        Some(n) => Err(FailedRun::ResourcesFailed(n)),
    }
}

/// What a failure of [`PuppetAgents::check_runs`] was doing: the runs happened, some failed.
pub const CHECKING_RUNS: &str = "run Puppet successfully";

/// What a failure of [`PuppetAgents::status`] was doing.
const ASKING_STATUS: &str = "ask Puppet's status";

/// One action asked of the nodes' agents.
struct Ask<'a> {
    /// What is being done, for the failure: `enable Puppet`.
    doing: &'a str,
    action: &'a str,
    data: Value,
    /// The statuscode of a refusal that counts as done (see `agent/puppet/reply.rs`).
    tolerated: Option<u8>,
}

impl<'a> Ask<'a> {
    fn new(doing: &'a str, action: &'a str, data: Value) -> Ask<'a> {
        Ask {
            doing,
            action,
            data,
            tolerated: None,
        }
    }
}

/// `done` when no node failed, else the failure of `doing` on the nodes that did.
fn all_or_failure<T>(doing: &str, done: T, failures: Vec<NodeFailure>) -> Result<T, PuppetFailure> {
    if failures.is_empty() {
        Ok(done)
    } else {
        Err(PuppetFailure {
            doing: doing.to_string(),
            failures,
            unreachable: None,
        })
    }
}

/// The puppet agent of many nodes.
pub struct PuppetAgents<'a> {
    pub rpc: &'a RpcClient,
    /// How long each request waits for the replies.
    pub timeout: Duration,
}

impl PuppetAgents<'_> {
    /// Asks `nodes`; every node's reply data, or the failures (a node that did not answer,
    /// or answered with an error whose statuscode `ask` does not tolerate).
    async fn call(
        &self,
        ask: Ask<'_>,
        nodes: &[String],
    ) -> Result<BTreeMap<String, Value>, PuppetFailure> {
        let (answers, failures) = self.call_partly(&ask, nodes).await?;
        all_or_failure(ask.doing, answers, failures)
    }

    /// Like `call`, but keeps the answers of the nodes that did answer beside the failures of
    /// the others (a wait must not forget a node that is done because another missed a poll).
    async fn call_partly(
        &self,
        ask: &Ask<'_>,
        nodes: &[String],
    ) -> Result<(BTreeMap<String, Value>, Vec<NodeFailure>), PuppetFailure> {
        let result = self
            .rpc
            .call("puppet", ask.action, &ask.data, nodes, self.timeout)
            .await
            .map_err(|error| PuppetFailure {
                doing: ask.doing.to_string(),
                failures: nodes
                    .iter()
                    .map(|node| NodeFailure {
                        identity: node.clone(),
                        message: error.to_string(),
                        statuscode: None,
                    })
                    .collect(),
                unreachable: (error.kind() == RpcErrorKind::Unreachable).then(|| error.to_string()),
            })?;
        let mut failures: Vec<NodeFailure> = result
            .missing
            .iter()
            .map(|identity| NodeFailure {
                identity: identity.clone(),
                message: "no response".into(),
                statuscode: None,
            })
            .collect();
        let mut answers = BTreeMap::new();
        for reply in result.replies {
            if reply.statuscode == 0 || Some(reply.statuscode) == ask.tolerated {
                answers.insert(reply.identity, reply.data);
            } else {
                failures.push(NodeFailure {
                    identity: reply.identity,
                    message: reply.statusmsg,
                    statuscode: Some(reply.statuscode),
                });
            }
        }
        failures.sort_by(|a, b| a.identity.cmp(&b.identity));
        Ok((answers, failures))
    }

    pub async fn status(
        &self,
        nodes: &[String],
    ) -> Result<BTreeMap<String, PuppetStatus>, PuppetFailure> {
        let (statuses, failures) = self.status_partly(nodes).await?;
        all_or_failure(ASKING_STATUS, statuses, failures)
    }

    /// The statuses of the nodes that answered, and the failures of the others.
    async fn status_partly(
        &self,
        nodes: &[String],
    ) -> Result<(BTreeMap<String, PuppetStatus>, Vec<NodeFailure>), PuppetFailure> {
        let ask = Ask::new(ASKING_STATUS, "status", json!({}));
        let (answers, mut failures) = self.call_partly(&ask, nodes).await?;
        let mut statuses = BTreeMap::new();
        for (node, data) in answers {
            match PuppetStatus::from_data(&data) {
                Ok(status) => {
                    statuses.insert(node, status);
                }
                Err(error) => failures.push(NodeFailure {
                    identity: node,
                    message: error.to_string(),
                    statuscode: None,
                }),
            }
        }
        Ok((statuses, failures))
    }

    /// The disable messages of the nodes that are disabled; an error when a node cannot say.
    pub async fn disabled(&self, nodes: &[String]) -> Result<Vec<NodeFailure>, PuppetFailure> {
        let statuses = self.status(nodes).await?;
        Ok(statuses
            .into_iter()
            .filter(|(_, status)| !status.enabled)
            .map(|(node, status)| NodeFailure {
                message: match status.disable_message.as_str() {
                    "" => "disabled".to_string(),
                    message => format!("disabled: {message}"),
                },
                identity: node,
                statuscode: None,
            })
            .collect())
    }

    /// Locks the agents. `already_ok`: a node disabled already counts as done (after a
    /// batch's run, where disabled is all that matters).
    pub async fn disable(
        &self,
        nodes: &[String],
        message: &str,
        already_ok: bool,
    ) -> Result<(), PuppetFailure> {
        let ask = Ask {
            tolerated: already_ok.then_some(ALREADY_DISABLED),
            ..Ask::new("disable Puppet", "disable", json!({ "message": message }))
        };
        self.call(ask, nodes).await.map(drop)
    }

    /// Unlocks the agents; one enabled already is fine.
    pub async fn enable(&self, nodes: &[String]) -> Result<(), PuppetFailure> {
        let ask = Ask {
            tolerated: Some(ALREADY_ENABLED),
            ..Ask::new("enable Puppet", "enable", json!({}))
        };
        self.call(ask, nodes).await.map(drop)
    }

    /// Starts a run now on every node: forced (no splay), from a fresh catalog. Returns when
    /// each node says it started.
    pub async fn run_once(&self, nodes: &[String]) -> Result<BTreeMap<String, u64>, PuppetFailure> {
        let ask = Ask::new(
            "start a Puppet run",
            "runonce",
            json!({ "force": true, "splay": false, "use_cached_catalog": false }),
        );
        let answers = self.call(ask, nodes).await?;
        let now = crate::protocol::unix_now();
        Ok(answers
            .into_iter()
            .map(|(node, data)| {
                // An agent that does not say when it started: now, as this side sees it.
                let at = data
                    .get("initiated_at")
                    .and_then(Value::as_u64)
                    .unwrap_or(now);
                (node, at)
            })
            .collect())
    }

    /// Each node's verdict on the run started at its `initiated_at`.
    pub async fn check_runs(&self, started: &BTreeMap<String, u64>) -> Result<(), PuppetFailure> {
        let nodes: Vec<String> = started.keys().cloned().collect();
        let ask = Ask::new(
            "read the run summary",
            "last_run_summary",
            json!({ "logs": false }),
        );
        let answers = self.call(ask, &nodes).await?;
        let failures: Vec<NodeFailure> = answers
            .into_iter()
            .filter_map(|(node, data)| {
                let initiated_at = started.get(&node).copied().unwrap_or(0);
                verdict(&data, initiated_at)
                    .err()
                    .map(|failed| NodeFailure {
                        identity: node,
                        message: failed.to_string(),
                        statuscode: None,
                    })
            })
            .collect();
        all_or_failure(CHECKING_RUNS, (), failures)
    }

    /// Polls `status` every `poll` until `done` holds for every node, at most `timeout`. A
    /// node that does not answer a poll is asked again at the next; at the end it is named
    /// with what it last said.
    pub async fn wait_until(
        &self,
        nodes: &[String],
        waiting_for: &str,
        poll: Duration,
        timeout: Duration,
        progress: &Progress,
        done: impl Fn(&str, &PuppetStatus) -> bool,
    ) -> Result<(), PuppetFailure> {
        let deadline = Instant::now() + timeout;
        let mut pending: Vec<String> = nodes.to_vec();
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        progress.start_bar(nodes.len(), waiting_for);
        let outcome = loop {
            // The nodes that did answer count, even when another missed this poll.
            let statuses = match self.status_partly(&pending).await {
                Ok((statuses, failures)) => {
                    for f in &failures {
                        last.insert(f.identity.clone(), f.message.clone());
                    }
                    statuses
                }
                // Polling on would only fail again until the timeout.
                Err(failure) if failure.unreachable.is_some() => break Err(failure),
                Err(failure) => {
                    for f in &failure.failures {
                        last.insert(f.identity.clone(), f.message.clone());
                    }
                    BTreeMap::new()
                }
            };
            pending.retain(|node| match statuses.get(node) {
                Some(status) if done(node, status) => false,
                Some(status) => {
                    last.insert(node.clone(), describe(status));
                    true
                }
                None => true,
            });
            progress.set_done(nodes.len() - pending.len());
            if pending.is_empty() {
                break Ok(());
            }
            if Instant::now() + poll > deadline {
                break Err(PuppetFailure {
                    doing: waiting_for.to_string(),
                    failures: pending
                        .iter()
                        .map(|node| NodeFailure {
                            identity: node.clone(),
                            message: format!(
                                "still waiting after {}: {}",
                                crate::report::seconds(timeout),
                                last.get(node).map(String::as_str).unwrap_or("no status")
                            ),
                            statuscode: None,
                        })
                        .collect(),
                    unreachable: None,
                });
            }
            tokio::time::sleep(poll).await;
        };
        progress.finish_bar();
        outcome
    }
}

fn describe(status: &PuppetStatus) -> String {
    format!(
        "{}, {}, last run at {}",
        if status.applying {
            "applying a catalog"
        } else {
            "idle"
        },
        if status.enabled {
            "enabled"
        } else {
            "disabled"
        },
        status.lastrun
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(data: Value, initiated_at: u64) -> Result<(), String> {
        verdict(&data, initiated_at).map_err(|failed| failed.to_string())
    }

    #[test]
    fn verdicts() {
        let ok = json!({"failed_resources": 0, "lastrun": 10, "catalog_failed": false,
                        "summary": {"resources": {"failed": 0}}});
        assert_eq!(judged(ok, 10), Ok(()));
        let failed =
            json!({"failed_resources": 2, "lastrun": 10, "summary": {"resources": {"failed": 2}}});
        assert_eq!(judged(failed, 10), Err("2 resources failed".into()));
        let one = json!({"failed_resources": 1, "lastrun": 10, "summary": {"resources": {}}});
        assert_eq!(judged(one, 10), Err("1 resource failed".into()));
        // The node agent's report of a failed catalog.
        let catalog = json!({"failed_resources": null, "lastrun": 12, "catalog_failed": true,
                             "run_failure": "the Puppet run started at 10 ended with exit code 1 and wrote no summary",
                             "summary": {"version": {"config": null}}});
        assert_eq!(
            judged(catalog, 10),
            Err(
                "the catalog failed: the run applied nothing and has no resources section \
                 (the Puppet run started at 10 ended with exit code 1 and wrote no summary)"
                    .into()
            )
        );
        // Choria's agent filled the counts with zeros; the summary still has no resources.
        let zeros =
            json!({"failed_resources": 0, "lastrun": 12, "summary": {"time": {"last_run": 12}}});
        assert_eq!(
            judged(zeros, 10),
            Err("the catalog failed: the run applied nothing and has no resources section".into())
        );
        assert!(matches!(
            verdict(&json!({"lastrun": 12}), 10),
            Err(FailedRun::NoCounts)
        ));
        let stale = json!({"failed_resources": 0, "lastrun": 5});
        assert_eq!(
            judged(stale, 10),
            Err("the last run summary is of a run at 5, before this run started (10)".into())
        );
        assert!(matches!(
            verdict(&json!("nonsense"), 10),
            Err(FailedRun::Unreadable(_))
        ));
    }
}
