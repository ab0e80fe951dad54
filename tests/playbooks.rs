//! The example playbooks are Puppet code that Puppet itself accepts: Debian's
//! `puppet parser validate` must pass them (scripts/test installs `puppet-agent`). That
//! `orchestrate check` passes them too, and the example environment, is tested in
//! tests/check.rs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::repo_root;

fn playbook_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("playbooks folder").flatten() {
            let path = entry.path();
            // The example environment is Puppet 5's application orchestration language
            // (`site`, `application`, `produces`), which Puppet 7 removed: Puppet 7 cannot
            // validate it, so `orchestrate check` does (tests/check.rs).
            if path.ends_with("environments") {
                continue;
            }
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "pp") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join("playbooks"), &mut files);
    files.sort();
    assert!(
        files.len() >= 8,
        "the example playbooks are missing: {files:?}"
    );
    files
}

#[test]
fn puppet_parser_validate_accepts_the_playbooks() {
    let output = Command::new("puppet")
        .args(["parser", "validate", "--color=false"])
        .args(playbook_files())
        .output()
        .expect("`puppet` must be installed: scripts/test installs Debian's puppet-agent");
    assert!(
        output.status.success(),
        "puppet parser validate rejects a playbook:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
