//! The `puppet` agent's actions (REFERENCE.md section 3) on a set of nodes, over the RPC
//! client: each returns what it learnt or the nodes that failed, with their messages. And the
//! waits, which poll `status` until every node is where the run needs it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::report::Progress;
use crate::rpc::{NodeFailure, RpcClient};

/// An action that did not succeed on every node.
#[derive(Debug, Clone, PartialEq)]
pub struct PuppetFailure {
    /// What was being done: `enable Puppet`, `start a run`.
    pub doing: String,
    pub failures: Vec<NodeFailure>,
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

/// What `status` says of a node, as far as the run needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PuppetStatus {
    pub applying: bool,
    pub enabled: bool,
    /// When the last completed run happened (epoch seconds).
    pub lastrun: u64,
}

impl PuppetStatus {
    fn from_reply(data: &Value) -> Result<PuppetStatus, String> {
        let flag = |name: &str| {
            data.get(name)
                .and_then(Value::as_bool)
                .ok_or_else(|| format!("the status reply has no '{name}'"))
        };
        let lastrun = data
            .get("lastrun")
            .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
            .ok_or("the status reply has no 'lastrun'")?;
        Ok(PuppetStatus {
            applying: flag("applying")?,
            enabled: flag("enabled")?,
            lastrun,
        })
    }

    /// The run started at `initiated_at` has been seen: applying now, or a run completed
    /// since. A short run can start and end between two polls and never be seen applying;
    /// `lastrun` tells the truth then.
    pub fn run_seen(&self, initiated_at: u64) -> bool {
        self.applying || self.lastrun >= initiated_at
    }

    /// The run started at `initiated_at` is over.
    pub fn run_over(&self, initiated_at: u64) -> bool {
        !self.applying && self.lastrun >= initiated_at
    }
}

/// The verdict on a node's run from its `last_run_summary`: Ok, or why it failed. A run whose
/// catalog failed has no resources section (the node agent says `catalog_failed` and gives
/// null counts); counting its missing failures as zero would call it a success.
pub fn verdict(data: &Value, initiated_at: u64) -> Result<(), String> {
    if let Some(lastrun) = data.get("lastrun").and_then(Value::as_u64) {
        if lastrun < initiated_at {
            return Err(format!(
                "the last run summary is of a run at {lastrun}, before this run started ({initiated_at})"
            ));
        }
    }
    let no_resources = data
        .get("summary")
        .filter(|summary| summary.is_object())
        .is_some_and(|summary| !summary.get("resources").is_some_and(Value::is_object));
    if data.get("catalog_failed").and_then(Value::as_bool) == Some(true) || no_resources {
        let why = data
            .get("run_failure")
            .and_then(Value::as_str)
            .map(|why| format!(" ({why})"))
            .unwrap_or_default();
        return Err(format!(
            "the catalog failed: the run applied nothing and has no resources section{why}"
        ));
    }
    match data.get("failed_resources").and_then(Value::as_u64) {
        None => Err("the run summary has no resource counts: its catalog failed".into()),
        Some(0) => Ok(()),
        Some(1) => Err("1 resource failed".into()),
        Some(n) => Err(format!("{n} resources failed")),
    }
}

/// What a failure of [`PuppetAgents::check_runs`] was doing: the runs happened, some failed.
pub const CHECKING_RUNS: &str = "run Puppet successfully";

/// The puppet agent of many nodes.
pub struct PuppetAgents<'a> {
    pub rpc: &'a RpcClient,
    /// How long each request waits for the replies.
    pub timeout: Duration,
}

impl PuppetAgents<'_> {
    /// Calls `action` on `nodes`; every node's reply data, or the failures (a node that did
    /// not answer, or answered with an error that `tolerate` does not accept).
    async fn call(
        &self,
        doing: &str,
        action: &str,
        data: Value,
        nodes: &[String],
        tolerate: &str,
    ) -> Result<BTreeMap<String, Value>, PuppetFailure> {
        let (answers, failures) = self
            .call_partly(doing, action, data, nodes, tolerate)
            .await?;
        if failures.is_empty() {
            Ok(answers)
        } else {
            Err(PuppetFailure {
                doing: doing.to_string(),
                failures,
            })
        }
    }

    /// Like `call`, but keeps the answers of the nodes that did answer beside the failures of
    /// the others (a wait must not forget a node that is done because another missed a poll).
    async fn call_partly(
        &self,
        doing: &str,
        action: &str,
        data: Value,
        nodes: &[String],
        tolerate: &str,
    ) -> Result<(BTreeMap<String, Value>, Vec<NodeFailure>), PuppetFailure> {
        let failed = |failures| PuppetFailure {
            doing: doing.to_string(),
            failures,
        };
        let result = self
            .rpc
            .call("puppet", action, &data, nodes, self.timeout)
            .await
            .map_err(|error| {
                failed(
                    nodes
                        .iter()
                        .map(|node| NodeFailure {
                            identity: node.clone(),
                            message: error.to_string(),
                            statuscode: None,
                        })
                        .collect(),
                )
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
            if reply.statuscode == 0 || (!tolerate.is_empty() && reply.statusmsg.contains(tolerate))
            {
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
        if failures.is_empty() {
            Ok(statuses)
        } else {
            Err(PuppetFailure {
                doing: "ask Puppet's status".into(),
                failures,
            })
        }
    }

    /// The statuses of the nodes that answered, and the failures of the others.
    async fn status_partly(
        &self,
        nodes: &[String],
    ) -> Result<(BTreeMap<String, PuppetStatus>, Vec<NodeFailure>), PuppetFailure> {
        let (answers, mut failures) = self
            .call_partly("ask Puppet's status", "status", json!({}), nodes, "")
            .await?;
        let mut statuses = BTreeMap::new();
        for (node, data) in answers {
            match PuppetStatus::from_reply(&data) {
                Ok(status) => {
                    statuses.insert(node, status);
                }
                Err(message) => failures.push(NodeFailure {
                    identity: node,
                    message,
                    statuscode: None,
                }),
            }
        }
        Ok((statuses, failures))
    }

    /// The disable messages of the nodes that are disabled; an error when a node cannot say.
    pub async fn disabled(&self, nodes: &[String]) -> Result<Vec<NodeFailure>, PuppetFailure> {
        let answers = self
            .call("ask Puppet's status", "status", json!({}), nodes, "")
            .await?;
        Ok(answers
            .into_iter()
            .filter(|(_, data)| data.get("enabled").and_then(Value::as_bool) != Some(true))
            .map(|(node, data)| NodeFailure {
                message: match data.get("disable_message").and_then(Value::as_str) {
                    Some(message) if !message.is_empty() => format!("disabled: {message}"),
                    _ => "disabled".to_string(),
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
        let tolerate = if already_ok { "Already disabled" } else { "" };
        self.call(
            "disable Puppet",
            "disable",
            json!({ "message": message }),
            nodes,
            tolerate,
        )
        .await
        .map(drop)
    }

    /// Unlocks the agents; one enabled already is fine.
    pub async fn enable(&self, nodes: &[String]) -> Result<(), PuppetFailure> {
        self.call(
            "enable Puppet",
            "enable",
            json!({}),
            nodes,
            "Already enabled",
        )
        .await
        .map(drop)
    }

    /// Starts a run now on every node: forced (no splay), from a fresh catalog. Returns when
    /// each node says it started.
    pub async fn run_once(&self, nodes: &[String]) -> Result<BTreeMap<String, u64>, PuppetFailure> {
        let answers = self
            .call(
                "start a Puppet run",
                "runonce",
                json!({ "force": true, "splay": false, "use_cached_catalog": false }),
                nodes,
                "",
            )
            .await?;
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
        let answers = self
            .call(
                "read the run summary",
                "last_run_summary",
                json!({ "logs": false }),
                &nodes,
                "",
            )
            .await?;
        let failures: Vec<NodeFailure> = answers
            .into_iter()
            .filter_map(|(node, data)| {
                let initiated_at = started.get(&node).copied().unwrap_or(0);
                verdict(&data, initiated_at)
                    .err()
                    .map(|message| NodeFailure {
                        identity: node,
                        message,
                        statuscode: None,
                    })
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PuppetFailure {
                doing: CHECKING_RUNS.into(),
                failures,
            })
        }
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

    fn status(applying: bool, lastrun: u64) -> PuppetStatus {
        PuppetStatus {
            applying,
            enabled: true,
            lastrun,
        }
    }

    #[test]
    fn a_run_that_ended_between_two_polls_is_seen_and_over() {
        let initiated_at = 1_795_308_300;
        let finished = status(false, initiated_at + 1);
        assert!(finished.run_seen(initiated_at));
        assert!(finished.run_over(initiated_at));
        let before = status(false, initiated_at - 1800);
        assert!(!before.run_seen(initiated_at));
        assert!(!before.run_over(initiated_at));
        let applying = status(true, initiated_at - 1800);
        assert!(applying.run_seen(initiated_at));
        assert!(!applying.run_over(initiated_at));
    }

    #[test]
    fn verdicts() {
        let ok = json!({"failed_resources": 0, "lastrun": 10, "catalog_failed": false,
                        "summary": {"resources": {"failed": 0}}});
        assert_eq!(verdict(&ok, 10), Ok(()));
        let failed =
            json!({"failed_resources": 2, "lastrun": 10, "summary": {"resources": {"failed": 2}}});
        assert_eq!(verdict(&failed, 10), Err("2 resources failed".into()));
        // The node agent's report of a failed catalog.
        let catalog = json!({"failed_resources": null, "lastrun": 12, "catalog_failed": true,
                             "run_failure": "the Puppet run started at 10 ended with exit code 1 and wrote no summary",
                             "summary": {"version": {"config": null}}});
        assert!(verdict(&catalog, 10)
            .unwrap_err()
            .starts_with("the catalog failed"));
        // Choria's agent filled the counts with zeros; the summary still has no resources.
        let zeros =
            json!({"failed_resources": 0, "lastrun": 12, "summary": {"time": {"last_run": 12}}});
        assert!(verdict(&zeros, 10)
            .unwrap_err()
            .starts_with("the catalog failed"));
        assert!(verdict(&json!({"lastrun": 12}), 10).is_err());
        let stale = json!({"failed_resources": 0, "lastrun": 5});
        assert!(verdict(&stale, 10).unwrap_err().contains("before this run"));
        assert!(verdict(&json!("nonsense"), 10).is_err());
    }

    #[test]
    fn malformed_statuses_are_errors_not_panics() {
        assert!(PuppetStatus::from_reply(&json!({})).is_err());
        assert!(PuppetStatus::from_reply(&json!({"applying": "yes"})).is_err());
        assert_eq!(
            PuppetStatus::from_reply(&json!({"applying": false, "enabled": true, "lastrun": 7.5})),
            Ok(status(false, 7))
        );
    }
}
