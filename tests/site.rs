//! `orchestrate site` end to end: the real binary, the repository's example environment and
//! demo fleet (or graph files and fleets written here), whole outputs compared with times and
//! timestamps normalised.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn whole(&self) -> String {
        normalise(&format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        ))
    }
}

/// Timestamps become `<time>`, durations `<t>`.
fn normalise(text: &str) -> String {
    let stamps = regex::Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").unwrap();
    let seconds = regex::Regex::new(r"\d+(\.\d+)? seconds").unwrap();
    let times = regex::Regex::new(r"\d+(\.\d+)?s\b").unwrap();
    let text = stamps.replace_all(text, "<time>");
    let text = seconds.replace_all(&text, "<t> seconds");
    times.replace_all(&text, "<t>").to_string()
}

/// Runs the binary from `cwd` (the project's root unless given).
fn site(args: &[&str], cwd: Option<&Path>) -> Output {
    let root = repo_root();
    let out = Command::cargo_bin("orchestrate")
        .unwrap()
        .current_dir(cwd.unwrap_or(&root))
        .env("USER", "rip")
        .env("NO_COLOR", "1")
        .env_remove("ORCHESTRATE_REPO")
        .env_remove("ORCHESTRATE_FLEET")
        .env_remove("ORCHESTRATE_ENVIRONMENTPATH")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .arg("site")
        .args(args)
        .output()
        .expect("runs");
    Output {
        status: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const LAMP: &str = "tests/fixtures/site/lamp.json";

#[test]
fn the_plan_of_the_seeds_lamp_site() {
    let out = site(&["--graph", LAMP, "--plan"], None);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn the_example_environment_plans_as_the_seed() {
    let from_code = site(&["--environment", "production", "--plan"], None);
    let from_file = site(&["--graph", LAMP, "--plan"], None);
    assert_eq!(from_code.status, 0, "{}", from_code.whole());
    assert_eq!(from_code.stdout, from_file.stdout);
}

#[test]
fn a_plan_written_as_json_reads_back_with_graph() {
    let dir = tempfile::tempdir().unwrap();
    let json = site(&["--graph", LAMP, "--plan", "--format", "json"], None);
    assert_eq!(json.status, 0, "{}", json.whole());
    let saved = dir.path().join("graph.json");
    std::fs::write(&saved, &json.stdout).unwrap();
    let again = site(&["--graph", saved.to_str().unwrap(), "--plan"], None);
    let original = site(&["--graph", LAMP, "--plan"], None);
    assert_eq!(again.stdout, original.stdout);
    let one = site(
        &["--graph", LAMP, "--plan", "--instance", "Lamp[app1]"],
        None,
    );
    assert!(
        one.stdout.contains("1 application on 4 managed nodes:"),
        "{}",
        one.whole()
    );
    assert!(!one.stdout.contains("Lamp[app2]"));
}

#[test]
fn without_a_terminal_and_without_yes_the_run_is_refused() {
    let out = site(&["--graph", LAMP], None);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn the_site_runs_on_the_demo_fleet_group_by_group() {
    let out = site(&["--graph", LAMP, "--yes", "--poll-interval", "0.1"], None);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_failed_resource_in_group_1_stops_the_run_and_leaves_the_nodes_disabled() {
    let out = site(
        &[
            "--graph",
            LAMP,
            "--yes",
            "--poll-interval",
            "0.05",
            "--fleet",
            "tests/fixtures/fleets/site_fails.yaml",
        ],
        None,
    );
    insta::assert_snapshot!(out.whole());
}

/// Graphs that cannot be ordered are bad input, named precisely, before any node is touched.
#[test]
fn cycles_and_missing_producers_are_errors_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, json: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, json).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cycle = write(
        "cycle.json",
        r#"{"environment":"production","applications":{
            "X[x]":{"X::Db[x]":{"produces":["Sql[x]"],"node":"a"},"X::Web[x]":{"consumes":["Sql[x]"],"node":"b"}},
            "Y[y]":{"Y::Db[y]":{"produces":["Sql[y]"],"node":"b"},"Y::Web[y]":{"consumes":["Sql[y]"],"node":"a"}}}}"#,
    );
    let missing = write(
        "missing.json",
        r#"{"environment":"production","applications":{
            "Lamp[app9]":{"Lamp::Webapp[app9-1]":{"consumes":["Sql[app9]"],"node":"dev2"}}}}"#,
    );
    let cycle = site(&["--graph", &cycle, "--plan"], None);
    let missing = site(&["--graph", &missing, "--yes"], None);
    let unknown = site(
        &["--graph", LAMP, "--plan", "--instance", "Lamp[app7]"],
        None,
    );
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        cycle.whole(),
        missing.whole(),
        unknown.whole()
    ));
}

#[test]
fn format_json_needs_plan() {
    let out = site(&["--graph", LAMP, "--format", "json", "--yes"], None);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("--format json"), "{}", out.whole());
}

/// `puppet_run` and `site_run` compose with other steps in a playbook.
#[test]
fn playbooks_run_puppet_and_the_site_as_steps() {
    let dir = tempfile::tempdir().unwrap();
    let graph = repo_root().join(LAMP);
    std::fs::write(
        dir.path().join("fleet.yaml"),
        "nodes:\n  - identity: dev[1-4].example.net\n    puppet: {run_duration: 50ms}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deploy.pp"),
        format!(
            "puppet_run {{ 'databases': identity_filter => ['dev1.example.net'], poll_interval => 0.05 }}\n\
             -> site_run {{ 'production': graph => '{}', batch_size => 2, poll_interval => '50ms' }}\n\
             -> notify {{ 'deployed': }}\n",
            graph.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        site_in(dir.path(), args)
            .whole()
            .replace(&graph.display().to_string(), "<lamp.json>")
    };
    let plan = run(&["deploy", "--plan"]);
    let ran = run(&["deploy"]);
    insta::assert_snapshot!(format!("{plan}\n{ran}"));
}

/// A site step whose graph cannot be ordered stops the playbook before anything runs.
#[test]
fn a_site_step_with_a_cycle_stops_the_playbook_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cycle.json"),
        r#"{"environment":"production","applications":{
            "X[x]":{"X::Db[x]":{"produces":["Sql[x]"],"node":"a"},"X::Web[x]":{"consumes":["Sql[x]"],"node":"b"}},
            "Y[y]":{"Y::Db[y]":{"produces":["Sql[y]"],"node":"b"},"Y::Web[y]":{"consumes":["Sql[y]"],"node":"a"}}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deploy.pp"),
        "notify { 'before': }\n-> site_run { 'production': graph => 'cycle.json' }\n",
    )
    .unwrap();
    let out = site_in(dir.path(), &["run", "deploy"]);
    assert_eq!(out.status, 2, "{}", out.whole());
    assert!(
        out.stderr.contains("the nodes a, b need each other"),
        "{}",
        out.whole()
    );
    assert!(!out.stdout.contains("before"), "{}", out.whole());
}

/// The binary with `args` (no `site` verb added) in `dir`.
fn site_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::cargo_bin("orchestrate")
        .unwrap()
        .current_dir(dir)
        .env("USER", "rip")
        .env("NO_COLOR", "1")
        .env_remove("ORCHESTRATE_REPO")
        .env_remove("ORCHESTRATE_FLEET")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .args(args)
        .output()
        .expect("runs");
    Output {
        status: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
