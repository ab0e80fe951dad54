//! `generate`: core Puppet's function that runs a command on the host that runs the
//! playbook.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::super::evaluator::{EvalResult, Evaluator};
use super::super::value::Value;
use super::Call;

/// `generate(command, args...)`: runs the command, in its own folder, on the host running
/// the playbook, and returns what it printed on stdout and stderr. As Puppet checks, the
/// command must be a fully qualified path of plain characters without `..`.
pub(super) fn generate(ev: &mut Evaluator<'_>, call: &Call<'_>, args: Vec<Value>) -> EvalResult {
    let words: Vec<String> = args.iter().map(Value::to_display_string).collect();
    let Some((command, arguments)) = words.split_first() else {
        return Err(ev.error(call.expr, "generate(): expects at least 1 argument"));
    };
    check_generator(command)
        .and_then(|()| run_generator(command, arguments))
        .map(Value::String)
        .map_err(|message| ev.error(call.expr, message))
}

fn check_generator(command: &str) -> Result<(), String> {
    if !command.starts_with('/') {
        return Err("Generators must be fully qualified".into());
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-/_.+".contains(c);
    if !command.chars().all(plain) {
        return Err(
            "Generators can only contain alphanumerics, file separators, and dashes".into(),
        );
    }
    if command.contains("..") {
        return Err("Can not use generators with '..' in them.".into());
    }
    Ok(())
}

/// Runs the command with stdout and stderr on one pipe, so that their lines interleave as
/// the command wrote them.
fn run_generator(command: &str, arguments: &[String]) -> Result<String, String> {
    let folder = Path::new(command).parent().unwrap_or(Path::new("/"));
    let failed = |detail: String| format!("Failed to execute generator {command}: {detail}");
    let (mut reader, writer) = std::io::pipe().map_err(|e| failed(e.to_string()))?;
    let stderr = writer.try_clone().map_err(|e| failed(e.to_string()))?;
    let mut child = Command::new(command)
        .args(arguments)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            // Puppet changes to the command's folder first, and says when that fails.
            if folder.is_dir() {
                failed(e.to_string())
            } else {
                format!(
                    "No such file or directory @ dir_chdir - {}",
                    folder.display()
                )
            }
        })?;
    let mut output = Vec::new();
    let read = reader.read_to_end(&mut output);
    let status = child.wait().map_err(|e| failed(e.to_string()))?;
    read.map_err(|e| failed(e.to_string()))?;
    let output = String::from_utf8_lossy(&output).into_owned();
    if status.success() {
        return Ok(output);
    }
    let code = status
        .code()
        .map_or_else(|| "a signal".to_string(), |c| c.to_string());
    let line = std::iter::once(command)
        .chain(arguments.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    Err(failed(format!(
        "Execution of '{line}' returned {code}: {}",
        output.trim_end()
    )))
}
