//! `discover()`'s arguments as they reach the fleet: the agent, the filter and the discovery
//! method of its options hash, through a `NodeQuery` that records each call.

use std::sync::Mutex;

use crate::eval::{evaluate, BufferLog, EvalErrorKind, EvalRequest, Loader, NodeQuery, QueryError};
use crate::eval::{QueryErrorKind, Value};
use crate::protocol::{FactFilter, Filter};
use crate::registry::DiscoveryMethod;

/// Answers every discovery with `web1.example.net`, and keeps what it was asked.
#[derive(Default)]
struct Recording {
    asked: Mutex<Vec<(String, Filter, Option<DiscoveryMethod>)>>,
}

impl NodeQuery for Recording {
    fn discover(
        &self,
        agent: &str,
        filter: &Filter,
        method: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, QueryError> {
        let mut asked = self.asked.lock().unwrap();
        asked.push((agent.to_string(), filter.clone(), method));
        Ok(vec!["web1.example.net".to_string()])
    }

    fn get_fact(&self, _: &str, _: &Filter) -> Result<Value, QueryError> {
        Err(QueryError::new(QueryErrorKind::NoFleet, "not asked here"))
    }

    /// Every node named `silent...` is silent.
    fn silent(&self, nodes: &[String]) -> Result<Vec<String>, QueryError> {
        let silent = nodes
            .iter()
            .filter(|node| node.starts_with("silent"))
            .cloned();
        Ok(silent.collect())
    }
}

/// `code` as a playbook of its own, evaluated against `nodes`: the notices, or the error's
/// kind, message, help and the text it points at.
fn run(
    code: &str,
    nodes: &dyn NodeQuery,
) -> Result<Vec<String>, (EvalErrorKind, String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("playbook.pp");
    std::fs::write(&path, code).unwrap();
    let mut log = BufferLog::default();
    let result = evaluate(EvalRequest {
        loader: Loader::new(dir.path()),
        path,
        playbook: "playbook".into(),
        args: vec![],
        caller: "tester".into(),
        nodes,
        steps: &crate::run::step::Kinds,
        log: &mut log,
    });
    match result {
        Ok(_) => Ok(log.lines),
        Err(failure) => {
            let problem = &failure.error.problem;
            Err((
                failure.error.kind(),
                problem.message.clone(),
                problem.help.clone().unwrap_or_default(),
                code[problem.span.start..problem.span.end].to_string(),
            ))
        }
    }
}

fn bravo() -> Filter {
    Filter {
        fact: vec![FactFilter::parse("cluster=bravo").unwrap()],
        ..Filter::default()
    }
}

#[test]
fn the_method_of_the_options_reaches_the_query_with_the_agent_and_filter() {
    let nodes = Recording::default();
    let code = "\
notice(discover('appmgr', { 'fact' => 'cluster=bravo' }, { 'method' => 'registry' }))
notice(discover({ 'fact' => 'cluster=bravo' }, { 'method' => 'broadcast' }))
notice(discover('appmgr', { 'fact' => 'cluster=bravo' }))
notice(discover({ 'fact' => 'cluster=bravo' }, {}))
notice(discover('appmgr'))
notice(discover())
";
    let notices = run(code, &nodes).unwrap();
    assert_eq!(notices, vec!["Notice: [web1.example.net]"; 6]);
    let asked = nodes.asked.into_inner().unwrap();
    let expected = [
        ("appmgr", bravo(), Some(DiscoveryMethod::Registry)),
        ("rpcutil", bravo(), Some(DiscoveryMethod::Broadcast)),
        ("appmgr", bravo(), None),
        ("rpcutil", bravo(), None),
        ("appmgr", Filter::default(), None),
        ("rpcutil", Filter::default(), None),
    ];
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(agent, filter, method)| (agent.to_string(), filter, method))
        .collect();
    assert_eq!(asked, expected);
}

#[test]
fn a_bad_option_is_a_diagnostic_at_the_call_and_asks_nothing() {
    let nodes = Recording::default();
    let cases = [
        (
            "$n = discover('rpcutil', {}, { 'method' => 'gossip' })\n",
            "unknown discovery method 'gossip'",
            "'broadcast'",
        ),
        (
            "$n = discover({}, { 'methd' => 'registry' })\n",
            "unknown discover() option 'methd'",
            "'method'",
        ),
        (
            "$n = discover({}, { 'method' => 3 })\n",
            "unknown discovery method an Integer",
            "'registry'",
        ),
        // Checked even when an empty list in the filter selects no node without asking.
        (
            "$n = discover('rpcutil', { 'identity' => [] }, { 'timeout' => 2 })\n",
            "unknown discover() option 'timeout'",
            "'method'",
        ),
        (
            "$n = discover({}, {}, {})\n",
            "discover() takes an optional agent name, an optional filter hash and, after the filter, an optional options hash",
            "{ 'method' => 'registry' }",
        ),
    ];
    for (code, message, help) in cases {
        let (kind, said, hint, at) = run(code, &nodes).unwrap_err();
        assert_eq!(kind, EvalErrorKind::Input, "{code}");
        assert_eq!(said, message, "{code}");
        assert!(hint.contains(help), "{code}: {hint}");
        assert!(at.starts_with("discover("), "{code}: {at}");
    }
    assert!(nodes.asked.into_inner().unwrap().is_empty());
}

/// Finds the nodes a filter's identities name; those named `silent...` do not answer a ping.
struct Named;

impl NodeQuery for Named {
    fn discover(
        &self,
        _: &str,
        filter: &Filter,
        _: Option<DiscoveryMethod>,
    ) -> Result<Vec<String>, QueryError> {
        Ok(filter.identity.clone())
    }

    fn get_fact(&self, _: &str, _: &Filter) -> Result<Value, QueryError> {
        Err(QueryError::new(QueryErrorKind::NoFleet, "not asked here"))
    }

    fn silent(&self, nodes: &[String]) -> Result<Vec<String>, QueryError> {
        let silent = nodes.iter().filter(|node| node.starts_with("silent"));
        Ok(silent.cloned().collect())
    }
}

#[test]
fn test_true_fails_naming_the_nodes_found_that_do_not_answer() {
    let answering = "notice(discover({ 'identity' => ['/web/', 'web1'] }, { 'test' => true }))\n";
    assert!(run(answering, &Named).is_ok());
    let code = "$n = discover({ 'identity' => ['/x/', 'web1', 'silent1'] }, { 'test' => true })\n";
    let (_, said, _, at) = run(code, &Named).unwrap_err();
    assert_eq!(
        said,
        "discovery failed: 1 of the 3 nodes found did not answer a ping: silent1"
    );
    assert!(at.starts_with("discover("), "{at}");
    let untested = "notice(discover({ 'identity' => ['/x/', 'silent1'] }, { 'test' => false }))\n";
    assert!(run(untested, &Named).is_ok());
    let (_, said, _, _) = run("$n = discover({}, { 'test' => 'yes' })\n", &Named).unwrap_err();
    assert_eq!(said, "test must be true or false, not 'yes'");
}
