//! Puppet's time values: a `Timestamp` (a point in time) and a `Timespan` (a duration), both
//! held as nanoseconds as Puppet holds them, with Ruby's `strftime`/`strptime` for timestamps
//! and Puppet's own `%D %H %M %S %L %N` format language for timespans.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

pub const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_MILLI: i128 = 1_000_000;
const NANOS_PER_MINUTE: i128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i128 = 60 * NANOS_PER_MINUTE;
const NANOS_PER_DAY: i128 = 24 * NANOS_PER_HOUR;

/// A point in time: nanoseconds since 1970-01-01 00:00:00 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i128);

/// A duration, possibly negative, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timespan(pub i128);

/// Why a time could not be made, parsed or formatted; the message is Puppet's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub String);

fn error(message: impl Into<String>) -> TimeError {
    TimeError(message.into())
}

/// Seconds (an Integer or a Float) as nanoseconds, truncated as Ruby's `to_i` truncates.
pub fn seconds_to_nanos(seconds: f64) -> Option<i128> {
    let nanos = seconds * NANOS_PER_SECOND as f64;
    (nanos.is_finite() && nanos.abs() < 1e30).then_some(nanos.trunc() as i128)
}

/// The formats a timestamp string is tried against when none is given: with a zone, then
/// without (only the latter when a timezone is given).
const FORMATS_WITHOUT_ZONE: [&str; 5] = ["%FT%T.%N", "%FT%T", "%F %T.%N", "%F %T", "%F"];
const FORMATS_WITH_ZONE: [&str; 5] = [
    "%FT%T.%N %Z",
    "%FT%T %Z",
    "%F %T.%N %Z",
    "%F %T %Z",
    "%F %Z",
];

impl Timestamp {
    pub fn now() -> Timestamp {
        let now = chrono::Utc::now();
        Timestamp(
            i128::from(now.timestamp()) * NANOS_PER_SECOND
                + i128::from(now.timestamp_subsec_nanos()),
        )
    }

    /// The calendar time in UTC shifted by `offset` seconds; `None` past chrono's years.
    fn civil(self, offset: i64) -> Option<NaiveDateTime> {
        let shifted = self.0 + i128::from(offset) * NANOS_PER_SECOND;
        let seconds = i64::try_from(shifted.div_euclid(NANOS_PER_SECOND)).ok()?;
        let nanos = shifted.rem_euclid(NANOS_PER_SECOND) as u32;
        DateTime::from_timestamp(seconds, nanos).map(|t| t.naive_utc())
    }

    /// Ruby's `Time#strftime`, in UTC or at a timezone (`'+01:00'`, `'EST'`, `'current'`).
    pub fn format(self, format: &str, timezone: Option<&str>) -> Result<String, TimeError> {
        let zone = match timezone.filter(|z| !z.is_empty()) {
            Some(tz) => Zone::Offset(utc_offset(tz)?),
            None => Zone::Utc,
        };
        let civil = self
            .civil(zone.seconds())
            .ok_or_else(|| error("the timestamp is outside of the years a calendar can show"))?;
        Ok(strftime(format, &civil, self, zone))
    }

    /// A timestamp from its text: with the formats given (or Puppet's defaults), in the
    /// timezone given or the one the text names (else UTC).
    pub fn parse(
        text: &str,
        formats: Option<&[String]>,
        timezone: Option<&str>,
    ) -> Result<Timestamp, TimeError> {
        let timezone = timezone.filter(|z| !z.is_empty() && *z != "default");
        let defaults: Vec<String> = if timezone.is_some() {
            FORMATS_WITHOUT_ZONE.iter().map(|s| s.to_string()).collect()
        } else {
            FORMATS_WITH_ZONE
                .iter()
                .chain(&FORMATS_WITHOUT_ZONE)
                .map(|s| s.to_string())
                .collect()
        };
        let given = formats.is_some();
        let formats = formats.unwrap_or(&defaults);
        let mut parsed = None;
        for format in formats {
            match strptime(text, format) {
                // A zone in the text and a timezone given: a single format given is wrong,
                // a list of formats goes on to the next.
                Some(fields)
                    if timezone.is_some()
                        && fields.zone.is_some()
                        && given
                        && formats.len() == 1 =>
                {
                    return Err(error("Using a Timezone designator in format specification is mutually exclusive to providing an explicit timezone argument"));
                }
                Some(fields) if timezone.is_some() && fields.zone.is_some() => {}
                Some(fields) => {
                    parsed = Some(fields);
                    break;
                }
                None => {}
            }
        }
        let Some(fields) = parsed else {
            return Err(error(if formats.len() == 1 {
                format!("Unable to parse '{text}' using format '{}'", formats[0])
            } else {
                format!(
                    "Unable to parse '{text}' using any of the formats {}",
                    formats.join(", ")
                )
            }));
        };
        let zone = timezone.map(str::to_string).or(fields.zone.clone());
        let offset = match zone {
            Some(zone) => utc_offset(&zone)?,
            None => 0,
        };
        fields
            .to_nanos()
            .map(|nanos| Timestamp(nanos - i128::from(offset) * NANOS_PER_SECOND))
            .ok_or_else(|| error(format!("Unable to parse '{text}': not a valid date")))
    }
}

/// `1970-01-01T00:00:00.000000000 UTC`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format(FORMATS_WITH_ZONE[0], None) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "Timestamp({})", self.0),
        }
    }
}

/// Where a timestamp is shown: UTC (`%Z` is `UTC`) or at a fixed offset (`%Z` is empty, as
/// Ruby's `Time#localtime(offset)` has no zone name).
#[derive(Clone, Copy)]
enum Zone {
    Utc,
    Offset(i64),
}

impl Zone {
    fn seconds(self) -> i64 {
        match self {
            Zone::Utc => 0,
            Zone::Offset(s) => s,
        }
    }
}

/// The offset of a timezone from UTC in seconds: `current`, `UTC`/`GMT`/`Z`, a few North
/// American abbreviations, or `+HH:MM`, `+HHMM`, `+HH` (what Ruby's `%z` reads).
pub fn utc_offset(timezone: &str) -> Result<i64, TimeError> {
    if timezone.eq_ignore_ascii_case("current") {
        return Ok(i64::from(chrono::Local::now().offset().local_minus_utc()));
    }
    let named = match timezone.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" => Some(0),
        "EST" => Some(-5),
        "EDT" | "CDT" => Some(if timezone.eq_ignore_ascii_case("EDT") {
            -4
        } else {
            -5
        }),
        "CST" => Some(-6),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        _ => None,
    };
    if let Some(hours) = named {
        return Ok(hours * 3600);
    }
    numeric_offset(timezone).ok_or_else(|| error(format!("Illegal timezone '{timezone}'")))
}

fn numeric_offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 1 | 2 | 4) {
        return None;
    }
    let (hours, minutes) = if digits.len() == 4 {
        (&digits[..2], &digits[2..])
    } else {
        (&digits[..], "0")
    };
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One `%` directive's flags: `-` no padding, `_` spaces, `0` zeros, `^` upper case, and a
/// width.
#[derive(Default, Clone, Copy)]
struct Flags {
    pad: Option<char>,
    upper: bool,
    width: Option<usize>,
}

impl Flags {
    fn number(self, n: i64, width: usize, pad: char) -> String {
        let width = self.width.unwrap_or(width);
        match self.pad.unwrap_or(pad) {
            '-' => n.to_string(),
            ' ' => format!("{n:>width$}"),
            _ if n < 0 => format!("-{:0>w$}", -n, w = width.saturating_sub(1)),
            _ => format!("{n:0>width$}"),
        }
    }

    fn text(self, s: &str) -> String {
        let s = if self.upper {
            s.to_uppercase()
        } else {
            s.to_string()
        };
        match self.width {
            Some(_) if self.pad == Some('-') => s,
            Some(w) if self.pad == Some('0') => format!("{s:0>w$}"),
            Some(w) => format!("{s:>w$}"),
            None => s,
        }
    }
}

/// The widest a directive may pad to: wider would only make memory run out.
const MAX_WIDTH: usize = 10_000;

/// A width with one more digit, at most [`MAX_WIDTH`].
fn add_digit(width: Option<usize>, digit: char) -> usize {
    let digit = digit.to_digit(10).unwrap_or(0) as usize;
    width
        .unwrap_or(0)
        .saturating_mul(10)
        .saturating_add(digit)
        .min(MAX_WIDTH)
}

/// Ruby's `strftime` over the calendar time `t` (already shifted to `zone`).
fn strftime(format: &str, t: &NaiveDateTime, stamp: Timestamp, zone: Zone) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = Flags::default();
        let mut colons = 0;
        while let Some(&f) = chars.peek() {
            match f {
                '-' | '_' | '0' if flags.width.is_none() => flags.pad = Some(f),
                '^' | '#' => flags.upper = true,
                ':' => colons += 1,
                d if d.is_ascii_digit() => flags.width = Some(add_digit(flags.width, d)),
                _ => break,
            }
            chars.next();
        }
        let flags = Flags {
            pad: flags.pad.map(|p| if p == '_' { ' ' } else { p }),
            ..flags
        };
        let Some(directive) = chars.next() else {
            out.push('%');
            break;
        };
        out.push_str(&directive_text(directive, flags, colons, t, stamp, zone));
    }
    out
}

fn directive_text(
    directive: char,
    flags: Flags,
    colons: usize,
    t: &NaiveDateTime,
    stamp: Timestamp,
    zone: Zone,
) -> String {
    let weekday = t.weekday().num_days_from_sunday() as usize;
    let month = t.month0() as usize;
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let n = |value: i64, width: usize| flags.number(value, width, '0');
    let sp = |value: i64, width: usize| flags.number(value, width, ' ');
    match directive {
        'Y' => n(i64::from(t.year()), 1),
        'C' => n(i64::from(t.year()).div_euclid(100), 2),
        'y' => n(i64::from(t.year()).rem_euclid(100), 2),
        'm' => n(i64::from(t.month()), 2),
        'd' => n(i64::from(t.day()), 2),
        'e' => sp(i64::from(t.day()), 2),
        'j' => n(i64::from(t.ordinal()), 3),
        'H' => n(i64::from(t.hour()), 2),
        'k' => sp(i64::from(t.hour()), 2),
        'I' => n(i64::from(hour12), 2),
        'l' => sp(i64::from(hour12), 2),
        'M' => n(i64::from(t.minute()), 2),
        'S' => n(i64::from(t.second()), 2),
        'L' | 'N' => {
            let digits = flags.width.unwrap_or(if directive == 'L' { 3 } else { 9 });
            fraction(t.nanosecond(), digits)
        }
        'z' => offset_text(zone.seconds(), colons),
        'Z' => flags.text(match zone {
            Zone::Utc => "UTC",
            Zone::Offset(_) => "",
        }),
        'A' => flags.text(DAYS[weekday]),
        'a' => flags.text(&DAYS[weekday][..3]),
        'B' => flags.text(MONTHS[month]),
        'b' | 'h' => flags.text(&MONTHS[month][..3]),
        'p' => flags.text(if t.hour() < 12 { "AM" } else { "PM" }),
        'P' => flags.text(if t.hour() < 12 { "am" } else { "pm" }),
        'u' => n(i64::from(t.weekday().number_from_monday()), 1),
        'w' => n(weekday as i64, 1),
        'G' => n(i64::from(t.iso_week().year()), 4),
        'g' => n(i64::from(t.iso_week().year()).rem_euclid(100), 2),
        'V' => n(i64::from(t.iso_week().week()), 2),
        'U' => n(
            i64::from((t.ordinal0() + 7 - t.weekday().num_days_from_sunday()) / 7),
            2,
        ),
        'W' => n(
            i64::from((t.ordinal0() + 7 - t.weekday().num_days_from_monday()) / 7),
            2,
        ),
        's' => n(
            i64::try_from(stamp.0.div_euclid(NANOS_PER_SECOND)).unwrap_or(i64::MAX),
            1,
        ),
        'Q' => n(
            i64::try_from(stamp.0.div_euclid(NANOS_PER_MILLI)).unwrap_or(i64::MAX),
            1,
        ),
        'n' => "\n".into(),
        't' => "\t".into(),
        '%' => "%".into(),
        'F' => strftime("%Y-%m-%d", t, stamp, zone),
        'T' | 'X' => strftime("%H:%M:%S", t, stamp, zone),
        'D' | 'x' => strftime("%m/%d/%y", t, stamp, zone),
        'R' => strftime("%H:%M", t, stamp, zone),
        'r' => strftime("%I:%M:%S %p", t, stamp, zone),
        'c' => strftime("%a %b %e %H:%M:%S %Y", t, stamp, zone),
        '+' => strftime("%a %b %e %H:%M:%S %Z %Y", t, stamp, zone),
        other => format!("%{other}"),
    }
}

/// The first `digits` digits of a second's fraction (Ruby pads with zeros past nine).
fn fraction(nanos: u32, digits: usize) -> String {
    let nine = format!("{nanos:09}");
    if digits <= 9 {
        nine[..digits].to_string()
    } else {
        format!("{nine}{}", "0".repeat(digits - 9))
    }
}

/// `+0100`, `+01:00` (`%:z`) or `+01:00:00` (`%::z`).
fn offset_text(seconds: i64, colons: usize) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    match colons {
        0 => format!("{sign}{h:02}{m:02}"),
        1 => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// What `strptime` read from a text.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    yday: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: i128,
    pm: Option<bool>,
    epoch: Option<i128>,
    zone: Option<String>,
}

impl Fields {
    fn to_nanos(&self) -> Option<i128> {
        if let Some(epoch) = self.epoch {
            return Some(epoch * NANOS_PER_SECOND + self.nanos);
        }
        let year = i32::try_from(self.year?).ok()?;
        let date = match self.yday {
            Some(yday) if self.month.is_none() => NaiveDate::from_yo_opt(year, yday)?,
            _ => NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))?,
        };
        let hour = match self.pm {
            Some(true) if self.hour < 12 => self.hour + 12,
            Some(false) if self.hour == 12 => 0,
            _ => self.hour,
        };
        let time = date.and_hms_opt(hour, self.minute, self.second.min(59))?;
        let seconds = time.and_utc().timestamp();
        Some(i128::from(seconds) * NANOS_PER_SECOND + self.nanos)
    }
}

/// Ruby's `DateTime._strptime`, for the directives timestamps use; `None` when the text does
/// not match the whole format. A space in the format matches any run of white space.
fn strptime(text: &str, format: &str) -> Option<Fields> {
    let mut fields = Fields::default();
    let mut rest = text;
    let mut spec = format.chars().peekable();
    while let Some(c) = spec.next() {
        if c.is_whitespace() {
            rest = rest.trim_start();
            continue;
        }
        if c != '%' {
            rest = rest.strip_prefix(c)?;
            continue;
        }
        while spec.peek().is_some_and(|f| "-_0^#".contains(*f)) {
            spec.next();
        }
        let directive = spec.next()?;
        // A number directly followed by another directive takes only its own width.
        let bounded = spec.peek() == Some(&'%');
        rest = read_directive(directive, rest, bounded, &mut fields)?;
    }
    rest.is_empty().then_some(fields)
}

fn read_directive<'t>(
    directive: char,
    text: &'t str,
    bounded: bool,
    fields: &mut Fields,
) -> Option<&'t str> {
    let number = |max: usize| take_number(text, max);
    Some(match directive {
        'Y' => {
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.strip_prefix('+').unwrap_or(text)),
            };
            let (value, rest) = take_number(digits, if bounded { 4 } else { 10 })?;
            fields.year = Some(if negative { -value } else { value });
            rest
        }
        'y' => {
            let (value, rest) = number(2)?;
            fields.year = Some(if value < 69 {
                2000 + value
            } else {
                1900 + value
            });
            rest
        }
        'm' => set(number(2)?, |v| fields.month = Some(v as u32)),
        'd' | 'e' => set(take_number(text.trim_start(), 2)?, |v| {
            fields.day = Some(v as u32)
        }),
        'j' => set(number(3)?, |v| fields.yday = Some(v as u32)),
        'H' | 'k' | 'I' | 'l' => set(take_number(text.trim_start(), 2)?, |v| {
            fields.hour = v as u32
        }),
        'M' => set(number(2)?, |v| fields.minute = v as u32),
        'S' => set(number(2)?, |v| fields.second = v as u32),
        'L' | 'N' => {
            let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                return None;
            }
            let nine: String = digits
                .chars()
                .chain(std::iter::repeat('0'))
                .take(9)
                .collect();
            fields.nanos = nine.parse().ok()?;
            &text[digits.len()..]
        }
        's' => {
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let (value, rest) = take_number(digits, 20)?;
            fields.epoch = Some(i128::from(if negative { -value } else { value }));
            rest
        }
        'p' | 'P' => {
            let lower = text.get(..2)?.to_ascii_lowercase();
            fields.pm = Some(match lower.as_str() {
                "am" => false,
                "pm" => true,
                _ => return None,
            });
            &text[2..]
        }
        'b' | 'B' | 'h' => {
            let (index, rest) = take_name(text, &MONTHS)?;
            fields.month = Some(index as u32 + 1);
            rest
        }
        'a' | 'A' => take_name(text, &DAYS)?.1,
        'z' | 'Z' => {
            // A zone is a name (`UTC`, `EST`, `Z`) or a signed offset (`+01:00`, `-0500`).
            let len = match text.as_bytes().first() {
                Some(b'+' | b'-') => {
                    1 + text[1..]
                        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                        .unwrap_or(text.len() - 1)
                }
                _ => text
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .unwrap_or(text.len()),
            };
            if len == 0 || (len == 1 && !text[..1].chars().all(|c| c.is_ascii_alphabetic())) {
                return None;
            }
            fields.zone = Some(text[..len].to_string());
            &text[len..]
        }
        'F' => read_compound("%Y-%m-%d", text, fields)?,
        'T' => read_compound("%H:%M:%S", text, fields)?,
        'D' => read_compound("%m/%d/%y", text, fields)?,
        'R' => read_compound("%H:%M", text, fields)?,
        '%' => text.strip_prefix('%')?,
        _ => return None,
    })
}

/// A directive that stands for several (`%F` is `%Y-%m-%d`), read in place.
fn read_compound<'t>(format: &str, text: &'t str, fields: &mut Fields) -> Option<&'t str> {
    let mut rest = text;
    let mut spec = format.chars().peekable();
    while let Some(c) = spec.next() {
        if c == '%' {
            let directive = spec.next()?;
            rest = read_directive(directive, rest, true, fields)?;
        } else {
            rest = rest.strip_prefix(c)?;
        }
    }
    Some(rest)
}

fn set(read: (i64, &str), mut store: impl FnMut(i64)) -> &str {
    store(read.0);
    read.1
}

/// Up to `max` leading digits, as a number, and the rest.
fn take_number(text: &str, max: usize) -> Option<(i64, &str)> {
    let len = text
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if len == 0 {
        return None;
    }
    Some((text[..len].parse().ok()?, &text[len..]))
}

/// A month or day name, in full or its first three letters, any case.
fn take_name<'t>(text: &'t str, names: &[&str]) -> Option<(usize, &'t str)> {
    let lower = text.to_ascii_lowercase();
    names.iter().enumerate().find_map(|(i, name)| {
        let name = name.to_ascii_lowercase();
        if lower.starts_with(&name) {
            Some((i, &text[name.len()..]))
        } else if lower.starts_with(&name[..3]) {
            Some((i, &text[3..]))
        } else {
            None
        }
    })
}

impl Timespan {
    /// A timespan from its fields, as `Timespan({hours => 2})` gives them.
    #[allow(clippy::too_many_arguments)]
    pub fn from_fields(negative: bool, fields: [i128; 7]) -> Option<Timespan> {
        let [days, hours, minutes, seconds, millis, micros, nanos] = fields;
        let total = days
            .checked_mul(24)?
            .checked_add(hours)?
            .checked_mul(60)?
            .checked_add(minutes)?
            .checked_mul(60)?
            .checked_add(seconds)?
            .checked_mul(1000)?
            .checked_add(millis)?
            .checked_mul(1000)?
            .checked_add(micros)?
            .checked_mul(1000)?
            .checked_add(nanos)?;
        Some(Timespan(if negative { -total } else { total }))
    }

    /// Puppet's timespan format: `%D` days, `%H` hours, `%M` minutes, `%S` seconds, `%L`
    /// milliseconds, `%N` nanoseconds (`%3N` fewer digits), with `-` (no padding) or `_`
    /// (spaces) and a width; the largest unit used counts the total.
    pub fn format(self, format: &str) -> Result<String, TimeError> {
        let segments = parse_span_format(format)?;
        let mut out = String::new();
        if self.0 < 0 {
            out.push('-');
        }
        let total = self.0.abs();
        for segment in &segments {
            match segment {
                SpanSegment::Literal(text) => out.push_str(text),
                SpanSegment::Value(value) => out.push_str(&value.show(total)),
            }
        }
        Ok(out)
    }

    /// A timespan from its text, with the formats given or Puppet's defaults.
    pub fn parse(text: &str, formats: Option<&[String]>) -> Result<Timespan, TimeError> {
        let defaults: Vec<String> = SPAN_FORMATS.iter().map(|s| s.to_string()).collect();
        let formats = formats.unwrap_or(&defaults);
        for format in formats {
            let segments = parse_span_format(format)?;
            if let Some(span) = parse_span(text, &segments) {
                return Ok(span);
            }
        }
        Err(error(if formats.len() == 1 {
            format!("Unable to parse '{text}' using format '{}'", formats[0])
        } else {
            format!(
                "Unable to parse '{text}' using any of the formats {}",
                formats.join(", ")
            )
        }))
    }

    /// Seconds, with their fraction.
    pub fn seconds(self) -> f64 {
        self.0 as f64 / NANOS_PER_SECOND as f64
    }
}

const SPAN_FORMATS: [&str; 8] = [
    "%D-%H:%M:%S.%-N",
    "%H:%M:%S.%-N",
    "%M:%S.%-N",
    "%S.%-N",
    "%D-%H:%M:%S",
    "%H:%M:%S",
    "%D-%H:%M",
    "%S",
];

/// `0-01:00:00.0`, `-1-01:01:01.5`.
impl fmt::Display for Timespan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format(SPAN_FORMATS[0]) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "Timespan({})", self.0),
        }
    }
}

enum SpanSegment {
    Literal(String),
    Value(SpanValue),
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Nano,
    Milli,
    Second,
    Minute,
    Hour,
    Day,
}

struct SpanValue {
    unit: Unit,
    /// `None` for `-` (no padding), else the pad character.
    pad: Option<char>,
    width: Option<usize>,
    /// The largest unit of the format counts the whole span, not what is left of it.
    total: bool,
}

impl Unit {
    fn default_width(self) -> usize {
        match self {
            Unit::Day => 1,
            Unit::Milli => 3,
            Unit::Nano => 9,
            _ => 2,
        }
    }

    fn nanos(self) -> i128 {
        match self {
            Unit::Nano => 1,
            Unit::Milli => NANOS_PER_MILLI,
            Unit::Second => NANOS_PER_SECOND,
            Unit::Minute => NANOS_PER_MINUTE,
            Unit::Hour => NANOS_PER_HOUR,
            Unit::Day => NANOS_PER_DAY,
        }
    }

    /// How many of this unit make the next larger one.
    fn modulus(self) -> i128 {
        match self {
            Unit::Nano => NANOS_PER_SECOND,
            Unit::Milli => 1000,
            Unit::Second | Unit::Minute => 60,
            Unit::Hour => 24,
            Unit::Day => i128::MAX,
        }
    }
}

impl SpanValue {
    fn width(&self) -> usize {
        self.width.unwrap_or(self.unit.default_width())
    }

    fn fragment(&self) -> bool {
        matches!(self.unit, Unit::Milli | Unit::Nano)
    }

    /// This segment's number of a span of `total` nanoseconds.
    fn amount(&self, total: i128) -> i128 {
        if self.unit == Unit::Nano {
            let width = self.width();
            let scaled = if width < 9 {
                total / 10i128.pow(9 - width as u32)
            } else {
                total
            };
            return match (self.total, width < 9) {
                (true, _) => scaled,
                (false, true) => scaled % 10i128.pow(width as u32),
                (false, false) => scaled % NANOS_PER_SECOND,
            };
        }
        let whole = total / self.unit.nanos();
        if self.total {
            whole
        } else {
            whole % self.unit.modulus()
        }
    }

    fn show(&self, total: i128) -> String {
        let mut n = self.amount(total);
        if self.fragment() {
            // Trailing zeros of a fraction say nothing, unless zero padding asks for them.
            if !self.total && self.pad != Some('0') {
                while n != 0 && n % 10 == 0 {
                    n /= 10;
                }
            }
            return match self.pad {
                None => n.to_string(),
                Some(_) => format!("{n:<w$}", w = self.width()),
            };
        }
        let width = self.width();
        match self.pad {
            None => n.to_string(),
            Some(' ') => format!("{n:>width$}"),
            Some(_) => format!("{n:0>width$}"),
        }
    }

    /// The pattern this segment reads.
    fn pattern(&self) -> String {
        let default = self.unit.default_width();
        match (self.width, self.pad) {
            (None, Some(' ')) if self.total => r"\s*([0-9]+)".into(),
            (None, Some(' ')) => format!(r"([0-9\s]{{1,{default}}})"),
            (None, _) if self.total => "([0-9]+)".into(),
            (None, _) => format!("([0-9]{{1,{default}}})"),
            (Some(w), None) => format!("([0-9]{{1,{w}}})"),
            (Some(w), Some('0')) => format!("([0-9]{{{w}}})"),
            (Some(w), Some(_)) => format!(r"([0-9\s]{{{w}}})"),
        }
    }

    /// The nanoseconds a matched group stands for.
    fn read(&self, group: &str) -> Option<i128> {
        let digits = group.trim_start();
        let n: i128 = digits.parse().ok()?;
        if self.fragment() {
            let scale = 9i32 - digits.len() as i32;
            return Some(if scale <= 0 {
                n
            } else {
                n * 10i128.pow(scale as u32)
            });
        }
        n.checked_mul(self.unit.nanos())
    }
}

fn parse_span_format(format: &str) -> Result<Vec<SpanSegment>, TimeError> {
    let bad = |start: usize, position: usize| {
        let expression: String = format.chars().skip(start).take(position - start).collect();
        error(format!(
            "Bad format specifier '{expression}' in '{format}', at position {position}"
        ))
    };
    let mut segments: Vec<SpanSegment> = Vec::new();
    let mut chars = format.chars().enumerate().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            push_literal(&mut segments, c);
            continue;
        }
        let mut pad = Some('0');
        let mut width: Option<usize> = None;
        let mut position = start;
        let mut flags_allowed = true;
        loop {
            let Some((at, c)) = chars.next() else {
                return Err(bad(start, position + 1));
            };
            position = at;
            let unit = match c {
                '%' if flags_allowed && width.is_none() => {
                    push_literal(&mut segments, '%');
                    break;
                }
                '-' if flags_allowed => {
                    pad = None;
                    flags_allowed = false;
                    continue;
                }
                '_' if flags_allowed => {
                    pad = Some(' ');
                    flags_allowed = false;
                    continue;
                }
                'D' => Unit::Day,
                'H' => Unit::Hour,
                'M' => Unit::Minute,
                'S' => Unit::Second,
                'L' => Unit::Milli,
                'N' => Unit::Nano,
                d if d.is_ascii_digit() => {
                    if flags_allowed && d == '0' {
                        pad = Some('0');
                    } else {
                        width = Some(add_digit(width, d));
                    }
                    flags_allowed = false;
                    continue;
                }
                _ => return Err(bad(start, at)),
            };
            segments.push(SpanSegment::Value(SpanValue {
                unit,
                pad,
                width,
                total: false,
            }));
            break;
        }
    }
    let largest = segments
        .iter()
        .filter_map(|s| match s {
            SpanSegment::Value(v) => Some(v.unit),
            SpanSegment::Literal(_) => None,
        })
        .max();
    if let Some(largest) = largest {
        if let Some(SpanSegment::Value(v)) = segments
            .iter_mut()
            .find(|s| matches!(s, SpanSegment::Value(v) if v.unit == largest))
        {
            v.total = true;
        }
    }
    Ok(segments)
}

fn push_literal(segments: &mut Vec<SpanSegment>, c: char) {
    match segments.last_mut() {
        Some(SpanSegment::Literal(text)) => text.push(c),
        _ => segments.push(SpanSegment::Literal(c.to_string())),
    }
}

fn parse_span(text: &str, segments: &[SpanSegment]) -> Option<Timespan> {
    let mut pattern = String::from(r"\A-?");
    for segment in segments {
        match segment {
            SpanSegment::Literal(literal) => {
                pattern.push_str(&format!("({})", regex::escape(literal)))
            }
            SpanSegment::Value(value) => pattern.push_str(&value.pattern()),
        }
    }
    pattern.push_str(r"\z");
    let regex = regex::Regex::new(&pattern).ok()?;
    let captures = regex.captures(text)?;
    let mut nanos: i128 = 0;
    for (segment, group) in segments.iter().zip(captures.iter().skip(1)) {
        if let (SpanSegment::Value(value), Some(group)) = (segment, group) {
            if value.total && value.fragment() && segments.len() > 1 {
                return None;
            }
            nanos = nanos.checked_add(value.read(group.as_str())?)?;
        }
    }
    Some(Timespan(if text.starts_with('-') { -nanos } else { nanos }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_and_parse_as_puppet_does() {
        assert_eq!(
            Timestamp(0).to_string(),
            "1970-01-01T00:00:00.000000000 UTC"
        );
        let parsed = Timestamp::parse("2021-03-04T05:06:07.123Z", None, None).unwrap();
        assert_eq!(parsed.to_string(), "2021-03-04T05:06:07.123000000 UTC");
        let day = Timestamp::parse("2021-03-04", Some(&["%F".to_string()]), None).unwrap();
        assert_eq!(day.to_string(), "2021-03-04T00:00:00.000000000 UTC");
        assert!(Timestamp::parse("yesterday", None, None).is_err());
        assert_eq!(
            Timestamp(0)
                .format("%Y-%m-%d %H:%M:%S %z %Z %L %N %j %a %A %b %B %s", None)
                .unwrap(),
            "1970-01-01 00:00:00 +0000 UTC 000 000000000 001 Thu Thursday Jan January 0"
        );
    }

    #[test]
    fn timespans_print_as_puppet_does() {
        assert_eq!(
            Timespan(3600 * NANOS_PER_SECOND).to_string(),
            "0-01:00:00.0"
        );
        assert_eq!(
            Timespan(3600 * NANOS_PER_SECOND + NANOS_PER_SECOND / 2).to_string(),
            "0-01:00:00.5"
        );
        assert_eq!(
            Timespan(-90061 * NANOS_PER_SECOND).to_string(),
            "-1-01:01:01.0"
        );
        assert_eq!(
            Timespan::parse("1-02:03:04.5", None).unwrap(),
            Timespan(93784 * NANOS_PER_SECOND + NANOS_PER_SECOND / 2)
        );
        assert!(Timespan(0).format("%Q").is_err());
    }

    #[test]
    fn huge_widths_and_extreme_times_are_no_panic() {
        let wide = Timestamp(0)
            .format("%99999999999999999999999N", None)
            .unwrap();
        assert!(wide.len() <= 10_000);
        assert!(Timespan(1).format("%99999999999999999999999S").is_ok());
        assert!(Timestamp(i128::MAX / 2).format("%Y", None).is_err());
        assert_eq!(
            Timestamp(i128::MAX / 2).to_string(),
            format!("Timestamp({})", i128::MAX / 2)
        );
        assert!(Timestamp::parse("99999999999-01-01", None, None).is_err());
    }
}
