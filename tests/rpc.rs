//! `orchestrate rpc` on the embedded fleet (the repository's playbooks/fleet.yaml, or
//! `--fleet FILE`): the same verb as over NATS, no broker needed.

use assert_cmd::Command;

fn rpc(args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("orchestrate")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("USER", "rip")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .env_remove("NATS_URL")
        .env_remove("ORCHESTRATE_CONFIG")
        .env_remove("ORCHESTRATE_FLEET")
        .arg("rpc")
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let times = regex::Regex::new(r"\d+(\.\d+)?s\b").unwrap();
    (
        out.status.code().unwrap(),
        times.replace_all(&text, "<t>").to_string(),
    )
}

#[test]
fn a_failing_node_fails_the_request_with_exit_code_1() {
    let (status, out) = rpc(&[
        "appmgr",
        "upgrade",
        "revision=20",
        "-F",
        "cluster=bravo",
        "--fleet",
        "tests/fixtures/fleets/upgrade_fails.yaml",
    ]);
    assert_eq!(status, 1, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn named_nodes_are_asked_directly_and_a_missing_input_is_statuscode_3() {
    let (status, out) = rpc(&["appmgr", "upgrade", "-I", "web1.example.net", "--json"]);
    assert_eq!(status, 1, "{out}");
    let json = &out[out.find('{').unwrap()..out.rfind('}').unwrap() + 1];
    let report: serde_json::Value = serde_json::from_str(json).expect("JSON");
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
    let (status, out) = rpc(&["rpcutil", "ping", "oops"]);
    assert_eq!(status, 2, "{out}");
    assert!(out.contains("'oops' is not an input"), "{out}");
    let (status, out) = rpc(&["rpcutil", "ping", "-F", "=="]);
    assert_eq!(status, 2, "{out}");
}
