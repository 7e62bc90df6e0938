//! Error answers, worded exactly as the vendor's reference words them.
//!
//! Every error body is `{"code": N, "error": "..."}` with the matching status line.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the simulated API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` text.
    pub message: String,
    /// A `Retry-After` header (seconds), for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status and text.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A bare status whose text is its reason phrase (`503 Service Unavailable`).
    pub fn status(status: StatusCode) -> Self {
        Self::new(status, status.canonical_reason().unwrap_or("Error"))
    }

    fn unprocessable(message: String) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 401 for a missing or unknown token, or wrong credentials.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    /// 401 for a token older than its lifetime.
    pub fn session_expired() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Session Expired")
    }

    /// 406 for an `Accept` header that excludes JSON.
    pub fn not_acceptable() -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "Not Acceptable")
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::status(StatusCode::TOO_MANY_REQUESTS)
        }
    }

    /// 422 `The '%s' parameter is required.`
    pub fn required(name: &str) -> Self {
        Self::unprocessable(format!("The '{name}' parameter is required."))
    }

    /// 422 `The '%s' parameter must be scalar.`
    pub fn scalar(name: &str) -> Self {
        Self::unprocessable(format!("The '{name}' parameter must be scalar."))
    }

    /// 422 `The '%s' parameter must be formatted as a(n) %s.` (integer, boolean,
    /// numeric, string, array).
    pub fn formatted(name: &str, kind: &str) -> Self {
        Self::unprocessable(format!(
            "The '{name}' parameter must be formatted as a(n) {kind}."
        ))
    }

    /// 422 `The '%s' parameter must be formatted as a non-empty string.`
    pub fn non_empty_string(name: &str) -> Self {
        Self::unprocessable(format!(
            "The '{name}' parameter must be formatted as a non-empty string."
        ))
    }

    /// 422 `The '%s' parameter must match one of the following values: ...`
    pub fn one_of(name: &str, values: &str) -> Self {
        Self::unprocessable(format!(
            "The '{name}' parameter must match one of the following values: {values}"
        ))
    }

    /// 422 `The '%' parameter is required for each Number object.` — the
    /// reference's text, typo included.
    pub fn number_object_incomplete() -> Self {
        Self::unprocessable("The '%' parameter is required for each Number object.".to_owned())
    }

    /// 422 `At least one of the following parameters is required: 'a', 'b'`
    pub fn at_least_one(a: &str, b: &str) -> Self {
        Self::unprocessable(format!(
            "At least one of the following parameters is required: '{a}', '{b}'"
        ))
    }

    /// 409 `The following parameters are mutually exclusive: 'a', 'b'`
    pub fn mutually_exclusive(a: &str, b: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            format!("The following parameters are mutually exclusive: '{a}', '{b}'"),
        )
    }

    /// 409 `Number(s) not available.`
    pub fn not_available() -> Self {
        Self::new(StatusCode::CONFLICT, "Number(s) not available.")
    }

    /// 409 `One or more numbers is not assigned to this account.`
    pub fn not_assigned() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "One or more numbers is not assigned to this account.",
        )
    }

    /// 409 `One or more numbers is part of a conflicting order.`
    pub fn conflicting_order() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "One or more numbers is part of a conflicting order.",
        )
    }

    /// 409 `One or more numbers is already pending disconnect.`
    pub fn already_pending_disconnect() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "One or more numbers is already pending disconnect.",
        )
    }

    /// 402 `Order blocked; trial limit realized. Limit: %d seats.`
    pub fn trial_limit_realized(limit: u32) -> Self {
        Self::new(
            StatusCode::PAYMENT_REQUIRED,
            format!("Order blocked; trial limit realized. Limit: {limit} seats."),
        )
    }

    /// 402 `Order too large; trial limit exceeded. Available: %d seats.`
    pub fn trial_limit_exceeded(available: u64) -> Self {
        Self::new(
            StatusCode::PAYMENT_REQUIRED,
            format!("Order too large; trial limit exceeded. Available: {available} seats."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "error": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
