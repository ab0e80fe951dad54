use std::path::{Path, PathBuf};

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site")
}

/// The graph of the fixture `case` (its environment is `production`).
fn graph_of(case: &str) -> Result<EnvironmentGraph, SourceError> {
    from_environment(&fixtures().join(case), "production")
}

fn expected(name: &str) -> EnvironmentGraph {
    let text = std::fs::read_to_string(fixtures().join("expected").join(name)).unwrap();
    EnvironmentGraph::from_json(&text).unwrap()
}

/// The rendered diagnostic of a fixture whose code is wrong.
fn diagnostic_of(case: &str) -> String {
    let error = graph_of(case).expect_err("the fixture is wrong");
    assert_eq!(
        error.kind(),
        SourceErrorKind::Code,
        "{}",
        error.render(false)
    );
    error.render(false)
}

#[test]
fn the_seeds_two_lamp_stacks_give_puppet_servers_graph() {
    let environmentpath = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/environments");
    let graph = from_environment(&environmentpath, "production").unwrap();
    let want = expected("production.json");
    assert_eq!(graph, want);
    // Declaration order, as Puppet Server answered: app2 is declared first in the seed.
    let text = std::fs::read_to_string(fixtures().join("expected/production.json")).unwrap();
    assert_eq!(graph.to_json(), text);
}

#[test]
fn puppets_own_example_gives_its_graph() {
    assert_eq!(
        graph_of("puppet_example").unwrap(),
        expected("puppet_example.json")
    );
}

#[test]
fn a_three_tier_site_chains_its_capabilities() {
    // `require => Sql[...]` consumes, as Puppet Server counted it; `require => Shop::Db[...]`
    // orders components within a node's catalog and is not a capability.
    assert_eq!(graph_of("three_tier").unwrap(), expected("three_tier.json"));
}

#[test]
fn a_capability_nobody_produces_still_gives_a_graph() {
    assert_eq!(
        graph_of("missing_producer").unwrap(),
        expected("missing_producer.json")
    );
}

#[test]
fn a_node_assigned_a_component_the_application_lacks() {
    let rendered = diagnostic_of("nonexistent_component");
    assert!(
        rendered.contains(
            "Application Myapp[test] assigns nodes to non-existent components: Web[foobar]"
        ),
        "{rendered}"
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn a_component_without_a_node() {
    let rendered = diagnostic_of("component_without_node");
    assert!(
        rendered
            .contains("Application Myapp[test] has components without assigned nodes: Web[test]"),
        "{rendered}"
    );
    insta::assert_snapshot!(rendered);
}

#[test]
fn an_application_without_nodes_has_components_without_nodes() {
    let rendered = diagnostic_of("no_nodes");
    assert!(rendered.contains("has components without assigned nodes: Db[test], Web[test]"));
    assert!(rendered.contains("`nodes` is not given"), "{rendered}");
}

#[test]
fn a_component_assigned_two_nodes() {
    let rendered = diagnostic_of("multiple_nodes");
    assert!(
        rendered.contains("Application Myapp[test] assigns multiple nodes to component Web[test]"),
        "{rendered}"
    );
    // The second assignment is the one pointed at.
    assert!(rendered.contains("site.pp:5:"), "{rendered}");
    insta::assert_snapshot!(rendered);
}

/// An environment written into a temporary folder: `files` are (path, text) under it.
fn temporary_environment(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join("production").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const MYAPP: &str =
    "define db(String $user) { }\nDb produces Sql { }\ndefine web() { }\nWeb consumes Sql { }\n";

#[test]
fn component_parameters_are_checked_though_their_bodies_do_not_run() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "{MYAPP}application myapp() {{\n  db {{ $name: user => 42, export => Sql[$name] }}\n}}\nsite {{\n  myapp {{ 'x': nodes => {{ Node['a'] => Db['x'] }} }}\n}}\n"
        ),
    )]);
    let error = from_environment(dir.path(), "production").unwrap_err();
    assert_eq!(error.kind(), SourceErrorKind::Code);
    assert!(
        error
            .message()
            .contains("Db[x]: parameter 'user' expects a String value, got an Integer"),
        "{}",
        error.message()
    );
}

#[test]
fn component_bodies_with_puppets_own_types_are_not_run() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "define pkg() {{ package {{ 'x': ensure => installed }} file {{ '/x': }} }}\n{MYAPP}application myapp() {{\n  pkg {{ $name: }}\n}}\nsite {{\n  myapp {{ 'x': nodes => {{ Node['a'] => Pkg['x'] }} }}\n}}\n"
        ),
    )]);
    let graph = from_environment(dir.path(), "production").unwrap();
    assert_eq!(graph.applications["Myapp[x]"]["Pkg[x]"].node, "a");
}

#[test]
fn node_code_outside_the_site_is_not_evaluated() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "{MYAPP}node 'a' {{ package {{ 'x': }} }}\nfile {{ '/etc/motd': }}\n$app = 'x'\napplication myapp() {{\n  db {{ $name: user => 'u', export => Sql[$name] }}\n}}\nsite {{\n  myapp {{ $app: nodes => {{ Node['a'] => Db[$app] }} }}\n}}\n"
        ),
    )]);
    let graph = from_environment(dir.path(), "production").unwrap();
    assert_eq!(graph.applications["Myapp[x]"]["Db[x]"].produces, ["Sql[x]"]);
}

#[test]
fn exporting_something_that_is_not_a_capability_is_an_error() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "{MYAPP}application myapp() {{\n  web {{ $name: }}\n  db {{ $name: user => 'u', export => Web[$name] }}\n}}\nsite {{\n  myapp {{ 'x': nodes => {{ Node['a'] => [Db['x'], Web['x']] }} }}\n}}\n"
        ),
    )]);
    let error = from_environment(dir.path(), "production").unwrap_err();
    assert!(
        error
            .message()
            .contains("`export` takes capability references"),
        "{}",
        error.message()
    );
    assert!(
        error.render(false).contains("site.pp:7:"),
        "{}",
        error.render(false)
    );
}

#[test]
fn a_value_that_is_not_a_component_in_nodes_is_an_error() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "{MYAPP}application myapp() {{ }}\nsite {{\n  myapp {{ 'x': nodes => {{ Node['a'] => 'db' }} }}\n}}\n"
        ),
    )]);
    let error = from_environment(dir.path(), "production").unwrap_err();
    assert!(
        error.message().contains("which is not a component"),
        "{}",
        error.message()
    );
}

#[test]
fn a_syntax_error_is_a_diagnostic() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        "site {\n  myapp { 'x' nodes => {} }\n}\n",
    )]);
    let error = from_environment(dir.path(), "production").unwrap_err();
    assert_eq!(error.kind(), SourceErrorKind::Code);
    assert!(
        error.render(false).contains("site.pp:2:"),
        "{}",
        error.render(false)
    );
}

#[test]
fn an_unknown_environment_lists_the_known_ones() {
    let error = from_environment(&fixtures().join("puppet_example"), "staging").unwrap_err();
    assert_eq!(error.kind(), SourceErrorKind::Missing);
    assert!(error
        .render(false)
        .contains("the environments there are: production"));
    let error = from_environment(&fixtures(), "../etc").unwrap_err();
    assert!(error.message().contains("not a valid environment name"));
}

#[test]
fn applications_are_only_declared_in_a_site() {
    let dir = temporary_environment(&[(
        "manifests/site.pp",
        &format!(
            "{MYAPP}application inner() {{ }}\napplication myapp() {{\n  inner {{ 'y': }}\n}}\nsite {{\n  myapp {{ 'x': }}\n}}\n"
        ),
    )]);
    let error = from_environment(dir.path(), "production").unwrap_err();
    assert!(
        error
            .message()
            .contains("can only be contained within a Site"),
        "{}",
        error.message()
    );
}

#[test]
fn an_environment_without_a_site_has_no_applications() {
    let dir = temporary_environment(&[("manifests/site.pp", "node default { }\n")]);
    let graph = from_environment(dir.path(), "production").unwrap();
    assert!(graph.applications.is_empty());
}
