//! The operator's errors, one enum per kind of life they end:
//!
//! - [`Error`]: why one reconcile of one set failed (a Secret, the vendor,
//!   the Kubernetes API, the executor); the controller backs off and retries,
//!   and counts it by [`Error::metric_label`];
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
use std::sync::Arc;

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
                    $( Self::$variant { .. } => snake_case(stringify!($variant)), )*
                }
            }
        }
    };
}

/// `SecretNotFound` → `secret_not_found`.
fn snake_case(name: &str) -> String {
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
/// Why one reconcile of one set failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API call failed while {action}")]
    Kube {
        /// What the operator was doing, e.g. "reading secret telecom/intelepeer-account".
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },

    /// The Secret named by a set's `accountRef` does not exist.
    #[error("secret {namespace}/{name} not found")]
    SecretNotFound {
        /// The set's (and the Secret's) namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
    },

    /// The account Secret lacks a key the credentials need.
    #[error("secret {namespace}/{name} has no key '{key}'")]
    SecretMissingKey {
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// The missing key.
        key: &'static str,
    },

    /// The account Secret is present but unusable (empty value, not UTF-8, ambiguous).
    #[error("secret {namespace}/{name} is not usable: {reason}")]
    SecretInvalid {
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// What is wrong, without the secret's values.
        reason: String,
    },

    /// The vendor client for an account could not be built.
    #[error("cannot create the IntelePeer client for account {account}")]
    VendorClient {
        /// The account (`namespace/secret`).
        account: String,
        /// The cause.
        #[source]
        source: intelepeer::Error,
    },

    /// A vendor API call failed.
    #[error("IntelePeer API call failed for account {account}")]
    Vendor {
        /// The account (`namespace/secret`).
        account: String,
        /// The cause.
        #[source]
        source: intelepeer::Error,
    },

    /// A vendor record could not be turned into a domain value (e.g. a malformed number).
    #[error("IntelePeer returned an unusable record for account {account}: {reason}")]
    VendorData {
        /// The account (`namespace/secret`).
        account: String,
        /// What was wrong with it.
        reason: String,
    },

    /// An inventory listing failed; concurrent callers that waited for the same
    /// listing share this one failure.
    #[error("listing the inventory of account {account} failed")]
    Inventory {
        /// The account (`namespace/secret`).
        account: String,
        /// The cause (shared).
        #[source]
        source: Arc<Error>,
    },

    /// The finalizer machinery of kube-runtime failed.
    #[error("finalizer failed")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),

    /// A set being deleted still has work to do before its finalizer may be
    /// removed (its numbers are being disconnected, or a disconnect waits for
    /// its grace period or approval). Not a failure: the controller looks
    /// again after `after`, without backoff.
    #[error("set {set} is not released yet: {reason}")]
    CleanupPending {
        /// The set (`namespace/name`).
        set: String,
        /// What it waits for.
        reason: String,
        /// When to look again.
        after: std::time::Duration,
    },

    /// The executor met a state it cannot act on (e.g. a purchase of a
    /// reservation that no intent records). Nothing was sent to the vendor.
    #[error("cannot execute the plan of set {set}: {reason}")]
    Executor {
        /// The set (`namespace/name`).
        set: String,
        /// What was wrong.
        reason: String,
    },

    /// An object without a namespace or a name was handed to the reconciler.
    #[error("object {key} cannot be reconciled: it has no namespace or no name")]
    Unidentified {
        /// What the object is called, as far as it says (`namespace/name`).
        key: String,
        /// Which of the two is missing.
        #[source]
        source: SpecError,
    },

    /// The planner returned no plan for a set it was given (a bug: the set
    /// is among the planned sets by construction). Nothing was sent.
    #[error("the planner returned no plan for set {set}")]
    NoPlan {
        /// The set (`namespace/name`).
        set: String,
    },

    /// Serializing or deserializing JSON failed (status patches, annotations).
    #[error("JSON (de)serialization failed while {action}")]
    Json {
        /// What was being (de)serialized.
        action: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}
}

impl Error {
    /// A short, stable, low-cardinality label for the `kind` of metrics: the
    /// variant's name in snake case ([`Error::variant_label`]), except that a
    /// vendor failure adds the vendor error's kind (`vendor_timeout`) and a
    /// shared or wrapped failure counts as its cause.
    pub fn metric_label(&self) -> String {
        match self {
            Error::Vendor { source, .. } => format!("vendor_{}", source.metric_label()),
            Error::Inventory { source, .. } => source.metric_label(),
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.metric_label(),
                _ => self.variant_label(),
            },
            _ => self.variant_label(),
        }
    }

    /// When this error only means "not done yet" (a deletion waiting for its
    /// cleanup), how long to wait before looking again. The controller does
    /// not count such an error as a failure.
    pub fn pending_requeue(&self) -> Option<std::time::Duration> {
        match self {
            Error::CleanupPending { after, .. } => Some(*after),
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.pending_requeue(),
                _ => None,
            },
            _ => None,
        }
    }

    /// The vendor's error at the root of this one, if any.
    pub fn vendor_source(&self) -> Option<&intelepeer::Error> {
        match self {
            Error::Vendor { source, .. } | Error::VendorClient { source, .. } => Some(source),
            Error::Inventory { source, .. } => source.vendor_source(),
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.vendor_source(),
                _ => None,
            },
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

    #[test]
    fn secret_errors_name_the_secret_and_the_key() {
        let e = Error::SecretMissingKey {
            namespace: "telecom".into(),
            name: "intelepeer-account".into(),
            key: "password",
        };
        assert_eq!(
            e.to_string(),
            "secret telecom/intelepeer-account has no key 'password'"
        );
        assert_eq!(e.metric_label(), "secret_missing_key");
        let e = Error::SecretNotFound {
            namespace: "telecom".into(),
            name: "x".into(),
        };
        assert_eq!(e.to_string(), "secret telecom/x not found");
    }

    #[test]
    fn report_joins_the_causes() {
        let inner = Error::SecretNotFound {
            namespace: "telecom".into(),
            name: "x".into(),
        };
        let e = Error::Inventory {
            account: "telecom/x".into(),
            source: Arc::new(inner),
        };
        assert_eq!(
            e.report(),
            "listing the inventory of account telecom/x failed: secret telecom/x not found"
        );
        // A shared failure is counted as its cause.
        assert_eq!(e.metric_label(), "secret_not_found");
    }

    #[test]
    fn metric_labels_are_the_variant_names_in_snake_case() {
        assert_eq!(
            Error::NoPlan { set: "t/s".into() }.metric_label(),
            "no_plan"
        );
        let vendor = Error::Vendor {
            account: "t/a".into(),
            source: intelepeer::Error::Unauthorized,
        };
        assert_eq!(vendor.variant_label(), "vendor");
        assert!(vendor.metric_label().starts_with("vendor_"));
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
