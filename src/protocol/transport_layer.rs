//! The outermost layer, `choria:transport:1`: the secure message as base64 plus the headers the
//! broker network needs (where to reply, who sent it, which brokers it crossed).

use serde::{Deserialize, Serialize};

use super::encoding::{expect_protocol, from_base64, from_json, to_base64, to_json};
use super::ProtocolError;

pub(crate) const TRANSPORT: &str = "choria:transport:1";

#[derive(Debug, Serialize, Deserialize)]
struct TransportMessage {
    protocol: String,
    data: String,
    headers: TransportHeaders,
}

/// Choria's transport headers. `seen-by` lists `[broker, node]` hops when federation relays a
/// message; nothing here relays, so it is written empty and read leniently.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct TransportHeaders {
    #[serde(rename = "reply-to", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub mc_sender: String,
    #[serde(rename = "seen-by", default)]
    pub seen_by: Vec<serde_json::Value>,
}

/// Wraps a secure message (request or reply JSON) for the wire.
pub(crate) fn wrap(secure_json: &str, headers: TransportHeaders) -> Result<Vec<u8>, ProtocolError> {
    let message = TransportMessage {
        protocol: TRANSPORT.to_string(),
        data: to_base64(secure_json.as_bytes()),
        headers,
    };
    Ok(to_json(TRANSPORT, &message)?.into_bytes())
}

/// Unwraps the wire bytes into the secure message bytes and the headers.
pub(crate) fn unwrap(bytes: &[u8]) -> Result<(Vec<u8>, TransportHeaders), ProtocolError> {
    let message: TransportMessage = from_json(TRANSPORT, bytes)?;
    expect_protocol(TRANSPORT, &message.protocol)?;
    let secure = from_base64(TRANSPORT, &message.data)?;
    Ok((secure, message.headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_data_and_headers() {
        let headers = TransportHeaders {
            reply_to: Some("mcollective.reply.me.1".into()),
            mc_sender: "me".into(),
            seen_by: vec![],
        };
        let wire = wrap(r#"{"x":1}"#, headers).unwrap();
        let text = String::from_utf8(wire.clone()).unwrap();
        assert!(text.contains(r#""protocol":"choria:transport:1""#));
        assert!(text.contains(r#""reply-to":"mcollective.reply.me.1""#));
        assert!(text.contains(r#""seen-by":[]"#));
        let (secure, headers) = unwrap(&wire).unwrap();
        assert_eq!(secure, br#"{"x":1}"#);
        assert_eq!(headers.reply_to.as_deref(), Some("mcollective.reply.me.1"));
        assert_eq!(headers.mc_sender, "me");
    }

    #[test]
    fn rejects_another_protocol() {
        let wire = br#"{"protocol":"choria:transport:2","data":"","headers":{}}"#;
        assert!(matches!(
            unwrap(wire),
            Err(ProtocolError::WrongProtocol { .. })
        ));
    }
}
