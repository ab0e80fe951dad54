//! A request, `choria:request:1`, and its encoding through every layer to the wire and back.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::encoding::{expect_protocol, from_base64, from_json, to_base64, to_json};
use super::filter::Filter;
use super::secure::{open_request, seal_request, Seal, Signer};
use super::transport_layer::{unwrap, wrap, TransportHeaders};
use super::ProtocolError;

const REQUEST: &str = "choria:request:1";
const RPC_BODY: &str = "RPC request body";

/// One RPC request as both ends see it, every layer flattened.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// 32 hex characters, see [`super::new_request_id`].
    pub id: String,
    /// The host the request comes from (envelope `senderid`, transport `mc_sender`).
    pub sender: String,
    /// Who asks, `choria=<user>.mcollective`.
    pub caller: String,
    pub collective: String,
    pub agent: String,
    pub action: String,
    /// The action's inputs.
    pub data: serde_json::Value,
    /// Seconds after `time` during which a node still acts on the request.
    pub ttl: u64,
    /// When the request was made, Unix seconds.
    pub time: u64,
    pub filter: Filter,
    /// The subject replies go to (transport header `reply-to`).
    pub reply_to: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct RequestMessage {
    protocol: String,
    message: String,
    envelope: RequestEnvelope,
}

#[derive(Debug, Serialize, Deserialize)]
struct RequestEnvelope {
    requestid: String,
    senderid: String,
    callerid: String,
    collective: String,
    agent: String,
    ttl: u64,
    time: u64,
    #[serde(default)]
    filter: Filter,
}

#[derive(Debug, Serialize, Deserialize)]
struct RpcRequestBody {
    agent: String,
    action: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// The request as wire bytes, unsigned: transport( secure( request( base64 body ) ) ).
pub fn encode_request(request: &Request) -> Result<Bytes, ProtocolError> {
    encode_signed_request(request, None)
}

/// The request as wire bytes, signed by `signer` when there is one.
pub fn encode_signed_request(
    request: &Request,
    signer: Option<&dyn Signer>,
) -> Result<Bytes, ProtocolError> {
    let body = RpcRequestBody {
        agent: request.agent.clone(),
        action: request.action.clone(),
        data: request.data.clone(),
    };
    let message = RequestMessage {
        protocol: REQUEST.to_string(),
        message: to_base64(to_json(RPC_BODY, &body)?.as_bytes()),
        envelope: envelope_of(request),
    };
    let secure = seal_request(to_json(REQUEST, &message)?, signer)?;
    let headers = TransportHeaders {
        reply_to: Some(request.reply_to.clone()),
        mc_sender: request.sender.clone(),
        seen_by: Vec::new(),
    };
    Ok(Bytes::from(wrap(&secure, headers)?))
}

/// Reads a request from wire bytes, checking every layer's protocol name and that the body and
/// the envelope name the same agent.
pub fn decode_request(bytes: &[u8]) -> Result<Request, ProtocolError> {
    decode_sealed_request(bytes).map(|(request, _)| request)
}

/// [`decode_request`], with the secure layer's signature and the exact signed text, for a
/// node to verify: the request returned is read from that very text.
pub fn decode_sealed_request(bytes: &[u8]) -> Result<(Request, Seal), ProtocolError> {
    let (secure, headers) = unwrap(bytes)?;
    let seal = open_request(&secure)?;
    let message: RequestMessage = from_json(REQUEST, seal.message.as_bytes())?;
    expect_protocol(REQUEST, &message.protocol)?;
    let body: RpcRequestBody = from_json(RPC_BODY, &from_base64(REQUEST, &message.message)?)?;
    let envelope = message.envelope;
    if body.agent != envelope.agent {
        return Err(invalid(format!(
            "the body is for agent {:?} but the envelope for {:?}",
            body.agent, envelope.agent
        )));
    }
    if envelope.requestid.is_empty() {
        return Err(invalid("the envelope has no requestid".into()));
    }
    let reply_to = headers
        .reply_to
        .filter(|subject| !subject.is_empty())
        .ok_or_else(|| invalid("the transport headers have no reply-to".into()))?;
    let request = Request {
        id: envelope.requestid,
        sender: envelope.senderid,
        caller: envelope.callerid,
        collective: envelope.collective,
        agent: envelope.agent,
        action: body.action,
        data: body.data,
        ttl: envelope.ttl,
        time: envelope.time,
        filter: envelope.filter,
        reply_to,
    };
    Ok((request, seal))
}

fn envelope_of(request: &Request) -> RequestEnvelope {
    RequestEnvelope {
        requestid: request.id.clone(),
        senderid: request.sender.clone(),
        callerid: request.caller.clone(),
        collective: request.collective.clone(),
        agent: request.agent.clone(),
        ttl: request.ttl,
        time: request.time,
        filter: request.filter.clone(),
    }
}

fn invalid(reason: String) -> ProtocolError {
    ProtocolError::Invalid {
        layer: REQUEST,
        reason,
    }
}

#[cfg(test)]
impl Request {
    /// A request as the orchestrator `orch` sends it for `choria=rip.mcollective`, with a fixed
    /// id, for the node side's tests.
    pub fn example(agent: &str, action: &str, data: serde_json::Value, filter: Filter) -> Request {
        let id = "0123456789abcdef0123456789abcdef";
        Request {
            id: id.into(),
            sender: "orch".into(),
            caller: "choria=rip.mcollective".into(),
            collective: "mcollective".into(),
            agent: agent.into(),
            action: action.into(),
            data,
            ttl: 60,
            time: super::unix_now(),
            filter,
            reply_to: super::reply_subject("mcollective", "orch", id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::encoding::to_base64;
    use crate::protocol::FactFilter;
    use serde_json::json;

    fn sample() -> Request {
        Request {
            id: "0123456789abcdef0123456789abcdef".into(),
            sender: "orch.example.net".into(),
            caller: "choria=rip.mcollective".into(),
            collective: "mcollective".into(),
            agent: "appmgr".into(),
            action: "upgrade".into(),
            data: json!({"revision": 20}),
            ttl: 60,
            time: 1_700_000_000,
            filter: Filter {
                fact: vec![FactFilter::parse("cluster=bravo").unwrap()],
                agent: vec!["appmgr".into()],
                ..Filter::default()
            },
            reply_to: "mcollective.reply.orch.example.net.0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn round_trip() {
        let request = sample();
        let wire = encode_request(&request).unwrap();
        assert_eq!(decode_request(&wire).unwrap(), request);
    }

    #[test]
    fn every_layer_has_choria_shape() {
        let wire = encode_request(&sample()).unwrap();
        let transport: serde_json::Value = serde_json::from_slice(&wire).unwrap();
        assert_eq!(transport["protocol"], "choria:transport:1");
        assert_eq!(transport["headers"]["mc_sender"], "orch.example.net");
        let secure: serde_json::Value =
            serde_json::from_slice(&from_base64("t", transport["data"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(secure["protocol"], "choria:secure:request:1");
        assert_eq!(secure["signature"], "");
        let request: serde_json::Value =
            serde_json::from_str(secure["message"].as_str().unwrap()).unwrap();
        assert_eq!(request["protocol"], "choria:request:1");
        let envelope = &request["envelope"];
        for key in [
            "requestid",
            "senderid",
            "callerid",
            "collective",
            "agent",
            "ttl",
            "time",
        ] {
            assert!(envelope.get(key).is_some(), "envelope lacks {key}");
        }
        assert_eq!(envelope["filter"]["fact"][0]["operator"], "==");
        let body: serde_json::Value = serde_json::from_slice(
            &from_base64("b", request["message"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({"agent":"appmgr","action":"upgrade","data":{"revision":20}})
        );
    }

    /// A request written by hand in the shapes of the reference, as another Choria client
    /// would send it.
    #[test]
    fn decodes_a_hand_written_request() {
        let body = to_base64(br#"{"agent":"rpcutil","action":"ping","data":{}}"#);
        let request = json!({
            "protocol": "choria:request:1",
            "message": body,
            "envelope": {
                "requestid": "ffffffffffffffffffffffffffffffff",
                "senderid": "client.example.net",
                "callerid": "choria=rip.mcollective",
                "collective": "mcollective",
                "agent": "rpcutil",
                "ttl": 60,
                "time": 1_700_000_000u64,
                "filter": {"fact": [], "cf_class": ["haproxy"], "agent": ["rpcutil"],
                           "identity": [], "compound": []}
            }
        });
        let secure = json!({
            "protocol": "choria:secure:request:1",
            "message": request.to_string(),
            "signature": "c2lnbmF0dXJl",
            "pubcert": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"
        });
        let transport = json!({
            "protocol": "choria:transport:1",
            "data": to_base64(secure.to_string().as_bytes()),
            "headers": {"reply-to": "mcollective.reply.client.example.net.ffffffffffffffffffffffffffffffff",
                        "mc_sender": "client.example.net", "seen-by": [["nats://b1:4222", "b1"]]}
        });
        let decoded = decode_request(transport.to_string().as_bytes()).unwrap();
        assert_eq!(decoded.agent, "rpcutil");
        assert_eq!(decoded.action, "ping");
        assert_eq!(decoded.caller, "choria=rip.mcollective");
        assert_eq!(decoded.filter.cf_class, vec!["haproxy"]);
        assert_eq!(decoded.ttl, 60);
        assert!(decoded
            .reply_to
            .ends_with("ffffffffffffffffffffffffffffffff"));
    }

    #[test]
    fn rejects_a_body_for_another_agent() {
        let forged = forge_envelope_agent(&sample(), "nrpe");
        assert!(matches!(
            decode_request(&forged),
            Err(ProtocolError::Invalid { .. })
        ));
    }

    fn forge_envelope_agent(request: &Request, agent: &str) -> Vec<u8> {
        let body = RpcRequestBody {
            agent: request.agent.clone(),
            action: request.action.clone(),
            data: request.data.clone(),
        };
        let mut envelope = envelope_of(request);
        envelope.agent = agent.into();
        let message = RequestMessage {
            protocol: REQUEST.into(),
            message: to_base64(serde_json::to_string(&body).unwrap().as_bytes()),
            envelope,
        };
        let secure = seal_request(serde_json::to_string(&message).unwrap(), None).unwrap();
        let headers = TransportHeaders {
            reply_to: Some("r".into()),
            ..TransportHeaders::default()
        };
        wrap(&secure, headers).unwrap()
    }

    #[test]
    fn rejects_a_request_without_reply_to() {
        let wire = encode_request(&sample()).unwrap();
        let mut transport: serde_json::Value = serde_json::from_slice(&wire).unwrap();
        transport["headers"]
            .as_object_mut()
            .unwrap()
            .remove("reply-to");
        assert!(decode_request(transport.to_string().as_bytes()).is_err());
    }
}
