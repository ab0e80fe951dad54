//! The base64 and JSON helpers every layer uses, with errors that name the layer.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ProtocolError;

pub(crate) fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn from_base64(layer: &'static str, text: &str) -> Result<Vec<u8>, ProtocolError> {
    STANDARD
        .decode(text)
        .map_err(|source| ProtocolError::Base64 { layer, source })
}

pub(crate) fn to_json<T: Serialize>(
    layer: &'static str,
    value: &T,
) -> Result<String, ProtocolError> {
    serde_json::to_string(value).map_err(|source| ProtocolError::Json { layer, source })
}

pub(crate) fn from_json<T: DeserializeOwned>(
    layer: &'static str,
    bytes: &[u8],
) -> Result<T, ProtocolError> {
    serde_json::from_slice(bytes).map_err(|source| ProtocolError::Json { layer, source })
}

/// Fails unless a layer's `protocol` field names that layer.
pub(crate) fn expect_protocol(layer: &'static str, found: &str) -> Result<(), ProtocolError> {
    if found == layer {
        Ok(())
    } else {
        Err(ProtocolError::WrongProtocol {
            layer,
            found: found.to_string(),
        })
    }
}
