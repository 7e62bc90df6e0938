//! The reconciler of one TollFreeNumberSet, as a pipeline of named steps
//! (DESIGN.md §4):
//!
//! 1. [`observe`] — the set's account (its Secret, same namespace only), every
//!    set of the same vendor account, and the account's inventory;
//! 2. **plan** — [`tollfree_plan::plan_one`]: this set's plan over the
//!    account's sets (identical to its entry in the whole-account
//!    [`tollfree_plan::plan`], at a fraction of the cost); the gate (policy,
//!    suspend, approval, budgets, inventory safety) is inside it. The
//!    whole-account plan runs only for the unowned-numbers gauge, once per
//!    inventory listing or change of the account's specs ([`UnownedGauge`]);
//! 3. [`execute`] — the only place that calls vendor mutations, each preceded
//!    by its write-ahead intent in status;
//! 4. [`record`] — status by server-side apply (skipped when only timestamps
//!    changed), Events and metrics.
//!
//! Reconciles of sets that share a vendor account are serialized (one async
//! lock per account), so that each plan sees what the previous one recorded.
//! They share one inventory snapshot: a set's mutation does not make the
//! others list again (their plans see its intents in its status); only the set
//! itself, while its orders are in flight, waits for a listing that started
//! after its mutation was answered ([`observe::inventory_freshness`]).
//! The statuses this operator wrote are kept in a [`Journal`] and laid over
//! the reflector store, whose copy may lag a write by a moment: a lagging copy
//! must never hide an intent (that could buy twice).
//!
//! When to look again ([`requeue_after`]): a couple of seconds after vendor
//! mutations were sent or while orders are in flight, at a grace period's
//! end, otherwise after the resync interval (drift). Failures back off per
//! set ([`backoff_delay`]): 5 s doubling to 5 min, reset by a success.

pub mod execute;
pub mod observe;
pub mod record;

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kube::runtime::reflector::Store;
use tollfree_plan::{Hold, IntentKind, Memory, PlanInput, SetId, SetInput, SetPlan};

use crate::inventory::Snapshot;

use crate::accounts::VendorIdentity;
use crate::context::Context;
use crate::convert;
use crate::crd::{PolicyMode, TollFreeNumberSet, TollFreeNumberSetStatus};
use crate::error::Error;
use execute::{IntentLog, Job};
use record::{EventSpec, Failure};

/// Requeue after vendor mutations were sent: the next step (purchase after
/// reserve, watching an order land) follows quickly.
pub const AFTER_MUTATION: Duration = Duration::from_secs(2);
/// Requeue while orders sent less than [`YOUNG_ORDER`] ago are in flight.
pub const ORDER_IN_FLIGHT: Duration = Duration::from_secs(3);
/// Requeue while older orders are in flight (slow vendor-side completion).
pub const SLOW_ORDER_IN_FLIGHT: Duration = Duration::from_secs(30);
/// How long an order counts as young.
pub const YOUNG_ORDER: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);
/// The first backoff after a failure.
pub const BACKOFF_START: Duration = Duration::from_secs(5);
/// The longest backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// How long to wait before reconciling a set again after a successful
/// reconcile: never longer than `resync`.
pub fn requeue_after(
    plan: &SetPlan,
    memory: &Memory,
    sent: bool,
    now: Timestamp,
    resync: Duration,
) -> Duration {
    let mut after = resync;
    if sent {
        after = after.min(AFTER_MUTATION);
    }
    let youngest_order = memory
        .intents
        .iter()
        .filter(|i| i.kind != IntentKind::Reserve)
        .map(|i| i.started)
        .max();
    if let Some(started) = youngest_order {
        let young = now.duration_since(started) < YOUNG_ORDER;
        after = after.min(if young {
            ORDER_IN_FLIGHT
        } else {
            SLOW_ORDER_IN_FLIGHT
        });
    }
    for h in &plan.held {
        if let Hold::Grace(until) = h.hold {
            let left = Duration::try_from(until.duration_since(now)).unwrap_or(Duration::ZERO);
            after = after.min(left.max(Duration::from_secs(1)));
        }
    }
    after
}

/// The backoff after the `failures`-th failure in a row (1-based): 5 s, 10 s,
/// 20 s, ... at most 5 min.
pub fn backoff_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_START
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

/// What a person can change to make a failing set try again at once: its
/// spec (generation), its annotations (approval), its deletion, and its
/// Secret (a change of the Secret counts up `secret_changes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// A hash of `metadata.annotations`.
    pub annotations: u64,
    /// Whether the set is being deleted.
    pub deleting: bool,
    /// How many changes of the set's Secret this process has seen.
    pub secret_changes: u64,
}

impl Trigger {
    /// The trigger of `obj`, given how many Secret changes were seen for it.
    pub fn of(obj: &TollFreeNumberSet, secret_changes: u64) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        obj.metadata.annotations.hash(&mut h);
        Self {
            generation: obj.metadata.generation,
            annotations: h.finish(),
            deleting: obj.metadata.deletion_timestamp.is_some(),
            secret_changes,
        }
    }
}

/// A set's failures in a row and the backoff window of the latest one.
#[derive(Debug, Clone, Default)]
struct Failures {
    count: u32,
    /// Until when the latest failure backs off, and what it failed on.
    window: Option<(Instant, Trigger)>,
    /// Changes of the set's Secret seen so far (see [`Trigger`]).
    secret_changes: u64,
}

/// Whether a reconcile triggered at `now` must wait out a backoff window
/// (the set failed at `failed_on`, backing off until `until`) instead of
/// calling the vendor again; the time left if so. Every watch event
/// triggers a reconcile, including the operator's own status writes (the
/// failure's message, a new Event): without this, a failure whose message
/// changes each time (a 429's "retry after N s") would retry at the vendor's
/// answer rate. A change a person made (spec, annotations, deletion,
/// Secret) reacts at once.
pub fn backoff_remaining(
    window: Option<&(Instant, Trigger)>,
    now: &Trigger,
    at: Instant,
) -> Option<Duration> {
    let (until, failed_on) = window?;
    if failed_on != now {
        return None;
    }
    let left = until.checked_duration_since(at)?;
    (!left.is_zero()).then_some(left)
}

/// Whether a handled vendor refusal proves the inventory snapshot wrong, so
/// that every set of the account should plan on a new listing: the vendor
/// knows of an order the listing did not show (a conflicting order, a number
/// already pending disconnect) or denies a number the listing showed.
pub fn disproves_inventory(refusal: &str) -> bool {
    matches!(
        refusal,
        "OrderConflict" | "AlreadyDisconnecting" | "NotAssigned"
    )
}

/// What a reconcile decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// When to look again.
    pub requeue: Duration,
    /// Deleting, and nothing left to do: the finalizer may go.
    pub release: bool,
    /// One line on what the set waits for (for a deletion not released yet).
    pub waiting_for: String,
}

/// The statuses this operator last wrote, by object UID, laid over the
/// reflector store's copies (which may lag a write).
#[derive(Debug, Default)]
pub struct Journal(Mutex<HashMap<String, Written>>);

#[derive(Debug, Clone)]
struct Written {
    resource_version: Option<String>,
    status: TollFreeNumberSetStatus,
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Written>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `obj` with the status this operator last wrote for it, if the store's
    /// copy is not that very write.
    pub fn overlay(&self, obj: &TollFreeNumberSet) -> TollFreeNumberSet {
        let mut obj = obj.clone();
        if let Some(uid) = &obj.metadata.uid
            && let Some(w) = self.lock().get(uid)
            && w.resource_version != obj.metadata.resource_version
        {
            obj.status = Some(w.status.clone());
        }
        obj
    }

    /// Remembers a status write (`stored` is the object the API returned).
    pub fn wrote(&self, stored: &TollFreeNumberSet) {
        if let (Some(uid), Some(status)) = (&stored.metadata.uid, &stored.status) {
            self.lock().insert(
                uid.clone(),
                Written {
                    resource_version: stored.metadata.resource_version.clone(),
                    status: status.clone(),
                },
            );
        }
    }

    /// Forgets an object (released). A failed write does not forget: the
    /// last write known to be stored stays laid over a store that may lag it.
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Forgets every object whose UID is not in `live`.
    pub fn retain(&self, live: &BTreeSet<&str>) {
        self.lock().retain(|uid, _| live.contains(uid.as_str()));
    }
}

/// Shared state of the reconciler: the operator's [`Context`], the
/// controller's store of sets, and what reconciles remember between them.
pub struct Reconciler {
    ctx: Arc<Context>,
    store: Store<TollFreeNumberSet>,
    journal: Journal,
    events: record::EventLog,
    unresolved: observe::Unresolved,
    locks: Mutex<HashMap<VendorIdentity, Arc<tokio::sync::Mutex<()>>>>,
    failures: Mutex<HashMap<String, Failures>>,
    /// By object UID: when this process last saw the set's vendor mutations
    /// answered (the `not_before` of its next listing while orders are in flight).
    sent_at: Mutex<HashMap<String, Timestamp>>,
    unowned: UnownedGauge,
}

/// When the `tollfree_unowned_numbers` gauge of an account was last computed:
/// from which snapshot and which specs. The count needs the whole-account
/// plan; it only changes with the inventory or with what the sets declare
/// (what each set adopts or holds follows from those and their memory, which
/// the whole-account plan already projects), so it is recomputed once per
/// listing, or when a spec of the account changed, not on every reconcile.
#[derive(Debug, Default)]
pub struct UnownedGauge(Mutex<HashMap<String, (Weak<Snapshot>, u64)>>);

impl UnownedGauge {
    /// Whether the gauge of `account` must be recomputed for `snapshot` and
    /// `input`; remembers them if so.
    pub fn stale(&self, account: &str, snapshot: &Arc<Snapshot>, input: &PlanInput) -> bool {
        let specs = specs_hash(input);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = map.get(account).is_some_and(|(seen, hash)| {
            *hash == specs && std::ptr::eq(seen.as_ptr(), Arc::as_ptr(snapshot))
        });
        if !fresh {
            map.insert(account.to_owned(), (Arc::downgrade(snapshot), specs));
        }
        !fresh
    }
}

/// A hash of what the account's sets declare (ids, deletion, packages).
fn specs_hash(input: &PlanInput) -> u64 {
    let mut ids: Vec<(&SetId, bool, String)> = input
        .sets
        .iter()
        .map(|s| {
            let packages = serde_json::to_string(&s.packages).unwrap_or_default();
            (&s.id, s.deleting, packages)
        })
        .collect();
    ids.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ids.hash(&mut h);
    h.finish()
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

fn key(obj: &TollFreeNumberSet) -> String {
    format!(
        "{}/{}",
        obj.metadata.namespace.as_deref().unwrap_or_default(),
        obj.metadata.name.as_deref().unwrap_or_default()
    )
}

impl Reconciler {
    /// A reconciler over the sets in `store`.
    pub fn new(ctx: Arc<Context>, store: Store<TollFreeNumberSet>) -> Self {
        Self {
            ctx,
            store,
            journal: Journal::default(),
            events: record::EventLog::default(),
            unresolved: observe::Unresolved::default(),
            locks: Mutex::default(),
            failures: Mutex::default(),
            sent_at: Mutex::default(),
            unowned: UnownedGauge::default(),
        }
    }

    /// The operator's shared context.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The controller's store of sets.
    pub fn store(&self) -> &Store<TollFreeNumberSet> {
        &self.store
    }

    fn account_lock(&self, identity: &VendorIdentity) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(identity.clone())
            .or_default()
            .clone()
    }

    /// Counts a failure of `obj` and returns how long to back off: the
    /// doubling delay, or the vendor's `retry_after` if longer. Until then,
    /// reconciles of `obj` that nobody asked for wait ([`Self::in_backoff`]).
    pub fn failed(&self, obj: &TollFreeNumberSet, retry_after: Option<Duration>) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let f = failures.entry(key(obj)).or_default();
        f.count = f.count.saturating_add(1);
        let delay = backoff_delay(f.count).max(retry_after.unwrap_or_default());
        let trigger = Trigger::of(obj, f.secret_changes);
        f.window = Some((Instant::now() + delay, trigger));
        delay
    }

    /// The time `obj` must still wait after its latest failure, if it is
    /// inside that backoff window and nothing a person changed since (see
    /// [`backoff_remaining`]).
    pub fn in_backoff(&self, obj: &TollFreeNumberSet) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let f = failures.get(&key(obj))?;
        backoff_remaining(
            f.window.as_ref(),
            &Trigger::of(obj, f.secret_changes),
            Instant::now(),
        )
    }

    /// A Secret that `set` uses changed: its next reconcile does not wait
    /// for the backoff window (the failure count is kept).
    pub fn secret_changed(&self, set: &SetId) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = failures.get_mut(&format!("{}/{}", set.namespace, set.name)) {
            f.secret_changes = f.secret_changes.wrapping_add(1);
        }
    }

    /// Resets the failure count of `obj`.
    pub fn succeeded(&self, obj: &TollFreeNumberSet) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key(obj));
    }

    /// Forgets a released set (its journal entry, backoff and metric shares).
    pub fn forget(&self, obj: &TollFreeNumberSet) {
        if let Some(uid) = &obj.metadata.uid {
            self.journal.forget(uid);
            self.sent_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(uid);
        }
        self.succeeded(obj);
        if let Ok(id) = convert::set_id(obj) {
            self.ctx.metrics.forget_set(&id);
        }
    }

    /// Writes `status` unless it equals `current` but for timestamps; returns
    /// the status now stored.
    async fn write(
        &self,
        obj: &TollFreeNumberSet,
        current: Option<&TollFreeNumberSetStatus>,
        status: TollFreeNumberSetStatus,
    ) -> Result<TollFreeNumberSetStatus, Error> {
        if current.is_some_and(|c| convert::eq_time_insensitive(c, &status)) {
            self.record_conditions(obj, &status);
            return Ok(status);
        }
        match record::apply_status(&self.ctx.client, obj, &status).await {
            Ok(stored) => {
                self.journal.wrote(&stored);
                let stored = stored.status.unwrap_or(status);
                self.record_conditions(obj, &stored);
                Ok(stored)
            }
            // The journal keeps the last write known to be stored: a failed
            // write may not have landed, and the store's copy may still lag
            // that earlier write (hiding its intents could buy twice).
            Err(e) => Err(e),
        }
    }

    /// Exports the conditions of a status known to be stored.
    fn record_conditions(&self, obj: &TollFreeNumberSet, status: &TollFreeNumberSetStatus) {
        if let Ok(id) = convert::set_id(obj) {
            self.ctx.metrics.record_conditions(&id, &status.conditions);
        }
    }

    /// Reports a failure outside the plan in status and Events (when it is
    /// something a person should see), and hands the error back.
    async fn fail(&self, obj: &TollFreeNumberSet, e: Error) -> Error {
        let Some(f) = record::classify(&e) else {
            return e;
        };
        self.report(obj, &f).await;
        e
    }

    async fn report(&self, obj: &TollFreeNumberSet, f: &Failure) {
        let prev = obj.status.as_ref();
        let status = convert::status_for_failure(
            prev,
            f.reason,
            &f.message,
            f.stalled,
            obj.metadata.generation,
            Timestamp::now(),
        );
        let events = record::condition_events(prev, &status);
        if let Err(w) = self.write(obj, prev, status).await {
            tracing::warn!(set = %key(obj), error = %w.report(), "cannot record a failure in status");
        }
        record::publish(&self.ctx, &self.events, obj, &events).await;
    }

    /// One pass of the pipeline over `obj` (fresh from the store): observe,
    /// plan, execute, record.
    pub async fn reconcile(&self, obj: &TollFreeNumberSet) -> Result<Outcome, Error> {
        let ctx = &self.ctx;
        let resync = ctx.settings.resync_interval;
        let obj = self.journal.overlay(obj);
        let id = convert::set_id(&obj).map_err(|e| Error::Executor {
            set: key(&obj),
            reason: e.to_string(),
        })?;
        let deleting = obj.metadata.deletion_timestamp.is_some();

        // Deleting a set that may not disconnect: retain its numbers and let
        // it go, without a vendor call (DESIGN.md §3.8).
        if deleting && (obj.spec.suspend || obj.spec.policy.disconnect == PolicyMode::Deny) {
            let why = if obj.spec.suspend {
                "the set is suspended: released without touching its numbers"
            } else {
                "policy.disconnect is Deny: its numbers stay in the account"
            };
            record::publish(
                ctx,
                &self.events,
                &obj,
                &[EventSpec {
                    warning: false,
                    reason: "Released".into(),
                    action: "Cleanup",
                    note: why.into(),
                }],
            )
            .await;
            return Ok(Outcome {
                requeue: resync,
                release: true,
                waiting_for: String::new(),
            });
        }

        // 1. Observe: the account.
        let account = match observe::account(ctx, &id.namespace, &obj.spec.account_ref.name).await {
            Ok(a) => a,
            Err(e) => return Err(self.fail(&obj, e).await),
        };
        let lock = self.account_lock(account.key.identity());
        let _serialized = lock.lock().await;
        // Another set of the account may have written while we waited; this
        // set's own copy is re-read too.
        let obj = self.journal.overlay(&obj);
        let prev = obj.status.clone();
        let generation = obj.metadata.generation;
        let now = Timestamp::now();

        let this = match convert::set_input(&obj, convert::approved_hash(&obj)) {
            Ok(input) => input,
            Err(e) => {
                self.report(
                    &obj,
                    &Failure {
                        reason: record::INVALID_SPEC,
                        message: e.to_string(),
                        stalled: true,
                    },
                )
                .await;
                return Ok(Outcome {
                    requeue: resync,
                    release: false,
                    waiting_for: format!("a valid spec ({e})"),
                });
            }
        };

        // ... every set of the same vendor account ...
        let stored = self.store.state();
        let live: BTreeSet<&str> = stored
            .iter()
            .filter_map(|s| s.metadata.uid.as_deref())
            .collect();
        self.journal.retain(&live);
        let all: Vec<TollFreeNumberSet> = stored.iter().map(|s| self.journal.overlay(s)).collect();
        let peers = observe::peers(ctx, &self.unresolved, &all, account.key.identity(), &id).await;

        // ... and its inventory.
        let uid = obj.metadata.uid.clone().unwrap_or_default();
        let sent_at = self
            .sent_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&uid)
            .copied();
        let freshness = observe::inventory_freshness(&this.memory, deleting, resync, sent_at);
        let snapshot = match observe::inventory(ctx, &account, freshness).await {
            Ok(s) => s,
            Err(e) => return Err(self.fail(&obj, e).await),
        };

        // 2. Plan (the gate is inside the planner).
        let mut sets = peers.sets;
        sets.push(this.clone());
        let input = PlanInput {
            now,
            sets,
            inventory: snapshot.inventory.clone(),
            last_good_count: snapshot
                .last_good_count
                .or_else(|| convert::last_good_count(prev.as_ref())),
        };
        let account_name = account.key.to_string();
        if self.unowned.stale(&account_name, &snapshot, &input) {
            ctx.metrics
                .set_unowned(&account_name, tollfree_plan::plan(&input).unowned);
        }
        let Some(set_plan) = tollfree_plan::plan_one(&input, &id) else {
            return Err(Error::Executor {
                set: id.to_string(),
                reason: "the planner returned no plan for the set".into(),
            });
        };
        let inventory_count = tollfree_plan::inventory_check(&input)
            .is_ok()
            .then(|| u64::try_from(input.inventory.numbers.len()).unwrap_or(u64::MAX));
        tracing::debug!(set = %id, actions = set_plan.actions.len(), held = set_plan.held.len(), reason = ?set_plan.reason, "planned");

        // 3. Execute.
        let claimed = tollfree_plan::claimed_numbers(&input);
        let uid_prefix: String = uid.chars().take(8).collect();
        let job = Job {
            set: &id,
            account: &account_name,
            uid_prefix: &uid_prefix,
            order_defaults: &this.order_defaults,
            claimed: &claimed,
            now,
        };
        let mut log = StatusLog {
            reconciler: self,
            obj: &obj,
            prev: prev.as_ref(),
            current: prev.clone(),
            input: &this,
            plan: &set_plan,
            now,
            inventory_count,
        };
        let executed = execute::execute(
            &account.client,
            &mut log,
            &job,
            &set_plan.actions,
            set_plan.memory.clone(),
        )
        .await;
        let current = log.current;
        if executed.sent {
            // Not an invalidation: other sets keep the snapshot (they see this
            // set's intents in its status); this set, while its orders are in
            // flight, asks for a listing that starts after now.
            self.sent_at
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(uid.clone(), Timestamp::now());
        }
        if executed
            .refusals
            .iter()
            .any(|r| disproves_inventory(r.reason))
        {
            ctx.inventory.invalidate(&account.key);
        }

        // 4. Record.
        let failure = executed.error.as_ref().and_then(record::classify);
        let status = record::compute_status(
            prev.as_ref(),
            &this,
            &set_plan,
            &executed.memory,
            generation,
            now,
            failure.as_ref(),
            inventory_count,
        );
        let mut events: Vec<EventSpec> = executed.done.iter().map(record::done_event).collect();
        events.extend(executed.refusals.iter().map(record::refusal_event));
        events.extend(record::hold_events(prev.as_ref(), &status));
        events.extend(record::condition_events(prev.as_ref(), &status));
        let written = self.write(&obj, current.as_ref(), status).await;
        record::publish(ctx, &self.events, &obj, &events).await;
        record::count_orders(ctx, &id.namespace, &executed.done);
        record::record_metrics(
            ctx,
            &account_name,
            &set_plan,
            &executed.memory,
            &snapshot.inventory,
        );
        for d in &executed.done {
            tracing::info!(set = %id, event = ?record::done_event(d).note, "vendor mutation accepted");
        }

        if let Some(e) = executed.error {
            if let Err(w) = written {
                tracing::warn!(set = %id, error = %w.report(), "cannot record the outcome in status");
            }
            return Err(e);
        }
        written?;
        Ok(Outcome {
            requeue: requeue_after(&set_plan, &executed.memory, executed.sent, now, resync),
            release: set_plan.release,
            waiting_for: set_plan.message.clone(),
        })
    }
}

/// Writes intents ahead of vendor calls: the status the plan would record,
/// with the executor's memory so far.
struct StatusLog<'a> {
    reconciler: &'a Reconciler,
    obj: &'a TollFreeNumberSet,
    prev: Option<&'a TollFreeNumberSetStatus>,
    /// The status as last written (or as found).
    current: Option<TollFreeNumberSetStatus>,
    input: &'a SetInput,
    plan: &'a SetPlan,
    now: Timestamp,
    inventory_count: Option<u64>,
}

impl IntentLog for StatusLog<'_> {
    async fn write_ahead(&mut self, memory: &Memory) -> Result<(), Error> {
        let status = record::compute_status(
            self.prev,
            self.input,
            self.plan,
            memory,
            self.obj.metadata.generation,
            self.now,
            None,
            self.inventory_count,
        );
        // Never skipped: the intent must be durable before the call.
        let stored = record::apply_status(&self.reconciler.ctx.client, self.obj, &status).await;
        match stored {
            Ok(stored) => {
                self.reconciler.journal.wrote(&stored);
                self.current = Some(stored.status.unwrap_or(status));
                Ok(())
            }
            // No vendor call follows; the journal keeps the last write known
            // to be stored (see `Reconciler::write`).
            Err(e) => Err(e),
        }
    }
}

/// The set IDs `store` holds that use the Secret `namespace/name`.
pub fn sets_using_secret<'a>(
    sets: impl IntoIterator<Item = &'a TollFreeNumberSet>,
    namespace: &str,
    name: &str,
) -> Vec<SetId> {
    sets.into_iter()
        .filter(|s| {
            s.metadata.namespace.as_deref() == Some(namespace) && s.spec.account_ref.name == name
        })
        .filter_map(|s| convert::set_id(s).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollfree_plan::{Action, Held, Intent, Reason};

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn plan(held: Vec<Held>) -> SetPlan {
        SetPlan {
            id: SetId {
                namespace: "t".into(),
                name: "s".into(),
            },
            actions: vec![],
            held,
            hash: String::new(),
            numbers: vec![],
            reason: Reason::Converged,
            message: String::new(),
            memory: Memory::default(),
            release: false,
        }
    }

    fn order(kind: IntentKind, started: Timestamp) -> Intent {
        execute::new_intent(kind, vec![], None, started)
    }

    const RESYNC: Duration = Duration::from_secs(300);

    #[test]
    fn a_converged_set_waits_for_the_resync() {
        let now = ts("2025-01-01T00:00:00Z");
        assert_eq!(
            requeue_after(&plan(vec![]), &Memory::default(), false, now, RESYNC),
            RESYNC
        );
    }

    #[test]
    fn mutations_and_young_orders_come_back_quickly() {
        let now = ts("2025-01-01T00:10:00Z");
        let p = plan(vec![]);
        assert_eq!(
            requeue_after(&p, &Memory::default(), true, now, RESYNC),
            AFTER_MUTATION
        );
        let mut m = Memory::default();
        m.intents
            .push(order(IntentKind::Purchase, ts("2025-01-01T00:09:30Z")));
        assert_eq!(requeue_after(&p, &m, false, now, RESYNC), ORDER_IN_FLIGHT);
        m.intents[0].started = ts("2025-01-01T00:00:00Z");
        assert_eq!(
            requeue_after(&p, &m, false, now, RESYNC),
            SLOW_ORDER_IN_FLIGHT
        );
    }

    #[test]
    fn a_held_reservation_is_not_polled() {
        let now = ts("2025-01-01T00:10:00Z");
        let mut m = Memory::default();
        m.intents.push(order(IntentKind::Reserve, now));
        assert_eq!(requeue_after(&plan(vec![]), &m, false, now, RESYNC), RESYNC);
    }

    #[test]
    fn a_grace_period_ends_on_time() {
        let now = ts("2025-01-01T00:00:00Z");
        let p = plan(vec![Held {
            action: Action::Disconnect { numbers: vec![] },
            hold: Hold::Grace(ts("2025-01-01T00:01:00Z")),
        }]);
        assert_eq!(
            requeue_after(&p, &Memory::default(), false, now, RESYNC),
            Duration::from_secs(60)
        );
        let p = plan(vec![Held {
            action: Action::Disconnect { numbers: vec![] },
            hold: Hold::Grace(ts("2024-12-31T00:00:00Z")),
        }]);
        assert_eq!(
            requeue_after(&p, &Memory::default(), false, now, RESYNC),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn backoff_doubles_from_five_seconds_to_five_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff_delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff_delay(0).as_secs(), 5);
        assert_eq!(backoff_delay(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn a_trigger_inside_the_backoff_window_waits_unless_a_person_changed_something() {
        let obj = set("a", "one", "acct");
        let failed_on = Trigger::of(&obj, 0);
        let t0 = Instant::now();
        let window = (t0 + Duration::from_secs(20), failed_on.clone());
        // Our own status write (same generation, annotations, Secret): wait.
        assert_eq!(
            backoff_remaining(Some(&window), &failed_on, t0 + Duration::from_secs(5)),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            backoff_remaining(Some(&window), &failed_on, t0 + Duration::from_secs(20)),
            None,
            "the window is over"
        );
        assert_eq!(backoff_remaining(None, &failed_on, t0), None, "no failure");
        // What a person changes reacts at once.
        let mut spec = obj.clone();
        spec.metadata.generation = Some(2);
        let mut approved = obj.clone();
        approved.metadata.annotations = Some(
            [("tollfree.dev/approve".to_owned(), "abc".to_owned())]
                .into_iter()
                .collect(),
        );
        let mut deleted = obj.clone();
        deleted.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
        );
        for (what, trigger) in [
            ("spec", Trigger::of(&spec, 0)),
            ("approval", Trigger::of(&approved, 0)),
            ("deletion", Trigger::of(&deleted, 0)),
            ("secret", Trigger::of(&obj, 1)),
        ] {
            assert_eq!(
                backoff_remaining(Some(&window), &trigger, t0 + Duration::from_secs(1)),
                None,
                "{what}"
            );
        }
    }

    #[tokio::test]
    async fn the_reconciler_keeps_the_window_until_success_or_a_secret_change() {
        let r = unreachable_reconciler();
        let obj = set("a", "one", "acct");
        assert_eq!(r.in_backoff(&obj), None);
        assert_eq!(r.failed(&obj, None), BACKOFF_START);
        assert!(r.in_backoff(&obj).is_some_and(|d| d <= BACKOFF_START));
        assert_eq!(
            r.failed(&obj, Some(Duration::from_secs(60))),
            Duration::from_secs(60),
            "a longer Retry-After wins"
        );
        r.secret_changed(&SetId {
            namespace: "a".into(),
            name: "one".into(),
        });
        assert_eq!(r.in_backoff(&obj), None, "a Secret change reacts at once");
        assert_eq!(r.failed(&obj, None), BACKOFF_START * 4, "the count is kept");
        assert!(r.in_backoff(&obj).is_some());
        r.succeeded(&obj);
        assert_eq!(r.in_backoff(&obj), None);
    }

    fn set(ns: &str, name: &str, secret: &str) -> TollFreeNumberSet {
        let mut s: TollFreeNumberSet = serde_json::from_value(serde_json::json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "resourceVersion": "1"},
            "spec": {"accountRef": {"name": secret}, "packages": [{"packageID": 1, "numbers": ["+18885550100"]}]}
        }))
        .expect("set");
        s.status = None;
        s
    }

    #[test]
    fn a_secret_change_maps_to_the_sets_of_its_namespace_that_name_it() {
        let sets = [
            set("a", "one", "acct"),
            set("a", "two", "other"),
            set("b", "three", "acct"),
        ];
        let ids: Vec<String> = sets_using_secret(&sets, "a", "acct")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(ids, ["a/one"]);
    }

    /// A reconciler whose Kubernetes API cannot be reached: every write fails.
    fn unreachable_reconciler() -> Reconciler {
        let config = kube::Config::new("http://127.0.0.1:1".parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let settings = crate::context::Settings {
            intelepeer_url: "http://127.0.0.1:1".into(),
            namespace: None,
            resync_interval: RESYNC,
            vendor_rate_limit: 0.0,
            instance: "test".into(),
        };
        let ctx = Context::new(
            client,
            crate::metrics::Metrics::new(),
            crate::server::Readiness::new(),
            settings,
        );
        let (store, _writer) = kube::runtime::reflector::store();
        Reconciler::new(Arc::new(ctx), store)
    }

    #[tokio::test]
    async fn a_failed_status_write_keeps_the_last_stored_intents_over_a_lagging_store() {
        let r = unreachable_reconciler();
        let stale = set("a", "one", "acct");
        let mut stored = stale.clone();
        stored.metadata.resource_version = Some("2".into());
        let mut intent = convert::status_from_plan(
            None,
            &convert::set_input(&stale, None).expect("input"),
            &SetPlan {
                memory: Memory {
                    intents: vec![order(IntentKind::Purchase, ts("2025-01-01T00:00:00Z"))],
                    ..Memory::default()
                },
                ..plan(vec![])
            },
            Some(1),
            ts("2025-01-01T00:00:00Z"),
        );
        intent.desired = 7;
        stored.status = Some(intent);
        r.journal.wrote(&stored);

        let next = TollFreeNumberSetStatus {
            desired: 8,
            ..Default::default()
        };
        assert!(r.write(&stored, None, next).await.is_err(), "unreachable");
        let seen = r.journal.overlay(&stale).status.expect("status");
        assert_eq!(
            seen.intents.len(),
            1,
            "a lagging store copy must not hide the stored intent"
        );
        assert_eq!(seen.desired, 7);
    }

    #[test]
    fn the_journal_lays_the_last_write_over_a_lagging_store() {
        let journal = Journal::default();
        let stale = set("a", "one", "acct");
        let mut written = stale.clone();
        written.metadata.resource_version = Some("2".into());
        written.status = Some(TollFreeNumberSetStatus {
            desired: 7,
            ..Default::default()
        });
        journal.wrote(&written);
        assert_eq!(journal.overlay(&stale).status.map(|s| s.desired), Some(7));
        journal.retain(&BTreeSet::new());
        assert_eq!(
            journal.overlay(&stale).status,
            None,
            "gone objects are forgotten"
        );
    }
}
