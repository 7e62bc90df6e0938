//! Fault injection: latency, random 503s, scripted status codes, 429 with
//! `Retry-After`, dropped connections, lost responses and hanging requests.
//!
//! Faults apply to the vendor endpoints only, never to the admin API. Counted
//! faults (`fail_next`, `rate_limit_next`, `drop_next`, ...) are consumed one
//! per request, so a test can script exactly what its client will meet.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{format_duration, parse_duration};

/// The faults a simulator injects into vendor requests.
///
/// Per request, in this order: `latency` is waited; then the first counted fault
/// that is still due applies (`drop_next`, `drop_after_next`, `hang_next`,
/// `fail_next`, `rate_limit_next`); otherwise `error_rate` may answer 503.
/// A request met by `drop_next`, `hang_next`, `fail_next`, `rate_limit_next` or
/// a random 503 changes no state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added before every vendor request is answered.
    #[serde(with = "duration_text")]
    pub latency: Duration,
    /// Probability (0.0..=1.0) that a request answers 503 Service Unavailable.
    pub error_rate: f64,
    /// The next requests answer these status codes, one each, in order.
    pub fail_next: Vec<u16>,
    /// The next N requests answer 429 Too Many Requests with `Retry-After`.
    pub rate_limit_next: u32,
    /// The `Retry-After` value (seconds) sent with 429 answers.
    pub retry_after_secs: u64,
    /// The next N requests have their connection closed without a response,
    /// before they are processed.
    pub drop_next: u32,
    /// The next N requests are processed (state changes!), then their connection
    /// is closed without a response: a lost response, as after a network cut.
    pub drop_after_next: u32,
    /// The next N requests never answer (until the client gives up or the
    /// simulator shuts down): for client timeouts.
    pub hang_next: u32,
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Process normally.
    Pass,
    /// Close the connection without a response, without processing.
    Drop,
    /// Process, then close the connection without a response.
    DropAfter,
    /// Never answer.
    Hang,
    /// Answer this status code without processing.
    Fail(u16),
    /// Answer 429 with this `Retry-After`.
    RateLimit(u64),
}

impl Faults {
    /// Consumes the counted fault due for the next request and says what to do.
    pub(crate) fn next_verdict(&mut self) -> Verdict {
        if self.drop_next > 0 {
            self.drop_next -= 1;
            Verdict::Drop
        } else if self.drop_after_next > 0 {
            self.drop_after_next -= 1;
            Verdict::DropAfter
        } else if self.hang_next > 0 {
            self.hang_next -= 1;
            Verdict::Hang
        } else if !self.fail_next.is_empty() {
            Verdict::Fail(self.fail_next.remove(0))
        } else if self.rate_limit_next > 0 {
            self.rate_limit_next -= 1;
            Verdict::RateLimit(self.retry_after_secs)
        } else if self.error_rate > 0.0 && fastrand::f64() < self.error_rate {
            Verdict::Fail(503)
        } else {
            Verdict::Pass
        }
    }
}

/// Why a fault specification could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultsParseError {
    /// An item is not `key=value`.
    #[error("fault '{0}' is not of the form key=value")]
    NotKeyValue(String),
    /// An unknown key.
    #[error(
        "unknown fault '{0}': expected latency, error-rate, fail-next, rate-limit-next, \
         retry-after, drop-next, drop-after-next or hang-next"
    )]
    UnknownKey(String),
    /// A value of the wrong form for its key.
    #[error("fault {key}={value}: {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The rejected value.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
}

impl FromStr for Faults {
    type Err = FaultsParseError;

    /// Parses `latency=50ms,error-rate=0.1,fail-next=503:503,rate-limit-next=2,
    /// retry-after=1,drop-next=1,drop-after-next=1,hang-next=1` (any subset, any
    /// order; underscores may replace dashes; the empty string is no faults).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut faults = Faults::default();
        for item in crate::spec_items::items(spec) {
            let item = item.map_err(|i| FaultsParseError::NotKeyValue(i.to_owned()))?;
            let (key, value) = (item.written, item.value);
            let bad = |expected| FaultsParseError::BadValue {
                key: key.to_owned(),
                value: value.to_owned(),
                expected,
            };
            let count = || {
                value
                    .parse::<u32>()
                    .map_err(|_| bad("expected a count, e.g. 2"))
            };
            match item.key.as_str() {
                "latency" => {
                    faults.latency =
                        parse_duration(value).map_err(|_| bad("expected a duration, e.g. 50ms"))?;
                }
                "error-rate" => {
                    faults.error_rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| (0.0..=1.0).contains(r))
                        .ok_or_else(|| bad("expected a probability between 0 and 1, e.g. 0.1"))?;
                }
                "fail-next" => {
                    faults.fail_next = value
                        .split(':')
                        .map(|code| {
                            code.trim()
                                .parse::<u16>()
                                .ok()
                                .filter(|c| (100..=599).contains(c))
                        })
                        .collect::<Option<Vec<u16>>>()
                        .ok_or_else(|| {
                            bad("expected HTTP status codes separated by ':', e.g. 503:500")
                        })?;
                }
                "rate-limit-next" => faults.rate_limit_next = count()?,
                "retry-after" => {
                    faults.retry_after_secs = value
                        .parse::<u64>()
                        .map_err(|_| bad("expected seconds, e.g. 1"))?;
                }
                "drop-next" => faults.drop_next = count()?,
                "drop-after-next" => faults.drop_after_next = count()?,
                "hang-next" => faults.hang_next = count()?,
                _ => return Err(FaultsParseError::UnknownKey(key.to_owned())),
            }
        }
        Ok(faults)
    }
}

impl fmt::Display for Faults {
    /// The specification [`Faults::from_str`] reads, listing only active faults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        if !self.latency.is_zero() {
            items.push(format!(
                "latency={}",
                format_duration(self.latency).replace(' ', "")
            ));
        }
        if self.error_rate > 0.0 {
            items.push(format!("error-rate={}", self.error_rate));
        }
        if !self.fail_next.is_empty() {
            let codes: Vec<String> = self.fail_next.iter().map(u16::to_string).collect();
            items.push(format!("fail-next={}", codes.join(":")));
        }
        for (key, value) in [
            ("rate-limit-next", u64::from(self.rate_limit_next)),
            ("retry-after", self.retry_after_secs),
            ("drop-next", u64::from(self.drop_next)),
            ("drop-after-next", u64::from(self.drop_after_next)),
            ("hang-next", u64::from(self.hang_next)),
        ] {
            if value > 0 {
                items.push(format!("{key}={value}"));
            }
        }
        f.write_str(&items.join(","))
    }
}

/// Faults sent to `PUT /_admin/faults`: either the JSON object or a
/// specification string as on the command line.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum FaultsInput {
    /// `"latency=50ms,fail-next=503"`.
    Spec(String),
    /// `{"latency": "50ms", "fail_next": [503]}`.
    Object(Faults),
}

/// (De)serializes a [`Duration`] as text (`"50ms"`), also accepting a number of
/// milliseconds.
mod duration_text {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Millis(u64),
            Text(String),
        }
        match Text::deserialize(d)? {
            Text::Millis(ms) => Ok(Duration::from_millis(ms)),
            Text::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_every_fault() {
        let faults: Faults = "latency=50ms,error-rate=0.1,fail-next=503:503,rate-limit-next=2,\
                              retry-after=1,drop-next=1,drop-after-next=3,hang-next=1"
            .parse()
            .expect("valid spec");
        assert_eq!(
            faults,
            Faults {
                latency: Duration::from_millis(50),
                error_rate: 0.1,
                fail_next: vec![503, 503],
                rate_limit_next: 2,
                retry_after_secs: 1,
                drop_next: 1,
                drop_after_next: 3,
                hang_next: 1,
            }
        );
        assert_eq!(faults.to_string().parse::<Faults>(), Ok(faults));
    }

    #[test]
    fn spec_errors_name_the_culprit() {
        assert_eq!("".parse::<Faults>(), Ok(Faults::default()));
        assert!(matches!(
            "latency".parse::<Faults>(),
            Err(FaultsParseError::NotKeyValue(_))
        ));
        assert!(matches!(
            "boom=1".parse::<Faults>(),
            Err(FaultsParseError::UnknownKey(_))
        ));
        assert!(matches!(
            "error-rate=2".parse::<Faults>(),
            Err(FaultsParseError::BadValue { .. })
        ));
        assert!(matches!(
            "fail-next=50x".parse::<Faults>(),
            Err(FaultsParseError::BadValue { .. })
        ));
    }

    #[test]
    fn counted_faults_are_consumed_in_order() {
        let mut faults: Faults = "fail-next=500:502,rate-limit-next=1,retry-after=7"
            .parse()
            .expect("spec");
        assert_eq!(faults.next_verdict(), Verdict::Fail(500));
        assert_eq!(faults.next_verdict(), Verdict::Fail(502));
        assert_eq!(faults.next_verdict(), Verdict::RateLimit(7));
        assert_eq!(faults.next_verdict(), Verdict::Pass);
    }
}
