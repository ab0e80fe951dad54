//! NATS subject rules: validation of what may be published and subscribed, and wildcard
//! matching (`*` one token, a final `>` one or more tokens).

use super::{TransportError, TransportErrorKind};

/// Whether a subscription subject (`pattern`, wildcards allowed) covers a published subject.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for pattern_token in pattern.split('.') {
        match (pattern_token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (literal, Some(token)) if literal == token => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

/// A subject one may publish to: non-empty tokens, no wildcards, no whitespace.
pub fn validate_publish_subject(subject: &str) -> Result<(), TransportError> {
    check_tokens(subject, |token, _| {
        if token == "*" || token == ">" {
            Err("wildcards cannot be published to")
        } else {
            Ok(())
        }
    })
}

/// A subject one may subscribe to: non-empty tokens, `*` anywhere, `>` only last.
pub fn validate_subscribe_subject(subject: &str) -> Result<(), TransportError> {
    check_tokens(subject, |token, is_last| {
        if token == ">" && !is_last {
            Err("`>` must be the last token")
        } else {
            Ok(())
        }
    })
}

fn check_tokens(
    subject: &str,
    rule: impl Fn(&str, bool) -> Result<(), &'static str>,
) -> Result<(), TransportError> {
    let invalid = |reason: &str| {
        TransportError::new(
            TransportErrorKind::InvalidSubject,
            format!("{subject:?}: {reason}"),
        )
    };
    if subject.chars().any(char::is_whitespace) {
        return Err(invalid("subjects cannot hold whitespace"));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (index, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(invalid("empty token"));
        }
        let wildcard_inside = token.len() > 1 && (token.contains('*') || token.contains('>'));
        if wildcard_inside {
            return Err(invalid("a wildcard must be a whole token"));
        }
        rule(token, index + 1 == tokens.len()).map_err(invalid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_subjects_match_only_themselves() {
        assert!(subject_matches("a.b.c", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b.d"));
    }

    #[test]
    fn star_matches_exactly_one_token() {
        assert!(subject_matches("a.*.c", "a.b.c"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(!subject_matches("a.*", "a"));
        assert!(subject_matches("*.*", "x.y"));
    }

    #[test]
    fn greater_than_matches_one_or_more_trailing_tokens() {
        assert!(subject_matches(
            "mcollective.node.>",
            "mcollective.node.web1.example.net"
        ));
        assert!(subject_matches("mcollective.>", "mcollective.node"));
        assert!(!subject_matches("mcollective.>", "mcollective"));
        assert!(subject_matches(">", "anything.at.all"));
        assert!(subject_matches("*.node.>", "mc.node.x"));
    }

    #[test]
    fn validation() {
        assert!(validate_publish_subject("mcollective.node.web1").is_ok());
        for bad in ["", "a..b", "a.", ".a", "a.*", "a.>", "a b", "a.b*"] {
            let error = validate_publish_subject(bad).unwrap_err();
            assert_eq!(error.kind(), TransportErrorKind::InvalidSubject, "{bad}");
        }
        assert!(validate_subscribe_subject("a.*.c").is_ok());
        assert!(validate_subscribe_subject("a.>").is_ok());
        assert!(validate_subscribe_subject(">").is_ok());
        assert!(validate_subscribe_subject("a.>.c").is_err());
        assert!(validate_subscribe_subject("a..c").is_err());
    }
}
