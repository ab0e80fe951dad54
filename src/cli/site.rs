//! `orchestrate site`: the plan of an environment's site, and its ordered Puppet run.

use std::io::{BufRead as _, IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::setup::{self, at_least_one, FleetArgs, RepoArgs};
use crate::duration;
use crate::report::{self, Progress};
use crate::site::plan::SitePlan;
use crate::site::run::{self as site_run, RunSettings};
use crate::site::source::{self, GraphSource};
use crate::site::EnvironmentGraph;
use crate::stop::Stop;
use crate::Error;

#[derive(Debug, Args)]
pub struct SiteArgs {
    /// The Puppet environment whose site runs.
    #[arg(long, default_value = "production", value_name = "ENV")]
    pub environment: String,
    /// Where the environments are (`<DIR>/<ENV>/manifests`, `<DIR>/<ENV>/modules`).
    /// Default: environments/ in the repository.
    #[arg(long, env = "ORCHESTRATE_ENVIRONMENTPATH", value_name = "DIR")]
    pub environmentpath: Option<PathBuf>,
    /// Read the environment graph from FILE (written by `--plan --format json`) instead of
    /// the environment's code.
    #[arg(long, value_name = "FILE", conflicts_with = "puppetserver")]
    pub graph: Option<PathBuf>,
    /// Ask a Puppet Server 5/6 for the environment graph (`GET /puppet/v3/environment/ENV`).
    #[arg(long, value_name = "URL")]
    pub puppetserver: Option<String>,
    /// With --puppetserver: Puppet's ssl dir (default: `puppet config print ssldir`).
    #[arg(long, value_name = "DIR", requires = "puppetserver")]
    pub ssldir: Option<PathBuf>,
    /// With --puppetserver: the certificate name (default: `puppet config print certname`).
    #[arg(long, value_name = "NAME", requires = "puppetserver")]
    pub certname: Option<String>,
    /// With --puppetserver: the client certificate (default: <ssldir>/certs/<certname>.pem).
    #[arg(long, value_name = "FILE", requires = "puppetserver")]
    pub cert: Option<PathBuf>,
    /// With --puppetserver: its key (default: <ssldir>/private_keys/<certname>.pem).
    #[arg(long, value_name = "FILE", requires = "puppetserver")]
    pub key: Option<PathBuf>,
    /// With --puppetserver: the CA certificate (default: <ssldir>/certs/ca.pem).
    #[arg(long, value_name = "FILE", requires = "puppetserver")]
    pub cacert: Option<PathBuf>,
    /// Only this application: `--instance 'Lamp[app1]'`.
    #[arg(long, value_name = "APP")]
    pub instance: Option<String>,
    /// Run Puppet on at most N nodes of a group at once, in sorted certname order.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub batch: Option<usize>,
    /// Print the plan (node groups in run order); change nothing.
    #[arg(long)]
    pub plan: bool,
    /// With --plan: `text`, or `json` for the environment graph (which --graph reads back).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run without asking for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Seconds between two polls of the nodes' Puppet status.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = duration::parse)]
    pub poll_interval: Duration,
    /// The longest wait, in seconds, for a Puppet run to start, and again for it to end.
    #[arg(long, default_value = "200", value_name = "SECONDS", value_parser = duration::parse)]
    pub run_timeout: Duration,
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Where the graph comes from: `--graph`, `--puppetserver`, else the environment's code.
fn graph_source(args: &SiteArgs) -> Result<GraphSource, Error> {
    if let Some(path) = &args.graph {
        return Ok(GraphSource::File(path.clone()));
    }
    if let Some(url) = &args.puppetserver {
        let tls = source::TlsFiles::resolve(
            args.ssldir.clone(),
            args.certname.clone(),
            args.cert.clone(),
            args.key.clone(),
            args.cacert.clone(),
        )
        .map_err(|error| Error::Site(Box::new(error)))?;
        return Ok(GraphSource::PuppetServer {
            url: url.clone(),
            environment: args.environment.clone(),
            tls,
        });
    }
    let path = args
        .environmentpath
        .clone()
        .unwrap_or_else(|| args.repo.resolve().join("environments"));
    Ok(GraphSource::Environment {
        path,
        name: args.environment.clone(),
    })
}

/// Reads the graph; a mistake in the environment's code prints as a diagnostic.
pub fn load_graph(source: &GraphSource) -> Result<EnvironmentGraph, Error> {
    source::load(source).map_err(|error| Error::Site(Box::new(error)))
}

pub fn run(args: SiteArgs) -> Result<(), Error> {
    if args.format == Format::Json && !args.plan {
        return Err(Error::usage(
            "--format json writes the environment graph: give it with --plan",
        ));
    }
    let graph = load_graph(&graph_source(&args)?)?;
    let plan = SitePlan::new(&graph, args.instance.as_deref())?;
    if args.plan {
        match args.format {
            Format::Text => print!("{}", plan.render()),
            Format::Json => print!("{}", graph.to_json()),
        }
        return Ok(());
    }
    print!("{}", plan.render());
    if plan.groups.is_empty() {
        println!("The {} environment has no nodes to run.", plan.environment);
        return Ok(());
    }
    if !args.yes && !confirmed()? {
        println!("Nothing was run.");
        return Ok(());
    }
    let repo = args.repo.resolve();
    let runtime = setup::runtime()?;
    let what = match &args.instance {
        Some(instance) => format!("the site run of {instance} in {}", args.environment),
        None => format!("the site run of {}", args.environment),
    };
    let mut settings = RunSettings::new(what, args.fleet.user.clone());
    settings.batch = args.batch;
    settings.poll_interval = args.poll_interval;
    settings.run_timeout = args.run_timeout;
    let outcome = runtime.block_on(async {
        let fleet = setup::connect(&args.fleet, &repo).await?;
        let Some(rpc) = fleet.rpc.clone() else {
            return Err(Error::usage(
                "the site run needs a fleet: give --nats URL, or --fleet FILE for a simulated one",
            ));
        };
        settings.request_timeout = rpc.default_timeout();
        let progress = Progress::terminal();
        // Watching the signals only now: until the run starts, Ctrl-C ends the process.
        let stop = Stop::on_signals();
        progress.plain(&format!("Starting {} {}", settings.what, fleet.description));
        let groups = plan.node_groups();
        tokio::select! {
            // First, so a stop is announced before the run acts on it.
            biased;
            () = report::site::until_forced(&stop, &progress) => Err(Error::Stopped),
            outcome = site_run::run_site(&rpc, &groups, &settings, &progress, &stop) => Ok(outcome),
        }
    })?;
    for line in report::site::outcome_lines(&outcome, &settings.what) {
        println!("{line}");
    }
    if outcome.succeeded() {
        Ok(())
    } else {
        Err(Error::RunFailed)
    }
}

/// Asks on the terminal; without one, refuses (a run that changes a site needs a yes).
fn confirmed() -> Result<bool, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "refusing to run the site without confirmation: stdin is not a terminal; give --yes to run it, or --plan to see it",
        ));
    }
    print!("Are you sure you wish to run this plan? (y/n) ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
