//! A reply, `choria:reply:1`, and its encoding through every layer to the wire and back.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::encoding::{expect_protocol, from_base64, from_json, to_base64, to_json};
use super::secure::{open_reply, seal_reply, Seal, Signer};
use super::transport_layer::{unwrap, wrap, TransportHeaders};
use super::{statuscode, ProtocolError};

const REPLY: &str = "choria:reply:1";
const RPC_BODY: &str = "RPC reply body";

/// One reply as both ends see it. The body is kept as bytes: an RPC agent's body is an
/// [`RpcReplyBody`], but Choria's discovery agent answers with a bare `"pong"`, and discovery only
/// needs the envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub request_id: String,
    /// The identity of the node that answers.
    pub sender: String,
    pub agent: String,
    /// When the reply was made, Unix seconds.
    pub time: u64,
    pub body: Vec<u8>,
}

/// What an RPC action answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RpcReplyBody {
    pub statuscode: u8,
    #[serde(default)]
    pub statusmsg: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize)]
struct ReplyMessage {
    protocol: String,
    message: String,
    envelope: ReplyEnvelope,
}

#[derive(Debug, Serialize, Deserialize)]
struct ReplyEnvelope {
    requestid: String,
    senderid: String,
    agent: String,
    time: u64,
}

impl RpcReplyBody {
    pub fn ok(data: serde_json::Value) -> RpcReplyBody {
        RpcReplyBody {
            statuscode: statuscode::OK,
            statusmsg: "OK".to_string(),
            data,
        }
    }

    /// A failed action: a non-zero statuscode and why, with no data.
    pub fn fail(statuscode: u8, statusmsg: impl Into<String>) -> RpcReplyBody {
        RpcReplyBody {
            statuscode,
            statusmsg: statusmsg.into(),
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// What an agent answers for an action it does not have, in Choria's words.
    pub fn unknown_action(agent: &str, action: &str) -> RpcReplyBody {
        RpcReplyBody::fail(
            statuscode::UNKNOWN_ACTION,
            format!("Unknown action {action} for agent {agent}"),
        )
    }

    /// What a node answers, sent directly, for an agent it does not run.
    pub fn unknown_agent(agent: &str) -> RpcReplyBody {
        RpcReplyBody::fail(statuscode::UNKNOWN_ACTION, format!("Unknown agent {agent}"))
    }

    /// What an action answers when a required input is absent.
    pub fn missing_input(input: &str) -> RpcReplyBody {
        RpcReplyBody::fail(
            statuscode::MISSING_DATA,
            format!("Missing required input {input}"),
        )
    }
}

impl Reply {
    /// A reply carrying an RPC reply body.
    pub fn rpc(
        request_id: &str,
        sender: &str,
        agent: &str,
        time: u64,
        body: &RpcReplyBody,
    ) -> Result<Reply, ProtocolError> {
        Ok(Reply {
            request_id: request_id.to_string(),
            sender: sender.to_string(),
            agent: agent.to_string(),
            time,
            body: to_json(RPC_BODY, body)?.into_bytes(),
        })
    }

    /// The body read as an RPC reply body.
    pub fn rpc_body(&self) -> Result<RpcReplyBody, ProtocolError> {
        from_json(RPC_BODY, &self.body)
    }
}

/// The reply as wire bytes, hashed only (Choria's v1): transport( secure reply with hash(
/// reply( base64 body ) ) ).
pub fn encode_reply(reply: &Reply) -> Result<Bytes, ProtocolError> {
    encode_signed_reply(reply, None)
}

/// The reply as wire bytes, signed by the answering node's `signer` when there is one.
pub fn encode_signed_reply(
    reply: &Reply,
    signer: Option<&dyn Signer>,
) -> Result<Bytes, ProtocolError> {
    let message = ReplyMessage {
        protocol: REPLY.to_string(),
        message: to_base64(&reply.body),
        envelope: ReplyEnvelope {
            requestid: reply.request_id.clone(),
            senderid: reply.sender.clone(),
            agent: reply.agent.clone(),
            time: reply.time,
        },
    };
    let secure = seal_reply(to_json(REPLY, &message)?, signer)?;
    let headers = TransportHeaders {
        reply_to: None,
        mc_sender: reply.sender.clone(),
        seen_by: Vec::new(),
    };
    Ok(Bytes::from(wrap(&secure, headers)?))
}

/// Reads a reply from wire bytes; fails when any layer is malformed or the hash does not match.
pub fn decode_reply(bytes: &[u8]) -> Result<Reply, ProtocolError> {
    decode_sealed_reply(bytes).map(|(reply, _)| reply)
}

/// [`decode_reply`], with the secure layer's signature (empty when the node only hashed) and
/// the exact signed text, for the client to verify.
pub fn decode_sealed_reply(bytes: &[u8]) -> Result<(Reply, Seal), ProtocolError> {
    let (secure, _headers) = unwrap(bytes)?;
    let seal = open_reply(&secure)?;
    let message: ReplyMessage = from_json(REPLY, seal.message.as_bytes())?;
    expect_protocol(REPLY, &message.protocol)?;
    let body = from_base64(REPLY, &message.message)?;
    let reply = Reply {
        request_id: message.envelope.requestid,
        sender: message.envelope.senderid,
        agent: message.envelope.agent,
        time: message.envelope.time,
        body,
    };
    Ok((reply, seal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    fn sample() -> Reply {
        let body = RpcReplyBody {
            statuscode: statuscode::ABORTED,
            statusmsg: "Could not upgrade: disk full on /srv".into(),
            data: json!({"revision": 20}),
        };
        Reply::rpc(
            "0123456789abcdef0123456789abcdef",
            "web1.example.net",
            "appmgr",
            1_700_000_000,
            &body,
        )
        .unwrap()
    }

    #[test]
    fn round_trip() {
        let reply = sample();
        let decoded = decode_reply(&encode_reply(&reply).unwrap()).unwrap();
        assert_eq!(decoded, reply);
        assert_eq!(decoded.rpc_body().unwrap().statuscode, statuscode::ABORTED);
    }

    /// A reply written by hand the way a Choria node writes it.
    #[test]
    fn decodes_a_hand_written_reply() {
        let body = to_base64(br#"{"statuscode":0,"statusmsg":"OK","data":{"pong":1700000000}}"#);
        let reply = json!({
            "protocol": "choria:reply:1",
            "message": body,
            "envelope": {"requestid": "ffffffffffffffffffffffffffffffff",
                         "senderid": "web1.example.net", "agent": "rpcutil", "time": 1_700_000_000u64}
        })
        .to_string();
        let hash = to_base64(Sha256::digest(reply.as_bytes()).as_slice());
        let secure = json!({"protocol": "choria:secure:reply:1", "message": reply, "hash": hash});
        let transport = json!({
            "protocol": "choria:transport:1",
            "data": to_base64(secure.to_string().as_bytes()),
            "headers": {"mc_sender": "web1.example.net"}
        });
        let decoded = decode_reply(transport.to_string().as_bytes()).unwrap();
        assert_eq!(decoded.sender, "web1.example.net");
        assert_eq!(
            decoded.rpc_body().unwrap().data,
            json!({"pong": 1_700_000_000u64})
        );
    }

    #[test]
    fn a_bare_pong_body_decodes_but_is_no_rpc_body() {
        let reply = Reply {
            body: b"\"pong\"".to_vec(),
            ..sample()
        };
        let decoded = decode_reply(&encode_reply(&reply).unwrap()).unwrap();
        assert_eq!(decoded.body, b"\"pong\"");
        assert!(decoded.rpc_body().is_err());
    }

    #[test]
    fn a_reply_whose_message_was_changed_is_rejected() {
        let wire = encode_reply(&sample()).unwrap();
        let transport: serde_json::Value = serde_json::from_slice(&wire).unwrap();
        let secure_bytes = from_base64("t", transport["data"].as_str().unwrap()).unwrap();
        let mut secure: serde_json::Value = serde_json::from_slice(&secure_bytes).unwrap();
        let forged = secure["message"].as_str().unwrap().replace("web1", "web2");
        secure["message"] = json!(forged);
        let forged_wire = json!({
            "protocol": "choria:transport:1",
            "data": to_base64(secure.to_string().as_bytes()),
            "headers": {"mc_sender": "web2.example.net"}
        });
        assert!(matches!(
            decode_reply(forged_wire.to_string().as_bytes()),
            Err(ProtocolError::HashMismatch)
        ));
    }
}
