//! `orchestrate site` end to end: the real binary, the repository's example environment and
//! demo fleet (or graph files and fleets written here), whole outputs compared with times and
//! timestamps normalised.

mod support;

use support::{repo_root, Output, Test};

/// `orchestrate site ARGS` from the project's root.
fn site(args: &[&str]) -> Output {
    Test::new().arg("site").args(args).run()
}

const LAMP: &str = "tests/fixtures/site/lamp.json";

#[test]
fn the_plan_of_the_seeds_lamp_site() {
    let out = site(&["--graph", LAMP, "--plan"]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn the_example_environment_plans_as_the_seed() {
    let from_code = site(&["--environment", "production", "--plan"]);
    let from_file = site(&["--graph", LAMP, "--plan"]);
    assert_eq!(from_code.status, 0, "{}", from_code.whole());
    assert_eq!(from_code.stdout, from_file.stdout);
}

#[test]
fn a_plan_written_as_json_reads_back_with_graph() {
    let dir = tempfile::tempdir().unwrap();
    let json = site(&["--graph", LAMP, "--plan", "--format", "json"]);
    assert_eq!(json.status, 0, "{}", json.whole());
    let saved = dir.path().join("graph.json");
    std::fs::write(&saved, &json.stdout).unwrap();
    let again = site(&["--graph", saved.to_str().unwrap(), "--plan"]);
    let original = site(&["--graph", LAMP, "--plan"]);
    assert_eq!(again.stdout, original.stdout);
    let one = site(&["--graph", LAMP, "--plan", "--instance", "Lamp[app1]"]);
    assert!(
        one.stdout.contains("1 application on 4 managed nodes:"),
        "{}",
        one.whole()
    );
    assert!(!one.stdout.contains("Lamp[app2]"));
}

#[test]
fn without_a_terminal_and_without_yes_the_run_is_refused() {
    let out = site(&["--graph", LAMP]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn the_site_runs_on_the_demo_fleet_group_by_group() {
    let out = site(&["--graph", LAMP, "--yes", "--poll-interval", "0.1"]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_failed_resource_in_group_1_stops_the_run_and_leaves_the_nodes_disabled() {
    let out = site(&[
        "--graph",
        LAMP,
        "--yes",
        "--poll-interval",
        "0.05",
        "--fleet",
        "tests/fixtures/fleets/site_fails.yaml",
    ]);
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
    let cycle = site(&["--graph", &cycle, "--plan"]);
    let missing = site(&["--graph", &missing, "--yes"]);
    let unknown = site(&["--graph", LAMP, "--plan", "--instance", "Lamp[app7]"]);
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        cycle.whole(),
        missing.whole(),
        unknown.whole()
    ));
}

#[test]
fn format_json_needs_plan() {
    let out = site(&["--graph", LAMP, "--format", "json", "--yes"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("--format json"), "{}", out.whole());
}

/// `puppet_run` and `site_run` compose with other steps in a playbook.
#[test]
fn playbooks_run_puppet_and_the_site_as_steps() {
    let graph = repo_root().join(LAMP);
    let deploy = format!(
        "puppet_run {{ 'databases': identity_filter => ['dev1.example.net'], poll_interval => 0.05 }}\n\
         -> site_run {{ 'production': graph => '{}', batch_size => 2, poll_interval => '50ms' }}\n\
         -> notify {{ 'deployed': }}\n",
        graph.display()
    );
    let run = |args: &[&str]| {
        Test::new()
            .file(
                "fleet.yaml",
                "nodes:\n  - identity: dev[1-4].example.net\n    puppet: {run_duration: 50ms}\n",
            )
            .file("deploy.pp", &deploy)
            .args(args)
            .run()
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
    let out = Test::new()
        .file(
            "cycle.json",
            r#"{"environment":"production","applications":{
            "X[x]":{"X::Db[x]":{"produces":["Sql[x]"],"node":"a"},"X::Web[x]":{"consumes":["Sql[x]"],"node":"b"}},
            "Y[y]":{"Y::Db[y]":{"produces":["Sql[y]"],"node":"b"},"Y::Web[y]":{"consumes":["Sql[y]"],"node":"a"}}}}"#,
        )
        .file(
            "deploy.pp",
            "notify { 'before': }\n-> site_run { 'production': graph => 'cycle.json' }\n",
        )
        .args(["run", "deploy"])
        .status(2)
        .run();
    assert!(
        out.stderr.contains("the nodes a, b need each other"),
        "{}",
        out.whole()
    );
    assert!(!out.stdout.contains("before"), "{}", out.whole());
}
