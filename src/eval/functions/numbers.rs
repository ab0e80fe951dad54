//! Number functions of Puppet's core library: `round`, `floor`, `ceiling`.

use super::{bad, describe_value_type, FunctionError, Value};

/// `round`: half away from zero, to an Integer, computed as Puppet does (adding a half, then
/// truncating), which differs from `f64::round` just below one half.
pub(super) fn round(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    match one_argument(name, args)? {
        Value::Integer(i) => Ok(Value::Integer(*i)),
        Value::Float(f) if *f > 0.0 => to_integer(name, (f + 0.5).trunc()),
        Value::Float(f) => to_integer(name, (f - 0.5).trunc()),
        other => Err(bad(format!(
            "'{name}' parameter 'val' expects a Numeric value, got {}",
            other.type_name()
        ))),
    }
}

/// `floor` and `ceiling`: of a number, or (deprecated in Puppet) of a string holding one.
pub(super) fn floor_or_ceiling(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let x = match one_argument(name, args)? {
        Value::Integer(i) => return Ok(Value::Integer(*i)),
        Value::Float(f) => *f,
        Value::String(s) => crate::eval::operators::parse_number(s)
            .and_then(|n| n.as_f64())
            .ok_or_else(|| {
                bad(format!(
                    "{name}(): cannot convert given value to a floating point value."
                ))
            })?,
        other => {
            return Err(bad(format!(
                "'{name}' parameter 'val' expects a value of type Numeric or String, got {}",
                describe_value_type(other)
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
            )))
        }
    };
    to_integer(name, if name == "floor" { x.floor() } else { x.ceil() })
}

fn one_argument<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FunctionError> {
    match args {
        [one] => Ok(one),
        _ => Err(bad(format!(
            "'{name}' expects 1 argument, got {}",
            args.len()
        ))),
    }
}

/// A whole float as an Integer; Puppet's Integers are 64 bits.
fn to_integer(name: &str, whole: f64) -> Result<Value, FunctionError> {
    // i64::MAX as f64 rounds up to 2^63, which is out of range.
    if whole.is_finite() && whole >= i64::MIN as f64 && whole < i64::MAX as f64 {
        Ok(Value::Integer(whole as i64))
    } else {
        Err(bad(format!(
            "{name}(): the result {whole} is outside of Puppet Integer max range"
        )))
    }
}

/// `fqdn_rand(max, seed, downcase)`: a number below `max` that is always the same for this
/// host, the maximum and the seed, the one Puppet gives on this host: Ruby's
/// `Random.new(md5("fqdn:max:seed")).rand(max)`.
pub(super) fn fqdn_rand(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    let args = super::collections::as_3x(args);
    let Some(max) = args.first() else {
        return Err(bad(format!(
            "{name}(): Wrong number of arguments given (0 for 1)"
        )));
    };
    let mut fqdn = super::super::host_facts::fqdn();
    // As a function of Puppet's old API, any argument (even undef, given as '') is true.
    if args
        .get(2)
        .is_some_and(|v| !matches!(v, Value::Bool(false)))
    {
        fqdn = fqdn.to_lowercase();
    }
    let seed = args.get(1).map(joined).unwrap_or_default();
    fqdn_rand_for(&fqdn, ruby_to_i(max), &seed).map(Value::Integer)
}

/// `fqdn_rand` of a host named `fqdn`.
fn fqdn_rand_for(fqdn: &str, max: i64, seed: &str) -> Result<i64, FunctionError> {
    if max <= 0 {
        return Err(bad(format!("invalid argument - {max}")));
    }
    use md5::Digest;
    let digest = md5::Md5::digest(format!("{fqdn}:{max}:{seed}").as_bytes());
    let seed = u128::from_be_bytes(digest.into());
    let mut random = MersenneTwister::ruby_seeded(seed);
    Ok(random.below(max as u64 - 1) as i64)
}

/// Ruby's `Array#join(':')` of a value: arrays flattened, undef empty.
fn joined(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(joined).collect::<Vec<_>>().join(":"),
        other => other.to_display_string(),
    }
}

/// Ruby's `to_i`: the integer a string starts with (0 if none), a float truncated.
fn ruby_to_i(value: &Value) -> i64 {
    match value {
        Value::Integer(i) => *i,
        Value::Float(f) => f.trunc() as i64,
        Value::String(s) => {
            let s = s.trim_start();
            let digits_end = s
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(s.len(), |(i, _)| i);
            s[..digits_end].parse().unwrap_or(0)
        }
        _ => 0,
    }
}

/// MT19937, the generator of Ruby's `Random`, seeded and drawn from as Ruby does.
struct MersenneTwister {
    state: [u32; 624],
    index: usize,
}

impl MersenneTwister {
    /// `Random.new(seed)`: the seed's 32-bit words, lowest first, without leading zero
    /// words; a top word of exactly 1 is dropped too (Ruby's "leading-zero guard").
    fn ruby_seeded(seed: u128) -> MersenneTwister {
        let mut key: Vec<u32> = (0..4).map(|i| (seed >> (32 * i)) as u32).collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        if key.len() > 1 && key.last() == Some(&1) {
            key.pop();
        }
        if key.len() <= 1 {
            MersenneTwister::from_u32(key[0])
        } else {
            MersenneTwister::from_key(&key)
        }
    }

    /// The reference `init_genrand`.
    fn from_u32(seed: u32) -> MersenneTwister {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let previous = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        MersenneTwister { state, index: 624 }
    }

    /// The reference `init_by_array`.
    fn from_key(key: &[u32]) -> MersenneTwister {
        let mut mt = MersenneTwister::from_u32(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            let previous = s[i - 1];
            s[i] = (s[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                s[0] = s[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            let previous = s[i - 1];
            s[i] = (s[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                s[0] = s[623];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn twist(&mut self) {
        for i in 0..624 {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
            let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// Ruby's `limited_rand`: a number from 0 to `limit`, drawn under a mask of the limit's
    /// bits and drawn again while above it; limits past 32 bits take two words, high first.
    fn below(&mut self, limit: u64) -> u64 {
        if limit == 0 {
            return 0;
        }
        let mask = u64::MAX >> limit.leading_zeros();
        if limit <= u64::from(u32::MAX) {
            loop {
                let value = u64::from(self.next_u32()) & mask;
                if value <= limit {
                    return value;
                }
            }
        }
        'retry: loop {
            let mut value = 0u64;
            for word in (0..2).rev() {
                if (mask >> (word * 32)) & 0xffff_ffff != 0 {
                    value |= u64::from(self.next_u32()) << (word * 32);
                    value &= mask;
                    if value > limit {
                        continue 'retry;
                    }
                }
            }
            return value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ruby -e 'r = Random.new(seed); p r.rand(100), r.rand(2**40)'` (Ruby 3.1.2).
    #[test]
    fn the_generator_is_rubys() {
        let cases: [(u128, u64, u64); 8] = [
            (0, 44, 204_935_177_845),
            (1, 37, 1_012_411_084_684),
            (42, 51, 395_924_837_646),
            ((1 << 32) + 5, 99, 888_503_029_743),
            ((1 << 100) + 12345, 86, 392_139_616_880),
            ((1 << 126) * 3 + 7, 98, 712_616_884_941),
            (u128::MAX, 72, 553_379_026_591),
            ((1 << 64) + 5, 98, 0),
        ];
        for (seed, small, large) in cases {
            let mut random = MersenneTwister::ruby_seeded(seed);
            assert_eq!(random.below(99), small, "rand(100) of Random.new({seed})");
            if large != 0 {
                assert_eq!(random.below((1 << 40) - 1), large, "rand(2**40) of {seed}");
            }
        }
    }

    /// What `puppet apply` 7.23 printed on a host whose fqdn is `vm` (fixtures cannot show
    /// it: the result depends on the host).
    #[test]
    fn fqdn_rand_is_puppets() {
        let puppet = [
            (100, "", 77),
            (100, "seed", 63),
            (1_000_000, "x", 827_044),
            (2, "", 1),
            (30, "1", 1),
            (1, "", 0),
            (10_000_000_000, "", 6_482_685_462),
            (100, "a:b", 92),
        ];
        for (max, seed, expected) in puppet {
            assert_eq!(
                fqdn_rand_for("vm", max, seed).ok(),
                Some(expected),
                "fqdn_rand({max}, '{seed}')"
            );
        }
        assert!(fqdn_rand_for("vm", 0, "").is_err());
    }

    #[test]
    fn arguments_are_read_as_puppet_reads_them() {
        assert_eq!(ruby_to_i(&Value::string("30")), 30);
        assert_eq!(ruby_to_i(&Value::string("12abc")), 12);
        assert_eq!(ruby_to_i(&Value::string("abc")), 0);
        let seed = Value::Array(vec![Value::string("a"), Value::Array(vec![1.into()])]);
        assert_eq!(joined(&seed), "a:1");
    }
}
