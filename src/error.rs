//! The operator's errors, one enum per kind of life they end:
//!
//! - [`Error`]: why routing one set failed (its Secret, the vendor's verdict
//!   on its credentials, the Kubernetes API); the controller backs off and
//!   retries, and counts it by [`Error::metric_label`]. Each stage of an
//!   account worker has its own error type beside it
//!   (`account::execute::ExecuteError`, ...);
//! - [`StartError`]: why the process could not start or had to stop (the
//!   IntelePeer URL, the Kubernetes configuration, the metrics server,
//!   logging, leadership): `run` and its helpers return it and exit.
//!
//! Each variant names what failed and why in words a user can act on.
//! Display messages do not repeat their cause; the cause is the `#[source]`.
//! Use `report()` to print the whole chain (logs, Events, conditions).
//! Metric labels are the variant's name in snake case, derived by
//! `labelled_error!` so that a new variant cannot be left out or drift.

use std::fmt::Write as _;

use crate::logins::LoginError;
use crate::spec::SpecError;

/// Defines an error enum exactly as written (every variant carries data, as
/// an error should say what failed), plus `variant_label()`: the variant's
/// name in snake case (`SecretNotFound` → `secret_not_found`). A declarative
/// macro rather than a derive crate: it is a dozen lines and needs no new
/// dependency.
macro_rules! labelled_error {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vattr:meta])*
                $variant:ident $body:tt
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis enum $name {
            $(
                $(#[$vattr])*
                $variant $body
            ),*
        }

        impl $name {
            /// The variant's name in snake case: a short, stable,
            /// low-cardinality label for metrics and logs.
            pub fn variant_label(&self) -> String {
                match self {
                    $( Self::$variant { .. } => $crate::error::snake_case(stringify!($variant)), )*
                }
            }
        }
    };
}

pub(crate) use labelled_error;

/// `SecretNotFound` → `secret_not_found`.
pub(crate) fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

labelled_error! {
/// Why routing one set failed (the controller backs off and retries). What
/// happens inside an account — listings, plans, vendor calls — is the
/// account worker's, which backs off on its own and reports in the sets'
/// status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API call failed while {action}")]
    Kube {
        /// What the operator was doing, e.g. "adding the finalizer to set telecom/lines".
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },

    /// The set's Secret cannot be used, or the vendor refused its credentials.
    #[error(transparent)]
    Login(#[from] LoginError),

    /// An object without a namespace or a name was handed to the router.
    #[error("a TollFreeNumberSet cannot be routed")]
    Unidentified {
        /// Which of the two is missing.
        #[source]
        source: SpecError,
    },
}
}

impl Error {
    /// A short, stable, low-cardinality label for the `kind` of metrics: the
    /// variant's name in snake case ([`Error::variant_label`]), except that a
    /// login failure counts as what was wrong with it (`secret_not_found`,
    /// `refused`, ...).
    pub fn metric_label(&self) -> String {
        match self {
            Error::Login(e) => e.variant_label(),
            _ => self.variant_label(),
        }
    }

    /// The vendor's error at the root of this one, if any.
    pub fn vendor_source(&self) -> Option<&intelepeer::Error> {
        match self {
            Error::Login(e) => e.vendor_source(),
            _ => None,
        }
    }

    /// The message and every cause, joined by `": "` — one line for a log,
    /// an Event or a condition. Never contains secret values: no variant
    /// carries them.
    pub fn report(&self) -> String {
        report(self)
    }

    /// Shorthand for [`Error::Kube`].
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }
}

labelled_error! {
/// Why the operator could not start, or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The `--intelepeer-url` (or `INTELEPEER_URL`) is not acceptable.
    #[error("invalid IntelePeer URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is refused.
        reason: String,
    },

    /// No Kubernetes configuration could be loaded (neither in-cluster nor KUBECONFIG).
    #[error("cannot configure the Kubernetes client ({what})")]
    KubeConfig {
        /// Which configuration source was tried.
        what: &'static str,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The metrics/health server could not start or failed.
    #[error("metrics server on {addr} failed")]
    Server {
        /// The listen address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// Setting up logging failed.
    #[error("cannot set up logging: {0}")]
    Telemetry(String),

    /// A Kubernetes API call about the leader Lease failed.
    #[error("Kubernetes API call failed while {action}")]
    Lease {
        /// What the operator was doing, e.g. "reading lease tollfree-system/tollfree-operator".
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },

    /// Leadership was lost while this replica was working; it stops.
    #[error("lost leadership of lease {namespace}/{name} (identity {identity})")]
    LeadershipLost {
        /// The Lease's namespace.
        namespace: String,
        /// The Lease's name.
        name: String,
        /// This replica's identity.
        identity: String,
    },
}
}

impl StartError {
    /// A short, stable label for logs: the variant's name in snake case.
    pub fn metric_label(&self) -> String {
        self.variant_label()
    }

    /// The message and every cause, joined by `": "`.
    pub fn report(&self) -> String {
        report(self)
    }

    /// Shorthand for [`StartError::Lease`].
    pub fn lease(action: impl Into<String>, source: kube::Error) -> Self {
        StartError::Lease {
            action: action.into(),
            source,
        }
    }
}

/// Formats any error with its chain of causes: `"outer: cause: root cause"`.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let msg = e.to_string();
        // Some causes repeat their own cause in Display; avoid "x: x".
        if !out.ends_with(&msg) {
            let _ = write!(out, ": {msg}");
        }
        cause = e.source();
    }
    out
}

/// The operator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> crate::logins::SecretRef {
        crate::logins::SecretRef {
            namespace: "telecom".into(),
            name: "intelepeer-account".into(),
        }
    }

    #[test]
    fn secret_errors_name_the_secret_and_the_key() {
        let e = Error::Login(LoginError::SecretMissingKey {
            secret: secret(),
            key: "password",
        });
        assert_eq!(
            e.to_string(),
            "secret telecom/intelepeer-account has no key 'password'"
        );
        assert_eq!(e.metric_label(), "secret_missing_key");
        let e = Error::Login(LoginError::SecretNotFound { secret: secret() });
        assert_eq!(e.to_string(), "secret telecom/intelepeer-account not found");
    }

    #[test]
    fn report_joins_the_causes() {
        let e = Error::Login(LoginError::Refused {
            secret: secret(),
            identity: crate::logins::VendorIdentity::User("bob".into()),
            source: std::sync::Arc::new(intelepeer::Error::Unauthorized),
        });
        assert_eq!(
            e.report(),
            "IntelePeer refused the credentials in secret telecom/intelepeer-account (user bob): IntelePeer refused the credentials (401 Unauthorized): check the account's username and password, or its token"
        );
        assert_eq!(e.metric_label(), "refused");
    }

    #[test]
    fn metric_labels_are_the_variant_names_in_snake_case() {
        let unidentified = Error::Unidentified {
            source: crate::spec::SpecError::new("metadata.name", "", "is missing"),
        };
        assert_eq!(unidentified.metric_label(), "unidentified");
        assert_eq!(
            StartError::Telemetry("x".into()).metric_label(),
            "telemetry"
        );
        assert_eq!(
            StartError::LeadershipLost {
                namespace: "n".into(),
                name: "l".into(),
                identity: "i".into()
            }
            .metric_label(),
            "leadership_lost"
        );
        assert_eq!(snake_case("KubeConfig"), "kube_config");
    }
}
