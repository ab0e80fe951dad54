//! Durations as fleet files write them (`20ms`, `2s`, `1.5s`, `1m`, `0`), and latencies, which
//! may be a range (`5ms..30ms`) drawn from at random for every reply.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

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

    fn parse(text: &str) -> Result<Latency, String> {
        match text.split_once("..") {
            None => parse_duration(text).map(|fixed| Latency {
                min: fixed,
                max: fixed,
            }),
            Some((low, high)) => {
                let (min, max) = (parse_duration(low)?, parse_duration(high)?);
                if min > max {
                    return Err(format!("latency range {text:?} goes backwards"));
                }
                Ok(Latency { min, max })
            }
        }
    }
}

/// `<number><unit>` with unit `ms`, `s` or `m`; a bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        _ => {
            return Err(format!(
                "duration {text:?} needs a unit: ms, s or m (as in 20ms)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("duration {text:?} does not start with a number"))?;
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| format!("duration {text:?} is out of range"))
}

/// A YAML duration: a string with a unit, or the number 0.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Text(String),
    Number(f64),
}

impl Written {
    fn text(self) -> String {
        match self {
            Written::Text(text) => text,
            Written::Number(number) => number.to_string(),
        }
    }
}

pub(crate) fn deserialize_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    parse_duration(&Written::deserialize(deserializer)?.text()).map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Latency, D::Error> {
        Latency::parse(&Written::deserialize(deserializer)?.text())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 5 ms "), Ok(Duration::from_millis(5)));
        assert!(parse_duration("20").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("1e400s").is_err());
    }

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
    }
}
