//! Functions of Puppet's core library that work on the catalog or the evaluator:
//! `call`, `tagged`, `create_resources`.

use super::{Call, EvalResult, Evaluator, Value};

/// `call(name, args...) |...| { }`: the function of that name, with the arguments and block.
pub(super) fn call(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let mut args = args.into_iter();
    let Some(Value::String(name)) = args.next() else {
        return Err(ev.error(
            call.expr,
            "'call' parameter 'function_name' expects a String value",
        ));
    };
    let name = name.trim_start_matches("::");
    ev.call_function(call.expr, name, args.collect(), call.lambda)
}

/// `tagged(tags...)`: whether every tag is one of the catalog's (the names of the classes
/// declared so far) or of the class or define whose body is running (its type, title, the
/// tags given to it and those of what contains it).
pub(super) fn tagged(ev: &mut Evaluator<'_>, _: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let mut tags: Vec<String> = ev
        .classes
        .keys()
        .flat_map(|name| {
            let mut parts = vec![name.clone()];
            if name.contains("::") {
                parts.extend(name.split("::").map(str::to_string));
            }
            parts
        })
        .collect();
    match ev.scopes.frame().container {
        Some(id) => {
            let resource = ev.catalog.get(id);
            tags.extend(ev.tags_of(resource));
            if resource.type_name == "class" {
                tags.push("class".into());
            } else if is_tag(&resource.title) {
                tags.push(resource.title.to_lowercase());
            }
        }
        // Main code is the body of the class `main`, whose only tags are `class` and those
        // `tag()` gave it.
        None => {
            tags.extend(ev.main_tags.iter().cloned());
            tags.push("class".into());
        }
    }
    let tagged = args.iter().all(|wanted| {
        let wanted = wanted.to_display_string().to_lowercase();
        tags.iter().any(|t| t.to_lowercase() == wanted)
    });
    Ok(Value::Bool(tagged))
}

/// Whether a text can be a tag, as Puppet tags a resource with its title only then.
fn is_tag(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || "_:.-".contains(c))
}

/// `create_resources(type, {title => attributes}, defaults)`: declares the resources as a
/// resource expression does. Like Puppet's, it returns nothing.
pub(super) fn create_resources(
    ev: &mut Evaluator<'_>,
    call: &Call<'_>,
    args: Vec<Value>,
) -> EvalResult {
    if !(2..=3).contains(&args.len()) {
        return Err(ev.error(
            call.expr,
            format!(
                "create_resources(): wrong number of arguments ({}; must be 2 or 3)",
                args.len()
            ),
        ));
    }
    let Value::Hash(instances) = &args[1] else {
        return Err(ev.error(
            call.expr,
            "create_resources(): second argument must be a hash",
        ));
    };
    let defaults = match args.get(2) {
        None | Some(Value::Undef) => super::ValueMap::new(),
        Some(Value::Hash(defaults)) => defaults.clone(),
        Some(_) => {
            return Err(ev.error(
                call.expr,
                "create_resources(): third argument, if provided, must be a hash",
            ))
        }
    };
    let type_spec = match &args[0] {
        Value::String(name) => name.clone(),
        Value::Type(t) => t.to_string(),
        other => other.to_display_string(),
    };
    ev.declare_from_values(call.expr, &type_spec, instances, &defaults)?;
    Ok(Value::Undef)
}
