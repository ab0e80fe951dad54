//! Log output of the verbs that talk to a broker: tracing events (connection lost and
//! regained, bad messages dropped) on stderr, warnings and worse unless `RUST_LOG` says
//! otherwise (`RUST_LOG=orchestrate=debug`); and the signal that stops the long-running verbs.

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

/// Returns when the process is asked to stop: Ctrl-C or SIGTERM.
pub async fn stop_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch for SIGTERM; Ctrl-C stops");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
