//! What every reconcile shares: the Kubernetes client, metrics, the account
//! and inventory caches, the event recorder and the operator's settings.
//! Built once by `run` and handed to the controller as `Arc<Context>`.

use std::time::Duration;

use kube::runtime::events::{Recorder, Reporter};

use crate::accounts::{Account, AccountCache, AccountKey};
use crate::error::Error;
use crate::inventory::InventoryCache;
use crate::metrics::Metrics;
use crate::server::Readiness;

/// The `reportingController` of the operator's Events, and its field manager.
pub const CONTROLLER_NAME: &str = "tollfree-operator";

/// The vendor client of one account (cheap to clone: an `Arc` inside).
pub type VendorClient = intelepeer::Client;

/// The operator's settings that reconciles need.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The IntelePeer API base URL (validated; the operator's, never a tenant's).
    pub intelepeer_url: String,
    /// Only sets in this namespace are reconciled (`--namespace`); `None`: all.
    pub namespace: Option<String>,
    /// Full inventory resync interval (`--resync-interval`); also how often a
    /// converged set is requeued.
    pub resync_interval: Duration,
    /// Vendor requests per second per account (`--vendor-rate-limit`; 0: unlimited).
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
    /// One inventory snapshot per account, shared by its sets.
    pub inventory: InventoryCache,
    /// One vendor client per account.
    pub accounts: AccountCache<VendorClient>,
    /// Publishes Kubernetes Events as `tollfree-operator` (one recorder for
    /// all objects: it deduplicates repeated events).
    pub recorder: Recorder,
    /// `/readyz`: the controller marks its caches synced here.
    pub readiness: Readiness,
    /// The operator's settings.
    pub settings: Settings,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("settings", &self.settings)
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Builds the shared state. Vendor clients are created per account on
    /// first use with `settings`' URL and rate limit, reporting every call to
    /// `metrics`.
    pub fn new(
        client: kube::Client,
        metrics: Metrics,
        readiness: Readiness,
        settings: Settings,
    ) -> Self {
        let reporter = Reporter {
            controller: CONTROLLER_NAME.to_owned(),
            instance: Some(settings.instance.clone()),
        };
        let recorder = Recorder::new(client.clone(), reporter);
        let inventory = InventoryCache::new(settings.resync_interval, Some(metrics.clone()));
        let accounts = AccountCache::new(vendor_client_factory(
            settings.intelepeer_url.clone(),
            settings.vendor_rate_limit,
            metrics.clone(),
        ));
        Self {
            client,
            metrics,
            inventory,
            accounts,
            recorder,
            readiness,
            settings,
        }
    }

    /// The account named by a set's `accountRef`: reads the Secret
    /// `namespace/secret_name` (the set's own namespace — never another) and
    /// returns the account's cached vendor client. When the Secret's
    /// credentials changed, the old account's inventory and metric series are
    /// dropped.
    pub async fn account(
        &self,
        namespace: &str,
        secret_name: &str,
    ) -> Result<Account<VendorClient>, Error> {
        let resolved = self
            .accounts
            .resolve(&self.client, namespace, secret_name)
            .await?;
        if let Some(old) = &resolved.replaced {
            self.forget_account(old);
        }
        Ok(resolved.account)
    }

    /// Drops a stale account's inventory and metric series.
    pub fn forget_account(&self, key: &AccountKey) {
        self.inventory.forget(key);
        self.metrics.forget_account(&key.to_string());
    }
}

/// Builds vendor clients: the operator's base URL (never the Secret's), its
/// rate limit, and an observer counting calls in `metrics`.
pub fn vendor_client_factory(
    base_url: String,
    rate_limit: f64,
    metrics: Metrics,
) -> impl Fn(&AccountKey, intelepeer::Credentials) -> Result<VendorClient, Error> + Send + Sync + 'static
{
    move |key, credentials| {
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
        intelepeer::Client::new(config).map_err(|source| Error::VendorClient {
            account: key.to_string(),
            source,
        })
    }
}
