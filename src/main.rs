use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = <orchestrate::cli::Cli as clap::Parser>::parse();
    match orchestrate::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.is_reported() {
                eprintln!("error: {err}");
            }
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
