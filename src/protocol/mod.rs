//! Choria's MCollective protocol version 1: the JSON layers a request and a reply travel in.
//!
//! A request, outermost first: transport (`choria:transport:1`, with the reply subject and the
//! sender in its headers) → secure request (`choria:secure:request:1`, signature and certificate)
//! → request (`choria:request:1`, the envelope saying who asks what of whom) → the RPC body
//! (`{"agent","action","data"}`). A reply: transport → secure reply (`choria:secure:reply:1`,
//! hashed with SHA-256) → reply (`choria:reply:1`) → the RPC reply body
//! (`{"statuscode","statusmsg","data"}`). Every JSON-in-JSON layer carries the inner one as a
//! string, and the transport and message bodies as base64, exactly as Choria does, so a Choria
//! node or client could read what this crate writes.

pub mod compound;
mod encoding;
mod error;
mod filter;
mod reply;
mod request;
mod request_id;
mod secure;
mod sensitive;
pub mod statuscode;
mod subject;
mod transport_layer;

pub use compound::CompoundError;
pub use error::ProtocolError;
pub use filter::{
    compile_regex as compile_filter_regex, regex_pattern as filter_regex_pattern, FactFilter,
    Filter, FilterError, REGEX_DFA_LIMIT, REGEX_SIZE_LIMIT,
};
pub use reply::{
    decode_reply, decode_sealed_reply, encode_reply, encode_signed_reply, Reply, RpcReplyBody,
};
pub use request::{
    decode_request, decode_sealed_request, encode_request, encode_signed_request, Request,
};
pub use request_id::new_request_id;
pub use secure::{open_entry, seal_entry, Seal, Signer};
pub use sensitive::{redact_inputs, REDACTED};
pub use subject::{
    broadcast_subject, broadcast_subjects, direct_subject, direct_subjects, is_subject_token,
    is_valid_identity, replies_to, reply_subject, reply_subjects, Addressee,
};

/// Seconds since the Unix epoch, the unit of the envelopes' `time`.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever arrives on the wire, decoding answers with a value or an error.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_request(&bytes);
            let _ = decode_reply(&bytes);
        }

        /// Garbage wrapped in a valid transport layer reaches the inner decoders, which must
        /// not panic either.
        #[test]
        fn garbage_inside_a_transport_never_panics(inner in ".{0,200}") {
            let wire = transport_layer::wrap(&inner, Default::default()).unwrap();
            let _ = decode_request(&wire);
            let _ = decode_reply(&wire);
        }

        #[test]
        fn fact_filter_parse_never_panics(text in ".{0,60}") {
            let _ = FactFilter::parse(&text);
        }
    }
}
