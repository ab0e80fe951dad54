//! The `security:` section, the same keys in the client's configuration file and in the node
//! daemon's: where the certificates are (Puppet's ssldir layout, or explicit files), who may
//! call, how much clock skew and time to live a request may have, and on nodes the action
//! policies and the audit log. A configuration with this section has security on: nothing
//! unsigned is accepted, and there is no key that turns verification off on a node.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Callers allowed by default: Choria's certificate names for people and services.
pub const DEFAULT_ALLOWED_CALLERS: [&str; 2] = [r"\.mcollective$", r"\.choria$"];

/// Certificates that may sign for another caller by default (Choria's AAA services).
pub const DEFAULT_PRIVILEGED_CALLERS: [&str; 2] =
    [r"\.privileged\.mcollective$", r"\.privileged\.choria$"];

/// How far a request's `time` may be from the node's clock, by default.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);

/// The longest `ttl` a node accepts, by default.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(300);

/// `security:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    /// Puppet's SSL folder: `certs/<certname>.pem`, `private_keys/<certname>.pem`,
    /// `certs/ca.pem`. Default: `puppet config print ssldir`, when Puppet is installed.
    pub ssldir: Option<PathBuf>,
    /// The certificate's name in the ssldir. Default: `puppet config print certname`.
    pub certname: Option<String>,
    /// Explicit files; each wins over the ssldir's.
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Regexes a caller's certificate name must match (one is enough).
    pub allowed_callers: Option<Vec<String>>,
    /// Regexes of certificate names that may sign requests for any caller.
    pub privileged_callers: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub max_clock_skew: Option<Duration>,
    #[serde(default, deserialize_with = "crate::duration::deserialize_optional")]
    pub max_ttl: Option<Duration>,
    /// Nodes: the folder of `<agent>.policy` files (Choria's actionpolicy format).
    pub policies: Option<PathBuf>,
    /// Nodes: the JSON-lines audit log.
    pub audit_log: Option<PathBuf>,
    /// Clients: take replies that carry only Choria's hash (Choria nodes), not a signature.
    #[serde(default)]
    pub accept_unsigned_replies: bool,
}

/// The three PEM files a party needs: the CA it trusts, its certificate, its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    /// Puppet's layout: `<ssldir>/certs/ca.pem`, `<ssldir>/certs/<certname>.pem`,
    /// `<ssldir>/private_keys/<certname>.pem`.
    pub fn in_ssldir(ssldir: &Path, certname: &str) -> CertFiles {
        let file = format!("{certname}.pem");
        CertFiles {
            ca: CertFiles::ca_in(ssldir),
            cert: ssldir.join("certs").join(&file),
            key: ssldir.join("private_keys").join(&file),
        }
    }

    /// The CA's certificate in Puppet's layout.
    pub fn ca_in(ssldir: &Path) -> PathBuf {
        ssldir.join("certs").join("ca.pem")
    }
}

/// Why the section does not say where the certificates are.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    #[error("security: set ssldir (Puppet's SSL folder) or ca, cert and key; `puppet config print ssldir` gave nothing")]
    NoSsldir,
    #[error(
        "security: set certname (or cert and key); `puppet config print certname` gave nothing"
    )]
    NoCertname,
}

impl SecuritySection {
    /// Where the CA, certificate and key are: explicit files first, else the ssldir layout
    /// with Puppet's settings filling in what is not set.
    pub fn files(&self) -> Result<CertFiles, LocateError> {
        self.files_with(puppet_setting)
    }

    /// [`SecuritySection::files`] with `puppet` answering `puppet config print NAME`.
    pub fn files_with(
        &self,
        puppet: impl Fn(&str) -> Option<String>,
    ) -> Result<CertFiles, LocateError> {
        if let (Some(ca), Some(cert), Some(key)) = (&self.ca, &self.cert, &self.key) {
            return Ok(CertFiles {
                ca: ca.clone(),
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        let ssldir = match &self.ssldir {
            Some(dir) => dir.clone(),
            None => PathBuf::from(puppet("ssldir").ok_or(LocateError::NoSsldir)?),
        };
        let ca = self.ca.clone().unwrap_or_else(|| CertFiles::ca_in(&ssldir));
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            return Ok(CertFiles {
                ca,
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        let certname = match &self.certname {
            Some(name) => name.clone(),
            None => puppet("certname").ok_or(LocateError::NoCertname)?,
        };
        let layout = CertFiles::in_ssldir(&ssldir, &certname);
        Ok(CertFiles {
            ca,
            cert: self.cert.clone().unwrap_or(layout.cert),
            key: self.key.clone().unwrap_or(layout.key),
        })
    }

    pub fn allowed_callers(&self) -> Vec<String> {
        self.allowed_callers
            .clone()
            .unwrap_or_else(|| DEFAULT_ALLOWED_CALLERS.map(str::to_string).to_vec())
    }

    pub fn privileged_callers(&self) -> Vec<String> {
        self.privileged_callers
            .clone()
            .unwrap_or_else(|| DEFAULT_PRIVILEGED_CALLERS.map(str::to_string).to_vec())
    }

    pub fn max_clock_skew(&self) -> Duration {
        self.max_clock_skew.unwrap_or(DEFAULT_MAX_CLOCK_SKEW)
    }

    pub fn max_ttl(&self) -> Duration {
        self.max_ttl.unwrap_or(DEFAULT_MAX_TTL)
    }

    /// Takes relative paths from `base` (the configuration file's folder).
    pub fn resolve_relative_to(&mut self, base: &Path) {
        for path in [
            &mut self.ssldir,
            &mut self.ca,
            &mut self.cert,
            &mut self.key,
            &mut self.policies,
            &mut self.audit_log,
        ]
        .into_iter()
        .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// `puppet config print NAME` (agent section), when Puppet is installed and answers. Asked
/// once per process and name: Puppet takes a second or more to start, and the request
/// signer, the broker's TLS and the node's daemon each want the files.
fn puppet_setting(name: &str) -> Option<String> {
    static ANSWERS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
    > = std::sync::OnceLock::new();
    let answers = ANSWERS.get_or_init(Default::default);
    let mut answers = answers
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    answers
        .entry(name.to_string())
        .or_insert_with(|| ask_puppet(name))
        .clone()
}

fn ask_puppet(name: &str) -> Option<String> {
    let output = std::process::Command::new("puppet")
        .args(["config", "print", name, "--section", "agent"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let value = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> SecuritySection {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn the_ssldir_layout() {
        let files = section("{ssldir: /ssl, certname: rip.mcollective}")
            .files_with(|_| None)
            .unwrap();
        assert_eq!(files.ca, PathBuf::from("/ssl/certs/ca.pem"));
        assert_eq!(files.cert, PathBuf::from("/ssl/certs/rip.mcollective.pem"));
        assert_eq!(
            files.key,
            PathBuf::from("/ssl/private_keys/rip.mcollective.pem")
        );
    }

    #[test]
    fn puppet_fills_in_and_explicit_files_win() {
        let puppet = |name: &str| match name {
            "ssldir" => Some("/etc/puppetlabs/puppet/ssl".to_string()),
            "certname" => Some("web1.example.net".to_string()),
            _ => None,
        };
        let files = section("{ca: /my/ca.pem}").files_with(puppet).unwrap();
        assert_eq!(files.ca, PathBuf::from("/my/ca.pem"));
        assert_eq!(
            files.cert,
            PathBuf::from("/etc/puppetlabs/puppet/ssl/certs/web1.example.net.pem")
        );
        let explicit = section("{ca: a, cert: b, key: c}")
            .files_with(|_| None)
            .unwrap();
        assert_eq!(explicit.key, PathBuf::from("c"));
        let none = section("{}").files_with(|_| None).unwrap_err();
        assert!(none.to_string().contains("ssldir"), "{none}");
        let no_name = section("{ssldir: /s}").files_with(|_| None).unwrap_err();
        assert!(no_name.to_string().contains("certname"), "{no_name}");
    }

    #[test]
    fn defaults_and_mistakes() {
        let empty = section("{}");
        assert_eq!(empty.allowed_callers(), [r"\.mcollective$", r"\.choria$"]);
        assert_eq!(empty.max_clock_skew(), Duration::from_secs(30));
        assert_eq!(empty.max_ttl(), Duration::from_secs(300));
        assert!(!empty.accept_unsigned_replies);
        let typo: Result<SecuritySection, _> = serde_yaml_ng::from_str("{verify: false}");
        assert!(typo.unwrap_err().to_string().contains("unknown field"));
        let set = section("{max_ttl: 2m, max_clock_skew: 5s}");
        assert_eq!(set.max_ttl(), Duration::from_secs(120));
    }
}
