//! The request filter: which nodes a request is for. The wire shape is Choria's
//! `{"fact":[{"fact","operator","value"}],"cf_class":[],"agent":[],"identity":[],"compound":[]}`;
//! matching a node against it lives with the node, in `crate::agent::filter`.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};

/// Which nodes a request is for. Every list that is not empty must match (identity: any of its
/// entries; the others: all of them). Entries written `/.../` are regular expressions.
#[derive(Default, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub fact: Vec<FactFilter>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub cf_class: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub agent: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub identity: Vec<String>,
    /// Choria sends compound filters as parsed expression trees, not strings: any entry that is
    /// not a string is kept as its JSON text, so such a request still decodes (and is refused by
    /// the node, which does not evaluate compound filters).
    #[serde(default, deserialize_with = "compound_entries")]
    pub compound: Vec<String>,
}

/// One fact comparison, `fact operator value`. Operators: `==` `!=` `=~` `<` `>` `<=` `>=`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactFilter {
    pub fact: String,
    pub operator: String,
    pub value: String,
}

/// Why a filter cannot be sent, or a fact filter's text not read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "compound filters are not supported yet: combine identity, class, fact and agent filters"
    )]
    Compound,
    #[error("invalid regular expression /{pattern}/: {source}")]
    BadRegex {
        pattern: String,
        source: regex::Error,
    },
    #[error("cannot parse fact filter {text:?}: expected fact=value or fact<operator>value with one of == != =~ < > <= >=")]
    NotAFactFilter { text: String },
}

impl Filter {
    /// Whether the caller can send this filter: every `/regex/` compiles, and no compound
    /// filter (the nodes do not evaluate them yet, so one would silently match nothing).
    pub fn check(&self) -> Result<(), FilterError> {
        if !self.compound.is_empty() {
            return Err(FilterError::Compound);
        }
        let patterns = self
            .identity
            .iter()
            .chain(&self.cf_class)
            .filter_map(|text| regex_pattern(text));
        let fact_patterns = self
            .fact
            .iter()
            .filter(|f| f.operator == "=~")
            .map(|f| regex_pattern(&f.value).unwrap_or(&f.value));
        for pattern in patterns.chain(fact_patterns) {
            compile_regex(pattern).map_err(|source| FilterError::BadRegex {
                pattern: pattern.to_string(),
                source,
            })?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.fact.is_empty()
            && self.cf_class.is_empty()
            && self.agent.is_empty()
            && self.identity.is_empty()
            && self.compound.is_empty()
    }

    /// Adds an agent to the agent list unless it is already there.
    pub fn with_agent(mut self, agent: &str) -> Filter {
        if !agent.is_empty() && !self.agent.iter().any(|known| known == agent) {
            self.agent.push(agent.to_string());
        }
        self
    }

    /// The identities, when the filter is nothing but plain identity names (no `/regex/`):
    /// such a filter names its nodes and needs no discovery.
    pub fn plain_identities(&self) -> Option<&[String]> {
        let only_identities = self.fact.is_empty()
            && self.cf_class.is_empty()
            && self.agent.is_empty()
            && self.compound.is_empty()
            && !self.identity.is_empty();
        let all_plain = self
            .identity
            .iter()
            .all(|name| regex_pattern(name).is_none());
        (only_identities && all_plain).then_some(self.identity.as_slice())
    }
}

/// The most a filter regex may compile to: enough for any name or fact pattern (`^\w+$`,
/// Unicode classes and all, is under it), too little for the costly ones a sender could use to
/// stall nodes (`(?i)\w{1000}` needs over 10 MB and 80 ms to refuse without a limit;
/// `(a{100}){100}` matches a 50 KB fact in 0.5 s). Refusing takes under a millisecond.
pub const REGEX_SIZE_LIMIT: usize = 64 << 10;
/// The most a filter regex's lazy DFA may use while matching: with less, a pattern within
/// [`REGEX_SIZE_LIMIT`] such as `a{1000}b` thrashes it against a 50 KB fact and falls back to
/// the slow engine (850 ms); with this, 23 ms (measured in docs/performance.md).
pub const REGEX_DFA_LIMIT: usize = 1 << 20;

/// A filter regex compiled as nodes compile it: within [`REGEX_SIZE_LIMIT`]. The client checks
/// its filters with the same function, so what it sends is what nodes accept.
pub fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .build()
}

/// The pattern inside a `/.../` filter entry, or None for a plain name.
pub fn regex_pattern(text: &str) -> Option<&str> {
    text.strip_prefix('/')?.strip_suffix('/')
}

/// `name operator value`, MCollective's grammar: `=>` and `=<` are accepted for `>=` and `<=`,
/// `fact=/re/` means `=~`, and a lone `=` means `==`.
static OPERATOR_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([^ =<>!~]+?) *(=>|=<|<=|>=|!=|==|=~|<|>) *(.+)$").expect("valid regex")
});
static REGEX_FORM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^ =]+?) *= *(/.+/)$").expect("valid regex"));
static EQUALS_FORM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^ =]+?) *= *(.+)$").expect("valid regex"));

impl FactFilter {
    /// Parses `cluster=bravo`, `cluster==bravo`, `cpus>=4`, `os=~/deb/`, `role!=db`.
    pub fn parse(text: &str) -> Result<FactFilter, FilterError> {
        let text = text.trim();
        let parsed = if let Some(found) = OPERATOR_FORM.captures(text) {
            let operator = match &found[2] {
                "=>" => ">=".to_string(),
                "=<" => "<=".to_string(),
                other => other.to_string(),
            };
            Some((found[1].to_string(), operator, found[3].to_string()))
        } else if let Some(found) = REGEX_FORM.captures(text) {
            Some((found[1].to_string(), "=~".to_string(), found[2].to_string()))
        } else {
            EQUALS_FORM
                .captures(text)
                .map(|found| (found[1].to_string(), "==".to_string(), found[2].to_string()))
        };
        match parsed {
            Some((fact, operator, value)) => Ok(FactFilter {
                fact,
                operator,
                value: value.trim().to_string(),
            }),
            None => Err(FilterError::NotAFactFilter {
                text: text.to_string(),
            }),
        }
    }
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

fn compound_entries<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let entries: Option<Vec<serde_json::Value>> = Option::deserialize(deserializer)?;
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .map(|entry| match entry {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(fact: &str, operator: &str, value: &str) -> FactFilter {
        FactFilter {
            fact: fact.into(),
            operator: operator.into(),
            value: value.into(),
        }
    }

    #[test]
    fn parses_every_operator() {
        assert_eq!(
            FactFilter::parse("cluster=bravo"),
            Ok(fact("cluster", "==", "bravo"))
        );
        assert_eq!(
            FactFilter::parse("cluster==bravo"),
            Ok(fact("cluster", "==", "bravo"))
        );
        assert_eq!(FactFilter::parse("role!=db"), Ok(fact("role", "!=", "db")));
        assert_eq!(
            FactFilter::parse("os=~/deb/"),
            Ok(fact("os", "=~", "/deb/"))
        );
        assert_eq!(FactFilter::parse("os=/deb/"), Ok(fact("os", "=~", "/deb/")));
        assert_eq!(FactFilter::parse("cpus>=4"), Ok(fact("cpus", ">=", "4")));
        assert_eq!(FactFilter::parse("cpus=>4"), Ok(fact("cpus", ">=", "4")));
        assert_eq!(FactFilter::parse("cpus<=4"), Ok(fact("cpus", "<=", "4")));
        assert_eq!(FactFilter::parse("cpus=<4"), Ok(fact("cpus", "<=", "4")));
        assert_eq!(FactFilter::parse("cpus<4"), Ok(fact("cpus", "<", "4")));
        assert_eq!(FactFilter::parse("cpus > 4"), Ok(fact("cpus", ">", "4")));
        assert_eq!(
            FactFilter::parse("os.family=Debian"),
            Ok(fact("os.family", "==", "Debian"))
        );
    }

    #[test]
    fn values_may_hold_operator_characters() {
        assert_eq!(FactFilter::parse("motd=a=b"), Ok(fact("motd", "==", "a=b")));
        assert_eq!(
            FactFilter::parse("path==/srv/app"),
            Ok(fact("path", "==", "/srv/app"))
        );
    }

    #[test]
    fn rejects_what_is_not_a_comparison() {
        assert!(FactFilter::parse("cluster").is_err());
        assert!(FactFilter::parse("=bravo").is_err());
        assert!(FactFilter::parse("cluster=").is_err());
        assert!(FactFilter::parse("").is_err());
    }

    #[test]
    fn decodes_the_wire_shape_and_tolerates_nulls_and_trees() {
        let text = r#"{"fact":[{"fact":"cluster","operator":"==","value":"bravo"}],
            "cf_class":["haproxy"],"agent":null,"identity":[],
            "compound":[[{"expr":"cluster=bravo"}]]}"#;
        let filter: Filter = serde_json::from_str(text).unwrap();
        assert_eq!(filter.fact, vec![fact("cluster", "==", "bravo")]);
        assert_eq!(filter.cf_class, vec!["haproxy"]);
        assert!(filter.agent.is_empty());
        assert_eq!(filter.compound, vec![r#"[{"expr":"cluster=bravo"}]"#]);
        let empty: Filter = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn encodes_every_list_even_empty() {
        let encoded = serde_json::to_string(&Filter::default()).unwrap();
        assert_eq!(
            encoded,
            r#"{"fact":[],"cf_class":[],"agent":[],"identity":[],"compound":[]}"#
        );
    }

    #[test]
    fn plain_identities_only_without_regex_or_other_lists() {
        let named = Filter {
            identity: vec!["b".into(), "a".into()],
            ..Filter::default()
        };
        assert_eq!(
            named.plain_identities(),
            Some(&["b".to_string(), "a".to_string()][..])
        );
        let regex = Filter {
            identity: vec!["/web/".into()],
            ..Filter::default()
        };
        assert_eq!(regex.plain_identities(), None);
        assert_eq!(named.clone().with_agent("appmgr").plain_identities(), None);
        assert_eq!(Filter::default().plain_identities(), None);
    }

    #[test]
    fn with_agent_does_not_repeat() {
        let filter = Filter::default()
            .with_agent("rpcutil")
            .with_agent("rpcutil")
            .with_agent("");
        assert_eq!(filter.agent, vec!["rpcutil"]);
    }
}
