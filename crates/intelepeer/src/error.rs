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
//!
//! Every message is one line: a body that is not the documented
//! `{"code","error"}` JSON (e.g. a proxy's HTML page) is summarised as its
//! size and its first characters with whitespace collapsed
//! (`non-JSON body of 2,345 bytes: <html> <head>…`), so that nothing
//! multi-line or long reaches a Kubernetes condition or a log line.

use std::fmt;
use std::time::Duration;

use crate::models::ErrorBody;
use crate::pages::PagingError;

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
        /// What did not parse (one line).
        message: String,
        /// The first characters of the body (one line, at most
        /// [`SUMMARY_CHARS`]).
        excerpt: String,
    },
    /// A success answer larger than [`crate::ClientConfig::max_body_bytes`]:
    /// it was not read further (or at all, when its `Content-Length` said so),
    /// and it is never taken for a valid answer — a listing page that large is
    /// not what the vendor documents.
    #[error(
        "IntelePeer's answer (HTTP {status}) is larger than the {limit}-byte cap{}; it was not read",
        declared_hint(.declared)
    )]
    BodyTooLarge {
        /// The HTTP status of the answer.
        status: u16,
        /// The cap, in bytes.
        limit: u64,
        /// The `Content-Length` the answer declared, if any.
        declared: Option<u64>,
    },
    /// The inventory listing could not be read completely and consistently.
    #[error("incomplete inventory listing: {source}")]
    Paging {
        /// What went wrong (a page that repeats itself, too many pages, ...).
        #[source]
        source: PagingError,
    },
    /// The client's configuration is invalid (e.g. a plain-http base URL).
    #[error("invalid IntelePeer client configuration: {0}")]
    Config(String),
}

fn declared_hint(declared: &Option<u64>) -> String {
    match declared {
        Some(n) => format!(" (it declares {} bytes)", group_digits(*n)),
        None => String::new(),
    }
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(": retry after {}s", d.as_secs()),
        None => String::new(),
    }
}

/// Longest body summary or excerpt kept in an error, in characters.
pub const SUMMARY_CHARS: usize = 120;

/// Longest vendor message (the `error` of a JSON error body) kept, in
/// characters; the documented ones are all shorter.
const MESSAGE_CHARS: usize = 200;

/// `text` on one line: every run of whitespace (newlines included) becomes one
/// space, control characters are dropped, and the result is at most
/// `max_chars` characters, ending with `…` when cut.
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let mut out: Vec<char> = Vec::new();
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        // One character beyond the bound is enough to know it must be cut.
        if out.len() > max_chars {
            break;
        }
    }
    if out.len() > max_chars {
        out.truncate(max_chars.saturating_sub(1));
        while out.last() == Some(&' ') {
            out.pop();
        }
        out.push('…');
    }
    out.into_iter().collect()
}

/// The first characters of a body, on one line, for error messages.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn excerpt(body: &[u8]) -> String {
    // Only a prefix is decoded: a large body costs nothing here.
    let prefix = &body[..body.len().min(SUMMARY_CHARS * 4)];
    one_line(&String::from_utf8_lossy(prefix), SUMMARY_CHARS)
}

/// `1234567` as `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How much of an error answer's body the client read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) enum BodyExtent {
    /// All of it.
    Whole,
    /// Only a prefix; the answer declared this `Content-Length`, if any.
    Prefix {
        /// The declared length.
        declared: Option<u64>,
    },
}

/// One line saying what a body that is not the documented error JSON holds:
/// `non-JSON body of 2,345 bytes: <html>…`.
fn body_summary(body: &[u8], extent: BodyExtent) -> String {
    let size = match extent {
        BodyExtent::Whole => format!("{} bytes", group_digits(body.len() as u64)),
        BodyExtent::Prefix {
            declared: Some(n), ..
        } => format!("{} bytes", group_digits(n)),
        BodyExtent::Prefix { declared: None } => {
            format!("more than {} bytes", group_digits(body.len() as u64))
        }
    };
    let kind = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "JSON body without an error message"
    } else {
        "non-JSON body"
    };
    // The prefix is what fits in the summary after the label.
    let label = format!("{kind} of {size}: ");
    let room = SUMMARY_CHARS.saturating_sub(label.chars().count()).max(16);
    let prefix = &body[..body.len().min(room * 4)];
    format!(
        "{label}{}",
        one_line(&String::from_utf8_lossy(prefix), room)
    )
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
        Self::from_answer(status, body, BodyExtent::Whole, retry_after)
    }

    /// [`Error::from_response`] for a body of which only `extent` was read.
    pub(crate) fn from_answer(
        status: u16,
        body: &[u8],
        extent: BodyExtent,
        retry_after: Option<Duration>,
    ) -> Self {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let message = match parsed.and_then(|b| b.error) {
            Some(m) if !m.trim().is_empty() => one_line(&m, MESSAGE_CHARS),
            _ if body.iter().all(u8::is_ascii_whitespace) && extent == BodyExtent::Whole => {
                format!("HTTP {status} with an empty body")
            }
            _ => body_summary(body, extent),
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
            | Self::Decode { status, .. }
            | Self::BodyTooLarge { status, .. } => Some(*status),
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
            Self::BodyTooLarge { .. } => "body_too_large",
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

    const PROXY_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n<!-- a padding comment -->\r\n<!-- a padding comment -->\r\n<!-- a padding comment -->\r\n<!-- a padding comment -->\r\n<!-- a padding comment -->\r\n<!-- a padding comment -->\r\n";

    #[test]
    fn a_non_json_error_body_becomes_one_short_line() {
        assert_eq!(PROXY_PAGE.lines().count(), 13);
        for status in [502, 404, 409, 422, 402] {
            let e = Error::from_response(status, PROXY_PAGE.as_bytes(), None);
            let text = e.to_string();
            assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
            assert!(text.contains(&status.to_string()), "{text}");
            assert!(
                text.contains(&format!(
                    "non-JSON body of {} bytes: <html> <head><title>502",
                    PROXY_PAGE.len()
                )),
                "{text}"
            );
            assert!(
                text.chars().count() <= 200,
                "{} chars: {text}",
                text.chars().count()
            );
        }
        let big = format!("{PROXY_PAGE}{}", "x".repeat(5000));
        let e = Error::from_response(500, big.as_bytes(), None);
        assert!(e.to_string().contains("non-JSON body of 5,"), "{e}");
        assert!(e.to_string().ends_with('…'), "{e}");
    }

    #[test]
    fn json_without_an_error_message_and_a_cut_body_are_summarised() {
        let e = Error::from_response(500, b"{\"message\":\"x\"}", None);
        assert!(
            e.to_string()
                .contains("JSON body without an error message of 15 bytes: {\"message\":\"x\"}"),
            "{e}"
        );
        let e = Error::from_answer(
            503,
            b"<html>",
            BodyExtent::Prefix {
                declared: Some(1_234_567),
            },
            None,
        );
        assert!(
            e.to_string()
                .contains("non-JSON body of 1,234,567 bytes: <html>"),
            "{e}"
        );
        let e = Error::from_answer(503, b"<html>", BodyExtent::Prefix { declared: None }, None);
        assert!(
            e.to_string().contains("non-JSON body of more than 6 bytes"),
            "{e}"
        );
        assert!(e.is_retryable_for_mutation(), "still a 503");
        let e = Error::from_response(422, br#"{"error":"line one\nline two"}"#, None);
        assert!(
            matches!(&e, Error::Invalid { message } if message == "line one line two"),
            "{e:?}"
        );
    }

    #[test]
    fn one_line_collapses_whitespace_and_cuts_long_text() {
        assert_eq!(one_line("  a \n\t b\r\n", 10), "a b");
        assert_eq!(one_line("abcdef", 3), "ab…");
        assert_eq!(one_line("abc", 3), "abc");
        assert_eq!(one_line("ab cd", 4), "ab…");
        assert_eq!(one_line(&"é".repeat(500), 120).chars().count(), 120);
        assert_eq!(one_line("a\u{7}b", 10), "ab");
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1_073_741_824), "1,073,741,824");
    }

    #[test]
    fn a_body_too_large_is_never_retried_and_names_the_cap() {
        let e = Error::BodyTooLarge {
            status: 200,
            limit: 1_048_576,
            declared: Some(1_073_741_824),
        };
        assert!(!e.is_retryable() && !e.is_retryable_for_mutation());
        assert_eq!(e.status(), Some(200));
        assert_eq!(e.metric_label(), "body_too_large");
        assert_eq!(
            e.to_string(),
            "IntelePeer's answer (HTTP 200) is larger than the 1048576-byte cap (it declares 1,073,741,824 bytes); it was not read"
        );
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
