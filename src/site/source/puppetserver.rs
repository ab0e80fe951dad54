//! `--puppetserver URL`: the graph Puppet Server 5/6 computes, from `GET
//! /puppet/v3/environment/<env>` over mutual TLS with the certificate, key and CA of Puppet's
//! ssl dir. ureq does the HTTP, with rustls (already in the tree through async-nats).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use super::file::parse_graph;
use super::{SourceError, SourceErrorKind};
use crate::security::CertFiles;
use crate::site::EnvironmentGraph;

/// Puppet Server computes the graph by compiling the whole environment: give it time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Puppet's agent port, for a server given as a bare host name.
const PUPPET_PORT: u16 = 8140;

/// The client certificate, its key and the CA that signed the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TlsFiles {
    /// Puppet's layout: `<ssldir>/certs/<certname>.pem`, `<ssldir>/private_keys/<certname>.pem`,
    /// `<ssldir>/certs/ca.pem`.
    pub fn from_ssldir(ssldir: &Path, certname: &str) -> TlsFiles {
        let CertFiles { ca, cert, key } = CertFiles::in_ssldir(ssldir, certname);
        TlsFiles { cert, key, ca }
    }

    /// The files from the options given; what is not given comes from Puppet's layout, with
    /// the ssl dir and certname `puppet config print` reports (asked only when needed).
    pub fn resolve(
        ssldir: Option<PathBuf>,
        certname: Option<String>,
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
    ) -> Result<TlsFiles, SourceError> {
        if let (Some(cert), Some(key), Some(ca)) = (&cert, &key, &ca) {
            return Ok(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            });
        }
        let (ssldir, certname) = match (ssldir, certname) {
            (Some(dir), Some(name)) => (dir, name),
            (dir, name) => {
                let settings = puppet_settings()?;
                (
                    dir.unwrap_or_else(|| PathBuf::from(&settings.0)),
                    name.unwrap_or(settings.1),
                )
            }
        };
        let layout = TlsFiles::from_ssldir(&ssldir, &certname);
        Ok(TlsFiles {
            cert: cert.unwrap_or(layout.cert),
            key: key.unwrap_or(layout.key),
            ca: ca.unwrap_or(layout.ca),
        })
    }
}

/// `ssldir` and `certname` from `puppet config print ssldir certname`.
fn puppet_settings() -> Result<(String, String), SourceError> {
    let output = std::process::Command::new("puppet")
        .args(["config", "print", "ssldir", "certname"])
        .output()
        .map_err(|err| {
            SourceError::new(
                SourceErrorKind::Missing,
                format!(
                    "cannot run `puppet config print ssldir certname` to find the TLS files: {err}"
                ),
            )
            .with_help("give --ssldir and --certname, or --cert, --key and --cacert")
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let setting = |name: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_string())
        })
    };
    match (setting("ssldir"), setting("certname")) {
        (Some(ssldir), Some(certname)) if output.status.success() => Ok((ssldir, certname)),
        _ => Err(SourceError::new(
            SourceErrorKind::Missing,
            format!(
                "`puppet config print ssldir certname` did not report both settings: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        )
        .with_help("give --ssldir and --certname, or --cert, --key and --cacert")),
    }
}

/// The graph of `environment` from the Puppet server at `url`.
pub fn from_puppetserver(
    url: &str,
    environment: &str,
    tls: &TlsFiles,
) -> Result<EnvironmentGraph, SourceError> {
    let endpoint = endpoint(url, environment)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls_config(tls)?)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(&endpoint)
        .header("Accept", "application/json")
        .call()
        .map_err(|err| request_error(&endpoint, tls, err))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| request_error(&endpoint, tls, err))?;
    match status {
        200..=299 => parse_graph(&body, &format!("the answer of {endpoint}")),
        404 => Err(SourceError::new(
            SourceErrorKind::Http,
            format!(
                "the Puppet server has no environment '{environment}' (404 from {endpoint}: {})",
                server_message(&body)
            ),
        )
        .with_help("check --environment; Puppet 7 and later no longer serve this endpoint at all")),
        403 => Err(SourceError::new(
            SourceErrorKind::Http,
            format!("the Puppet server refused {} (403 from {endpoint}: {})", tls.cert.display(), server_message(&body)),
        )
        .with_help("allow this certificate to GET /puppet/v3/environment in the server's auth.conf (see docs/site.md)")),
        _ => Err(SourceError::new(
            SourceErrorKind::Http,
            format!("{endpoint} answered {status}: {}", server_message(&body)),
        )),
    }
}

/// `https://puppet:8140/puppet/v3/environment/production`; a bare host gets https and 8140.
fn endpoint(url: &str, environment: &str) -> Result<String, SourceError> {
    let url = url.trim().trim_end_matches('/');
    let base = match url.split_once("://") {
        Some(("https", _)) => url.to_string(),
        Some((scheme, _)) => {
            return Err(SourceError::new(
                SourceErrorKind::Network,
                format!("--puppetserver {url}: the scheme must be https, not {scheme}"),
            )
            .with_help("Puppet Server answers over TLS only: https://puppet:8140"))
        }
        None if url.contains(':') => format!("https://{url}"),
        None => format!("https://{url}:{PUPPET_PORT}"),
    };
    if environment.is_empty()
        || !environment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(SourceError::new(
            SourceErrorKind::Missing,
            format!("'{environment}' is not a valid environment name"),
        )
        .with_help("environment names are letters, digits and underscores"));
    }
    Ok(format!("{base}/puppet/v3/environment/{environment}"))
}

fn tls_config(tls: &TlsFiles) -> Result<TlsConfig, SourceError> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|err| {
            SourceError::new(
                SourceErrorKind::Missing,
                format!("cannot read the {what} {}: {err}", path.display()),
            )
            .with_help("the TLS files come from Puppet's ssl dir (--ssldir, --certname) or --cert, --key and --cacert")
        })
    };
    let bad = |path: &Path, what: &str, err: ureq::Error| {
        SourceError::new(
            SourceErrorKind::Tls,
            format!("{} is not a PEM {what}: {err}", path.display()),
        )
    };
    let cert_pem = read(&tls.cert, "client certificate")?;
    let key_pem = read(&tls.key, "private key")?;
    let ca_pem = read(&tls.ca, "CA certificate")?;
    let chain = pem_certificates(&cert_pem).map_err(|e| bad(&tls.cert, "certificate", e))?;
    let key = PrivateKey::from_pem(&key_pem).map_err(|e| bad(&tls.key, "private key", e))?;
    let roots = pem_certificates(&ca_pem).map_err(|e| bad(&tls.ca, "CA certificate", e))?;
    Ok(TlsConfig::builder()
        .client_cert(Some(ClientCert::new_with_certs(&chain, key)))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

/// Every certificate of a PEM file (a chain, or Puppet's CA bundle).
fn pem_certificates(pem: &[u8]) -> Result<Vec<Certificate<'static>>, ureq::Error> {
    let mut found = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item? {
            found.push(cert);
        }
    }
    if found.is_empty() {
        return Err(ureq::Error::Tls("no certificate in the file"));
    }
    Ok(found)
}

fn request_error(endpoint: &str, tls: &TlsFiles, err: ureq::Error) -> SourceError {
    let text = err.to_string();
    let lower = text.to_lowercase();
    let tls_problem = matches!(
        err,
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_)
    ) || ["certificate", "tls", "handshake", "unknownissuer"]
        .iter()
        .any(|w| lower.contains(w));
    if tls_problem {
        return SourceError::new(
            SourceErrorKind::Tls,
            format!("TLS with {endpoint} failed: {text}"),
        )
        .with_help(format!(
            "the server's certificate must be signed by the CA in {} and name the host in the URL; the server must accept {}",
            tls.ca.display(),
            tls.cert.display()
        ));
    }
    SourceError::new(
        SourceErrorKind::Network,
        format!("cannot reach {endpoint}: {text}"),
    )
    .with_help("check --puppetserver: Puppet Server listens on port 8140")
}

/// Puppet Server's error bodies are JSON with a `message`; anything else is shown shortened.
fn server_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().chars().take(200).collect())
}

#[cfg(test)]
#[path = "puppetserver_tests.rs"]
mod tests;
