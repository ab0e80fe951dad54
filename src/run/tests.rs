//! The run on small playbooks without a fleet: `notify` steps succeed and `mcollective`
//! steps fail (nothing to send to), which is enough to see what runs, in what order, and what
//! a failure skips.

use std::sync::Arc;

use super::{prepare, run, RunContext};
use crate::eval::testing::evaluate_manifest;
use crate::report::{Reporter, StepRecord, StepStatus};

fn run_manifest(code: &str, concurrency: usize) -> Vec<StepRecord> {
    let evaluation = evaluate_manifest(code);
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
