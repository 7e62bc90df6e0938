//! What the controller and the account workers share: the Kubernetes client,
//! metrics, readiness, the proven vendor logins and the operator's settings.
//! Built once by `run` and handed to the controller as `Arc<Context>`.

use std::time::Duration;

use crate::logins::Logins;
use crate::metrics::Metrics;
use crate::server::Readiness;

/// The `reportingController` of the operator's Events, and its field manager.
pub const CONTROLLER_NAME: &str = "tollfree-operator";

/// The vendor client of one login (cheap to clone: an `Arc` inside).
pub type VendorClient = intelepeer::Client;

/// The default `--resync-interval`.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_secs(300);

/// The operator's settings that the controller and the workers need.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The IntelePeer API base URL (validated; the operator's, never a tenant's).
    pub intelepeer_url: String,
    /// Only sets in this namespace are reconciled (`--namespace`); `None`: all.
    pub namespace: Option<String>,
    /// How often an account's inventory is walked in full (`--resync-interval`),
    /// and its members' Secrets read again.
    pub resync_interval: Duration,
    /// Vendor requests per second per login (`--vendor-rate-limit`; 0:
    /// unlimited). Every set of an account acts through one login's client,
    /// so this is the account's rate.
    pub vendor_rate_limit: f64,
    /// This replica's identity (pod name), written as the Events' `reportingInstance`.
    pub instance: String,
}

/// Shared state of the controller.
#[derive(Clone)]
pub struct Context {
    /// The Kubernetes client.
    pub client: kube::Client,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// `/readyz`: the controller marks its caches synced here.
    pub readiness: Readiness,
    /// Vendor logins and their proofs.
    pub logins: Logins<VendorClient>,
    /// The operator's settings.
    pub settings: Settings,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .field("logins", &self.logins)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds the shared state. Vendor clients are created per login on
    /// first use with `settings`' URL and rate limit, reporting every call to
    /// `metrics`.
    pub fn new(
        client: kube::Client,
        metrics: Metrics,
        readiness: Readiness,
        settings: Settings,
    ) -> Self {
        let logins = Logins::new(vendor_client_factory(
            settings.intelepeer_url.clone(),
            settings.vendor_rate_limit,
            metrics.clone(),
        ));
        Self {
            client,
            metrics,
            readiness,
            logins,
            settings,
        }
    }
}

/// Builds vendor clients: the operator's base URL (never the Secret's), its
/// rate limit, and an observer counting calls in `metrics`.
pub fn vendor_client_factory(
    base_url: String,
    rate_limit: f64,
    metrics: Metrics,
) -> impl Fn(intelepeer::Credentials) -> Result<VendorClient, intelepeer::Error> + Send + Sync + 'static
{
    move |credentials| {
        let metrics = metrics.clone();
        let mut config = intelepeer::ClientConfig::new(base_url.clone(), credentials).observer(
            move |call: &intelepeer::CallRecord| {
                let code = match (call.status, call.error) {
                    (Some(status), _) => status.to_string(),
                    (None, Some(kind)) => kind.to_owned(),
                    (None, None) => "none".to_owned(),
                };
                metrics.vendor_call(call.endpoint.label(), &code, call.duration);
            },
        );
        config.rate_limit_per_sec = rate_limit;
        intelepeer::Client::new(config)
    }
}
