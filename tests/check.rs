//! `orchestrate check` end to end: the real binary on real files, whole outputs compared.

use std::path::Path;

use assert_cmd::Command;

/// A scratch folder with files in it, and one run of the binary there.
struct Check {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Check {
    fn new() -> Self {
        Check {
            dir: tempfile::tempdir().expect("temp dir"),
            args: vec!["check".into()],
        }
    }

    fn file(self, path: &str, content: impl AsRef<[u8]>) -> Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
        self
    }

    fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    fn run(self) -> Output {
        run_in(self.dir.path(), &self.args)
    }
}

fn run_in(dir: &Path, args: &[String]) -> Output {
    let out = Command::cargo_bin("orchestrate")
        .unwrap()
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("runs");
    Output {
        status: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn clean_files_pass() {
    let out = Check::new()
        .file("a.pp", "notice('a')\n")
        .file("b.pp", "class b { include a }\n")
        .args(&["a.pp", "b.pp"])
        .run();
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "checked 2 file(s): 2 ok, 0 with problems\n");
    assert_eq!(out.status, 0);
}

#[test]
fn folders_are_searched_for_manifests_only() {
    let out = Check::new()
        .file("site/manifests/init.pp", "class site { }\n")
        .file("site/manifests/deep/er.pp", "define site::deep::er { }\n")
        .file("site/templates/x.erb", "<%= not puppet %>\n")
        .file("site/README.md", "{{{\n")
        .args(&["site"])
        .run();
    assert_eq!(out.stderr, "checked 2 file(s): 2 ok, 0 with problems\n");
    assert_eq!(out.status, 0);
}

#[test]
fn a_syntax_error_is_shown_with_source_and_hint() {
    let out = Check::new()
        .file("ok.pp", "notice(1)\n")
        .file(
            "web.pp",
            "file { '/etc/motd':\n  ensure  => file\n  content => 'hi',\n}\n",
        )
        .args(&["ok.pp", "web.pp"])
        .run();
    assert_eq!(
        out.stderr,
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
"#
    );
    assert_eq!(out.stdout, "");
    assert_eq!(out.status, 1);
}

#[test]
fn json_prints_one_object_per_problem() {
    let out = Check::new()
        .file("a.pp", "$x = 1\n$x\n'forgotten'\nnotice($x)\n")
        .file("b.pp", "$y = [1, 2\n")
        .file("c.pp", "notice('fine')\n")
        .args(&["--format", "json", "."])
        .run();
    assert_eq!(
        out.stdout,
        concat!(
            r#"{"file":"./a.pp","line":2,"column":1,"message":"this variable has no effect: its value is produced and then forgotten"}"#,
            "\n",
            r#"{"file":"./a.pp","line":3,"column":1,"message":"this string has no effect: its value is produced and then forgotten"}"#,
            "\n",
            r#"{"file":"./b.pp","line":1,"column":6,"message":"unexpected end of file: `[` is never closed"}"#,
            "\n",
        )
    );
    assert_eq!(out.stderr, "");
    assert_eq!(out.status, 1);
}

#[test]
fn a_file_with_many_problems_shows_the_first_fifty() {
    // 59 problems: the last `if` of the file may produce its value.
    let out = Check::new()
        .file("noisy.pp", "if true { }\n".repeat(60))
        .args(&["--format", "json", "noisy.pp"])
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 51);
    assert_eq!(
        lines[50],
        r#"{"file":"noisy.pp","line":51,"column":1,"message":"9 more problem(s) in this file not shown"}"#
    );
    assert_eq!(out.status, 1);
}

#[test]
fn a_missing_path_is_bad_usage() {
    let out = Check::new()
        .file("a.pp", "notice(1)\n")
        .args(&["a.pp", "nosuch.pp"])
        .run();
    assert_eq!(out.stderr, "error: nosuch.pp: no such file or directory\n");
    assert_eq!(out.stdout, "");
    assert_eq!(out.status, 2);
}

#[test]
fn a_file_that_is_not_utf8_is_a_problem_not_a_crash() {
    let out = Check::new()
        .file("latin1.pp", b"notice('caf\xe9')\n")
        .args(&["--format", "json", "latin1.pp"])
        .run();
    assert_eq!(
        out.stdout,
        "{\"file\":\"latin1.pp\",\"line\":1,\"column\":12,\"message\":\"the file is not valid UTF-8\"}\n"
    );
    assert_eq!(out.status, 1);
}

#[test]
fn without_paths_it_explains_usage() {
    let out = Check::new().run();
    assert!(
        out.stderr.contains("Usage: orchestrate check"),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 2);
}

#[test]
fn ast_prints_the_tree() {
    let out = Check::new()
        .file("a.pp", "notify { 'hi': }\n")
        .args(&["--ast", "a.pp"])
        .run();
    assert_eq!(
        out.stdout,
        "# a.pp\n(program 0..16\n  (resource Real notify 0..16\n    (body 9..14\n      (string \"hi\" 9..13))))\n\n"
    );
    assert_eq!(out.status, 0);
}

#[test]
fn the_example_playbooks_are_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run_in(root, &["check".into(), "playbooks".into()]);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.ends_with(" with problems\n") && out.stderr.contains(" 0 with problems"),
        "{}",
        out.stderr
    );
    assert_eq!(out.status, 0);
}
