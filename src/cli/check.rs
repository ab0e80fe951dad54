//! `orchestrate check PATH...`: parse files and folders (recursing into `*.pp`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::lang::ast::Span;
use crate::lang::diagnostic::FileDiagnostic;
use crate::lang::{Dialect, SyntaxError};
use crate::Error;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files and folders to check; folders are searched for `*.pp` files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How to print problems.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also print the syntax tree of each file that parses, as an S-expression with byte spans.
    #[arg(long, conflicts_with = "format")]
    pub ast: bool,
    /// Read every file as plans, as `puppet parser validate --tasks` does. Without it, the
    /// files of a `plans/` folder are read as plans and the others as manifests, as Puppet
    /// loads them.
    #[arg(long)]
    pub tasks: bool,
}

impl CheckArgs {
    fn dialect(&self, path: &Path) -> Dialect {
        match self.tasks {
            true => Dialect::Tasks,
            false => Dialect::of(path),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics with the source and a hint, on stderr.
    Human,
    /// One JSON object per problem on stdout: file, line, column, message.
    Json,
}

pub fn run(args: CheckArgs) -> Result<(), Error> {
    let files = manifests(&args.paths)?;
    if args.ast {
        print_trees(&args, &files)?;
    }
    let results = check_all(&args, &files);
    let mut failed = 0;
    let color = args.format == Format::Human
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut internal = None;
    for result in results {
        let diagnostics = match result {
            Err(err @ Error::Internal { .. }) => {
                eprintln!("error: {err}");
                internal = Some(err);
                failed += 1;
                continue;
            }
            other => other?,
        };
        if diagnostics.is_empty() {
            continue;
        }
        failed += 1;
        for diagnostic in diagnostics {
            match args.format {
                Format::Human => eprint!("{}", diagnostic.render(color)),
                Format::Json => {
                    serde_json::to_writer(&mut out, &diagnostic.json())
                        .map_err(std::io::Error::from)?;
                    writeln!(out)?;
                }
            }
        }
    }
    if args.format == Format::Human {
        let ok = files.len() - failed;
        eprintln!(
            "checked {} file(s): {ok} ok, {failed} with problems",
            files.len()
        );
    }
    if let Some(err) = internal {
        return Err(err);
    }
    match failed {
        0 => Ok(()),
        files => Err(Error::CheckFailed { files }),
    }
}

fn print_trees(args: &CheckArgs, files: &[PathBuf]) -> Result<(), Error> {
    for file in files {
        let bytes = std::fs::read(file).map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
        // A file that is not UTF-8, or that does not parse, has its diagnostic printed by the
        // check itself; a parser panic is reported there too.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let tree = std::panic::catch_unwind(|| {
            crate::lang::check(&text, args.dialect(file))
                .ok()
                .map(|p| crate::lang::sexpr::dump(&p))
        });
        if let Ok(Some(tree)) = tree {
            println!("# {}\n{tree}", file.display());
        }
    }
    Ok(())
}

/// The `.pp` files named or found below the paths, in a stable order.
fn manifests(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|_| Error::PathNotFound { path: path.clone() })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            collect_pp(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_pp(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect_pp(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "pp") {
            found.push(path);
        }
    }
    Ok(())
}

type FileResult = Result<Vec<FileDiagnostic>, Error>;

/// Problems shown per file.
const MOST_PROBLEMS_SHOWN: usize = 50;

/// Checks the files on every core, returning the results in the files' order.
fn check_all(args: &CheckArgs, files: &[PathBuf]) -> Vec<FileResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, FileResult)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                std::thread::Builder::new()
                    // Room to drop the deepest tree the parser builds (the parse and its
                    // checks size their own stack).
                    .stack_size(16 << 20)
                    .spawn_scoped(scope, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(file) = files.get(i) else { break };
                            done.push((i, check_file_safely(file, args.dialect(file))));
                        }
                        done
                    })
                    .expect("spawning a checker thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a checker thread panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// A bug in the parser must not take the other files' results down with it: a panic becomes
/// an internal error reported against the file.
fn check_file_safely(path: &Path, dialect: Dialect) -> FileResult {
    std::panic::catch_unwind(|| check_file(path, dialect)).unwrap_or_else(|_| {
        Err(Error::Internal {
            path: path.to_path_buf(),
        })
    })
}

fn check_file(path: &Path, dialect: Dialect) -> FileResult {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.display().to_string();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let error = SyntaxError::new(
                "the file is not valid UTF-8",
                Span::new(valid, valid + 1),
                "invalid byte",
            )
            .with_help("Puppet manifests must be UTF-8 encoded");
            return Ok(vec![FileDiagnostic::new(&name, Arc::new(text), &error)]);
        }
    };
    let problems = match crate::lang::check(&text, dialect) {
        Ok(_) => return Ok(Vec::new()),
        Err(problems) => problems,
    };
    let text = Arc::new(text);
    let mut shown: Vec<FileDiagnostic> = problems
        .iter()
        .take(MOST_PROBLEMS_SHOWN)
        .map(|p| FileDiagnostic::new(&name, Arc::clone(&text), p))
        .collect();
    if let Some(first_hidden) = problems.get(MOST_PROBLEMS_SHOWN) {
        // Like Puppet, give up on a file after enough problems: the rest are usually echoes.
        let more = problems.len() - MOST_PROBLEMS_SHOWN;
        let summary = SyntaxError::new(
            format!("{more} more problem(s) in this file not shown"),
            first_hidden.span,
            "the next one",
        );
        shown.push(FileDiagnostic::new(&name, text, &summary));
    }
    Ok(shown)
}
