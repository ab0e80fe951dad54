//! `orchestrate broker-config`: writes a `nats-server` configuration for a real fleet. Every
//! connection must show a certificate signed by the CA (`verify_and_map`); the certificate's
//! name is its user, and each user may publish and subscribe only to its own subjects:
//! clients send requests and read only their own replies, nodes read only their own
//! requests and publish only replies. docs/security.md ("The broker") says why.
//!
//! nats-server (2.9 checked) maps a certificate to a user by its email SANs, then its DNS
//! SANs, then its subject DN: each name is written twice, `rip.mcollective` for a
//! certificate with that DNS SAN and `CN=rip.mcollective` for one with only a common name
//! (Puppet's agent certificates without alt names).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::protocol::{
    broadcast_subjects, direct_subject, direct_subjects, is_subject_token, is_valid_identity,
    replies_to, reply_subjects,
};
use crate::registry::permissions;
use crate::security::SecuritySection;
use crate::Error;

#[derive(Debug, Args)]
pub struct BrokerConfigArgs {
    /// The broker's certificate (PEM). Default: <ssldir>/certs/<certname>.pem.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The broker's private key (PEM). Default: <ssldir>/private_keys/<certname>.pem.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The CA every certificate must be signed by (PEM). Default: <ssldir>/certs/ca.pem.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Puppet's SSL folder on the broker's host. Default: `puppet config print ssldir`.
    #[arg(long, value_name = "DIR")]
    pub ssldir: Option<PathBuf>,
    /// The broker's certificate name in the ssldir. Default: `puppet config print certname`.
    #[arg(long, value_name = "NAME")]
    pub certname: Option<String>,
    /// A client that may send requests, by certificate name (`rip.mcollective`); repeat it.
    #[arg(long = "client", value_name = "NAME")]
    pub clients: Vec<String>,
    /// A file of client names, one a line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub clients_file: Option<PathBuf>,
    /// A node, by identity and certificate name (`web1.example.net`); repeat it.
    #[arg(long = "node", value_name = "NAME")]
    pub nodes: Vec<String>,
    /// A file of node names, one a line (`#` comments): `puppet cert list --all` or the
    /// fleet's inventory, say.
    #[arg(long, value_name = "FILE")]
    pub nodes_file: Option<PathBuf>,
    /// The collective whose subjects are granted.
    #[arg(long, default_value = "mcollective", value_name = "NAME")]
    pub collective: String,
    /// The address the broker listens on.
    #[arg(long, default_value = "0.0.0.0", value_name = "ADDRESS")]
    pub listen: String,
    /// The port the broker listens on.
    #[arg(long, default_value_t = 4222, value_name = "PORT")]
    pub port: u16,
    /// Write the configuration here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run JetStream, keeping its files in DIR: the node registry needs it (docs/nats.md).
    #[arg(long, value_name = "DIR")]
    pub jetstream: Option<PathBuf>,
    /// The node registry's bucket the nodes may write their own entries in and clients read.
    #[arg(long, default_value = crate::registry::DEFAULT_BUCKET, value_name = "NAME")]
    pub bucket: String,
}

/// What the configuration grants, checked.
#[derive(Debug, PartialEq)]
struct BrokerPlan {
    listen: String,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    collective: String,
    clients: BTreeSet<String>,
    nodes: BTreeSet<String>,
    bucket: String,
    jetstream: Option<PathBuf>,
}

pub fn run(args: BrokerConfigArgs) -> Result<(), Error> {
    let plan = plan(&args)?;
    let text = render(&plan);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|error| Error::usage(format!("cannot write {}: {error}", path.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn plan(args: &BrokerConfigArgs) -> Result<BrokerPlan, Error> {
    if !is_subject_token(&args.collective) {
        return Err(Error::usage(format!(
            "--collective {:?} cannot be part of a NATS subject",
            args.collective
        )));
    }
    if args.listen.is_empty() || args.listen.contains(['"', '\\', ' ']) {
        return Err(Error::usage(format!(
            "--listen {:?} is not an address",
            args.listen
        )));
    }
    let clients = names("--client", &args.clients, args.clients_file.as_deref())?;
    let nodes = names("--node", &args.nodes, args.nodes_file.as_deref())?;
    if clients.is_empty() || nodes.is_empty() {
        return Err(Error::usage(
            "name the clients (--client NAME or --clients-file FILE) and the nodes (--node NAME or --nodes-file FILE) the broker lets in",
        ));
    }
    if let Some(both) = clients.intersection(&nodes).next() {
        return Err(Error::usage(format!(
            "{both} is named as a client and as a node: one certificate is one user, give it one role"
        )));
    }
    if !is_subject_token(&args.bucket) {
        return Err(Error::usage(format!(
            "--bucket {:?} cannot be part of a NATS subject",
            args.bucket
        )));
    }
    let jetstream = match &args.jetstream {
        Some(dir) => Some(std::path::absolute(dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?),
        None => None,
    };
    let (ca, cert, key) = broker_files(args)?;
    let listen = match args.listen.contains(':') {
        true => format!("[{}]:{}", args.listen, args.port),
        false => format!("{}:{}", args.listen, args.port),
    };
    Ok(BrokerPlan {
        listen,
        ca,
        cert,
        key,
        collective: args.collective.clone(),
        clients,
        nodes,
        bucket: args.bucket.clone(),
        jetstream,
    })
}

/// The broker's CA, certificate and key: explicit files, else Puppet's ssldir layout (the
/// same rules as a `security` section's); each must exist, and is written as an absolute
/// path (nats-server reads relative ones from its working folder).
fn broker_files(args: &BrokerConfigArgs) -> Result<(PathBuf, PathBuf, PathBuf), Error> {
    let section = SecuritySection {
        ssldir: args.ssldir.clone(),
        certname: args.certname.clone(),
        ca: args.ca.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        ..SecuritySection::default()
    };
    let files = section.files().map_err(|error| {
        Error::usage(format!(
            "the broker's certificate: {error} (here: --ssldir and --certname, or --ca, --cert and --key)"
        ))
    })?;
    let existing = |path: PathBuf| -> Result<PathBuf, Error> {
        if !path.is_file() {
            return Err(Error::PathNotFound { path });
        }
        Ok(std::path::absolute(&path).unwrap_or(path))
    };
    Ok((
        existing(files.ca)?,
        existing(files.cert)?,
        existing(files.key)?,
    ))
}

/// The names given with `flag` and those of `file`, checked, without repeats.
fn names(flag: &str, given: &[String], file: Option<&Path>) -> Result<BTreeSet<String>, Error> {
    let mut all: Vec<String> = given.to_vec();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        all.extend(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or("").trim())
                .filter(|line| !line.is_empty())
                .map(str::to_string),
        );
    }
    for name in &all {
        if !is_certificate_name(name) {
            return Err(Error::usage(format!(
                "{flag} {name:?}: a certificate name is letters, digits, '.', '-' and '_' (rip.mcollective, web1.example.net)"
            )));
        }
    }
    Ok(all.into_iter().collect())
}

/// A Puppet certname that is also a node identity on the wire (it lands in subjects).
fn is_certificate_name(name: &str) -> bool {
    is_valid_identity(name)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The nats-server configuration's text.
fn render(plan: &BrokerPlan) -> String {
    let c = &plan.collective;
    let mut text = format!(
        "# nats-server configuration for the orchestrate fleet of collective {c}, written by\n\
         # `orchestrate broker-config` (docs/security.md, \"The broker\"). Every connection shows a\n\
         # certificate signed by the CA; its name (a DNS SAN, else the subject CN=...) is its\n\
         # user, and a certificate whose name is not listed here is refused.\n\n\
         listen: {}\n\n\
         tls {{\n  cert_file: {}\n  key_file: {}\n  ca_file: {}\n  verify_and_map: true\n  timeout: 5\n}}\n\n\
         authorization {{\n  users = [\n",
        quoted(&plan.listen),
        quoted(&plan.cert.display().to_string()),
        quoted(&plan.key.display().to_string()),
        quoted(&plan.ca.display().to_string()),
    );
    text.push_str(
        "    # Clients: send requests to every node or one, read only their own replies.\n",
    );
    let bucket = &plan.bucket;
    for client in &plan.clients {
        let mut publish = vec![broadcast_subjects(c), direct_subjects(c)];
        publish.extend(permissions::client_publishes(bucket));
        let subscribe = [replies_to(c, client), format!("_INBOX.{client}.>")];
        push_users(&mut text, client, &publish, &subscribe);
    }
    text.push_str(
        "    # Nodes: read the broadcasts and their own requests, publish only replies.\n",
    );
    for node in &plan.nodes {
        // The node's own inboxes: its daemon's check that the broker has its subscriptions.
        let inbox = format!("_INBOX.{node}.>");
        let mut publish = vec![reply_subjects(c), inbox.clone()];
        publish.extend(permissions::node_publishes(bucket, node));
        let subscribe = [broadcast_subjects(c), direct_subject(c, node), inbox];
        push_users(&mut text, node, &publish, &subscribe);
    }
    text.push_str("  ]\n}\n");
    if let Some(store) = &plan.jetstream {
        // The node registry's bucket lives here (in memory: entries are rewritten every
        // heartbeat; the folder holds JetStream's own state).
        let _ = writeln!(
            text,
            "\njetstream {{\n  store_dir: {}\n}}",
            quoted(&store.display().to_string())
        );
    }
    text
}

/// The two users of one certificate name (its DNS SAN, its subject), with one set of rights.
fn push_users(text: &mut String, name: &str, publish: &[String], subscribe: &[String]) {
    let permissions = format!(
        "permissions: {{publish: {{allow: {}}}, subscribe: {{allow: {}}}}}",
        list(publish),
        list(subscribe)
    );
    for user in [name.to_string(), format!("CN={name}")] {
        let _ = writeln!(text, "    {{user: {}, {permissions}}}", quoted(&user));
    }
}

fn list(subjects: &[String]) -> String {
    let quoted: Vec<String> = subjects.iter().map(|subject| quoted(subject)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A string as nats-server's configuration reads it: double quotes, with `"` and `\`
/// escaped (names are checked to have none; paths might).
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: BrokerConfigArgs,
    }

    fn args(words: &[&str]) -> BrokerConfigArgs {
        Command::parse_from(std::iter::once("broker-config").chain(words.iter().copied())).args
    }

    /// A broker's ssldir with empty files (only their existence is checked).
    fn ssldir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "certs/ca.pem",
            "certs/broker.example.net.pem",
            "private_keys/broker.example.net.pem",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    fn ssldir_args<'a>(dir: &'a str, more: &[&'a str]) -> Vec<&'a str> {
        let mut words = vec!["--ssldir", dir, "--certname", "broker.example.net"];
        words.extend_from_slice(more);
        words
    }

    #[test]
    fn the_whole_configuration() {
        let dir = ssldir();
        let root = dir.path().to_str().unwrap();
        let plan = plan(&args(&ssldir_args(
            root,
            &[
                "--client",
                "rip.mcollective",
                "--node",
                "web1.example.net",
                "--collective",
                "lab",
                "--port",
                "4443",
            ],
        )))
        .unwrap();
        let text = render(&plan);
        let quoted = |subjects: &[&str]| {
            let quoted: Vec<String> = subjects.iter().map(|s| format!("\"{s}\"")).collect();
            quoted.join(", ")
        };
        // A node writes only its own entry; a client reads the bucket.
        let node_registry = quoted(&[
            "$KV.orchestrate_nodes.web1.example.net",
            "$JS.API.STREAM.INFO.KV_orchestrate_nodes",
            "$JS.API.STREAM.CREATE.KV_orchestrate_nodes",
        ]);
        let client_registry = quoted(&[
            "$JS.API.STREAM.INFO.KV_orchestrate_nodes",
            "$JS.API.CONSUMER.CREATE.KV_orchestrate_nodes",
            "$JS.API.CONSUMER.CREATE.KV_orchestrate_nodes.>",
            "$JS.API.CONSUMER.INFO.KV_orchestrate_nodes.>",
            "$JS.API.CONSUMER.DELETE.KV_orchestrate_nodes.>",
            "$JS.FC.KV_orchestrate_nodes.>",
        ]);
        let expected = format!(
            "listen: \"0.0.0.0:4443\"\n\n\
             tls {{\n  cert_file: \"{root}/certs/broker.example.net.pem\"\n  key_file: \"{root}/private_keys/broker.example.net.pem\"\n  ca_file: \"{root}/certs/ca.pem\"\n  verify_and_map: true\n  timeout: 5\n}}\n\n\
             authorization {{\n  users = [\n\
             \x20   # Clients: send requests to every node or one, read only their own replies.\n\
             \x20   {{user: \"rip.mcollective\", permissions: {{publish: {{allow: [\"lab.broadcast.agent.>\", \"lab.node.>\", {client_registry}]}}, subscribe: {{allow: [\"lab.reply.rip.mcollective.>\", \"_INBOX.rip.mcollective.>\"]}}}}}}\n\
             \x20   {{user: \"CN=rip.mcollective\", permissions: {{publish: {{allow: [\"lab.broadcast.agent.>\", \"lab.node.>\", {client_registry}]}}, subscribe: {{allow: [\"lab.reply.rip.mcollective.>\", \"_INBOX.rip.mcollective.>\"]}}}}}}\n\
             \x20   # Nodes: read the broadcasts and their own requests, publish only replies.\n\
             \x20   {{user: \"web1.example.net\", permissions: {{publish: {{allow: [\"lab.reply.>\", \"_INBOX.web1.example.net.>\", {node_registry}]}}, subscribe: {{allow: [\"lab.broadcast.agent.>\", \"lab.node.web1.example.net\", \"_INBOX.web1.example.net.>\"]}}}}}}\n\
             \x20   {{user: \"CN=web1.example.net\", permissions: {{publish: {{allow: [\"lab.reply.>\", \"_INBOX.web1.example.net.>\", {node_registry}]}}, subscribe: {{allow: [\"lab.broadcast.agent.>\", \"lab.node.web1.example.net\", \"_INBOX.web1.example.net.>\"]}}}}}}\n\
             \x20 ]\n}}\n"
        );
        let body = text
            .split_once("\n\nlisten")
            .map(|(_, rest)| format!("listen{rest}"));
        assert_eq!(body.as_deref(), Some(expected.as_str()), "{text}");
    }

    #[test]
    fn names_from_files_and_flags_without_repeats() {
        let dir = ssldir();
        let root = dir.path().to_str().unwrap();
        let nodes = dir.path().join("nodes.txt");
        std::fs::write(
            &nodes,
            "# the web tier\nweb1.example.net\n\nweb2.example.net  # new\nweb1.example.net\n",
        )
        .unwrap();
        let nodes_file = nodes.to_str().unwrap();
        let plan = plan(&args(&ssldir_args(
            root,
            &[
                "--client",
                "rip.mcollective",
                "--nodes-file",
                nodes_file,
                "--node",
                "db1.example.net",
            ],
        )))
        .unwrap();
        let names: Vec<&str> = plan.nodes.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            ["db1.example.net", "web1.example.net", "web2.example.net"]
        );
        assert_eq!(plan.listen, "0.0.0.0:4222");
        assert_eq!(plan.collective, "mcollective");
    }

    #[test]
    fn mistakes_are_named() {
        let dir = ssldir();
        let root = dir.path().to_str().unwrap();
        let refused = |more: &[&str]| {
            plan(&args(&ssldir_args(root, more)))
                .unwrap_err()
                .to_string()
        };
        let ok = ["--client", "rip.mcollective", "--node", "web1.example.net"];
        assert!(refused(&["--node", "web1.example.net"]).contains("name the clients"));
        assert!(
            refused(&["--client", "bad\"name", "--node", "n"]).contains("a certificate name is")
        );
        assert!(refused(&["--client", "a.*", "--node", "n"]).contains("a certificate name is"));
        assert!(refused(&["--client", "x", "--node", "x"]).contains("as a client and as a node"));
        assert!(refused(&[&ok[..], &["--collective", "a.b"]].concat()).contains("--collective"));
        let missing = plan(&args(
            &[&["--ssldir", root, "--certname", "nobody"], &ok[..]].concat(),
        ))
        .unwrap_err();
        assert_eq!(missing.exit_code(), 2);
        assert!(
            missing.to_string().contains("certs/nobody.pem"),
            "{missing}"
        );
        let no_file = refused(&[&ok[..], &["--nodes-file", "/nonexistent/nodes"]].concat());
        assert!(
            no_file.contains("cannot read /nonexistent/nodes"),
            "{no_file}"
        );
    }

    #[test]
    fn paths_are_quoted_for_nats_server() {
        assert_eq!(quoted(r#"/a "b"\c"#), r#""/a \"b\"\\c""#);
    }
}
