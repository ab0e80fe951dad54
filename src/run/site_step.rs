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

use crate::eval::catalog::Resource;
use crate::eval::{EvalError, Value};
use crate::report::Progress;
use crate::rpc::RpcClient;
use crate::site::plan::SitePlan;
use crate::site::run::{self as site_run, RunSettings};
use crate::site::source::{self, GraphSource};
use crate::stop::Stop;

use super::puppet_run::{site_outcome, wait_param};
use super::step::Outcome;

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

impl SiteStep {
    pub fn from_resource(resource: &Resource, repo: &Path) -> Result<SiteStep, EvalError> {
        let at = |name: &str| {
            resource
                .param_origins
                .get(name)
                .copied()
                .unwrap_or(resource.origin)
        };
        let bad = |name: &str, expected: &str, value: &Value| {
            EvalError::input(
                format!(
                    "{}: parameter '{name}' expects {expected}, got {value}",
                    resource.reference()
                ),
                at(name),
                format!("'{name}' is set here"),
            )
        };
        let text = |name: &str| -> Result<Option<String>, EvalError> {
            match resource.params.get(name) {
                None | Some(Value::Undef) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(other) => Err(bad(name, "a non-empty string", other)),
            }
        };
        let environment = text("environment")?.unwrap_or_else(|| resource.title.clone());
        let instance = text("instance")?;
        let batch_size = match resource.params.get("batch_size") {
            None | Some(Value::Undef) => None,
            Some(Value::Integer(n)) if *n >= 1 => Some(*n as usize),
            Some(other) => return Err(bad("batch_size", "an integer of at least 1", other)),
        };
        let fail_ok = match resource.params.get("fail_ok") {
            None | Some(Value::Undef) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(bad("fail_ok", "true or false", other)),
        };
        let source = match text("graph")? {
            Some(file) => GraphSource::File(PathBuf::from(file)),
            None => GraphSource::Environment {
                // Relative to the playbook repository, as everything a playbook names is.
                path: repo
                    .join(text("environmentpath")?.unwrap_or_else(|| "environments".to_string())),
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
                at("instance"),
                "this site cannot be ordered",
            )
        })?;
        let defaults = RunSettings::new("", "");
        Ok(SiteStep {
            environment,
            instance,
            groups: plan.node_groups(),
            batch_size,
            poll_interval: wait_param(resource, "poll_interval", defaults.poll_interval)?,
            run_timeout: wait_param(resource, "run_timeout", defaults.run_timeout)?,
            fail_ok,
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
