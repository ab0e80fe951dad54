//! `orchestrate list`: the playbooks of the repository (its top-level playbooks, its modules'
//! plans and a Bolt project's plans), with their parameters and their documentation.

use std::path::Path;

use clap::Args;

use super::setup::RepoArgs;
use crate::eval::playbooks::{self, ParamInfo, PlaybookInfo};
use crate::Error;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub fn run(args: ListArgs) -> Result<(), Error> {
    let repo = args.repo.resolve();
    let found = playbooks::describe_all(&repo).map_err(|source| Error::Read {
        path: repo.clone(),
        source,
    })?;
    if found.is_empty() {
        println!("no playbooks in {}", repo.display());
    }
    for playbook in found {
        print!("{}", describe(&repo, &playbook));
    }
    Ok(())
}

/// A playbook's entry: its name, kind and file; its documentation; its parameters, each
/// with its type, default and `@param` text; what it returns.
fn describe(repo: &Path, playbook: &PlaybookInfo) -> String {
    let file = playbook.path.strip_prefix(repo).unwrap_or(&playbook.path);
    let mut out = format!(
        "{} ({}, {})\n",
        playbook.name,
        playbook.kind,
        file.display()
    );
    if let Some(problem) = &playbook.problem {
        out += &format!("    does not parse: {problem} (run `orchestrate check`)\n");
    }
    for line in playbook.doc.lines() {
        out += &format!("    {line}\n").replace("    \n", "\n");
    }
    if !playbook.params.is_empty() {
        out += "    parameters:\n";
        let width = playbook.params.iter().map(|p| declared(p).len()).max();
        for param in &playbook.params {
            let declared = declared(param);
            match param.doc.is_empty() {
                true => out += &format!("      {declared}\n"),
                false => {
                    let width = width.unwrap_or(0);
                    out += &format!("      {declared:width$}  {}\n", param.doc);
                }
            }
        }
    }
    if let Some(returns) = &playbook.returns {
        out += &format!("    returns: {returns}\n");
    }
    out
}

/// `Type $name = default`, as declared.
fn declared(param: &ParamInfo) -> String {
    let mut text = String::new();
    if let Some(type_text) = &param.type_text {
        text += type_text;
        text += " ";
    }
    text += "$";
    text += &param.name;
    if let Some(default) = &param.default {
        text += " = ";
        text += default;
    }
    text
}
