//! `orchestrate rpc AGENT ACTION [NAME=VALUE...]`: one ad-hoc request, as `mco rpc` and
//! `choria req` make it. Named identities are addressed directly; otherwise the nodes are
//! discovered, then asked: directly when few, with one broadcast carrying the filter past
//! MCollective's direct-addressing threshold. One line per node, then a summary; exit 1 when a
//! node failed or did not answer.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Map, Value};

use super::setup::{self, FleetArgs, RepoArgs};
use crate::protocol::{filter_regex_pattern, FactFilter, Filter};
use crate::report::rpc::{self as report, Outcome};
use crate::rpc::{RpcClient, DIRECT_ADDRESSING_THRESHOLD};
use crate::Error;

/// Up to this many discovered nodes are asked one direct message each; more get one broadcast
/// (MCollective's `direct_addressing_threshold`, 10).

#[derive(Debug, Args)]
pub struct RpcArgs {
    /// The agent, e.g. rpcutil.
    pub agent: String,
    /// The action, e.g. ping.
    pub action: String,
    /// Inputs of the action; a VALUE that parses as JSON is taken as JSON.
    #[arg(value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Nodes with this identity (repeatable; /regex/ allowed). Plain names alone are asked
    /// directly, without discovery.
    #[arg(long = "identity", short = 'I', value_name = "NAME")]
    pub identities: Vec<String>,
    /// Ask the nodes named in FILE, one identity per line (# comments), directly.
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
    /// Nodes with this Puppet class (repeatable; /regex/ allowed).
    #[arg(long = "class", short = 'C', value_name = "CLASS")]
    pub classes: Vec<String>,
    /// Nodes whose fact matches: `cluster=bravo`, `load<2`, `os.family=~/deb/i` (repeatable).
    #[arg(long = "fact", short = 'F', value_name = "FACT")]
    pub facts: Vec<String>,
    /// Nodes a compound filter selects (repeatable, all must hold): `and`, `or`, `not`,
    /// parentheses over facts, classes, agents and /regex/, e.g.
    /// `((customer=acme and environment=prod) or environment=qa) and /apache/`.
    #[arg(long = "select", short = 'S', value_name = "FILTER")]
    pub compounds: Vec<String>,
    /// How long the nodes have to answer (seconds, or `500ms`, `1m`...).
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = crate::duration::parse)]
    pub timeout: Duration,
    /// Print the replies and the summary as one JSON document.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

pub fn run(args: RpcArgs) -> Result<(), Error> {
    let inputs = inputs(&args.inputs)?;
    let filter = filter(&args)?;
    let named = named_nodes(&args, &filter)?;
    let timeout = args.timeout;
    let repo = args.repo.resolve();
    let runtime = setup::runtime()?;
    let fleet = runtime.block_on(setup::connect(&args.fleet, &repo))?;
    let Some(rpc) = fleet.rpc.clone() else {
        return Err(Error::usage(
            "no fleet to ask: give --nats URL (or NATS_URL, or the configuration file) or --fleet FILE",
        ));
    };
    let outcome = runtime.block_on(ask(&rpc, &args, &inputs, &filter, named, timeout))?;
    let Some(outcome) = outcome else {
        println!("No request sent: no node matched the filter");
        return Err(Error::RunFailed);
    };
    if args.json {
        report::print_json(&args.agent, &args.action, &outcome);
    } else {
        report::print_lines(&outcome);
    }
    let result = &outcome.result;
    if result.all_ok() {
        Ok(())
    } else {
        Err(Error::RunFailed)
    }
}

/// Discovers (unless the nodes are named) and calls. None when discovery found nobody.
async fn ask(
    rpc: &RpcClient,
    args: &RpcArgs,
    inputs: &Value,
    filter: &Filter,
    named: Option<Vec<String>>,
    timeout: Duration,
) -> Result<Option<Outcome>, crate::rpc::RpcError> {
    let started = Instant::now();
    if let Some(nodes) = named {
        let result = rpc
            .call(&args.agent, &args.action, inputs, &nodes, timeout)
            .await?;
        return Ok(Some(Outcome {
            result,
            discovered: None,
            discovery: None,
            total: started.elapsed(),
        }));
    }
    let nodes = rpc.discover(&args.agent, filter).await?;
    let discovery = started.elapsed();
    let stale = rpc.stale_among(&nodes);
    if !stale.is_empty() {
        eprintln!(
            "warning: {} of the {} nodes found in the registry missed their last heartbeat: {}",
            stale.len(),
            nodes.len(),
            stale.join(", ")
        );
    }
    if nodes.is_empty() {
        return Ok(None);
    }
    let result = if nodes.len() <= DIRECT_ADDRESSING_THRESHOLD {
        rpc.call(&args.agent, &args.action, inputs, &nodes, timeout)
            .await?
    } else {
        rpc.broadcast_call(&args.agent, &args.action, inputs, filter, &nodes, timeout)
            .await?
    };
    Ok(Some(Outcome {
        result,
        discovered: Some(nodes.len()),
        discovery: Some(discovery),
        total: started.elapsed(),
    }))
}

/// `NAME=VALUE` inputs as the request's data hash.
fn inputs(words: &[String]) -> Result<Value, Error> {
    let mut data = Map::new();
    for word in words {
        let Some((name, value)) = word.split_once('=').filter(|(name, _)| !name.is_empty()) else {
            return Err(Error::usage(format!(
                "'{word}' is not an input: write NAME=VALUE, e.g. fact=cluster"
            )));
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        data.insert(name.to_string(), value);
    }
    Ok(Value::Object(data))
}

fn filter(args: &RpcArgs) -> Result<Filter, Error> {
    let fact = args
        .facts
        .iter()
        .map(|text| {
            FactFilter::parse(text).map_err(|e| Error::usage(format!("--fact {text}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let filter = Filter {
        fact,
        cf_class: args.classes.clone(),
        identity: args.identities.clone(),
        compound: args.compounds.clone(),
        ..Filter::default()
    };
    // Refused here, in words, rather than by every node.
    filter
        .check()
        .map_err(|e| Error::usage(format!("--select: {e}")))?;
    Ok(filter)
}

/// The nodes to ask directly, when the command line names them all: `--identity-file`, or
/// `--identity` with plain names and no other filter.
fn named_nodes(args: &RpcArgs, filter: &Filter) -> Result<Option<Vec<String>>, Error> {
    if let Some(path) = &args.identity_file {
        if !filter.is_empty() {
            return Err(Error::usage(
                "--identity-file names the nodes: it cannot be combined with --identity, --class, --fact or --select",
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let names: Vec<String> = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            return Err(Error::usage(format!("{} names no node", path.display())));
        }
        return Ok(Some(names));
    }
    let plain = !filter.identity.is_empty()
        && filter
            .identity
            .iter()
            .all(|name| filter_regex_pattern(name).is_none());
    let only_identities =
        filter.fact.is_empty() && filter.cf_class.is_empty() && filter.compound.is_empty();
    Ok((plain && only_identities).then(|| filter.identity.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_json_when_they_parse() {
        let data = inputs(&["fact=cluster".into(), "count=3".into(), "on=true".into()]).unwrap();
        assert_eq!(data, json!({"fact": "cluster", "count": 3, "on": true}));
        assert!(inputs(&["novalue".into()]).is_err());
        assert!(inputs(&["=x".into()]).is_err());
    }
}
