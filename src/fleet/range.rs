//! Identity ranges: `web[01-10].example.net` is ten nodes, `web01` to `web10` (the width of
//! the first number pads them all). Several ranges multiply: `r[1-2]n[1-3]` is six nodes.

/// The most identities one entry may expand to, so a typo cannot exhaust memory.
const MAX_EXPANSION: usize = 1_000_000;

/// Why an identity pattern stands for no list of nodes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("identity {pattern:?} has a `]` without `[`")]
    UnopenedBracket { pattern: String },
    #[error("identity {pattern:?} has a `[` without `]`")]
    UnclosedBracket { pattern: String },
    #[error("identity {pattern:?}: expected a range like [1-10] or [01-10], found [{range}]")]
    NotARange { pattern: String, range: String },
    #[error("identity {pattern:?}: range [{range}] goes backwards")]
    Backwards { pattern: String, range: String },
    #[error("identity {pattern:?} stands for more than {MAX_EXPANSION} nodes")]
    TooMany { pattern: String },
}

/// Every identity a pattern stands for, in order.
pub fn expand_identity(pattern: &str) -> Result<Vec<String>, RangeError> {
    let pattern_owned = || pattern.to_string();
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err(RangeError::UnopenedBracket {
                pattern: pattern_owned(),
            });
        }
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|offset| open + offset)
        .ok_or_else(|| RangeError::UnclosedBracket {
            pattern: pattern_owned(),
        })?;
    let numbers = range_numbers(pattern, &pattern[open + 1..close])?;
    let rests = expand_identity(&pattern[close + 1..])?;
    if numbers.len().saturating_mul(rests.len()) > MAX_EXPANSION {
        return Err(RangeError::TooMany {
            pattern: pattern_owned(),
        });
    }
    let prefix = &pattern[..open];
    Ok(numbers
        .iter()
        .flat_map(|number| {
            rests
                .iter()
                .map(move |rest| format!("{prefix}{number}{rest}"))
        })
        .collect())
}

/// `01-10` → `01`, `02`, ... `10`.
fn range_numbers(pattern: &str, range: &str) -> Result<Vec<String>, RangeError> {
    let bad = || RangeError::NotARange {
        pattern: pattern.to_string(),
        range: range.to_string(),
    };
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) {
        return Err(bad());
    }
    let start: u64 = first.parse().map_err(|_| bad())?;
    let end: u64 = last.parse().map_err(|_| bad())?;
    if start > end {
        return Err(RangeError::Backwards {
            pattern: pattern.to_string(),
            range: range.to_string(),
        });
    }
    if end - start >= MAX_EXPANSION as u64 {
        return Err(RangeError::TooMany {
            pattern: pattern.to_string(),
        });
    }
    let width = if first.starts_with('0') {
        first.len()
    } else {
        0
    };
    Ok((start..=end)
        .map(|number| format!("{number:0width$}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identity_is_itself() {
        assert_eq!(
            expand_identity("lb.example.net").unwrap(),
            vec!["lb.example.net"]
        );
    }

    #[test]
    fn padded_and_unpadded_ranges() {
        assert_eq!(
            expand_identity("web[1-3].example.net").unwrap(),
            vec!["web1.example.net", "web2.example.net", "web3.example.net"]
        );
        let padded = expand_identity("web[01-10].example.net").unwrap();
        assert_eq!(padded.len(), 10);
        assert_eq!(padded[0], "web01.example.net");
        assert_eq!(padded[9], "web10.example.net");
        assert_eq!(expand_identity("n[8-10]").unwrap(), vec!["n8", "n9", "n10"]);
    }

    #[test]
    fn several_ranges_multiply() {
        assert_eq!(
            expand_identity("r[1-2]n[1-2]").unwrap(),
            vec!["r1n1", "r1n2", "r2n1", "r2n2"]
        );
    }

    #[test]
    fn bad_ranges_are_errors() {
        for bad in [
            "web[1-",
            "web1]",
            "web[a-b]",
            "web[3-1]",
            "web[1]",
            "web[-1]",
            "web[0-99999999]",
        ] {
            assert!(expand_identity(bad).is_err(), "{bad}");
        }
    }
}
