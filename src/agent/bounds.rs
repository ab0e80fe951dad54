//! The shape every request must have before a node spends anything on it: sizes of the message
//! and of each field, and the form of every name a sender writes. Checked first thing at
//! intake (`Intake::admit`): the size before decoding, the fields right after, so what is
//! refused here costs one bounded decode and nothing more (no regex compiled, no signature
//! checked, nothing published). Everything a sender controls that later reaches a subject, a
//! regex or a log line passes through here.

use crate::protocol::compound;
use crate::protocol::{filter_regex_pattern, reply_subject, FactFilter, Filter, Request};

/// The largest message a node reads: nats-server's default `max_payload`. Every layer (the
/// transport's base64, the secure message, the request, the body) is inside it.
pub const MAX_MESSAGE: usize = 1 << 20;
/// The largest action inputs, as JSON.
pub const MAX_DATA: usize = 256 << 10;
/// The longest name: a DNS name's limit, for sender ids and certificate names.
pub const MAX_NAME: usize = 253;
/// The longest collective, agent or action name.
pub const MAX_TOKEN: usize = 64;
/// The most entries of one filter list (identities, classes, agents, facts, compound).
pub const MAX_FILTER_ENTRIES: usize = 64;
/// The longest filter entry (a name, a `/regex/`, a fact's value, a compound filter: the
/// compound parser's own limit, so a client's check refuses what nodes would).
pub const MAX_FILTER_ENTRY: usize = compound::MAX_COMPOUND_LENGTH;
/// The most regexes in one filter (`/.../` entries and `=~` facts): each may cost a node up
/// to some 25 ms against a 50 KB fact, so a request's filter stays within a fraction of a
/// second however it is written.
pub const MAX_FILTER_REGEXES: usize = 8;
/// The fact operators a node evaluates.
const FACT_OPERATORS: [&str; 8] = ["==", "=", "!=", "=~", "<", ">", "<=", ">="];

/// How a request is out of shape. Nothing of the sender's text is kept beyond a short,
/// escaped excerpt: a reason goes into a log line.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutOfBounds {
    #[error("the message is {size} bytes, over the {limit} a node reads")]
    MessageTooLarge { size: usize, limit: usize },
    #[error("the request id {found} is not 32 lower-case hex characters")]
    RequestId { found: Excerpt },
    #[error(
        "the {field} {found} is not a name of at most {limit} characters of A-Z a-z 0-9 . - _"
    )]
    Name {
        field: &'static str,
        found: Excerpt,
        limit: usize,
    },
    #[error("the callerid {found} is not choria=<certificate name>")]
    Caller { found: Excerpt },
    #[error("the reply subject {found} is not {expected}, derived from the envelope")]
    ReplySubject { found: Excerpt, expected: String },
    #[error("the filter's {list} list has {count} entries, over {limit}")]
    FilterEntries {
        list: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("an entry of the filter's {list} list is {size} bytes, over {limit}")]
    FilterEntry {
        list: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("the filter has {count} regexes, over {limit}")]
    FilterRegexes { count: usize, limit: usize },
    #[error("the fact filter operator {found} is none of == != =~ < > <= >=")]
    FactOperator { found: Excerpt },
    #[error("the action's inputs are {size} bytes of JSON, over {limit}")]
    DataTooLarge { size: usize, limit: usize },
}

/// What kind of [`OutOfBounds`] it is, to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutOfBoundsKind {
    MessageTooLarge,
    RequestId,
    Name,
    Caller,
    ReplySubject,
    Filter,
    DataTooLarge,
}

impl OutOfBounds {
    pub fn kind(&self) -> OutOfBoundsKind {
        match self {
            OutOfBounds::MessageTooLarge { .. } => OutOfBoundsKind::MessageTooLarge,
            OutOfBounds::RequestId { .. } => OutOfBoundsKind::RequestId,
            OutOfBounds::Name { .. } => OutOfBoundsKind::Name,
            OutOfBounds::Caller { .. } => OutOfBoundsKind::Caller,
            OutOfBounds::ReplySubject { .. } => OutOfBoundsKind::ReplySubject,
            OutOfBounds::FilterEntries { .. }
            | OutOfBounds::FilterEntry { .. }
            | OutOfBounds::FilterRegexes { .. }
            | OutOfBounds::FactOperator { .. } => OutOfBoundsKind::Filter,
            OutOfBounds::DataTooLarge { .. } => OutOfBoundsKind::DataTooLarge,
        }
    }
}

/// A sender's text as a log line may show it: its first characters, quoted, with every
/// control character escaped (a newline cannot start a forged line), and its length when cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excerpt(String);

/// How many characters of a sender's text an [`Excerpt`] keeps.
const EXCERPT_CHARS: usize = 48;

impl Excerpt {
    pub fn of(text: &str) -> Excerpt {
        let kept: String = text.chars().take(EXCERPT_CHARS).collect();
        let mut shown = format!("{:?}", kept);
        if kept.len() < text.len() {
            shown.push_str(&format!("... ({} bytes)", text.len()));
        }
        Excerpt(shown)
    }
}

impl std::fmt::Display for Excerpt {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The message's size, before it is decoded.
pub fn check_size(payload: &[u8]) -> Result<(), OutOfBounds> {
    if payload.len() > MAX_MESSAGE {
        return Err(OutOfBounds::MessageTooLarge {
            size: payload.len(),
            limit: MAX_MESSAGE,
        });
    }
    Ok(())
}

/// Every field of a decoded request. The reply subject must be exactly the one the envelope
/// derives (`<collective>.reply.<senderid>.<requestid>`): a request cannot have its replies
/// sent anywhere else, nor make the node publish a subject the broker refuses.
pub fn check_request_shape(request: &Request) -> Result<(), OutOfBounds> {
    check_request_id(&request.id)?;
    check_name("senderid", &request.sender, MAX_NAME)?;
    check_name("collective", &request.collective, MAX_TOKEN)?;
    check_name("agent", &request.agent, MAX_TOKEN)?;
    check_name("action", &request.action, MAX_TOKEN)?;
    check_caller(&request.caller)?;
    let expected = reply_subject(&request.collective, &request.sender, &request.id);
    if request.reply_to != expected {
        return Err(OutOfBounds::ReplySubject {
            found: Excerpt::of(&request.reply_to),
            expected,
        });
    }
    check_filter(&request.filter)?;
    check_data(&request.data)
}

fn check_request_id(id: &str) -> Result<(), OutOfBounds> {
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    if id.len() == 32 && id.bytes().all(hex) {
        Ok(())
    } else {
        Err(OutOfBounds::RequestId {
            found: Excerpt::of(id),
        })
    }
}

/// Certificate-name characters: what Puppet's CA signs, and what fits a subject token.
fn is_name(text: &str, limit: usize) -> bool {
    let allowed = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_');
    !text.is_empty()
        && text.len() <= limit
        && text.bytes().all(allowed)
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !text.contains("..")
}

fn check_name(field: &'static str, text: &str, limit: usize) -> Result<(), OutOfBounds> {
    if is_name(text, limit) {
        Ok(())
    } else {
        Err(OutOfBounds::Name {
            field,
            found: Excerpt::of(text),
            limit,
        })
    }
}

fn check_caller(caller: &str) -> Result<(), OutOfBounds> {
    match caller.strip_prefix("choria=") {
        Some(name) if is_name(name, MAX_NAME) => Ok(()),
        _ => Err(OutOfBounds::Caller {
            found: Excerpt::of(caller),
        }),
    }
}

fn check_filter(filter: &Filter) -> Result<(), OutOfBounds> {
    check_list("identity", &filter.identity)?;
    check_list("cf_class", &filter.cf_class)?;
    check_list("agent", &filter.agent)?;
    check_list("compound", &filter.compound)?;
    check_count("fact", filter.fact.len())?;
    filter.fact.iter().try_for_each(check_fact)?;
    let regexes = [&filter.identity, &filter.cf_class, &filter.agent]
        .into_iter()
        .flatten()
        .filter(|entry| filter_regex_pattern(entry).is_some())
        .count()
        + filter
            .fact
            .iter()
            .filter(|fact| fact.operator == "=~")
            .count()
        + compound_regexes(&filter.compound);
    if regexes > MAX_FILTER_REGEXES {
        return Err(OutOfBounds::FilterRegexes {
            count: regexes,
            limit: MAX_FILTER_REGEXES,
        });
    }
    Ok(())
}

/// The regexes of the compound filters, counted with the others'. Each is parsed here and
/// again when compiled: within the length limit a parse takes microseconds, and one that does
/// not parse is refused when the filter is compiled.
fn compound_regexes(compounds: &[String]) -> usize {
    compounds
        .iter()
        .filter_map(|text| compound::parse(text).ok())
        .map(|expr| expr.regexes().len())
        .sum()
}

fn check_list(list: &'static str, entries: &[String]) -> Result<(), OutOfBounds> {
    check_count(list, entries.len())?;
    entries
        .iter()
        .try_for_each(|entry| check_entry(list, entry))
}

fn check_count(list: &'static str, count: usize) -> Result<(), OutOfBounds> {
    if count > MAX_FILTER_ENTRIES {
        return Err(OutOfBounds::FilterEntries {
            list,
            count,
            limit: MAX_FILTER_ENTRIES,
        });
    }
    Ok(())
}

fn check_entry(list: &'static str, entry: &str) -> Result<(), OutOfBounds> {
    if entry.len() > MAX_FILTER_ENTRY {
        return Err(OutOfBounds::FilterEntry {
            list,
            size: entry.len(),
            limit: MAX_FILTER_ENTRY,
        });
    }
    Ok(())
}

fn check_fact(fact: &FactFilter) -> Result<(), OutOfBounds> {
    check_entry("fact", &fact.fact)?;
    check_entry("fact", &fact.value)?;
    if !FACT_OPERATORS.contains(&fact.operator.as_str()) {
        return Err(OutOfBounds::FactOperator {
            found: Excerpt::of(&fact.operator),
        });
    }
    Ok(())
}

fn check_data(data: &serde_json::Value) -> Result<(), OutOfBounds> {
    let mut size = ByteCount(0);
    // Serialising a decoded Value cannot fail; a count that stops early only undercounts.
    let _ = serde_json::to_writer(&mut size, data);
    if size.0 > MAX_DATA {
        return Err(OutOfBounds::DataTooLarge {
            size: size.0,
            limit: MAX_DATA,
        });
    }
    Ok(())
}

/// A writer that only counts what it is given.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
