//! Reading the replies to one request off its reply subscription: undecodable, tampered,
//! unsigned (with security on), forged and stray replies are logged and skipped here, so
//! callers only see genuine replies to their request: a bad reply counts as no reply.

use tokio::time::Instant;

use super::RpcError;
use crate::protocol::{decode_sealed_reply, unix_now, Reply};
use crate::security::ClientSecurity;
use crate::transport::Subscription;

/// What waiting for the next reply gave.
pub(crate) enum Next {
    Reply(Reply),
    /// `until` passed.
    TimedOut,
}

/// The next valid reply to `request_id`, unless `until` passes first.
pub(crate) async fn next_reply(
    subscription: &mut Subscription,
    request_id: &str,
    until: Instant,
    security: Option<&ClientSecurity>,
) -> Result<Next, RpcError> {
    loop {
        let message = match tokio::time::timeout_at(until, subscription.next()).await {
            Err(_) => return Ok(Next::TimedOut),
            Ok(None) => {
                return Err(RpcError::Closed {
                    request_id: request_id.to_string(),
                })
            }
            Ok(Some(message)) => message,
        };
        match decode_sealed_reply(&message.payload) {
            Ok((reply, seal)) if reply.request_id == request_id => {
                let verified = security.map_or(Ok(()), |security| {
                    security.verify_reply(&reply, &seal, unix_now())
                });
                match verified {
                    Ok(()) => return Ok(Next::Reply(reply)),
                    Err(refusal) => tracing::warn!(
                        request = %request_id, sender = ?reply.sender, %refusal,
                        "dropping a reply that fails its check"
                    ),
                }
            }
            Ok((reply, _)) => tracing::warn!(
                request = %request_id, other = %reply.request_id, sender = %reply.sender,
                "dropping a reply to another request"
            ),
            Err(error) => tracing::warn!(
                request = %request_id, subject = %message.subject, %error,
                "dropping a reply that does not decode"
            ),
        }
    }
}
