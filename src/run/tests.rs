//! The run on small playbooks without a fleet: `notify` steps succeed and `mcollective`
//! steps fail (nothing to send to), which is enough to see what runs, in what order, and what
//! a failure skips.

use std::sync::Arc;

use super::{prepare, run, RunContext};
use crate::eval::NoFleet;
use crate::report::{Reporter, StepRecord, StepStatus};

fn run_manifest(code: &str, concurrency: usize) -> Vec<StepRecord> {
    let evaluation = evaluate_manifest(code).unwrap();
    let prepared = prepare(&evaluation)
        .map_err(|e| e.message().to_string())
        .unwrap();
    let context = Arc::new(RunContext {
        rpc: None,
        reporter: Reporter::quiet(),
        concurrency,
        stop: Default::default(),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&prepared, context.clone())).unwrap();
    context.reporter.records()
}

/// Each step named ended as said.
fn assert_statuses(records: &[StepRecord], expected: &[(&str, StepStatus)]) {
    for (step, status) in expected {
        let found = records.iter().find(|r| r.step == *step).map(|r| r.status);
        assert_eq!(found, Some(*status), "{step}");
    }
}

const FAILING: &str = "agent => 'rpcutil', action => 'ping', identity_filter => 'web1'";

#[test]
fn a_failed_step_skips_its_dependents_and_only_them() {
    let records = run_manifest(
        &format!(
            "mcollective {{ 'broken': {FAILING} }}\n\
             -> notify {{ 'after': }}\n\
             -> notify {{ 'after that': }}\n\
             notify {{ 'independent': }}\n"
        ),
        4,
    );
    assert_statuses(
        &records,
        &[
            ("Mcollective[broken]", StepStatus::Failed),
            ("Notify[after]", StepStatus::Skipped),
            ("Notify[after that]", StepStatus::Skipped),
            ("Notify[independent]", StepStatus::Ok),
        ],
    );
    let skipped = records
        .iter()
        .find(|r| r.step == "Notify[after that]")
        .unwrap();
    assert_eq!(skipped.summary, "Mcollective[broken] failed");
}

#[test]
fn fail_ok_reports_the_failure_and_runs_what_follows() {
    let records = run_manifest(
        &format!(
            "mcollective {{ 'broken': {FAILING}, fail_ok => true }} -> notify {{ 'after': }}\n"
        ),
        4,
    );
    assert_statuses(
        &records,
        &[
            ("Mcollective[broken]", StepStatus::Tolerated),
            ("Notify[after]", StepStatus::Ok),
        ],
    );
}

#[test]
fn an_edge_to_a_define_orders_every_step_inside_it() {
    let records = run_manifest(
        &format!(
            "define pair() {{ notify {{ \"${{title}}-1\": }} notify {{ \"${{title}}-2\": }} }}\n\
             mcollective {{ 'broken': {FAILING} }} -> pair {{ 'p': }}\n\
             pair {{ 'q': }} -> notify {{ 'last': }}\n"
        ),
        1,
    );
    assert_statuses(
        &records,
        &[
            ("Pair[p]/Notify[p-1]", StepStatus::Skipped),
            ("Pair[p]/Notify[p-2]", StepStatus::Skipped),
            ("Pair[q]/Notify[q-1]", StepStatus::Ok),
        ],
    );
    let position = |step: &str| records.iter().position(|r| r.step == step).unwrap();
    assert!(position("Pair[q]/Notify[q-1]") < position("Notify[last]"));
    assert!(position("Pair[q]/Notify[q-2]") < position("Notify[last]"));
}

#[test]
fn steps_run_in_dependency_order_with_any_concurrency() {
    for concurrency in [1, 2, 8] {
        let records = run_manifest(
            "notify { 'c': require => Notify['b'] }\nnotify { 'b': require => Notify['a'] }\nnotify { 'a': }\n",
            concurrency,
        );
        let order: Vec<&str> = records.iter().map(|r| r.step.as_str()).collect();
        assert_eq!(order, ["Notify[a]", "Notify[b]", "Notify[c]"]);
    }
}

fn evaluate_manifest(code: &str) -> Result<crate::eval::Evaluation, String> {
    crate::eval::testing::evaluate_manifest(code, &super::step::Kinds)
}

/// A bug fixed: `Puppet_run[...]` and `Site_run[...]` were not known as resource types, so
/// a relationship could not name those steps.
#[test]
fn a_relationship_may_name_every_step_kind() {
    let evaluation = evaluate_manifest(
        "puppet_run { 'db': identity_filter => ['db1'] }\n\
         notify { 'after': require => Puppet_run['db'] }\n\
         Puppet_run['db'] -> Rpc['ping']\n\
         rpc { 'ping': agent => 'rpcutil', action => 'ping', identity_filter => 'db1' }\n",
    )
    .unwrap();
    let prepared = prepare(&evaluation)
        .map_err(|e| e.message().to_string())
        .unwrap();
    let lines = super::plan_lines(&prepared);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("Puppet_run[db]"), "{lines:?}");
    assert!(lines[1].ends_with("[after 1]"), "{lines:?}");
    assert!(lines[2].ends_with("[after 1]"), "{lines:?}");
}

/// Every kind reads a count and a flag by the same rule: a string of one is taken too.
#[test]
fn every_kind_reads_counts_and_flags_alike() {
    let evaluation = evaluate_manifest(
        "puppet_run { 'db': identity_filter => ['db1'], batch_size => '2', fail_ok => 'true' }\n\
         mcollective { 'ping': agent => 'rpcutil', action => 'ping', batch_size => '2', fail_ok => 'true' }\n",
    )
    .unwrap();
    let prepared = prepare(&evaluation)
        .map_err(|e| e.message().to_string())
        .unwrap();
    let steps: Vec<&super::step::StepKind> =
        prepared.steps.iter().flatten().map(|s| &s.kind).collect();
    for kind in steps {
        let nodes = match kind {
            super::step::StepKind::Mcollective(m) => m.as_ref(),
            super::step::StepKind::PuppetRun(p) => &p.nodes,
            other => panic!("unexpected step {other:?}"),
        };
        assert_eq!(nodes.batch_size, Some(2));
        assert!(nodes.fail_ok);
    }
}

/// A step's parameters are checked by the evaluator, at the attribute, for every kind.
#[test]
fn a_bad_step_parameter_is_refused_where_it_is_written() {
    for (code, message) in [
        (
            "site_run { 'production': batch_size => 0 }\n",
            "Site_run[production]: parameter 'batch_size' expects an integer of at least 1, got 0",
        ),
        (
            "site_run { 'production': fail_ok => 'maybe' }\n",
            "Site_run[production]: parameter 'fail_ok' expects true or false, got 'maybe'",
        ),
        (
            "puppet_run { 'db': poll_interval => 'soon' }\n",
            "Puppet_run[db]: parameter 'poll_interval' expects a number of seconds, got 'soon'",
        ),
        (
            "mcollective { 'x': agent => 'a', action => 'b' }\nMcollective['x'] { tries => '0' }\n",
            "Mcollective[x]: parameter 'tries' expects an integer of at least 1, got '0'",
        ),
    ] {
        assert_eq!(
            evaluate_manifest(code).err().as_deref(),
            Some(message),
            "{code}"
        );
    }
}

fn titles_of(evaluation: &crate::eval::Evaluation, type_name: &str) -> Vec<String> {
    let mut titles: Vec<String> = evaluation
        .catalog
        .resources
        .iter()
        .filter(|r| r.type_name == type_name)
        .map(|r| r.title.clone())
        .collect();
    titles.sort();
    titles
}

/// `tag` (a statement call of the grammar that nothing implemented) tags the class or define
/// whose body calls it, as in Puppet; a collector selects by the tags a resource carries: its
/// own, its type's, and its containers'.
#[test]
fn tags_select_what_a_collector_realizes() {
    let evaluation = evaluate_manifest(
        "class web { tag 'frontend'\n @notify { 'in web': } }\n\
         include web\n\
         @notify { 'tagged': tag => ['Frontend', 'x'] }\n\
         @notify { 'untagged': }\n\
         Notify <| tag == 'frontend' |>\n",
    )
    .unwrap();
    assert_eq!(titles_of(&evaluation, "notify"), ["in web", "tagged"]);
    let by_class = evaluate_manifest(
        "class web { @notify { 'in web': } }\ninclude web\n@notify { 'outside': }\nNotify <| tag == 'web' |>\n",
    )
    .unwrap();
    assert_eq!(titles_of(&by_class, "notify"), ["in web"]);
    let at_top = evaluate_manifest(
        "tag('everywhere')\n@notify { 'a': }\nNotify <| tag == 'everywhere' |>\n",
    )
    .unwrap();
    assert_eq!(titles_of(&at_top, "notify"), ["a"]);
    assert_eq!(
        evaluate_manifest("tag('not a tag')\n").err().as_deref(),
        Some("Invalid tag 'not a tag'")
    );
}

#[test]
fn without_a_fleet_discovery_says_so_by_its_kind() {
    use crate::eval::{NodeQuery, QueryErrorKind};
    let error = NoFleet
        .discover("rpcutil", &crate::protocol::Filter::default(), None)
        .unwrap_err();
    assert_eq!(error.kind(), QueryErrorKind::NoFleet);
    assert_eq!(
        error.to_string(),
        "no fleet is configured (give --fleet FILE or --nats URL)"
    );
}
