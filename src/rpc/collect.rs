//! Reading the replies to one request off its reply subscription: undecodable, tampered,
//! unsigned (with security on), forged and stray replies are logged and skipped here, so
//! callers only see genuine replies to their request: a bad reply counts as no reply.
//!
//! Checking a signed reply costs a signature (and, the first time, the node's certificate
//! chain): about 150 µs of one core. At thousands of nodes replies arrive faster than one core
//! checks them, so the reader takes every reply that has piled up at once and checks a large
//! batch on all cores.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::time::Instant;

use super::RpcError;
use crate::protocol::{decode_sealed_reply, unix_now, Reply};
use crate::security::ClientSecurity;
use crate::transport::{Message, Subscription};

/// What waiting for the next reply gave.
pub(crate) enum Next {
    Reply(Reply),
    /// `until` passed.
    TimedOut,
}

/// Most messages taken off the subscription in one go: bounds the memory of one batch and
/// how long the first reply of a batch waits for the last one's check.
const MOST_IN_A_BATCH: usize = 2048;

/// Fewest signed replies worth handing to other threads: below it, checking them here is
/// quicker than the hand-over.
const FEWEST_TO_SHARE: usize = 64;

/// The valid replies to one request, as they arrive.
pub(crate) struct Replies {
    subscription: Subscription,
    request_id: Arc<str>,
    security: Option<Arc<ClientSecurity>>,
    /// Checked replies not yet handed out.
    ready: VecDeque<Reply>,
}

impl Replies {
    pub(crate) fn new(
        subscription: Subscription,
        request_id: &str,
        security: Option<Arc<ClientSecurity>>,
    ) -> Replies {
        Replies {
            subscription,
            request_id: request_id.into(),
            security,
            ready: VecDeque::new(),
        }
    }

    /// The next valid reply, unless `until` passes first.
    pub(crate) async fn next(&mut self, until: Instant) -> Result<Next, RpcError> {
        loop {
            if let Some(reply) = self.ready.pop_front() {
                return Ok(Next::Reply(reply));
            }
            let first = match tokio::time::timeout_at(until, self.subscription.next()).await {
                Err(_) => return Ok(Next::TimedOut),
                Ok(None) => {
                    return Err(RpcError::Closed {
                        request_id: self.request_id.to_string(),
                    })
                }
                Ok(Some(message)) => message,
            };
            let mut batch = vec![first];
            while batch.len() < MOST_IN_A_BATCH {
                match self.subscription.try_next() {
                    Some(message) => batch.push(message),
                    None => break,
                }
            }
            let checked = self.check(batch).await;
            self.ready.extend(checked);
        }
    }

    /// The valid replies of `batch`, in order; a large signed batch is checked on all cores.
    async fn check(&self, batch: Vec<Message>) -> Vec<Reply> {
        let Some(security) = self.security.clone() else {
            return valid_replies(&batch, &self.request_id, None);
        };
        let request_id = self.request_id.clone();
        crate::cores::in_shares(batch, FEWEST_TO_SHARE, move |part| {
            valid_replies(part, &request_id, Some(&security))
        })
        .await
    }
}

/// The messages of `batch` that are genuine replies to `request_id`; the rest logged.
fn valid_replies(
    batch: &[Message],
    request_id: &str,
    security: Option<&ClientSecurity>,
) -> Vec<Reply> {
    let now = unix_now();
    batch
        .iter()
        .filter_map(|message| valid_reply(message, request_id, security, now))
        .collect()
}

fn valid_reply(
    message: &Message,
    request_id: &str,
    security: Option<&ClientSecurity>,
    now: u64,
) -> Option<Reply> {
    match decode_sealed_reply(&message.payload) {
        Ok((reply, seal)) if reply.request_id == request_id => {
            let verified =
                security.map_or(Ok(()), |security| security.verify_reply(&reply, &seal, now));
            match verified {
                Ok(()) => return Some(reply),
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
    None
}
