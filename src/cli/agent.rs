//! `orchestrate agent --config FILE`: the node daemon. It serves this node's agents on the
//! configured NATS broker until SIGTERM or Ctrl-C, then answers what it has in hand and exits
//! 0. `--check` loads everything, prints what would be served, and exits.
//!
//! The daemon runs on a single-threaded runtime: a node answers a handful of requests at a
//! time, and one thread keeps its idle memory small (measured in docs/agent.md). Decoding and
//! filtering each message runs on a blocking pool of [`ADMITTING_THREADS`], so a costly message
//! never stalls the thread that reads the connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::agent::config::AgentConfig;
use crate::agent::daemon::Daemon;
use crate::registry::{Heartbeat, RegistrySection};
use crate::stop::Stop;
use crate::transport::{Nats, NatsOptions, Transport, TransportErrorKind};
use crate::Error;

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The daemon's configuration (YAML; every key in docs/agent.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Load the configuration, Puppet's settings and the external agents, print what would
    /// be served, and exit.
    #[arg(long)]
    pub check: bool,
}

/// The threads that admit messages (and run other blocking work): two keep a flood's cost off
/// the connection's thread while bounding the allocator arenas a burst leaves behind.
const ADMITTING_THREADS: usize = 2;

/// The longest pause between two attempts to reach the broker at start.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

pub fn run(args: AgentArgs) -> Result<(), Error> {
    // The daemon logs at info by default, not warn as the other verbs do: a node's log is its
    // record of who asked it to do what (`RUST_LOG` overrides).
    super::logging::init_at("info");
    let config = AgentConfig::load(&args.config)?;
    let daemon = Daemon::from_config(&config)?;
    let nats = config.nats_options(daemon.identity())?;
    if args.check {
        print_check(&daemon, &config, nats.as_ref());
        return Ok(());
    }
    let Some(nats) = nats else {
        return Err(Error::usage(format!(
            "{}: no broker: set nats.servers",
            args.config.display()
        )));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(ADMITTING_THREADS)
        .build()?;
    runtime.block_on(async {
        // The one stop signal, watched from the start: a node whose broker is not up yet
        // stops as promptly as one serving.
        let stop = Stop::on_signals();
        serve(Arc::new(daemon), nats, config.registry.clone(), &stop).await
    })
}

/// Serves until stopped: connecting, subscribing, serving and finishing each end on `stop`.
async fn serve(
    daemon: Arc<Daemon>,
    nats: NatsOptions,
    registry: RegistrySection,
    stop: &Stop,
) -> Result<(), Error> {
    // Stopped before serving: nothing was announced, nothing to tell.
    let Some(connection) = connect(&nats, stop).await? else {
        return Ok(());
    };
    let transport: Arc<dyn Transport> = Arc::new(connection.clone());
    let listen = async {
        let listening = daemon.clone().listen(transport.clone()).await?;
        // Callers may address the node once the broker has read its subscriptions.
        connection.round_trip(SUBSCRIBED_WITHIN).await?;
        Ok(listening)
    };
    let listening = tokio::select! {
        listening = listen => listening.map_err(Error::Broker)?,
        () = stop.requested() => return Ok(()),
    };
    // Registered before it says it serves: a caller may choose it from the registry then.
    let heartbeat = match registry.enabled() {
        true => {
            let daemon = daemon.clone();
            let heartbeat = Heartbeat::new(transport.clone(), registry)
                .removing_on_stop()
                .serving_after(FIRST_ENTRY_WITHIN);
            let nodes = move || vec![daemon.node().registration()];
            Some(heartbeat.start(nodes, stop.clone()).await)
        }
        false => None,
    };
    println!(
        "Agent {} serving {} on {}; SIGTERM or Ctrl-C stops",
        daemon.identity(),
        daemon.node().info().agents.join(", "),
        nats.describe()
    );
    let served = listening.serve(stop).await;
    if let Some(heartbeat) = heartbeat {
        // Its entry removed, so callers stop choosing the node now rather than at expiry.
        let _ = tokio::time::timeout(REMOVED_WITHIN, heartbeat).await;
    }
    served.map_err(Error::Broker)?;
    println!("Stopped");
    Ok(())
}

/// How long a starting node waits for its registry entry to be written before it serves.
const FIRST_ENTRY_WITHIN: Duration = Duration::from_secs(2);

/// How long a stopping node waits to remove its registry entry (else it expires).
const REMOVED_WITHIN: Duration = Duration::from_secs(2);

/// How long the broker may take to confirm the daemon's subscriptions.
const SUBSCRIBED_WITHIN: Duration = Duration::from_secs(10);

/// Connects to the broker, trying again (1 s, 2 s, ... up to 30 s apart) while it is
/// unreachable: a node booting before its broker must still come up. None when stopped first.
/// A TLS failure (a file that cannot be used, a certificate refused either way) is a mistake
/// to correct, not a broker to wait for: it ends the daemon at once.
async fn connect(nats: &NatsOptions, stop: &Stop) -> Result<Option<Nats>, Error> {
    let mut delay = Duration::from_secs(1);
    loop {
        let attempt = tokio::select! {
            () = stop.requested() => return Ok(None),
            attempt = Nats::connect(nats) => attempt,
        };
        match attempt {
            Ok(connection) => return Ok(Some(connection)),
            Err(error) if error.kind() == TransportErrorKind::Tls => {
                return Err(Error::Connect(error))
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "cannot reach the broker yet");
                tokio::select! {
                    () = stop.requested() => return Ok(None),
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
        }
    }
}

/// Whether security is on, and with which certificate.
fn security_line(config: &AgentConfig) -> String {
    let Some(section) = &config.security else {
        return "off: unsigned requests are taken from anyone on the broker (add a security: section)".to_string();
    };
    match section.files() {
        Ok(files) => format!(
            "on: certificate {}, CA {}, callers {}",
            files.cert.display(),
            files.ca.display(),
            section.allowed_callers().join(" ")
        ),
        Err(error) => error.to_string(),
    }
}

fn print_check(daemon: &Daemon, config: &AgentConfig, nats: Option<&NatsOptions>) {
    let node = daemon.node();
    let info = node.info();
    println!("identity: {}", info.identity);
    println!("collective: {}", info.collective);
    println!(
        "broker: {}",
        nats.map(NatsOptions::describe)
            .unwrap_or_else(|| "none (set nats.servers)".to_string())
    );
    if let Some(tls) = nats.and_then(|nats| nats.tls.as_ref()) {
        println!(
            "broker TLS: ca {}, cert {}, key {}",
            tls.ca.display(),
            tls.cert.display(),
            tls.key.display()
        );
    }
    println!("facts: {}", info.facts.len());
    println!("classes: {}", info.classes.join(", "));
    println!("agents: {}", info.agents.join(", "));
    println!("concurrency: {}", config.concurrency);
    println!("action timeout: {} s", config.action_timeout.as_secs_f64());
    println!("security: {}", security_line(config));
    println!("subjects:");
    for subject in daemon.subjects() {
        println!("  {subject}");
    }
}
