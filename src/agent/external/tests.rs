//! External agents end to end: real programs in a temporary agents folder.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::protocol::unix_now;

const METADATA: &str = "timeout: 1s\nactions:\n  \
    echo:\n    inputs:\n      text: {type: string}\n      times: {type: integer, optional: true}\n  \
    fail: {}\n  crash: {}\n  garbage: {}\n  hang: {}\n  status5: {}\n";

/// A program that answers by action: echo returns its whole input; the others misbehave.
const PROGRAM: &str = r#"#!/bin/sh
input=$(cat)
case "$input" in
  *'"action":"echo"'*) printf '{"data": {"input": %s}}' "$input" ;;
  *'"action":"fail"'*) echo '{"statuscode": 1, "statusmsg": "the service would not stop"}' ;;
  *'"action":"crash"'*) echo 'starting'; echo 'cannot connect to the database' >&2; exit 3 ;;
  *'"action":"garbage"'*) echo 'this is not json' ;;
  *'"action":"hang"'*) sleep 30 ;;
  *'"action":"status5"'*) echo '{"statuscode": 9}' ;;
esac
"#;

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn node() -> NodeInfo {
    NodeInfo {
        identity: "web1.example.net".into(),
        collective: "mcollective".into(),
        ..NodeInfo::default()
    }
}

fn request(agent: &str, action: &str, data: Value) -> Request {
    Request::example(agent, action, data, Default::default())
}

fn folder() -> (tempfile::TempDir, Vec<ExternalAgent>) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tester", PROGRAM, 0o755);
    write(dir.path(), "tester.yaml", METADATA, 0o644);
    let agents = load_agents(dir.path(), Duration::from_secs(60)).unwrap();
    (dir, agents)
}

async fn ask(agent: &ExternalAgent, action: &str, data: Value) -> RpcReplyBody {
    agent
        .handle(&node(), &request("tester", action, data))
        .await
}

#[tokio::test]
async fn a_valid_call_gets_the_programs_reply_and_sees_the_request() {
    let (_dir, agents) = folder();
    let tester = &agents[0];
    assert_eq!(tester.name(), "tester");
    assert_eq!(tester.timeout(), Duration::from_secs(1));
    let reply = ask(tester, "echo", json!({"text": "hello", "times": 2})).await;
    assert_eq!(reply.statuscode, statuscode::OK, "{}", reply.statusmsg);
    assert_eq!(reply.statusmsg, "OK");
    let input = &reply.data["input"];
    assert_eq!(input["protocol"], REQUEST_PROTOCOL);
    assert_eq!(input["agent"], "tester");
    assert_eq!(input["action"], "echo");
    assert_eq!(input["data"], json!({"text": "hello", "times": 2}));
    assert_eq!(input["identity"], "web1.example.net");
    assert_eq!(input["callerid"], "choria=rip.mcollective");
    assert_eq!(input["requestid"], "0123456789abcdef0123456789abcdef");
    assert_eq!(input["timeout"], 1.0);
    let failed = ask(tester, "fail", json!({})).await;
    assert_eq!(failed.statuscode, statuscode::ABORTED);
    assert_eq!(failed.statusmsg, "the service would not stop");
}

#[tokio::test]
async fn bad_inputs_are_refused_before_the_program_runs() {
    let (_dir, agents) = folder();
    let missing = ask(&agents[0], "echo", json!({"times": 2})).await;
    assert_eq!(missing.statuscode, statuscode::MISSING_DATA);
    assert_eq!(missing.statusmsg, "Missing required input text");
    let wrong = ask(&agents[0], "echo", json!({"text": "a", "times": "2"})).await;
    assert_eq!(wrong.statuscode, statuscode::INVALID_DATA);
    assert_eq!(
        wrong.statusmsg,
        "Input times must be an integer, not the string \"2\""
    );
    let unknown = ask(&agents[0], "reboot", json!({})).await;
    assert_eq!(unknown.statuscode, statuscode::UNKNOWN_ACTION);
}

#[tokio::test]
async fn a_failing_program_is_statuscode_5_with_a_message() {
    let (_dir, agents) = folder();
    let crashed = ask(&agents[0], "crash", json!({})).await;
    assert_eq!(crashed.statuscode, statuscode::UNKNOWN_ERROR);
    assert_eq!(
        crashed.statusmsg,
        "tester#crash exited with code 3: cannot connect to the database"
    );
    let garbage = ask(&agents[0], "garbage", json!({})).await;
    assert_eq!(garbage.statuscode, statuscode::UNKNOWN_ERROR);
    assert!(garbage
        .statusmsg
        .starts_with("tester#garbage did not write a JSON reply on stdout"));
    let out_of_range = ask(&agents[0], "status5", json!({})).await;
    assert_eq!(out_of_range.statuscode, statuscode::UNKNOWN_ERROR);
    assert!(out_of_range.statusmsg.contains("not 0 to 5"));
}

#[tokio::test]
async fn a_program_past_its_timeout_is_killed() {
    let (_dir, agents) = folder();
    let started = std::time::Instant::now();
    let hung = ask(&agents[0], "hang", json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(hung.statuscode, statuscode::UNKNOWN_ERROR);
    assert_eq!(
        hung.statusmsg,
        "tester#hang did not finish within 1 s and was killed"
    );
}

#[test]
fn what_cannot_be_loaded_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "good", PROGRAM, 0o755);
    write(
        dir.path(),
        "good.json",
        r#"{"actions": {"echo": {}}}"#,
        0o644,
    );
    write(dir.path(), "noprogram.yaml", METADATA, 0o644);
    write(dir.path(), "notexec", PROGRAM, 0o644);
    write(dir.path(), "notexec.yaml", METADATA, 0o644);
    write(dir.path(), "badmeta", PROGRAM, 0o755);
    write(dir.path(), "badmeta.yaml", "actions: [", 0o644);
    write(dir.path(), "rpcutil", PROGRAM, 0o755);
    write(dir.path(), "rpcutil.yaml", METADATA, 0o644);
    write(dir.path(), "README.md", "not an agent", 0o644);
    let agents = load_agents(dir.path(), Duration::from_secs(7)).unwrap();
    let names: Vec<&str> = agents.iter().map(ExternalAgent::name).collect();
    assert_eq!(names, ["good"]);
    assert_eq!(agents[0].timeout(), Duration::from_secs(7));
    let missing = load_agents(&dir.path().join("none"), Duration::from_secs(1));
    let error = missing.err().unwrap();
    assert!(matches!(error, LoadError::Folder { .. }), "{error}");
    assert!(error.to_string().contains("cannot read the agents folder"));
}

/// The example shipped for the app_cluster_upgrade playbook works as documented.
#[tokio::test]
async fn the_shipped_appmgr_example() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/agent/agents");
    let agents = load_agents(&dir, Duration::from_secs(10)).unwrap();
    let appmgr = agents
        .iter()
        .find(|agent| agent.name() == "appmgr")
        .expect("appmgr is shipped");
    // The example keeps its state in /var/tmp/appmgr-<identity>.json: a fresh identity.
    let this_node = NodeInfo {
        identity: format!("agent-test-{}-{}", std::process::id(), unix_now()),
        ..node()
    };
    let state = Path::new("/var/tmp").join(format!("appmgr-{}.json", this_node.identity));
    let upgrade = request("appmgr", "upgrade", json!({"revision": 20}));
    let upgraded = appmgr.handle(&this_node, &upgrade).await;
    let status = appmgr
        .handle(&this_node, &request("appmgr", "status", json!({})))
        .await;
    let _ = std::fs::remove_file(&state);
    assert_eq!(upgraded.statuscode, 0, "{}", upgraded.statusmsg);
    assert_eq!(upgraded.data["revision"], 20);
    assert_eq!(upgraded.data["message"], "upgraded to revision 20");
    assert_eq!(status.data["revision"], 20);
    assert_eq!(status.data["status"], "running");
    let refused = appmgr
        .handle(
            &node(),
            &request("appmgr", "upgrade", json!({"revision": "x1"})),
        )
        .await;
    assert_eq!(refused.statuscode, statuscode::INVALID_DATA);
}
