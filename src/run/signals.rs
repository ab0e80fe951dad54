//! The signals that ask a run to stop: Ctrl-C (SIGINT) and SIGTERM, the signal service managers
//! and `kill` send. Every long-running verb and the scheduler listen here, so they all stop the
//! same way: at a safe point.

/// Returns when the process is asked to stop.
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
