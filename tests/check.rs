//! `orchestrate check` end to end: the real binary on real files, whole outputs compared.

mod support;

use support::{repo_root, Test};

/// `orchestrate check ...`, in the scratch folder once a file is written.
fn check() -> Test {
    Test::new().arg("check")
}

#[test]
fn clean_files_pass() {
    check()
        .file("a.pp", "notice('a')\n")
        .file("b.pp", "class b { include a }\n")
        .args(["a.pp", "b.pp"])
        .stdout("")
        .stderr("checked 2 file(s): 2 ok, 0 with problems\n")
        .status(0)
        .run();
}

#[test]
fn folders_are_searched_for_manifests_only() {
    check()
        .file("site/manifests/init.pp", "class site { }\n")
        .file("site/manifests/deep/er.pp", "define site::deep::er { }\n")
        .file("site/templates/x.erb", "<%= not puppet %>\n")
        .file("site/README.md", "{{{\n")
        .args(["site"])
        .stderr("checked 2 file(s): 2 ok, 0 with problems\n")
        .status(0)
        .run();
}

#[test]
fn a_syntax_error_is_shown_with_source_and_hint() {
    check()
        .file("ok.pp", "notice(1)\n")
        .file(
            "web.pp",
            "file { '/etc/motd':\n  ensure  => file\n  content => 'hi',\n}\n",
        )
        .args(["ok.pp", "web.pp"])
        .stderr(
            r#"  × expected `,`, `;`, `}` or an operator, found `content`
   ╭─[web.pp:3:3]
 2 │   ensure  => file
 3 │   content => 'hi',
   ·   ┬
   ·   ╰── unexpected `content`
 4 │ }
   ╰────
  help: add a comma after the previous attribute: attributes are separated by `,`
checked 2 file(s): 1 ok, 1 with problems
"#,
        )
        .stdout("")
        .status(1)
        .run();
}

#[test]
fn json_prints_one_object_per_problem() {
    check()
        .file("a.pp", "$x = 1\n$x\n'forgotten'\nnotice($x)\n")
        .file("b.pp", "$y = [1, 2\n")
        .file("c.pp", "notice('fine')\n")
        .args(["--format", "json", "."])
        .stdout(concat!(
            r#"{"file":"./a.pp","line":2,"column":1,"message":"this variable has no effect: its value is produced and then forgotten"}"#,
            "\n",
            r#"{"file":"./a.pp","line":3,"column":1,"message":"this string has no effect: its value is produced and then forgotten"}"#,
            "\n",
            r#"{"file":"./b.pp","line":1,"column":6,"message":"unexpected end of file: `[` is never closed"}"#,
            "\n",
        ))
        .stderr("")
        .status(1)
        .run();
}

#[test]
fn a_file_with_many_problems_shows_the_first_fifty() {
    // 59 problems: the last `if` of the file may produce its value.
    let out = check()
        .file("noisy.pp", "if true { }\n".repeat(60))
        .args(["--format", "json", "noisy.pp"])
        .status(1)
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 51);
    assert_eq!(
        lines[50],
        r#"{"file":"noisy.pp","line":51,"column":1,"message":"9 more problem(s) in this file not shown"}"#
    );
}

#[test]
fn a_missing_path_is_bad_usage() {
    check()
        .file("a.pp", "notice(1)\n")
        .args(["a.pp", "nosuch.pp"])
        .stderr("error: nosuch.pp: no such file or directory\n")
        .stdout("")
        .status(2)
        .run();
}

#[test]
fn a_file_that_is_not_utf8_is_a_problem_not_a_crash() {
    check()
        .file("latin1.pp", b"notice('caf\xe9')\n")
        .args(["--format", "json", "latin1.pp"])
        .stdout(
            "{\"file\":\"latin1.pp\",\"line\":1,\"column\":12,\"message\":\"the file is not valid UTF-8\"}\n",
        )
        .status(1)
        .run();
}

#[test]
fn without_paths_it_explains_usage() {
    let out = check().status(2).run();
    assert!(
        out.stderr.contains("Usage: orchestrate check"),
        "{}",
        out.stderr
    );
}

#[test]
fn ast_prints_the_tree() {
    check()
        .file("a.pp", "notify { 'hi': }\n")
        .args(["--ast", "a.pp"])
        .stdout(
            "# a.pp\n(program 0..16\n  (resource Real notify 0..16\n    (body 9..14\n      (string \"hi\" 9..13))))\n\n",
        )
        .status(0)
        .run();
}

#[test]
fn the_example_playbooks_are_clean() {
    let out = check()
        .current_dir(repo_root())
        .arg("playbooks")
        .stdout("")
        .status(0)
        .run();
    assert!(
        out.stderr.ends_with(" with problems\n") && out.stderr.contains(" 0 with problems"),
        "{}",
        out.stderr
    );
}

/// The plans Bolt and Choria users write: unbraced hash arguments, namespaced method calls,
/// `apply` blocks; catalog code only inside `apply`, as Puppet's `--tasks` reads plans/.
const PLAN: &str = r#"plan site::deploy(TargetSpec $targets) {
  $result = run_task('package', $targets, 'action' => 'install', 'name' => 'nginx')
  $names = $result.ok_set.names.site::sorted()
  apply($targets, '_catch_errors' => true) {
    package { 'nginx': ensure => installed }
    -> service { 'nginx': ensure => running }
  }
  return { status => 'done', names => $names }
}
"#;

#[test]
fn plans_parse_as_puppet_tasks_mode_reads_them() {
    check()
        .file("site/plans/deploy.pp", PLAN)
        .file("site/plans/bad.pp", "plan site::bad() {\n  notify { 'x': }\n}\n")
        .file("site/manifests/init.pp", "class site { notify { 'x': } }\n")
        .args(["--format", "json", "site"])
        .stdout(concat!(
            r#"{"file":"site/plans/bad.pp","line":2,"column":3,"message":"a resource declaration is only available inside `apply` in a plan"}"#,
            "\n"
        ))
        .status(1)
        .run();
    // `--tasks` reads every file as plans, as `puppet parser validate --tasks` does.
    check()
        .file("init.pp", "class site { }\n")
        .args(["--tasks", "--format", "json", "init.pp"])
        .stdout(concat!(
            r#"{"file":"init.pp","line":1,"column":1,"message":"classes and defines cannot be defined in a file of plans"}"#,
            "\n"
        ))
        .status(1)
        .run();
}

#[test]
fn apply_outside_a_plan_is_refused() {
    check()
        .file("site.pp", "apply('localhost') { notify { 'x': } }\n")
        .args(["--format", "json", "site.pp"])
        .stdout(concat!(
            r#"{"file":"site.pp","line":1,"column":1,"message":"`apply` is only available in plans (the files of a `plans/` folder)"}"#,
            "\n"
        ))
        .status(1)
        .run();
}
