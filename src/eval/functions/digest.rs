//! Digests of strings: core Puppet's `md5`, `sha1`, `sha256` and `digest`, and stdlib's
//! `fqdn_uuid`, a version 5 UUID made of a SHA-1.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::super::value::Value;
use super::{bad, FunctionError};

/// The text a Puppet 3 function takes: undef arrives as the empty string, and Ruby's digests
/// refuse anything but a string.
pub(super) fn one_string(name: &str, args: &[Value]) -> Result<String, FunctionError> {
    match args {
        [Value::String(text)] => Ok(text.clone()),
        [Value::Undef] => Ok(String::new()),
        [other] => Err(bad(format!(
            "no implicit conversion of {} into String",
            other.type_name()
        ))),
        _ => Err(bad(format!(
            "{name}(): Wrong number of arguments given ({} for 1)",
            args.len()
        ))),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `md5`, `sha1`, `sha256`, and `digest`, which uses the `digest_algorithm` setting: Puppet 7's
/// default is sha256, and playbooks have no setting to change it.
pub(super) fn hexdigest(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let text = one_string(name, args)?;
    let bytes = text.as_bytes();
    Ok(Value::String(match name {
        "md5" => hex(&Md5::digest(bytes)),
        "sha1" => hex(&Sha1::digest(bytes)),
        _ => hex(&Sha256::digest(bytes)),
    }))
}

/// RFC 4122's namespace for domain names.
const DNS_NAMESPACE: [u8; 16] = [
    0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
];

/// `fqdn_uuid(name)`: the SHA-1 of the DNS namespace and the name, with the version (5) and
/// the variant bits set, written 8-4-4-4-12.
pub(super) fn fqdn_uuid(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match args.len() {
        0 => return Err(bad("fqdn_uuid: No arguments given")),
        1 => {}
        n => return Err(bad(format!("fqdn_uuid: Too many arguments given ({n})"))),
    }
    let fqdn = one_string(name, args)?;
    let mut sha1 = Sha1::new();
    sha1.update(DNS_NAMESPACE);
    sha1.update(fqdn.as_bytes());
    let digest = sha1.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let groups = [
        &bytes[..4],
        &bytes[4..6],
        &bytes[6..8],
        &bytes[8..10],
        &bytes[10..],
    ];
    Ok(Value::String(groups.map(hex).join("-")))
}
