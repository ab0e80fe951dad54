//! The node daemon's configuration file (`orchestrate agent --config FILE`), YAML. Every key
//! and its default is in docs/agent.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::external::LoadError;
use crate::protocol::{is_subject_token, is_valid_identity};
use crate::registry::RegistrySection;
use crate::security::{broker_tls, AuditError, BrokerTls, BrokerTlsError, SecuritySection};
use crate::transport::{NatsAuth, NatsOptions, DEFAULT_CONNECT_TIMEOUT};

/// How many requests a node handles at once by default: enough that a slow action does not
/// hold up pings, few enough that a burst cannot fork dozens of external programs.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long an action may run by default before it is answered statuscode 5 (and an external
/// program is killed).
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the action policies are when `security.policies` is not set: `policies` beside the
/// configuration file, as in Choria.
pub const DEFAULT_POLICIES_DIR: &str = "policies";

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The node's name on the wire; default: the host name.
    pub identity: Option<String>,
    /// Default: `mcollective`.
    pub collective: Option<String>,
    /// The broker. Required to run the daemon; `--check` works without it.
    pub nats: Option<NatsConfig>,
    /// A YAML or JSON file holding a mapping of facts, re-read when it changes.
    pub facts: Option<PathBuf>,
    /// Puppet's `classes.txt`, one class per line, re-read when it changes. Default: Puppet's
    /// `classfile` setting when the `puppet` agent runs, else no classes.
    pub classes: Option<PathBuf>,
    /// A folder of external agents (see [`super::external`]).
    pub agents_dir: Option<PathBuf>,
    /// Requests handled at once; more wait for a free slot.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The longest an action may take; external agents may set their own.
    #[serde(
        default = "default_action_timeout",
        deserialize_with = "crate::duration::deserialize"
    )]
    pub action_timeout: Duration,
    /// The `puppet` agent; absent means "use Puppet's defaults if Puppet is installed".
    pub puppet: Option<PuppetConfig>,
    /// Certificates, callers, policies and the audit log; present means security is on.
    pub security: Option<SecuritySection>,
    /// The node registry: its bucket and heartbeat; on unless `enabled: false`.
    #[serde(default)]
    pub registry: RegistrySection,
}

/// `nats:` — where the broker is and how to log in.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    /// `nats://host:port` URLs; the client connects to one and fails over to the others.
    pub servers: Vec<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A NATS credentials file (user JWT and NKey seed).
    pub credentials: Option<PathBuf>,
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub connect_timeout: Option<Duration>,
    /// Mutual TLS: `{ca, cert, key}`, `true` (the security section's certificates, the
    /// default when there is a security section) or `false`.
    pub tls: Option<BrokerTls>,
}

/// `puppet:` — how the `puppet` agent finds Puppet's files and starts runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PuppetConfig {
    /// False: the node runs no `puppet` agent.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The `puppet` program. Default: `puppet` on the PATH.
    #[serde(default = "default_puppet_bin")]
    pub bin: PathBuf,
    /// Masterless nodes: `runonce` runs `puppet apply <manifest>` instead of
    /// `puppet agent --onetime --no-daemonize`.
    pub apply: Option<PathBuf>,
    /// Puppet settings given as `--name value` to every puppet command this agent runs
    /// (`config print` and runs), e.g. `vardir`, `confdir`, `publicdir`.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Where a run's output goes (appended); default: discarded (Puppet keeps its own reports).
    pub log: Option<PathBuf>,
    /// Each of these overrides what `puppet config print` says.
    pub agent_disabled_lockfile: Option<PathBuf>,
    pub agent_catalog_run_lockfile: Option<PathBuf>,
    pub lastrunfile: Option<PathBuf>,
    /// The Puppet daemon's PID file (`puppet config print --section agent pidfile`).
    pub pidfile: Option<PathBuf>,
}

impl Default for PuppetConfig {
    fn default() -> PuppetConfig {
        PuppetConfig {
            enabled: true,
            bin: default_puppet_bin(),
            apply: None,
            settings: BTreeMap::new(),
            log: None,
            agent_disabled_lockfile: None,
            agent_catalog_run_lockfile: None,
            lastrunfile: None,
            pidfile: None,
        }
    }
}

/// A configuration that cannot be used, or a daemon it describes that cannot be built; the
/// message names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem of the file at `path`.
    #[error("{}: {problem}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        problem: Box<ConfigError>,
    },
    /// Not YAML, or not the shape of an agent configuration.
    #[error(transparent)]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("{key} {value:?} cannot be part of a NATS subject")]
    NotASubjectToken { key: &'static str, value: String },
    #[error("concurrency must be at least 1")]
    NoConcurrency,
    #[error("action_timeout must be more than 0")]
    NoActionTime,
    #[error("registry: {0}")]
    Registry(String),
    #[error("nats.servers lists no server")]
    NoServer,
    #[error("nats.user and nats.password go together")]
    HalfALogin,
    #[error("nats: give one of user/password, token or credentials")]
    SeveralLogins,
    #[error(transparent)]
    BrokerTls(#[from] BrokerTlsError),
    #[error("puppet.settings: {name:?} is not a Puppet setting name")]
    NotAPuppetSetting { name: String },
    /// The `puppet` agent is configured but cannot run.
    #[error("the puppet agent: {0}")]
    Puppet(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Agents(#[from] LoadError),
    #[error("security.audit_log: {0}")]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    #[error("identity {identity:?} is not a name of the certificate {}: its replies would be refused; set identity to the certificate's name", cert.display())]
    IdentityNotInCertificate { identity: String, cert: PathBuf },
}

/// What kind of failure a [`ConfigError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file cannot be read.
    Read,
    /// The file says something that cannot be used.
    Invalid,
    /// The `puppet` agent cannot run.
    Puppet,
    /// The agents folder cannot be read.
    Agents,
    /// The audit log cannot be opened.
    Audit,
    /// The `security:` section cannot be used.
    Security,
}

impl ConfigError {
    pub fn kind(&self) -> ConfigErrorKind {
        match self {
            ConfigError::Read { .. } => ConfigErrorKind::Read,
            ConfigError::InFile { problem, .. } => problem.kind(),
            ConfigError::Puppet(_) => ConfigErrorKind::Puppet,
            ConfigError::Agents(_) => ConfigErrorKind::Agents,
            ConfigError::Audit(_) => ConfigErrorKind::Audit,
            ConfigError::Security(_) | ConfigError::IdentityNotInCertificate { .. } => {
                ConfigErrorKind::Security
            }
            _ => ConfigErrorKind::Invalid,
        }
    }
}

impl AgentConfig {
    /// Reads and checks `path`. Relative paths inside the file are taken from the file's
    /// folder, so a config and its facts can travel together.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = AgentConfig::parse(&text).map_err(|problem| ConfigError::InFile {
            path: path.to_path_buf(),
            problem: Box::new(problem),
        })?;
        if let Some(base) = path.parent() {
            config.resolve_relative_to(base);
        }
        Ok(config)
    }

    /// Parses and checks a configuration's text.
    pub fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        // An empty file is an all-defaults configuration, not an error.
        let config: AgentConfig = if text.trim().is_empty() {
            AgentConfig {
                concurrency: DEFAULT_CONCURRENCY,
                action_timeout: DEFAULT_ACTION_TIMEOUT,
                ..AgentConfig::default()
            }
        } else {
            serde_yaml_ng::from_str(text)?
        };
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Some(identity) = &self.identity {
            check_subject_token("identity", identity, true)?;
        }
        if let Some(collective) = &self.collective {
            check_subject_token("collective", collective, false)?;
        }
        if self.concurrency == 0 {
            return Err(ConfigError::NoConcurrency);
        }
        if self.action_timeout.is_zero() {
            return Err(ConfigError::NoActionTime);
        }
        self.registry.check().map_err(ConfigError::Registry)?;
        if let Some(nats) = &self.nats {
            if nats.servers.is_empty() {
                return Err(ConfigError::NoServer);
            }
            if nats.user.is_some() != nats.password.is_some() {
                return Err(ConfigError::HalfALogin);
            }
            let ways = [
                nats.user.is_some(),
                nats.token.is_some(),
                nats.credentials.is_some(),
            ];
            if ways.iter().filter(|given| **given).count() > 1 {
                return Err(ConfigError::SeveralLogins);
            }
            if nats.tls == Some(BrokerTls::Security) && self.security.is_none() {
                return Err(BrokerTlsError::NoSecuritySection.into());
            }
        }
        if let Some(puppet) = &self.puppet {
            for name in puppet.settings.keys() {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(ConfigError::NotAPuppetSetting { name: name.clone() });
                }
            }
        }
        Ok(())
    }

    fn resolve_relative_to(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        for path in [&mut self.facts, &mut self.classes, &mut self.agents_dir]
            .into_iter()
            .flatten()
        {
            resolve(path);
        }
        if let Some(nats) = &mut self.nats {
            if let Some(credentials) = &mut nats.credentials {
                resolve(credentials);
            }
            if let Some(tls) = &mut nats.tls {
                tls.resolve_relative_to(base);
            }
        }
        if let Some(security) = &mut self.security {
            security
                .policies
                .get_or_insert_with(|| PathBuf::from(DEFAULT_POLICIES_DIR));
            security.resolve_relative_to(base);
        }
        if let Some(puppet) = &mut self.puppet {
            for path in [
                &mut puppet.apply,
                &mut puppet.log,
                &mut puppet.agent_disabled_lockfile,
                &mut puppet.agent_catalog_run_lockfile,
                &mut puppet.lastrunfile,
                &mut puppet.pidfile,
            ]
            .into_iter()
            .flatten()
            {
                resolve(path);
            }
        }
    }

    /// The identity on the wire: the configured one, else the host name.
    pub fn identity(&self) -> String {
        self.identity.clone().unwrap_or_else(host_name)
    }

    pub fn collective(&self) -> String {
        self.collective
            .clone()
            .unwrap_or_else(|| "mcollective".to_string())
    }

    /// The broker connection for node `identity`, if a broker is configured: with mutual
    /// TLS by `nats.tls` or the security section, and the node's own inboxes
    /// (`_INBOX.<identity>`, which a broker's permissions can grant it alone).
    pub fn nats_options(&self, identity: &str) -> Result<Option<NatsOptions>, ConfigError> {
        let Some(nats) = self.nats.as_ref() else {
            return Ok(None);
        };
        let mut options = NatsOptions::new(nats.servers.clone());
        options.auth = match (&nats.user, &nats.password, &nats.token, &nats.credentials) {
            (Some(user), Some(password), _, _) => NatsAuth::UserPassword {
                user: user.clone(),
                password: password.clone(),
            },
            (_, _, Some(token), _) => NatsAuth::Token(token.clone()),
            (_, _, _, Some(path)) => NatsAuth::Credentials(path.clone()),
            _ => NatsAuth::None,
        };
        options.connect_timeout = nats.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        options.name = format!("orchestrate agent {identity}");
        options.tls = broker_tls(nats.tls.as_ref(), self.security.as_ref())?;
        options.inbox_prefix = Some(format!("_INBOX.{identity}"));
        Ok(Some(options))
    }
}

/// Identities and collectives become subject tokens: no whitespace, wildcards or empty
/// tokens (an identity may contain dots, a collective may not).
fn check_subject_token(key: &'static str, value: &str, dots: bool) -> Result<(), ConfigError> {
    let fits = if dots {
        is_valid_identity(value)
    } else {
        is_subject_token(value)
    };
    if !fits {
        return Err(ConfigError::NotASubjectToken {
            key,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// This host's name, as Choria names a node by default; `localhost` when none is set.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| check_subject_token("identity", name, true).is_ok())
        .unwrap_or_else(|| "localhost".to_string())
}

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENCY
}

fn default_action_timeout() -> Duration {
    DEFAULT_ACTION_TIMEOUT
}

fn default_puppet_bin() -> PathBuf {
    PathBuf::from("puppet")
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_all_defaults() {
        let config = AgentConfig::parse("").unwrap();
        assert_eq!(config.collective(), "mcollective");
        assert_eq!(config.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(config.action_timeout, DEFAULT_ACTION_TIMEOUT);
        assert!(!config.identity().is_empty());
        assert!(config.nats_options("x").unwrap().is_none());
    }

    #[test]
    fn a_full_file() {
        let config = AgentConfig::parse(
            "identity: web1.example.net\ncollective: dc1\nnats: {servers: [nats://a:4222], token: s3cret, connect_timeout: 2s}\n\
             facts: facts.yaml\nconcurrency: 2\naction_timeout: 1.5\n\
             puppet: {apply: site.pp, settings: {vardir: /tmp/v}}\n",
        )
        .unwrap();
        assert_eq!(config.identity(), "web1.example.net");
        assert_eq!(config.collective(), "dc1");
        assert_eq!(config.action_timeout, Duration::from_millis(1500));
        let options = config.nats_options("web1.example.net").unwrap().unwrap();
        assert_eq!(options.auth, NatsAuth::Token("s3cret".into()));
        assert_eq!(options.tls, None);
        assert_eq!(
            options.inbox_prefix.as_deref(),
            Some("_INBOX.web1.example.net")
        );
        assert_eq!(options.connect_timeout, Duration::from_secs(2));
        let puppet = config.puppet.unwrap();
        assert_eq!(puppet.settings["vardir"], "/tmp/v");
        assert!(puppet.enabled);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("identitty: x", "unknown field `identitty`"),
            ("identity: 'a b'", "cannot be part of a NATS subject"),
            ("collective: a.b", "cannot be part of a NATS subject"),
            ("concurrency: 0", "at least 1"),
            ("action_timeout: 10", ""),
            ("action_timeout: ten", "is not a duration"),
            ("nats: {servers: []}", "no server"),
            ("nats: {servers: [x], user: u}", "go together"),
            ("nats: {servers: [x], tls: true}", "no security section"),
            ("nats: {servers: [x], tls: {ca: a}}", "missing field `cert`"),
            ("puppet: {settings: {'--x': y}}", "not a Puppet setting"),
            ("- a list", "invalid type"),
            ("registry: {heartbeat: 0}", "heartbeat must be more than 0"),
            (
                "registry: {heartbeat: 10s, expire_after: 10s}",
                "longer than the heartbeat",
            ),
        ] {
            match AgentConfig::parse(text) {
                Ok(_) => assert!(expected.is_empty(), "{text} should fail"),
                Err(error) => {
                    assert_eq!(error.kind(), ConfigErrorKind::Invalid, "{text}");
                    let message = error.to_string();
                    assert!(message.contains(expected), "{text}: {message}")
                }
            }
        }
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, "facts: facts.yaml\nagents_dir: /abs/agents\n").unwrap();
        let config = AgentConfig::load(&path).unwrap();
        assert_eq!(config.facts.unwrap(), dir.path().join("facts.yaml"));
        assert_eq!(config.agents_dir.unwrap(), PathBuf::from("/abs/agents"));
        let secure = dir.path().join("secure.yaml");
        std::fs::write(
            &secure,
            "nats: {servers: ['tls://b:4222']}\nsecurity: {ssldir: ssl, certname: web1.example.net}\n",
        )
        .unwrap();
        let tls = AgentConfig::load(&secure)
            .unwrap()
            .nats_options("web1.example.net")
            .unwrap()
            .unwrap()
            .tls
            .expect("TLS from the security section");
        assert_eq!(tls.ca, dir.path().join("ssl/certs/ca.pem"));
        assert_eq!(
            tls.key,
            dir.path().join("ssl/private_keys/web1.example.net.pem")
        );
        let missing = AgentConfig::load(&dir.path().join("none.yaml")).unwrap_err();
        assert_eq!(missing.kind(), ConfigErrorKind::Read);
        assert!(missing.to_string().contains("cannot read"));
    }
}
