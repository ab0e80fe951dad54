//! Golden tests: every construct of the language, parsed and printed as an S-expression with
//! spans (src/lang/sexpr.rs). The snapshots live in `snapshots/` beside this file.

use crate::lang::{parse, sexpr};

fn ast(source: &str) -> String {
    match parse(source) {
        Ok(program) => sexpr::dump(&program),
        Err(e) => panic!("{source:?} does not parse: {e:?}"),
    }
}

macro_rules! golden {
    ($($name:ident: $source:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let source: &str = $source;
                insta::assert_snapshot!(stringify!($name), ast(source), source);
            }
        )*
    };
}

golden! {
    variables: "$a = $b\n$c = $::top\n$d = $foo::bar::baz\n$e = $1\n";
    single_quoted_strings: r"$a = 'it\'s \\ \n'";
    double_quoted_escapes: r#"$a = "tab\t nl\n cr\r sp\s dollar\$ quote\" back\\ u\u00e9 \u{1F600} keep\q""#;
    interpolation: r#"$a = "$x and ${y} and ${z[1]} and ${w.upcase} and ${facts['os']['family']} and ${1} and ${::fqdn} and ${$v + 1}""#;
    heredoc_plain: "$a = @(END)\n  two spaces\n  END\n";
    heredoc_margin_and_trim: "$a = @(END)\n    kept\n      indented\n    |- END\nnotice($a)\n";
    heredoc_interpolated_with_escapes: "$a = @(\"END\"/tn$)\n  x=${x}\\ty\\n \\$z $w\n  | END\n";
    heredoc_syntax_and_line_continuation: "$a = @(END:json/L)\n  {\"a\": \\\n  1}\n  | END\n";
    heredocs_sharing_a_line: "foo(@(A), @(B))\n  first\n  | A\n  second\n  |-B\n$after = 1\n";
    numbers: "$a = [0, 42, -7, 0x1F, 0X1f, 0777, 1.5, 1e3, 2.5E-2, 0.0]";
    regexes: "$a = /^web\\d+\\/x$/\n$b = $c =~ /a|b/\n";
    booleans_undef_default: "$a = [true, false, undef, default]";
    arrays_and_hashes: "$a = [1, [2, 3], {}, [],]\n$b = { 'a' => 1, b => [2], 3 => { c => d }, }\n";
    access: "$a = $x[1]\n$b = $x[1, 2]\n$c = $x[-1]['k']\n$d = Hash[String, Integer]\n$e = foo()[0]\n";
    access_needs_no_space: "$a = $x\n[1, 2].each |$i| { notice($i) }\n";
    operator_precedence: "$a = 1 + 2 * 3 - 4 / 2 % 3\n$b = !$x and $y or $z == 1\n$c = 1 << 2 >> 1\n$d = $p in $q and $r !~ /x/\n$e = -$f * -2\n";
    comparison_operators: "$a = $x < 1 or $x <= 2 or $x > 3 or $x >= 4 or $x != 5";
    splat: "$a = foo(*$args)\nnotify { 'x': * => $attrs }\n";
    assignment_forms: "$a = $b = 1\n[$c, $d] = [1, 2]\n[$e, [$f, $g]] = [1, [2, 3]]\n";
    method_calls: "$a = $x.length\n$b = $x.split(',')\n$c = $x.map |$v| { $v * 2 }.filter |$v| { $v > 2 }\n$d = $x\n  .join(', ')\n";
    lambdas: "$h.each |String $k, Integer $v = 1| { notice($k) }\nwith(1, 2) |*$rest| { $rest }\n$r = $a.reduce(0) |$memo, $x| { $memo + $x }\n";
    prefix_calls: "notice('a', 'b')\n$x = size($y)\n$z = Integer('3')\n";
    statement_calls: "include foo, ::bar\nrequire baz\ncontain qux\nnotice 'hello'\nfail \"no ${x}\"\nrealize(File['x'])\ntag 'a', 'b'\n";
    if_elsif_else: "if $a { notice(1) } elsif $b == present { notice(2) } elsif !$c { } else { notice(3) }";
    if_as_value: "$x = if $a { 1 } else { 2 }";
    unless_else: "unless $a in ['x', 'y'] { notice(1) } else { notice(2) }";
    case_statement: "case $os { 'Debian', 'Ubuntu': { notice(1) } /^Red/: { } [1, 2]: { } default: { notice(2) } }";
    selectors: "$a = $os ? { 'Debian' => 'apt', /^Red/ => 'yum', default => undef }\n$b = $x ? { 1 => 2 }[0]\n";
    resources: "file { '/tmp/a':\n  ensure  => file,\n  mode    => '0644',\n  require => Package['x'],\n}\n";
    resource_bodies_and_array_titles: "file {\n  default: mode => '0644';\n  ['/a', '/b']: ensure => file;\n  '/c': ensure => directory, mode +> '0755';\n}\n";
    resource_splat_attributes: "user { $name: * => $params, ensure => present }";
    virtual_and_exported_resources: "@user { 'luke': uid => 1 }\n@@nagios_service { \"check_${fqdn}\": use => 'generic' }\n";
    class_resource: "class { 'apache': default_mods => false }\nclass { '::ntp': }\n";
    resource_defaults: "File { owner => 'root', group => 'root' }\nExec { path => ['/bin'] }\n";
    resource_overrides: "File['/tmp/a'] { mode => '0600' }\nClass['x'] { y => 1 }\n";
    references: "$a = [File['/a'], Package['x', 'y'], Class['apache'], Apache::Vhost['v']]";
    collectors: "User <| title == 'luke' |>\nSshkey <<| tag == 'k' and (type != 'rsa' or title == $x) |>>\nPackage <| |> { ensure => latest }\n";
    chaining_arrows: "Package['a'] -> File['b'] ~> Service['c']\nService['d'] <- File['e'] <~ Package['f']\nYumrepo <| |> -> Package <| |>\npackage { 'x': } -> service { 'y': }\n";
    class_definition: "class apache::mod (\n  Boolean $enable = true,\n  Optional[String[1]] $name = undef,\n) inherits apache::params {\n  include apache\n}\n";
    define_definition: "define app::update($backend, Integer $revision, Array[String] $nodes = []) {\n  notice($title, $name)\n}\n";
    node_definitions: "node 'web1.example.com', /^db\\d+$/, default { include base }\nnode foo.example.com { }\n";
    function_definition: "function mymod::double(Integer $x, Integer *$rest) >> Integer {\n  $x * 2\n}\n";
    type_aliases: "type Mymod::Port = Integer[1, 65535]\ntype Mymod::Conf = Struct[{ name => String[1], Optional[port] => Mymod::Port }]\n";
    data_types: "class a(\n  Optional[Array[String[1]]] $a,\n  Variant[Enum['x', 'y'], Pattern[/^z/]] $b,\n  Hash[String, Tuple[Integer, Float]] $c,\n  Callable[1, 2] $d = undef,\n) { }\n";
    plan_definition: "plan app_cluster_upgrade(\n  String $backend = 'app',\n  String $cluster,\n  Integer $revision,\n) {\n  notice($cluster)\n}\n";
    application_definition: "application lamp(String $db_user, Integer $web_instances = 1) {\n  lamp::mysql { $name: db_user => $db_user, export => Sql[$name] }\n  lamp::webapp { \"${name}-1\": consume => Sql[$name] }\n}\n";
    site_block: "site {\n  lamp { 'app1':\n    db_user => 'user',\n    nodes   => {\n      Node['dev1.example.net'] => Lamp::Mysql['app1'],\n      Node['dev2.example.net'] => Lamp::Webapp['app1-1'],\n    },\n  }\n}\n";
    capability_mappings: "Lamp::Mysql produces Sql { user => $db_user, host => $::fqdn }\nLamp::Webapp consumes Sql { db_user => $user }\n";
    comments_and_separators: "# comment\n/* block\n comment */ $a = 1; $b = 2, $d = 4\n$c = 3 # trailing\n";
    bare_words: "$a = [present, foo::bar, latest-1, ::top]\n";
    empty_file: "";
    crlf_line_ends: "$a = 1\r\n$b = 'x'\r\n";
    capitalised_resource_and_lowercase_override: "File { '/a': ensure => file }\nfile['/a'] { mode => '0600' }\n@File { '/b': }\n";
    keywords_as_hash_keys: "$h = { function => 1, type => 2, site => 3, default => 4 }";
    regex_across_lines: "$x = /abc\n/\nnotice($x)\n";
    unbraced_hash_arguments: "run_task('x', $t, 'k' => 1, j => [2])\n$a = [1, a => 2, 3, b => 4, c => 5]\n$s = Struct['k' => Integer, Optional[o] => String]\n$r = choria::task(action => 'puppet.disable', nodes => $n)\n$f = f(function => 1)\n";
    namespaced_method_calls: "$x = $y.a::b()\n$z = $t\n  .peadm::certname()\n$w = $t.mod::f(1) |$v| { $v }\n";
    apply_blocks: "$r = apply($targets, '_catch_errors' => true) {\n  notify { 'x': }\n  node default { include base }\n}\napply('localhost') { }\n";
    parameterized_type_calls: "$a = Integer[0, 5]('3')\n$b = Optional[String] (undef)\n";
    statement_calls_with_untitled_hashes: "return { status => $s, state => $out }\nnotice { a::b => 1 }\n";
}

/// Puppet refuses a method call on a statement call's untitled hash (`Syntax error at '.'`):
/// `return {a => 1}.keys` is not `return({a => 1}.keys)`.
#[test]
fn an_untitled_hash_takes_no_method_call() {
    for source in ["return {a => 1}.keys\n", "notice {a => 1}.keys\n"] {
        let error = parse(source).expect_err(source);
        assert!(
            source[..error.span.start].lines().count() <= 1,
            "{source}: {error:?}"
        );
    }
    assert!(parse("notice {a => 1}['a']\n").is_ok());
}
