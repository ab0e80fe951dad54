//! Real `orchestrate agent` daemons for a test: a node's folder (configuration, facts,
//! classes, the shipped external agents) and the daemon started on it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{repo_root, Process, Test};

/// The shipped external agents (playbooks/agent/agents).
pub fn agents_dir() -> PathBuf {
    repo_root().join("playbooks/agent/agents")
}

/// A node's folder: its configuration and facts.
pub fn node_config(dir: &Path, identity: &str, cluster: &str, url: &str, extra: &str) -> PathBuf {
    let folder = dir.join(identity);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("facts.yaml"),
        format!("cluster: {cluster}\nrole: web\n"),
    )
    .unwrap();
    std::fs::write(folder.join("classes.txt"), "role::web\napp\n").unwrap();
    let config = folder.join("agent.yaml");
    std::fs::write(
        &config,
        format!(
            "identity: {identity}\nnats: {{servers: ['{url}']}}\nfacts: facts.yaml\nclasses: classes.txt\n\
             agents_dir: {}\n{extra}",
            agents_dir().display()
        ),
    )
    .unwrap();
    config
}

/// `orchestrate agent --config FILE`, serving until dropped (or stopped and finished, within
/// 10 s), with `env` for the external agents it runs.
pub fn start_agent(config: &Path, env: &[(&str, String)]) -> Process {
    Test::new()
        .args(["agent", "--config"])
        .arg(config)
        .envs(env.iter().cloned())
        .deadline(Duration::from_secs(10))
        .start(" serving ")
}
