//! What running and drawing a playbook share: where the repository and the fleet are, the
//! playbook's arguments, and the evaluation (on its own thread, asking the fleet through RPC).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::broker::{self, Broker, BrokerArgs};
use crate::duration;
use crate::eval::playbooks::PlaybookFile;
use crate::eval::{self, Evaluation, Loader, NoFleet, NodeQuery};
use crate::fleet::{FleetError, FleetFile, FleetSecurity, SimulatedFleet};
use crate::registry::{DiscoveryMethod, Registry, RegistrySection};
use crate::rpc::{ClientOptions, RpcClient};
use crate::security::{Authority, AuthorityError, ClientSecurity, KeyKind, SecuritySection};
use crate::transport::{InProcess, Transport};
use crate::Error;

#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// The playbook repository: playbooks at its top, modules under modules/.
    /// Default: ./playbooks when it exists, else the current directory.
    #[arg(long, env = "ORCHESTRATE_REPO", value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

impl RepoArgs {
    pub fn resolve(&self) -> PathBuf {
        match &self.repo {
            Some(repo) => repo.clone(),
            None if Path::new("playbooks").is_dir() => PathBuf::from("playbooks"),
            None => PathBuf::from("."),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// The simulated fleet to run against (the embedded default). Default: fleet.yaml in the
    /// repository. Chosen over a broker from NATS_URL or the configuration file.
    #[arg(long, env = "ORCHESTRATE_FLEET", value_name = "FILE")]
    pub fleet: Option<PathBuf>,
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Who runs the playbook: `$id` in the playbook, and the caller of every request.
    #[arg(long, env = "USER", default_value = "orchestrate", value_name = "NAME")]
    pub user: String,
    /// Longest wait for discovery replies (seconds, or `500ms`, `2s`...). Default: the
    /// configuration's discovery.timeout, else 2.
    #[arg(long, value_name = "SECONDS", value_parser = duration::parse)]
    pub discovery_timeout: Option<Duration>,
    /// Discovery ends this long after the last new reply (0: always wait the whole timeout,
    /// as Choria's broadcast discovery does). Default: the configuration's discovery.window,
    /// else 0.3.
    #[arg(long, value_name = "SECONDS", value_parser = duration::parse)]
    pub discovery_window: Option<Duration>,
    /// How nodes are found: `broadcast` (ask the fleet, wait for answers) or `registry` (the
    /// node registry on JetStream, no wait). Default: the configuration's discovery.method,
    /// else the registry where one exists, else broadcast.
    #[arg(long, value_name = "METHOD", value_enum)]
    pub discovery_method: Option<DiscoveryMethod>,
}

/// A count from the command line that must be at least 1 (`--concurrency`, `--batch`).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{text}' must be a whole number of at least 1")),
    }
}

impl FleetArgs {
    /// The client's options: the command line, else the configuration, else Choria's defaults.
    pub fn client_options(&self, broker: &Broker) -> ClientOptions {
        client_options(
            &self.user,
            broker,
            self.discovery_timeout,
            self.discovery_window,
        )
    }
}

/// The RPC client's options for `user`: discovery times from the command line (seconds), else
/// from the configuration, else Choria's 2 s with a 300 ms window; the reconnect grace from
/// the configuration's `nats` section, else 5 s.
pub fn client_options(
    user: &str,
    broker: &Broker,
    timeout: Option<Duration>,
    window: Option<Duration>,
) -> ClientOptions {
    let mut options = ClientOptions::for_user(user);
    options.collective = broker.collective.clone();
    let discovery = &broker.config.discovery;
    if let Some(timeout) = timeout.or(discovery.timeout) {
        options.discovery_timeout = timeout;
    }
    if let Some(window) = window.or(discovery.window) {
        options.discovery_window = (!window.is_zero()).then_some(window);
    }
    let nats = broker.config.nats.as_ref();
    if let Some(grace) = nats.and_then(|nats| nats.reconnect_grace) {
        options.reconnect_grace = grace;
    }
    options
}

/// A playbook to evaluate (`run`, `graph`): which, from which repository, against which fleet.
#[derive(Debug, Clone, Args)]
pub struct PlaybookTarget {
    #[command(flatten)]
    pub playbook: PlaybookArgs,
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// A playbook evaluated, with the runtime and the fleet it was evaluated against (its steps
/// run against the same).
pub struct Evaluated {
    pub runtime: tokio::runtime::Runtime,
    pub fleet: Fleet,
    pub evaluation: Evaluation,
}

impl PlaybookTarget {
    /// Connects to the fleet and evaluates the playbook.
    pub fn evaluate(&self) -> Result<Evaluated, Error> {
        let repo = self.repo.resolve();
        let runtime = runtime()?;
        let fleet = runtime.block_on(connect(&self.fleet, &repo))?;
        let evaluation = evaluate(&runtime, &fleet, &repo, &self.playbook, &self.fleet.user)?;
        Ok(Evaluated {
            runtime,
            fleet,
            evaluation,
        })
    }
}

/// The playbook named on the command line and its `NAME=VALUE` arguments.
#[derive(Debug, Clone, Args)]
pub struct PlaybookArgs {
    /// A playbook of the repository (`app_cluster_upgrade`), a plan (`mod::plan`, from
    /// modules/mod/plans/plan.pp or a Bolt project's plans/), or a path to a `.pp` file.
    pub playbook: String,
    /// Playbook parameters; a VALUE that parses as JSON is taken as JSON (numbers, arrays...).
    #[arg(value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Parameters as a JSON object, as Bolt takes them: '{"k": "v"}', @FILE or FILE.
    #[arg(long = "params", value_name = "JSON|@FILE")]
    pub params_json: Option<String>,
}

impl PlaybookArgs {
    pub fn locate(&self, repo: &Path) -> Result<PlaybookFile, Error> {
        eval::playbooks::find(repo, &self.playbook).map_err(|not_found| {
            Error::usage(format!(
                "{not_found}; `orchestrate list` shows the playbooks of the repository"
            ))
        })
    }

    /// The name the playbook runs by: a plan's full name, else the file's stem.
    pub fn name(&self, repo: &Path) -> String {
        match eval::playbooks::find(repo, &self.playbook) {
            Ok(found) => found.name,
            Err(_) => Path::new(&self.playbook)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| self.playbook.clone()),
        }
    }

    /// The `--params` object's entries, then the `NAME=VALUE` ones; a name given twice is
    /// refused.
    pub fn arguments(&self) -> Result<Vec<(String, eval::Value)>, Error> {
        let mut arguments: Vec<(String, eval::Value)> = match &self.params_json {
            Some(given) => params_object(given)?,
            None => Vec::new(),
        };
        for param in &self.params {
            let Some((name, value)) = param.split_once('=').filter(|(n, _)| is_parameter_name(n))
            else {
                return Err(Error::usage(format!(
                    "'{param}' is not a playbook parameter: write NAME=VALUE, e.g. cluster=bravo"
                )));
            };
            arguments.push((name.to_string(), eval::parse_argument(value)));
        }
        for (i, (name, _)) in arguments.iter().enumerate() {
            if name == "id" {
                return Err(Error::usage(
                    "`id` is the caller's identity ($id in the playbook): set it with --user",
                ));
            }
            if arguments[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::usage(format!("{name} is given twice")));
            }
        }
        Ok(arguments)
    }
}

/// `--params`: a JSON object, or `@FILE` / `FILE` holding one.
fn params_object(given: &str) -> Result<Vec<(String, eval::Value)>, Error> {
    let text = match given.trim_start().starts_with('{') {
        true => given.to_string(),
        false => {
            let path = given.strip_prefix('@').unwrap_or(given);
            std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.into(),
                source,
            })?
        }
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("--params {given}: not valid JSON: {e}")))?;
    let serde_json::Value::Object(entries) = json else {
        return Err(Error::usage(format!(
            "--params {given}: a JSON object of parameters is needed, e.g. '{{\"cluster\": \"bravo\"}}'"
        )));
    };
    entries
        .into_iter()
        .map(|(name, value)| match is_parameter_name(&name) {
            true => Ok((name, eval::Value::from(&value))),
            false => Err(Error::usage(format!(
                "--params: '{name}' is not a parameter name"
            ))),
        })
        .collect()
}

fn is_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The fleet the run talks to, kept alive for the run.
pub struct Fleet {
    pub rpc: Option<RpcClient>,
    pub description: String,
    _simulated: Option<SimulatedFleet>,
}

/// The fleet of a run: over NATS when a broker is configured (`--nats`, `NATS_URL`, the
/// configuration file) and no fleet file is given; otherwise the embedded default, the fleet
/// file served in this process over the in-process transport. Without a fleet file, playbooks
/// that address no nodes still run.
pub async fn connect(args: &FleetArgs, repo: &Path) -> Result<Fleet, Error> {
    let broker = args.broker.load()?;
    let options = args.client_options(&broker);
    let method = args.discovery_method.or(broker.config.discovery.method);
    if args.fleet.is_some() && args.broker.nats.is_some() {
        return Err(Error::usage(
            "give --fleet FILE (a simulated fleet) or --nats URL (a real one), not both",
        ));
    }
    if let (None, Some(nats)) = (&args.fleet, &broker.nats) {
        super::logging::init();
        let transport: Arc<dyn Transport> = Arc::new(broker::connect(nats).await?);
        let rpc = match &broker.config.security {
            Some(section) => {
                let security = Arc::new(ClientSecurity::load(section)?);
                RpcClient::secured(transport, options, security)
            }
            None => RpcClient::new(transport, options),
        };
        let rpc = with_discovery(rpc, method, &broker.config.registry).await?;
        return Ok(Fleet {
            rpc: Some(rpc),
            description: format!("on {}", nats.describe()),
            _simulated: None,
        });
    }
    let path = match &args.fleet {
        Some(path) => {
            if !path.is_file() {
                return Err(Error::usage(format!("no fleet file {}", path.display())));
            }
            path.clone()
        }
        None => {
            let default = repo.join("fleet.yaml");
            if !default.is_file() {
                return Ok(Fleet {
                    rpc: None,
                    description: "without a fleet (no fleet file)".into(),
                    _simulated: None,
                });
            }
            default
        }
    };
    let file = FleetFile::load(&path)?;
    let nodes = file.node_count();
    let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
    let section = broker.config.security.clone().unwrap_or_default();
    let (fleet_security, client_security) = ephemeral_security(&args.user, &section)?;
    let simulated = SimulatedFleet::serve_secured(
        file,
        transport.clone(),
        &options.collective,
        Some(&fleet_security),
    )
    .await?;
    // The simulated fleet has no registry: asked for, discovery says so rather than
    // broadcasting instead.
    let mut rpc = RpcClient::secured(transport, options, Arc::new(client_security))
        .without_registry("the simulated fleet runs in this process, without a broker");
    if let Some(method) = method {
        rpc = rpc.with_discovery_method(method);
    }
    Ok(Fleet {
        rpc: Some(rpc),
        description: format!(
            "on the simulated fleet {} ({nodes} node{})",
            path.display().to_string().trim_start_matches("./"),
            if nodes == 1 { "" } else { "s" }
        ),
        _simulated: Some(simulated),
    })
}

/// The client discovering by `method`: from the registry when asked to (which must exist), or
/// unasked when it exists; by broadcast otherwise. The registry is opened whatever the method,
/// so that a playbook's call may still ask for it (`discover(..., {'method' => 'registry'})`);
/// where it cannot be, the client keeps why, for such a call to say.
async fn with_discovery(
    rpc: RpcClient,
    method: Option<DiscoveryMethod>,
    section: &RegistrySection,
) -> Result<RpcClient, Error> {
    let security = rpc.security_handle();
    let opened = Registry::open(rpc.transport().as_ref(), section, security)
        .await
        .map(Registry::keeping_checks);
    let rpc = match method {
        Some(method) => rpc.with_discovery_method(method),
        None => rpc,
    };
    match opened {
        Ok(registry) => Ok(rpc.with_registry(Arc::new(registry))),
        Err(error) if method == Some(DiscoveryMethod::Registry) => Err(Error::Rpc(error.into())),
        Err(error) => {
            tracing::debug!("no registry discovery: {error}");
            Ok(rpc.without_registry(error))
        }
    }
}

/// The embedded default's security: a CA made now (ECDSA P-256, the cheapest to issue and sign
/// with: docs/performance.md "Signing"), certificates for every simulated node and
/// for `<user>.mcollective`, the client; the same checks as a real fleet, with the
/// configuration's rules (callers, skew, ttl) when it has a `security:` section.
fn ephemeral_security(
    user: &str,
    section: &SecuritySection,
) -> Result<(FleetSecurity, ClientSecurity), Error> {
    let made = |error: AuthorityError| {
        Error::Fleet(FleetError::Security {
            problem: error.to_string(),
        })
    };
    let authority = Authority::new("orchestrate ephemeral CA", KeyKind::EcdsaP256).map_err(made)?;
    let client = authority
        .credentials(&format!("{user}.mcollective"))
        .map_err(made)?;
    let trust = Arc::new(authority.trust().map_err(|error| made(error.into()))?);
    let fleet = FleetSecurity::issued_by(Arc::new(authority), section)?;
    Ok((fleet, ClientSecurity::new(client, trust, false)))
}

/// Evaluates the playbook on a thread of its own (deep manifests need stack; discovery waits
/// on the runtime).
pub fn evaluate(
    runtime: &tokio::runtime::Runtime,
    fleet: &Fleet,
    repo: &Path,
    playbook: &PlaybookArgs,
    user: &str,
) -> Result<Evaluation, Error> {
    let PlaybookFile { name, path } = playbook.locate(repo)?;
    let args = playbook.arguments()?;
    let query: Box<dyn NodeQuery + Send> = match &fleet.rpc {
        Some(rpc) => Box::new(crate::run::RpcNodeQuery {
            rpc: rpc.clone(),
            handle: runtime.handle().clone(),
        }),
        None => Box::new(NoFleet),
    };
    let repo = repo.to_path_buf();
    let caller = user.to_string();
    let result = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("evaluate".into())
            .stack_size(16 << 20)
            .spawn_scoped(scope, move || {
                let mut log = eval::ConsoleLog;
                eval::evaluate(eval::EvalRequest {
                    loader: Loader::new(&repo),
                    path,
                    playbook: name,
                    args,
                    caller,
                    nodes: query.as_ref(),
                    steps: &crate::run::step::Kinds,
                    log: &mut log,
                })
            })
            .map(|handle| handle.join())
    });
    match result {
        Ok(Ok(Ok(evaluation))) => Ok(evaluation),
        Ok(Ok(Err(failure))) => Err(Error::Evaluation(failure)),
        Ok(Err(_)) => Err(Error::Internal {
            path: playbook.playbook.clone().into(),
        }),
        Err(err) => Err(Error::Io(err)),
    }
}

/// A tokio runtime for a run.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// An error found after evaluation (a cycle, a bad step parameter), with its sources.
pub fn after_evaluation(error: eval::EvalError, evaluation: &Evaluation) -> Error {
    Error::Evaluation(Box::new(eval::EvalFailure {
        error,
        sources: evaluation.sources.clone(),
    }))
}
