//! `--graph FILE`: a graph saved earlier, in Puppet Server's JSON shape.

use std::path::Path;

use super::{SourceError, SourceErrorKind};
use crate::site::EnvironmentGraph;

pub fn from_file(path: &Path) -> Result<EnvironmentGraph, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        SourceError::new(
            SourceErrorKind::Missing,
            format!("cannot read the graph file {}: {err}", path.display()),
        )
    })?;
    parse_graph(&text, &path.display().to_string())
}

/// The graph in `text`; `from` names where it came from in the error.
pub(super) fn parse_graph(text: &str, from: &str) -> Result<EnvironmentGraph, SourceError> {
    EnvironmentGraph::from_json(text).map_err(|err| {
        SourceError::new(
            SourceErrorKind::BadJson,
            format!("{from} is not an environment graph: {err} (line {}, column {})", err.line(), err.column()),
        )
        .with_help(
            "an environment graph is {\"environment\": ..., \"applications\": {\"App[title]\": {\"Component[title]\": {\"produces\": [...], \"consumes\": [...], \"node\": \"certname\"}}}}, as `orchestrate site --plan --format json` writes it",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_graph_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.json");
        std::fs::write(
            &path,
            r#"{"environment":"production","applications":{"Myapp[test]":{"Db[test]":{"produces":["Sql[test]"],"consumes":[],"node":"foo.example.com"}}},"code_id":null}"#,
        )
        .unwrap();
        let graph = from_file(&path).unwrap();
        assert_eq!(graph.environment, "production");
        assert_eq!(
            graph.applications["Myapp[test]"]["Db[test]"].node,
            "foo.example.com"
        );
    }

    #[test]
    fn bad_json_says_where_and_what_a_graph_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.json");
        std::fs::write(
            &path,
            "{\"environment\": \"production\",\n \"applications\": [1]}\n",
        )
        .unwrap();
        let err = from_file(&path).unwrap_err();
        assert_eq!(err.kind(), SourceErrorKind::BadJson);
        assert!(
            err.message().contains("is not an environment graph"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("line 2"), "{}", err.message());
        assert!(err.render(false).contains("help: an environment graph is"));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = from_file(Path::new("/nonexistent/graph.json")).unwrap_err();
        assert_eq!(err.kind(), SourceErrorKind::Missing);
        assert!(err.message().contains("/nonexistent/graph.json"));
    }
}
