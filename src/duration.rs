//! Durations, written the same way everywhere: playbook parameters, the command line, the
//! configuration, agent and fleet files. A number with a unit (`500ms`, `30s`, `1.5s`, `2m`,
//! `1h`) or a bare number of seconds (`20`, `0.3`); never negative, never longer than a year.
//! A leaf module: it uses nothing of the crate, so every part may use it.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A year: longer than anything here waits. Beyond it a number is a mistake (and would
/// overflow the clock).
pub const LONGEST: Duration = Duration::from_secs(365 * 24 * 3600);

/// A duration that cannot be read, with what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{written} is not a duration: {}", .kind.explain())]
pub struct DurationError {
    written: String,
    kind: DurationErrorKind,
}

/// What was wrong with a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationErrorKind {
    /// Not a number, or a unit other than ms, s, m and h.
    Malformed,
    Negative,
    /// Longer than [`LONGEST`].
    TooLong,
}

impl DurationErrorKind {
    fn explain(self) -> &'static str {
        match self {
            DurationErrorKind::Malformed => {
                "write a number of seconds, or a number with a unit: ms, s, m or h (as in 500ms, 30s, 2m, 1h)"
            }
            DurationErrorKind::Negative => "it is negative",
            DurationErrorKind::TooLong => "it is longer than a year",
        }
    }
}

impl DurationError {
    pub fn kind(&self) -> DurationErrorKind {
        self.kind
    }

    fn new(written: impl std::fmt::Display, kind: DurationErrorKind) -> DurationError {
        DurationError {
            written: written.to_string(),
            kind,
        }
    }
}

/// Reads `<number>[unit]`, unit `ms`, `s`, `m` or `h`; without a unit the number is seconds.
/// White space around the number and the unit is allowed.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let quoted = || format!("'{}'", text.trim());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(DurationError::new(quoted(), DurationErrorKind::Malformed)),
    };
    let number = number.trim();
    // Rust's float syntax is wider than a duration's: no `inf`, `nan` or exponents.
    if number.is_empty()
        || !number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(DurationError::new(quoted(), DurationErrorKind::Malformed));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| DurationError::new(quoted(), DurationErrorKind::Malformed))?;
    checked(value * per_unit).map_err(|kind| DurationError::new(quoted(), kind))
}

/// A number of seconds, as a playbook or a YAML file writes it without quotes.
pub fn from_seconds(seconds: f64) -> Result<Duration, DurationError> {
    checked(seconds).map_err(|kind| DurationError::new(seconds, kind))
}

fn checked(seconds: f64) -> Result<Duration, DurationErrorKind> {
    if seconds.is_nan() {
        return Err(DurationErrorKind::Malformed);
    }
    if seconds < 0.0 {
        return Err(DurationErrorKind::Negative);
    }
    if seconds > LONGEST.as_secs_f64() {
        return Err(DurationErrorKind::TooLong);
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration in YAML or JSON: a number of seconds, or a string in [`parse`]'s grammar.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Seconds(f64),
    Text(String),
}

impl Written {
    fn duration(self) -> Result<Duration, DurationError> {
        match self {
            Written::Seconds(seconds) => from_seconds(seconds),
            Written::Text(text) => parse(&text),
        }
    }
}

/// For `#[serde(deserialize_with = "crate::duration::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    Written::deserialize(deserializer)?
        .duration()
        .map_err(serde::de::Error::custom)
}

/// For an optional field: `#[serde(default, deserialize_with = "crate::duration::deserialize_optional")]`.
pub fn deserialize_optional<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    match Option::<Written>::deserialize(deserializer)? {
        None => Ok(None),
        Some(written) => written
            .duration()
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_units_or_seconds() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("20"), Ok(Duration::from_secs(20)));
        assert_eq!(parse("0.3"), Ok(Duration::from_millis(300)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse(" 5 ms "), Ok(Duration::from_millis(5)));
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let kind = |text| parse(text).unwrap_err().kind();
        assert_eq!(kind("soon"), DurationErrorKind::Malformed);
        assert_eq!(kind("ms"), DurationErrorKind::Malformed);
        assert_eq!(kind("2d"), DurationErrorKind::Malformed);
        assert_eq!(kind("1e400s"), DurationErrorKind::Malformed);
        assert_eq!(kind("inf"), DurationErrorKind::Malformed);
        assert_eq!(kind(""), DurationErrorKind::Malformed);
        assert_eq!(kind("-1s"), DurationErrorKind::Negative);
        assert_eq!(kind("9000h"), DurationErrorKind::TooLong);
        assert_eq!(
            from_seconds(1e20).unwrap_err().kind(),
            DurationErrorKind::TooLong
        );
        assert_eq!(
            parse("ten").unwrap_err().to_string(),
            "'ten' is not a duration: write a number of seconds, or a number with a unit: ms, s, m or h (as in 500ms, 30s, 2m, 1h)"
        );
    }

    #[test]
    fn yaml_numbers_and_strings() {
        #[derive(Deserialize)]
        struct File {
            #[serde(deserialize_with = "deserialize")]
            wait: Duration,
            #[serde(default, deserialize_with = "deserialize_optional")]
            limit: Option<Duration>,
        }
        let file: File = serde_yaml_ng::from_str("wait: 20\nlimit: 2m").unwrap();
        assert_eq!(file.wait, Duration::from_secs(20));
        assert_eq!(file.limit, Some(Duration::from_secs(120)));
        let file: File = serde_yaml_ng::from_str("wait: 1.5").unwrap();
        assert_eq!((file.wait, file.limit), (Duration::from_millis(1500), None));
        assert!(serde_yaml_ng::from_str::<File>("wait: -3").is_err());
    }
}
