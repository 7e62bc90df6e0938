//! The client's typed error: one variant per documented vendor answer (code and
//! message of the reference), plus the failures of getting an answer at all.
//!
//! Each variant knows its HTTP status ([`Error::status`]), whether a *read* may be
//! retried ([`Error::is_retryable`]), whether a *mutation* may be retried
//! ([`Error::is_retryable_for_mutation`] — only when the answer proves the vendor
//! refused the request), and a stable [`Error::metric_label`] for metrics.
//!
//! Error messages never contain the password or the token: the client scrubs
//! them with [`Error::redact`] before an error leaves it, and no variant carries
//! a request body.

use std::fmt;
use std::time::Duration;

use crate::models::ErrorBody;

/// A boxed source error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How far a request got before the connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportStage {
    /// Establishing the connection (DNS, TCP, TLS) failed: nothing was sent, so
    /// even a purchase may be retried.
    Connect,
    /// The connection failed after the request may have been sent: the vendor
    /// may have acted on it.
    Send,
}

impl fmt::Display for TransportStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "while connecting",
            Self::Send => "after sending the request",
        })
    }
}

/// Everything that can go wrong talking to IntelePeer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401 "Unauthorized": the credentials (or a static token) were refused.
    #[error(
        "IntelePeer refused the credentials (401 Unauthorized): check the account's username and password, or its token"
    )]
    Unauthorized,
    /// 401 "Session Expired": the token is no longer valid (the client
    /// re-authenticates once on its own when it holds a password).
    #[error("IntelePeer session expired (401 Session Expired)")]
    SessionExpired,
    /// 402 "Order blocked; trial limit realized. Limit: %d seats."
    #[error("order blocked (402): the trial account's limit of {limit} seats is reached")]
    TrialLimitRealized {
        /// The trial's seat limit.
        limit: u32,
    },
    /// 402 "Order too large; trial limit exceeded. Available: %d seats."
    #[error("order too large (402): the trial account has only {available} seats left")]
    TrialLimitExceeded {
        /// Seats still available.
        available: u32,
    },
    /// A 402 with another message.
    #[error("payment required (402): {message}")]
    PaymentRequired {
        /// The vendor's message.
        message: String,
    },
    /// 406 "Not Acceptable".
    #[error("IntelePeer answered 406 Not Acceptable: it refused the request's format")]
    NotAcceptable,
    /// 409 "Number(s) not available." (reserve).
    #[error("number(s) not available (409): someone else holds or bought them")]
    NotAvailable,
    /// 409 "The following parameters are mutually exclusive: '%s', '%s'" (search).
    #[error("conflicting parameters (409): {message}")]
    MutuallyExclusive {
        /// The vendor's message, naming the parameters.
        message: String,
    },
    /// 409 "One or more numbers is part of a conflicting order." (disconnect).
    #[error("one or more numbers is part of a conflicting order (409)")]
    ConflictingOrder,
    /// 409 "One or more numbers is already pending disconnect." (disconnect).
    #[error("one or more numbers is already pending disconnect (409)")]
    AlreadyPendingDisconnect,
    /// 409 "One or more numbers is not assigned to this account." (disconnect).
    #[error("one or more numbers is not assigned to this account (409)")]
    NotAssigned,
    /// A 409 whose message the reference does not document.
    #[error("conflict (409): {message}")]
    Conflict {
        /// The vendor's message.
        message: String,
    },
    /// 422: a parameter is missing or malformed.
    #[error("IntelePeer rejected the request (422): {message}")]
    Invalid {
        /// The vendor's message, e.g. "The 'serviceArea' parameter must match ...".
        message: String,
    },
    /// 429: too many requests.
    #[error("rate limited by IntelePeer (429){}", retry_hint(.retry_after))]
    RateLimited {
        /// The `Retry-After` the vendor asked for, if any.
        retry_after: Option<Duration>,
    },
    /// A 5xx answer.
    #[error("IntelePeer server error ({status}): {message}")]
    Server {
        /// The HTTP status (500..=599).
        status: u16,
        /// The vendor's message or the start of the body.
        message: String,
    },
    /// Any other non-success status (e.g. 400, 403, 404).
    #[error("unexpected answer from IntelePeer ({status}): {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The vendor's message or the start of the body.
        message: String,
    },
    /// No complete answer within the request timeout.
    #[error("IntelePeer did not answer within {}s", .after.as_secs_f64())]
    Timeout {
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection failed.
    #[error("could not reach IntelePeer ({stage}): {message}")]
    Transport {
        /// Whether the request may have been sent.
        stage: TransportStage,
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A success answer that could not be read.
    #[error(
        "could not read IntelePeer's answer (HTTP {status}): {message}; the body starts with {excerpt:?}"
    )]
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// What did not parse.
        message: String,
        /// The first characters of the body.
        excerpt: String,
    },
    /// The inventory listing could not be read completely and consistently.
    #[error("incomplete inventory listing: {reason}")]
    Paging {
        /// What went wrong (e.g. a page that repeats itself).
        reason: String,
    },
    /// The client's configuration is invalid (e.g. a plain-http base URL).
    #[error("invalid IntelePeer client configuration: {0}")]
    Config(String),
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(": retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

/// Longest body excerpt kept in an error.
const EXCERPT_CHARS: usize = 200;

/// The first characters of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}

/// A message compared without case, surrounding space or a final period.
fn normalize(message: &str) -> String {
    message.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The integer after `label` in `message`, e.g. `Limit: 5 seats` → 5.
fn number_after(message: &str, label: &str) -> Option<u32> {
    let lower = message.to_ascii_lowercase();
    let start = lower.find(&label.to_ascii_lowercase())? + label.len();
    let digits: String = message[start..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl Error {
    /// Builds the error for a non-success answer from its status, body and
    /// `Retry-After` header. Matches the reference's messages exactly (ignoring
    /// case, surrounding space and a final period); an undocumented 409 message
    /// becomes [`Error::Conflict`].
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let message = match parsed.and_then(|b| b.error) {
            Some(m) if !m.trim().is_empty() => m.trim().to_owned(),
            _ => {
                let text = excerpt(body);
                if text.trim().is_empty() {
                    format!("HTTP {status} with an empty body")
                } else {
                    text.trim().to_owned()
                }
            }
        };
        let norm = normalize(&message);
        match status {
            401 if norm == "session expired" => Self::SessionExpired,
            401 => Self::Unauthorized,
            402 if norm.contains("trial limit realized") => {
                match number_after(&message, "Limit:") {
                    Some(limit) => Self::TrialLimitRealized { limit },
                    None => Self::PaymentRequired { message },
                }
            }
            402 if norm.contains("trial limit exceeded") => {
                match number_after(&message, "Available:") {
                    Some(available) => Self::TrialLimitExceeded { available },
                    None => Self::PaymentRequired { message },
                }
            }
            402 => Self::PaymentRequired { message },
            406 => Self::NotAcceptable,
            409 => match norm.as_str() {
                "number(s) not available" => Self::NotAvailable,
                "one or more numbers is part of a conflicting order" => Self::ConflictingOrder,
                "one or more numbers is already pending disconnect" => {
                    Self::AlreadyPendingDisconnect
                }
                "one or more numbers is not assigned to this account" => Self::NotAssigned,
                m if m.starts_with("the following parameters are mutually exclusive") => {
                    Self::MutuallyExclusive { message }
                }
                _ => Self::Conflict { message },
            },
            422 => Self::Invalid { message },
            429 => Self::RateLimited { retry_after },
            500..=599 => Self::Server { status, message },
            _ => Self::Http { status, message },
        }
    }

    /// The HTTP status this error stands for, if it came from an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized | Self::SessionExpired => Some(401),
            Self::TrialLimitRealized { .. }
            | Self::TrialLimitExceeded { .. }
            | Self::PaymentRequired { .. } => Some(402),
            Self::NotAcceptable => Some(406),
            Self::NotAvailable
            | Self::MutuallyExclusive { .. }
            | Self::ConflictingOrder
            | Self::AlreadyPendingDisconnect
            | Self::NotAssigned
            | Self::Conflict { .. } => Some(409),
            Self::Invalid { .. } => Some(422),
            Self::RateLimited { .. } => Some(429),
            Self::Server { status, .. }
            | Self::Http { status, .. }
            | Self::Decode { status, .. } => Some(*status),
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::Paging { .. }
            | Self::Config(_) => None,
        }
    }

    /// Whether a *read* that failed this way may succeed if sent again: 429, 5xx,
    /// timeouts and connection failures. Never any other 4xx.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Transport { .. }
        )
    }

    /// Whether a *mutation* (reserve, purchase, change package, disconnect) that
    /// failed this way may be sent again: only when the failure proves the vendor
    /// did not act on it — 429, 503, or a connection that failed before anything
    /// was sent. A timeout, a dropped connection or another 5xx may hide a
    /// purchase that happened; the caller resolves those from the inventory.
    pub fn is_retryable_for_mutation(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { status: 503, .. }
                | Self::Transport {
                    stage: TransportStage::Connect,
                    ..
                }
        )
    }

    /// Whether the vendor refused the session (401 either way).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Unauthorized | Self::SessionExpired)
    }

    /// A stable, low-cardinality label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::SessionExpired => "session_expired",
            Self::TrialLimitRealized { .. } => "trial_limit_realized",
            Self::TrialLimitExceeded { .. } => "trial_limit_exceeded",
            Self::PaymentRequired { .. } => "payment_required",
            Self::NotAcceptable => "not_acceptable",
            Self::NotAvailable => "not_available",
            Self::MutuallyExclusive { .. } => "mutually_exclusive",
            Self::ConflictingOrder => "conflicting_order",
            Self::AlreadyPendingDisconnect => "already_pending_disconnect",
            Self::NotAssigned => "not_assigned",
            Self::Conflict { .. } => "conflict",
            Self::Invalid { .. } => "invalid",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server",
            Self::Http { .. } => "http",
            Self::Timeout { .. } => "timeout",
            Self::Transport { .. } => "transport",
            Self::Decode { .. } => "decode",
            Self::Paging { .. } => "paging",
            Self::Config(_) => "config",
        }
    }

    /// Replaces every occurrence of `secret` in the error's text with `***`
    /// (defence in depth: a vendor that echoes a request must not leak it).
    /// The source of a transport error is dropped when its text contains it.
    pub fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let scrub = |s: String| {
            if s.contains(secret) {
                s.replace(secret, "***")
            } else {
                s
            }
        };
        match self {
            Self::PaymentRequired { message } => Self::PaymentRequired {
                message: scrub(message),
            },
            Self::MutuallyExclusive { message } => Self::MutuallyExclusive {
                message: scrub(message),
            },
            Self::Conflict { message } => Self::Conflict {
                message: scrub(message),
            },
            Self::Invalid { message } => Self::Invalid {
                message: scrub(message),
            },
            Self::Server { status, message } => Self::Server {
                status,
                message: scrub(message),
            },
            Self::Http { status, message } => Self::Http {
                status,
                message: scrub(message),
            },
            Self::Transport {
                stage,
                message,
                source,
            } => {
                let source = source.filter(|s| !s.to_string().contains(secret));
                Self::Transport {
                    stage,
                    message: scrub(message),
                    source,
                }
            }
            Self::Decode {
                status,
                message,
                excerpt,
            } => Self::Decode {
                status,
                message: scrub(message),
                excerpt: scrub(excerpt),
            },
            Self::Paging { reason } => Self::Paging {
                reason: scrub(reason),
            },
            Self::Config(m) => Self::Config(scrub(m)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, error: &str) -> Error {
        let body = serde_json::json!({"code": status, "error": error}).to_string();
        Error::from_response(status, body.as_bytes(), None)
    }

    #[test]
    fn every_documented_401_body() {
        assert!(matches!(parse(401, "Unauthorized"), Error::Unauthorized));
        assert!(matches!(
            parse(401, "Session Expired"),
            Error::SessionExpired
        ));
        assert!(matches!(parse(401, "something new"), Error::Unauthorized));
    }

    #[test]
    fn every_documented_402_body_with_its_number() {
        assert!(matches!(
            parse(402, "Order blocked; trial limit realized. Limit: 5 seats."),
            Error::TrialLimitRealized { limit: 5 }
        ));
        assert!(matches!(
            parse(
                402,
                "Order too large; trial limit exceeded. Available: 2 seats."
            ),
            Error::TrialLimitExceeded { available: 2 }
        ));
        assert!(matches!(
            parse(402, "Order blocked; trial limit realized. Limit: %d seats."),
            Error::PaymentRequired { .. }
        ));
        assert!(matches!(
            parse(402, "pay up"),
            Error::PaymentRequired { .. }
        ));
    }

    #[test]
    fn documented_406_body() {
        let e = parse(406, "Not Acceptable");
        assert!(matches!(e, Error::NotAcceptable));
        assert_eq!(e.status(), Some(406));
    }

    #[test]
    fn every_documented_409_body() {
        assert!(matches!(
            parse(409, "Number(s) not available."),
            Error::NotAvailable
        ));
        assert!(matches!(
            parse(
                409,
                "The following parameters are mutually exclusive: 'like', 'npa'"
            ),
            Error::MutuallyExclusive { .. }
        ));
        assert!(matches!(
            parse(409, "One or more numbers is part of a conflicting order."),
            Error::ConflictingOrder
        ));
        assert!(matches!(
            parse(409, "One or more numbers is already pending disconnect."),
            Error::AlreadyPendingDisconnect
        ));
        assert!(matches!(
            parse(409, "One or more numbers is not assigned to this account."),
            Error::NotAssigned
        ));
        match parse(409, "Something else entirely") {
            Error::Conflict { message } => assert_eq!(message, "Something else entirely"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_documented_422_body_keeps_its_message() {
        for m in [
            "At least one of the following parameters is required: 'like', 'npa'",
            "The 'npa' parameter must be scalar.",
            "The 'sequential' parameter must be formatted as a(n) boolean.",
            "The 'page' parameter must be formatted as a(n) integer.",
            "The 'npa' parameter must be formatted as a(n) numeric.",
            "The 'like' parameter must be formatted as a(n) string.",
            "The 'label' parameter must be formatted as a non-empty string.",
            "The 'endpoints' parameter is required.",
            "The 'endpoints' parameter must be formatted as a(n) array.",
            "The '%' parameter is required for each Number object.",
            "The 'countryCode' parameter must match one of the following values: 1",
            "The 'serviceArea' parameter must match one of the following values: 1, 2, 3, 4, 5",
        ] {
            match parse(422, m) {
                Error::Invalid { message } => assert_eq!(message, m),
                other => panic!("{m}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn rate_limit_server_and_other_statuses() {
        let e = Error::from_response(429, b"", Some(Duration::from_secs(3)));
        assert!(matches!(e, Error::RateLimited { retry_after: Some(d) } if d.as_secs() == 3));
        assert!(e.to_string().contains("retry after 3s"), "{e}");
        let e = Error::from_response(503, b"<html>down</html>", None);
        assert!(matches!(&e, Error::Server { status: 503, message } if message.contains("down")));
        let e = Error::from_response(404, b"", None);
        assert!(
            matches!(&e, Error::Http { status: 404, message } if message.contains("empty body"))
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn only_429_5xx_timeouts_and_transport_are_retryable_for_reads() {
        for s in [401, 402, 406, 409, 422, 400, 404] {
            assert!(!Error::from_response(s, b"{}", None).is_retryable(), "{s}");
        }
        for s in [429, 500, 502, 503, 504] {
            assert!(Error::from_response(s, b"{}", None).is_retryable(), "{s}");
        }
        assert!(
            Error::Timeout {
                after: Duration::from_secs(1)
            }
            .is_retryable()
        );
    }

    #[test]
    fn mutations_retry_only_on_proven_refusals() {
        assert!(Error::from_response(429, b"", None).is_retryable_for_mutation());
        assert!(Error::from_response(503, b"", None).is_retryable_for_mutation());
        for s in [500, 502, 504, 409, 422] {
            assert!(
                !Error::from_response(s, b"", None).is_retryable_for_mutation(),
                "{s}"
            );
        }
        assert!(
            !Error::Timeout {
                after: Duration::from_secs(1)
            }
            .is_retryable_for_mutation()
        );
        let sent = Error::Transport {
            stage: TransportStage::Send,
            message: "connection reset".into(),
            source: None,
        };
        assert!(sent.is_retryable() && !sent.is_retryable_for_mutation());
        let connect = Error::Transport {
            stage: TransportStage::Connect,
            message: "refused".into(),
            source: None,
        };
        assert!(connect.is_retryable_for_mutation());
    }

    #[test]
    fn metric_labels_are_distinct_snake_case() {
        let errors = [
            parse(401, "Unauthorized"),
            parse(401, "Session Expired"),
            parse(402, "Order blocked; trial limit realized. Limit: 1 seats."),
            parse(
                402,
                "Order too large; trial limit exceeded. Available: 1 seats.",
            ),
            parse(402, "x"),
            parse(406, "Not Acceptable"),
            parse(409, "Number(s) not available."),
            parse(
                409,
                "The following parameters are mutually exclusive: 'a', 'b'",
            ),
            parse(409, "One or more numbers is part of a conflicting order."),
            parse(409, "One or more numbers is already pending disconnect."),
            parse(409, "One or more numbers is not assigned to this account."),
            parse(409, "x"),
            parse(422, "x"),
            parse(429, "x"),
            parse(500, "x"),
            parse(418, "x"),
        ];
        let mut labels: Vec<_> = errors.iter().map(Error::metric_label).collect();
        assert!(
            labels
                .iter()
                .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        let n = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), n);
    }

    #[test]
    fn redact_scrubs_secrets_from_every_message() {
        let e = Error::from_response(500, b"{\"error\":\"bad token tok-SECRET\"}", None)
            .redact("tok-SECRET");
        assert!(!e.to_string().contains("tok-SECRET"), "{e}");
        let e = Error::Decode {
            status: 200,
            message: "x".into(),
            excerpt: "{\"token\":\"tok-SECRET\"".into(),
        }
        .redact("tok-SECRET");
        assert!(!e.to_string().contains("tok-SECRET"), "{e}");
    }
}
