//! The `site_run` step: an environment's site run inside a playbook, so it composes with other
//! steps (drain a load balancer, run the site, notify). Named `site_run`, not `site`, so it
//! cannot be mistaken for Puppet's `site { }` block, which declares the site itself.
//!
//! ```puppet
//! site_run { 'production': instance => 'Lamp[app1]', batch_size => 2 }
//! ```
//!
//! The graph is read and ordered when the playbook is prepared: a cycle or a missing producer
//! stops the playbook before anything runs, at this step's line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::eval::steps::{param, Fallback, ParamType, StepArgs, StepType};
use crate::eval::EvalError;
use crate::report::Progress;
use crate::rpc::RpcClient;
use crate::site::plan::SitePlan;
use crate::site::run::{self as site_run, RunSettings};
use crate::site::source::{self, GraphSource};
use crate::stop::Stop;

use super::mcollective;
use super::puppet_run::{self, site_outcome};
use super::step::{Outcome, StepKind};

#[derive(Debug, Clone)]
pub struct SiteStep {
    pub environment: String,
    pub instance: Option<String>,
    /// The node groups, in run order.
    pub groups: Vec<Vec<String>>,
    pub batch_size: Option<usize>,
    pub poll_interval: Duration,
    pub run_timeout: Duration,
    pub fail_ok: bool,
}

pub const TYPE: StepType = StepType {
    name: "site_run",
    aliases: &[],
    params: &[
        param("environment", ParamType::Text, Fallback::Title),
        param(
            "environmentpath",
            ParamType::Text,
            Fallback::Text("environments"),
        ),
        param("graph", ParamType::Text, Fallback::Absent),
        param("instance", ParamType::Text, Fallback::Absent),
        mcollective::BATCH_SIZE,
        puppet_run::POLL_INTERVAL,
        puppet_run::RUN_TIMEOUT,
        mcollective::FAIL_OK,
    ],
};

pub fn build(args: &StepArgs<'_>, repo: &Path) -> Result<StepKind, EvalError> {
    SiteStep::from_args(args, repo).map(|step| StepKind::Site(Box::new(step)))
}

impl SiteStep {
    pub fn from_args(args: &StepArgs<'_>, repo: &Path) -> Result<SiteStep, EvalError> {
        let resource = args.resource;
        let environment = args.text("environment")?.unwrap_or_default();
        let instance = args.text("instance")?;
        let source = match args.text("graph")? {
            Some(file) => GraphSource::File(PathBuf::from(file)),
            None => GraphSource::Environment {
                // Relative to the playbook repository, as everything a playbook names is.
                path: repo.join(args.text("environmentpath")?.unwrap_or_default()),
                name: environment.clone(),
            },
        };
        let graph = source::load(&source).map_err(|error| {
            EvalError::input(
                format!(
                    "{}: cannot read the environment graph: {}",
                    resource.reference(),
                    error.message()
                ),
                resource.origin,
                "this site run's environment",
            )
        })?;
        let plan = SitePlan::new(&graph, instance.as_deref()).map_err(|error| {
            EvalError::input(
                format!("{}: {error}", resource.reference()),
                args.origin("instance"),
                "this site cannot be ordered",
            )
        })?;
        let (poll_interval, run_timeout) = puppet_run::waits(args)?;
        Ok(SiteStep {
            environment,
            instance,
            groups: plan.node_groups(),
            batch_size: args.count("batch_size")?.map(|n| n as usize),
            poll_interval,
            run_timeout,
            fail_ok: args.flag("fail_ok")?,
        })
    }

    pub fn describe(&self) -> String {
        let groups: Vec<String> = self
            .groups
            .iter()
            .enumerate()
            .map(|(n, group)| format!("{}: {}", n + 1, group.join(", ")))
            .collect();
        let batch = self
            .batch_size
            .map(|n| format!(", batches of {n}"))
            .unwrap_or_default();
        format!(
            "site run of {}{} in {} group{} ({}){batch}",
            self.environment,
            self.instance
                .as_deref()
                .map(|i| format!(" {i}"))
                .unwrap_or_default(),
            self.groups.len(),
            if self.groups.len() == 1 { "" } else { "s" },
            groups.join("; ")
        )
    }

    pub async fn run(&self, name: &str, rpc: &RpcClient, stop: &Stop) -> Outcome {
        let mut settings = RunSettings::new(
            format!("{name}, the site run of {}", self.environment),
            rpc.options().caller_id.clone(),
        );
        settings.batch = self.batch_size;
        settings.poll_interval = self.poll_interval;
        settings.run_timeout = self.run_timeout;
        settings.request_timeout = rpc.default_timeout();
        let progress = Progress::for_step(name);
        let outcome = site_run::run_site(rpc, &self.groups, &settings, &progress, stop).await;
        site_outcome(outcome, &settings, self.fail_ok, &progress)
    }
}
