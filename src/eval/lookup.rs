//! `lookup()` and the older `hiera()`, `hiera_array()`, `hiera_hash()` and `hiera_include()`:
//! Puppet's signatures and error texts over the repository's Hiera data (`hiera.rs`).

use std::rc::Rc;

use super::evaluator::{
    describe_type, describe_value_type, mismatch_type_name, EvalResult, Evaluator,
};
use super::functions::Call;
use super::hiera::{Hiera, HieraError, HieraErrorKind, Merge};
use super::types::Type;
use super::value::{HashMap as ValueMap, Value};

/// A lookup as its arguments ask for it.
#[derive(Default)]
struct Request {
    names: Vec<String>,
    value_type: Option<Type>,
    merge: Option<Merge>,
    /// `Some` when a default is given, even `undef`.
    default: Option<Value>,
    overrides: ValueMap,
    default_values: ValueMap,
}

/// Puppet's signatures, for the error of a call that fits none.
const SIGNATURES: &str = "lookup(Variant[String, Array[String]] $name, Type $value_type?, Variant[String[1], Hash[String, Scalar]] $merge?), \
lookup(Variant[String, Array[String]] $name, Optional[Type] $value_type, Optional[Variant[String[1], Hash[String, Scalar]]] $merge, Any $default_value), \
lookup(Struct[{name => Variant[String, Array[String]], ...}] $options_hash, Callable &$block?), \
lookup(Variant[String, Array[String]] $name, Struct[{value_type, default_value, override, default_values_hash, merge}] $options_hash, Callable &$block?)";

impl Evaluator<'_> {
    /// `lookup(...)`: the first name with a value in the overrides, the data or the default
    /// values, merged as asked; else the default, else the block's value, else an error.
    pub(super) fn lookup(&mut self, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
        let request = self.lookup_request(call, args)?;
        for name in &request.names {
            if let Some(value) = self.lookup_one(call, name, &request)? {
                return self.checked(call, &request, value, "Found value");
            }
        }
        if let Some(default) = request.default.clone() {
            return self.checked(call, &request, default, "Default value");
        }
        if let Some(lambda) = call.lambda {
            let names = names_value(&request.names);
            let value = self.call_lambda(call.expr, lambda, vec![names])?;
            return self.checked(call, &request, value, "Value returned from default block");
        }
        Err(self.error(call.expr, not_found(&request.names)).with_help(
            "add the key to the repository's Hiera data (hiera.yaml, data/common.yaml), or give lookup() a default",
        ))
    }

    /// `hiera(key, default?)`, `hiera_array` (a unique merge) and `hiera_hash` (a hash merge).
    pub(super) fn hiera_call(&mut self, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
        let merge = match call.name {
            "hiera_array" | "hiera_include" => Merge::Unique,
            "hiera_hash" => Merge::Hash,
            _ => Merge::First,
        };
        let name = match args.first() {
            Some(Value::String(name)) => name.clone(),
            other => {
                let got = other.map_or_else(|| "nothing".into(), describe_value_type);
                return Err(self.error(
                    call.expr,
                    format!(
                        "'{}' parameter 'key' expects a String value, got {got}",
                        call.name
                    ),
                ));
            }
        };
        if args.len() > 2 && !matches!(args[2], Value::Undef) {
            return Err(self
                .error(
                    call.expr,
                    format!("{}(): the override argument is not supported", call.name),
                )
                .with_help("use lookup() with its `override` option instead"));
        }
        let request = Request {
            names: vec![name],
            merge: Some(merge),
            default: args.get(1).cloned(),
            ..Request::default()
        };
        let value = match self.lookup_one(call, &request.names[0], &request)? {
            Some(value) => value,
            None if request.default.is_some() => request.default.unwrap_or(Value::Undef),
            None => match call.lambda {
                Some(lambda) => {
                    let names = names_value(&request.names);
                    self.call_lambda(call.expr, lambda, vec![names])?
                }
                None => return Err(self.error(call.expr, not_found(&request.names))),
            },
        };
        if call.name == "hiera_include" {
            return self.include_classes(call.expr, vec![value], "include");
        }
        Ok(value)
    }

    fn lookup_one(
        &mut self,
        call: &Call<'_>,
        name: &str,
        request: &Request,
    ) -> EvalResult<Option<Value>> {
        if let Some(value) = request.overrides.get(&Value::string(name)) {
            return Ok(Some(value.clone()));
        }
        let hiera = self.hiera(call)?;
        let scopes = &self.scopes;
        let found = hiera
            .lookup(name, request.merge, &|variable| scopes.lookup(variable))
            .map_err(|error| self.hiera_error(call, &error))?;
        Ok(found.or_else(|| request.default_values.get(&Value::string(name)).cloned()))
    }

    /// The repository's Hiera data, read at the first lookup.
    fn hiera(&mut self, call: &Call<'_>) -> EvalResult<Rc<Hiera>> {
        if let Some(hiera) = &self.hiera {
            return Ok(hiera.clone());
        }
        let hiera = Hiera::load(&self.loader.repo, self.loader.module_roots().to_vec())
            .map(Rc::new)
            .map_err(|error| self.hiera_error(call, &error))?;
        self.hiera = Some(hiera.clone());
        Ok(hiera)
    }

    fn hiera_error(&self, call: &Call<'_>, error: &HieraError) -> super::EvalError {
        let help = match error.kind() {
            HieraErrorKind::Config => "hiera.yaml must be Hiera 5: `version: 5`, `hierarchy` (or Bolt's `plan_hierarchy`) of levels with `path`, `paths`, `glob` or `globs`",
            HieraErrorKind::Data => "a data file is a YAML or JSON hash of keys to values",
            HieraErrorKind::Interpolation => "interpolations are %{variable}, %{lookup('key')}, %{hiera('key')}, %{alias('key')}, %{literal('text')} and %{scope('variable')}",
            HieraErrorKind::Merge => "merge strategies are first, unique, hash and deep",
        };
        self.error(call.expr, error.to_string()).with_help(help)
    }

    fn checked(&self, call: &Call<'_>, request: &Request, value: Value, what: &str) -> EvalResult {
        match &request.value_type {
            Some(expected) if !expected.is_instance(&value) => Err(self.error(
                call.expr,
                format!(
                    "{what} has wrong type, expects {}, got {}",
                    describe_type(expected),
                    mismatch_type_name(&value)
                ),
            )),
            _ => Ok(value),
        }
    }

    fn lookup_request(&self, call: &Call<'_>, args: Vec<Value>) -> EvalResult<Request> {
        let refused = || {
            self.error(
                call.expr,
                "The function 'lookup' was called with arguments it does not accept",
            )
            .with_help(format!("it expects one of: {SIGNATURES}"))
        };
        let mut args = args.into_iter();
        let first = args.next().ok_or_else(refused)?;
        let rest: Vec<Value> = args.collect();
        let mut request = match &first {
            Value::Hash(options) if rest.is_empty() => {
                let name = options.get(&Value::string("name")).ok_or_else(refused)?;
                let mut request = Request {
                    names: names_of(name).ok_or_else(refused)?,
                    ..Request::default()
                };
                self.read_options(call, options, &mut request)?;
                return Ok(request);
            }
            name => Request {
                names: names_of(name).ok_or_else(refused)?,
                ..Request::default()
            },
        };
        match rest.as_slice() {
            [] => {}
            [Value::Hash(options)] => self.read_options(call, options, &mut request)?,
            [value_type] => {
                request.value_type = Some(type_of(value_type, false).ok_or_else(refused)?)
            }
            [value_type, merge] => {
                request.value_type = Some(type_of(value_type, false).ok_or_else(refused)?);
                request.merge = Some(self.merge_of(call, merge)?);
            }
            [value_type, merge, default] => {
                request.value_type = given(type_of(value_type, true).ok_or_else(refused)?);
                if !matches!(merge, Value::Undef) {
                    request.merge = Some(self.merge_of(call, merge)?);
                }
                request.default = Some(default.clone());
            }
            _ => return Err(refused()),
        }
        Ok(request)
    }

    fn read_options(
        &self,
        call: &Call<'_>,
        options: &ValueMap,
        request: &mut Request,
    ) -> EvalResult<()> {
        for (key, value) in options {
            match key.as_str().unwrap_or("") {
                "name" => {}
                "value_type" => request.value_type = type_of(value, true).and_then(given),
                "merge" if matches!(value, Value::Undef) => {}
                "merge" => request.merge = Some(self.merge_of(call, value)?),
                "default_value" => request.default = Some(value.clone()),
                "override" => request.overrides = hash_of(value),
                "default_values_hash" => request.default_values = hash_of(value),
                other => {
                    return Err(self.error(
                        call.expr,
                        format!(
                            "The function 'lookup' was called with an unknown option '{other}'"
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    fn merge_of(&self, call: &Call<'_>, value: &Value) -> EvalResult<Merge> {
        Merge::from_value(value).map_err(|error| self.error(call.expr, error.to_string()))
    }
}

/// None for the `Undef` of an optional type argument given as `undef`.
fn given(value_type: Type) -> Option<Type> {
    (!matches!(value_type, Type::Undef)).then_some(value_type)
}

/// The type a lookup argument gives: a type, or with `optional` also `undef` (as `Undef`).
fn type_of(value: &Value, optional: bool) -> Option<Type> {
    match value {
        Value::Type(t) => Some((**t).clone()),
        Value::Undef if optional => Some(Type::Undef),
        _ => None,
    }
}

fn names_of(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(name) => Some(vec![name.clone()]),
        Value::Array(names) if !names.is_empty() => names
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

fn hash_of(value: &Value) -> ValueMap {
    match value {
        Value::Hash(map) => map.clone(),
        _ => ValueMap::new(),
    }
}

/// What a default block is given: the name, or all the names when there were several.
fn names_value(names: &[String]) -> Value {
    match names {
        [one] => Value::string(one.as_str()),
        many => Value::Array(many.iter().map(|n| Value::string(n.as_str())).collect()),
    }
}

fn not_found(names: &[String]) -> String {
    match names {
        [one] => format!("Function lookup() did not find a value for the name '{one}'"),
        many => format!(
            "Function lookup() did not find a value for any of the names [{}]",
            many.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    //! Each case was run once through Debian's `puppet apply` 7.23 with the same
    //! `hiera.yaml`, data and module (`--hiera_config`, `--modulepath`), and what it printed
    //! is the expected text.

    use std::path::Path;

    const HIERA: &str = r#"version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: "Per OS"
    path: "os/%{facts.os.family}.yaml"
  - name: "Env"
    path: "%{env_name}.yaml"
  - name: Common
    paths: ["common.yaml", "extra.json"]
"#;

    const PER_OS: &str = r#"---
h: {b: 2, n: {y: 2}}
arr: [3, 1]
greeting: "debian %{facts.os.name}"
lookup_options:
  arr:
    merge: unique
"#;

    const PROD: &str = "h: {c: 3}\narr: [4]\ndl: {list: [3, 1], s: high, extra: {z: 1}}\n";

    const COMMON: &str = r#"---
h: {a: 1, b: 1, n: {x: 1, y: 1}}
arr: [1, 2]
str: "hello"
num: 5
ali: "%{alias('h')}"
lit: "100%{literal('%')}"
nested: "got %{lookup('str')} and %{hiera('num')} and %{scope('env_name')}"
empty: "x%{}y"
dotted: {a: {b: [10, 20]}}
'quoted.key': dq
bad_interp: "%{nosuchfn('x')}"
ali2: "x %{alias('str')}"
mymod::m: {top: 1}
dl: {list: [1, 2], s: low}
"#;

    const EXTRA: &str = r#"{"from_json": [1, {"k": "v"}], "str": "from json, lower"}"#;

    const CASES: &[(&str, &str)] = &[
        ("lookup('h')", "{b => 2, n => {y => 2}}"),
        ("lookup('h', Data, 'hash')", "{a => 1, b => 2, n => {y => 2}, c => 3}"),
        ("lookup('h', Data, 'deep')", "{a => 1, b => 2, n => {x => 1, y => 2}, c => 3}"),
        ("lookup('h', {merge => {strategy => deep}})", "{a => 1, b => 2, n => {x => 1, y => 2}, c => 3}"),
        ("lookup('h', {merge => 'hash'})", "{a => 1, b => 2, n => {y => 2}, c => 3}"),
        ("lookup('arr')", "[3, 1, 4, 2]"),
        ("lookup('arr', Data, 'first')", "[3, 1]"),
        ("lookup('arr', Data, 'deep')", "[1, 2, 4, 3]"),
        ("lookup('dl', Data, 'deep')", "{list => [1, 2, 3], s => high, extra => {z => 1}}"),
        ("lookup('num', Data, 'unique')", "[5]"),
        ("lookup('ali')", "{b => 2, n => {y => 2}}"),
        ("lookup('lit')", "100%"),
        ("lookup('nested')", "got hello and 5 and prod"),
        ("lookup('empty')", "xy"),
        ("lookup('dotted.a.b.1')", "20"),
        ("lookup('dotted.a')", "{b => [10, 20]}"),
        ("lookup('from_json')", "[1, {k => v}]"),
        ("lookup('\"quoted.key\"')", "dq"),
        ("lookup(['nope', 'str'])", "hello"),
        ("lookup('nope', undef, undef, 'dflt')", "dflt"),
        ("lookup('nope') |$k| { \"lambda ${k}\" }", "lambda nope"),
        ("lookup('nope', {default_value => 7})", "7"),
        ("lookup('dotted.x', undef, undef, 5)", "5"),
        ("lookup('num', Integer)", "5"),
        ("lookup('str', {value_type => String, default_value => 'x'})", "hello"),
        ("lookup({name => 'str'})", "hello"),
        ("lookup('nope', {default_values_hash => {nope => 3}})", "3"),
        ("lookup('str', {override => {str => 'over'}})", "over"),
        ("lookup('mymod::k')", "from module"),
        ("lookup('mymod::m', Data, 'hash')", "{mod => 2, top => 1}"),
        ("hiera('str')", "hello"),
        ("hiera('nope', 'dd')", "dd"),
        ("hiera_array('arr')", "[3, 1, 4, 2]"),
        ("hiera_hash('h')", "{a => 1, b => 2, n => {y => 2}, c => 3}"),
        ("lookup('num', String)", "Error: Found value has wrong type, expects a String value, got Integer"),
        ("lookup('nope')", "Error: Function lookup() did not find a value for the name 'nope'"),
        ("lookup(['nope', 'nada'])", "Error: Function lookup() did not find a value for any of the names ['nope', 'nada']"),
        ("lookup('dotted.a.c')", "Error: Function lookup() did not find a value for the name 'dotted.a.c'"),
        ("lookup('bad_interp')", "Error: Unknown interpolation method 'nosuchfn'"),
        ("lookup('ali2')", "Error: 'alias' interpolation is only permitted if the expression is equal to the entire string"),
        ("lookup('h', Data, 'bogus')", "Error: Unknown merge strategy: 'bogus'"),
        ("lookup('h', Data, 'unique')", "Error: Lookup of key 'h' failed: The second element of the merge has wrong type, expects a value of type Scalar or Array, got Struct"),
        ("lookup('str', Data, 'hash')", "Error: Lookup of key 'str' failed: The first element of the merge has wrong type, expects a Hash value, got String"),
        ("lookup('h', undef, 'hash')", "Error: The function 'lookup' was called with arguments it does not accept"),
        ("lookup(3)", "Error: The function 'lookup' was called with arguments it does not accept"),
    ];

    /// `$facts['os'][key]` of this host, as the data's levels and values see it.
    fn os_fact(key: &str) -> String {
        let code = format!("notice($facts['os']['{key}'])");
        let dir = tempfile::tempdir().unwrap();
        outcome(dir.path(), &code)
    }

    fn repository(dir: &Path) {
        let family = os_fact("family");
        let files = [
            ("hiera.yaml", HIERA),
            (&format!("data/os/{family}.yaml") as &str, PER_OS),
            ("data/prod.yaml", PROD),
            ("data/common.yaml", COMMON),
            ("data/extra.json", EXTRA),
            (
                "modules/mymod/hiera.yaml",
                "version: 5\nhierarchy:\n  - name: Common\n    path: common.yaml\n",
            ),
            (
                "modules/mymod/data/common.yaml",
                "mymod::k: from module\nmymod::m: {mod: 2, top: 0}\n",
            ),
        ];
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn outcome(dir: &Path, call: &str) -> String {
        let path = dir.join("case.pp");
        let code = if call.starts_with("notice(") {
            call.to_string()
        } else {
            format!("notice({call})")
        };
        std::fs::write(&path, format!("$env_name = 'prod'\n{code}\n")).unwrap();
        let (lines, result) = crate::eval::testing::evaluate_file(dir, &path, "case");
        match result {
            Ok(_) => lines.join("\n").trim_start_matches("Notice: ").to_string(),
            Err(message) => format!("Error: {message}"),
        }
    }

    #[test]
    fn lookups_agree_with_puppet() {
        let dir = tempfile::tempdir().unwrap();
        repository(dir.path());
        let mut differ = Vec::new();
        for (call, puppet) in CASES {
            let ours = outcome(dir.path(), call);
            if ours != *puppet {
                differ.push(format!(
                    "{call}\n  puppet:      {puppet}\n  orchestrate: {ours}"
                ));
            }
        }
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    #[test]
    fn interpolated_facts_choose_the_level() {
        let dir = tempfile::tempdir().unwrap();
        repository(dir.path());
        let name = os_fact("name");
        assert_eq!(
            outcome(dir.path(), "lookup('greeting')"),
            format!("debian {name}")
        );
    }

    #[test]
    fn a_broken_data_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        repository(dir.path());
        std::fs::write(dir.path().join("data/common.yaml"), "a: [1,\n").unwrap();
        let error = outcome(dir.path(), "lookup('a')");
        assert!(
            error.starts_with("Error: Unable to parse ") && error.contains("common.yaml"),
            "{error}"
        );
    }
}
