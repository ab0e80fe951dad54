//! The request filter: which nodes a request is for. The wire shape is Choria's
//! `{"fact":[{"fact","operator","value"}],"cf_class":[],"agent":[],"identity":[],"compound":[]}`;
//! matching a node against it lives with the node, in `crate::agent::filter`.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

use super::compound::{self, CompoundError, Expr};

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
    /// Compound filters as text in the language of `compound.rs`, every one of which must
    /// hold. On the wire each is `[{"expr": "<Choria expr>"}]`, as go-choria sends them, written
    /// with `with()` calls only (`Expr::to_choria`) so Choria's nodes evaluate them as ours
    /// do. Read back: that form, a string, or MCollective's parsed call stack
    /// (`[{"statement":"a=b"},{"and":"and"},...]`); see `compound_entries`.
    #[serde(
        default,
        deserialize_with = "compound_entries",
        serialize_with = "compound_wire"
    )]
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
    #[error("compound filter {text:?}: {problem}")]
    Compound {
        text: String,
        problem: CompoundError,
    },
    #[error("invalid regular expression /{pattern}/: {source}")]
    BadRegex {
        pattern: String,
        source: regex::Error,
    },
    #[error("cannot parse fact filter {text:?}: expected fact=value or fact<operator>value with one of == != =~ < > <= >=")]
    NotAFactFilter { text: String },
}

impl Filter {
    /// Whether the caller can send this filter: every compound filter parses, and every
    /// `/regex/` (compound ones included) compiles as nodes compile it.
    pub fn check(&self) -> Result<(), FilterError> {
        let compounds = self
            .compound
            .iter()
            .map(|text| {
                compound::parse(text).map_err(|problem| FilterError::Compound {
                    text: text.clone(),
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let compound_patterns: Vec<&str> = compounds.iter().flat_map(Expr::regexes).collect();
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
        for pattern in patterns
            .chain(fact_patterns)
            .chain(compound_patterns.iter().copied())
        {
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

/// Each compound filter as Choria's nodes read it: `[{"expr": "with('a=b') and ..."}]`.
/// Text that does not parse (a sender that did not `check()`) goes as written, for the nodes
/// to refuse.
fn compound_wire<S: Serializer>(entries: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    let wire: Vec<Value> = entries
        .iter()
        .map(|text| {
            let expr = compound::parse(text).map_or_else(|_| text.clone(), |e| e.to_choria());
            json!([{ "expr": expr }])
        })
        .collect();
    wire.serialize(serializer)
}

/// The text of each compound filter, whichever form it came in: a string; go-choria's
/// `[{"expr": text}]`; or MCollective's call stack, whose statements are put back into
/// `with('...')` calls (a statement means the same there). Anything else is kept as its JSON
/// text: a list of another shape does not parse, so the node refuses the request rather than
/// guess.
fn compound_entries<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let entries: Option<Vec<Value>> = Option::deserialize(deserializer)?;
    Ok(entries
        .unwrap_or_default()
        .into_iter()
        .map(|entry| match entry {
            Value::String(text) => text,
            Value::Array(stack) => {
                stack_text(&stack).unwrap_or_else(|| Value::Array(stack).to_string())
            }
            other => other.to_string(),
        })
        .collect())
}

fn stack_text(stack: &[Value]) -> Option<String> {
    if let [Value::Object(only)] = stack {
        if let Some(Value::String(expr)) = only.get("expr") {
            return Some(expr.clone());
        }
    }
    let words = stack
        .iter()
        .map(|token| {
            let Value::Object(token) = token else {
                return None;
            };
            let (kind, Value::String(text)) = token.iter().next()? else {
                return None;
            };
            Some(match kind.as_str() {
                "statement" => compound::with_call(text),
                // A function statement stays as written: the parser refuses it by name.
                "fstatement" => text.clone(),
                "and" | "or" | "not" | "(" | ")" => kind.clone(),
                _ => return None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(words.join(" "))
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
        assert_eq!(filter.compound, vec!["cluster=bravo"]);
        let empty: Filter = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }

    fn compound_of(wire: &str) -> Vec<String> {
        let text = format!(r#"{{"compound":{wire}}}"#);
        serde_json::from_str::<Filter>(&text).unwrap().compound
    }

    #[test]
    fn compound_filters_decode_from_every_form() {
        let choria = r#"[[{"expr":"with('a=b') and not with('/web/')"}]]"#;
        assert_eq!(
            compound_of(choria),
            vec!["with('a=b') and not with('/web/')"]
        );
        assert_eq!(compound_of(r#"["a=b or c"]"#), vec!["a=b or c"]);
        let stack = r#"[[{"(":"("},{"statement":"a=b"},{"or":"or"},{"statement":"it's"},
            {")":")"},{"and":"and"},{"not":"not"},{"statement":"/web/"}]]"#;
        let text = &compound_of(stack)[0];
        assert_eq!(
            text,
            r"( with('a=b') or with('it\'s') ) and not with('/web/')"
        );
        assert_eq!(
            compound::parse(text),
            compound::parse("(a=b or with('it\\'s')) and !/web/")
        );
        let function = compound_of(r#"[[{"fstatement":"foo('x').y=1"}]]"#);
        assert!(matches!(
            compound::parse(&function[0]),
            Err(CompoundError::Function { .. })
        ));
        // What is none of these is kept, and does not parse.
        let odd = compound_of(r#"[[{"expr":1}], [{"when":"a=b"}], [{"and":"and"}, 2]]"#);
        assert_eq!(
            odd,
            vec![
                r#"[{"expr":1}]"#,
                r#"[{"when":"a=b"}]"#,
                r#"[{"and":"and"},2]"#
            ]
        );
        assert!(odd.iter().all(|text| compound::parse(text).is_err()));
    }

    #[test]
    fn compound_filters_go_as_choria_exprs() {
        let filter = Filter {
            compound: vec!["(a=b or /web/) and not c".into(), "((".into()],
            ..Filter::default()
        };
        let wire = serde_json::to_value(&filter).unwrap();
        assert_eq!(
            wire["compound"],
            json!([
                [{"expr": "(with('a==b') or with('/web/')) and not with('c')"}],
                [{"expr": "(("}]
            ])
        );
        let back: Filter = serde_json::from_value(wire).unwrap();
        assert_eq!(
            compound::parse(&back.compound[0]),
            compound::parse(&filter.compound[0])
        );
    }

    #[test]
    fn check_parses_compounds_and_compiles_their_regexes() {
        let with = |text: &str| Filter {
            compound: vec![text.into()],
            ..Filter::default()
        };
        assert_eq!(with("a=b and (c or /d/)").check(), Ok(()));
        assert_eq!(
            with("a=b and").check().unwrap_err().to_string(),
            r#"compound filter "a=b and": column 8: expected a statement, `not` or `(`"#
        );
        assert!(matches!(
            with("x and os=~/(/").check(),
            Err(FilterError::BadRegex { .. })
        ));
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
