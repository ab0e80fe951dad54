//! Turning node specs into nodes with their agents.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::agent::{Agent, Guard, Node, NodePolicies};

use super::defined::DefinedAgent;
use super::file::{FleetFile, NodeSpec};
use super::puppet::SimulatedPuppet;
use super::scripted::Scripted;
use crate::agent::puppet::PuppetAgent;

/// Every node of the fleet, its agents in place. Defined agents are shared between nodes;
/// scripts and Puppet state are each node's own. With `policies:` every node applies them
/// (one cache for the fleet); there is no audit log for simulated nodes.
pub(crate) fn build_nodes(fleet: &FleetFile, collective: &str) -> Vec<Node> {
    let guard = fleet
        .policies()
        .map(|dir| Arc::new(Guard::new(NodePolicies::new(dir), None)));
    let shared: BTreeMap<&str, Arc<dyn Agent>> = fleet
        .agents
        .iter()
        .map(|(name, actions)| {
            let agent: Arc<dyn Agent> = Arc::new(DefinedAgent::new(name, actions.clone()));
            (name.as_str(), agent)
        })
        .collect();
    fleet
        .nodes
        .iter()
        .map(|spec| {
            let mut node = build_node(spec, &shared, collective);
            if let Some(guard) = &guard {
                node.guard_with(guard.clone());
            }
            node
        })
        .collect()
}

fn build_node(spec: &NodeSpec, shared: &BTreeMap<&str, Arc<dyn Agent>>, collective: &str) -> Node {
    let mut node = Node::new(
        &spec.identity,
        collective,
        spec.facts.clone(),
        spec.classes.clone(),
    );
    for name in &spec.agents {
        if let Some(agent) = shared.get(name.as_str()) {
            node.add_agent(name, agent.clone());
        }
    }
    if let Some(puppet) = &spec.puppet {
        let puppet = SimulatedPuppet::new(puppet.clone());
        node.add_agent("puppet", Arc::new(PuppetAgent::over(puppet)));
    }
    for (agent_name, script) in &spec.replies {
        if let Some(agent) = node.agent(agent_name) {
            node.add_agent(agent_name, Arc::new(Scripted::new(agent, script)));
        }
    }
    node
}
