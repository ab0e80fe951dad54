//! The client's configuration file: where the NATS broker is and how to log in to it, the
//! collective, and discovery's waiting times. Read from, the first that exists:
//!
//! 1. `--config FILE` (must exist),
//! 2. `$ORCHESTRATE_CONFIG` (must exist),
//! 3. `$XDG_CONFIG_HOME/orchestrate/config.yaml`, `XDG_CONFIG_HOME` defaulting to `~/.config`,
//! 4. `/etc/orchestrate/config.yaml`.
//!
//! Command-line flags and `NATS_URL` win over the file. The format is in docs/nats.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::registry::{DiscoveryMethod, RegistrySection};
use crate::security::{broker_tls, BrokerTls, BrokerTlsError, SecuritySection};
use crate::transport::{NatsAuth, NatsOptions};

/// The system-wide configuration file, tried last.
pub const SYSTEM_CONFIG: &str = "/etc/orchestrate/config.yaml";

/// A configuration file, read and checked. Every part is optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub nats: Option<NatsSection>,
    #[serde(default)]
    pub collective: Option<String>,
    #[serde(default)]
    pub discovery: DiscoverySection,
    /// Certificates and callers; present means requests are signed and replies verified.
    #[serde(default)]
    pub security: Option<SecuritySection>,
    /// The node registry's bucket (clients), and for `orchestrate fleet` its nodes' heartbeat.
    #[serde(default)]
    pub registry: RegistrySection,
    /// The file this came from; None for the empty configuration (no file found).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `nats:`: the broker and how to log in.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSection {
    /// `nats://host:port` URLs; the client connects to one and fails over to the others.
    #[serde(default)]
    pub servers: Vec<String>,
    /// A NATS credentials file (user JWT and NKey seed).
    pub credentials: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// Mutual TLS: `{ca, cert, key}`, `true` (the security section's certificates, the
    /// default when there is a security section) or `false`.
    pub tls: Option<BrokerTls>,
    /// How long a lost connection may take to come back before a request fails with "the
    /// broker at URL is unreachable" and the run stops (default 5 s).
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub reconnect_grace: Option<Duration>,
}

/// `discovery:` how long broadcast discovery waits.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySection {
    /// The longest wait for replies.
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub timeout: Option<Duration>,
    /// Stop this long after the last new reply; 0 waits the whole timeout.
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub window: Option<Duration>,
    /// `broadcast` or `registry`; unset: the registry where it exists, else broadcast.
    pub method: Option<DiscoveryMethod>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration file {} (given by {given_by})", path.display())]
    Missing { path: PathBuf, given_by: String },
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {}: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{origin}: {source}")]
    Tls {
        origin: String,
        source: BrokerTlsError,
    },
    #[error("{origin}: nats.password needs nats.user")]
    PasswordWithoutUser { origin: String },
    #[error(
        "{origin}: give one of nats.credentials, nats.user (with nats.password) or nats.token"
    )]
    SeveralLogins { origin: String },
}

/// What kind of failure a [`ConfigError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file named by `--config` or `ORCHESTRATE_CONFIG` does not exist.
    Missing,
    /// The file cannot be read.
    Read,
    /// The file is not YAML, or not a configuration's shape.
    Invalid,
    /// The `nats` section cannot be used.
    Nats,
}

impl ConfigError {
    pub fn kind(&self) -> ConfigErrorKind {
        match self {
            ConfigError::Missing { .. } => ConfigErrorKind::Missing,
            ConfigError::Read { .. } => ConfigErrorKind::Read,
            ConfigError::Invalid { .. } => ConfigErrorKind::Invalid,
            ConfigError::Tls { .. }
            | ConfigError::PasswordWithoutUser { .. }
            | ConfigError::SeveralLogins { .. } => ConfigErrorKind::Nats,
        }
    }
}

impl Config {
    /// The configuration from the first file of the search order (module docs), or the empty
    /// configuration when there is none. `explicit` is `--config`.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match locate(explicit, |name| std::env::var_os(name))? {
            Some(path) => Config::read(&path),
            None => Ok(Config::default()),
        }
    }

    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|source| ConfigError::Invalid {
            path: path.to_path_buf(),
            source,
        })?;
        if let Some(base) = path.parent() {
            if let Some(security) = &mut config.security {
                security.resolve_relative_to(base);
            }
            if let Some(tls) = config.nats.as_mut().and_then(|nats| nats.tls.as_mut()) {
                tls.resolve_relative_to(base);
            }
        }
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// A configuration file's text; an empty file is the empty configuration.
    pub fn parse(text: &str) -> Result<Config, serde_yaml_ng::Error> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_yaml_ng::from_str(text)
    }

    /// How to reach the broker, or None when no server is configured (the embedded fleet is
    /// used then). `servers` (from `--nats` or `NATS_URL`, comma-separated) wins over the
    /// file's list; the file's login applies either way.
    pub fn nats_options(&self, servers: Option<&str>) -> Result<Option<NatsOptions>, ConfigError> {
        let section = self.nats.clone().unwrap_or_default();
        let servers: Vec<String> = match servers {
            Some(list) => split_servers(list),
            None => section.servers.clone(),
        };
        if servers.is_empty() {
            return Ok(None);
        }
        let auth = match (&section.credentials, &section.user, &section.token) {
            (Some(path), None, None) => NatsAuth::Credentials(path.clone()),
            (None, Some(user), None) => NatsAuth::UserPassword {
                user: user.clone(),
                password: section.password.clone().unwrap_or_default(),
            },
            (None, None, Some(token)) => NatsAuth::Token(token.clone()),
            (None, None, None) if section.password.is_some() => {
                return Err(ConfigError::PasswordWithoutUser {
                    origin: self.origin(),
                })
            }
            (None, None, None) => NatsAuth::None,
            _ => {
                return Err(ConfigError::SeveralLogins {
                    origin: self.origin(),
                })
            }
        };
        let mut options = NatsOptions::new(servers);
        options.auth = auth;
        // A client with a certificate has inboxes of its own (`_INBOX.<certname>`), as a node
        // has: what a broker's per-certificate permissions let it receive (broker-config).
        if let Some(certname) = self.security.as_ref().and_then(|s| s.certname.as_ref()) {
            options.inbox_prefix = Some(format!("_INBOX.{certname}"));
        }
        options.tls =
            broker_tls(section.tls.as_ref(), self.security.as_ref()).map_err(|source| {
                ConfigError::Tls {
                    origin: self.origin(),
                    source,
                }
            })?;
        Ok(Some(options))
    }

    /// Names the configuration in messages.
    fn origin(&self) -> String {
        match &self.source {
            Some(path) => format!("configuration file {}", path.display()),
            None => "configuration".to_string(),
        }
    }
}

/// `nats://a:4222,nats://b:4222` (spaces allowed around the commas).
pub fn split_servers(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|server| !server.is_empty())
        .map(str::to_string)
        .collect()
}

/// The configuration file to read, by the search order of the module docs; `env` reads
/// environment variables.
fn locate(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Option<PathBuf>, ConfigError> {
    let must_exist = |path: PathBuf, given_by: &str| {
        if path.is_file() {
            Ok(Some(path))
        } else {
            Err(ConfigError::Missing {
                path,
                given_by: given_by.to_string(),
            })
        }
    };
    if let Some(path) = explicit {
        return must_exist(path.to_path_buf(), "--config");
    }
    if let Some(path) = env("ORCHESTRATE_CONFIG").filter(|value| !value.is_empty()) {
        return must_exist(PathBuf::from(path), "ORCHESTRATE_CONFIG");
    }
    let user_config = env("XDG_CONFIG_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".config")));
    let candidates = user_config
        .map(|dir| dir.join("orchestrate").join("config.yaml"))
        .into_iter()
        .chain(std::iter::once(PathBuf::from(SYSTEM_CONFIG)));
    for candidate in candidates {
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn env(vars: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.as_os_str().to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn a_whole_file_parses() {
        let config = Config::parse(
            "nats:\n  servers: [nats://b1:4222, nats://b2:4222]\n  user: orch\n  password: secret\n  reconnect_grace: 2s\n\
             collective: production\ndiscovery: {timeout: 3, window: 250ms}\n",
        )
        .unwrap();
        let grace = config.nats.as_ref().and_then(|nats| nats.reconnect_grace);
        assert_eq!(grace, Some(Duration::from_secs(2)));
        assert_eq!(config.collective.as_deref(), Some("production"));
        assert_eq!(config.discovery.timeout, Some(Duration::from_secs(3)));
        assert_eq!(config.discovery.window, Some(Duration::from_millis(250)));
        let options = config.nats_options(None).unwrap().unwrap();
        assert_eq!(options.servers, ["nats://b1:4222", "nats://b2:4222"]);
        assert_eq!(
            options.auth,
            NatsAuth::UserPassword {
                user: "orch".into(),
                password: "secret".into()
            }
        );
    }

    #[test]
    fn the_command_line_servers_win_and_the_login_stays() {
        let config = Config::parse("nats: {servers: [nats://file:4222], token: abc}").unwrap();
        let options = config
            .nats_options(Some("nats://a:1, nats://b:2,"))
            .unwrap()
            .unwrap();
        assert_eq!(options.servers, ["nats://a:1", "nats://b:2"]);
        assert_eq!(options.auth, NatsAuth::Token("abc".into()));
        assert_eq!(Config::default().nats_options(None).unwrap(), None);
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn mistakes_are_named() {
        let typo = Config::parse("nats: {server: [x]}").unwrap_err();
        assert!(
            typo.to_string().contains("unknown field `server`"),
            "{typo}"
        );
        assert!(Config::parse("discovery: {timeout: 2 seconds}").is_err());
        let both = Config::parse("nats: {servers: [a], user: u, token: t}").unwrap();
        let several = both.nats_options(None).unwrap_err();
        assert_eq!(several.kind(), ConfigErrorKind::Nats);
        assert!(several.to_string().contains("give one of"), "{several}");
        assert!(Config::parse("nats: {reconnect_grace: soon}").is_err());
        let no_section = Config::parse("nats: {servers: [a], tls: true}").unwrap();
        let refused = no_section.nats_options(None).unwrap_err();
        assert_eq!(refused.kind(), ConfigErrorKind::Nats);
        assert!(
            refused.to_string().contains("no security section"),
            "{refused}"
        );
    }

    #[test]
    fn tls_from_nats_tls_or_the_security_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "nats: {servers: [tls://b:4222], tls: {ca: ca.pem, cert: me.pem, key: me.key}}\n",
        )
        .unwrap();
        let explicit = Config::read(&path)
            .unwrap()
            .nats_options(None)
            .unwrap()
            .unwrap();
        let files = explicit.tls.unwrap();
        assert_eq!(files.ca, dir.path().join("ca.pem"));
        assert_eq!(files.key, dir.path().join("me.key"));
        let security = Config::parse(
            "nats: {servers: [nats://b:4222]}\nsecurity: {ssldir: /ssl, certname: rip.mcollective}\n",
        )
        .unwrap();
        let by_default = security.nats_options(None).unwrap().unwrap().tls.unwrap();
        assert_eq!(
            by_default.cert,
            PathBuf::from("/ssl/certs/rip.mcollective.pem")
        );
        let off = Config::parse(
            "nats: {servers: [nats://b:4222], tls: false}\nsecurity: {ssldir: /ssl, certname: rip.mcollective}\n",
        )
        .unwrap();
        assert_eq!(off.nats_options(None).unwrap().unwrap().tls, None);
        let plain = Config::parse("nats: {servers: [nats://b:4222]}").unwrap();
        assert_eq!(plain.nats_options(None).unwrap().unwrap().tls, None);
    }

    #[test]
    fn the_search_order() {
        let dir = tempfile::tempdir().unwrap();
        let explicit = dir.path().join("explicit.yaml");
        let from_env = dir.path().join("env.yaml");
        let home = dir.path().join("home");
        let user = home.join(".config/orchestrate/config.yaml");
        std::fs::create_dir_all(user.parent().unwrap()).unwrap();
        for file in [&explicit, &from_env, &user] {
            std::fs::write(file, "").unwrap();
        }
        let all = env(&[("ORCHESTRATE_CONFIG", &from_env), ("HOME", &home)]);
        assert_eq!(
            locate(Some(&explicit), &all).unwrap(),
            Some(explicit.clone())
        );
        assert_eq!(locate(None, &all).unwrap(), Some(from_env.clone()));
        assert_eq!(
            locate(None, env(&[("HOME", &home)])).unwrap(),
            Some(user.clone())
        );
        let xdg = env(&[("HOME", &home), ("XDG_CONFIG_HOME", dir.path())]);
        let found = locate(None, xdg).unwrap();
        assert_ne!(found, Some(user), "XDG_CONFIG_HOME replaces ~/.config");
        let missing = locate(Some(&dir.path().join("nope.yaml")), &all).unwrap_err();
        assert!(
            missing.to_string().contains("given by --config"),
            "{missing}"
        );
        let missing_env = dir.path().join("gone.yaml");
        let error = locate(None, env(&[("ORCHESTRATE_CONFIG", &missing_env)])).unwrap_err();
        assert!(error.to_string().contains("ORCHESTRATE_CONFIG"), "{error}");
    }
}
