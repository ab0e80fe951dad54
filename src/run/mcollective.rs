//! The `mcollective` (alias `rpc`) step: discover or name the nodes, call an agent's action
//! on them in batches of sorted identities, and retry only the nodes that failed or did not
//! answer.

use std::time::Duration;

use crate::eval::catalog::Resource;
use crate::eval::{EvalError, Value};
use crate::protocol::{FactFilter, Filter};
use crate::rpc::{CallResult, RpcClient};

use super::report::Reporter;
use super::step::{duration_param, NodeFailure, Outcome};

#[derive(Debug, Clone)]
pub struct McollectiveStep {
    pub agent: String,
    pub action: String,
    pub arguments: serde_json::Value,
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

/// Why a parameter cannot be used, said at the parameter.
fn bad(resource: &Resource, param: &str, expected: &str, value: &Value) -> EvalError {
    EvalError::input(
        format!(
            "{}: parameter '{param}' expects {expected}, got {}",
            resource.reference(),
            if matches!(value, Value::String(_)) {
                format!("'{value}'")
            } else {
                value.to_string()
            }
        ),
        resource
            .param_origins
            .get(param)
            .copied()
            .unwrap_or(resource.origin),
        format!("'{param}' is set here"),
    )
}

impl McollectiveStep {
    pub fn from_resource(resource: &Resource) -> Result<McollectiveStep, EvalError> {
        let get = |name: &str| {
            resource
                .params
                .get(name)
                .filter(|v| !matches!(v, Value::Undef))
        };
        let word = |name: &str| -> Result<String, EvalError> {
            match get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(other) => Err(bad(resource, name, "a name", other)),
                None => Err(bad(resource, name, "a name", &Value::Undef)),
            }
        };
        let count = |name: &str, least: i64| -> Result<Option<i64>, EvalError> {
            match get(name) {
                None => Ok(None),
                Some(Value::Integer(i)) if *i >= least && *i <= i64::from(u32::MAX) => Ok(Some(*i)),
                Some(Value::String(s)) if s.parse::<i64>().is_ok_and(|i| i >= least) => {
                    Ok(s.parse().ok())
                }
                Some(other) => Err(bad(
                    resource,
                    name,
                    &format!("an integer of at least {least}"),
                    other,
                )),
            }
        };
        let seconds = |name: &str, default: Duration| -> Result<Duration, EvalError> {
            match get(name) {
                None => Ok(default),
                Some(v) => {
                    duration_param(v).ok_or_else(|| bad(resource, name, "a number of seconds", v))
                }
            }
        };
        let arguments = match get("arguments") {
            None => serde_json::json!({}),
            Some(v @ Value::Hash(_)) => serde_json::Value::from(v),
            Some(other) => return Err(bad(resource, "arguments", "a hash", other)),
        };
        let mut filter = Filter {
            identity: strings(get("identity_filter")),
            cf_class: strings(get("class_filter")),
            agent: strings(get("agent_filter")),
            compound: strings(get("compound_filter")),
            ..Filter::default()
        };
        for fact in strings(get("fact_filter")) {
            let parsed = FactFilter::parse(&fact).map_err(|message| {
                bad(
                    resource,
                    "fact_filter",
                    "filters like 'cluster=bravo'",
                    &Value::String(fact.clone()),
                )
                .with_help(message.to_string())
            })?;
            filter.fact.push(parsed);
        }
        filter.check().map_err(|message| {
            EvalError::input(
                format!("{}: {message}", resource.reference()),
                resource.origin,
                "in this step's filters",
            )
        })?;
        let empty_filter = FILTERS
            .iter()
            .copied()
            .find(|name| matches!(get(name), Some(v) if strings(Some(v)).is_empty()));
        let fail_ok = match get("fail_ok") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" || s == "false" => s == "true",
            Some(other) => return Err(bad(resource, "fail_ok", "true or false", other)),
        };
        let timeout = match get("timeout") {
            None => None,
            Some(v) => Some(
                duration_param(v)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(resource, "timeout", "a number of seconds", v))?,
            ),
        };
        Ok(McollectiveStep {
            agent: word("agent")?,
            action: word("action")?,
            arguments,
            filter,
            limit_nodes: count("limit_nodes", 1)?.map(|n| n as usize),
            tries: count("tries", 1)?.unwrap_or(1) as u32,
            try_sleep: seconds("try_sleep_time", Duration::from_secs(10))?,
            batch_size: count("batch_size", 1)?.map(|n| n as usize),
            batch_sleep: seconds("batch_sleep_time", Duration::ZERO)?,
            timeout,
            fail_ok,
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
            Err(message) => {
                return self.failed(format!("{what} failed: {message}"), vec![], vec![])
            }
        };
        let timeout = self.timeout.unwrap_or(rpc.default_timeout());
        let mut remaining = targets.clone();
        let mut failures = Vec::new();
        for attempt in 1..=self.tries {
            failures = match self.attempt(rpc, &remaining, timeout).await {
                Ok(failures) => failures,
                Err(message) => {
                    return self.failed(format!("{what} failed: {message}"), vec![], targets)
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
                    super::report::seconds(self.try_sleep)
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

    pub(crate) async fn targets(&self, rpc: &RpcClient) -> Result<Vec<String>, String> {
        let mut targets = match self.named_targets() {
            Some(names) => names,
            None => rpc
                .discover(&self.agent, &self.filter)
                .await
                .map_err(|e| format!("discovery failed: {e}"))?,
        };
        if let Some(limit) = self.limit_nodes {
            targets.truncate(limit);
        }
        Ok(targets)
    }

    /// One try: every batch in sorted identity order, `batch_sleep` apart; the failures are
    /// the nodes that answered with an error or did not answer.
    async fn attempt(
        &self,
        rpc: &RpcClient,
        nodes: &[String],
        timeout: Duration,
    ) -> Result<Vec<NodeFailure>, String> {
        let size = self.batch_size.unwrap_or(nodes.len()).max(1);
        let mut failures = Vec::new();
        for (index, batch) in nodes.chunks(size).enumerate() {
            if index > 0 && !self.batch_sleep.is_zero() {
                tokio::time::sleep(self.batch_sleep).await;
            }
            let result = rpc
                .call(&self.agent, &self.action, &self.arguments, batch, timeout)
                .await
                .map_err(|e| e.to_string())?;
            failures.extend(batch_failures(result));
        }
        Ok(failures)
    }
}

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

fn strings(value: Option<&Value>) -> Vec<String> {
    value.map(Value::words).unwrap_or_default()
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
    use std::sync::{Arc, Mutex};

    pub use super::*;
    use crate::fleet::{FleetFile, SimulatedFleet};
    use crate::protocol::decode_request;
    use crate::rpc::ClientOptions;
    use crate::transport::{InProcess, Transport};

    /// appmgr#upgrade to the bravo web servers.
    pub fn upgrade_step() -> McollectiveStep {
        upgrade(1, 4)
    }

    pub fn upgrade(tries: u32, batch_size: usize) -> McollectiveStep {
        McollectiveStep {
            agent: "appmgr".into(),
            action: "upgrade".into(),
            arguments: serde_json::json!({ "revision": 20 }),
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
        let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
        let _fleet = SimulatedFleet::serve(
            FleetFile::load(&path).unwrap(),
            transport.clone(),
            "mcollective",
        )
        .await
        .unwrap();
        let mut spy = transport
            .subscribe("mcollective.node.>".into())
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorder = seen.clone();
        let spying = tokio::spawn(async move {
            while let Some(message) = spy.next().await {
                if let Ok(request) = decode_request(&message.payload) {
                    if request.action == "upgrade" {
                        let node = message.subject.trim_start_matches("mcollective.node.");
                        recorder.lock().unwrap().push(node.to_string());
                    }
                }
            }
        });
        let rpc = RpcClient::new(transport, ClientOptions::for_user("rip"));
        let outcome = step
            .run("Mcollective[update_bravo]", &rpc, &Reporter::quiet())
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        spying.abort();
        let seen = seen.lock().unwrap().clone();
        (outcome, seen)
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
