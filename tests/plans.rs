//! Plans by name, end to end: a repository laid out as Choria's (`modules/<mod>/plans/`) and
//! Bolt's (`bolt-project.yaml` and `plans/`), listed and run as their users would.

mod support;

use support::{repo_root, Test};

const DISABLE: &str = r#"# Disables Puppet on the nodes of a cluster
#
# Every node is asked at once.
#
# @param cluster The cluster to disable
# @param message Why, for whoever finds Puppet disabled
# @return [String] what was done
plan ops::puppet::disable (
  String[1] $cluster,
  String $message = 'maintenance',
) {
  notice("disable ${cluster}: ${message}")
  return "disabled ${cluster}"
}
"#;

/// Choria's layout and a Bolt project's, with the demo fleet.
fn repository() -> Test {
    let fleet = std::fs::read_to_string(repo_root().join("playbooks/fleet.yaml")).unwrap();
    Test::new()
        .file("fleet.yaml", fleet)
        .file("modules/ops/plans/puppet/disable.pp", DISABLE)
        .file(
            "modules/ops/plans/init.pp",
            "# @summary Says hello\nplan ops(String $who) { notice(\"hello ${who}\") }\n",
        )
        .file("bolt-project.yaml", "---\nname: site\n")
        .file(
            "plans/deploy.pp",
            "plan site::deploy(Integer $release = 1) { notice(\"release ${release}\") }\n",
        )
        .file(
            "modules/facts/plans/init.pp",
            "plan facts(String $x) { notice($x) }\n",
        )
        .file("modules/two/plans/init.pp", "plan a() { }\nplan b() { }\n")
}

#[test]
fn list_shows_every_plan_with_its_parameters_and_docs() {
    let out = repository().arg("list").run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn a_plan_runs_by_its_name_with_its_arguments() {
    let out = repository()
        .args(["run", "ops::puppet::disable", "cluster=bravo"])
        .run();
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(out.stdout.contains("Notice: disable bravo: maintenance"));
    assert!(out
        .stdout
        .contains("ops::puppet::disable returned disabled bravo"));
    let short = repository().args(["ops", "who=you"]).run();
    assert!(
        short.stdout.contains("Notice: hello you"),
        "{}",
        short.whole()
    );
    let project = repository().args(["site::deploy", "release=7"]).run();
    assert!(
        project.stdout.contains("Notice: release 7"),
        "{}",
        project.whole()
    );
}

#[test]
fn parameters_come_from_params_as_bolt_takes_them() {
    let inline = repository()
        .args(["ops::puppet::disable", "--params", r#"{"cluster": "alfa"}"#])
        .run();
    assert!(inline.stdout.contains("disable alfa"), "{}", inline.whole());
    let file = repository()
        .file(
            "params.json",
            r#"{"cluster": "charlie", "message": "upgrade"}"#,
        )
        .args(["ops::puppet::disable", "--params", "@params.json"])
        .run();
    assert!(
        file.stdout.contains("disable charlie: upgrade"),
        "{}",
        file.whole()
    );
    let twice = repository()
        .args([
            "ops::puppet::disable",
            "--params",
            r#"{"cluster": "a"}"#,
            "cluster=b",
        ])
        .run();
    assert_eq!(twice.status, 2);
    assert!(
        twice.stderr.contains("cluster is given twice"),
        "{}",
        twice.whole()
    );
}

#[test]
fn an_undeclared_parameter_is_an_error_naming_the_parameters() {
    let out = repository()
        .args(["ops::puppet::disable", "cluster=bravo", "clustr=x"])
        .run();
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("has no parameter named 'clustr'"));
    assert!(out.stderr.contains("its parameters are: cluster, message"));
}

#[test]
fn a_file_whose_plan_is_not_named_after_it_runs_its_one_plan() {
    let out = repository()
        .args(["run", "modules/facts/plans/init.pp", "x=given"])
        .run();
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(out.stdout.contains("Notice: given"));
    let missing = repository()
        .args(["run", "modules/facts/plans/init.pp"])
        .run();
    assert_eq!(missing.status, 2, "{}", missing.whole());
    assert!(missing.stderr.contains("expects a value for parameter 'x'"));
}

#[test]
fn a_file_that_does_not_define_what_it_is_run_as_is_an_error_not_a_success() {
    for args in [&["two"][..], &["run", "modules/two/plans/init.pp"]] {
        let out = repository().args(args).run();
        assert_eq!(out.status, 2, "{}", out.whole());
        assert!(out.stderr.contains("defines no plan or class named 'two'"));
        assert!(out.stderr.contains("it has plan a, plan b"));
        assert!(!out.stdout.contains("Run succeeded"));
    }
    let nothing = repository()
        .file("empty.pp", "define x() { }\n")
        .arg("empty")
        .run();
    assert_eq!(nothing.status, 2, "{}", nothing.whole());
    assert!(nothing.stderr.contains("it has nothing to run"));
}

#[test]
fn an_unknown_plan_says_where_it_was_looked_for() {
    let out = repository().args(["ops::nosuch"]).run();
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("modules/ops/plans/nosuch.pp"),
        "{}",
        out.whole()
    );
}

#[test]
fn a_top_scope_playbook_warns_of_an_argument_it_never_reads() {
    let out = repository()
        .file("hello.pp", "notice(\"hello ${cluster}\")\n")
        .args(["hello", "cluster=a", "clustr=b"])
        .run();
    assert_eq!(out.status, 0, "{}", out.whole());
    assert!(out
        .stderr
        .contains("clustr=b is given, but the playbook never reads $clustr"));
}

/// A Bolt plan reads the project's Hiera data (`plan_hierarchy`, interpolating a plan
/// variable) and the orchestrating host's facts, as Choria plans read `choria.playbook`.
#[test]
fn a_plan_reads_hiera_data_and_the_hosts_facts() {
    let plan = r#"plan site::release(String $tier = 'prod') {
  $servers = lookup('servers', Array[String], 'unique')
  $limits = lookup('limits', Hash, 'deep')
  notice("${facts['choria']['playbook']} by ${facts['identity']['user']}: ${servers} ${limits}")
  notice(lookup('missing', {default_value => 'fallback'}))
}
"#;
    let hiera = "version: 5\nplan_hierarchy:\n  - name: Tier\n    path: \"%{tier}.yaml\"\n  - name: Common\n    path: common.yaml\n";
    let out = repository()
        .file("plans/release.pp", plan)
        .file("hiera.yaml", hiera)
        .file("data/prod.yaml", "servers: [web2]\nlimits: {cpu: 4}\n")
        .file(
            "data/common.yaml",
            "servers: [web1, web2]\nlimits: {cpu: 1, mem: 2}\n",
        )
        .args(["site::release"])
        .run();
    assert_eq!(out.status, 0, "{}", out.whole());
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    let line = format!("Notice: site::release by {user}: [web2, web1] {{cpu => 4, mem => 2}}");
    assert!(out.stdout.contains(&line), "{}", out.whole());
    assert!(out.stdout.contains("Notice: fallback"), "{}", out.whole());

    let broken = repository()
        .file("plans/release.pp", plan)
        .file("hiera.yaml", "version: 4\n")
        .args(["site::release"])
        .run();
    assert_eq!(broken.status, 2, "{}", broken.whole());
    assert!(
        broken.stderr.contains("only version 5"),
        "{}",
        broken.whole()
    );
}
