//! The operator's Prometheus metrics (OpenMetrics text on `/metrics`).
//!
//! [`Metrics`] owns the registry and offers one method per thing the operator
//! observes, so the reconciler never touches metric families directly.
//! Cardinality stays bounded: labels are results, error kinds, vendor endpoints
//! and codes, namespaces, number states and accounts — never numbers, sets or
//! order IDs.
//!
//! Per-namespace gauges (`numbers`, `pending_orders`) are sums over sets: each
//! reconcile reports its set's counts with [`Metrics::record_set`], and
//! [`Metrics::forget_set`] removes a deleted set's share.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tollfree_plan::{NumberState, SetId};

use crate::error::Error;

/// The content type of the OpenMetrics text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets for reconcile and listing durations (seconds): 10 ms .. ~80 s.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0,
];

/// Buckets for single vendor calls (seconds): 5 ms .. 30 s.
const VENDOR_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReconcileResult {
    /// It returned `Ok`.
    Success,
    /// It returned an error.
    Error,
}

impl ReconcileResult {
    fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VendorCallLabels {
    endpoint: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceStateLabels {
    namespace: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    namespace: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListingLabels {
    account: String,
    complete: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn vendor_histogram() -> Histogram {
    Histogram::new(VENDOR_BUCKETS)
}

/// What one set last reported, so that per-namespace sums can be corrected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct SetShare {
    states: BTreeMap<&'static str, i64>,
    pending_orders: i64,
}

struct Inner {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    reconcile_errors: Family<KindLabels, Counter>,
    reconcile_duration: Histogram,
    vendor_calls: Family<VendorCallLabels, Counter>,
    vendor_call_duration: HistogramFamily<EndpointLabels>,
    numbers: Family<NamespaceStateLabels, Gauge>,
    pending_orders: Family<NamespaceLabels, Gauge>,
    purchases: Family<NamespaceLabels, Counter>,
    moves: Family<NamespaceLabels, Counter>,
    disconnects: Family<NamespaceLabels, Counter>,
    unowned: Family<AccountLabels, Gauge>,
    inventory_listing_duration: HistogramFamily<ListingLabels>,
    inventory_size: Family<AccountLabels, Gauge>,
    leader: Gauge,
    shares: Mutex<HashMap<SetId, SetShare>>,
}

/// The operator's metrics. Cheap to clone (an `Arc` inside); every clone
/// records into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Metric names as exposed (prefix `tollfree_`), for documentation and tests.
pub const FAMILIES: [&str; 15] = [
    "tollfree_reconciles",
    "tollfree_reconcile_errors",
    "tollfree_reconcile_duration_seconds",
    "tollfree_vendor_calls",
    "tollfree_vendor_call_duration_seconds",
    "tollfree_numbers",
    "tollfree_pending_orders",
    "tollfree_purchases",
    "tollfree_moves",
    "tollfree_disconnects",
    "tollfree_unowned_numbers",
    "tollfree_inventory_listing_duration_seconds",
    "tollfree_inventory_numbers",
    "tollfree_leader",
    "tollfree_build_info",
];

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tollfree");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles of TollFreeNumberSets, by result",
            reconciles.clone(),
        );
        // Both results exist from the start, so `rate()` sees the first one.
        for result in [ReconcileResult::Success, ReconcileResult::Error] {
            let _ = reconciles.get_or_create(&ResultLabels {
                result: result.as_str(),
            });
        }
        let reconcile_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reconciles, by error kind",
            reconcile_errors.clone(),
        );
        let reconcile_duration = duration_histogram();
        registry.register_with_unit(
            "reconcile_duration",
            "Duration of one reconcile",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        let vendor_calls = Family::<VendorCallLabels, Counter>::default();
        registry.register(
            "vendor_calls",
            "IntelePeer API calls, by endpoint and HTTP status code (or error kind when no response)",
            vendor_calls.clone(),
        );
        let vendor_call_duration: HistogramFamily<EndpointLabels> =
            Family::new_with_constructor(vendor_histogram);
        registry.register_with_unit(
            "vendor_call_duration",
            "Duration of one IntelePeer API call (one attempt), by endpoint",
            Unit::Seconds,
            vendor_call_duration.clone(),
        );
        let numbers = Family::<NamespaceStateLabels, Gauge>::default();
        registry.register(
            "numbers",
            "Numbers declared by TollFreeNumberSets, by namespace and state",
            numbers.clone(),
        );
        let pending_orders = Family::<NamespaceLabels, Gauge>::default();
        registry.register(
            "pending_orders",
            "Vendor orders in flight (not yet seen in the inventory), by namespace",
            pending_orders.clone(),
        );
        let purchases = Family::<NamespaceLabels, Counter>::default();
        registry.register(
            "purchases",
            "Numbers ordered for purchase, by namespace",
            purchases.clone(),
        );
        let moves = Family::<NamespaceLabels, Counter>::default();
        registry.register(
            "moves",
            "Numbers ordered to change package, by namespace",
            moves.clone(),
        );
        let disconnects = Family::<NamespaceLabels, Counter>::default();
        registry.register(
            "disconnects",
            "Numbers ordered to be disconnected, by namespace",
            disconnects.clone(),
        );
        let unowned = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "unowned_numbers",
            "Account numbers that no TollFreeNumberSet owns (left alone), by account",
            unowned.clone(),
        );
        let inventory_listing_duration: HistogramFamily<ListingLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "inventory_listing_duration",
            "Duration of a full inventory listing (all pages), by account and completeness",
            Unit::Seconds,
            inventory_listing_duration.clone(),
        );
        let inventory_size = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "inventory_numbers",
            "Numbers in the account's last inventory listing, by account",
            inventory_size.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader lease (or runs without leader election)",
            leader.clone(),
        );
        let build_info = Family::<Vec<(String, String)>, Gauge>::default();
        build_info
            .get_or_create(&vec![(
                "version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            )])
            .set(1);
        registry.register("build_info", "The operator's version", build_info);

        Self {
            inner: Arc::new(Inner {
                registry,
                reconciles,
                reconcile_errors,
                reconcile_duration,
                vendor_calls,
                vendor_call_duration,
                numbers,
                pending_orders,
                purchases,
                moves,
                disconnects,
                unowned,
                inventory_listing_duration,
                inventory_size,
                leader,
                shares: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The OpenMetrics text exposition of every family.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }

    /// Starts timing a reconcile. Finish it with [`ReconcileTimer::success`] or
    /// [`ReconcileTimer::failure`]; if it is dropped unfinished (the reconcile
    /// was cancelled), only its duration is recorded.
    pub fn reconcile_started(&self) -> ReconcileTimer {
        ReconcileTimer {
            metrics: self.clone(),
            started: Instant::now(),
        }
    }

    /// Counts a finished reconcile without timing it.
    pub fn reconciled(&self, result: ReconcileResult) {
        self.inner
            .reconciles
            .get_or_create(&ResultLabels {
                result: result.as_str(),
            })
            .inc();
    }

    /// Counts a failed reconcile by the error's kind ([`Error::metric_label`]).
    pub fn reconcile_error(&self, error: &Error) {
        self.inner
            .reconcile_errors
            .get_or_create(&KindLabels {
                kind: error.metric_label(),
            })
            .inc();
    }

    /// Records one vendor API call (one attempt): `endpoint` is a route template
    /// such as `GET /my/tf`, `code` the HTTP status (`"200"`) or, without a
    /// response, the error kind (`"timeout"`, `"transport"`).
    pub fn vendor_call(&self, endpoint: &str, code: &str, duration: Duration) {
        self.inner
            .vendor_calls
            .get_or_create(&VendorCallLabels {
                endpoint: endpoint.to_owned(),
                code: code.to_owned(),
            })
            .inc();
        self.inner
            .vendor_call_duration
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .observe(duration.as_secs_f64());
    }

    /// Reports one set's number states and in-flight orders; the namespace's
    /// gauges become the sum over its sets. Call after every reconcile of the set.
    pub fn record_set<'a>(
        &self,
        set: &SetId,
        states: impl IntoIterator<Item = (&'a NumberState, &'a usize)>,
        pending_orders: usize,
    ) {
        let mut share = SetShare::default();
        for (state, count) in states {
            *share.states.entry(state_label(*state)).or_default() += to_i64(*count);
        }
        share.pending_orders = to_i64(pending_orders);
        let previous = self
            .shares()
            .insert(set.clone(), share.clone())
            .unwrap_or_default();
        self.apply_share_delta(&set.namespace, &previous, &share);
    }

    /// Removes a deleted set's share from the per-namespace gauges.
    pub fn forget_set(&self, set: &SetId) {
        let previous = self.shares().remove(set);
        if let Some(previous) = previous {
            self.apply_share_delta(&set.namespace, &previous, &SetShare::default());
        }
    }

    fn shares(&self) -> MutexGuard<'_, HashMap<SetId, SetShare>> {
        // A poisoned lock only means a panic elsewhere mid-update; the map is
        // still usable (worst case a gauge is briefly off).
        self.inner
            .shares
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn apply_share_delta(&self, namespace: &str, old: &SetShare, new: &SetShare) {
        let states = old.states.keys().chain(new.states.keys());
        for state in states.collect::<std::collections::BTreeSet<_>>() {
            let delta = new.states.get(state).copied().unwrap_or(0)
                - old.states.get(state).copied().unwrap_or(0);
            if delta != 0 {
                self.inner
                    .numbers
                    .get_or_create(&NamespaceStateLabels {
                        namespace: namespace.to_owned(),
                        state,
                    })
                    .inc_by(delta);
            }
        }
        let delta = new.pending_orders - old.pending_orders;
        if delta != 0 {
            self.inner
                .pending_orders
                .get_or_create(&NamespaceLabels {
                    namespace: namespace.to_owned(),
                })
                .inc_by(delta);
        }
    }

    /// Counts numbers ordered for purchase by a set in `namespace`.
    pub fn purchased(&self, namespace: &str, numbers: usize) {
        Self::count(&self.inner.purchases, namespace, numbers);
    }

    /// Counts numbers ordered to change package by a set in `namespace`.
    pub fn moved(&self, namespace: &str, numbers: usize) {
        Self::count(&self.inner.moves, namespace, numbers);
    }

    /// Counts numbers ordered to be disconnected by a set in `namespace`.
    pub fn disconnected(&self, namespace: &str, numbers: usize) {
        Self::count(&self.inner.disconnects, namespace, numbers);
    }

    fn count(family: &Family<NamespaceLabels, Counter>, namespace: &str, n: usize) {
        family
            .get_or_create(&NamespaceLabels {
                namespace: namespace.to_owned(),
            })
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Sets how many of the account's numbers no set owns (DESIGN.md §3.2).
    /// `account` is the account's display name (`namespace/secret`).
    pub fn set_unowned(&self, account: &str, numbers: usize) {
        self.inner
            .unowned
            .get_or_create(&AccountLabels {
                account: account.to_owned(),
            })
            .set(to_i64(numbers));
    }

    /// Records a full inventory listing: how long it took, how many numbers it
    /// found, and whether every page was read.
    pub fn inventory_listed(&self, account: &str, duration: Duration, size: usize, complete: bool) {
        self.inner
            .inventory_listing_duration
            .get_or_create(&ListingLabels {
                account: account.to_owned(),
                complete: if complete { "true" } else { "false" },
            })
            .observe(duration.as_secs_f64());
        self.inner
            .inventory_size
            .get_or_create(&AccountLabels {
                account: account.to_owned(),
            })
            .set(to_i64(size));
    }

    /// Drops an account's series (its credentials changed or no set uses it any more).
    pub fn forget_account(&self, account: &str) {
        let labels = AccountLabels {
            account: account.to_owned(),
        };
        self.inner.unowned.remove(&labels);
        self.inner.inventory_size.remove(&labels);
        for complete in ["true", "false"] {
            self.inner
                .inventory_listing_duration
                .remove(&ListingLabels {
                    account: account.to_owned(),
                    complete,
                });
        }
    }

    /// Sets the `leader` gauge.
    pub fn set_leader(&self, leader: bool) {
        self.inner.leader.set(i64::from(leader));
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The `state` label of a number state (the same word as in status).
pub fn state_label(state: NumberState) -> &'static str {
    match state {
        NumberState::Active => "Active",
        NumberState::Reserved => "Reserved",
        NumberState::Purchasing => "Purchasing",
        NumberState::Moving => "Moving",
        NumberState::PendingDisconnect => "PendingDisconnect",
        NumberState::Disconnecting => "Disconnecting",
        NumberState::Unavailable => "Unavailable",
        NumberState::Conflict => "Conflict",
        NumberState::Blocked => "Blocked",
    }
}

/// Times one reconcile; see [`Metrics::reconcile_started`].
#[must_use = "finish the timer with success() or failure()"]
pub struct ReconcileTimer {
    metrics: Metrics,
    started: Instant,
}

impl ReconcileTimer {
    /// The reconcile succeeded.
    pub fn success(self) {
        self.metrics.reconciled(ReconcileResult::Success);
    }

    /// The reconcile failed with `error`.
    pub fn failure(self, error: &Error) {
        self.metrics.reconciled(ReconcileResult::Error);
        self.metrics.reconcile_error(error);
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.metrics
            .inner
            .reconcile_duration
            .observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::set_id as set;

    #[test]
    fn exposition_contains_every_family() {
        // A family without series is not exposed: record one of each.
        let m = Metrics::new();
        m.reconcile_started()
            .failure(&Error::NoPlan { set: "ns/a".into() });
        m.vendor_call("list_inventory", "200", Duration::from_millis(1));
        m.record_set(
            &set("ns", "a"),
            &BTreeMap::from([(NumberState::Active, 1)]),
            1,
        );
        m.purchased("ns", 1);
        m.moved("ns", 1);
        m.disconnected("ns", 1);
        m.set_unowned("ns/acct", 0);
        m.inventory_listed("ns/acct", Duration::from_millis(1), 1, true);
        let text = m.encode().expect("encode");
        for family in FAMILIES {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "missing {family} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn reconcile_results_are_exposed_before_the_first_reconcile() {
        let text = Metrics::new().encode().expect("encode");
        assert!(
            text.contains("tollfree_reconciles_total{result=\"success\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_reconciles_total{result=\"error\"} 0"),
            "{text}"
        );
        assert!(text.contains("tollfree_leader 0"), "{text}");
    }

    #[test]
    fn reconcile_results_and_error_kinds_are_counted() {
        let m = Metrics::new();
        m.reconcile_started().success();
        m.reconcile_started().failure(&Error::SecretNotFound {
            namespace: "telecom".into(),
            name: "x".into(),
        });
        let text = m.encode().expect("encode");
        assert!(
            text.contains("tollfree_reconciles_total{result=\"success\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_reconciles_total{result=\"error\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_reconcile_errors_total{kind=\"secret_not_found\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_reconcile_duration_seconds_count 2"),
            "{text}"
        );
    }

    #[test]
    fn vendor_calls_are_labelled_by_endpoint_and_code() {
        let m = Metrics::new();
        m.vendor_call("GET /my/tf", "200", Duration::from_millis(30));
        m.vendor_call("GET /my/tf", "200", Duration::from_millis(20));
        m.vendor_call("POST /my/tf/orders", "429", Duration::from_millis(5));
        let text = m.encode().expect("encode");
        assert!(
            text.contains("tollfree_vendor_calls_total{endpoint=\"GET /my/tf\",code=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "tollfree_vendor_calls_total{endpoint=\"POST /my/tf/orders\",code=\"429\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn namespace_gauges_sum_over_sets_and_forget_deleted_sets() {
        let m = Metrics::new();
        let a = set("telecom", "a");
        let b = set("telecom", "b");
        let counts = |active: usize, purchasing: usize| {
            BTreeMap::from([
                (NumberState::Active, active),
                (NumberState::Purchasing, purchasing),
            ])
        };
        m.record_set(&a, &counts(3, 1), 1);
        m.record_set(&b, &counts(2, 0), 0);
        let text = m.encode().expect("encode");
        assert!(
            text.contains("tollfree_numbers{namespace=\"telecom\",state=\"Active\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_pending_orders{namespace=\"telecom\"} 1"),
            "{text}"
        );
        // The purchase completed: a's share is replaced, not added.
        m.record_set(&a, &counts(4, 0), 0);
        m.forget_set(&b);
        let text = m.encode().expect("encode");
        assert!(
            text.contains("tollfree_numbers{namespace=\"telecom\",state=\"Active\"} 4"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_numbers{namespace=\"telecom\",state=\"Purchasing\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("tollfree_pending_orders{namespace=\"telecom\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn mutations_unowned_and_inventory_are_recorded_per_namespace_and_account() {
        let m = Metrics::new();
        m.purchased("telecom", 3);
        m.disconnected("telecom", 1);
        m.moved("telecom", 2);
        m.set_unowned("telecom/intelepeer-account", 7);
        m.inventory_listed(
            "telecom/intelepeer-account",
            Duration::from_millis(120),
            42,
            true,
        );
        m.set_leader(true);
        let text = m.encode().expect("encode");
        for line in [
            "tollfree_purchases_total{namespace=\"telecom\"} 3",
            "tollfree_disconnects_total{namespace=\"telecom\"} 1",
            "tollfree_moves_total{namespace=\"telecom\"} 2",
            "tollfree_unowned_numbers{account=\"telecom/intelepeer-account\"} 7",
            "tollfree_inventory_numbers{account=\"telecom/intelepeer-account\"} 42",
            "tollfree_inventory_listing_duration_seconds_count{account=\"telecom/intelepeer-account\",complete=\"true\"} 1",
            "tollfree_leader 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        m.forget_account("telecom/intelepeer-account");
        let text = m.encode().expect("encode");
        assert!(!text.contains("telecom/intelepeer-account"), "{text}");
    }
}
