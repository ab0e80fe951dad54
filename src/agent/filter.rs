//! Whether a node is one a request's filter selects. Every non-empty list of the filter must
//! match: identity by any of its entries (a node has one identity), classes, agents and facts by
//! all of theirs, as MCollective decides. `/.../` entries are regular expressions (unanchored,
//! like Ruby's `=~`), compiled within the node's limits through the process's one cache
//! (`regex_cache.rs`): a request whose regex is refused is dropped at intake. Compound filters
//! (`crate::protocol::compound`) are parsed and compiled once per request, each must hold, and
//! they are AND-ed with the lists; one that does not parse refuses the request as a bad regex
//! does, so it never silently matches. The registry evaluates its entries with this same code.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::bounds::Excerpt;
use super::regex_cache::{RegexRefused, FILTER_REGEXES};
use super::NodeInfo;
use crate::protocol::compound::{self, Expr};
use crate::protocol::filter_regex_pattern as regex_pattern;
use crate::protocol::{CompoundError, FactFilter, Filter};

/// A filter with its regular expressions compiled, to test many nodes against one request.
#[derive(Debug)]
pub struct CompiledFilter {
    identities: Vec<Pattern>,
    classes: Vec<Pattern>,
    agents: Vec<Pattern>,
    facts: Vec<FactTest>,
    compounds: Vec<Test>,
}

/// Why a node does not use a request's filter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FilterRefused {
    #[error(transparent)]
    Regex(#[from] RegexRefused),
    #[error("the compound filter {text} does not parse: {problem}")]
    Compound {
        /// The filter, escaped and cut short for a log line.
        text: Excerpt,
        problem: CompoundError,
    },
}

/// A compound filter compiled: its tree, with regexes and fact operators ready.
#[derive(Debug)]
enum Test {
    All(Vec<Test>),
    Any(Vec<Test>),
    Not(Box<Test>),
    Fact(FactTest),
    /// A class, or failing that an agent, by name or regex (Choria's `with()`).
    ClassOrAgent(Pattern),
}

#[derive(Debug)]
enum Pattern {
    Exact(String),
    Regex(Arc<Regex>),
}

#[derive(Debug)]
struct FactTest {
    fact: String,
    operator: Operator,
    value: String,
}

#[derive(Debug)]
enum Operator {
    Equal,
    NotEqual,
    Matches(Arc<Regex>),
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    /// An unknown operator (intake refuses them; a filter checked otherwise): matches nothing.
    Broken,
}

/// Shortcut for testing one node: a filter whose regex is refused matches nothing.
pub fn matches(filter: &Filter, node: &NodeInfo) -> bool {
    CompiledFilter::compile(filter).is_ok_and(|compiled| compiled.matches(node))
}

impl CompiledFilter {
    /// Compiles once per request; a regex that does not compile within the node's limits, or
    /// a compound filter that does not parse, refuses the whole request.
    pub fn compile(filter: &Filter) -> Result<CompiledFilter, FilterRefused> {
        let patterns = |list: &[String]| -> Result<Vec<Pattern>, RegexRefused> {
            list.iter().map(|text| Pattern::compile(text)).collect()
        };
        Ok(CompiledFilter {
            identities: patterns(&filter.identity)?,
            classes: patterns(&filter.cf_class)?,
            agents: patterns(&filter.agent)?,
            facts: filter
                .fact
                .iter()
                .map(FactTest::compile)
                .collect::<Result<_, _>>()?,
            compounds: filter
                .compound
                .iter()
                .map(|text| Test::compile_text(text))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn matches(&self, node: &NodeInfo) -> bool {
        (self.identities.is_empty()
            || self
                .identities
                .iter()
                .any(|pattern| pattern.matches(&node.identity)))
            && self
                .classes
                .iter()
                .all(|pattern| pattern.matches_any(&node.classes))
            && self
                .agents
                .iter()
                .all(|pattern| pattern.matches_any(&node.agents))
            && self.facts.iter().all(|test| test.matches(node))
            && self.compounds.iter().all(|test| test.matches(node))
    }
}

impl Test {
    fn compile_text(text: &str) -> Result<Test, FilterRefused> {
        let expr = compound::parse(text).map_err(|problem| FilterRefused::Compound {
            text: Excerpt::of(text),
            problem,
        })?;
        Ok(Test::compile(&expr)?)
    }

    /// Recursion bounded by the parser's nesting limit.
    fn compile(expr: &Expr) -> Result<Test, RegexRefused> {
        let all = |terms: &[Expr]| terms.iter().map(Test::compile).collect::<Result<_, _>>();
        Ok(match expr {
            Expr::And(terms) => Test::All(all(terms)?),
            Expr::Or(terms) => Test::Any(all(terms)?),
            Expr::Not(term) => Test::Not(Box::new(Test::compile(term)?)),
            Expr::Fact(fact) => Test::Fact(FactTest::compile(fact)?),
            Expr::Name(name) => Test::ClassOrAgent(Pattern::compile(name)?),
        })
    }

    fn matches(&self, node: &NodeInfo) -> bool {
        match self {
            Test::All(terms) => terms.iter().all(|term| term.matches(node)),
            Test::Any(terms) => terms.iter().any(|term| term.matches(node)),
            Test::Not(term) => !term.matches(node),
            Test::Fact(test) => test.matches(node),
            Test::ClassOrAgent(pattern) => {
                pattern.matches_any(&node.classes) || pattern.matches_any(&node.agents)
            }
        }
    }
}

impl Pattern {
    fn compile(text: &str) -> Result<Pattern, RegexRefused> {
        match regex_pattern(text) {
            None => Ok(Pattern::Exact(text.to_string())),
            Some(pattern) => FILTER_REGEXES.compiled(pattern).map(Pattern::Regex),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Exact(expected) => expected == text,
            Pattern::Regex(regex) => regex.is_match(text),
        }
    }

    fn matches_any(&self, names: &[String]) -> bool {
        names.iter().any(|name| self.matches(name))
    }
}

impl FactTest {
    fn compile(filter: &FactFilter) -> Result<FactTest, RegexRefused> {
        let operator = match filter.operator.as_str() {
            "==" | "=" => Operator::Equal,
            "!=" => Operator::NotEqual,
            "<" => Operator::Less,
            ">" => Operator::Greater,
            "<=" => Operator::LessOrEqual,
            ">=" => Operator::GreaterOrEqual,
            // `=~` values come as `/re/` (MCollective's form) or bare `re`.
            "=~" => {
                let pattern = regex_pattern(&filter.value).unwrap_or(&filter.value);
                Operator::Matches(FILTER_REGEXES.compiled(pattern)?)
            }
            _ => Operator::Broken,
        };
        Ok(FactTest {
            fact: filter.fact.clone(),
            operator,
            value: filter.value.clone(),
        })
    }

    fn matches(&self, node: &NodeInfo) -> bool {
        let Some(actual) = lookup_fact(&node.facts, &self.fact).and_then(fact_text) else {
            return false;
        };
        let numbers = as_number(&actual).zip(as_number(&self.value));
        let order = match numbers {
            Some((actual, wanted)) => actual.partial_cmp(&wanted),
            None => Some(actual.as_str().cmp(self.value.as_str())),
        };
        use std::cmp::Ordering::{Equal, Greater, Less};
        match &self.operator {
            Operator::Equal => order == Some(Equal),
            Operator::NotEqual => order != Some(Equal),
            Operator::Less => order == Some(Less),
            Operator::Greater => order == Some(Greater),
            Operator::LessOrEqual => matches!(order, Some(Less | Equal)),
            Operator::GreaterOrEqual => matches!(order, Some(Greater | Equal)),
            Operator::Matches(regex) => regex.is_match(&actual),
            Operator::Broken => false,
        }
    }
}

/// A fact by name; `os.family` reaches into structured facts when no fact has the dotted name.
fn lookup_fact<'a>(facts: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = facts.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = facts.get(parts.next()?)?;
    for part in parts {
        value = match value {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The text a fact compares as: strings as they are, numbers and booleans as written, other
/// values as JSON. A null fact is as good as a missing one.
fn fact_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

fn as_number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|number| number.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> NodeInfo {
        let facts = json!({
            "cluster": "bravo", "cpus": 8, "load": "0.5", "os": {"family": "Debian", "release": "12"},
            "virtual": false, "version": "10.2", "nothing": null
        });
        NodeInfo {
            identity: "web3.example.net".into(),
            collective: "mcollective".into(),
            facts: facts.as_object().unwrap().clone(),
            classes: vec!["role::web".into(), "haproxy::member".into()],
            agents: vec!["appmgr".into(), "rpcutil".into()],
        }
    }

    fn with_fact(text: &str) -> bool {
        let filter = Filter {
            fact: vec![FactFilter::parse(text).unwrap()],
            ..Filter::default()
        };
        matches(&filter, &node())
    }

    #[test]
    fn the_empty_filter_matches_everyone() {
        assert!(matches(&Filter::default(), &node()));
    }

    #[test]
    fn equality_and_inequality() {
        assert!(with_fact("cluster=bravo"));
        assert!(with_fact("cluster==bravo"));
        assert!(!with_fact("cluster==alfa"));
        assert!(with_fact("cluster!=alfa"));
        assert!(!with_fact("cluster!=bravo"));
        assert!(with_fact("virtual=false"));
    }

    #[test]
    fn numbers_compare_as_numbers_when_both_sides_are_numbers() {
        assert!(with_fact("cpus==8"));
        assert!(with_fact("cpus==8.0"));
        assert!(with_fact("cpus>=8"));
        assert!(with_fact("cpus>4"));
        assert!(!with_fact("cpus>10"), "8 > 10 as text, not as numbers");
        assert!(with_fact("cpus<10"));
        assert!(with_fact("cpus<=8"));
        assert!(!with_fact("cpus<8"));
        assert!(
            with_fact("load<1"),
            "a string fact that reads as a number is a number"
        );
        assert!(with_fact("version>9"));
    }

    #[test]
    fn strings_compare_as_strings_otherwise() {
        assert!(with_fact("cluster>alfa"));
        assert!(with_fact("cluster<charlie"));
        assert!(with_fact("cluster>=bravo"));
        assert!(!with_fact("cluster<=alfa"));
        assert!(!with_fact("cpus==eight"));
    }

    #[test]
    fn regex_facts_with_or_without_slashes() {
        assert!(with_fact("cluster=~/^bra/"));
        assert!(with_fact("cluster=/rav/"));
        assert!(!with_fact("cluster=~/^alf/"));
        let bare = Filter {
            fact: vec![FactFilter {
                fact: "cluster".into(),
                operator: "=~".into(),
                value: "av".into(),
            }],
            ..Filter::default()
        };
        assert!(matches(&bare, &node()));
    }

    #[test]
    fn structured_facts_by_dotted_name() {
        assert!(with_fact("os.family=Debian"));
        assert!(with_fact("os.release>=12"));
        assert!(!with_fact("os.missing=x"));
    }

    #[test]
    fn missing_or_null_facts_match_nothing_not_even_not_equal() {
        assert!(!with_fact("datacenter!=x"));
        assert!(!with_fact("nothing!=x"));
    }

    #[test]
    fn unknown_operators_and_broken_regexes_match_nothing() {
        let unknown = Filter {
            fact: vec![FactFilter {
                fact: "cluster".into(),
                operator: "<>".into(),
                value: "x".into(),
            }],
            ..Filter::default()
        };
        assert!(!matches(&unknown, &node()));
        assert!(!with_fact("cluster=~/(/"));
        let broken_identity = Filter {
            identity: vec!["/(/".into()],
            ..Filter::default()
        };
        assert!(!matches(&broken_identity, &node()));
    }

    #[test]
    fn identity_matches_any_entry_exact_or_regex() {
        let filter = |identity: &[&str]| Filter {
            identity: identity.iter().map(|name| name.to_string()).collect(),
            ..Filter::default()
        };
        assert!(matches(&filter(&["web3.example.net"]), &node()));
        assert!(!matches(&filter(&["web3"]), &node()));
        assert!(matches(
            &filter(&["web1.example.net", "/^web\\d/"]),
            &node()
        ));
        assert!(!matches(&filter(&["/^db/"]), &node()));
    }

    #[test]
    fn classes_and_agents_must_all_match() {
        let classes = |names: &[&str]| Filter {
            cf_class: names.iter().map(|name| name.to_string()).collect(),
            ..Filter::default()
        };
        assert!(matches(&classes(&["role::web"]), &node()));
        assert!(matches(&classes(&["role::web", "/^haproxy/"]), &node()));
        assert!(!matches(&classes(&["role::web", "haproxy"]), &node()));
        let agents = Filter::default().with_agent("appmgr");
        assert!(matches(&agents, &node()));
        assert!(!matches(&agents.with_agent("puppet"), &node()));
    }

    #[test]
    fn every_list_must_match() {
        let filter = Filter {
            fact: vec![FactFilter::parse("cluster=bravo").unwrap()],
            cf_class: vec!["role::web".into()],
            identity: vec!["/web/".into()],
            ..Filter::default()
        }
        .with_agent("appmgr");
        assert!(matches(&filter, &node()));
        let wrong_cluster = Filter {
            fact: vec![FactFilter::parse("cluster=alfa").unwrap()],
            ..filter
        };
        assert!(!matches(&wrong_cluster, &node()));
    }

    fn with_compound(texts: &[&str]) -> bool {
        let filter = Filter {
            compound: texts.iter().map(|text| text.to_string()).collect(),
            ..Filter::default()
        };
        matches(&filter, &node())
    }

    #[test]
    fn compound_statements_of_every_kind() {
        assert!(with_compound(&["cluster=bravo"]));
        assert!(with_compound(&["cpus>4 and cpus<=8 and os.family=~/^Deb/"]));
        assert!(with_compound(&["role::web"]), "a class");
        assert!(with_compound(&["appmgr"]), "an agent");
        assert!(with_compound(&["/^haproxy/ and /mgr$/"]));
        assert!(!with_compound(&["puppet"]));
        assert!(!with_compound(&["datacenter!=x"]), "a missing fact");
    }

    #[test]
    fn compound_logic() {
        assert!(with_compound(&[
            "((cluster=alfa and role::web) or cluster=bravo) and /web/"
        ]));
        assert!(!with_compound(&["(cluster=alfa and role::web) or cpus<2"]));
        assert!(with_compound(&["not cluster=alfa"]));
        assert!(with_compound(&["!puppet && (appmgr || nothing)"]));
        assert!(!with_compound(&["!appmgr"]));
        assert!(with_compound(&[
            "with('cluster=bravo') and not with('/^db/')"
        ]));
    }

    #[test]
    fn compounds_all_hold_and_are_anded_with_the_lists() {
        assert!(!with_compound(&["cluster=bravo", "puppet"]));
        assert!(with_compound(&["cluster=bravo", "appmgr"]));
        let filter = Filter {
            identity: vec!["/^db/".into()],
            compound: vec!["cluster=bravo".into()],
            ..Filter::default()
        };
        assert!(!matches(&filter, &node()));
    }

    #[test]
    fn a_compound_that_does_not_parse_refuses_the_request() {
        let filter = Filter {
            compound: vec!["cluster=bravo and".into()],
            ..Filter::default()
        };
        let refused = CompiledFilter::compile(&filter).unwrap_err();
        assert_eq!(
            refused.to_string(),
            r#"the compound filter "cluster=bravo and" does not parse: column 18: expected a statement, `not` or `(`"#
        );
        let bad_regex = Filter {
            compound: vec!["/(/".into()],
            ..Filter::default()
        };
        assert!(matches!(
            CompiledFilter::compile(&bad_regex),
            Err(FilterRefused::Regex(_))
        ));
    }
}

/// The compiled filter against a reference evaluator written here, naively, over random
/// expressions written in every form the language allows and random nodes.
#[cfg(test)]
mod reference {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A filter as the test means it, evaluated by [`holds`] and written out by [`write`].
    #[derive(Clone, Debug)]
    enum Term {
        And(Vec<Term>),
        Or(Vec<Term>),
        Not(Box<Term>),
        /// `cluster=value`, in one of its spellings.
        Cluster(&'static str),
        ClusterIsNot(&'static str),
        ClusterStarts(&'static str),
        CpusBelow(u8),
        CpusAtLeast(u8),
        /// A class or an agent by name, or (true) by a `/^prefix/` regex.
        Named(&'static str, bool),
    }

    const CLUSTERS: [&str; 3] = ["alfa", "bravo", "charlie"];
    const NAMES: [&str; 6] = [
        "role::web",
        "haproxy",
        "apache",
        "rpcutil",
        "appmgr",
        "puppet",
    ];

    fn holds(term: &Term, node: &NodeInfo) -> bool {
        let cluster = node.facts.get("cluster").and_then(Value::as_str);
        let cpus = node.facts.get("cpus").and_then(Value::as_u64);
        let names = || node.classes.iter().chain(&node.agents);
        match term {
            Term::And(terms) => terms.iter().all(|t| holds(t, node)),
            Term::Or(terms) => terms.iter().any(|t| holds(t, node)),
            Term::Not(t) => !holds(t, node),
            Term::Cluster(value) => cluster == Some(*value),
            Term::ClusterIsNot(value) => cluster.is_some_and(|c| c != *value),
            Term::ClusterStarts(prefix) => cluster.is_some_and(|c| c.starts_with(prefix)),
            Term::CpusBelow(n) => cpus.is_some_and(|c| c < u64::from(*n)),
            Term::CpusAtLeast(n) => cpus.is_some_and(|c| c >= u64::from(*n)),
            Term::Named(name, false) => names().any(|n| n == name),
            Term::Named(prefix, true) => names().any(|n| n.starts_with(prefix)),
        }
    }

    /// The term as text; `style` picks among the spellings.
    fn write(term: &Term, style: u8) -> String {
        let pick = |choices: &[String]| choices[usize::from(style) % choices.len()].clone();
        let group = |t: &Term| match t {
            Term::And(_) | Term::Or(_) => format!("({})", write(t, style.rotate_left(1))),
            _ => write(t, style.rotate_left(1)),
        };
        let joined = |terms: &[Term], words: [&str; 2]| {
            let parts: Vec<String> = terms.iter().map(group).collect();
            parts.join(words[usize::from(style & 1)])
        };
        match term {
            Term::And(terms) => joined(terms, [" and ", " && "]),
            Term::Or(terms) => joined(terms, [" or ", " || "]),
            Term::Not(t) => pick(&[format!("not {}", group(t)), format!("!{}", group(t))]),
            Term::Cluster(v) => pick(&[
                format!("cluster={v}"),
                format!("cluster == {v}"),
                format!("with('cluster={v}')"),
                format!("cluster='{v}'"),
            ]),
            Term::ClusterIsNot(v) => {
                pick(&[format!("cluster!={v}"), format!("with('cluster != {v}')")])
            }
            Term::ClusterStarts(p) => {
                pick(&[format!("cluster=~/^{p}/"), format!("cluster=/^{p}/")])
            }
            Term::CpusBelow(n) => pick(&[format!("cpus<{n}"), format!("with('cpus<{n}')")]),
            Term::CpusAtLeast(n) => pick(&[format!("cpus>={n}"), format!("cpus=>{n}")]),
            Term::Named(name, false) => pick(&[name.to_string(), format!("with('{name}')")]),
            Term::Named(prefix, true) => {
                pick(&[format!("/^{prefix}/"), format!("with('/^{prefix}/')")])
            }
        }
    }

    fn term() -> impl Strategy<Value = Term> {
        let cluster = || prop::sample::select(&CLUSTERS[..]);
        let leaf = prop_oneof![
            cluster().prop_map(Term::Cluster),
            cluster().prop_map(Term::ClusterIsNot),
            prop::sample::select(vec!["a", "b", "ch", "x"]).prop_map(Term::ClusterStarts),
            (1u8..17).prop_map(Term::CpusBelow),
            (1u8..17).prop_map(Term::CpusAtLeast),
            prop::sample::select(&NAMES[..]).prop_map(|n| Term::Named(n, false)),
            prop::sample::select(vec!["role", "ha", "app", "pup", "x"])
                .prop_map(|p| Term::Named(p, true)),
        ];
        leaf.prop_recursive(5, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Term::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Term::Or),
                inner.prop_map(|t| Term::Not(Box::new(t))),
            ]
        })
    }

    fn node() -> impl Strategy<Value = NodeInfo> {
        let names = prop::collection::vec(any::<bool>(), NAMES.len());
        let cluster = prop::option::of(prop::sample::select(&CLUSTERS[..]));
        (cluster, prop::option::of(1u8..17), names).prop_map(|(cluster, cpus, has)| {
            let mut facts = serde_json::Map::new();
            if let Some(cluster) = cluster {
                facts.insert("cluster".into(), json!(cluster));
            }
            if let Some(cpus) = cpus {
                facts.insert("cpus".into(), json!(cpus));
            }
            let chosen = |range: std::ops::Range<usize>| {
                range
                    .filter(|&i| has[i])
                    .map(|i| NAMES[i].to_string())
                    .collect()
            };
            NodeInfo {
                identity: "n1.example.net".into(),
                collective: "mcollective".into(),
                facts,
                classes: chosen(0..3),
                agents: chosen(3..6),
            }
        })
    }

    proptest! {
        #[test]
        fn compiled_filters_agree_with_the_reference(
            terms in prop::collection::vec(term(), 1..3),
            styles in any::<u8>(),
            nodes in prop::collection::vec(node(), 1..8),
        ) {
            let filter = Filter {
                compound: terms.iter().map(|t| write(t, styles)).collect(),
                ..Filter::default()
            };
            let compiled = CompiledFilter::compile(&filter).expect("the filter compiles");
            // And as a Choria node gets it: through the wire form.
            let wire: Filter = serde_json::from_value(serde_json::to_value(&filter).unwrap()).unwrap();
            let from_wire = CompiledFilter::compile(&wire).expect("the wire form compiles");
            for node in &nodes {
                let expected = terms.iter().all(|t| holds(t, node));
                prop_assert_eq!(compiled.matches(node), expected, "{:?} on {:?}", filter.compound, node);
                prop_assert_eq!(from_wire.matches(node), expected, "{:?}", wire.compound);
            }
        }
    }
}
