//! Where Puppet keeps the files the `puppet` agent reads and writes. Puppet decides (its
//! settings depend on the packaging, the user and `puppet.conf`), so the agent asks it once at
//! start with `puppet config print`, unless the configuration names every file.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::agent::config::PuppetConfig;

/// Puppet's own files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PuppetPaths {
    /// Exists while the agent is disabled; JSON `{"disabled_message": ...}`.
    pub agent_disabled_lockfile: PathBuf,
    /// Holds the PID of the process applying a catalog.
    pub agent_catalog_run_lockfile: PathBuf,
    /// `last_run_summary.yaml`.
    pub lastrunfile: PathBuf,
    /// The Puppet daemon's PID file.
    pub pidfile: PathBuf,
    /// `classes.txt`, written by every run.
    pub classfile: Option<PathBuf>,
}

/// Why Puppet's files could not be found.
#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    /// `puppet config print` could not be run (no Puppet there).
    #[error("cannot run {} config print: {source}", bin.display())]
    Run {
        bin: PathBuf,
        source: std::io::Error,
    },
    #[error("{} config print failed ({status}): {stderr}", bin.display())]
    Failed {
        bin: PathBuf,
        status: ExitStatus,
        stderr: String,
    },
    /// Puppet did not name a file it must have.
    #[error("puppet config print did not say {setting}")]
    Unsaid { setting: &'static str },
}

/// The settings asked of Puppet, in the order of [`PuppetPaths`].
const SETTINGS: [&str; 5] = [
    "agent_disabled_lockfile",
    "agent_catalog_run_lockfile",
    "lastrunfile",
    "pidfile",
    "classfile",
];

impl PuppetPaths {
    /// The configured paths, with `puppet config print` (in the agent section, with the
    /// configured settings) filling in those not configured. Fails when Puppet is needed and
    /// cannot answer.
    pub fn resolve(config: &PuppetConfig) -> Result<PuppetPaths, PathsError> {
        let configured = [
            config.agent_disabled_lockfile.clone(),
            config.agent_catalog_run_lockfile.clone(),
            config.lastrunfile.clone(),
            config.pidfile.clone(),
        ];
        let printed = if configured.iter().all(Option::is_some) {
            Vec::new()
        } else {
            config_print(&config.bin, &config.settings)?
        };
        let pick = |index: usize| -> Result<PathBuf, PathsError> {
            configured
                .get(index)
                .cloned()
                .flatten()
                .or_else(|| lookup(&printed, SETTINGS[index]))
                .ok_or(PathsError::Unsaid {
                    setting: SETTINGS[index],
                })
        };
        Ok(PuppetPaths {
            agent_disabled_lockfile: pick(0)?,
            agent_catalog_run_lockfile: pick(1)?,
            lastrunfile: pick(2)?,
            pidfile: pick(3)?,
            classfile: lookup(&printed, SETTINGS[4]),
        })
    }
}

fn lookup(printed: &[(String, String)], name: &str) -> Option<PathBuf> {
    printed
        .iter()
        .find(|(setting, _)| setting == name)
        .map(|(_, value)| PathBuf::from(value))
}

/// `puppet config print --section agent <settings> --name value...`, as `(setting, value)`.
fn config_print(
    bin: &Path,
    settings: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, PathsError> {
    let mut command = Command::new(bin);
    command
        .args(["config", "print", "--section", "agent"])
        .args(SETTINGS)
        .args(setting_args(settings));
    let output = command.output().map_err(|source| PathsError::Run {
        bin: bin.to_path_buf(),
        source,
    })?;
    if !output.status.success() {
        return Err(PathsError::Failed {
            bin: bin.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    Ok(parse_config_print(&String::from_utf8_lossy(&output.stdout)))
}

/// `--name value` for each setting, as every puppet command line takes them.
pub fn setting_args(settings: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    settings
        .iter()
        .flat_map(|(name, value)| [format!("--{name}"), value.clone()])
        .collect()
}

/// Lines `name = value`, as `config print` writes them when asked for several settings.
fn parse_config_print(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_config_print_lines() {
        let parsed = parse_config_print(
            "agent_catalog_run_lockfile = /var/cache/puppet/state/agent_catalog_run.lock\nnoise\nlastrunfile = /x/last run.yaml\n",
        );
        assert_eq!(
            lookup(&parsed, "lastrunfile"),
            Some(PathBuf::from("/x/last run.yaml"))
        );
        assert_eq!(lookup(&parsed, "pidfile"), None);
    }

    #[test]
    fn configured_paths_need_no_puppet() {
        let config = PuppetConfig {
            bin: PathBuf::from("/nonexistent/puppet"),
            agent_disabled_lockfile: Some("/d".into()),
            agent_catalog_run_lockfile: Some("/c".into()),
            lastrunfile: Some("/l".into()),
            pidfile: Some("/p".into()),
            ..PuppetConfig::default()
        };
        let paths = PuppetPaths::resolve(&config).unwrap();
        assert_eq!(paths.lastrunfile, PathBuf::from("/l"));
        assert_eq!(paths.classfile, None);
        let unconfigured = PuppetConfig {
            bin: PathBuf::from("/nonexistent/puppet"),
            ..PuppetConfig::default()
        };
        let error = PuppetPaths::resolve(&unconfigured).unwrap_err();
        assert!(matches!(error, PathsError::Run { .. }), "{error}");
        assert!(error
            .to_string()
            .starts_with("cannot run /nonexistent/puppet config print: "));
    }

    /// The real Puppet puts every file under the vardir and publicdir it is given.
    #[test]
    fn asks_the_real_puppet() {
        let dir = tempfile::tempdir().unwrap();
        let var = dir.path().join("var");
        let mut settings = std::collections::BTreeMap::new();
        settings.insert("vardir".to_string(), var.display().to_string());
        settings.insert(
            "publicdir".to_string(),
            var.join("public").display().to_string(),
        );
        settings.insert("rundir".to_string(), var.join("run").display().to_string());
        let config = PuppetConfig {
            bin: PathBuf::from("/usr/bin/puppet"),
            settings,
            ..PuppetConfig::default()
        };
        let paths = PuppetPaths::resolve(&config).unwrap();
        assert_eq!(
            paths.agent_disabled_lockfile,
            var.join("state/agent_disabled.lock")
        );
        assert_eq!(
            paths.agent_catalog_run_lockfile,
            var.join("state/agent_catalog_run.lock")
        );
        assert_eq!(paths.lastrunfile, var.join("public/last_run_summary.yaml"));
        assert_eq!(paths.pidfile, var.join("run/agent.pid"));
        assert_eq!(paths.classfile, Some(var.join("state/classes.txt")));
    }
}
