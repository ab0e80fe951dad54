//! The evaluator never panics: every manifest of the parser's fixture corpus (and of the
//! Debian module corpus, when `scripts/corpus` has unpacked it) is evaluated; each may succeed
//! or fail with a diagnostic, but must not panic, and must finish.

use std::path::{Path, PathBuf};

use super::{evaluate, BufferLog, EvalRequest, Loader, NoFleet};

fn manifests(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            manifests(&path, out);
        } else if path.extension().is_some_and(|e| e == "pp") {
            out.push(path);
        }
    }
}

/// Evaluates a file on a 2 MiB thread (the smallest stack a caller gives the evaluator);
/// returns the error message, if any.
fn evaluate_file(path: PathBuf) -> std::thread::Result<Option<String>> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut log = BufferLog::default();
            let repo = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            let result = evaluate(EvalRequest {
                loader: Loader::new(&repo),
                path,
                playbook: "robustness".into(),
                args: vec![],
                caller: "tester".into(),
                nodes: &NoFleet,
                steps: &crate::run::step::Kinds,
                log: &mut log,
            });
            let message = result.err().map(|f| f.error.message().to_string());
            // Building the step graph must not panic either.
            message
        })
        .expect("spawn")
        .join()
}

#[test]
fn no_manifest_of_the_fixture_corpora_panics_the_evaluator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "tests/fixtures/puppet_valid",
        "tests/fixtures/puppet_invalid",
        "playbooks",
    ] {
        manifests(&root.join(dir), &mut files);
    }
    manifests(&root.join("target/corpus/tree"), &mut files);
    assert!(files.len() > 800);
    let panicked: Vec<String> = files
        .into_iter()
        .filter(|f| evaluate_file(f.clone()).is_err())
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        panicked.is_empty(),
        "the evaluator panicked on: {panicked:#?}"
    );
}

#[test]
fn recursion_without_end_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("function", "function f($x) { f($x + 1) }\nnotice(f(1))\n"),
        (
            "define",
            "define d() { d { \"${title}x\": } }\nd { 'a': }\n",
        ),
        (
            "lambda",
            "function g($n) { [1].map |$i| { g($n) } }\ng(1)\n",
        ),
    ];
    for (name, code) in cases {
        let path = dir.path().join(format!("{name}.pp"));
        std::fs::write(&path, code).unwrap();
        let result = evaluate_file(path).expect("must not panic");
        assert!(result.is_some(), "{name}: endless recursion must fail");
    }
}

/// Inputs that once panicked, aborted or hung (found by review): each is now an error.
#[test]
fn arithmetic_and_formatting_at_their_limits_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("abs", "$x = -9223372036854775807 - 1\nnotice(abs($x))\n"),
        ("range", "notice(size(range(1, 9223372036854775807)))\n"),
        ("precision", "notice(sprintf('%.2000000000f', 1))\n"),
        ("width", "notice(sprintf('%999999999999d', 1))\n"),
        (
            "each",
            "1000000000000.each |$x| { if $x > 2 { break() } notice($x) }\n",
        ),
        (
            "inherits",
            "class a inherits b { }\nclass b inherits a { }\ninclude a\n",
        ),
        (
            "nesting",
            "$d = range(1, 5000).reduce([]) |$m, $x| { [$m] }\nnotice('done')\n",
        ),
        ("filter", "notice(discover({ 'identity' => '/[/' }))\n"),
    ];
    for (name, code) in cases {
        let path = dir.path().join(format!("{name}.pp"));
        std::fs::write(&path, code).unwrap();
        let result = evaluate_file(path).expect("must not panic");
        assert!(result.is_some(), "{name}: must fail with a message");
    }
}

/// Step parameters too large for the clock are refused before anything runs.
#[test]
fn step_durations_beyond_the_clock_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for param in [
        "timeout => 9223372036854775807",
        "try_sleep_time => 1e20",
        "tries => 4294967297",
    ] {
        let path = dir.path().join("step.pp");
        let code = format!("mcollective {{ 'x': agent => 'a', action => 'b', identity_filter => 'n1', {param} }}\n");
        std::fs::write(&path, code).unwrap();
        let mut log = BufferLog::default();
        let refused = evaluate(EvalRequest {
            loader: Loader::new(dir.path()),
            path,
            playbook: "step".into(),
            args: vec![],
            caller: "tester".into(),
            nodes: &NoFleet,
            steps: &crate::run::step::Kinds,
            log: &mut log,
        })
        .map(|_| ())
        .map_err(|f| f.error.message().to_string());
        let name = param.split(' ').next().unwrap_or_default();
        assert!(
            refused
                .as_ref()
                .is_err_and(|m| m.contains(&format!("parameter '{name}' expects"))),
            "{param} must be refused: {refused:?}"
        );
    }
}
