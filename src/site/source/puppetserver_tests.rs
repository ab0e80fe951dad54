//! Against a real HTTPS server on a loopback port that, like Puppet Server, requires a client
//! certificate signed by its CA. Certificates are made by rcgen for each test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::*;

const GRAPH: &str = r#"{"environment":"production","applications":{"Lamp[app1]":{"Lamp::Mysql[app1]":{"produces":["Sql[app1]"],"consumes":[],"node":"dev1.example.net"},"Lamp::Webapp[app1-1]":{"produces":[],"consumes":["Sql[app1]"],"node":"dev2.example.net"}}},"code_id":null}"#;

/// A CA, and certificates it signs.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("Puppet CA: {name}"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// (certificate PEM, key PEM) for these names.
    fn sign(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

/// Puppet's ssl dir for `certname`, signed by `ca`, trusting `trusted`.
fn ssldir(dir: &Path, certname: &str, ca: &Authority, trusted: &Authority) -> TlsFiles {
    let (cert, key) = ca.sign(&[certname]);
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::create_dir_all(dir.join("private_keys")).unwrap();
    std::fs::write(dir.join("certs").join(format!("{certname}.pem")), cert).unwrap();
    std::fs::write(
        dir.join("private_keys").join(format!("{certname}.pem")),
        key,
    )
    .unwrap();
    std::fs::write(dir.join("certs/ca.pem"), trusted.pem()).unwrap();
    TlsFiles::from_ssldir(dir, certname)
}

/// Serves one request: the graph for `/puppet/v3/environment/production`, 404 otherwise.
/// Client certificates must be signed by `ca`. Returns the port.
fn serve_once(ca: &Authority) -> u16 {
    let (cert, key) = ca.sign(&["localhost", "127.0.0.1"]);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return;
        };
        let Ok(connection) = rustls::ServerConnection::new(Arc::new(config)) else {
            return;
        };
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        let mut reader = BufReader::new(&mut stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return; // the handshake failed: the client is told by TLS itself
        }
        let mut accept_json = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            accept_json |= line.to_lowercase().starts_with("accept: application/json");
        }
        let (status, body) = if request_line.starts_with("GET /puppet/v3/environment/production ")
            && accept_json
        {
            ("200 OK", GRAPH.to_string())
        } else {
            let env = request_line
                .split('/')
                .nth(4)
                .unwrap_or("")
                .split(' ')
                .next()
                .unwrap_or("");
            (
                "404 Not Found",
                format!(
                    r#"{{"message":"Not Found: {env} is not a known environment","issue_kind":"RESOURCE_NOT_FOUND"}}"#
                ),
            )
        };
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.conn.send_close_notify();
        let _ = stream.flush();
    });
    port
}

#[test]
fn the_graph_comes_over_mutual_tls() {
    let ca = Authority::new("test");
    let dir = tempfile::tempdir().unwrap();
    let tls = ssldir(dir.path(), "orchestrator.example.net", &ca, &ca);
    let port = serve_once(&ca);
    let graph =
        from_puppetserver(&format!("https://127.0.0.1:{port}"), "production", &tls).unwrap();
    assert_eq!(graph, EnvironmentGraph::from_json(GRAPH).unwrap());
}

#[test]
fn a_server_signed_by_another_ca_is_refused() {
    let ours = Authority::new("ours");
    let theirs = Authority::new("theirs");
    let dir = tempfile::tempdir().unwrap();
    let tls = ssldir(dir.path(), "orchestrator.example.net", &ours, &ours);
    let port = serve_once(&theirs);
    let error =
        from_puppetserver(&format!("https://localhost:{port}"), "production", &tls).unwrap_err();
    assert_eq!(
        error.kind(),
        SourceErrorKind::Tls,
        "{}",
        error.render(false)
    );
    assert!(
        error.message().contains("TLS with https://localhost:"),
        "{}",
        error.message()
    );
    assert!(
        error.render(false).contains("must be signed by the CA in"),
        "{}",
        error.render(false)
    );
}

#[test]
fn an_unknown_environment_is_a_404_that_says_so() {
    let ca = Authority::new("test");
    let dir = tempfile::tempdir().unwrap();
    let tls = ssldir(dir.path(), "orchestrator.example.net", &ca, &ca);
    let port = serve_once(&ca);
    let error =
        from_puppetserver(&format!("https://localhost:{port}/"), "staging", &tls).unwrap_err();
    assert_eq!(error.kind(), SourceErrorKind::Http);
    assert!(
        error
            .message()
            .contains("the Puppet server has no environment 'staging'"),
        "{}",
        error.message()
    );
    assert!(
        error
            .message()
            .contains("staging is not a known environment"),
        "{}",
        error.message()
    );
}

#[test]
fn missing_tls_files_are_named() {
    let tls = TlsFiles::from_ssldir(Path::new("/nonexistent/ssl"), "me");
    let error = from_puppetserver("https://localhost:1", "production", &tls).unwrap_err();
    assert_eq!(error.kind(), SourceErrorKind::Missing);
    assert!(
        error.message().contains("/nonexistent/ssl/certs/me.pem"),
        "{}",
        error.message()
    );
}

#[test]
fn the_url_gets_puppets_scheme_and_port() {
    assert_eq!(
        endpoint("puppet", "production").unwrap(),
        "https://puppet:8140/puppet/v3/environment/production"
    );
    assert_eq!(
        endpoint("https://puppet.example.net:8140/", "dev").unwrap(),
        "https://puppet.example.net:8140/puppet/v3/environment/dev"
    );
    assert_eq!(
        endpoint("http://puppet", "dev").unwrap_err().kind(),
        SourceErrorKind::Network
    );
    assert!(endpoint("puppet", "../x").is_err());
}

#[test]
fn given_paths_override_the_ssl_dir_layout() {
    let tls = TlsFiles::resolve(
        Some("/ssl".into()),
        Some("me".into()),
        None,
        Some("/keys/me.pem".into()),
        None,
    )
    .unwrap();
    assert_eq!(tls.cert, Path::new("/ssl/certs/me.pem"));
    assert_eq!(tls.key, Path::new("/keys/me.pem"));
    assert_eq!(tls.ca, Path::new("/ssl/certs/ca.pem"));
}
