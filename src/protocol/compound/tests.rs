use super::*;
use proptest::prelude::*;

fn fact(fact: &str, operator: &str, value: &str) -> Expr {
    Expr::Fact(FactFilter {
        fact: fact.into(),
        operator: operator.into(),
        value: value.into(),
    })
}

fn name(name: &str) -> Expr {
    Expr::Name(name.into())
}

fn error(text: &str) -> String {
    parse(text).expect_err(text).to_string()
}

#[test]
fn statements_of_every_kind() {
    assert_eq!(parse("apache"), Ok(name("apache")));
    assert_eq!(parse("role::web"), Ok(name("role::web")));
    assert_eq!(parse("/^(web|db)/"), Ok(name("/^(web|db)/")));
    assert_eq!(parse("customer=acme"), Ok(fact("customer", "==", "acme")));
    assert_eq!(
        parse("customer == acme"),
        Ok(fact("customer", "==", "acme"))
    );
    assert_eq!(parse("role!=db"), Ok(fact("role", "!=", "db")));
    assert_eq!(parse("os=~/deb/"), Ok(fact("os", "=~", "/deb/")));
    assert_eq!(parse("os=/deb/"), Ok(fact("os", "=~", "/deb/")));
    assert_eq!(parse("cpus>=4"), Ok(fact("cpus", ">=", "4")));
    assert_eq!(parse("cpus=>4"), Ok(fact("cpus", ">=", "4")));
    assert_eq!(parse("cpus=<4"), Ok(fact("cpus", "<=", "4")));
    assert_eq!(parse("cpus<4"), Ok(fact("cpus", "<", "4")));
    assert_eq!(parse("cpus>4"), Ok(fact("cpus", ">", "4")));
    assert_eq!(
        parse("os.family=Debian"),
        Ok(fact("os.family", "==", "Debian"))
    );
    assert_eq!(parse("path=/srv/app"), Ok(fact("path", "==", "/srv/app")));
    assert_eq!(parse("motd='a b (c)'"), Ok(fact("motd", "==", "a b (c)")));
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let parsed = parse("a or b and not c").unwrap();
    assert_eq!(
        parsed,
        Expr::Or(vec![
            name("a"),
            Expr::And(vec![name("b"), Expr::Not(Box::new(name("c")))])
        ])
    );
    assert_eq!(
        parse("(a or b) and c"),
        Ok(Expr::And(vec![
            Expr::Or(vec![name("a"), name("b")]),
            name("c")
        ]))
    );
    assert_eq!(parse("a || b && !c"), Ok(parsed));
}

#[test]
fn choria_example_and_with_calls() {
    let parsed = parse("((customer=acme and environment=prod) or environment=qa) and /apache/");
    let expected = Expr::And(vec![
        Expr::Or(vec![
            Expr::And(vec![
                fact("customer", "==", "acme"),
                fact("environment", "==", "prod"),
            ]),
            fact("environment", "==", "qa"),
        ]),
        name("/apache/"),
    ]);
    assert_eq!(parsed, Ok(expected.clone()));
    let with = "((with('customer=acme') && with(\"environment=prod\")) || with('environment=qa')) && with('/apache/')";
    assert_eq!(parse(with), Ok(expected));
    assert_eq!(parse("with ( 'it\\'s' )"), Ok(name("it's")));
}

#[test]
fn keywords_need_a_boundary() {
    assert_eq!(parse("android"), Ok(name("android")));
    assert_eq!(
        parse("notify and order"),
        Ok(Expr::And(vec![name("notify"), name("order")]))
    );
    assert_eq!(parse("not not x"), Ok(name("x")));
    assert_eq!(parse("!!!x"), Ok(Expr::Not(Box::new(name("x")))));
}

#[test]
fn syntax_errors_say_where_and_what_in_words() {
    assert_eq!(
        error("and foo=bar"),
        "column 1: expected a statement, `not` or `(`"
    );
    assert_eq!(error("(foo=bar"), "column 9: expected `)`, `and` or `or`");
    assert_eq!(
        error("foo=bar !"),
        "column 9: expected `and`, `or` or the end of the filter"
    );
    assert_eq!(
        error("a b"),
        "column 3: expected `and`, `or`, an operator (== != =~ < > <= >=) or the end of the filter"
    );
    assert_eq!(error(""), "column 1: expected a statement, `not` or `(`");
    assert_eq!(
        error("x=1 and"),
        "column 8: expected a statement, `not` or `(`"
    );
    assert_eq!(error(")a("), "column 1: expected a statement, `not` or `(`");
    assert_eq!(
        error("x = "),
        "column 5: expected /regex/, a quoted string or a value"
    );
}

#[test]
fn functions_are_refused_by_name() {
    assert_eq!(
        error("apache and fact('os.family') == 'Debian'"),
        "column 12: function statements such as fact(...) are not supported: write with('fact=value'), fact=value, a class or agent name, or /regex/"
    );
    assert_eq!(
        error("with('')"),
        "column 1: with() holds one quoted statement, e.g. with('customer=acme'), with('apache') or with('/^web/')"
    );
    assert_eq!(
        error("a or with(apache)"),
        error("a or with('')").replace("1", "6")
    );
    assert!(error("(semver(fact('v'), '>= 1.2') and x)")
        .starts_with("column 2: function statements such as semver(...)"));
    assert!(error("foo('bar').value=1 and x")
        .starts_with("column 1: function statements such as foo(...)"));
}

#[test]
fn length_and_depth_are_bounded() {
    let deep = |levels: usize| format!("{}x{}", "(".repeat(levels), ")".repeat(levels));
    assert!(parse(&deep(MAX_COMPOUND_DEPTH)).is_ok());
    assert_eq!(
        parse(&deep(MAX_COMPOUND_DEPTH + 1)),
        Err(CompoundError::TooDeep {
            column: MAX_COMPOUND_DEPTH + 1,
            limit: MAX_COMPOUND_DEPTH
        })
    );
    // The deepest text within the length limit parses on a small thread's stack, and is
    // refused for its depth.
    let deepest = deep((MAX_COMPOUND_LENGTH - 1) / 2);
    let refused = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || parse(&deepest))
        .unwrap()
        .join()
        .unwrap();
    assert!(matches!(refused, Err(CompoundError::TooDeep { .. })));
    assert_eq!(
        parse(&deep(10_000)),
        Err(CompoundError::TooLong {
            length: 20_001,
            limit: MAX_COMPOUND_LENGTH
        })
    );
    let long_chain = vec!["!a"; 146].join(" and ");
    assert!(long_chain.len() > 1000 && parse(&long_chain).is_ok());
}

#[test]
fn regexes_are_listed() {
    let parsed =
        parse("/web/ and (os=~/deb/ or not role=~db) and with('/x/') and a=/srv/b").unwrap();
    assert_eq!(parsed.regexes(), vec!["web", "deb", "db", "x"]);
}

#[test]
fn choria_form_groups_everything_and_escapes_quotes() {
    let parsed = parse("(a or motd='it\\'s \\\\') and not (b and c=1)").unwrap();
    assert_eq!(
        parsed.to_choria(),
        r"(with('a') or with('motd==it\'s \\')) and not (with('b') and with('c==1'))"
    );
}

/// Statements as the grammar writes them, in their normal form (what parsing gives back).
fn statement() -> impl Strategy<Value = Expr> {
    let fact_name = "[a-z][a-z0-9_.]{0,6}";
    let value = "[A-Za-z0-9_.:-]{1,6}";
    prop_oneof![
        "[a-z][a-z0-9_:]{0,6}"
            .prop_filter("not a keyword", |w| !["and", "or", "not", "with"]
                .contains(&w.as_str()))
            .prop_map(Expr::Name),
        "/[a-z^$.]{1,4}/".prop_map(Expr::Name),
        (
            fact_name,
            prop::sample::select(vec!["==", "!=", "<", ">", "<=", ">="]),
            value
        )
            .prop_map(|(f, o, v)| fact(&f, o, &v)),
        (fact_name, "[a-z]{1,4}").prop_map(|(f, v)| fact(&f, "=~", &format!("/{v}/"))),
    ]
}

/// Random expressions in normal form: no `and` directly in an `and`, no double `not`.
pub(crate) fn expression() -> impl Strategy<Value = Expr> {
    statement().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|terms| flat(terms, true)),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|terms| flat(terms, false)),
            inner.prop_map(|term| match term {
                Expr::Not(inner) => *inner,
                other => Expr::Not(Box::new(other)),
            }),
        ]
    })
}

/// `and` (or `or`) of the terms, with those of the same kind spliced in as parsing would.
fn flat(terms: Vec<Expr>, and: bool) -> Expr {
    let mut out = Vec::new();
    for term in terms {
        match term {
            Expr::And(inner) if and => out.extend(inner),
            Expr::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    if and {
        Expr::And(out)
    } else {
        Expr::Or(out)
    }
}

proptest! {
    /// What the client sends is read back by a node as the filter the user wrote.
    #[test]
    fn the_choria_form_reads_back(expr in expression()) {
        let text = expr.to_choria();
        prop_assert_eq!(parse(&text), Ok(expr), "{}", text);
    }

    /// Any text is parsed or refused, never a panic.
    #[test]
    fn any_text_parses_or_is_refused(text in "[a-z()!=~<>/'\" &|]{0,40}") {
        let _ = parse(&text);
    }
}
