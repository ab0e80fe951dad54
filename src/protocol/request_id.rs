//! Request ids: 32 lower-case hex characters, as Choria makes them (a UUID without dashes).

/// A fresh random request id.
pub fn new_request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_32_hex_chars_and_fresh() {
        let id = new_request_id();
        assert_eq!(id.len(), 32);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(id, new_request_id());
    }
}
