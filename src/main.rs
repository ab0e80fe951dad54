use std::io::IsTerminal;
use std::process::ExitCode;

use orchestrate::Error;

fn main() -> ExitCode {
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
