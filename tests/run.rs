//! Running playbooks end to end: the real binary, the repository's own playbooks and demo fleet
//! (or small repositories written here), whole outputs compared with times normalised.

mod support;

use std::time::Duration;

use support::{repo_root, Test};

/// `orchestrate ARGS`, run from the project's root: `playbooks/` is the repository.
fn run(args: &[&str]) -> support::Output {
    Test::new().args(args).run()
}

/// The repository's demo fleet, for scratch repositories that address nodes.
fn demo_fleet() -> String {
    std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap()
}

#[test]
fn the_demo_upgrade_runs_every_step_in_order() {
    let out = run(&["app_cluster_upgrade", "cluster=bravo", "revision=20"]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn backend_defaults_to_app_and_can_be_overridden() {
    let out = run(&[
        "app_cluster_upgrade",
        "backend=www",
        "cluster=alfa",
        "revision=21",
        "--plan",
    ]);
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(out
        .stdout
        .contains("Mcollective[haproxy::disable::www/alfa]"));
    let default = run(&[
        "app_cluster_upgrade",
        "cluster=alfa",
        "revision=21",
        "--plan",
    ]);
    assert!(default
        .stdout
        .contains("Mcollective[haproxy::disable::app/alfa]"));
}

#[test]
fn an_unknown_cluster_stops_at_the_playbooks_own_fail() {
    let out = run(&["app_cluster_upgrade", "cluster=nosuch", "revision=20"]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_node_that_fails_twice_fails_the_upgrade_and_skips_what_depends_on_it() {
    let out = run(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
    ]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn plan_prints_the_ordered_steps_and_runs_nothing() {
    let out = run(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--plan",
    ]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn graph_draws_the_dag_as_dot_and_json() {
    let dot = run(&[
        "graph",
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
    ]);
    insta::assert_snapshot!("graph_dot", dot.whole());
    let json = run(&[
        "graph",
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--format",
        "json",
    ]);
    assert_eq!(json.status, 0, "{}", json.whole());
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let steps = parsed["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 8);
    let update = steps
        .iter()
        .find(|s| s["title"] == "update_bravo")
        .expect("the upgrade step");
    assert_eq!(update["params"]["batch_size"], 2);
    assert_eq!(
        update["containers"],
        serde_json::json!(["App::Update[bravo]"])
    );
}

#[test]
fn list_shows_playbooks_with_their_parameters() {
    let out = run(&["list"]);
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_report_keeps_every_nodes_failure_for_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = run(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status, 1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let failed: Vec<&serde_json::Value> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["failures"],
        serde_json::json!([{
            "identity": "web6.example.net",
            "message": "Could not upgrade: disk full on /srv",
            "statuscode": 1
        }])
    );
    assert_eq!(report["summary"]["skipped"], 4);
}

const SEED_STYLE: &str = r#"# Free top-scope variables, as the original playbooks were written.
if empty($cluster) { fail('Please specify a cluster to manage using $cluster') }
$servers = discover('appmgr', { 'fact' => "cluster=${cluster}" })
notice("${id} found ${servers}")
notice($revision + 1)
notice(get_fact('cluster', { 'identity' => $servers[0] }))
"#;

#[test]
fn seed_style_arguments_become_top_scope_variables() {
    let seed_repo = || {
        Test::new()
            .file("seed.pp", SEED_STYLE)
            .file("fleet.yaml", demo_fleet())
    };
    let out = seed_repo()
        .args(["seed", "cluster=bravo", "revision=20"])
        .run();
    insta::assert_snapshot!(out.whole());
    let missing = seed_repo().args(["seed", "revision=20"]).status(1).run();
    assert!(missing
        .stderr
        .contains("Please specify a cluster to manage using $cluster"));
}

#[test]
fn a_playbook_that_addresses_no_nodes_runs_without_a_fleet() {
    let out = Test::new()
        .file(
            "hello.pp",
            "$who = 'world'\nnotice(\"hello ${who}\")\nnotify { 'greeting': message => upcase($who) }\n",
        )
        .arg("hello")
        .run();
    insta::assert_snapshot!(out.whole());
}

/// Each mistake is a diagnostic at its line with exit code 2, never a panic.
#[test]
fn bad_playbooks_are_diagnostics_with_exit_code_2() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("unknown_type", "mcolective { 'x': agent => 'a', action => 'b' }\n", &[]),
        (
            "unknown_param",
            "define deploy($nodes, $revision) { notify { $title: } }\ndeploy { 'web': nodes => ['a'], revison => 2 }\n",
            &[],
        ),
        (
            "missing_param",
            "define deploy($nodes, $revision) { notify { $title: } }\ndeploy { 'web': nodes => ['a'] }\n",
            &[],
        ),
        (
            "plan_type",
            "class plan_type(Integer $revision) { notice($revision) }\n",
            &["revision=abc"],
        ),
        (
            "plan_unknown",
            "class plan_unknown(Integer $revision) { notice($revision) }\n",
            &["revison=3"],
        ),
        ("no_function", "$x = discovr({ 'class' => 'haproxy' })\n", &[]),
        (
            "cycle",
            "notify { 'a': } -> notify { 'b': }\nnotify { 'c': require => Notify['b'], before => Notify['a'] }\n",
            &[],
        ),
        ("missing_ref", "notify { 'a': before => Notify['nope'] }\n", &[]),
        (
            "bad_step_param",
            "mcollective { 'x': agent => 'rpcutil', action => 'ping', tries => 0 }\n",
            &[],
        ),
        ("syntax", "notify { 'a': message => 'x' \n", &[]),
    ];
    let mut all = String::new();
    for (name, code, args) in cases {
        let out = Test::new()
            .file(&format!("{name}.pp"), code)
            .arg(name)
            .args(*args)
            .run();
        assert_eq!(out.status, 2, "{name}: {}", out.whole());
        all.push_str(&format!("=== {name}\n{}", out.whole()));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn a_playbook_that_does_not_exist_is_a_usage_error() {
    let out = run(&["no_such_playbook"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("`orchestrate list`"), "{}", out.stderr);
}

#[test]
fn an_empty_filter_list_discovers_no_node_and_names_need_no_discovery() {
    let code = "notice(discover({ 'identity' => [] }))\n\
                notice(discover('appmgr', { 'fact' => [] }))\n\
                notice(discover('rpcutil', { 'identity' => ['web2.example.net', 'web1.example.net'] }))\n";
    let out = Test::new()
        .file("empty.pp", code)
        .file("fleet.yaml", demo_fleet())
        .arg("empty")
        .status(0)
        .run();
    assert!(
        out.stdout
            .starts_with("Notice: []\nNotice: []\nNotice: [web1.example.net, web2.example.net]\n"),
        "{}",
        out.whole()
    );
}

#[test]
fn playbooks_discover_and_step_by_compound_filters() {
    let code = "notice(discover({ 'compound' => 'cluster=bravo and not haproxy' }))\n\
                mcollective { 'ping': agent => 'rpcutil', action => 'ping', compound_filter => ['/^role::load/ or cluster=alfa', '!appmgr'] }\n";
    let out = Test::new()
        .file("compound.pp", code)
        .file("fleet.yaml", demo_fleet())
        .arg("compound")
        .status(0)
        .run();
    let bravo = "[web6.example.net, web7.example.net, web8.example.net, web9.example.net]";
    assert!(
        out.stdout.starts_with(&format!("Notice: {bravo}\n")),
        "{}",
        out.whole()
    );
    // lb1 alone: the alfa nodes run appmgr.
    assert!(
        out.stdout
            .contains("rpcutil#ping executed successfully on 1 node after 1 try"),
        "{}",
        out.whole()
    );
    let bad = Test::new()
        .file(
            "bad.pp",
            "notice(discover({ 'compound' => 'cluster=bravo or' }))\n",
        )
        .file("fleet.yaml", demo_fleet())
        .arg("bad")
        .status(2)
        .run();
    assert!(
        bad.stderr
            .contains(r#"bad filter: compound filter "cluster=bravo or": column 17"#),
        "{}",
        bad.whole()
    );
}

/// SIGTERM (what `kill` and service managers send) stops a run as Ctrl-C does: the running
/// step finishes, nothing new starts, and what did not run is reported.
#[test]
fn sigterm_lets_the_running_step_finish_and_starts_nothing_new() {
    let code = "mcollective { 'slow': agent => 'rpcutil', action => 'ping', identity_filter => 'ghost.example.net', timeout => 3 }\n\
                notify { 'independent': }\n";
    let mut run = Test::new()
        .file("stop.pp", code)
        .file("fleet.yaml", demo_fleet())
        .args(["stop", "--concurrency", "1"])
        .status(1)
        .spawn();
    // Signal once the run has started (its first line is out), so the signal reaches the run
    // and not a process still starting.
    let first = run.next_line();
    assert!(first.starts_with("Running stop"), "{first}");
    std::thread::sleep(Duration::from_millis(500));
    run.terminate();
    let stdout = run.finish().stdout;
    assert!(
        stdout.contains("Interrupted: waiting for the running steps to finish"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    ghost.example.net: no response"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Notify[independent]: skipped: not run: the run was interrupted"),
        "{stdout}"
    );
}

const SECRET_PLAYBOOK: &str = r#"# A secret given to a node, shown nowhere.
$token = Sensitive('hunter2-very-secret')
notice("the token is ${token}")
notice([$token, { 'token' => $token }])
notify { 'show': message => $token }
mcollective { 'check':
  agent           => 'nrpe',
  action          => 'runcommand',
  identity_filter => ['web1.example.net'],
  arguments       => { 'command' => $token },
}
"#;

/// A Sensitive value reaches the node's request unwrapped but appears in no output: not in
/// notices, step messages, the plan, the step graph's JSON, errors or the report.
#[test]
fn a_sensitive_value_appears_in_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let repo = || {
        Test::new()
            .file("secret.pp", SECRET_PLAYBOOK)
            .file("fleet.yaml", demo_fleet())
    };
    let runs = [
        repo()
            .args(["secret", "--report", report.to_str().unwrap()])
            .status(0)
            .run(),
        repo().args(["secret", "--plan"]).status(0).run(),
        repo()
            .args(["graph", "secret", "--format", "json"])
            .status(0)
            .run(),
        repo().args(["graph", "secret"]).status(0).run(),
    ];
    let report = std::fs::read_to_string(&report).unwrap();
    // The orchestrator's record of what it sent: the request, its secret redacted.
    let written: serde_json::Value = serde_json::from_str(&report).unwrap();
    let sent = &written["requests"][0];
    assert_eq!(
        (&sent["agent"], &sent["action"]),
        (&"nrpe".into(), &"runcommand".into())
    );
    assert_eq!(sent["targets"], serde_json::json!(["web1.example.net"]));
    assert_eq!(sent["data"]["command"], "Sensitive [value redacted]");
    assert_eq!(sent["request_id"].as_str().unwrap().len(), 32, "{sent}");
    assert!(sent["time"].as_u64().unwrap() > 1_700_000_000, "{sent}");
    assert!(
        runs[0].stdout.contains("Sensitive [value redacted]"),
        "{}",
        runs[0].whole()
    );
    for text in runs.iter().map(|r| r.whole()).chain([report]) {
        assert!(!text.contains("hunter2"), "the secret leaked:\n{text}");
    }
}
