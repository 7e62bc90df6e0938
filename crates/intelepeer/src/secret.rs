//! Secrets (the account password and the session token) and the credentials
//! that carry them.
//!
//! A [`Secret`] prints as `***` through both `Debug` and `Display`, and does not
//! implement `Serialize`, so it cannot leak into logs, events, status or error
//! messages by accident. The only way to read it is [`Secret::expose`], which the
//! client calls at exactly two places: the authentication body and the
//! `Authorization` header.

use std::fmt;

/// A string that must never be printed: a password or a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Call it only where the value is sent to the vendor.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (a Secret key present but blank).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the client proves who it is. One client serves one account.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// Username and password: the client calls `POST /_rest/v4/authenticate`,
    /// caches the 24-hour token, and authenticates again before it expires or
    /// when the vendor answers 401.
    Password {
        /// The account's API user name (not secret: it may appear in logs).
        username: String,
        /// The password; printed as `***`.
        password: Secret,
    },
    /// A static session token, sent as is. A 401 cannot be recovered from:
    /// the error is returned to the caller.
    Token(Secret),
}

impl Credentials {
    /// Username and password credentials.
    pub fn password(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Password {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Static token credentials.
    pub fn token(token: impl Into<Secret>) -> Self {
        Self::Token(token.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_prints_as_stars_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn credentials_debug_hides_password_and_token() {
        let p = Credentials::password("demo", "pa55word");
        let dbg = format!("{p:?}");
        assert!(dbg.contains("demo"), "{dbg}");
        assert!(!dbg.contains("pa55word"), "{dbg}");
        let t = Credentials::token("tok-abc123");
        let dbg = format!("{t:?} {t:#?}");
        assert!(!dbg.contains("tok-abc123"), "{dbg}");
    }
}
