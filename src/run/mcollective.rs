//! The `mcollective` (alias `rpc`) step: discover or name the nodes, call an agent's action
//! on them in batches of sorted identities, and retry only the nodes that failed or did not
//! answer.

use std::path::Path;
use std::time::Duration;

use crate::eval::steps::{param, Fallback, ParamType, StepArgs, StepParam, StepType};
use crate::eval::EvalError;
use crate::protocol::Filter;
use crate::report::Reporter;
use crate::rpc::{CallResult, NodeFailure, RpcClient, RpcError, DIRECT_ADDRESSING_THRESHOLD};

use super::step::{Outcome, StepKind};

#[derive(Debug, Clone)]
pub struct McollectiveStep {
    pub agent: String,
    pub action: String,
    pub arguments: serde_json::Value,
    /// The arguments that hold a `Sensitive` value, marked so in the request.
    pub sensitive_arguments: Vec<String>,
    pub filter: Filter,
    pub limit_nodes: Option<usize>,
    pub tries: u32,
    pub try_sleep: Duration,
    pub batch_size: Option<usize>,
    pub batch_sleep: Duration,
    pub timeout: Option<Duration>,
    pub fail_ok: bool,
    /// A filter given as an empty list (`identity_filter => []`, often an empty discovery
    /// result): the step addresses no node, never every node.
    pub empty_filter: Option<&'static str>,
}

const AT_LEAST_ONE: ParamType = ParamType::Count { least: 1 };

/// The parameters that choose the nodes, as `mcollective` and `puppet_run` read them.
pub(crate) const IDENTITY_FILTER: StepParam =
    param("identity_filter", ParamType::Words, Fallback::Absent);
pub(crate) const CLASS_FILTER: StepParam =
    param("class_filter", ParamType::Words, Fallback::Absent);
pub(crate) const FACT_FILTER: StepParam =
    param("fact_filter", ParamType::FactFilters, Fallback::Absent);
pub(crate) const AGENT_FILTER: StepParam =
    param("agent_filter", ParamType::Words, Fallback::Absent);
pub(crate) const COMPOUND_FILTER: StepParam =
    param("compound_filter", ParamType::Words, Fallback::Absent);
pub(crate) const LIMIT_NODES: StepParam = param("limit_nodes", AT_LEAST_ONE, Fallback::Absent);
pub(crate) const BATCH_SIZE: StepParam = param("batch_size", AT_LEAST_ONE, Fallback::Absent);
pub(crate) const TIMEOUT: StepParam = param(
    "timeout",
    ParamType::Duration { zero: false },
    Fallback::Absent,
);
pub(crate) const FAIL_OK: StepParam = param("fail_ok", ParamType::Flag, Fallback::Flag(false));

pub const TYPE: StepType = StepType {
    name: "mcollective",
    aliases: &["rpc"],
    params: &[
        param("agent", ParamType::Text, Fallback::Required),
        param("action", ParamType::Text, Fallback::Required),
        param("arguments", ParamType::Hash, Fallback::Absent),
        IDENTITY_FILTER,
        CLASS_FILTER,
        FACT_FILTER,
        AGENT_FILTER,
        COMPOUND_FILTER,
        LIMIT_NODES,
        param("tries", AT_LEAST_ONE, Fallback::Count(1)),
        param(
            "try_sleep_time",
            ParamType::Duration { zero: true },
            Fallback::Seconds(10),
        ),
        BATCH_SIZE,
        param(
            "batch_sleep_time",
            ParamType::Duration { zero: true },
            Fallback::Seconds(0),
        ),
        TIMEOUT,
        FAIL_OK,
    ],
};

pub fn build(args: &StepArgs<'_>, _: &Path) -> Result<StepKind, EvalError> {
    McollectiveStep::from_args(args).map(|step| StepKind::Mcollective(Box::new(step)))
}

impl McollectiveStep {
    pub fn from_args(args: &StepArgs<'_>) -> Result<McollectiveStep, EvalError> {
        let agent = args.text("agent")?.unwrap_or_default();
        let action = args.text("action")?.unwrap_or_default();
        let mut step = McollectiveStep::selection(args, agent, action)?;
        step.arguments = args
            .hash("arguments")?
            .unwrap_or_else(|| serde_json::json!({}));
        step.sensitive_arguments = args.sensitive_keys("arguments");
        step.tries = args.count("tries")?.unwrap_or(1);
        step.try_sleep = args.duration("try_sleep_time")?.unwrap_or_default();
        step.batch_sleep = args.duration("batch_sleep_time")?.unwrap_or_default();
        Ok(step)
    }

    /// The nodes a step chooses and how it addresses them (filters, `limit_nodes`,
    /// `batch_size`, `timeout`, `fail_ok`), for one action of an agent, tried once.
    pub(crate) fn selection(
        args: &StepArgs<'_>,
        agent: String,
        action: String,
    ) -> Result<McollectiveStep, EvalError> {
        let filter = Filter {
            identity: args.words("identity_filter")?,
            cf_class: args.words("class_filter")?,
            fact: args.fact_filters("fact_filter")?,
            agent: args.words("agent_filter")?,
            compound: args.words("compound_filter")?,
        };
        filter.check().map_err(|message| {
            EvalError::input(
                format!("{}: {message}", args.resource.reference()),
                args.resource.origin,
                "in this step's filters",
            )
        })?;
        let empty_filter = FILTERS
            .iter()
            .copied()
            .find(|name| args.is_empty_list(name));
        Ok(McollectiveStep {
            agent,
            action,
            arguments: serde_json::json!({}),
            sensitive_arguments: Vec::new(),
            filter,
            limit_nodes: args.count("limit_nodes")?.map(|n| n as usize),
            tries: 1,
            try_sleep: Duration::ZERO,
            batch_size: args.count("batch_size")?.map(|n| n as usize),
            batch_sleep: Duration::ZERO,
            timeout: args.duration("timeout")?,
            fail_ok: args.flag("fail_ok")?,
            empty_filter,
        })
    }

    /// Named nodes need no discovery; anything else is discovered when the step runs.
    fn named_targets(&self) -> Option<Vec<String>> {
        if self.empty_filter.is_some() {
            return Some(Vec::new());
        }
        let filter = &self.filter;
        let plain = !filter.identity.is_empty()
            && filter.identity.iter().all(|i| !i.starts_with('/'))
            && filter.cf_class.is_empty()
            && filter.fact.is_empty()
            && filter.agent.is_empty()
            && filter.compound.is_empty();
        plain.then(|| {
            let mut names = filter.identity.clone();
            names.sort();
            names.dedup();
            names
        })
    }

    pub fn describe(&self) -> String {
        let targets = match self.named_targets() {
            Some(_) if self.empty_filter.is_some() => {
                format!(
                    "no node ({} is empty)",
                    self.empty_filter.unwrap_or_default()
                )
            }
            Some(names) => describe_nodes(&names),
            None => format!(
                "nodes matching {}",
                describe_filter(&self.filter, &self.agent)
            ),
        };
        let mut extras = Vec::new();
        if let Some(n) = self.batch_size {
            extras.push(format!("batches of {n}"));
        }
        if self.tries > 1 {
            extras.push(format!("{} tries", self.tries));
        }
        if let Some(n) = self.limit_nodes {
            extras.push(format!("at most {n} node{}", plural(n)));
        }
        if self.fail_ok {
            extras.push("failure tolerated".into());
        }
        let extras = if extras.is_empty() {
            String::new()
        } else {
            format!(" ({})", extras.join(", "))
        };
        format!("{}#{} on {targets}{extras}", self.agent, self.action)
    }

    pub async fn run(&self, name: &str, rpc: &RpcClient, reporter: &Reporter) -> Outcome {
        let what = format!("{}#{}", self.agent, self.action);
        let targets = match self.targets(rpc).await {
            Ok(targets) if targets.is_empty() => {
                let why = match self.empty_filter {
                    Some(name) => format!(" ({name} is empty)"),
                    None => String::new(),
                };
                return self.failed(
                    format!("{what} failed: Did not discover any nodes matching criteria{why}"),
                    vec![],
                    vec![],
                );
            }
            Ok(targets) => targets,
            Err(error) => {
                return self.request_failed(format!("{what} failed: {error}"), &error.0, vec![])
            }
        };
        let stale = rpc.stale_among(&targets);
        if !stale.is_empty() {
            reporter.line(&format!(
                "{name}: {} of its nodes missed {} last registry heartbeat: {}",
                stale.len(),
                if stale.len() == 1 { "its" } else { "their" },
                describe_nodes(&stale)
            ));
        }
        let timeout = self.timeout.unwrap_or(rpc.default_timeout());
        let mut remaining = targets.clone();
        let mut failures = Vec::new();
        for attempt in 1..=self.tries {
            // The first try of a step whose filter found its nodes goes out as one broadcast;
            // a retry addresses the nodes that failed.
            let fanned = (attempt == 1 && self.fans_out(targets.len())).then_some(&self.filter);
            failures = match self
                .attempt(rpc, &remaining, fanned, timeout, reporter, name)
                .await
            {
                Ok(failures) => failures,
                Err(error) => {
                    return self.request_failed(format!("{what} failed: {error}"), &error, targets)
                }
            };
            if failures.is_empty() {
                return Outcome::Succeeded {
                    summary: format!(
                        "{what} executed successfully on {} after {attempt} {}",
                        count_nodes(targets.len()),
                        if attempt == 1 { "try" } else { "tries" }
                    ),
                    nodes: targets,
                };
            }
            if attempt < self.tries {
                remaining = failures.iter().map(|f| f.identity.clone()).collect();
                remaining.sort();
                reporter.line(&format!(
                    "{name}: {what} try {attempt} of {} failed on {} of {}; retrying on {} in {}",
                    self.tries,
                    failures.len(),
                    count_nodes(targets.len()),
                    describe_nodes(&remaining),
                    crate::report::seconds(self.try_sleep)
                ));
                tokio::time::sleep(self.try_sleep).await;
            }
        }
        let tries = self.tries;
        self.failed(
            format!(
                "{what} failed on {} of {} after {tries} {}",
                failures.len(),
                count_nodes(targets.len()),
                if tries == 1 { "try" } else { "tries" }
            ),
            failures,
            targets,
        )
    }

    fn failed(&self, summary: String, failures: Vec<NodeFailure>, nodes: Vec<String>) -> Outcome {
        Outcome::Failed {
            summary,
            failures,
            nodes,
            tolerated: self.fail_ok,
        }
    }

    fn request_failed(&self, summary: String, error: &RpcError, nodes: Vec<String>) -> Outcome {
        Outcome::request_failed(summary, error, nodes, self.fail_ok)
    }

    pub(crate) async fn targets(&self, rpc: &RpcClient) -> Result<Vec<String>, DiscoveryError> {
        let mut targets = match self.named_targets() {
            Some(names) => names,
            None => rpc
                .discover(&self.agent, &self.filter)
                .await
                .map_err(DiscoveryError)?,
        };
        if let Some(limit) = self.limit_nodes {
            targets.truncate(limit);
        }
        Ok(targets)
    }

    /// Whether the step's `found` nodes are asked with one broadcast request carrying its
    /// filter, rather than one request each: they came from the filter (not named, not cut
    /// by `limit_nodes`), the step does not batch, and there are more than a few.
    fn fans_out(&self, found: usize) -> bool {
        self.named_targets().is_none()
            && self.batch_size.is_none()
            && self.limit_nodes.is_none()
            && found > DIRECT_ADDRESSING_THRESHOLD
    }

    /// One try: with `filter`, one broadcast request that the `nodes` are expected to answer;
    /// else every batch in sorted identity order, `batch_sleep` apart. The failures are the
    /// nodes that answered with an error or did not answer; nodes that answered a broadcast
    /// unexpected are reported on a line of their own.
    async fn attempt(
        &self,
        rpc: &RpcClient,
        nodes: &[String],
        filter: Option<&Filter>,
        timeout: Duration,
        reporter: &Reporter,
        name: &str,
    ) -> Result<Vec<NodeFailure>, RpcError> {
        let rpc = rpc.marking_sensitive(&self.sensitive_arguments);
        if let Some(filter) = filter {
            let (agent, action, data) = (&self.agent, &self.action, &self.arguments);
            let result = rpc
                .broadcast_call(agent, action, data, filter, nodes, timeout)
                .await?;
            if !result.unexpected.is_empty() {
                let names: Vec<String> = result
                    .unexpected
                    .iter()
                    .map(|r| r.identity.clone())
                    .collect();
                reporter.line(&format!(
                    "{name}: {} answered too, though discovery had not found {}: {}",
                    count_nodes(names.len()),
                    if names.len() == 1 { "it" } else { "them" },
                    describe_nodes(&names)
                ));
            }
            return Ok(batch_failures(result));
        }
        let size = self.batch_size.unwrap_or(nodes.len()).max(1);
        let mut failures = Vec::new();
        for (index, batch) in nodes.chunks(size).enumerate() {
            if index > 0 && !self.batch_sleep.is_zero() {
                tokio::time::sleep(self.batch_sleep).await;
            }
            let result = rpc
                .call(&self.agent, &self.action, &self.arguments, batch, timeout)
                .await?;
            failures.extend(batch_failures(result));
        }
        Ok(failures)
    }
}

/// Discovery of a step's nodes failed.
#[derive(Debug, thiserror::Error)]
#[error("discovery failed: {0}")]
pub struct DiscoveryError(#[source] pub RpcError);

/// The parameters that select nodes.
const FILTERS: [&str; 5] = [
    "identity_filter",
    "class_filter",
    "fact_filter",
    "agent_filter",
    "compound_filter",
];

fn batch_failures(result: CallResult) -> Vec<NodeFailure> {
    let mut failures: Vec<NodeFailure> = result
        .replies
        .into_iter()
        .filter(|r| r.statuscode != 0)
        .map(|r| NodeFailure {
            identity: r.identity,
            message: if r.statusmsg.is_empty() {
                format!("statuscode {}", r.statuscode)
            } else {
                r.statusmsg
            },
            statuscode: Some(r.statuscode),
        })
        .collect();
    failures.extend(result.missing.into_iter().map(|identity| NodeFailure {
        identity,
        message: "no response".into(),
        statuscode: None,
    }));
    failures.sort_by(|a, b| a.identity.cmp(&b.identity));
    failures
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn count_nodes(n: usize) -> String {
    format!("{n} node{}", plural(n))
}

/// `web1.example.net`, or `4 nodes (web1, web2, web3, web4)`, or the first few of many.
pub fn describe_nodes(names: &[String]) -> String {
    const SHOWN: usize = 5;
    match names {
        [one] => one.clone(),
        _ if names.len() <= SHOWN => format!("{} ({})", count_nodes(names.len()), names.join(", ")),
        _ => format!(
            "{} ({}, ... and {} more)",
            count_nodes(names.len()),
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        ),
    }
}

fn describe_filter(filter: &Filter, agent: &str) -> String {
    let mut parts = vec![format!("agent={agent}")];
    parts.extend(filter.identity.iter().map(|i| format!("identity={i}")));
    parts.extend(filter.cf_class.iter().map(|c| format!("class={c}")));
    parts.extend(
        filter
            .fact
            .iter()
            .map(|f| format!("fact {}{}{}", f.fact, f.operator, f.value)),
    );
    parts.extend(
        filter
            .agent
            .iter()
            .filter(|a| *a != agent)
            .map(|a| format!("agent={a}")),
    );
    parts.extend(filter.compound.iter().map(|c| format!("compound {c}")));
    parts.join(", ")
}

#[cfg(test)]
mod tests_support {
    use std::path::PathBuf;

    pub use super::*;
    use crate::fleet::spy::SpiedFleet;
    use crate::fleet::FleetFile;
    pub use crate::protocol::FactFilter;

    /// appmgr#upgrade to the bravo web servers.
    pub fn upgrade_step() -> McollectiveStep {
        upgrade(1, 4)
    }

    pub fn upgrade(tries: u32, batch_size: usize) -> McollectiveStep {
        McollectiveStep {
            agent: "appmgr".into(),
            action: "upgrade".into(),
            arguments: serde_json::json!({ "revision": 20 }),
            sensitive_arguments: Vec::new(),
            filter: Filter {
                fact: vec![FactFilter::parse("cluster=bravo").unwrap()],
                ..Filter::default()
            },
            limit_nodes: None,
            tries,
            try_sleep: Duration::ZERO,
            batch_size: Some(batch_size),
            batch_sleep: Duration::ZERO,
            timeout: Some(Duration::from_secs(2)),
            fail_ok: false,
            empty_filter: None,
        }
    }

    /// Runs the step on the fleet where web6 fails its upgrade twice; returns the outcome and
    /// the upgrade requests each node received, in the order they were sent.
    pub async fn run_with_spy(step: McollectiveStep) -> (Outcome, Vec<String>) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fleets/upgrade_fails.yaml");
        let fleet = SpiedFleet::serve(FleetFile::load(&path).unwrap()).await;
        let outcome = step
            .run("Mcollective[update_bravo]", &fleet.rpc, &Reporter::quiet())
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        (outcome, fleet.sent("upgrade"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::tests_support::*;

    #[tokio::test]
    async fn a_retry_addresses_only_the_node_that_failed() {
        let (outcome, seen) = run_with_spy(upgrade(2, 2)).await;
        let mut counts = BTreeMap::new();
        for node in &seen {
            *counts.entry(node.as_str()).or_insert(0) += 1;
        }
        assert_eq!(
            counts,
            BTreeMap::from([
                ("web6.example.net", 2),
                ("web7.example.net", 1),
                ("web8.example.net", 1),
                ("web9.example.net", 1),
            ])
        );
        let Outcome::Failed { failures, .. } = outcome else {
            panic!("the upgrade must fail: {outcome:?}")
        };
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].identity, "web6.example.net");
        assert_eq!(failures[0].message, "Could not upgrade: disk full on /srv");
    }

    #[tokio::test]
    async fn batches_go_in_sorted_identity_order() {
        let (_, seen) = run_with_spy(upgrade(1, 1)).await;
        assert_eq!(
            seen,
            [
                "web6.example.net",
                "web7.example.net",
                "web8.example.net",
                "web9.example.net"
            ]
        );
    }

    #[tokio::test]
    async fn a_third_try_succeeds_once_the_node_recovers() {
        let (outcome, seen) = run_with_spy(upgrade(3, 4)).await;
        assert_eq!(seen.iter().filter(|n| *n == "web6.example.net").count(), 3);
        match outcome {
            Outcome::Succeeded { summary, nodes } => {
                assert_eq!(
                    summary,
                    "appmgr#upgrade executed successfully on 4 nodes after 3 tries"
                );
                assert_eq!(nodes.len(), 4);
            }
            other => panic!("expected success, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod fan_out_tests {
    use super::tests_support::*;
    use crate::fleet::spy::SpiedFleet;
    use crate::fleet::FleetFile;

    /// Twelve bravo web servers; web03 fails its first upgrade.
    const TWELVE: &str = "agents:\n  appmgr:\n    upgrade: {inputs: [revision]}\nnodes:\n\
        - {identity: 'web[01-02].example.net', facts: {cluster: bravo}, agents: [appmgr]}\n\
        - identity: web03.example.net\n  facts: {cluster: bravo}\n  agents: [appmgr]\n  \
          replies: {appmgr#upgrade: [{statuscode: 1, statusmsg: disk full}]}\n\
        - {identity: 'web[04-12].example.net', facts: {cluster: bravo}, agents: [appmgr]}\n\
        - {identity: web13.example.net, facts: {cluster: alfa}, agents: [appmgr]}\n";

    #[tokio::test]
    async fn an_unbatched_step_to_many_nodes_is_one_broadcast_and_its_retry_is_direct() {
        let file = FleetFile::parse(TWELVE, "twelve").unwrap();
        let fleet = SpiedFleet::serve(file).await;
        let mut step = upgrade(2, 1);
        step.batch_size = None;
        let outcome = step
            .run("Mcollective[update_bravo]", &fleet.rpc, &Reporter::quiet())
            .await;
        let Outcome::Succeeded { nodes, .. } = &outcome else {
            panic!("the upgrade must succeed on its retry: {outcome:?}")
        };
        assert_eq!(nodes.len(), 12);
        let upgrades: Vec<_> = fleet
            .rpc
            .sent()
            .into_iter()
            .filter(|r| r.action == "upgrade")
            .collect();
        assert_eq!(upgrades.len(), 2, "{upgrades:?}");
        assert!(upgrades[0].filter.is_some() && upgrades[0].targets.is_empty());
        assert_eq!(upgrades[1].targets, ["web03.example.net"]);
        // Only the retry went to a node's own subject.
        assert_eq!(fleet.sent("upgrade"), ["web03.example.net"]);
    }
}

#[cfg(test)]
mod empty_filter_tests {
    use super::tests_support::*;

    #[tokio::test]
    async fn an_empty_identity_list_addresses_no_node_at_all() {
        let mut step = upgrade_step();
        step.filter = Filter::default();
        step.empty_filter = Some("identity_filter");
        let (outcome, seen) = run_with_spy(step).await;
        assert!(seen.is_empty(), "requests went to {seen:?}");
        match outcome {
            Outcome::Failed { summary, .. } => assert_eq!(
                summary,
                "appmgr#upgrade failed: Did not discover any nodes matching criteria (identity_filter is empty)"
            ),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
