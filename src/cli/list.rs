//! `orchestrate list`: the playbooks of the repository, their parameters and what they do.

use clap::Args;

use super::setup::RepoArgs;
use crate::eval::list_playbooks;
use crate::Error;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
}

pub fn run(args: ListArgs) -> Result<(), Error> {
    let repo = args.repo.resolve();
    let playbooks = list_playbooks(&repo).map_err(|source| Error::Read {
        path: repo.clone(),
        source,
    })?;
    if playbooks.is_empty() {
        println!("no playbooks in {}", repo.display());
    }
    for playbook in playbooks {
        let params = if playbook.params.is_empty() {
            String::new()
        } else {
            format!(" {}", playbook.params.join(", "))
        };
        println!("{}{params}", playbook.name);
        for line in playbook.doc.lines() {
            println!("    {line}");
        }
    }
    Ok(())
}
