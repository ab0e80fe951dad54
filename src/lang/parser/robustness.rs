//! Bad input never panics, and no input makes the parser slower than linear-ish.

use proptest::prelude::*;

use crate::lang::prescan::MAX_NESTING;
use crate::lang::{parse, Dialect, SyntaxError};

fn check(source: &str) -> Result<crate::lang::ast::Program, Vec<SyntaxError>> {
    crate::lang::check(source, Dialect::Manifest)
}

/// Runs `f` on a thread with the default stack of a spawned thread (2 MiB), the smallest any
/// caller of the parser gets.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the parser must not overflow a 2 MiB stack")
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!(
        "$x = {}{inner}{}\n",
        open.repeat(depth),
        close.repeat(depth)
    )
}

#[test]
fn the_deepest_allowed_nesting_parses_on_a_small_stack() {
    let depth = MAX_NESTING - 1;
    let cases = [
        nested("[", "1", "]", depth),
        nested("(", "1", ")", depth),
        nested("{a => ", "1", "}", depth),
        nested("Optional[", "String", "]", depth),
        nested("\"${", "1", "}\"", depth / 2),
        format!(
            "{}notice(1){}",
            "if $x {\n".repeat(depth),
            "}\n".repeat(depth)
        ),
        format!(
            "$y = $x{}",
            ".map |$v| { $v".repeat(depth / 2) + &" }".repeat(depth / 2)
        ),
    ];
    for source in cases {
        let result =
            on_small_stack(move || check(&source).map(|_| ()).map_err(|e| e[0].message.clone()));
        assert_eq!(result, Ok(()));
    }
}

#[test]
fn deeper_nesting_is_refused_with_a_diagnostic() {
    for source in [nested("[", "1", "]", 100_000), "(".repeat(1_000_000)] {
        let error = on_small_stack(move || parse(&source).unwrap_err());
        assert!(
            error.message.contains("nested more than"),
            "{}",
            error.message
        );
    }
}

#[test]
fn failing_nested_control_flow_is_not_exponential() {
    // Each level that fails must not be re-read as something else: 60 levels would take
    // longer than the age of the universe if it were.
    for keyword in ["if", "unless", "case $x { 1: "] {
        let source = format!(
            "{}broken ) {}",
            format!("{keyword} ($x) {{\n").repeat(60),
            "}\n".repeat(60)
        );
        assert!(on_small_stack(move || parse(&source)).is_err());
    }
    let classes: String = (0..60).map(|i| format!("class c{i} {{\n")).collect();
    assert!(parse(&format!("{classes}broken ) {}", "}\n".repeat(60))).is_err());
    // A block after a call, and a hash after a statement call, are read after the arguments
    // once: a failing one is not read again as something else.
    for open in [
        "apply($t) {\n",
        "f(1) {\n",
        "return { a => ",
        "$x.each |$v| { f() {\n",
        "$x.each |$v| { f(\n",
    ] {
        let source = format!("{}1 +{}", open.repeat(60), "}\n".repeat(60));
        assert!(parse(&source).is_err());
    }
}

#[test]
fn long_operator_chains_are_refused_or_parsed_without_running_out_of_stack() {
    let cases = [
        (format!("$x = 1{}\n", " + 1".repeat(6000)), false),
        (format!("$x = 1{}\n", " + 1".repeat(200)), true),
        (format!("$x = {}true\n", "!".repeat(4000)), false),
        (format!("{}1\n", "$a = ".repeat(4000)), false),
        (
            format!("{}\n", "File['a'] -> ".repeat(10_000) + "File['b']"),
            false,
        ),
        (
            format!(
                "$x = @(\"E\")\n${{{}{}}}\nE\n",
                "[".repeat(1000),
                "]".repeat(1000)
            ),
            false,
        ),
        (
            format!(
                "$x = @(\"E\")\n${{{}1{}}}\nE\nnotice($x)\n",
                "[".repeat(200),
                "]".repeat(200)
            ),
            true,
        ),
    ];
    for (source, parses) in cases {
        let ok = on_small_stack(move || check(&source).is_ok());
        assert_eq!(ok, parses);
    }
}

#[test]
fn brackets_and_operator_chains_together_stay_within_the_tree_depth_limit() {
    // Each level respects both limits, but together they would nest 40,000 deep.
    let source = format!(
        "$x = {}1{}\n",
        "(".repeat(160),
        format!("){}", " + 1".repeat(255)).repeat(160)
    );
    let error = on_small_stack(move || check(&source).unwrap_err());
    assert!(
        error[0].message.contains("nested more than"),
        "{}",
        error[0].message
    );
}

#[test]
fn review_findings_stay_fixed() {
    // Each took seconds or panicked once: an access after a word read twice per level, a
    // failed statement call re-read as the next statement, a quadratic prescan, a `\u`
    // escape cut inside a character.
    let words = format!("$x = {}1{}\n", "a[".repeat(40), "]".repeat(40));
    assert!(parse(&words).is_ok());
    let calls = format!(
        "{}1 +{}",
        "notice [$a.map |$x| { ".repeat(40),
        "}]".repeat(40)
    );
    assert!(parse(&calls).is_err());
    assert!(parse(&format!("$x = 1{}\n", "\u{a0}".repeat(80_000))).is_ok());
    assert!(parse(&"@(".repeat(100_000)).is_err());
    assert!(check("$x = @(E/u)\n\\uabc\u{e9}\nE\nnotice($x)\n").is_ok());
    assert!(parse("$x = 01.5\n").is_err());
}

#[test]
fn a_megabyte_manifest_parses() {
    let resource = "file { \"/srv/app/${name}/conf\":\n  ensure  => file,\n  content => template('app/conf.erb'),\n  require => [Package['app'], User['app']],\n}\n";
    let source = resource.repeat((1 << 20) / resource.len() + 1);
    assert!(source.len() > 1 << 20);
    let program = parse(&source).expect("parses");
    assert_eq!(program.statements.len(), source.len() / resource.len());
}

#[test]
fn every_truncation_of_a_real_manifest_is_handled() {
    let source = include_str!("../../../playbooks/app_cluster_upgrade.pp");
    for end in (0..source.len()).filter(|i| source.is_char_boundary(*i)) {
        let _ = check(&source[..end]);
    }
}

#[test]
fn garbage_is_handled() {
    for source in [
        "\u{0}\u{1}\u{2}",
        "}}}}",
        ")",
        "@(",
        "@(\"",
        "\"${",
        "'\\",
        "$",
        "$x = [1, 2",
        "/*",
        "node",
        "class { ",
        "Foo <| a == |>",
        "$a = @(END)\nEND",
        "${}",
        "\u{feff}",
        "💥 => 💥",
        "file { 'x': ensure => }",
        "-> ->",
        "*",
    ] {
        let _ = check(source);
    }
}

/// Fragments of Puppet syntax, so random sequences reach deep into the grammar.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "$x",
        "$::y",
        "'s'",
        "\"d ${x} $y\"",
        "@(END)\nbody\nEND\n",
        "1",
        "0x1F",
        "1.5",
        "/re/",
        "true",
        "undef",
        "default",
        "foo",
        "Foo",
        "Foo::Bar",
        "file",
        "class",
        "define",
        "node",
        "if",
        "elsif",
        "else",
        "unless",
        "case",
        "site",
        "application",
        "produces",
        "consumes",
        "plan",
        "function",
        "type",
        "include",
        "notice",
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        ";",
        ":",
        "=>",
        "+>",
        "->",
        "~>",
        "<-",
        "<~",
        "<|",
        "|>",
        "<<|",
        "|>>",
        "=",
        "==",
        "!=",
        "=~",
        "!~",
        "+",
        "-",
        "*",
        "/",
        "%",
        "<<",
        ">>",
        "<",
        ">",
        "!",
        "and",
        "or",
        "in",
        "?",
        ".",
        "|",
        "@",
        "@@",
        "#c\n",
        "/* c */",
        " ",
        "\n",
        "\\",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..60)) {
        let _ = check(&tokens.join(" "));
        let _ = check(&tokens.concat());
    }

    #[test]
    fn any_text_never_panics(text in "\\PC{0,200}") {
        let _ = check(&text);
    }
}
