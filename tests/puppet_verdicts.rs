//! Small manifests of every construct and of typical mistakes, each with the verdict Debian's
//! `puppet parser validate` (Puppet 7.23) gave it, recorded once into tests/fixtures/. The
//! front end must agree: accept what Puppet accepts, and reject what it rejects with a
//! diagnostic on the line Puppet names.

mod support;

use std::collections::BTreeMap;

use serde::Deserialize;
use support::repo_root;

#[derive(Deserialize)]
struct Verdict {
    ok: bool,
    line: Option<usize>,
    #[serde(default)]
    message: String,
}

/// Where orchestrate deliberately differs from Puppet, and why. The test also fails when one
/// of these starts to agree, so the list stays true.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    // Puppet accepts these odd resource types; they fail when evaluated anyway.
    (
        "valid/res_type_default.pp",
        "`default { 'x': }` is read as a hash, not a resource",
    ),
    (
        "valid/res_type_undef.pp",
        "`undef { 'x': }` is read as a hash, not a resource",
    ),
    (
        "valid/res_resource_type_access.pp",
        "a resource whose type is an access expression",
    ),
    // Puppet's checks that orchestrate does not make (yet).
    (
        "invalid/heredoc_epp_syntax_invalid.pp",
        "EPP heredoc text is not checked",
    ),
    (
        "invalid/class_name_unit.pp",
        "names of Puppet's built-in classes are not reserved",
    ),
    // The same mistake, reported where it is rather than where Puppet noticed it.
    (
        "invalid/unterminated_double_string.pp",
        "points at the opening quote, Puppet at the end of the file",
    ),
    (
        "invalid/interp_missing_close_brace.pp",
        "points at the unclosed `${`, Puppet at the end of the file",
    ),
    (
        "invalid/bareword_value_type.pp",
        "points at the keyword `type`, Puppet at the next statement",
    ),
    (
        "invalid/mistake_heredoc_no_parens.pp",
        "points at the text after `@END`, Puppet at the `@`",
    ),
];

fn fixtures() -> BTreeMap<String, Verdict> {
    let path = repo_root().join("tests/fixtures/puppet_verdicts.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("verdicts")).expect("json")
}

fn source(name: &str) -> Vec<u8> {
    let (kind, file) = name.split_once('/').expect("valid/ or invalid/");
    let dir = format!("tests/fixtures/puppet_{kind}");
    std::fs::read(repo_root().join(dir).join(file)).expect("fixture")
}

/// The lines of orchestrate's problems with the text, or none when it is clean.
fn problem_lines(bytes: &[u8]) -> Vec<usize> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![line_of(
            bytes,
            std::str::from_utf8(bytes).unwrap_err().valid_up_to(),
        )];
    };
    match orchestrate::lang::check(text, orchestrate::lang::Dialect::Manifest) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| line_of(bytes, p.span.start))
            .collect(),
    }
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Why orchestrate disagrees with the verdict, if it does.
fn disagreement(verdict: &Verdict, lines: &[usize]) -> Option<String> {
    match (verdict.ok, lines.is_empty(), verdict.line) {
        (true, true, _) => None,
        (true, false, _) => Some(format!("Puppet accepts it; orchestrate: lines {lines:?}")),
        (false, true, _) => Some(format!(
            "Puppet rejects it ({}); orchestrate accepts it",
            verdict.message
        )),
        (false, false, Some(line)) if !lines.contains(&line) => Some(format!(
            "Puppet: line {line} ({}); orchestrate: lines {lines:?}",
            verdict.message
        )),
        (false, false, _) => None,
    }
}

#[test]
fn orchestrate_agrees_with_puppet_parser_validate() {
    let fixtures = fixtures();
    assert!(fixtures.len() > 700, "the fixtures are missing");
    let mut wrong = Vec::new();
    for (name, verdict) in &fixtures {
        let found = disagreement(verdict, &problem_lines(&source(name)));
        let known = KNOWN_DIFFERENCES.iter().any(|(n, _)| n == name);
        match (found, known) {
            (Some(why), false) => wrong.push(format!("{name}: {why}")),
            (None, true) => wrong.push(format!(
                "{name}: agrees now; remove it from KNOWN_DIFFERENCES"
            )),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreement(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_known_difference_names_a_fixture() {
    let fixtures = fixtures();
    for (name, _) in KNOWN_DIFFERENCES {
        assert!(fixtures.contains_key(*name), "{name} is not a fixture");
    }
}
