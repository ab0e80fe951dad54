//! Where the playbooks of a repository are, found by name as Choria and Bolt find plans:
//!
//! | name | file |
//! |---|---|
//! | `upgrade` | `upgrade.pp` at the top of the repository (a top-level playbook) |
//! | `mod::a::b` | `modules/mod/plans/a/b.pp` |
//! | `mod` | `modules/mod/plans/init.pp` |
//! | `project::a` | `plans/a.pp` when `bolt-project.yaml` names the project `project` |
//!
//! and what `orchestrate list` says of each: its parameters with their types and defaults and
//! its Puppet Strings documentation (the summary, `@param`, `@return`).

use std::path::{Path, PathBuf};

use crate::lang::ast::{Expr, ExprKind, Param, Program, Span};
use crate::lang::visit::{self, Visitor};
use crate::lang::Dialect;

/// A playbook's file and the name it is run by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookFile {
    pub name: String,
    pub path: PathBuf,
}

/// Why no playbook was found.
#[derive(Debug, thiserror::Error)]
#[error("no playbook '{name}' (looked for {})", looked_in.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
pub struct NotFound {
    pub name: String,
    pub looked_in: Vec<PathBuf>,
}

/// The playbook `name` names: a path to a `.pp` file, or a playbook or plan name.
pub fn find(repo: &Path, name: &str) -> Result<PlaybookFile, NotFound> {
    if name.ends_with(".pp") || name.contains('/') {
        let path = PathBuf::from(name);
        return match path.is_file() {
            true => Ok(PlaybookFile {
                name: name_of_file(repo, &path),
                path,
            }),
            false => Err(NotFound {
                name: name.to_string(),
                looked_in: vec![path],
            }),
        };
    }
    let looked_in = candidates(repo, name);
    match looked_in.iter().find(|path| path.is_file()) {
        Some(path) => Ok(PlaybookFile {
            name: name.trim_start_matches("::").to_string(),
            path: path.clone(),
        }),
        None => Err(NotFound {
            name: name.to_string(),
            looked_in,
        }),
    }
}

/// The files a name may be in, in the order they are tried.
fn candidates(repo: &Path, name: &str) -> Vec<PathBuf> {
    let name = name.trim_start_matches("::").to_lowercase();
    let mut segments = name.split("::");
    let module = segments.next().unwrap_or_default();
    let rest: Vec<&str> = segments.collect();
    let in_plans = match rest.is_empty() {
        true => PathBuf::from("init.pp"),
        false => PathBuf::from(format!("{}.pp", rest.join("/"))),
    };
    let mut found = Vec::new();
    if rest.is_empty() {
        found.push(repo.join(format!("{module}.pp")));
    }
    found.push(
        repo.join("modules")
            .join(module)
            .join("plans")
            .join(&in_plans),
    );
    if project_name(repo).as_deref() == Some(module) {
        found.push(repo.join("plans").join(&in_plans));
    }
    found
}

/// The name of the Bolt project the repository is: `name` in its `bolt-project.yaml`.
pub fn project_name(repo: &Path) -> Option<String> {
    let text = std::fs::read_to_string(repo.join("bolt-project.yaml")).ok()?;
    let project: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).ok()?;
    project.get("name")?.as_str().map(str::to_string)
}

/// The name a file is run by: its plan name when it is in a module's or the project's
/// `plans/` folder, else its stem.
fn name_of_file(repo: &Path, path: &Path) -> String {
    let plans = (Dialect::of(path) == Dialect::Tasks)
        .then(|| {
            path.ancestors()
                .find(|a| a.file_name().is_some_and(|n| n == "plans"))
        })
        .flatten();
    let owner = |plans: &Path| {
        let parent = plans.parent().filter(|p| !p.as_os_str().is_empty());
        match same_folder(parent.unwrap_or(Path::new(".")), repo) {
            true => project_name(repo),
            false => parent
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().to_string()),
        }
    };
    match plans.and_then(|plans| owner(plans).map(|module| (module, plans))) {
        Some((module, plans)) => plan_name(&module, plans, path),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default(),
    }
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Every playbook of the repository: the top-level files, the plans of its modules and of
/// the Bolt project, sorted by name.
pub fn all(repo: &Path) -> std::io::Result<Vec<PlaybookFile>> {
    let mut found = Vec::new();
    for path in pp_files(repo, false)? {
        found.push(PlaybookFile {
            name: name_of_file(repo, &path),
            path,
        });
    }
    let mut plans_folders = Vec::new();
    if project_name(repo).is_some() {
        plans_folders.push((project_name(repo).unwrap_or_default(), repo.join("plans")));
    }
    if let Ok(modules) = std::fs::read_dir(repo.join("modules")) {
        for module in modules {
            let module = module?.path();
            let name = module.file_name().map(|n| n.to_string_lossy().to_string());
            if let Some(name) = name {
                plans_folders.push((name, module.join("plans")));
            }
        }
    }
    for (module, folder) in plans_folders {
        for path in pp_files(&folder, true)? {
            found.push(PlaybookFile {
                name: plan_name(&module, &folder, &path),
                path,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// `mod::a::b` for `<folder>/a/b.pp`, `mod` for `<folder>/init.pp`.
fn plan_name(module: &str, folder: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(folder).unwrap_or(path).with_extension("");
    let mut name = vec![module.to_string()];
    name.extend(
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string()),
    );
    if name.len() == 2 && name[1] == "init" {
        name.pop();
    }
    name.join("::")
}

/// The `.pp` files of a folder (none when it does not exist), below it too when `deep`.
fn pp_files(folder: &Path, deep: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() && deep {
            found.extend(pp_files(&path, true)?);
        } else if path.is_file() && path.extension().is_some_and(|e| e == "pp") {
            found.push(path);
        }
    }
    Ok(found)
}

/// What `orchestrate list` says of a playbook.
#[derive(Debug, Clone)]
pub struct PlaybookInfo {
    pub name: String,
    pub path: PathBuf,
    /// `plan`, `class` or `playbook` (top-scope code).
    pub kind: &'static str,
    /// The summary and the description, as written.
    pub doc: String,
    pub params: Vec<ParamInfo>,
    /// What `@return` says.
    pub returns: Option<String>,
    /// Why the file cannot be described, when it does not parse.
    pub problem: Option<String>,
}

/// A parameter: its type and default as written, and what `@param` says of it.
#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub name: String,
    pub type_text: Option<String>,
    pub default: Option<String>,
    pub doc: String,
}

/// The playbooks of a repository, described.
pub fn describe_all(repo: &Path) -> std::io::Result<Vec<PlaybookInfo>> {
    let mut described = Vec::new();
    for file in all(repo)? {
        let text = std::fs::read_to_string(&file.path)?;
        described.push(describe(file, &text));
    }
    Ok(described)
}

fn describe(file: PlaybookFile, text: &str) -> PlaybookInfo {
    let mut info = PlaybookInfo {
        name: file.name.clone(),
        path: file.path.clone(),
        kind: "playbook",
        doc: String::new(),
        params: Vec::new(),
        returns: None,
        problem: None,
    };
    let program = match crate::lang::check(text, Dialect::of(&file.path)) {
        Ok(program) => program,
        Err(problems) => {
            info.problem = problems.first().map(|p| p.message.clone());
            return info;
        }
    };
    let Some(entry) = Entry::in_file(&program, &file.name) else {
        info.doc = comment_before(text, 0).description;
        return info;
    };
    let comment = comment_before(text, entry.span.start);
    info.kind = entry.kind;
    info.doc = comment.description;
    info.returns = comment.returns;
    info.params = entry
        .params
        .iter()
        .map(|p| ParamInfo {
            name: p.name.name.clone(),
            type_text: p.type_expr.as_ref().map(|t| text_of(text, t.span)),
            default: p.default.as_ref().map(|d| text_of(text, d.span)),
            doc: comment
                .params
                .iter()
                .find(|(name, _)| *name == p.name.name)
                .map(|(_, doc)| doc.clone())
                .unwrap_or_default(),
        })
        .collect();
    info
}

fn text_of(text: &str, span: Span) -> String {
    text[span.start..span.end].to_string()
}

/// The plan or class a playbook file runs.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'p> {
    pub kind: &'static str,
    pub name: &'p str,
    pub params: &'p [Param],
    pub span: Span,
}

impl<'p> Entry<'p> {
    /// The plan or class `name` defines in the file, else its one plan; None for top-scope
    /// code and for a file that defines other plans or classes (see [`definitions`]).
    pub fn in_file(program: &'p Program, name: &str) -> Option<Entry<'p>> {
        let entries: Vec<Entry> = program.statements.iter().filter_map(Entry::of).collect();
        let named = entries
            .iter()
            .find(|e| e.name.trim_start_matches("::").eq_ignore_ascii_case(name));
        let plans: Vec<&Entry> = entries.iter().filter(|e| e.kind == "plan").collect();
        match (named, plans.as_slice()) {
            (Some(entry), _) => Some(*entry),
            (None, [only]) => Some(**only),
            _ => None,
        }
    }

    fn of(statement: &'p Expr) -> Option<Entry<'p>> {
        let (kind, name, params) = match &statement.kind {
            ExprKind::Plan(plan) => ("plan", &plan.name, &plan.params),
            ExprKind::Class(class) => ("class", &class.name, &class.params),
            _ => return None,
        };
        Some(Entry {
            kind,
            name: &name.name,
            params,
            span: statement.span,
        })
    }
}

/// The plans and classes a file defines, by name: a file run by a name it does not define
/// must say which it has.
pub fn definitions(program: &Program) -> Vec<String> {
    program
        .statements
        .iter()
        .filter_map(Entry::of)
        .map(|e| format!("{} {}", e.kind, e.name))
        .collect()
}

/// Whether the program reads `$name` anywhere (top-scope playbooks take their arguments as
/// variables, so one never read is likely misspelt).
pub fn reads_variable(program: &Program, name: &str) -> bool {
    struct Reads<'n> {
        name: &'n str,
        found: bool,
    }
    impl Visitor for Reads<'_> {
        fn expr(&mut self, e: &Expr) {
            if let ExprKind::Variable(v) = &e.kind {
                self.found |= v.trim_start_matches("::") == self.name;
            }
            visit::walk_expr(self, e);
        }
    }
    let mut reads = Reads { name, found: false };
    visit::walk_program(&mut reads, program);
    reads.found
}

/// A Puppet Strings comment.
#[derive(Debug, Default, PartialEq)]
struct DocComment {
    description: String,
    params: Vec<(String, String)>,
    returns: Option<String>,
}

/// The `#` comment lines right above `offset` (the file's leading comment for 0), read as
/// Puppet Strings reads them: `@summary` and free text are the description, `@param NAME
/// TEXT` and `@return TEXT` (continued on indented lines) describe the rest; other tags
/// (`@example`, `@api`) are left out.
fn comment_before(text: &str, offset: usize) -> DocComment {
    let lines: Vec<&str> = match offset {
        0 => text.lines().take_while(|l| l.starts_with('#')).collect(),
        _ => {
            let mut above: Vec<&str> = text[..offset]
                .lines()
                .rev()
                .skip_while(|l| l.trim().is_empty())
                .take_while(|l| l.trim_start().starts_with('#'))
                .collect();
            above.reverse();
            above
        }
    };
    let mut doc = DocComment::default();
    let mut description = Vec::new();
    // Where a continuation line goes: the description, a parameter, the return, or nowhere.
    enum Into {
        Description,
        Param,
        Return,
        Skipped,
    }
    let mut into = Into::Description;
    for line in lines {
        let line = line.trim_start().trim_start_matches('#');
        let content = line.trim();
        if let Some(tag) = content.strip_prefix('@') {
            let (tag, rest) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
            let rest = rest.trim();
            into = match tag {
                "summary" => {
                    description.push(rest.to_string());
                    Into::Description
                }
                "param" => {
                    let (name, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                    let name = name.trim_start_matches('$').to_string();
                    doc.params.push((name, text.trim().to_string()));
                    Into::Param
                }
                "return" | "returns" => {
                    doc.returns = Some(rest.to_string());
                    Into::Return
                }
                _ => Into::Skipped,
            };
            continue;
        }
        match into {
            Into::Description => description.push(content.to_string()),
            Into::Param if !content.is_empty() => {
                if let Some((_, text)) = doc.params.last_mut() {
                    append(text, content);
                }
            }
            Into::Return if !content.is_empty() => {
                if let Some(text) = doc.returns.as_mut() {
                    append(text, content);
                }
            }
            _ => {}
        }
    }
    doc.description = description.join("\n").trim().to_string();
    doc
}

fn append(text: &mut String, more: &str) {
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(more);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("upgrade.pp", "# Upgrades.\nnotice($cluster)\n");
        write("modules/mco/plans/init.pp", "plan mco() { }\n");
        write(
            "modules/mco/plans/tasks/run.pp",
            "plan mco::tasks::run() { }\n",
        );
        write("bolt-project.yaml", "---\nname: site\n");
        write("plans/deploy.pp", "plan site::deploy() { }\n");
        dir
    }

    #[test]
    fn names_find_the_files_bolt_and_choria_would() {
        let repo = repo();
        let root = repo.path();
        for (name, path) in [
            ("upgrade", "upgrade.pp"),
            ("mco", "modules/mco/plans/init.pp"),
            ("mco::tasks::run", "modules/mco/plans/tasks/run.pp"),
            ("site::deploy", "plans/deploy.pp"),
        ] {
            let found = find(root, name).unwrap();
            assert_eq!((found.name.as_str(), found.path), (name, root.join(path)));
        }
        let missing = find(root, "mco::nosuch").unwrap_err();
        assert_eq!(
            missing.looked_in,
            [root.join("modules/mco/plans/nosuch.pp")]
        );
    }

    #[test]
    fn a_path_is_run_by_the_name_its_place_gives() {
        let repo = repo();
        let root = repo.path();
        let by_path = |p: &str| {
            find(root, &root.join(p).display().to_string())
                .unwrap()
                .name
        };
        assert_eq!(by_path("modules/mco/plans/tasks/run.pp"), "mco::tasks::run");
        assert_eq!(by_path("modules/mco/plans/init.pp"), "mco");
        assert_eq!(by_path("plans/deploy.pp"), "site::deploy");
        assert_eq!(by_path("upgrade.pp"), "upgrade");
    }

    #[test]
    fn every_playbook_is_listed() {
        let repo = repo();
        let names: Vec<String> = all(repo.path())
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["mco", "mco::tasks::run", "site::deploy", "upgrade"]);
    }

    #[test]
    fn puppet_strings_comments_are_read() {
        let text = "# the file\n\n# @summary Disables Puppet\n#\n# Waits for it too.\n# @param targets The nodes\n#   to disable.\n# @param message Why\n# @example\n#   x\n# @return [Hash] what was done\nplan a(TargetSpec $targets, String $message = 'x') { }\n";
        let doc = comment_before(text, text.find("plan").unwrap());
        assert_eq!(
            doc,
            DocComment {
                description: "Disables Puppet\n\nWaits for it too.".into(),
                params: vec![
                    ("targets".into(), "The nodes to disable.".into()),
                    ("message".into(), "Why".into()),
                ],
                returns: Some("[Hash] what was done".into()),
            }
        );
    }
}
