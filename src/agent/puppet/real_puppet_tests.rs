//! The `puppet` agent driving the real Puppet (Debian's puppet-agent 7.23 at /usr/bin/puppet)
//! in masterless mode: `puppet apply` of small manifests in a private vardir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

/// Puppet settings that keep every file Puppet writes inside `dir`.
fn private_settings(dir: &Path) -> BTreeMap<String, String> {
    let var = dir.join("var");
    [
        ("vardir", var.clone()),
        ("publicdir", var.join("public")),
        ("rundir", var.join("run")),
        ("confdir", dir.join("conf")),
        ("codedir", dir.join("code")),
        ("logdir", dir.join("log")),
    ]
    .into_iter()
    .map(|(name, path)| (name.to_string(), path.display().to_string()))
    .collect()
}

fn masterless(dir: &Path, name: &str, manifest: &str) -> PuppetAgent {
    let path = dir.join(name);
    std::fs::write(&path, manifest).unwrap();
    let config = PuppetConfig {
        bin: PathBuf::from("/usr/bin/puppet"),
        apply: Some(path),
        settings: private_settings(dir),
        log: Some(dir.join("runs.log")),
        ..PuppetConfig::default()
    };
    PuppetAgent::new(&config).expect("puppet config print answers")
}

fn ask(agent: &PuppetAgent, action: &str, data: Value) -> RpcReplyBody {
    agent.answer(&request(action, data))
}

/// Polls `status` until the run started at `initiated_at` is over, as an orchestrator does:
/// not applying, and the last completed run no older than the start.
fn wait_until_idle(agent: &PuppetAgent, initiated_at: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = ask(agent, "status", json!({})).data;
        if status["applying"] == false && status["lastrun"].as_u64().unwrap() >= initiated_at {
            return status;
        }
        assert!(Instant::now() < deadline, "still not idle: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_once(agent: &PuppetAgent) -> u64 {
    let started = ask(agent, "runonce", json!({"force": true}));
    assert_eq!(started.statuscode, 0, "{}", started.statusmsg);
    assert!(started.data["summary"]
        .as_str()
        .unwrap()
        .contains("/usr/bin/puppet apply"));
    let status = ask(agent, "status", json!({})).data;
    assert_eq!(status["applying"], true);
    assert_eq!(status["status"], "applying a catalog");
    started.data["initiated_at"].as_u64().unwrap()
}

#[test]
fn disable_status_enable_runonce_and_failed_resources() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let good = masterless(
        dir.path(),
        "good.pp",
        &format!(
            "file {{ '{}': content => \"applied\\n\" }}\n",
            out.display()
        ),
    );
    assert_eq!(
        good.paths().lastrunfile,
        dir.path().join("var/public/last_run_summary.yaml")
    );
    let never = ask(&good, "last_run_summary", json!({}));
    assert_eq!(never.statuscode, statuscode::ABORTED);
    assert!(never.statusmsg.contains("has not run yet"));

    let disabled = ask(&good, "disable", json!({"message": "maintenance by rip"}));
    assert_eq!(disabled.statuscode, 0, "{}", disabled.statusmsg);
    assert_eq!(disabled.data["enabled"], false);
    // The lock is the file `puppet agent --disable` writes, in the same format.
    let lock = std::fs::read_to_string(dir.path().join("var/state/agent_disabled.lock")).unwrap();
    assert_eq!(lock, r#"{"disabled_message":"maintenance by rip"}"#);
    let again = ask(&good, "disable", json!({}));
    assert_eq!(again.statuscode, statuscode::ABORTED);
    assert!(again.statusmsg.contains("Already disabled"));
    let status = ask(&good, "status", json!({})).data;
    assert_eq!(status["status"], "disabled");
    assert_eq!(status["enabled"], false);
    assert_eq!(status["disable_message"], "maintenance by rip");
    let refused = ask(&good, "runonce", json!({}));
    assert_eq!(refused.statuscode, statuscode::ABORTED);
    assert_eq!(
        refused.statusmsg,
        "Puppet is disabled: 'maintenance by rip'"
    );
    assert_eq!(ask(&good, "enable", json!({})).data["enabled"], true);
    let status = ask(&good, "status", json!({})).data;
    assert_eq!(status["enabled"], true);
    // No Puppet daemon runs here.
    assert_eq!(status["status"], "stopped");
    assert_eq!(status["daemon_present"], false);

    let initiated_at = run_once(&good);
    let status = wait_until_idle(&good, initiated_at);
    assert_eq!(status["status"], "stopped");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "applied\n");
    let summary = ask(&good, "last_run_summary", json!({"logs": false}));
    assert_eq!(summary.statuscode, 0, "{}", summary.statusmsg);
    assert_eq!(summary.data["failed_resources"], 0);
    assert_eq!(summary.data["changed_resources"], 1);
    assert_eq!(summary.data["catalog_failed"], false);
    assert!(summary.data["total_resources"].as_u64().unwrap() >= 1);
    assert!(summary.data["lastrun"].as_u64().unwrap() >= initiated_at);
    assert_eq!(summary.data["summary"]["version"]["puppet"], "7.23.0");

    let failing = masterless(dir.path(), "failing.pp", "exec { '/bin/false': }\n");
    let initiated_at = run_once(&failing);
    wait_until_idle(&failing, initiated_at);
    let summary = ask(&failing, "last_run_summary", json!({}));
    assert_eq!(summary.data["failed_resources"], 1, "{}", summary.data);
    assert_eq!(summary.data["catalog_failed"], false);
}

/// `puppet apply` whose catalog fails to compile writes no summary; the agent reports the run
/// as over and failed, not as the previous run's success.
#[test]
fn a_catalog_that_fails_is_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let broken = masterless(dir.path(), "broken.pp", "fail('broken catalog')\n");
    let initiated_at = run_once(&broken);
    let status = wait_until_idle(&broken, initiated_at);
    assert_eq!(status["applying"], false);
    let summary = ask(&broken, "last_run_summary", json!({}));
    assert_eq!(summary.statuscode, 0, "{}", summary.statusmsg);
    assert_eq!(summary.data["catalog_failed"], true);
    assert_eq!(summary.data["failed_resources"], Value::Null);
    assert!(summary.data["run_failure"]
        .as_str()
        .unwrap()
        .contains("exit code 1"));
    let log = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
    assert!(log.contains("broken catalog"), "{log}");
}
