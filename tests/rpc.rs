//! `orchestrate rpc` on the embedded fleet (the repository's playbooks/fleet.yaml, or
//! `--fleet FILE`): the same verb as over NATS, no broker needed.

mod support;

use support::Test;

/// `orchestrate rpc ARGS` from the project's root.
fn rpc(args: &[&str]) -> Test {
    Test::new().arg("rpc").args(args)
}

#[test]
fn a_failing_node_fails_the_request_with_exit_code_1() {
    let out = rpc(&[
        "appmgr",
        "upgrade",
        "revision=20",
        "-F",
        "cluster=bravo",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
    ])
    .status(1)
    .run();
    insta::assert_snapshot!(out.whole());
}

#[test]
fn named_nodes_are_asked_directly_and_a_missing_input_is_statuscode_3() {
    let out = rpc(&["appmgr", "upgrade", "-I", "web1.example.net", "--json"])
        .status(1)
        .run();
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["replies"][0]["statuscode"], 3);
    assert_eq!(
        report["replies"][0]["statusmsg"],
        "Missing required input revision"
    );
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["discovered"], serde_json::Value::Null);
}

#[test]
fn bad_inputs_and_filters_are_usage_errors() {
    let out = rpc(&["rpcutil", "ping", "oops"]).status(2).run();
    assert!(
        out.stderr.contains("'oops' is not an input"),
        "{}",
        out.whole()
    );
    rpc(&["rpcutil", "ping", "-F", "=="]).status(2).run();
}

/// The identities that answered, sorted.
fn answered(out: &support::Output) -> Vec<String> {
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let mut names: Vec<String> = report["replies"]
        .as_array()
        .expect("replies")
        .iter()
        .map(|reply| reply["identity"].as_str().expect("an identity").to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn compound_filters_select_the_nodes() {
    let out = rpc(&[
        "rpcutil",
        "ping",
        "-S",
        "((cluster=alfa or cluster=bravo) and !cluster=bravo and /^role::w/) or haproxy",
        "-S",
        "rpcutil and !appmgr or cluster=alfa",
        "--json",
    ])
    .run();
    let mut expected: Vec<String> = (1..=5)
        .map(|n| format!("web{n}.example.net"))
        .chain(["lb1.example.net".to_string()])
        .collect();
    expected.sort();
    assert_eq!(answered(&out), expected, "{}", out.whole());
    // More nodes than are asked directly: one broadcast carries the compound filter, and
    // the nodes evaluate it.
    let out = rpc(&["rpcutil", "ping", "-S", "with('nrpe') || angelia", "--json"]).run();
    let mut expected: Vec<String> = (1..=9)
        .map(|n| format!("web{n}.example.net"))
        .chain(
            [
                "lb1.example.net",
                "notify1.example.net",
                "notify2.example.net",
            ]
            .map(String::from),
        )
        .collect();
    expected.sort();
    assert_eq!(answered(&out), expected, "{}", out.whole());
}

#[test]
fn a_bad_compound_filter_is_a_usage_error_in_words() {
    let out = rpc(&["rpcutil", "ping", "-S", "cluster=alfa and"])
        .status(2)
        .run();
    assert!(
        out.stderr.contains(
            r#"--select: compound filter "cluster=alfa and": column 17: expected a statement, `not` or `(`"#
        ),
        "{}",
        out.whole()
    );
    let out = rpc(&["rpcutil", "ping", "-S", "fact('os') == 'x'"])
        .status(2)
        .run();
    assert!(
        out.stderr.contains("function statements such as fact(...)"),
        "{}",
        out.whole()
    );
}
