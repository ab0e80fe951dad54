//! For the tests of what comes after evaluation (the step graph, the run): a playbook written
//! in the test, evaluated without a fleet, with the step kinds the caller gives (the run's
//! table lives above eval, so eval cannot name it).

use std::path::Path;

use super::steps::StepTypes;
use super::{evaluate, BufferLog, EvalRequest, Evaluation, Loader, NoFleet};

/// Evaluates the playbook file `path` of the repository `repo` without a fleet, with the
/// run's step kinds: the lines it logged, and its evaluation or the error's message.
pub fn evaluate_file(
    repo: &Path,
    path: &Path,
    playbook: &str,
) -> (Vec<String>, Result<Evaluation, String>) {
    let mut log = BufferLog::default();
    let result = evaluate(EvalRequest {
        loader: Loader::new(repo),
        path: path.to_path_buf(),
        playbook: playbook.into(),
        args: vec![],
        caller: "tester".into(),
        nodes: &NoFleet,
        steps: &crate::run::step::Kinds,
        log: &mut log,
    })
    .map_err(|failure| failure.error.message().to_string());
    (log.lines, result)
}

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
