//! Finds and parses the code a playbook uses: the playbook file, then each define, class and
//! function the first time it is named, from the module layout Puppet autoloads
//! (`modules/app/manifests/update.pp` holds `app::update`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::lang::ast::{
    CapabilityMapping, ClassDef, Definition, Expr, ExprKind, FunctionDef, Program,
};
use crate::lang::{Dialect, SyntaxError};

use super::{EvalError, EvalErrorKind, FileId};

/// `mco::ping` and `mco::say` are always available; a repository may override them.
const BUILTIN_MODULES: &[(&str, &str)] = &[
    (
        "mco/manifests/ping.pp",
        include_str!("../../playbooks/modules/mco/manifests/ping.pp"),
    ),
    (
        "mco/manifests/say.pp",
        include_str!("../../playbooks/modules/mco/manifests/say.pp"),
    ),
];

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The name diagnostics show: the path as the user would type it.
    pub display: String,
    pub text: Arc<String>,
}

/// A definition with the file it came from.
#[derive(Debug)]
pub struct Defined<T> {
    pub file: FileId,
    pub def: T,
}

pub struct Loader {
    /// The playbook repository this loader reads from.
    pub repo: PathBuf,
    modules: Vec<PathBuf>,
    pub sources: Vec<SourceFile>,
    pub defines: HashMap<String, Rc<Defined<Definition>>>,
    pub classes: HashMap<String, Rc<Defined<ClassDef>>>,
    pub functions: HashMap<String, Rc<Defined<FunctionDef>>>,
    pub plans: HashMap<String, Rc<Defined<Definition>>>,
    pub type_aliases: HashMap<String, Rc<Defined<Expr>>>,
    /// `application` definitions: the site evaluation declares them like defines.
    pub applications: HashMap<String, Rc<Defined<Definition>>>,
    /// `Lamp::Mysql produces Sql { }`: they make `Sql` a capability type in a site evaluation.
    pub capability_mappings: Vec<Rc<Defined<CapabilityMapping>>>,
    /// Files already read, so a name that is not defined is looked for once.
    tried: HashMap<PathBuf, bool>,
}

impl Loader {
    /// A loader that autoloads from `<repo>/modules`.
    pub fn new(repo: &Path) -> Loader {
        Loader {
            repo: repo.to_path_buf(),
            modules: vec![repo.join("modules")],
            sources: Vec::new(),
            defines: HashMap::new(),
            classes: HashMap::new(),
            functions: HashMap::new(),
            plans: HashMap::new(),
            type_aliases: HashMap::new(),
            applications: HashMap::new(),
            capability_mappings: Vec::new(),
            tried: HashMap::new(),
        }
    }

    /// Reads, parses and validates a file; its definitions become known, and the program is
    /// returned so the caller can run its top-level code.
    /// The folders modules are autoloaded from.
    pub fn module_roots(&self) -> &[PathBuf] {
        &self.modules
    }

    pub fn load_file(&mut self, path: &Path) -> Result<(FileId, Program), EvalError> {
        let text = std::fs::read_to_string(path).map_err(|err| EvalError {
            kind: EvalErrorKind::Input,
            problem: SyntaxError::new(
                format!("cannot read {}: {err}", path.display()),
                Default::default(),
                "",
            ),
            file: usize::MAX,
        })?;
        self.load_text(path, &display_path(path), text)
    }

    pub fn load_text(
        &mut self,
        path: &Path,
        display: &str,
        text: String,
    ) -> Result<(FileId, Program), EvalError> {
        let file = self.sources.len();
        let text = Arc::new(text);
        self.sources.push(SourceFile {
            path: path.to_path_buf(),
            display: display.to_string(),
            text: text.clone(),
        });
        let program =
            crate::lang::check(&text, Dialect::of(path)).map_err(|mut problems| EvalError {
                kind: EvalErrorKind::Input,
                problem: problems.remove(0),
                file,
            })?;
        self.register(file, &program);
        Ok((file, program))
    }

    fn register(&mut self, file: FileId, program: &Program) {
        for statement in &program.statements {
            match &statement.kind {
                ExprKind::Define(def) => {
                    let name = def.name.name.to_lowercase();
                    self.defines.insert(
                        name,
                        Rc::new(Defined {
                            file,
                            def: (**def).clone(),
                        }),
                    );
                }
                ExprKind::Class(class) => {
                    let name = class.name.name.to_lowercase();
                    self.classes.insert(
                        name,
                        Rc::new(Defined {
                            file,
                            def: (**class).clone(),
                        }),
                    );
                }
                ExprKind::Function(function) => {
                    let name = function.name.name.to_lowercase();
                    let defined = Rc::new(Defined {
                        file,
                        def: (**function).clone(),
                    });
                    self.functions.insert(name, defined);
                }
                ExprKind::Plan(plan) => {
                    let name = plan.name.name.to_lowercase();
                    self.plans.insert(
                        name,
                        Rc::new(Defined {
                            file,
                            def: (**plan).clone(),
                        }),
                    );
                }
                ExprKind::Application(application) => {
                    let name = application.name.name.to_lowercase();
                    self.applications.insert(
                        name,
                        Rc::new(Defined {
                            file,
                            def: (**application).clone(),
                        }),
                    );
                }
                ExprKind::CapabilityMapping(mapping) => {
                    self.capability_mappings.push(Rc::new(Defined {
                        file,
                        def: (**mapping).clone(),
                    }));
                }
                ExprKind::TypeAlias { name, value } => {
                    let defined = Rc::new(Defined {
                        file,
                        def: (**value).clone(),
                    });
                    self.type_aliases.insert(name.name.to_lowercase(), defined);
                }
                _ => {}
            }
        }
    }

    /// Makes sure the definition of `name` (a define, class, function or type alias) has been
    /// looked for in the file Puppet's autoloader would read it from.
    pub fn autoload(&mut self, name: &str, folder: &str) -> Result<(), EvalError> {
        let name = name.trim_start_matches("::").to_lowercase();
        let mut segments = name.split("::");
        let module = segments.next().unwrap_or_default();
        let rest: Vec<&str> = segments.collect();
        let relative = if rest.is_empty() {
            format!("{module}/{folder}/init.pp")
        } else {
            format!("{module}/{folder}/{}.pp", rest.join("/"))
        };
        let candidates: Vec<PathBuf> = self.modules.iter().map(|m| m.join(&relative)).collect();
        for path in candidates {
            if self.tried.contains_key(&path) {
                continue;
            }
            let exists = path.is_file();
            self.tried.insert(path.clone(), exists);
            if exists {
                self.load_file(&path)?;
                return Ok(());
            }
        }
        if let Some((_, text)) = BUILTIN_MODULES.iter().find(|(p, _)| *p == relative) {
            let path = PathBuf::from(format!("<builtin>/{relative}"));
            if !self.tried.contains_key(&path) {
                self.tried.insert(path.clone(), true);
                self.load_text(&path, &path.display().to_string(), text.to_string())?;
            }
        }
        Ok(())
    }

    /// The folder of module `name` on the module path, as Puppet's `environment.module`
    /// finds it: the first folder of that name, for a valid module name only.
    pub fn module_directory(&self, name: &str) -> Option<PathBuf> {
        module_folder(&self.modules, name)
    }

    pub fn define(&mut self, name: &str) -> Result<Option<Rc<Defined<Definition>>>, EvalError> {
        let key = name.trim_start_matches("::").to_lowercase();
        if !self.defines.contains_key(&key) {
            self.autoload(&key, "manifests")?;
        }
        Ok(self.defines.get(&key).cloned())
    }

    /// An `application` by name, autoloaded from the module layout as a define is.
    pub fn application(
        &mut self,
        name: &str,
    ) -> Result<Option<Rc<Defined<Definition>>>, EvalError> {
        let key = name.trim_start_matches("::").to_lowercase();
        if !self.applications.contains_key(&key) {
            self.autoload(&key, "manifests")?;
        }
        Ok(self.applications.get(&key).cloned())
    }

    pub fn class(&mut self, name: &str) -> Result<Option<Rc<Defined<ClassDef>>>, EvalError> {
        let key = name.trim_start_matches("::").to_lowercase();
        if !self.classes.contains_key(&key) {
            self.autoload(&key, "manifests")?;
        }
        Ok(self.classes.get(&key).cloned())
    }

    pub fn function(&mut self, name: &str) -> Result<Option<Rc<Defined<FunctionDef>>>, EvalError> {
        let key = name.trim_start_matches("::").to_lowercase();
        if !self.functions.contains_key(&key) && key.contains("::") {
            self.autoload(&key, "functions")?;
        }
        Ok(self.functions.get(&key).cloned())
    }

    pub fn type_alias(&mut self, name: &str) -> Result<Option<Rc<Defined<Expr>>>, EvalError> {
        let key = name.to_lowercase();
        if !self.type_aliases.contains_key(&key) && key.contains("::") {
            self.autoload(&key, "types")?;
        }
        Ok(self.type_aliases.get(&key).cloned())
    }
}

/// A path relative to the working directory when it is under it, as a user would type it.
fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
        .trim_start_matches("./")
        .to_string()
}

/// The folder of module `name` under the first of `roots` that has it, for a valid module
/// name only: how the loader, `module_directory()` and Hiera's module layer find a module.
pub fn module_folder(roots: &[PathBuf], name: &str) -> Option<PathBuf> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return None;
    }
    roots
        .iter()
        .map(|folder| folder.join(name))
        .find(|path| path.is_dir())
}
