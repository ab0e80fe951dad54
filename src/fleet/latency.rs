//! Latencies of simulated nodes: a duration (`20ms`, `0`), or a range (`5ms..30ms`) drawn from
//! at random for every reply.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::duration::{self, DurationError};

/// How long a node takes to answer: fixed, or uniformly random within a range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    /// The delay of one reply.
    pub fn sample(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let micros = rand::random_range(self.min.as_micros()..=self.max.as_micros());
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    fn parse(text: &str) -> Result<Latency, LatencyError> {
        match text.split_once("..") {
            None => Ok(duration::parse(text).map(|fixed| Latency {
                min: fixed,
                max: fixed,
            })?),
            Some((low, high)) => {
                let (min, max) = (duration::parse(low)?, duration::parse(high)?);
                if min > max {
                    return Err(LatencyError::Backwards(text.to_string()));
                }
                Ok(Latency { min, max })
            }
        }
    }
}

/// A YAML latency: a duration (a number of seconds, or a string with a unit) or a range.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Text(String),
    Number(f64),
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Latency, D::Error> {
        match Written::deserialize(deserializer)? {
            Written::Text(text) => Latency::parse(&text),
            Written::Number(seconds) => duration::from_seconds(seconds)
                .map(|fixed| Latency {
                    min: fixed,
                    max: fixed,
                })
                .map_err(LatencyError::from),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// Why a latency cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("latency range {0:?} goes backwards")]
    Backwards(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fixed_or_ranged() {
        let fixed: Latency = serde_yaml_ng::from_str("20ms").unwrap();
        assert_eq!(fixed.sample(), Duration::from_millis(20));
        let zero: Latency = serde_yaml_ng::from_str("0").unwrap();
        assert_eq!(zero, Latency::default());
        let range: Latency = serde_yaml_ng::from_str("5ms..30ms").unwrap();
        for _ in 0..100 {
            let sample = range.sample();
            assert!(sample >= Duration::from_millis(5) && sample <= Duration::from_millis(30));
        }
        assert!(serde_yaml_ng::from_str::<Latency>("30ms..5ms").is_err());
        let seconds: Latency = serde_yaml_ng::from_str("0.02").unwrap();
        assert_eq!(seconds.sample(), Duration::from_millis(20));
    }
}
