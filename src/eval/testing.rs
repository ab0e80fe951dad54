//! For the tests of what comes after evaluation (the step graph, the run): a playbook written
//! in the test, evaluated without a fleet, with the step kinds the caller gives (the run's
//! table lives above eval, so eval cannot name it).

use super::steps::StepTypes;
use super::{evaluate, BufferLog, EvalRequest, Evaluation, Loader, NoFleet};

/// Evaluates `code` as the playbook `playbook.pp` of a repository of its own; an error is its
/// message.
pub fn evaluate_manifest(code: &str, steps: &dyn StepTypes) -> Result<Evaluation, String> {
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
        steps,
        log: &mut log,
    })
    .map_err(|failure| failure.error.message().to_string())
}
