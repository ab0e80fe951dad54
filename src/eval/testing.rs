//! For the tests of what comes after evaluation (the step graph, the run): a playbook written
//! in the test, evaluated without a fleet.

use super::{evaluate, BufferLog, EvalRequest, Evaluation, Loader, NoFleet};

/// Evaluates `code` as the playbook `playbook.pp` of a repository of its own.
pub(crate) fn evaluate_manifest(code: &str) -> Evaluation {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("playbook.pp");
    std::fs::write(&path, code).unwrap();
    let mut log = BufferLog::default();
    evaluate(EvalRequest {
        loader: Loader::new(dir.path()),
        path,
        playbook: "playbook".into(),
        args: vec![],
        caller: "tester".into(),
        nodes: &NoFleet,
        log: &mut log,
    })
    .unwrap_or_else(|failure| panic!("{}", failure.error.message()))
}
