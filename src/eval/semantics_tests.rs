//! The evaluator against Puppet itself: each `tests/fixtures/eval/NAME.pp` was run once through
//! Debian's `puppet apply` (`scripts/record-eval-fixtures`), and `NAME.out` holds the `notice`
//! lines it printed, then `Error: ...` when Puppet failed. The evaluator must print the same
//! notices in the same order, and fail exactly when Puppet failed.

use std::path::{Path, PathBuf};

struct Outcome {
    notices: Vec<String>,
    failed: bool,
    error: String,
}

fn run(path: &Path) -> Outcome {
    // A fixture that reads files has a folder of its name beside it, with modules/ in it
    // (scripts/record-eval-fixtures puts the same first on Puppet's module path).
    let own = path.with_extension("");
    let repo = if own.join("modules").is_dir() {
        own.as_path()
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    let (lines, result) = super::testing::evaluate_file(repo, path, "fixture");
    let notices = lines
        .into_iter()
        .filter(|l| l.starts_with("Notice: "))
        .map(|l| l.trim_end_matches('\n').to_string())
        .collect();
    let (failed, error) = match result {
        Ok(_) => (false, String::new()),
        Err(message) => (true, message),
    };
    Outcome {
        notices,
        failed,
        error,
    }
}

fn expected(out: &Path) -> (Vec<String>, Option<String>) {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let mut notices = Vec::new();
    let mut error = None;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Error: ") {
            if let Some(n) = current.take() {
                notices.push(n);
            }
            error = Some(rest.to_string());
        } else if line.starts_with("Notice: ") {
            if let Some(n) = current.take() {
                notices.push(n);
            }
            current = Some(line.to_string());
        } else if let Some(n) = current.as_mut() {
            // A notice of a value with line breaks continues on the next lines.
            n.push('\n');
            n.push_str(line);
        }
    }
    if let Some(n) = current {
        notices.push(n);
    }
    let notices = notices
        .into_iter()
        .map(|n| n.trim_end_matches('\n').to_string())
        .collect();
    (notices, error)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pp"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn notices_and_failures_match_puppet_apply() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 100, "expected at least 100 fixtures");
    let mut mismatches = Vec::new();
    for pp in &fixtures {
        let (want_notices, want_error) = expected(&pp.with_extension("out"));
        let got = run(pp);
        let name = pp.file_name().unwrap_or_default().to_string_lossy();
        if got.notices != want_notices {
            mismatches.push(format!(
                "{name}: notices differ\n  puppet:      {want_notices:?}\n  orchestrate: {:?}{}",
                got.notices,
                if got.failed {
                    format!("\n  (failed: {})", got.error)
                } else {
                    String::new()
                }
            ));
        } else if got.failed != want_error.is_some() {
            mismatches.push(format!(
                "{name}: puppet {} but orchestrate {}",
                match &want_error {
                    Some(e) => format!("failed ({e})"),
                    None => "succeeded".into(),
                },
                if got.failed {
                    format!("failed ({})", got.error)
                } else {
                    "succeeded".into()
                }
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} fixtures differ from Puppet:\n{}",
        mismatches.len(),
        fixtures.len(),
        mismatches.join("\n")
    );
}
