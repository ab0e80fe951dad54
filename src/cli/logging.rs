//! Log output of the verbs that talk to a broker: tracing events (connection lost and
//! regained, bad messages dropped) on stderr, warnings and worse unless `RUST_LOG` says
//! otherwise (`RUST_LOG=orchestrate=debug`).

use std::io::IsTerminal;

/// Installs the stderr logger once, at warnings and worse; later calls, and a logger installed
/// elsewhere first, are left alone.
pub fn init() {
    init_at("warn");
}

/// The same at another default level (the node daemon logs every request at info).
pub fn init_at(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}
