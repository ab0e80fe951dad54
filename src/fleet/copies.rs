//! Fleets made rather than read, for `orchestrate fleet --nodes N`: N nodes named
//! `node00001.example.net` ..., either copies of a fleet file's first node entry or bare nodes
//! running only the built-in agents.

use super::file::NodeSpec;
use super::latency::Latency;
use super::{FleetError, FleetFile, FleetProblem};

/// The identity of the `index`th (from 1) of `count` made nodes: five digits at least, more
/// when the count needs them, so names sort in order.
pub fn made_identity(index: usize, count: usize) -> String {
    let width = count.to_string().len().max(5);
    format!("node{index:0width$}.example.net")
}

impl FleetFile {
    /// `count` copies of this fleet's first node (facts, classes, agents, latency, scripted
    /// replies, Puppet agent, silence), renamed `node00001.example.net` and on; the other
    /// nodes are left out. The agents: section is kept.
    pub fn copies_of_first(&self, count: usize) -> Result<FleetFile, FleetError> {
        let Some(first) = self.nodes.first() else {
            return Err(FleetError::Invalid {
                origin: "--nodes".into(),
                problem: FleetProblem::NothingToCopy,
            });
        };
        let nodes = (1..=count)
            .map(|index| {
                let mut node = first.clone();
                node.identity = made_identity(index, count);
                node
            })
            .collect();
        Ok(FleetFile {
            agents: self.agents.clone(),
            nodes,
            policies: self.policies.clone(),
        })
    }

    /// `count` nodes with no facts or classes, running only `rpcutil` and `discovery`,
    /// answering at once.
    pub fn bare(count: usize) -> FleetFile {
        let node = |index| NodeSpec {
            identity: made_identity(index, count),
            facts: Default::default(),
            classes: Vec::new(),
            agents: Vec::new(),
            latency: Latency::default(),
            silent: false,
            replies: Default::default(),
            puppet: None,
        };
        FleetFile {
            agents: Default::default(),
            nodes: (1..=count).map(node).collect(),
            policies: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_names_pad_to_the_count() {
        assert_eq!(made_identity(1, 3), "node00001.example.net");
        assert_eq!(made_identity(50_000, 50_000), "node50000.example.net");
        assert_eq!(made_identity(7, 250_000), "node000007.example.net");
    }

    #[test]
    fn copies_keep_the_first_entry_and_drop_the_rest() {
        let file = FleetFile::parse(
            "agents: {appmgr: {status: {}}}\nnodes:\n  - {identity: 'web[1-3]', facts: {cluster: bravo}, agents: [appmgr], classes: [role::web]}\n  - {identity: db1}\n",
            "test",
        )
        .unwrap();
        let copies = file.copies_of_first(4).unwrap();
        assert_eq!(copies.node_count(), 4);
        let names: Vec<&str> = copies.identities().collect();
        assert_eq!(names[3], "node00004.example.net");
        assert!(copies
            .nodes
            .iter()
            .all(|node| node.facts["cluster"] == "bravo"
                && node.agents == ["appmgr"]
                && node.classes == ["role::web"]));
        assert_eq!(FleetFile::bare(3).node_count(), 3);
        assert!(FleetFile::bare(3).nodes[0].agents.is_empty());
        let empty = FleetFile::parse("nodes: []", "test").unwrap();
        assert!(empty.copies_of_first(2).is_err());
    }
}
