//! Where the broker is, for every verb that talks to nodes: `--nats`, `NATS_URL`, the
//! configuration file (src/config.rs), and the collective.

use clap::Args;
use std::path::PathBuf;

use crate::config::Config;
use crate::transport::{Nats, NatsOptions};
use crate::Error;

/// The collective when neither the command line nor the configuration names one.
pub const DEFAULT_COLLECTIVE: &str = "mcollective";

#[derive(Debug, Clone, Args)]
pub struct BrokerArgs {
    /// NATS servers, comma-separated (nats://host:4222,...). Default: $NATS_URL, then the
    /// configuration file's nats.servers.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The configuration file. Default: $ORCHESTRATE_CONFIG, else
    /// ~/.config/orchestrate/config.yaml, else /etc/orchestrate/config.yaml (the first found).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The collective requests go to. Default: the configuration's, else mcollective.
    #[arg(long, value_name = "NAME")]
    pub collective: Option<String>,
}

/// The configuration with the command line applied.
pub struct Broker {
    pub config: Config,
    /// None: no server anywhere (the embedded fleet).
    pub nats: Option<NatsOptions>,
    pub collective: String,
}

impl BrokerArgs {
    /// Reads the configuration file and settles the servers: `--nats`, else `NATS_URL`, else
    /// the file.
    pub fn load(&self) -> Result<Broker, Error> {
        let config = Config::load(self.config.as_deref())?;
        let servers = self.nats.clone().or_else(|| {
            std::env::var("NATS_URL")
                .ok()
                .filter(|url| !url.trim().is_empty())
        });
        let nats = config.nats_options(servers.as_deref())?;
        let collective = self
            .collective
            .clone()
            .or_else(|| config.collective.clone())
            .unwrap_or_else(|| DEFAULT_COLLECTIVE.to_string());
        Ok(Broker {
            config,
            nats,
            collective,
        })
    }
}

/// Connects to the broker; one that cannot be reached is an error (exit 2) after the connect
/// timeout, not a wait.
pub async fn connect(options: &NatsOptions) -> Result<Nats, Error> {
    Nats::connect(options).await.map_err(Error::Connect)
}
