//! The checks a request passes before any node looks at it: right collective, not expired, not
//! from the future. Done once per message, however many simulated nodes then consider it.

use crate::protocol::Request;
use crate::security::DEFAULT_MAX_CLOCK_SKEW;

/// How far ahead of this host's clock a request's `time` may be, unless `security.max_clock_skew`
/// says otherwise: callers' clocks drift.
pub const ALLOWED_CLOCK_SKEW_SECS: u64 = DEFAULT_MAX_CLOCK_SKEW.as_secs();

/// Why a request is refused without a reply.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("request {id} is for collective {found:?}, this node serves {expected:?}")]
    WrongCollective {
        id: String,
        found: String,
        expected: String,
    },
    #[error("request {id} expired: made at {time}, ttl {ttl} s, now {now}")]
    Expired {
        id: String,
        time: u64,
        ttl: u64,
        now: u64,
    },
    #[error("request {id} is from the future: made at {time}, now {now}")]
    FromTheFuture { id: String, time: u64, now: u64 },
}

/// Whether a node of `collective` may act on `request` at Unix time `now`, its clock and the
/// caller's at most `skew` seconds apart.
pub fn check_request(
    request: &Request,
    collective: &str,
    now: u64,
    skew: u64,
) -> Result<(), Rejection> {
    if request.collective != collective {
        return Err(Rejection::WrongCollective {
            id: request.id.clone(),
            found: request.collective.clone(),
            expected: collective.to_string(),
        });
    }
    if now.saturating_sub(request.time) > request.ttl {
        return Err(Rejection::Expired {
            id: request.id.clone(),
            time: request.time,
            ttl: request.ttl,
            now,
        });
    }
    if request.time.saturating_sub(now) > skew {
        return Err(Rejection::FromTheFuture {
            id: request.id.clone(),
            time: request.time,
            now,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Filter;

    fn request(time: u64, ttl: u64) -> Request {
        Request {
            id: "1".into(),
            sender: "s".into(),
            caller: "c".into(),
            collective: "mcollective".into(),
            agent: "rpcutil".into(),
            action: "ping".into(),
            data: serde_json::json!({}),
            ttl,
            time,
            filter: Filter::default(),
            reply_to: "r".into(),
            sensitive_inputs: Vec::new(),
        }
    }

    #[test]
    fn accepts_within_ttl_and_small_skew() {
        assert_eq!(
            check_request(
                &request(1000, 60),
                "mcollective",
                1000,
                ALLOWED_CLOCK_SKEW_SECS
            ),
            Ok(())
        );
        assert_eq!(
            check_request(
                &request(1000, 60),
                "mcollective",
                1060,
                ALLOWED_CLOCK_SKEW_SECS
            ),
            Ok(())
        );
        assert_eq!(
            check_request(
                &request(1020, 60),
                "mcollective",
                1000,
                ALLOWED_CLOCK_SKEW_SECS
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_expired_future_and_foreign_requests() {
        assert!(matches!(
            check_request(
                &request(1000, 60),
                "mcollective",
                1061,
                ALLOWED_CLOCK_SKEW_SECS
            ),
            Err(Rejection::Expired { .. })
        ));
        assert!(matches!(
            check_request(
                &request(1100, 60),
                "mcollective",
                1000,
                ALLOWED_CLOCK_SKEW_SECS
            ),
            Err(Rejection::FromTheFuture { .. })
        ));
        assert!(matches!(
            check_request(&request(1000, 60), "other", 1000, ALLOWED_CLOCK_SKEW_SECS),
            Err(Rejection::WrongCollective { .. })
        ));
    }
}
