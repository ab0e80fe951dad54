//! Formatting values as text: `sprintf` (Ruby's `Kernel#format`, which Puppet's `sprintf`
//! calls) and `String.new(value, format)` (Puppet's string converter, string_converter.rb).

use super::super::evaluator::describe_value_type;
use super::super::types::Type;
use super::super::value::{base64_strict, format_float, Value, REDACTED};
use super::convert::{parse_float, parse_integer};
use super::{bad, too_large, FunctionError};

/// The widest field or the longest precision a format may ask for.
const MAX_WIDTH: usize = 10_000;

/// A `%` directive's flags, width and precision, as Ruby's `format` and Puppet's string
/// converter both read them.
#[derive(Clone, Default, Debug)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    /// `text` padded to the width: on the right with `-`, else on the left.
    fn pad(&self, text: String) -> String {
        let len = text.chars().count();
        match self.width {
            Some(width) if width > len && self.left => format!("{text}{}", " ".repeat(width - len)),
            Some(width) if width > len => format!("{}{text}", " ".repeat(width - len)),
            _ => text,
        }
    }

    /// A number's digits with its sign (or `+`/space) and prefix, padded with zeros after
    /// the sign when `0` asks for it.
    fn pad_number(&self, negative: bool, prefix: &str, digits: &str) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let body_len = sign.len() + prefix.len() + digits.chars().count();
        match self.width {
            Some(width) if self.zero && !self.left && width > body_len => {
                format!("{sign}{prefix}{}{digits}", "0".repeat(width - body_len))
            }
            _ => self.pad(format!("{sign}{prefix}{digits}")),
        }
    }

    /// A string cut to the precision, then padded.
    fn pad_text(&self, text: &str) -> String {
        let cut: String = match self.precision {
            Some(p) => text.chars().take(p).collect(),
            None => text.to_string(),
        };
        self.pad(cut)
    }
}

/// `sprintf(format, values...)`.
pub(super) fn sprintf(args: &[Value]) -> Result<Value, FunctionError> {
    let Some(Value::String(format)) = args.first() else {
        return Err(bad(format!(
            "sprintf() expects a String format, got {}",
            args.first().map_or("nothing".into(), describe_value_type)
        )));
    };
    // Puppet hands a function of the old API its arguments with times, binaries and regexes
    // as their strings, and an undef argument as an empty string.
    let values: Vec<Value> = args[1..]
        .iter()
        .map(|arg| match arg {
            Value::Undef => Value::String(String::new()),
            other => legacy_argument(other),
        })
        .collect();
    ruby_format(format, &values).map(Value::String)
}

fn legacy_argument(value: &Value) -> Value {
    match value {
        Value::Regex(_) | Value::Timestamp(_) | Value::Timespan(_) | Value::Binary(_) => {
            Value::String(value.to_string())
        }
        Value::Array(items) => Value::Array(items.iter().map(legacy_argument).collect()),
        Value::Hash(map) => Value::Hash(
            map.iter()
                .map(|(k, v)| (legacy_argument(k), legacy_argument(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Where the arguments of a format come from: in order, by position (`%1$s`), or by name
/// from the one hash (`%<a>s`, `%{a}`).
struct Arguments<'a> {
    values: &'a [Value],
    next: usize,
}

impl<'a> Arguments<'a> {
    fn next(&mut self) -> Result<&'a Value, FunctionError> {
        let value = self
            .values
            .get(self.next)
            .ok_or_else(|| bad("too few arguments"))?;
        self.next += 1;
        Ok(value)
    }

    fn at(&self, position: usize) -> Result<&'a Value, FunctionError> {
        position
            .checked_sub(1)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| bad("too few arguments"))
    }

    fn named(&self, name: &str) -> Result<&'a Value, FunctionError> {
        let [Value::Hash(map)] = self.values else {
            return Err(bad("one hash required"));
        };
        map.get(&Value::from(name))
            .ok_or_else(|| bad(format!("key<{name}> not found")))
    }

    fn count(&mut self) -> Result<i64, FunctionError> {
        match self.next()? {
            Value::Integer(i) => Ok(*i),
            other => Err(bad(format!(
                "the width or precision `*` takes an Integer, got {}",
                describe_value_type(other)
            ))),
        }
    }
}

/// Ruby's `Kernel#format`.
fn ruby_format(format: &str, values: &[Value]) -> Result<String, FunctionError> {
    let mut args = Arguments { values, next: 0 };
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut value: Option<&Value> = None;
        let conversion = loop {
            let Some(c) = chars.next() else {
                return Err(bad(
                    "incomplete format specifier; use %% (double %) instead",
                ));
            };
            match c {
                '-' => spec.left = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '0' if spec.width.is_none() => spec.zero = true,
                '#' => spec.alt = true,
                '*' => {
                    let width = args.count()?;
                    spec.left |= width < 0;
                    spec.width = Some(checked_width(width.unsigned_abs())?);
                }
                '.' => {
                    let precision = if chars.peek() == Some(&'*') {
                        chars.next();
                        args.count()?.max(0) as u64
                    } else {
                        read_digits(0, &mut chars)
                    };
                    spec.precision = Some(checked_width(precision)?);
                }
                d if d.is_ascii_digit() => {
                    let n = read_digits(u64::from(d as u8 - b'0'), &mut chars);
                    if chars.peek() == Some(&'$') {
                        chars.next();
                        value = Some(args.at(n as usize)?);
                    } else {
                        spec.width = Some(checked_width(n)?);
                    }
                }
                '<' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                    value = Some(args.named(&name)?);
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let text = ruby_to_s(args.named(&name)?);
                    break Directive::Literal(spec.pad_text(&text));
                }
                '%' => break Directive::Literal("%".into()),
                letter => break Directive::Convert(letter),
            }
        };
        match conversion {
            Directive::Literal(text) => out.push_str(&text),
            Directive::Convert(letter) => {
                let value = match value {
                    Some(v) => v,
                    None => args.next()?,
                };
                out.push_str(&convert_one(letter, &spec, value)?);
            }
        }
    }
    Ok(out)
}

enum Directive {
    Literal(String),
    Convert(char),
}

/// The number whose digits follow `first` (what was read of it so far).
fn read_digits(first: u64, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> u64 {
    let mut n = first;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(u64::from(d));
        chars.next();
    }
    n
}

fn checked_width(n: u64) -> Result<usize, FunctionError> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_WIDTH)
        .ok_or_else(|| too_large(format!("sprintf(): a width or precision of {n} is too big")))
}

/// One conversion of Ruby's `format` of one value.
fn convert_one(letter: char, spec: &Spec, value: &Value) -> Result<String, FunctionError> {
    match letter {
        's' => Ok(spec.pad_text(&ruby_to_s(value))),
        'p' => Ok(spec.pad_text(&ruby_inspect(value))),
        'c' => {
            let text = match value {
                Value::Integer(i) => u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .map(String::from)
                    .ok_or_else(|| bad(format!("invalid character: {i}")))?,
                Value::String(s) if s.chars().count() == 1 => s.clone(),
                Value::String(_) => return Err(bad("%c requires a character")),
                other => return Err(not_a_number(other, "Integer")),
            };
            Ok(spec.pad(text))
        }
        'd' | 'i' | 'u' => {
            let n = ruby_integer(value)?;
            let digits = n.unsigned_abs().to_string();
            let digits = zero_extend(&digits, spec.precision);
            Ok(spec.pad_number(n < 0, "", &digits))
        }
        'x' | 'X' | 'o' | 'b' | 'B' => Ok(radix_number(letter, spec, ruby_integer(value)?)),
        'f' | 'e' | 'E' | 'g' | 'G' | 'a' | 'A' => {
            Ok(float_number(letter, spec, ruby_float(value)?))
        }
        other => Err(bad(format!("malformed format string - %{other}"))),
    }
}

/// Digits made at least `precision` long with leading zeros.
fn zero_extend(digits: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) if p > digits.len() => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits.to_string(),
    }
}

/// `%x %X %o %b %B`: a negative number without `+` or space shows as Ruby shows it, the
/// two's complement digits after `..` (`..f01` for -255).
fn radix_number(letter: char, spec: &Spec, n: i128) -> String {
    let base: i128 = match letter {
        'x' | 'X' => 16,
        'o' => 8,
        _ => 2,
    };
    let prefix = match (spec.alt, letter) {
        (false, _) => "",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        (true, 'o') => "0",
        (true, 'b') => "0b",
        (true, _) => "0B",
    };
    let explicit_sign = spec.plus || spec.space;
    let digits = if n < 0 && !explicit_sign {
        let mut digits = complement_digits(n, base);
        digits.insert_str(0, "..");
        digits
    } else {
        to_radix(n.unsigned_abs(), base as u32)
    };
    let digits = if letter == 'X' {
        digits.to_uppercase()
    } else {
        digits
    };
    let digits = zero_extend(&digits, spec.precision);
    // A zero with `#` octal is just `0`.
    let prefix = if letter == 'o' && digits.starts_with('0') {
        ""
    } else {
        prefix
    };
    spec.pad_number(n < 0 && explicit_sign, prefix, &digits)
}

fn to_radix(mut n: u128, base: u32) -> String {
    if n == 0 {
        return "0".into();
    }
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(char::from_digit((n % u128::from(base)) as u32, base).unwrap_or('?'));
        n /= u128::from(base);
    }
    digits.iter().rev().collect()
}

/// The digits of a negative number in two's complement, led by one all-ones digit.
fn complement_digits(mut n: i128, base: i128) -> String {
    let mut digits = Vec::new();
    while n != -1 {
        digits.push(char::from_digit(n.rem_euclid(base) as u32, base as u32).unwrap_or('?'));
        n = n.div_euclid(base);
    }
    digits.push(char::from_digit((base - 1) as u32, base as u32).unwrap_or('?'));
    digits.iter().rev().collect()
}

fn float_number(letter: char, spec: &Spec, x: f64) -> String {
    if !x.is_finite() {
        let text = if x.is_nan() { "NaN" } else { "Inf" };
        let spec = Spec {
            zero: false,
            ..spec.clone()
        };
        return spec.pad_number(x < 0.0, "", text);
    }
    let negative = x.is_sign_negative();
    let x = x.abs();
    let precision = spec.precision;
    let digits = match letter {
        'f' => fixed(x, precision.unwrap_or(6), spec.alt),
        'e' | 'E' => exponent(x, precision.unwrap_or(6), spec.alt, letter == 'E'),
        'g' | 'G' => general(x, precision.unwrap_or(6), spec.alt, letter == 'G'),
        _ => hex_float(x, precision, letter == 'A'),
    };
    spec.pad_number(negative, "", &digits)
}

fn fixed(x: f64, precision: usize, alt: bool) -> String {
    let text = format!("{x:.precision$}");
    if alt && precision == 0 {
        format!("{text}.")
    } else {
        text
    }
}

/// `1.234568e+04`: C's exponent form, at least two exponent digits.
fn exponent(x: f64, precision: usize, alt: bool, upper: bool) -> String {
    let text = format!("{x:.precision$e}");
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let point = if alt && precision == 0 { "." } else { "" };
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}{point}{e}{sign}{:02}", exp.abs())
}

/// C's `%g`: fixed or exponent form by the exponent, trailing zeros dropped unless `#`.
fn general(x: f64, precision: usize, alt: bool, upper: bool) -> String {
    let precision = precision.max(1);
    let exp = if x == 0.0 {
        0
    } else {
        let text = format!("{x:.*e}", precision - 1);
        text.split_once('e')
            .and_then(|(_, e)| e.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let text = if exp < -4 || exp >= precision as i32 {
        exponent(x, precision - 1, alt, upper)
    } else {
        fixed(x, (precision as i32 - 1 - exp).max(0) as usize, alt)
    };
    if alt {
        return text;
    }
    let (mantissa, rest) = match text.find(['e', 'E']) {
        Some(at) => text.split_at(at),
        None => (text.as_str(), ""),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{mantissa}{rest}")
}

/// C's `%a`: `0x1.8p+1`.
fn hex_float(x: f64, precision: Option<usize>, upper: bool) -> String {
    let bits = x.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1u64 << 52) - 1);
    let (lead, exp) = match (raw_exp, mantissa) {
        (0, 0) => (0, 0),
        (0, _) => (0, -1022),
        _ => (1, raw_exp - 1023),
    };
    let mut hex = format!("{mantissa:013x}");
    match precision {
        Some(p) if p < 13 => hex.truncate(p),
        Some(p) => hex.push_str(&"0".repeat(p - 13)),
        None => {
            let trimmed = hex.trim_end_matches('0').len();
            hex.truncate(trimmed);
        }
    }
    let point = if hex.is_empty() { "" } else { "." };
    let sign = if exp < 0 { '-' } else { '+' };
    let text = format!("0x{lead}{point}{hex}p{sign}{}", exp.abs());
    if upper {
        text.to_uppercase()
    } else {
        text
    }
}

/// What Ruby's `Integer()` makes of a `format` argument: numbers (floats truncated), and
/// strings that spell an integer.
fn ruby_integer(value: &Value) -> Result<i128, FunctionError> {
    match value {
        Value::Integer(i) => Ok(i128::from(*i)),
        Value::Float(f) if f.is_finite() => Ok(f.trunc() as i128),
        Value::String(s) => parse_integer(s.trim(), None)
            .map(i128::from)
            .ok_or_else(|| bad(format!("invalid value for Integer(): \"{s}\""))),
        other => Err(not_a_number(other, "Integer")),
    }
}

fn ruby_float(value: &Value) -> Result<f64, FunctionError> {
    match value {
        Value::Integer(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::String(s) => {
            parse_float(s.trim()).ok_or_else(|| bad(format!("invalid value for Float(): \"{s}\"")))
        }
        other => Err(not_a_number(other, "Float")),
    }
}

fn not_a_number(value: &Value, to: &str) -> FunctionError {
    match value {
        Value::Undef => bad(format!("can't convert nil into {to}")),
        other => bad(format!("can't convert {} into {to}", ruby_class(other))),
    }
}

/// The Ruby class a value is in Puppet's runtime, as Ruby's errors name it.
fn ruby_class(value: &Value) -> &'static str {
    match value {
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        Value::Array(_) => "Array",
        Value::Hash(_) => "Hash",
        Value::Default => "Symbol",
        other => other.type_name(),
    }
}

/// Ruby's `to_s` of a value of Puppet's runtime: arrays and hashes in their inspect form.
fn ruby_to_s(value: &Value) -> String {
    match value {
        Value::Undef => String::new(),
        Value::Array(_) | Value::Hash(_) => ruby_inspect(value),
        Value::Regex(r) => format!("(?-mix:{r})"),
        other => other.to_string(),
    }
}

/// Ruby's `inspect`: `{"a"=>1}`, `nil`, `:default`, `#<Sensitive [value redacted]>`.
pub(super) fn ruby_inspect(value: &Value) -> String {
    match value {
        Value::String(s) => ruby_string_inspect(s),
        Value::Undef => "nil".into(),
        Value::Default => ":default".into(),
        Value::Sensitive(_) => format!("#<{REDACTED}>"),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(ruby_inspect)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Hash(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}=>{}", ruby_inspect(k), ruby_inspect(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn ruby_string_inspect(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '#' => out.push('#'),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------
// String.new(value, format): Puppet's string converter.

/// A format of the string converter: `%<flags><width>.<precision><letter>`, where the flags
/// may also name the delimiters of a container (`[ { ( < |`).
#[derive(Clone, Debug)]
struct Format {
    letter: char,
    spec: Spec,
    delimiters: Option<char>,
    /// For containers: between elements, and between a key and its value.
    separator: Option<String>,
    separator2: Option<String>,
    /// For containers: the formats of their elements.
    element_formats: Option<Vec<(Type, Format)>>,
}

impl Format {
    fn parse(text: &str) -> Result<Format, FunctionError> {
        let invalid = || {
            bad(format!(
                "The format '{text}' is not a valid format on the form '%<flags><width>.<prec><format>'"
            ))
        };
        let body = text.strip_prefix('%').ok_or_else(invalid)?;
        let flags_end = body
            .find(|c: char| !" [+#0{<(|-".contains(c))
            .ok_or_else(invalid)?;
        let (flags, rest) = body.split_at(flags_end);
        let letter = rest.chars().last().ok_or_else(invalid)?;
        if !letter.is_ascii_alphabetic() {
            return Err(invalid());
        }
        let numbers = &rest[..rest.len() - 1];
        let (width, precision) = match numbers.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (numbers, None),
        };
        let number = |s: &str| -> Result<Option<usize>, FunctionError> {
            if s.is_empty() {
                return Ok(None);
            }
            if !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') && s.len() > 1 {
                return Err(invalid());
            }
            checked_width(s.parse().map_err(|_| invalid())?).map(Some)
        };
        let width = number(width)?;
        let precision = match precision {
            Some("") | None => None,
            Some(p) => number(p)?.or(Some(0)),
        };
        let mut seen = String::new();
        for flag in flags.chars() {
            if seen.contains(flag) {
                return Err(bad(format!(
                    "The same flag can only be used once, got '{text}'"
                )));
            }
            seen.push(flag);
        }
        let delimiters: Vec<char> = flags.chars().filter(|c| "[{(<|".contains(*c)).collect();
        if delimiters.len() > 1 {
            return Err(bad(format!(
                "Only one of the delimiters [ {{ ( < | can be given in the format flags, got '{text}'"
            )));
        }
        Ok(Format {
            letter,
            spec: Spec {
                left: flags.contains('-'),
                plus: flags.contains('+'),
                space: flags.contains(' '),
                zero: flags.contains('0'),
                alt: flags.contains('#'),
                width,
                precision,
            },
            delimiters: delimiters.first().copied(),
            separator: None,
            separator2: None,
            element_formats: None,
        })
    }

    /// The opening and closing delimiters, or the defaults.
    fn delimiters(&self, default: (&'static str, &'static str)) -> (&'static str, &'static str) {
        match self.delimiters {
            Some('[') => ("[", "]"),
            Some('{') => ("{", "}"),
            Some('(') => ("(", ")"),
            Some('<') => ("<", ">"),
            Some('|') => ("|", "|"),
            _ if self.spec.space => ("", ""),
            _ => default,
        }
    }

    fn unsupported(&self, type_name: &str, letters: &str) -> FunctionError {
        bad(format!(
            "Illegal format '{}' specified for value of {type_name} type - expected one of the characters '{letters}'",
            self.letter
        ))
    }
}

/// The formats in effect: the user's for some types, then the defaults; the first whose type
/// the value is an instance of applies.
#[derive(Clone)]
struct FormatMap(Vec<(Type, Format)>);

impl FormatMap {
    fn defaults() -> FormatMap {
        let any = |t: Type, f: &str| (t, plain(f));
        FormatMap(vec![
            any(Type::named("Float").unwrap_or(Type::Any), "%f"),
            any(Type::Numeric, "%d"),
            any(Type::named("Array").unwrap_or(Type::Any), "%a"),
            any(Type::named("Hash").unwrap_or(Type::Any), "%h"),
            any(Type::Binary, "%B"),
            any(Type::Any, "%s"),
        ])
    }

    /// User formats before the defaults, the more specific types first.
    fn with(mut self, mut given: Vec<(Type, Format)>) -> FormatMap {
        given.sort_by(|(a, _), (b, _)| {
            if b.is_assignable(a) && !a.is_assignable(b) {
                std::cmp::Ordering::Less
            } else if a.is_assignable(b) && !b.is_assignable(a) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
        given.append(&mut self.0);
        FormatMap(given)
    }

    fn find(&self, value: &Value) -> Format {
        self.0
            .iter()
            .find(|(t, _)| t.is_instance(value))
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| plain("%s"))
    }
}

/// A format known to be valid.
fn plain(text: &str) -> Format {
    Format::parse(text).unwrap_or(Format {
        letter: 's',
        spec: Spec::default(),
        delimiters: None,
        separator: None,
        separator2: None,
        element_formats: None,
    })
}

/// `String(value)`, `String(value, '%x')`, `String(value, {Integer => '%x'})`.
pub(super) fn string_new(value: &Value, format: Option<&Value>) -> Result<Value, FunctionError> {
    let map = match format {
        None | Some(Value::Default) => FormatMap::defaults(),
        Some(Value::String(text)) => {
            let format = Format::parse(text)?;
            let applies_to = match value {
                Value::Array(_) => Type::named("Array").unwrap_or(Type::Any),
                Value::Hash(_) => Type::named("Hash").unwrap_or(Type::Any),
                other => Type::infer(other),
            };
            FormatMap::defaults().with(vec![(applies_to, format)])
        }
        Some(Value::Hash(map)) => FormatMap::defaults().with(type_formats(map)?),
        Some(other) => {
            return Err(bad(format!(
                "'new_string' parameter 'string_formats' expects a value of type Default, String, or Hash, got {}",
                Type::infer(other).generalize()
            )))
        }
    };
    convert_value(value, &map, &element_defaults()).map(Value::String)
}

/// The formats of the elements of a container unless given: strings quoted (`%p`).
fn element_defaults() -> FormatMap {
    FormatMap(vec![(Type::Any, plain("%p"))])
}

/// A hash of types to formats: a format string, or for containers a hash of `format`,
/// `separator`, `separator2` and `string_formats`.
fn type_formats(map: &super::super::value::HashMap) -> Result<Vec<(Type, Format)>, FunctionError> {
    let mut formats = Vec::new();
    for (key, value) in map {
        let Value::Type(t) = key else {
            return Err(bad(format!(
                "top level keys in the format hash must be data types, got instance of '{}'",
                ruby_class(key)
            )));
        };
        let format = match value {
            Value::String(text) => Format::parse(text)?,
            Value::Hash(container) => container_format(container)?,
            other => {
                return Err(bad(format!(
                    "a format must be a String or a Hash, got {}",
                    describe_value_type(other)
                )))
            }
        };
        formats.push((*t.clone(), format));
    }
    Ok(formats)
}

fn container_format(map: &super::super::value::HashMap) -> Result<Format, FunctionError> {
    let get = |key: &str| map.get(&Value::from(key));
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            Some("format" | "separator" | "separator2" | "string_formats")
        ) {
            return Err(bad(format!(
                "only 'separator', 'separator2', 'format', 'string_formats' are allowed in a container format, got {}",
                Value::Hash(map.clone())
            )));
        }
    }
    let text = |key: &str| get(key).and_then(Value::as_str).map(str::to_string);
    let mut format = Format::parse(&text("format").unwrap_or_default())?;
    format.separator = text("separator");
    format.separator2 = text("separator2");
    if let Some(Value::Hash(inner)) = get("string_formats") {
        format.element_formats = Some(type_formats(inner)?);
    }
    Ok(format)
}

/// One value by the formats in effect; `elements` are what the elements of a container use.
fn convert_value(
    value: &Value,
    map: &FormatMap,
    elements: &FormatMap,
) -> Result<String, FunctionError> {
    let f = map.find(value);
    let spec = &f.spec;
    match value {
        Value::Undef => undef_text(&f),
        Value::Default => match f.letter {
            'd' | 's' | 'p' => Ok(spec.pad_text(if spec.alt { "\"default\"" } else { "default" })),
            'D' => Ok(spec.pad_text(if spec.alt { "\"Default\"" } else { "Default" })),
            _ => Err(f.unsupported("Default", "dDsp")),
        },
        Value::Bool(b) => bool_text(*b, &f, map, elements),
        Value::Integer(i) => integer_text(*i, &f),
        Value::Float(x) => float_text(*x, &f),
        Value::String(s) => string_text(s, &f),
        Value::Regex(r) => match f.letter {
            'p' => Ok(spec.pad_text(&format!("/{r}/"))),
            's' if spec.alt => Ok(spec.pad_text(&puppet_quote(r, false))),
            's' => Ok(spec.pad_text(r)),
            _ => Err(f.unsupported("Regexp", "sp")),
        },
        Value::Array(items) => array_text(items, &f, map, elements),
        Value::Hash(entries) => hash_text(entries, &f, map, elements),
        Value::Type(t) => match f.letter {
            's' if spec.alt => Ok(spec.pad_text(&format!("\"{t}\""))),
            's' | 'p' => Ok(spec.pad_text(&t.to_string())),
            _ => Err(f.unsupported("Type", "sp")),
        },
        Value::Binary(bytes) => binary_text(bytes, &f),
        Value::Timestamp(t) => match f.letter {
            's' => Ok(spec.pad_text(&t.to_string())),
            'p' => Ok(spec.pad_text(&format!("Timestamp('{t}')"))),
            _ => Err(f.unsupported("Timestamp", "sp")),
        },
        Value::Timespan(t) => match f.letter {
            's' => Ok(spec.pad_text(&t.to_string())),
            'p' => Ok(spec.pad_text(&format!("Timespan('{t}')"))),
            _ => Err(f.unsupported("Timespan", "sp")),
        },
        Value::Sensitive(_) => match f.letter {
            'p' => Ok(spec.pad_text(&format!("#<{REDACTED}>"))),
            _ => Ok(spec.pad_text(REDACTED)),
        },
    }
}

fn undef_text(f: &Format) -> Result<String, FunctionError> {
    let alt = f.spec.alt;
    let text = match f.letter {
        'n' => {
            if alt {
                "null"
            } else {
                "nil"
            }
        }
        'u' => {
            if alt {
                "undefined"
            } else {
                "undef"
            }
        }
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' | 'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => "NaN",
        'v' => "n/a",
        'V' => "N/A",
        's' => {
            if alt {
                "\"\""
            } else {
                ""
            }
        }
        'p' => {
            if alt {
                "\"undef\""
            } else {
                "undef"
            }
        }
        _ => return Err(f.unsupported("Undef", "nudxXobBeEfgGaAvVsp")),
    };
    Ok(f.spec.pad_text(text))
}

fn bool_text(
    b: bool,
    f: &Format,
    map: &FormatMap,
    elements: &FormatMap,
) -> Result<String, FunctionError> {
    let word = |long: &str| -> String {
        if f.spec.alt {
            long.chars().take(1).collect()
        } else {
            long.to_string()
        }
    };
    let text = match f.letter {
        't' => word(if b { "true" } else { "false" }),
        'T' => word(if b { "True" } else { "False" }),
        'y' => word(if b { "yes" } else { "no" }),
        'Y' => word(if b { "Yes" } else { "No" }),
        's' | 'p' => b.to_string(),
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' => {
            let as_number = FormatMap(vec![(Type::Any, f.clone())]);
            return convert_value(&Value::Integer(i64::from(b)), &as_number, elements);
        }
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => {
            let as_number = FormatMap(vec![(Type::Any, f.clone())]);
            let _ = map;
            return convert_value(&Value::Float(f64::from(u8::from(b))), &as_number, elements);
        }
        _ => return Err(f.unsupported("Boolean", "tTyYdxXobBeEfgGaAsp")),
    };
    Ok(f.spec.pad_text(&text))
}

fn integer_text(i: i64, f: &Format) -> Result<String, FunctionError> {
    let value = Value::Integer(i);
    match f.letter {
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' | 'p' => {
            let letter = if f.letter == 'p' { 'd' } else { f.letter };
            convert_one(letter, &f.spec, &value)
        }
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => {
            convert_one(f.letter, &f.spec, &Value::Float(i as f64))
        }
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| bad(format!("invalid character: {i}")))?;
            let text = if f.spec.alt {
                format!("\"{c}\"")
            } else {
                c.to_string()
            };
            Ok(f.spec.pad_text(&text))
        }
        's' => {
            let text = i.to_string();
            Ok(f.spec.pad_text(&if f.spec.alt {
                ruby_string_inspect(&text)
            } else {
                text
            }))
        }
        _ => Err(f.unsupported("Integer", "dxXobBeEfgGaAspc")),
    }
}

fn float_text(x: f64, f: &Format) -> Result<String, FunctionError> {
    match f.letter {
        'd' | 'x' | 'X' | 'o' | 'b' | 'B' => {
            convert_one(f.letter, &f.spec, &Value::Float(x.trunc()))
        }
        'e' | 'E' | 'f' | 'g' | 'G' | 'a' | 'A' => convert_one(f.letter, &f.spec, &Value::Float(x)),
        'p' => Ok(f.spec.pad_text(&format_float(x))),
        's' => {
            let text = format_float(x);
            Ok(f.spec.pad_text(&if f.spec.alt {
                format!("\"{text}\"")
            } else {
                text
            }))
        }
        _ => Err(f.unsupported("Float", "dxXobBeEfgGaAsp")),
    }
}

fn string_text(s: &str, f: &Format) -> Result<String, FunctionError> {
    let changed = match f.letter {
        's' => return Ok(f.spec.pad_text(s)),
        'p' => return Ok(f.spec.pad_text(&puppet_quote(s, f.spec.alt))),
        'c' => capitalize(s),
        'C' => s.split("::").map(capitalize).collect::<Vec<_>>().join("::"),
        'u' => s.to_uppercase(),
        'd' => s.to_lowercase(),
        't' => s.trim().to_string(),
        _ => return Err(f.unsupported("String", "cCudspt")),
    };
    Ok(f.spec.pad_text(&if f.spec.alt {
        puppet_quote(&changed, false)
    } else {
        changed
    }))
}

/// Ruby's `capitalize`: the first letter upper case, the rest lower case.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// A string as Puppet source would write it: single quotes when it can, else double quotes
/// with escapes.
pub(super) fn puppet_quote(s: &str, double: bool) -> String {
    if !double && !s.chars().any(|c| (c as u32) < 0x20) {
        let mut out = String::from('\'');
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => out.push_str("\\'"),
                // A backslash escapes the next character; one at the end is doubled.
                '\\' => match chars.next() {
                    Some(next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => out.push_str("\\\\"),
                },
                c => out.push(c),
            }
        }
        out.push('\'');
        return out;
    }
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn binary_text(bytes: &[u8], f: &Format) -> Result<String, FunctionError> {
    use base64::Engine as _;
    let shown = |text: String| -> String {
        if f.spec.alt {
            f.spec.pad_text(&ruby_string_inspect(&text))
        } else {
            f.spec.pad_text(&text)
        }
    };
    Ok(match f.letter {
        's' => {
            shown(String::from_utf8(bytes.to_vec()).map_err(|_| {
                bad("The binary is not valid UTF-8 and cannot be shown as a string")
            })?)
        }
        'p' => format!("Binary(\"{}\")", f.spec.pad_text(&base64_strict(bytes))),
        'b' => shown(relaxed_base64(bytes)),
        'B' => shown(base64_strict(bytes)),
        'u' => shown(base64::engine::general_purpose::URL_SAFE.encode(bytes)),
        't' => shown("Binary".into()),
        'T' => shown("BINARY".into()),
        _ => return Err(f.unsupported("Binary", "bButTsp")),
    })
}

/// Ruby's `Base64.encode64`: lines of 60 characters, each ending in a newline.
fn relaxed_base64(bytes: &[u8]) -> String {
    let strict = base64_strict(bytes);
    let mut out = String::new();
    for line in strict.as_bytes().chunks(60) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out
}

fn array_text(
    items: &[Value],
    f: &Format,
    map: &FormatMap,
    elements: &FormatMap,
) -> Result<String, FunctionError> {
    if !matches!(f.letter, 'a' | 's' | 'p') {
        return Err(f.unsupported("Array", "asp"));
    }
    let (open, close) = f.delimiters(("[", "]"));
    let separator = f.separator.clone().unwrap_or_else(|| ", ".into());
    let inner = element_map(f, elements);
    let parts = items
        .iter()
        .map(|item| element_text(item, map, &inner))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!("{open}{}{close}", parts.join(&separator)))
}

fn hash_text(
    entries: &super::super::value::HashMap,
    f: &Format,
    map: &FormatMap,
    elements: &FormatMap,
) -> Result<String, FunctionError> {
    match f.letter {
        'a' => {
            let pairs: Vec<Value> = entries
                .iter()
                .map(|(k, v)| Value::Array(vec![k.clone(), v.clone()]))
                .collect();
            let as_array = FormatMap::defaults();
            return array_text(&pairs, &plain("%a"), &as_array, elements);
        }
        'h' | 's' | 'p' => {}
        _ => return Err(f.unsupported("Hash", "hasp")),
    }
    let (open, close) = f.delimiters(("{", "}"));
    let separator = f.separator.clone().unwrap_or_else(|| ", ".into());
    let assoc = f.separator2.clone().unwrap_or_else(|| " => ".into());
    let inner = element_map(f, elements);
    let parts = entries
        .iter()
        .map(|(k, v)| {
            Ok(format!(
                "{}{assoc}{}",
                element_text(k, map, &inner)?,
                element_text(v, map, &inner)?
            ))
        })
        .collect::<Result<Vec<String>, FunctionError>>()?;
    Ok(format!("{open}{}{close}", parts.join(&separator)))
}

/// The formats of a container's elements: its own `string_formats`, else the defaults.
fn element_map(f: &Format, elements: &FormatMap) -> FormatMap {
    match &f.element_formats {
        Some(given) => element_defaults().with(given.clone()),
        None => elements.clone(),
    }
}

/// A nested container keeps the formats of the whole; anything else takes the element ones.
fn element_text(
    value: &Value,
    map: &FormatMap,
    elements: &FormatMap,
) -> Result<String, FunctionError> {
    match value {
        Value::Array(_) | Value::Hash(_) => convert_value(value, map, elements),
        other => convert_value(other, elements, elements),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_at_their_limits_are_errors_not_panics() {
        let format = |f: &str, v: Value| sprintf(&[Value::from(f), v]);
        assert!(format("%99999999999999999999999d", Value::Integer(1)).is_err());
        assert!(format("%.99999999999999999999999f", Value::Float(1.0)).is_err());
        assert!(format("%", Value::Integer(1)).is_err());
        assert_eq!(
            format("%x", Value::Integer(i64::MIN)).unwrap().as_str(),
            Some("..f8000000000000000")
        );
        assert!(string_new(
            &Value::Integer(1),
            Some(&Value::from("%99999999999999999d"))
        )
        .is_err());
    }
}
