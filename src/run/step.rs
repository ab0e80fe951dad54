//! A step as the scheduler runs it: its kind's settings read from the resource's parameters
//! (checked before anything runs, so a bad parameter stops the playbook at its line), and
//! what came of it.

use std::time::Duration;

use crate::eval::catalog::{Resource, ResourceId};
use crate::eval::{EvalError, Value};
use crate::rpc::NodeFailure;

use super::mcollective::McollectiveStep;
use super::puppet_run::PuppetRunStep;
use super::site_step::SiteStep;

#[derive(Debug, Clone)]
pub struct Step {
    pub resource: ResourceId,
    /// `App::Update[bravo]/Mcollective[update_bravo]`.
    pub name: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Mcollective(Box<McollectiveStep>),
    Notify { message: String },
    PuppetRun(Box<PuppetRunStep>),
    Site(Box<SiteStep>),
}

impl Step {
    /// The step a resource declares; `repo` is the playbook repository (a `site_run` finds
    /// its environments there).
    pub fn from_resource(
        id: ResourceId,
        resource: &Resource,
        name: String,
        repo: &std::path::Path,
    ) -> Result<Step, EvalError> {
        let kind = match resource.type_name.as_str() {
            "mcollective" => {
                StepKind::Mcollective(Box::new(McollectiveStep::from_resource(resource)?))
            }
            "puppet_run" => StepKind::PuppetRun(Box::new(PuppetRunStep::from_resource(resource)?)),
            "site_run" => StepKind::Site(Box::new(SiteStep::from_resource(resource, repo)?)),
            "notify" => StepKind::Notify {
                message: resource
                    .params
                    .get("message")
                    .map(Value::to_display_string)
                    .unwrap_or_else(|| resource.title.clone()),
            },
            other => {
                return Err(EvalError::input(
                    format!("'{other}' resources cannot run as steps"),
                    resource.origin,
                    "declared here",
                ))
            }
        };
        Ok(Step {
            resource: id,
            name,
            kind,
        })
    }

    /// What the step does and to which nodes, for `--plan`.
    pub fn describe(&self) -> String {
        match &self.kind {
            StepKind::Mcollective(m) => m.describe(),
            StepKind::Notify { message } => format!("notify: {message}"),
            StepKind::PuppetRun(p) => p.describe(),
            StepKind::Site(s) => s.describe(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded {
        summary: String,
        nodes: Vec<String>,
    },
    Failed {
        summary: String,
        failures: Vec<NodeFailure>,
        nodes: Vec<String>,
        /// `fail_ok`: reported, but the steps after it still run.
        tolerated: bool,
    },
    /// Not run: a step it depends on failed (named here), or the run was interrupted.
    Skipped {
        cause: String,
    },
}

impl Outcome {
    pub fn blocks_dependents(&self) -> bool {
        match self {
            Outcome::Succeeded { .. } => false,
            Outcome::Failed { tolerated, .. } => !tolerated,
            Outcome::Skipped { .. } => true,
        }
    }

    pub fn nodes(&self) -> &[String] {
        match self {
            Outcome::Succeeded { nodes, .. } | Outcome::Failed { nodes, .. } => nodes,
            Outcome::Skipped { .. } => &[],
        }
    }
}

/// A duration parameter: seconds as a number, or a string in the one duration grammar
/// (`10`, `1.5`, `10s`, `2m`, `250ms`).
pub fn duration_param(value: &Value) -> Option<Duration> {
    match value {
        Value::Integer(i) => crate::duration::from_seconds(*i as f64).ok(),
        Value::Float(f) => crate::duration::from_seconds(*f).ok(),
        Value::String(s) => crate::duration::parse(s).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_numbers_and_units() {
        assert_eq!(
            duration_param(&Value::Integer(10)),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            duration_param(&"1.5".into()),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(duration_param(&"2m".into()), Some(Duration::from_secs(120)));
        assert_eq!(
            duration_param(&"250ms".into()),
            Some(Duration::from_millis(250))
        );
        assert_eq!(duration_param(&"soon".into()), None);
        assert_eq!(duration_param(&Value::Integer(-1)), None);
        assert_eq!(duration_param(&Value::Float(1e20)), None);
        assert_eq!(duration_param(&Value::Integer(i64::MAX)), None);
    }
}
