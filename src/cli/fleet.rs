//! `orchestrate fleet --nats URL (--fleet FILE | --nodes N)`: a simulated fleet served on a
//! NATS broker until Ctrl-C or SIGTERM, every node in this one process. For demos, tests and
//! the fan-out benchmark (scripts/bench-fanout).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::broker::{self, BrokerArgs};
use super::setup;
use crate::fleet::{FleetError, FleetFile, FleetSecurity, SimulatedFleet};
use crate::registry::Heartbeat;
use crate::security::{Authority, AuthorityError, KeyKind, SecuritySection};
use crate::stop::Stop;
use crate::transport::Transport;
use crate::Error;

#[derive(Debug, Args)]
pub struct FleetServeArgs {
    /// The fleet file (docs/fleet.md). With --nodes, only its first node entry is used.
    #[arg(long, value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    /// Serve N nodes named node00001.example.net ...: copies of the fleet file's first node
    /// entry, or without --fleet, bare nodes running rpcutil and discovery.
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// Security with certificates made now: a CA and a certificate for every node, and
    /// DIR written in Puppet's ssldir layout with the CA and a client certificate for each
    /// --client (certs/ca.pem, certs/NAME.pem, private_keys/NAME.pem), for clients to use as
    /// `security: {ssldir: DIR, certname: NAME}`. Without it, the configuration's `security:`
    /// section (real certificates, one per node in its ssldir) or none.
    #[arg(long, value_name = "DIR")]
    pub issue_certs: Option<PathBuf>,
    /// With --issue-certs: the clients to issue certificates for (default rip.mcollective).
    #[arg(long = "client", value_name = "NAME", requires = "issue_certs")]
    pub clients: Vec<String>,
    /// With --issue-certs: issue Ed25519 keys instead of ECDSA P-256 (the faster signer,
    /// docs/performance.md "Signing").
    #[arg(long, requires = "issue_certs")]
    pub ed25519: bool,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

pub fn run(args: FleetServeArgs) -> Result<(), Error> {
    super::logging::init();
    let broker = args.broker.load()?;
    let Some(nats) = broker.nats.clone() else {
        return Err(Error::usage(
            "orchestrate fleet serves nodes on NATS: give --nats URL, set NATS_URL, or set nats.servers in the configuration file",
        ));
    };
    let (file, origin) = fleet(&args)?;
    if let Err(problem) = broker.config.registry.check() {
        return Err(Error::usage(format!("registry: {problem}")));
    }
    let security = security(&args, broker.config.security.as_ref())?;
    let runtime = setup::runtime()?;
    runtime.block_on(async {
        // The one stop signal, watched from the start: it ends connecting as it ends serving.
        let stop = Stop::on_signals();
        let serving = async {
            let connection = broker::connect(&nats).await?;
            let transport: Arc<dyn Transport> = Arc::new(connection.clone());
            let nodes = file.node_count();
            let served = SimulatedFleet::serve_secured(
                file,
                transport.clone(),
                &broker.collective,
                security.as_ref(),
            )
            .await?;
            let registry = broker.config.registry.clone();
            if registry.enabled() {
                let registrations = served.registrations();
                let nodes = move || registrations.clone();
                Heartbeat::new(transport, registry)
                    .start(nodes, stop.clone())
                    .await;
            }
            // The subscriptions are only in place once the broker has read them: a caller may
            // start as soon as this line is printed.
            connection
                .round_trip(SUBSCRIBED_WITHIN)
                .await
                .map_err(Error::Broker)?;
            println!(
                "Serving {nodes} node{} ({origin}) on {} in collective {}; Ctrl-C stops",
                if nodes == 1 { "" } else { "s" },
                nats.describe(),
                broker.collective
            );
            Ok::<_, Error>(served)
        };
        // Stopped before serving: nothing was announced, nothing to tell.
        let served = tokio::select! {
            served = serving => served?,
            () = stop.requested() => return Ok(()),
        };
        stop.requested().await;
        served.stop();
        println!("Stopped");
        Ok(())
    })
}

/// The fleet's security: issued now (`--issue-certs`), from the configuration's `security:`
/// section, or none.
fn security(
    args: &FleetServeArgs,
    section: Option<&SecuritySection>,
) -> Result<Option<FleetSecurity>, Error> {
    let failed = |error: AuthorityError| {
        Error::Fleet(FleetError::Security {
            problem: error.to_string(),
        })
    };
    let Some(dir) = &args.issue_certs else {
        return section
            .map(FleetSecurity::from_section)
            .transpose()
            .map_err(Error::Fleet);
    };
    let kind = match args.ed25519 {
        true => KeyKind::Ed25519,
        false => KeyKind::EcdsaP256,
    };
    let authority = Authority::new("orchestrate fleet CA", kind).map_err(failed)?;
    let clients = match args.clients.is_empty() {
        true => vec!["rip.mcollective".to_string()],
        false => args.clients.clone(),
    };
    for client in &clients {
        let issued = authority.issue(client).map_err(failed)?;
        issued
            .write_ssldir(dir, client, &authority.ca_pem())
            .map_err(failed)?;
    }
    let section = section.cloned().unwrap_or_default();
    Ok(Some(FleetSecurity::issued_by(
        Arc::new(authority),
        &section,
    )?))
}

/// How long the broker may take to confirm the fleet's subscriptions.
const SUBSCRIBED_WITHIN: Duration = Duration::from_secs(10);

/// The fleet to serve and how to name it.
fn fleet(args: &FleetServeArgs) -> Result<(FleetFile, String), Error> {
    let load = |path: &PathBuf| FleetFile::load(path);
    match (&args.fleet, args.nodes) {
        (Some(path), None) => Ok((load(path)?, path.display().to_string())),
        (Some(path), Some(count)) => {
            let copies = load(path)?.copies_of_first(count)?;
            Ok((
                copies,
                format!("copies of the first node of {}", path.display()),
            ))
        }
        (None, Some(count)) => Ok((FleetFile::bare(count), "built in".to_string())),
        (None, None) => Err(Error::usage(
            "orchestrate fleet needs --fleet FILE, --nodes N, or both",
        )),
    }
}
