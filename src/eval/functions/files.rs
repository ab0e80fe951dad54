//! Files of the playbook's modules: core Puppet's `file`, `find_file` and
//! `module_directory`. A name `mod/rest` means `<module path>/mod/files/rest`; an absolute
//! path is itself.

use std::path::{Path, PathBuf};

use super::super::evaluator::{describe_value_type, EvalResult, Evaluator};
use super::super::loader::Loader;
use super::super::value::Value;
use super::Call;

/// Where a name of `file()` or `find_file()` points, if anywhere: Puppet's
/// `Puppet::Parser::Files.find_file`. `folder` is the module's subfolder (`files`,
/// `templates`).
pub(super) fn module_file(loader: &Loader, name: &str, folder: &str) -> Option<PathBuf> {
    if Path::new(name).is_absolute() {
        return Some(PathBuf::from(name));
    }
    let (module, rest) = name.split_once('/')?;
    Some(loader.module_directory(module)?.join(folder).join(rest))
}

/// The arguments as names: strings, or one array of strings.
fn names(ev: &Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult<Vec<String>> {
    let args = match <[Value; 1]>::try_from(args) {
        Ok([Value::Array(items)]) => items,
        Ok([one]) => vec![one],
        Err(args) => args,
    };
    args.into_iter()
        .map(|arg| match arg {
            Value::String(name) => Ok(name),
            other => Err(ev.error(
                call.expr,
                format!(
                    "'{}' expects String values, got {}",
                    call.name,
                    describe_value_type(&other)
                ),
            )),
        })
        .collect()
}

/// The first of the names that is an existing file or folder in a module's `folder`.
fn first_existing(ev: &Evaluator<'_>, names: &[String], folder: &str) -> Option<PathBuf> {
    names
        .iter()
        .filter_map(|name| module_file(&ev.loader, name, folder))
        .find(|path| path.exists())
}

/// `file(names...)`: the text of the first that exists.
pub(super) fn file(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let names = names(ev, call, args)?;
    let Some(path) = first_existing(ev, &names, "files") else {
        return Err(ev.error(
            call.expr,
            format!("Could not find any files from {}", names.join(", ")),
        ));
    };
    std::fs::read_to_string(&path)
        .map(Value::String)
        .map_err(|err| ev.error(call.expr, format!("cannot read {}: {err}", path.display())))
}

/// `find_file(names...)`: the path of the first that exists, or undef.
pub(super) fn find_file(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    find_in(ev, call, args, "files")
}

/// `find_template(names...)`: the path of the first in a module's `templates/`, or undef.
pub(super) fn find_template(
    ev: &mut Evaluator<'_>,
    call: &Call<'_>,
    args: Vec<Value>,
) -> EvalResult {
    find_in(ev, call, args, "templates")
}

/// The path of the first of the names that exists in a module's `folder`, or undef.
fn find_in(ev: &Evaluator<'_>, call: &Call<'_>, args: Vec<Value>, folder: &str) -> EvalResult {
    let names = names(ev, call, args)?;
    Ok(first_existing(ev, &names, folder).map_or(Value::Undef, |path| path_value(&path)))
}

/// `module_directory(names...)`: the folder of the first module found, or undef.
pub(super) fn module_directory(
    ev: &mut Evaluator<'_>,
    call: &Call<'_>,
    args: Vec<Value>,
) -> EvalResult {
    let names = names(ev, call, args)?;
    Ok(names
        .iter()
        .find_map(|name| ev.loader.module_directory(name))
        .map_or(Value::Undef, |path| path_value(&path)))
}

/// Puppet's module path is absolute, and so are the paths it gives.
fn path_value(path: &Path) -> Value {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Value::String(path.display().to_string())
}
