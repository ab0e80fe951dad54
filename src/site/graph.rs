//! The environment graph: the applications of an environment, their components, what each
//! produces and consumes, and the node each runs on. The JSON shape is Puppet Server's
//! `GET /puppet/v3/environment/<env>` (REFERENCE.md section 4); every source produces it.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentGraph {
    pub environment: String,
    /// `Lamp[app1]` → its components by reference (`Lamp::Mysql[app1]`).
    pub applications: IndexMap<String, IndexMap<String, Component>>,
    #[serde(default)]
    pub code_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Capabilities this component produces: `Sql[app1]`.
    #[serde(default)]
    pub produces: Vec<String>,
    /// Capabilities it consumes.
    #[serde(default)]
    pub consumes: Vec<String>,
    /// The certname of the node it runs on.
    pub node: String,
}

impl EnvironmentGraph {
    /// Reads the JSON Puppet Server returned, or a graph saved by `orchestrate site --plan
    /// --format json`.
    pub fn from_json(text: &str) -> Result<EnvironmentGraph, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The seed's two Lamp applications on dev1..dev4, as Puppet Server's JSON: the example
/// the site's tests share.
#[cfg(test)]
pub(crate) fn lamp() -> EnvironmentGraph {
    let mut json = serde_json::json!({"environment": "production", "applications": {}});
    for app in ["app2", "app1"] {
        let name = format!("Lamp[{app}]");
        json["applications"][&name][format!("Lamp::Mysql[{app}]")] = serde_json::json!(
            {"produces": [format!("Sql[{app}]")], "consumes": [], "node": "dev1.example.net"});
        for web in 1..=3 {
            json["applications"][&name][format!("Lamp::Webapp[{app}-{web}]")] = serde_json::json!(
                {"produces": [], "consumes": [format!("Sql[{app}]")],
                 "node": format!("dev{}.example.net", web + 1)});
        }
    }
    EnvironmentGraph::from_json(&json.to_string()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn puppet_servers_json_reads_and_writes_back() {
        let text = r#"{"environment":"production",
 "applications":{
   "Lamp[app1]":{
     "Lamp::Mysql[app1]":   {"produces":["Sql[app1]"],"consumes":[],"node":"dev1.example.net"},
     "Lamp::Webapp[app1-1]":{"produces":[],"consumes":["Sql[app1]"],"node":"dev2.example.net"}}},
 "code_id":null}"#;
        let graph = EnvironmentGraph::from_json(text).unwrap();
        assert_eq!(
            graph.applications["Lamp[app1]"]["Lamp::Mysql[app1]"].node,
            "dev1.example.net"
        );
        assert_eq!(
            EnvironmentGraph::from_json(&graph.to_json()).unwrap(),
            graph
        );
    }
}
