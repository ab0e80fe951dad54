//! A step as the scheduler runs it, and the one table of step kinds: each kind's name and
//! aliases, its parameters (Puppet data types and defaults, `crate::eval::steps`) and its
//! constructor. The evaluator checks a declared step against its row, as it checks a define;
//! the constructor reads the typed values when the playbook is prepared, so a bad parameter
//! stops the playbook at its line before anything runs.
//!
//! Adding a kind is one file (its parameters, constructor and run) and one row of [`KINDS`].

use std::path::Path;

use crate::eval::catalog::{Resource, ResourceId};
use crate::eval::steps::{param, Fallback, ParamType, StepArgs, StepType, StepTypes};
use crate::eval::EvalError;
use crate::rpc::{NodeFailure, RpcError, RpcErrorKind};

use super::mcollective::{self, McollectiveStep};
use super::puppet_run::{self, PuppetRunStep};
use super::site_step::{self, SiteStep};

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

/// A kind's constructor: its step from the declared parameters; `repo` is the playbook
/// repository (a `site_run` finds its environments there).
pub type Build = fn(&StepArgs<'_>, &Path) -> Result<StepKind, EvalError>;

/// One row of the table.
pub struct Kind {
    pub step_type: StepType,
    pub build: Build,
}

/// Every step kind a playbook may declare.
pub static KINDS: &[Kind] = &[
    Kind {
        step_type: mcollective::TYPE,
        build: mcollective::build,
    },
    Kind {
        step_type: NOTIFY,
        build: notify,
    },
    Kind {
        step_type: puppet_run::TYPE,
        build: puppet_run::build,
    },
    Kind {
        step_type: site_step::TYPE,
        build: site_step::build,
    },
];

/// The table, as the evaluator looks kinds up.
pub struct Kinds;

impl StepTypes for Kinds {
    fn find(&self, name: &str) -> Option<&'static StepType> {
        kind(name).map(|k| &k.step_type)
    }
}

fn kind(name: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.step_type.name == name || k.step_type.aliases.contains(&name))
}

/// `notify`: prints its message (default: the title) when it runs.
const NOTIFY: StepType = StepType {
    name: "notify",
    aliases: &[],
    params: &[
        param("message", ParamType::Any, Fallback::Title),
        param("withpath", ParamType::Any, Fallback::Absent),
        param("name", ParamType::Any, Fallback::Absent),
    ],
};

fn notify(args: &StepArgs<'_>, _: &Path) -> Result<StepKind, EvalError> {
    Ok(StepKind::Notify {
        message: args.text("message")?.unwrap_or_default(),
    })
}

impl Step {
    /// The step a resource declares; `repo` is the playbook repository.
    pub fn from_resource(
        id: ResourceId,
        resource: &Resource,
        name: String,
        repo: &Path,
    ) -> Result<Step, EvalError> {
        let Some(kind) = kind(&resource.type_name) else {
            return Err(EvalError::input(
                format!("'{}' resources cannot run as steps", resource.type_name),
                resource.origin,
                "declared here",
            ));
        };
        let args = StepArgs::new(&kind.step_type, resource);
        Ok(Step {
            resource: id,
            name,
            kind: (kind.build)(&args, repo)?,
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
    /// Failed because the run cannot go on (the broker is unreachable): no step starts after
    /// it, whatever its `fail_ok`.
    Halted {
        /// What failed and why: `rpcutil#ping failed: the broker at ... is unreachable`.
        summary: String,
        /// Why the run stops, for the steps that do not start: `the broker at ... is unreachable`.
        cause: String,
        nodes: Vec<String>,
    },
}

impl Outcome {
    /// A step whose request could not be made (`summary` says which and why): failed, or,
    /// when the broker is out of reach, halted, so the run starts nothing more.
    pub(crate) fn request_failed(
        summary: String,
        error: &RpcError,
        nodes: Vec<String>,
        tolerated: bool,
    ) -> Outcome {
        match error.kind() {
            RpcErrorKind::Unreachable => Outcome::Halted {
                summary,
                cause: error.to_string(),
                nodes,
            },
            _ => Outcome::Failed {
                summary,
                failures: vec![],
                nodes,
                tolerated,
            },
        }
    }

    pub fn blocks_dependents(&self) -> bool {
        match self {
            Outcome::Succeeded { .. } => false,
            Outcome::Failed { tolerated, .. } => !tolerated,
            Outcome::Skipped { .. } | Outcome::Halted { .. } => true,
        }
    }

    pub fn nodes(&self) -> &[String] {
        match self {
            Outcome::Succeeded { nodes, .. }
            | Outcome::Failed { nodes, .. }
            | Outcome::Halted { nodes, .. } => nodes,
            Outcome::Skipped { .. } => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_parameters() {
        let mut names: Vec<&str> = KINDS
            .iter()
            .flat_map(|k| {
                std::iter::once(k.step_type.name).chain(k.step_type.aliases.iter().copied())
            })
            .collect();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all, "a name names two kinds");
        for kind in KINDS {
            let mut params: Vec<&str> = kind.step_type.params.iter().map(|p| p.name).collect();
            params.sort();
            params.dedup();
            assert_eq!(
                params.len(),
                kind.step_type.params.len(),
                "{}",
                kind.step_type.name
            );
        }
        assert_eq!(Kinds.find("rpc").map(|t| t.name), Some("mcollective"));
        assert!(Kinds.find("exec").is_none());
    }

    /// The documentation names every parameter of every kind.
    #[test]
    fn every_parameter_is_documented() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let docs: String = ["docs/playbooks.md", "docs/site.md"]
            .iter()
            .map(|doc| std::fs::read_to_string(root.join(doc)).unwrap())
            .collect();
        for kind in KINDS {
            for param in kind.step_type.params {
                assert!(
                    docs.contains(&format!("`{}`", param.name)),
                    "{}'s `{}` is not documented",
                    kind.step_type.name,
                    param.name
                );
            }
        }
    }
}
