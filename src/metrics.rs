//! The operator's Prometheus metrics, on `/metrics` in OpenMetrics text or,
//! when the scraper asks for it, the classic Prometheus text format 0.0.4
//! ([`Format::from_accept`]).
//!
//! [`Metrics`] owns the registry and offers one method per thing the operator
//! observes, so the reconciler never touches metric families directly.
//! Cardinality stays bounded: labels are results, error kinds, vendor endpoints
//! and codes, namespaces, number states and accounts — never numbers or order
//! IDs. The one per-set family, `tollfree_set_condition`, holds one series per
//! condition type (three) of each set: it grows with the sets, not with their
//! numbers.
//!
//! Per-namespace gauges (`numbers`, `pending_orders`) and the per-account
//! `missing_numbers` and `blocked_numbers` are sums over sets: each account
//! pass reports every member set's counts with [`Metrics::record_set`],
//! [`Metrics::forget_set`] removes a deleted set's share, and
//! [`Metrics::forget_account`] the series of an account no worker serves.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tollfree_plan::{NumberState, SetId};

/// The content type of the OpenMetrics text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the classic Prometheus text exposition (version 0.0.4).
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// An exposition format of `/metrics`.
///
/// Both carry the same samples; they differ in how families are named:
/// OpenMetrics names a counter family `tollfree_purchases` (samples
/// `tollfree_purchases_total`) and ends with `# EOF`, the classic format names
/// the family after its sample, `tollfree_purchases_total`, which is what
/// `promtool check metrics` and Prometheus' classic parser expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics text 1.0.0 (the default, as Prometheus prefers it).
    OpenMetrics,
    /// The Prometheus text format 0.0.4.
    PrometheusText,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => CONTENT_TYPE,
            Format::PrometheusText => PROMETHEUS_TEXT_CONTENT_TYPE,
        }
    }

    /// The format to answer a request's `Accept` header with (RFC 9110 §12.5.1):
    /// the acceptable media range with the highest `q` among
    /// `application/openmetrics-text` (any version) and `text/plain`;
    /// OpenMetrics on a tie, for a wildcard, for no header, and when nothing
    /// acceptable is offered (a scraper that cannot read it says so more
    /// clearly than a 406 would). `text/plain` of any version gets 0.0.4: its
    /// metric names are valid in every version.
    pub fn from_accept(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::OpenMetrics;
        };
        let mut open_metrics: Option<f32> = None;
        let mut text: Option<f32> = None;
        let mut wildcard: Option<f32> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite() && *q > 0.0);
            let Some(q) = q else { continue };
            let slot = match media.as_str() {
                "application/openmetrics-text" => &mut open_metrics,
                "text/plain" => &mut text,
                "*/*" | "text/*" | "application/*" => &mut wildcard,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        let open_metrics = open_metrics.or(wildcard).unwrap_or(0.0);
        match text {
            Some(text) if text > open_metrics => Format::PrometheusText,
            _ => Format::OpenMetrics,
        }
    }
}

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
struct ConditionLabels {
    namespace: String,
    name: String,
    condition: String,
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListingLabels {
    account: String,
    complete: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnomalyLabels {
    account: String,
    kind: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn vendor_histogram() -> Histogram {
    Histogram::new(VENDOR_BUCKETS)
}

/// What one reconcile of a set reports: the set's share of the per-namespace
/// (`numbers`, `pending_orders`) and per-account (`missing_numbers`,
/// `blocked_numbers`) gauges. See [`Metrics::record_set`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetNumbers {
    /// The account the set's numbers are in, as displayed everywhere
    /// (the proven login, `user NAME` or `token 1a2b3c4d`: the `account` label).
    pub account: String,
    /// How many of the set's numbers (its status lines) are in each state;
    /// `Blocked` ones count into the account's `blocked_numbers`.
    pub states: BTreeMap<NumberState, usize>,
    /// Vendor orders in flight (sent, not yet seen in the inventory).
    pub pending_orders: usize,
    /// Numbers the set owns that the last inventory listing does not show
    /// (and that no disconnect of the set explains): a listing the planner
    /// does not trust, or numbers removed at the vendor behind the operator.
    pub missing: usize,
}

/// What every set last reported, and the per-account sums over it, kept by
/// deltas: a report costs the same whatever the number of sets.
#[derive(Debug, Default)]
struct Shares {
    sets: HashMap<SetId, SetShare>,
    accounts: HashMap<String, AccountSum>,
}

/// One account's sums over the sets that report it.
#[derive(Debug, Default)]
struct AccountSum {
    /// How many sets report the account: at 0 its series go.
    sets: usize,
    missing: i64,
    blocked: i64,
}

/// What one set last reported, so that sums over sets can be corrected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct SetShare {
    account: Option<String>,
    states: BTreeMap<&'static str, i64>,
    pending_orders: i64,
    missing: i64,
    blocked: i64,
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
    missing: Family<AccountLabels, Gauge>,
    blocked: Family<AccountLabels, Gauge>,
    conditions: Family<ConditionLabels, Gauge>,
    inventory_listing_duration: HistogramFamily<ListingLabels>,
    inventory_size: Family<AccountLabels, Gauge>,
    inventory_anomalies: Family<AnomalyLabels, Counter>,
    leader: Gauge,
    shares: Mutex<Shares>,
    /// By set: the reason each condition type was last exported with, so that
    /// a series whose reason changed can be removed.
    condition_reasons: Mutex<HashMap<SetId, BTreeMap<String, String>>>,
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

/// Metric family names as OpenMetrics exposes them (a counter's samples add
/// `_total`, a histogram's `_bucket`, `_count` and `_sum`), for documentation
/// and tests.
pub const FAMILIES: [&str; 19] = [
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
    "tollfree_missing_numbers",
    "tollfree_blocked_numbers",
    "tollfree_set_condition",
    "tollfree_inventory_listing_duration_seconds",
    "tollfree_inventory_numbers",
    "tollfree_inventory_anomalies",
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
            "Account-worker passes (one plans every set of an account), by result",
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
            "Failed account-worker passes, by error kind (vendor_<error>, execute)",
            reconcile_errors.clone(),
        );
        let reconcile_duration = duration_histogram();
        registry.register_with_unit(
            "reconcile_duration",
            "Duration of one account-worker pass",
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
        let missing = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "missing_numbers",
            "Numbers TollFreeNumberSets own that the account's last inventory listing does not show, by account",
            missing.clone(),
        );
        let blocked = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "blocked_numbers",
            "Numbers TollFreeNumberSets want whose next step a policy, budget, suspend or unsafe listing holds, by account",
            blocked.clone(),
        );
        let conditions = Family::<ConditionLabels, Gauge>::default();
        registry.register(
            "set_condition",
            "1 while the TollFreeNumberSet's condition is True, 0 while False or Unknown; one series per set and condition, labelled with its current reason",
            conditions.clone(),
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
        let inventory_anomalies = Family::<AnomalyLabels, Counter>::default();
        registry.register(
            "inventory_anomalies",
            "Inventory records or pages the operator could not vouch for (unparseable or conflicting records, hasMore contradictions), by account and kind; a listing with any is not complete",
            inventory_anomalies.clone(),
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
                missing,
                blocked,
                conditions,
                inventory_listing_duration,
                inventory_size,
                inventory_anomalies,
                leader,
                shares: Mutex::new(Shares::default()),
                condition_reasons: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The OpenMetrics text exposition of every family.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        self.encode_as(Format::OpenMetrics)
    }

    /// The exposition of every family in `format`.
    pub fn encode_as(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        match format {
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
            }
            Format::PrometheusText => {
                prometheus_client::encoding::prometheus_text::encode(
                    &mut out,
                    &self.inner.registry,
                )?;
            }
        }
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

    /// Counts a failed reconcile (an account pass, or the routing of a set)
    /// by its kind, e.g. [`crate::error::Error::metric_label`] or a vendor error's label.
    pub fn reconcile_error(&self, kind: &str) {
        self.inner
            .reconcile_errors
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
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

    /// Reports one set's numbers (see [`SetNumbers`]); the namespace's and the
    /// account's gauges become the sums over their sets. Call after every
    /// reconcile of the set. A set that moved to another account leaves the
    /// old account's sums.
    pub fn record_set(&self, set: &SetId, numbers: &SetNumbers) {
        let mut share = SetShare {
            account: Some(numbers.account.clone()),
            pending_orders: to_i64(numbers.pending_orders),
            missing: to_i64(numbers.missing),
            ..SetShare::default()
        };
        for (state, count) in &numbers.states {
            *share.states.entry(state_label(*state)).or_default() += to_i64(*count);
            if *state == NumberState::Blocked {
                share.blocked += to_i64(*count);
            }
        }
        let mut shares = self.shares();
        let previous = shares
            .sets
            .insert(set.clone(), share.clone())
            .unwrap_or_default();
        self.apply_share_delta(&set.namespace, &previous, &share);
        self.apply_account_delta(&mut shares.accounts, &previous, Some(&share));
    }

    /// Removes a deleted set's share from the per-namespace and per-account
    /// gauges, and its condition series.
    pub fn forget_set(&self, set: &SetId) {
        let mut shares = self.shares();
        if let Some(previous) = shares.sets.remove(set) {
            self.apply_share_delta(&set.namespace, &previous, &SetShare::default());
            self.apply_account_delta(&mut shares.accounts, &previous, None);
        }
        drop(shares);
        let reasons = self.condition_reasons().remove(set);
        for (condition, reason) in reasons.unwrap_or_default() {
            self.inner
                .conditions
                .remove(&condition_labels(set, condition, reason));
        }
    }

    /// Exports a set's conditions as written to its status: one
    /// `tollfree_set_condition` series per condition type, 1 when `True`,
    /// 0 otherwise, labelled with the condition's reason. When a condition's
    /// reason changes (or the condition goes away) its old series is removed,
    /// so that `== 1` selects only what is true now.
    pub fn record_conditions(&self, set: &SetId, conditions: &[Condition]) {
        let mut all = self.condition_reasons();
        let known = all.entry(set.clone()).or_default();
        let current: BTreeMap<&str, &Condition> =
            conditions.iter().map(|c| (c.type_.as_str(), c)).collect();
        known.retain(|condition, reason| {
            let keep = current
                .get(condition.as_str())
                .is_some_and(|c| c.reason == *reason);
            if !keep {
                self.inner.conditions.remove(&condition_labels(
                    set,
                    condition.clone(),
                    reason.clone(),
                ));
            }
            keep
        });
        for (condition, c) in current {
            self.inner
                .conditions
                .get_or_create(&condition_labels(
                    set,
                    condition.to_owned(),
                    c.reason.clone(),
                ))
                .set(i64::from(c.status == "True"));
            known.insert(condition.to_owned(), c.reason.clone());
        }
    }

    fn condition_reasons(&self) -> MutexGuard<'_, HashMap<SetId, BTreeMap<String, String>>> {
        // As for `shares`: a poisoned map is still usable.
        self.inner
            .condition_reasons
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves a set's share from `old` (its previous report) to `new` (none
    /// when the set is gone) in the per-account sums, and exports the sums of
    /// the accounts concerned; an account no set reports any more loses its
    /// series.
    fn apply_account_delta(
        &self,
        accounts: &mut HashMap<String, AccountSum>,
        old: &SetShare,
        new: Option<&SetShare>,
    ) {
        if let Some(account) = &old.account
            && let Some(sum) = accounts.get_mut(account)
        {
            sum.sets = sum.sets.saturating_sub(1);
            sum.missing -= old.missing;
            sum.blocked -= old.blocked;
        }
        if let Some(new) = new
            && let Some(account) = &new.account
        {
            let sum = accounts.entry(account.clone()).or_default();
            sum.sets += 1;
            sum.missing += new.missing;
            sum.blocked += new.blocked;
        }
        let touched = [old.account.as_ref(), new.and_then(|n| n.account.as_ref())];
        for account in touched.into_iter().flatten() {
            let labels = AccountLabels {
                account: account.clone(),
            };
            match accounts.get(account) {
                Some(sum) if sum.sets > 0 => {
                    self.inner.missing.get_or_create(&labels).set(sum.missing);
                    self.inner.blocked.get_or_create(&labels).set(sum.blocked);
                }
                _ => {
                    accounts.remove(account);
                    self.inner.missing.remove(&labels);
                    self.inner.blocked.remove(&labels);
                }
            }
        }
    }

    fn shares(&self) -> MutexGuard<'_, Shares> {
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

    /// Sets how many of the account's numbers no set owns (docs/safety.md, rule 2).
    /// `account` is the account's display name (the proven login, `user NAME`).
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

    /// Counts the anomalies one listing of `account` had, by kind label
    /// (`intelepeer::pages::AnomalyKind::label`).
    pub fn inventory_anomalies(&self, account: &str, kind: &'static str, count: u64) {
        self.inner
            .inventory_anomalies
            .get_or_create(&AnomalyLabels {
                account: account.to_owned(),
                kind,
            })
            .inc_by(count);
    }

    /// Drops an account's series (its credentials changed or no set uses it
    /// any more). The sums over sets come back with the next [`Metrics::record_set`]
    /// of a set still using it.
    pub fn forget_account(&self, account: &str) {
        let labels = AccountLabels {
            account: account.to_owned(),
        };
        self.inner.unowned.remove(&labels);
        self.inner.missing.remove(&labels);
        self.inner.blocked.remove(&labels);
        self.inner.inventory_size.remove(&labels);
        for complete in ["true", "false"] {
            self.inner
                .inventory_listing_duration
                .remove(&ListingLabels {
                    account: account.to_owned(),
                    complete,
                });
        }
        for kind in intelepeer::pages::AnomalyKind::ALL {
            self.inner.inventory_anomalies.remove(&AnomalyLabels {
                account: account.to_owned(),
                kind: kind.label(),
            });
        }
    }

    /// Sets the `leader` gauge.
    pub fn set_leader(&self, leader: bool) {
        self.inner.leader.set(i64::from(leader));
    }
}

fn condition_labels(set: &SetId, condition: String, reason: String) -> ConditionLabels {
    ConditionLabels {
        namespace: set.namespace.clone(),
        name: set.name.clone(),
        condition,
        reason,
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
        NumberState::Missing => "Missing",
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

    /// The reconcile failed with an error of `kind` (a metric label such as
    /// `vendor_timeout` or `secret_not_found`).
    pub fn failure(self, kind: &str) {
        self.metrics.reconciled(ReconcileResult::Error);
        self.metrics.reconcile_error(kind);
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

    fn condition(type_: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                jiff::Timestamp::UNIX_EPOCH,
            ),
        }
    }

    #[test]
    fn exposition_contains_every_family() {
        // A family without series is not exposed: record one of each.
        let m = Metrics::new();
        m.reconcile_started().failure("vendor_timeout");
        m.vendor_call("list_inventory", "200", Duration::from_millis(1));
        m.record_set(
            &set("ns", "a"),
            &SetNumbers {
                account: "ns/acct".into(),
                states: BTreeMap::from([(NumberState::Active, 1)]),
                pending_orders: 1,
                missing: 0,
            },
        );
        m.record_conditions(&set("ns", "a"), &[condition("Ready", "True", "Converged")]);
        m.purchased("ns", 1);
        m.moved("ns", 1);
        m.disconnected("ns", 1);
        m.set_unowned("ns/acct", 0);
        m.inventory_listed("ns/acct", Duration::from_millis(1), 1, true);
        m.inventory_anomalies("ns/acct", "malformed_endpoint", 1);
        let text = m.encode().expect("encode");
        for family in FAMILIES {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "missing {family} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        // And FAMILIES lists nothing else.
        let exposed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
            .collect();
        assert_eq!(exposed.len(), FAMILIES.len(), "{exposed:?}");
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
        m.reconcile_started().failure("secret_not_found");
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
        let counts = |active: usize, purchasing: usize, pending_orders: usize| SetNumbers {
            account: "telecom/acct".into(),
            states: BTreeMap::from([
                (NumberState::Active, active),
                (NumberState::Purchasing, purchasing),
            ]),
            pending_orders,
            missing: 0,
        };
        m.record_set(&a, &counts(3, 1, 1));
        m.record_set(&b, &counts(2, 0, 0));
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
        m.record_set(&a, &counts(4, 0, 0));
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
        m.set_unowned("user demo", 7);
        m.inventory_listed("user demo", Duration::from_millis(120), 42, true);
        m.inventory_anomalies("user demo", "missing_package", 2);
        m.set_leader(true);
        let text = m.encode().expect("encode");
        for line in [
            "tollfree_purchases_total{namespace=\"telecom\"} 3",
            "tollfree_disconnects_total{namespace=\"telecom\"} 1",
            "tollfree_moves_total{namespace=\"telecom\"} 2",
            "tollfree_unowned_numbers{account=\"user demo\"} 7",
            "tollfree_inventory_numbers{account=\"user demo\"} 42",
            "tollfree_inventory_listing_duration_seconds_count{account=\"user demo\",complete=\"true\"} 1",
            "tollfree_inventory_anomalies_total{account=\"user demo\",kind=\"missing_package\"} 2",
            "tollfree_leader 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        m.forget_account("user demo");
        let text = m.encode().expect("encode");
        assert!(!text.contains("user demo"), "{text}");
    }

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn a_condition_is_one_while_true_and_its_old_reason_disappears() {
        let m = Metrics::new();
        let s = set("telecom", "support-lines");
        let series = |condition: &str, reason: &str| {
            format!(
                "tollfree_set_condition{{namespace=\"telecom\",name=\"support-lines\",condition=\"{condition}\",reason=\"{reason}\"}}"
            )
        };
        m.record_conditions(
            &s,
            &[
                condition("Ready", "False", "Progressing"),
                condition("Reconciling", "True", "Progressing"),
                condition("Stalled", "False", "Progressing"),
            ],
        );
        let text = m.encode().expect("encode");
        assert_eq!(
            sample(&text, &series("Reconciling", "Progressing")),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, &series("Ready", "Progressing")),
            Some(0.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, &series("Stalled", "Progressing")),
            Some(0.0),
            "{text}"
        );

        m.record_conditions(
            &s,
            &[
                condition("Ready", "False", "Conflict"),
                condition("Reconciling", "False", "Conflict"),
                condition("Stalled", "True", "Conflict"),
            ],
        );
        let text = m.encode().expect("encode");
        assert_eq!(
            sample(&text, &series("Stalled", "Conflict")),
            Some(1.0),
            "{text}"
        );
        assert!(
            !text.contains("reason=\"Progressing\""),
            "a stale reason stays exposed:\n{text}"
        );
        assert_eq!(
            text.matches("tollfree_set_condition{").count(),
            3,
            "one series per condition:\n{text}"
        );

        m.forget_set(&s);
        let text = m.encode().expect("encode");
        assert!(!text.contains("support-lines"), "{text}");
    }

    #[test]
    fn a_condition_that_goes_away_loses_its_series() {
        let m = Metrics::new();
        let s = set("telecom", "a");
        m.record_conditions(
            &s,
            &[
                condition("Ready", "True", "Converged"),
                condition("Stalled", "False", "Converged"),
            ],
        );
        m.record_conditions(&s, &[condition("Ready", "True", "Converged")]);
        let text = m.encode().expect("encode");
        assert!(!text.contains("condition=\"Stalled\""), "{text}");
        assert!(text.contains("condition=\"Ready\""), "{text}");
    }

    #[test]
    fn missing_and_blocked_numbers_sum_over_the_sets_of_an_account() {
        let m = Metrics::new();
        let numbers = |account: &str, blocked: usize, missing: usize| SetNumbers {
            account: account.into(),
            states: BTreeMap::from([(NumberState::Active, 2), (NumberState::Blocked, blocked)]),
            pending_orders: 0,
            missing,
        };
        let (a, b) = (set("telecom", "a"), set("sales", "b"));
        m.record_set(&a, &numbers("telecom/acct", 1, 2));
        m.record_set(&b, &numbers("telecom/acct", 3, 0));
        let text = m.encode().expect("encode");
        let missing = "tollfree_missing_numbers{account=\"telecom/acct\"}";
        let blocked = "tollfree_blocked_numbers{account=\"telecom/acct\"}";
        assert_eq!(sample(&text, missing), Some(2.0), "{text}");
        assert_eq!(sample(&text, blocked), Some(4.0), "{text}");

        // Replaced, not added; then b moves to another account.
        m.record_set(&a, &numbers("telecom/acct", 0, 0));
        m.record_set(&b, &numbers("sales/acct", 3, 1));
        let text = m.encode().expect("encode");
        assert_eq!(sample(&text, missing), Some(0.0), "{text}");
        assert_eq!(sample(&text, blocked), Some(0.0), "{text}");
        assert_eq!(
            sample(&text, "tollfree_blocked_numbers{account=\"sales/acct\"}"),
            Some(3.0),
            "{text}"
        );

        // An account no set reports any more has no series.
        m.forget_set(&a);
        let text = m.encode().expect("encode");
        assert!(!text.contains("telecom/acct"), "{text}");

        // After forget_account, the next report brings the full sum back.
        m.forget_account("sales/acct");
        m.record_set(&b, &numbers("sales/acct", 3, 1));
        let text = m.encode().expect("encode");
        assert_eq!(
            sample(&text, "tollfree_missing_numbers{account=\"sales/acct\"}"),
            Some(1.0),
            "{text}"
        );
    }

    proptest::proptest! {
        /// Whatever the order of reports, moves between accounts and
        /// deletions, each account's gauges are the sums over the sets that
        /// report it now, and an account no set reports has no series.
        #[test]
        fn account_sums_follow_every_sequence_of_reports(
            steps in proptest::collection::vec(
                (0usize..4, proptest::option::of(0usize..3), 0usize..5, 0usize..5),
                1..40,
            )
        ) {
            let m = Metrics::new();
            let accounts = ["user a", "user b", "user c"];
            let mut expected: BTreeMap<usize, (usize, usize, usize)> = BTreeMap::new();
            let mut now: BTreeMap<usize, (usize, usize, usize)> = BTreeMap::new();
            for (set_index, account, blocked, missing) in steps {
                let id = set("ns", &format!("s{set_index}"));
                match account {
                    Some(account) => {
                        m.record_set(&id, &SetNumbers {
                            account: accounts[account].into(),
                            states: BTreeMap::from([(NumberState::Blocked, blocked)]),
                            pending_orders: 0,
                            missing,
                        });
                        now.insert(set_index, (account, blocked, missing));
                    }
                    None => {
                        m.forget_set(&id);
                        now.remove(&set_index);
                    }
                }
            }
            for (account, blocked, missing) in now.values() {
                let sum = expected.entry(*account).or_default();
                sum.0 += 1;
                sum.1 += blocked;
                sum.2 += missing;
            }
            let text = m.encode().expect("encode");
            for (i, account) in accounts.iter().enumerate() {
                let blocked = sample(&text, &format!("tollfree_blocked_numbers{{account=\"{account}\"}}"));
                let missing = sample(&text, &format!("tollfree_missing_numbers{{account=\"{account}\"}}"));
                match expected.get(&i) {
                    Some(&(_, b, mi)) => {
                        proptest::prop_assert_eq!(blocked, Some(b as f64), "{}", text);
                        proptest::prop_assert_eq!(missing, Some(mi as f64), "{}", text);
                    }
                    None => {
                        proptest::prop_assert_eq!(blocked, None, "{}", text);
                        proptest::prop_assert_eq!(missing, None, "{}", text);
                    }
                }
            }
        }
    }

    #[test]
    fn classic_text_names_every_family_after_its_samples_with_help() {
        let m = Metrics::new();
        m.purchased("telecom", 1);
        m.vendor_call("GET /my/tf", "200", Duration::from_millis(3));
        let text = m.encode_as(Format::PrometheusText).expect("encode");
        for line in [
            "# HELP tollfree_purchases_total Numbers ordered for purchase, by namespace.",
            "# TYPE tollfree_purchases_total counter",
            "tollfree_purchases_total{namespace=\"telecom\"} 1",
            "# TYPE tollfree_reconciles_total counter",
            "# TYPE tollfree_vendor_call_duration_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
        // Every family has HELP right before TYPE, under the same name.
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(
                    i > 0 && lines[i - 1].starts_with(&format!("# HELP {name} ")),
                    "no HELP for {name} in\n{text}"
                );
            }
        }
    }

    #[test]
    fn accept_header_chooses_the_format() {
        use Format::{OpenMetrics as Om, PrometheusText as Text};
        for (accept, want) in [
            (None, Om),
            (Some("*/*"), Om),
            (Some("text/plain; version=0.0.4"), Text),
            (Some("text/plain;version=0.0.4;q=0.9,*/*;q=0.1"), Text),
            (Some("TEXT/PLAIN"), Text),
            (
                Some("text/plain; version=1.0.0; escaping=allow-utf-8"),
                Text,
            ),
            // What Prometheus 3 sends: OpenMetrics first.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
                ),
                Om,
            ),
            (Some("application/openmetrics-text; version=1.0.0"), Om),
            (
                Some("text/plain;q=0.5,application/openmetrics-text;q=0.5"),
                Om,
            ),
            (Some("text/plain;q=0.5,*/*;q=0.4"), Text),
            (Some("text/plain;q=0,*/*"), Om),
            (Some("application/json"), Om),
            (Some("text/plain;q=bogus"), Om),
        ] {
            assert_eq!(Format::from_accept(accept), want, "Accept: {accept:?}");
        }
        assert_eq!(
            Text.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert!(
            Om.content_type()
                .starts_with("application/openmetrics-text")
        );
    }
}
