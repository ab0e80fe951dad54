//! Running playbooks end to end: the real binary, the repository's own playbooks and demo fleet
//! (or small repositories written here), whole outputs compared with times normalised.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One run of the binary: from the project's root (so `playbooks/` is the repository), or in a
/// scratch repository of its own.
struct Run {
    dir: Option<tempfile::TempDir>,
    args: Vec<String>,
}

struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    /// Exit code, stdout and stderr in one text, times replaced by `<t>`.
    fn whole(&self) -> String {
        normalise(&format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        ))
    }
}

fn normalise(text: &str) -> String {
    let times = regex::Regex::new(r"\d+(\.\d+)?s\b").unwrap();
    times.replace_all(text, "<t>").to_string()
}

impl Run {
    fn new(args: &[&str]) -> Run {
        Run {
            dir: None,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// A scratch repository holding `files`; the run uses it with `--repo`.
    fn in_repo(args: &[&str], files: &[(&str, &str)]) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, content) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, content).unwrap();
        }
        Run {
            dir: Some(dir),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn run(self) -> Output {
        let cwd: &Path = match &self.dir {
            Some(dir) => dir.path(),
            None => &repo_root(),
        };
        let out = Command::cargo_bin("orchestrate")
            .unwrap()
            .current_dir(cwd)
            .env("USER", "rip")
            .env("NO_COLOR", "1")
            .env_remove("ORCHESTRATE_REPO")
            .env_remove("ORCHESTRATE_FLEET")
            // A broker in the developer's environment would replace the embedded fleet.
            .env_remove("NATS_URL")
            .env_remove("ORCHESTRATE_CONFIG")
            .env("XDG_CONFIG_HOME", "/nonexistent")
            .args(&self.args)
            .output()
            .expect("runs");
        Output {
            status: out.status.code().expect("exit code"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

#[test]
fn the_demo_upgrade_runs_every_step_in_order() {
    let out = Run::new(&["app_cluster_upgrade", "cluster=bravo", "revision=20"]).run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn backend_defaults_to_app_and_can_be_overridden() {
    let out = Run::new(&[
        "app_cluster_upgrade",
        "backend=www",
        "cluster=alfa",
        "revision=21",
        "--plan",
    ])
    .run();
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(out
        .stdout
        .contains("Mcollective[haproxy::disable::www/alfa]"));
    let default = Run::new(&[
        "app_cluster_upgrade",
        "cluster=alfa",
        "revision=21",
        "--plan",
    ])
    .run();
    assert!(default
        .stdout
        .contains("Mcollective[haproxy::disable::app/alfa]"));
}

#[test]
fn an_unknown_cluster_stops_at_the_playbooks_own_fail() {
    let out = Run::new(&["app_cluster_upgrade", "cluster=nosuch", "revision=20"]).run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_node_that_fails_twice_fails_the_upgrade_and_skips_what_depends_on_it() {
    let out = Run::new(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
    ])
    .run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn plan_prints_the_ordered_steps_and_runs_nothing() {
    let out = Run::new(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--plan",
    ])
    .run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn graph_draws_the_dag_as_dot_and_json() {
    let dot = Run::new(&[
        "graph",
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
    ])
    .run();
    insta::assert_snapshot!("graph_dot", dot.whole());
    let json = Run::new(&[
        "graph",
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--format",
        "json",
    ])
    .run();
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
    let out = Run::new(&["list"]).run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_report_keeps_every_nodes_failure_for_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = Run::new(&[
        "app_cluster_upgrade",
        "cluster=bravo",
        "revision=20",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
        "--report",
        report.to_str().unwrap(),
    ])
    .run();
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
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    let files = [("seed.pp", SEED_STYLE), ("fleet.yaml", fleet.as_str())];
    let out = Run::in_repo(&["seed", "cluster=bravo", "revision=20"], &files).run();
    insta::assert_snapshot!(out.whole());
    let missing = Run::in_repo(&["seed", "revision=20"], &files).run();
    assert_eq!(missing.status, 1, "{}", missing.whole());
    assert!(missing
        .stderr
        .contains("Please specify a cluster to manage using $cluster"));
}

#[test]
fn a_playbook_that_addresses_no_nodes_runs_without_a_fleet() {
    let files = [(
        "hello.pp",
        "$who = 'world'\nnotice(\"hello ${who}\")\nnotify { 'greeting': message => upcase($who) }\n",
    )];
    let out = Run::in_repo(&["hello"], &files).run();
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
        let file = format!("{name}.pp");
        let mut argv = vec![*name];
        argv.extend_from_slice(args);
        let out = Run::in_repo(&argv, &[(file.as_str(), code)]).run();
        assert_eq!(out.status, 2, "{name}: {}", out.whole());
        all.push_str(&format!("=== {name}\n{}", out.whole()));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn a_playbook_that_does_not_exist_is_a_usage_error() {
    let out = Run::new(&["no_such_playbook"]).run();
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("`orchestrate list`"), "{}", out.stderr);
}

#[test]
fn an_empty_filter_list_discovers_no_node_and_names_need_no_discovery() {
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    let code = "notice(discover({ 'identity' => [] }))\n\
                notice(discover('appmgr', { 'fact' => [] }))\n\
                notice(discover('rpcutil', { 'identity' => ['web2.example.net', 'web1.example.net'] }))\n";
    let files = [("empty.pp", code), ("fleet.yaml", fleet.as_str())];
    let out = Run::in_repo(&["empty"], &files).run();
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(
        out.stdout
            .starts_with("Notice: []\nNotice: []\nNotice: [web1.example.net, web2.example.net]\n"),
        "{}",
        out.whole()
    );
}

/// SIGTERM (what `kill` and service managers send) stops a run as Ctrl-C does: the running
/// step finishes, nothing new starts, and what did not run is reported.
#[test]
fn sigterm_lets_the_running_step_finish_and_starts_nothing_new() {
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    let code = "mcollective { 'slow': agent => 'rpcutil', action => 'ping', identity_filter => 'ghost.example.net', timeout => 3 }\n\
                notify { 'independent': }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stop.pp"), code).unwrap();
    std::fs::write(dir.path().join("fleet.yaml"), fleet).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(["stop", "--concurrency", "1"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Signal once the run has started (its first line is out), so the signal reaches the run
    // and not a process still starting.
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    std::io::BufRead::read_line(&mut reader, &mut stdout).unwrap();
    assert!(stdout.starts_with("Running stop"), "{stdout}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::io::Read::read_to_string(&mut reader, &mut stdout).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
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
