//! The one duration grammar of tollfree-operator: unsigned Go durations —
//! `72h`, `1h30m`, `1.5h`, `500ms`, `2s`, `0` — parsed ([`parse`]) and
//! written ([`format`]) in one place.
//!
//! Every duration a person writes uses it:
//!
//! - the CRD field `spec.disconnectGracePeriod` (the CRD's own rule
//!   `^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$` admits exactly these
//!   strings, except the bare `0` that only flags accept);
//! - `tollfree-operator run --resync-interval`;
//! - `tollfree-operator simulator --order-delay`, `--reservation-ttl`,
//!   `--token-ttl`, the fault `latency=` (in `--faults` and the admin API) and
//!   the admin API's `POST /_admin/advance-clock {"by": ...}`.
//!
//! Why a crate of its own: the operator (CRD fields, flags) and the simulator
//! (flags, admin API) must read durations alike, and the simulator
//! deliberately shares no code with the vendor client whose wire format it
//! judges. A duration grammar is no part of that wire format, and a crate with
//! no dependency on either side is the one home both can use without the
//! simulator learning anything from the client (or the operator's production
//! code depending on the test simulator).
//!
//! The grammar is Go's `time.ParseDuration` without a sign: one or more
//! `number unit` pairs, a number being digits with an optional `.digits`
//! fraction, a unit one of `ns`, `us` (or `µs`, `μs`), `ms`, `s`, `m`, `h`;
//! no spaces; and the bare `0`. Fractions below a nanosecond are dropped, as
//! Go does. Like Go, durations stop at about 292 years (`i64::MAX`
//! nanoseconds).

use std::time::Duration;

/// The longest duration the grammar admits: `i64::MAX` nanoseconds (Go's limit).
pub const MAX: Duration = Duration::from_nanos(i64::MAX as u64);

/// The units, with their length in nanoseconds.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Why a text is not a duration; displays the text and what is wrong with it,
/// e.g. `'3 days' is not a duration like 72h, 30m or 1h30m: missing or unknown
/// unit at ' days' (use ns, us, ms, s, m or h)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a duration like 72h, 30m or 1h30m: {problem}")]
pub struct DurationError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a text that is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Nothing was given.
    #[error("it is empty")]
    Empty,
    /// A number was expected here (a unit without number, a sign, a space...).
    #[error("expected a number at '{0}'")]
    ExpectedNumber(String),
    /// A `.` is not followed by digits.
    #[error("expected digits after '.'")]
    ExpectedFraction,
    /// A number is not followed by a known unit.
    #[error("missing or unknown unit at '{0}' (use ns, us, ms, s, m or h)")]
    UnknownUnit(String),
    /// Longer than [`MAX`].
    #[error("it is longer than about 292 years")]
    TooLong,
}

/// Parses an unsigned Go duration (see the crate documentation).
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    parse_nanos(input)
        .map(|nanos| Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
        .map_err(|problem| DurationError {
            input: input.to_owned(),
            problem,
        })
}

fn parse_nanos(input: &str) -> Result<u128, Problem> {
    if input.is_empty() {
        return Err(Problem::Empty);
    }
    // Go's special case: a bare zero needs no unit.
    if input == "0" {
        return Ok(0);
    }
    let max = MAX.as_nanos();
    let mut rest = input;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if int_len == 0 {
            return Err(Problem::ExpectedNumber(rest.to_owned()));
        }
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(f) => {
                let len = f.bytes().take_while(u8::is_ascii_digit).count();
                if len == 0 {
                    return Err(Problem::ExpectedFraction);
                }
                f.split_at(len)
            }
            None => ("", after),
        };
        // "ms" before "m": the longest unit that matches wins.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| after.starts_with(u))
            .max_by_key(|(u, _)| u.len())
            .ok_or_else(|| Problem::UnknownUnit(after.to_owned()))?;
        // More than 39 digits overflow u128 and are far beyond MAX anyway.
        let int: u128 = int.parse().map_err(|_| Problem::TooLong)?;
        let mut value = int.checked_mul(*scale).ok_or(Problem::TooLong)?;
        if !frac.is_empty() {
            // Only the first 18 fraction digits can matter below a nanosecond of an hour.
            let frac = &frac[..frac.len().min(18)];
            let digits: u128 = frac.parse().map_err(|_| Problem::TooLong)?;
            let exponent = u32::try_from(frac.len()).unwrap_or(18);
            value += digits * scale / 10_u128.pow(exponent);
        }
        total = total.checked_add(value).ok_or(Problem::TooLong)?;
        if total > max {
            return Err(Problem::TooLong);
        }
        rest = &after[unit.len()..];
    }
    Ok(total)
}

/// Writes a duration in the grammar, largest units first and zero parts left
/// out: `72h`, `1h30m`, `1s500ms`, `0s`. [`parse`] reads it back exactly for
/// every duration up to [`MAX`].
pub fn format(duration: Duration) -> String {
    const PARTS: [(&str, u128); 6] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let mut left = duration.as_nanos();
    if left == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, scale) in PARTS {
        let n = left / scale;
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
            left -= n * scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases: &[(&str, Duration)] = &[
            ("72h", Duration::from_secs(72 * 3600)),
            ("30m", Duration::from_secs(30 * 60)),
            ("1h30m", Duration::from_secs(90 * 60)),
            ("1.5h", Duration::from_secs(90 * 60)),
            ("250ms", Duration::from_millis(250)),
            ("500ms", Duration::from_millis(500)),
            ("2s", Duration::from_secs(2)),
            ("10s", Duration::from_secs(10)),
            ("5us", Duration::from_micros(5)),
            ("5µs", Duration::from_micros(5)),
            ("5μs", Duration::from_micros(5)),
            ("7ns", Duration::from_nanos(7)),
            ("0s", Duration::ZERO),
            ("0", Duration::ZERO),
            ("1m0.5s", Duration::from_millis(60_500)),
            ("0.000000001s", Duration::from_nanos(1)),
            ("0.0000000009s", Duration::ZERO),
        ];
        for (s, want) in cases {
            assert_eq!(parse(s).as_ref(), Ok(want), "{s}");
        }
    }

    #[test]
    fn refuses_what_go_refuses_and_signs() {
        for bad in [
            "",
            "72",
            "h",
            "-1h",
            "+1h",
            "-2s",
            "1d",
            "1.h",
            ".5h",
            "1h 30m",
            " 5m",
            "3 days",
            "soon",
            "PT2M",
            "9999999999h",
            "2562048h",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("2562047h").map(|d| d.as_secs() / 3600), Ok(2_562_047));
    }

    #[test]
    fn errors_quote_the_text_and_say_what_is_wrong() {
        let e = parse("3 days").expect_err("not a duration");
        assert_eq!(e.input, "3 days");
        assert_eq!(e.problem, Problem::UnknownUnit(" days".into()));
        assert_eq!(
            e.to_string(),
            "'3 days' is not a duration like 72h, 30m or 1h30m: missing or unknown unit at ' days' (use ns, us, ms, s, m or h)"
        );
        assert_eq!(parse("").expect_err("empty").problem, Problem::Empty);
        assert_eq!(
            parse("-1h").expect_err("signed").problem,
            Problem::ExpectedNumber("-1h".into())
        );
        assert_eq!(
            parse("9999999999h").expect_err("long").problem,
            Problem::TooLong
        );
    }

    #[test]
    fn formats_compactly_and_reads_back() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_secs(72 * 3600), "72h"),
            (Duration::from_secs(90 * 60), "1h30m"),
            (Duration::from_millis(1500), "1s500ms"),
            (Duration::from_millis(50), "50ms"),
            (Duration::from_nanos(1_000_001), "1ms1ns"),
        ];
        for (d, want) in cases {
            assert_eq!(format(*d), *want);
            assert_eq!(parse(want), Ok(*d), "{want}");
        }
        assert_eq!(parse(&format(MAX)), Ok(MAX));
    }
}
