use std::io::IsTerminal;
use std::process::ExitCode;

use orchestrate::Error;

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = orchestrate::cli::parse();
    match orchestrate::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            ExitCode::from(err.exit_code() as u8)
        }
    }
}

/// An evaluation error is a diagnostic with the playbook's source; anything else one line.
fn report(err: &Error) {
    match err {
        Error::Evaluation(failure) => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            eprint!("{}", failure.diagnostic().render(color));
        }
        Error::Site(source) => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let text = source.render(color);
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
        }
        err if !err.is_reported() => eprintln!("error: {err}"),
        _ => {}
    }
}

/// `orchestrate rpc ... | head -1`: a reader that goes away ends the process quietly, as it
/// ends `cat` or `grep` (SIGPIPE's default), instead of a panic in `println!`. Rust starts
/// programs with SIGPIPE ignored.
fn quiet_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to its default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
