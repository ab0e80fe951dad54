//! stdlib's `basename` and `dirname`: the parts of a path as Ruby's `File` splits them.

use super::{bad, FunctionError, Value};

/// `basename(path, suffix?)`: the last part of the path, without the suffix when it ends so.
pub(super) fn basename(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let path = path_argument("basename", args, 2, "first argument")?;
    let base = last_part(path);
    let base = match args.get(1) {
        None => base,
        Some(Value::String(suffix)) => strip_suffix(base, suffix),
        Some(_) => return Err(bad("basename(): Requires string as second argument")),
    };
    Ok(Value::string(base))
}

/// `dirname(path)`: all but the last part of the path; `.` when there is none.
pub(super) fn dirname(_: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let path = path_argument("dirname", args, 1, "argument")?;
    if path.is_empty() {
        return Err(bad("dirname(): Requires a non-empty string as argument"));
    }
    Ok(Value::string(parent(path)))
}

fn path_argument<'a>(
    name: &str,
    args: &'a [Value],
    most: usize,
    which: &str,
) -> Result<&'a str, FunctionError> {
    if args.is_empty() {
        return Err(bad(format!("{name}(): No arguments given")));
    }
    if args.len() > most {
        return Err(bad(format!(
            "{name}(): Too many arguments given ({})",
            args.len()
        )));
    }
    args[0]
        .as_str()
        .ok_or_else(|| bad(format!("{name}(): Requires string as {which}")))
}

/// Ruby's `File.basename`: trailing slashes dropped; `/` for a path of slashes.
fn last_part(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "" } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Ruby's suffix rule: `.*` strips any extension; a suffix equal to the whole name stays.
fn strip_suffix<'a>(base: &'a str, suffix: &str) -> &'a str {
    if suffix == ".*" {
        return match base.rfind('.') {
            Some(dot) if dot > 0 => &base[..dot],
            _ => base,
        };
    }
    match base.strip_suffix(suffix) {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => base,
    }
}

/// Ruby's `File.dirname`: slashes at the end and between the parts collapse.
fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        None => ".".into(),
        Some(slash) => {
            let dir = trimmed[..slash].trim_end_matches('/');
            if dir.is_empty() {
                "/".into()
            } else {
                dir.to_string()
            }
        }
    }
}
