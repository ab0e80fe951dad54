//! Hiera 5 data of the playbook repository, as Puppet and Bolt read it for `lookup()`: the
//! environment layer (`<repo>/hiera.yaml`, with Bolt's `plan_hierarchy` preferred over
//! `hierarchy`, Puppet's default `data/common.yaml` when there is no file) and the module
//! layer (`modules/<mod>/hiera.yaml`, for keys in `<mod>::`), the `yaml_data` and `json_data`
//! backends, `%{...}` interpolation in paths and values, the merge strategies and
//! `lookup_options`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::value::{HashMap as ValueMap, Value};

/// Variables the interpolations see (`%{facts.os.family}`, `%{environment}`).
pub type Variables<'v> = &'v dyn Fn(&str) -> Option<Value>;

/// The data of one repository, read as lookups need it.
pub struct Hiera {
    environment: Rc<Config>,
    module_roots: Vec<PathBuf>,
    modules: RefCell<HashMap<String, Option<Rc<Config>>>>,
    files: RefCell<HashMap<PathBuf, Rc<ValueMap>>>,
    /// The keys being looked up, innermost last, to refuse a lookup that needs itself.
    active: RefCell<Vec<String>>,
}

/// Why a lookup could not be answered.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HieraError {
    kind: HieraErrorKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HieraErrorKind {
    /// A `hiera.yaml` that is not Hiera 5 as Puppet reads it.
    Config,
    /// A data file that cannot be read or is not a hash.
    Data,
    /// A `%{...}` that names no method, or a lookup that needs itself.
    Interpolation,
    /// Values that the merge strategy cannot merge, or an unknown strategy.
    Merge,
}

impl HieraError {
    fn new(kind: HieraErrorKind, message: impl Into<String>) -> HieraError {
        HieraError {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> HieraErrorKind {
        self.kind
    }
}

/// A layer's hierarchy, its paths still to be interpolated.
struct Config {
    levels: Vec<Level>,
}

struct Level {
    backend: Backend,
    datadir: PathBuf,
    paths: Vec<String>,
    globs: Vec<String>,
}

#[derive(Clone, Copy)]
enum Backend {
    Yaml,
    Json,
}

/// How the values found at several levels become one (Puppet's `merge` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    First,
    Unique,
    Hash,
    Deep,
}

impl Merge {
    /// A strategy as `lookup()` and `lookup_options` name it: a string, or a hash with
    /// `strategy` (the deep merge's other options change nothing Puppet 7 shows by default).
    pub fn from_value(value: &Value) -> Result<Merge, HieraError> {
        let name = match value {
            Value::String(s) => s.as_str(),
            Value::Hash(options) => match options.get(&Value::string("strategy")) {
                Some(Value::String(s)) => s.as_str(),
                _ => "",
            },
            _ => "",
        };
        match name {
            "first" => Ok(Merge::First),
            "unique" => Ok(Merge::Unique),
            "hash" => Ok(Merge::Hash),
            "deep" => Ok(Merge::Deep),
            _ => Err(HieraError::new(
                HieraErrorKind::Merge,
                format!("Unknown merge strategy: '{}'", value.to_display_string()),
            )),
        }
    }
}

/// Puppet's hierarchy for a layer without `hiera.yaml`.
const DEFAULT_HIERARCHY: &str = "version: 5\nhierarchy:\n  - name: Common\n    path: common.yaml\n";

impl Hiera {
    /// The data of the repository at `repo`, whose modules are under `module_roots`.
    pub fn load(repo: &Path, module_roots: Vec<PathBuf>) -> Result<Hiera, HieraError> {
        let file = repo.join("hiera.yaml");
        let environment = match std::fs::read_to_string(&file) {
            Ok(text) => Config::parse(&text, repo, &file)?,
            Err(_) => Config::parse(DEFAULT_HIERARCHY, repo, &file)?,
        };
        Ok(Hiera {
            environment: Rc::new(environment),
            module_roots,
            modules: RefCell::default(),
            files: RefCell::default(),
            active: RefCell::default(),
        })
    }

    /// The value of `key` (dotted segments dig into it), merged over the levels by `merge`
    /// (else the key's `lookup_options`, else `first`); None when no level has it.
    pub fn lookup(
        &self,
        key: &str,
        merge: Option<Merge>,
        vars: Variables<'_>,
    ) -> Result<Option<Value>, HieraError> {
        let segments = split_key(key);
        let Some((root, rest)) = segments.split_first() else {
            return Ok(None);
        };
        if self.active.borrow().iter().any(|k| k == key) {
            let chain = self.active.borrow().join(", ");
            return Err(HieraError::new(
                HieraErrorKind::Interpolation,
                format!("Recursive lookup detected in [{chain}, {key}]"),
            ));
        }
        self.active.borrow_mut().push(key.to_string());
        let found = self.lookup_root(root, merge, vars);
        self.active.borrow_mut().pop();
        Ok(found?.and_then(|value| dig(value, rest)))
    }

    fn lookup_root(
        &self,
        root: &str,
        merge: Option<Merge>,
        vars: Variables<'_>,
    ) -> Result<Option<Value>, HieraError> {
        let layers = self.layers(root)?;
        let merge = match merge {
            Some(merge) => merge,
            None => self
                .merge_option(root, &layers, vars)?
                .unwrap_or(Merge::First),
        };
        let mut found = Vec::new();
        for layer in &layers {
            for data in self.data_of(layer, vars)? {
                if let Some(value) = data.get(&Value::string(root)) {
                    found.push(self.interpolate_value(value, vars)?);
                    if merge == Merge::First {
                        return Ok(found.pop());
                    }
                }
            }
        }
        merged(root, merge, found)
    }

    /// The environment layer, then the module's for a key in a module's namespace.
    fn layers(&self, root: &str) -> Result<Vec<Rc<Config>>, HieraError> {
        let mut layers = vec![self.environment.clone()];
        if let Some((module, _)) = root.trim_start_matches("::").split_once("::") {
            if let Some(config) = self.module(module)? {
                layers.push(config);
            }
        }
        Ok(layers)
    }

    fn module(&self, name: &str) -> Result<Option<Rc<Config>>, HieraError> {
        if let Some(config) = self.modules.borrow().get(name) {
            return Ok(config.clone());
        }
        let config = match super::loader::module_folder(&self.module_roots, name) {
            Some(dir) => {
                let file = dir.join("hiera.yaml");
                match std::fs::read_to_string(&file) {
                    Ok(text) => Some(Rc::new(Config::parse(&text, &dir, &file)?)),
                    Err(_) => None,
                }
            }
            None => None,
        };
        self.modules
            .borrow_mut()
            .insert(name.to_string(), config.clone());
        Ok(config)
    }

    /// The `merge` that the layers' `lookup_options` give `root`: an exact key, else the
    /// first pattern key (`'^mymod::.*'`) that matches.
    fn merge_option(
        &self,
        root: &str,
        layers: &[Rc<Config>],
        vars: Variables<'_>,
    ) -> Result<Option<Merge>, HieraError> {
        let mut options = Vec::new();
        for layer in layers {
            for data in self.data_of(layer, vars)? {
                if let Some(found) = data.get(&Value::string("lookup_options")) {
                    options.push(found.clone());
                }
            }
        }
        let Some(Value::Hash(options)) = merged("lookup_options", Merge::Deep, options)? else {
            return Ok(None);
        };
        let exact = options.get(&Value::string(root));
        let pattern = || {
            options.iter().find_map(|(key, value)| {
                let pattern = key.as_str().filter(|k| k.starts_with('^'))?;
                let matches = regex::Regex::new(pattern).ok()?.is_match(root);
                matches.then_some(value)
            })
        };
        match exact.or_else(pattern) {
            Some(Value::Hash(option)) => option
                .get(&Value::string("merge"))
                .map(Merge::from_value)
                .transpose(),
            _ => Ok(None),
        }
    }

    /// The data hashes of a layer's levels, highest priority first, for the files that exist.
    fn data_of(
        &self,
        layer: &Config,
        vars: Variables<'_>,
    ) -> Result<Vec<Rc<ValueMap>>, HieraError> {
        let mut all = Vec::new();
        for level in &layer.levels {
            for path in self.level_files(level, vars)? {
                if let Some(data) = self.read(&path, level.backend)? {
                    all.push(data);
                }
            }
        }
        Ok(all)
    }

    fn level_files(&self, level: &Level, vars: Variables<'_>) -> Result<Vec<PathBuf>, HieraError> {
        let mut files = Vec::new();
        for path in &level.paths {
            files.push(level.datadir.join(self.interpolate(path, vars)?));
        }
        for glob in &level.globs {
            let pattern = level.datadir.join(self.interpolate(glob, vars)?);
            files.extend(glob_files(&pattern));
        }
        Ok(files)
    }

    /// A data file's hash, read once; None when it does not exist.
    fn read(&self, path: &Path, backend: Backend) -> Result<Option<Rc<ValueMap>>, HieraError> {
        if let Some(data) = self.files.borrow().get(path) {
            return Ok(Some(data.clone()));
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(None);
        };
        let data = match backend {
            Backend::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text)
                .map(|yaml| Value::from(&yaml))
                .map_err(|e| e.to_string()),
            Backend::Json => serde_json::from_str::<serde_json::Value>(&text)
                .map(|json| Value::from(&json))
                .map_err(|e| e.to_string()),
        };
        let data = match data {
            Ok(Value::Hash(map)) => Rc::new(map),
            // An empty YAML file is no data, as Puppet reads it.
            Ok(Value::Undef) => Rc::new(ValueMap::new()),
            Ok(other) => {
                return Err(HieraError::new(
                    HieraErrorKind::Data,
                    format!(
                        "{}: the data must be a hash, got {}",
                        path.display(),
                        super::evaluator::describe_value_type(&other)
                    ),
                ))
            }
            Err(e) => {
                return Err(HieraError::new(
                    HieraErrorKind::Data,
                    format!("Unable to parse {}: {e}", path.display()),
                ))
            }
        };
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), data.clone());
        Ok(Some(data))
    }

    /// A found value with its strings' interpolations done; `%{alias('k')}` as a whole
    /// string is the value of `k` with its type.
    fn interpolate_value(&self, value: &Value, vars: Variables<'_>) -> Result<Value, HieraError> {
        Ok(match value {
            Value::String(text) => match whole_alias(text) {
                Some(key) => self.lookup(key, None, vars)?.unwrap_or(Value::Undef),
                None => Value::String(self.interpolate(text, vars)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.interpolate_value(item, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Hash(map) => {
                let mut out = ValueMap::new();
                for (key, item) in map {
                    out.insert(
                        self.interpolate_value(key, vars)?,
                        self.interpolate_value(item, vars)?,
                    );
                }
                Value::Hash(out)
            }
            other => other.clone(),
        })
    }

    /// `text` with each `%{...}` replaced by its value's text.
    fn interpolate(&self, text: &str, vars: Variables<'_>) -> Result<String, HieraError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("%{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return Ok(out);
            };
            out.push_str(&self.expand(after[..end].trim(), vars)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn expand(&self, expression: &str, vars: Variables<'_>) -> Result<String, HieraError> {
        if expression.is_empty() {
            return Ok(String::new());
        }
        let Some((method, argument)) = method_call(expression) else {
            return Ok(
                variable(expression, vars).map_or_else(String::new, |v| v.to_display_string())
            );
        };
        let value = match method {
            "lookup" | "hiera" => self.lookup(argument, None, vars)?,
            "scope" => variable(argument, vars),
            "literal" => Some(Value::string(argument)),
            "alias" => {
                return Err(HieraError::new(
                    HieraErrorKind::Interpolation,
                    "'alias' interpolation is only permitted if the expression is equal to the entire string",
                ))
            }
            other => {
                return Err(HieraError::new(
                    HieraErrorKind::Interpolation,
                    format!("Unknown interpolation method '{other}'"),
                ))
            }
        };
        Ok(value.map_or_else(String::new, |v| v.to_display_string()))
    }
}

impl Config {
    fn parse(text: &str, dir: &Path, file: &Path) -> Result<Config, HieraError> {
        let bad = |why: String| {
            HieraError::new(HieraErrorKind::Config, format!("{}: {why}", file.display()))
        };
        let yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(|e| bad(e.to_string()))?;
        let Value::Hash(config) = Value::from(&yaml) else {
            return Err(bad("a Hiera configuration is a hash".into()));
        };
        let field = |name: &str| config.get(&Value::string(name));
        match field("version") {
            Some(Value::Integer(5)) => {}
            Some(other) => {
                return Err(bad(format!(
                    "only version 5 is supported, got version {other}"
                )))
            }
            None => return Err(bad("it has no `version: 5`".into())),
        }
        let defaults = match field("defaults") {
            Some(Value::Hash(defaults)) => defaults.clone(),
            _ => ValueMap::new(),
        };
        // Bolt reads `plan_hierarchy` in plans: they run on no target, so have no node facts.
        let hierarchy = field("plan_hierarchy").or_else(|| field("hierarchy"));
        let levels = match hierarchy {
            Some(Value::Array(levels)) => levels
                .iter()
                .map(|level| Level::parse(level, &defaults, dir).map_err(&bad))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("`hierarchy` must be an array of levels".into())),
            None => Vec::new(),
        };
        Ok(Config { levels })
    }
}

impl Level {
    fn parse(level: &Value, defaults: &ValueMap, dir: &Path) -> Result<Level, String> {
        let Value::Hash(level) = level else {
            return Err("each hierarchy level is a hash".into());
        };
        let setting = |key: &str| {
            level
                .get(&Value::string(key))
                .or_else(|| defaults.get(&Value::string(key)))
        };
        let name = setting("name").map_or_else(String::new, Value::to_display_string);
        let backend = match setting("data_hash").and_then(Value::as_str) {
            None | Some("yaml_data") => Backend::Yaml,
            Some("json_data") => Backend::Json,
            Some(other) => {
                return Err(format!(
                    "level '{name}': data_hash '{other}' is not supported (yaml_data and json_data are)"
                ))
            }
        };
        if setting("lookup_key").is_some() || setting("data_dig").is_some() {
            return Err(format!(
                "level '{name}': only data_hash backends (yaml_data, json_data) are supported"
            ));
        }
        let datadir = setting("datadir").and_then(Value::as_str).unwrap_or("data");
        let strings = |key: &str| match level.get(&Value::string(key)) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().map(Value::to_display_string).collect(),
            _ => Vec::new(),
        };
        let mut paths = strings("path");
        paths.extend(strings("paths"));
        let mut globs = strings("glob");
        globs.extend(strings("globs"));
        if paths.is_empty() && globs.is_empty() {
            paths.push(format!("{name}.yaml"));
        }
        Ok(Level {
            backend,
            datadir: dir.join(datadir),
            paths,
            globs,
        })
    }
}

/// The values found, highest priority first, merged as Puppet merges them: `unique` keeps
/// the highest's order; `hash` and `deep` start from the lowest level, so keys keep the
/// order in which the lowest level wrote them and higher levels override in place. As in
/// Puppet, the first value found is the merge's first element, each next one its second.
fn merged(key: &str, merge: Merge, found: Vec<Value>) -> Result<Option<Value>, HieraError> {
    let wrong = |first: bool, expects: &str, got: &Value| {
        HieraError::new(
            HieraErrorKind::Merge,
            format!(
                "Lookup of key '{key}' failed: The {} element of the merge has wrong type, expects {expects}, got {}",
                if first { "first" } else { "second" },
                super::evaluator::mismatch_type_name(got)
            ),
        )
    };
    if found.len() < 2 && merge != Merge::Unique {
        return Ok(found.into_iter().next());
    }
    Ok(Some(match merge {
        Merge::First => found.into_iter().next().unwrap_or(Value::Undef),
        Merge::Unique => {
            let mut out: Vec<Value> = Vec::new();
            for value in found {
                let items = match value {
                    Value::Array(items) => items,
                    Value::Hash(_) => {
                        return Err(wrong(false, "a value of type Scalar or Array", &value))
                    }
                    scalar => vec![scalar],
                };
                for item in items {
                    if !out.contains(&item) {
                        out.push(item);
                    }
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Array(out)
        }
        Merge::Hash => {
            for (index, value) in found.iter().enumerate() {
                if !matches!(value, Value::Hash(_)) {
                    return Err(wrong(index == 0, "a Hash value", value));
                }
            }
            let mut out = ValueMap::new();
            for value in found.into_iter().rev() {
                if let Value::Hash(map) = value {
                    out.extend(map);
                }
            }
            Value::Hash(out)
        }
        Merge::Deep => found
            .into_iter()
            .rev()
            .reduce(deep_merge)
            .unwrap_or(Value::Undef),
    }))
}

/// `higher` merged onto `lower`: hashes key by key, arrays as a union in the lower's
/// order, anything else the higher.
fn deep_merge(lower: Value, higher: Value) -> Value {
    match (lower, higher) {
        (Value::Hash(mut lower), Value::Hash(higher)) => {
            for (k, v) in higher {
                match lower.get_mut(&k) {
                    Some(slot) => {
                        let l = std::mem::replace(slot, Value::Undef);
                        *slot = deep_merge(l, v);
                    }
                    None => {
                        lower.insert(k, v);
                    }
                }
            }
            Value::Hash(lower)
        }
        (Value::Array(mut lower), Value::Array(higher)) => {
            for item in higher {
                if !lower.contains(&item) {
                    lower.push(item);
                }
            }
            Value::Array(lower)
        }
        (_, higher) => higher,
    }
}

/// A key's dotted segments; a quoted segment keeps its dots (`'"a.b".c'`).
pub fn split_key(key: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in key.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => segments.push(std::mem::take(&mut current)),
            (_, c) => current.push(c),
        }
    }
    segments.push(current);
    segments
}

/// The part of `value` that `segments` name: hash keys, or array indexes.
fn dig(value: Value, segments: &[String]) -> Option<Value> {
    segments
        .iter()
        .try_fold(value, |value, segment| match value {
            Value::Hash(mut map) => map.swap_remove(&Value::string(segment.as_str())),
            Value::Array(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|i| items.into_iter().nth(i)),
            _ => None,
        })
}

/// A variable with dotted segments digging into it, `::` prefix allowed.
fn variable(expression: &str, vars: Variables<'_>) -> Option<Value> {
    let segments = split_key(expression.trim_start_matches("::"));
    let (name, rest) = segments.split_first()?;
    let value = vars(name).filter(|v| !matches!(v, Value::Undef))?;
    dig(value, rest)
}

/// `lookup('key')` as method and argument.
fn method_call(expression: &str) -> Option<(&str, &str)> {
    let (method, rest) = expression.split_once('(')?;
    let argument = rest.strip_suffix(')')?.trim();
    let unquoted = argument
        .strip_prefix('\'')
        .and_then(|a| a.strip_suffix('\''))
        .or_else(|| argument.strip_prefix('"').and_then(|a| a.strip_suffix('"')))
        .unwrap_or(argument);
    Some((method.trim(), unquoted))
}

/// The key of a string that is exactly `%{alias('key')}`.
fn whole_alias(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("%{")?.strip_suffix('}')?;
    match method_call(inner.trim())? {
        ("alias", key) => Some(key),
        _ => None,
    }
}

/// The files a level's `glob` names: `*` and `?` within a path segment, sorted as Puppet
/// sorts them.
fn glob_files(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for part in pattern.components() {
        let part = part.as_os_str().to_string_lossy().into_owned();
        if !part.contains(['*', '?']) {
            found.iter_mut().for_each(|path| path.push(&part));
            continue;
        }
        let Ok(re) = regex::Regex::new(&glob_regex(&part)) else {
            return Vec::new();
        };
        found = found
            .into_iter()
            .flat_map(|dir| {
                let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| re.is_match(&entry.file_name().to_string_lossy()))
                    .map(|entry| dir.join(entry.file_name()))
                    .collect();
                names.sort();
                names
            })
            .collect();
    }
    found.into_iter().filter(|path| path.is_file()).collect()
}

fn glob_regex(part: &str) -> String {
    let mut re = String::from("^");
    for c in part.chars() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_on_dots_outside_quotes() {
        assert_eq!(split_key("a.b.1"), ["a", "b", "1"]);
        assert_eq!(split_key("\"quoted.key\""), ["quoted.key"]);
        assert_eq!(split_key("mod::x.'y.z'"), ["mod::x", "y.z"]);
    }

    #[test]
    fn unknown_strategies_are_refused() {
        let error = Merge::from_value(&Value::string("bogus")).unwrap_err();
        assert_eq!(error.to_string(), "Unknown merge strategy: 'bogus'");
        assert_eq!(error.kind(), HieraErrorKind::Merge);
    }

    #[test]
    fn a_config_that_is_not_version_5_is_refused() {
        let error = Config::parse("version: 3\n", Path::new("/r"), Path::new("/r/hiera.yaml"))
            .err()
            .unwrap();
        assert_eq!(error.kind(), HieraErrorKind::Config);
        assert!(error.to_string().contains("only version 5"), "{error}");
    }
}
