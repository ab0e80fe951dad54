//! The plan of a site run: its applications and the groups of nodes in run order, each node
//! with the components it hosts, printed as Choria's `mco choria plan` printed it.

use std::collections::BTreeMap;

use super::graph::EnvironmentGraph;
use super::order::{self, OrderError};
use crate::report::plural;

/// What a site run will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePlan {
    pub environment: String,
    /// Sorted.
    pub applications: Vec<String>,
    /// In run order; each group's nodes sorted by certname.
    pub groups: Vec<Vec<PlannedNode>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNode {
    pub certname: String,
    /// `(application, component)`, sorted.
    pub components: Vec<(String, String)>,
}

/// Choria's separator between groups.
const SEPARATOR: &str = "   ------------------------------------------------------------------";

impl SitePlan {
    /// The plan for `graph`, limited to the application `instance` when given.
    pub fn new(graph: &EnvironmentGraph, instance: Option<&str>) -> Result<SitePlan, OrderError> {
        let groups = order::order(graph, instance)?;
        let mut hosted: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
        let mut applications = std::collections::BTreeSet::new();
        for reference in order::components(graph, instance)? {
            applications.insert(reference.application.to_string());
            hosted.entry(reference.node).or_default().push((
                reference.application.to_string(),
                reference.component.to_string(),
            ));
        }
        let groups = groups
            .groups
            .into_iter()
            .map(|group| {
                group
                    .into_iter()
                    .map(|certname| {
                        let mut components = hosted.remove(certname.as_str()).unwrap_or_default();
                        components.sort();
                        PlannedNode {
                            certname,
                            components,
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(SitePlan {
            environment: graph.environment.clone(),
            applications: applications.into_iter().collect(),
            groups,
        })
    }

    /// Every node of the site, sorted.
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes: Vec<String> = self
            .groups
            .iter()
            .flatten()
            .map(|node| node.certname.clone())
            .collect();
        nodes.sort();
        nodes
    }

    /// The node names of each group, in run order.
    pub fn node_groups(&self) -> Vec<Vec<String>> {
        self.groups
            .iter()
            .map(|group| group.iter().map(|node| node.certname.clone()).collect())
            .collect()
    }

    /// The plan as text, as the seed shows it.
    pub fn render(&self) -> String {
        let nodes = self.nodes().len();
        let mut text = format!(
            "Puppet Site Plan for the {} Environment\n\n{} application{} on {} managed node{}:\n\n",
            self.environment,
            self.applications.len(),
            plural(self.applications.len()),
            nodes,
            plural(nodes)
        );
        for application in &self.applications {
            text.push_str(&format!("        {application}\n"));
        }
        text.push_str("\nNode groups and run order:\n");
        for group in &self.groups {
            text.push_str(SEPARATOR);
            text.push('\n');
            for node in group {
                text.push_str(&format!("        {}\n", node.certname));
                for (application, component) in &node.components {
                    text.push_str(&format!("                {application} -> {component}\n"));
                }
                text.push('\n');
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::graph::lamp;

    #[test]
    fn the_seeds_plan_prints_as_the_seed_shows_it() {
        let plan = SitePlan::new(&lamp(), None).unwrap();
        assert_eq!(
            plan.render(),
            "\
Puppet Site Plan for the production Environment

2 applications on 4 managed nodes:

        Lamp[app1]
        Lamp[app2]

Node groups and run order:
   ------------------------------------------------------------------
        dev1.example.net
                Lamp[app1] -> Lamp::Mysql[app1]
                Lamp[app2] -> Lamp::Mysql[app2]

   ------------------------------------------------------------------
        dev2.example.net
                Lamp[app1] -> Lamp::Webapp[app1-1]
                Lamp[app2] -> Lamp::Webapp[app2-1]

        dev3.example.net
                Lamp[app1] -> Lamp::Webapp[app1-2]
                Lamp[app2] -> Lamp::Webapp[app2-2]

        dev4.example.net
                Lamp[app1] -> Lamp::Webapp[app1-3]
                Lamp[app2] -> Lamp::Webapp[app2-3]

"
        );
        assert_eq!(plan.nodes().len(), 4);
    }

    #[test]
    fn one_instance_is_one_application() {
        let plan = SitePlan::new(&lamp(), Some("Lamp[app2]")).unwrap();
        assert_eq!(plan.applications, ["Lamp[app2]"]);
        assert!(plan.render().contains("1 application on 4 managed nodes:"));
        assert_eq!(
            plan.groups[1][0].components,
            [("Lamp[app2]".to_string(), "Lamp::Webapp[app2-1]".to_string())]
        );
    }
}
