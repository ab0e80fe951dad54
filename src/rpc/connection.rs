//! The broker connection as a request sees it. While the connection is down nothing leaves
//! and nothing comes back, so waiting out a request's timeout would only report every node as
//! silent. A connection that comes back within the client's grace (a broker restarted, a
//! failover) lets the request go on; one that does not fails it at once with
//! [`RpcError::Unreachable`], which names the broker.

use std::future::Future;

use super::{RpcClient, RpcError};

impl RpcClient {
    /// Runs `work` (one request: publish, collect), unless the connection is down for longer
    /// than the grace first. An answer gathered while the connection is down is no answer
    /// (the nodes could not be heard), so `work` ending then waits for the connection too.
    pub(super) async fn while_connected<T>(
        &self,
        work: impl Future<Output = Result<T, RpcError>>,
    ) -> Result<T, RpcError> {
        let result = tokio::select! {
            // A result already there is taken, even if the connection has just gone.
            biased;
            result = work => result,
            lost = self.lost() => Err(lost),
        }?;
        self.connected_within_grace().await?;
        Ok(result)
    }

    /// Returns (the error) once the connection has been down for the grace without coming
    /// back; never while it stays up or keeps coming back in time.
    async fn lost(&self) -> RpcError {
        let link = self.transport.link();
        loop {
            let since = link.disconnected().await;
            if !link
                .connected_by(since + self.options.reconnect_grace)
                .await
            {
                return self.unreachable();
            }
        }
    }

    /// Ok at once when connected; when not, once the connection is back, or the error when
    /// the grace (counted from its loss) ends first.
    async fn connected_within_grace(&self) -> Result<(), RpcError> {
        let link = self.transport.link();
        match link.state().down_since {
            None => Ok(()),
            Some(since)
                if link
                    .connected_by(since + self.options.reconnect_grace)
                    .await =>
            {
                Ok(())
            }
            Some(_) => Err(self.unreachable()),
        }
    }

    /// How many times the connection was lost so far: a request that saw it change may have
    /// missed replies.
    pub(super) fn connection_losses(&self) -> u64 {
        self.transport.link().state().losses
    }

    fn unreachable(&self) -> RpcError {
        RpcError::Unreachable {
            broker: self.transport.broker(),
            grace: self.options.reconnect_grace,
        }
    }
}
