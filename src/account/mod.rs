//! The account worker: one actor per *proven* vendor account owns everything
//! that belongs to the account — its inventory listings and their trust,
//! the whole-account plan over all its sets, execution (batched across
//! sets), confirmation, and every member set's status.
//!
//! The router ([`crate::router`]) joins a set to the worker of the login its
//! own Secret proved ([`Accounts::join`]), and takes it out when its
//! credentials fail ([`Accounts::leave`]); set events only wake the worker
//! of their account. Accounts run in parallel; one account's passes run one
//! at a time. A pass is a pipeline of stages, each a module:
//!
//! 1. [`observe`] — the members and the sets that cannot act but own
//!    numbers here, parsed for the planner (`Observed`);
//! 2. listings ([`vendor`], into the [`listing`] view) — a full walk when it
//!    is due (at start, every resync interval, when the trust rules ask for
//!    one), else a listing filtered to the packages orders in flight touched;
//! 3. plan — [`tollfree_plan::plan`] for the whole account; a reservation
//!    waiting for a fresher listing (`Hold::Unverified`) gets the cheapest
//!    listing that covers it, and the account is planned again;
//! 4. [`execute`] — the plan's batches ([`tollfree_plan::batches`]), each
//!    intent written ahead into every set concerned; reservations answered in
//!    this pass are purchased in a second round at once;
//! 5. [`record`] — each member's status (through the [`journal`]), Events,
//!    metrics, and the finalizer of a released set.
//!
//! When to look again: a couple of seconds after mutations or while orders
//! are in flight (young) — each look lists only the touched packages — at a
//! grace period's end or a purchase's retry or proof time, at the next full
//! walk (the resync interval), and after a failure with backoff.

pub mod execute;
pub mod journal;
pub mod listing;
pub mod observe;
pub mod record;
pub mod vendor;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use kube::runtime::reflector::{ObjectRef, Store};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::time::Instant;
use tollfree_plan::{
    Action, Batch, BatchKind, Hold, IntentKind, PlanInput, SetId, SetInput, SetPlan,
};

use crate::backoff::{Backoff, Trigger};
use crate::context::{Settings, VendorClient};
use crate::crd::TollFreeNumberSet;
use crate::events::EventLog;
use crate::logins::{Fingerprint, Logins, SecretRef, VendorIdentity};
use crate::metrics::Metrics;
use crate::status::conditions::{ConditionReason, Failure};
use execute::{Executed, Executor, SetRun};
use journal::Journal;
use listing::AccountInventory;
use observe::{Generations, Observed};
use vendor::{Listings, Needs};

/// Coalesces bursts of wakes (a manifest of many sets, our own writes).
const DEBOUNCE: Duration = Duration::from_millis(200);
/// The next look after vendor mutations were sent.
pub const AFTER_MUTATION: Duration = Duration::from_secs(2);
/// The next look while orders sent less than [`YOUNG_ORDER`] ago are in flight.
pub const ORDER_IN_FLIGHT: Duration = Duration::from_secs(3);
/// The next look while older orders are in flight (slow vendor-side completion).
pub const SLOW_ORDER_IN_FLIGHT: Duration = Duration::from_secs(30);
/// How long an order counts as young.
pub const YOUNG_ORDER: jiff::SignedDuration = jiff::SignedDuration::from_mins(2);
/// How long a worker waits at start for the router to have seen every set
/// once: until then, a set of this account that is not routed yet would be
/// missing from the plan, and its numbers could look unclaimed.
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// What every worker shares.
pub struct Env {
    /// The Kubernetes client.
    pub kube: kube::Client,
    /// The controller's store of sets.
    pub store: Store<TollFreeNumberSet>,
    /// Proven logins (a revoked one takes its sets out).
    pub logins: Logins<VendorClient>,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// Events recently published (never repeated within a while).
    pub events: EventLog,
    /// The operator's settings.
    pub settings: Settings,
    /// Asks the controller to route a set again (its Secret changed, its
    /// login was revoked).
    pub reroute: tokio::sync::mpsc::UnboundedSender<ObjectRef<TollFreeNumberSet>>,
    /// True once the router has seen every set of the store once.
    pub routed: tokio::sync::watch::Receiver<bool>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

/// A set joined to an account: how it proved the account.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its Secret.
    pub secret: SecretRef,
    /// The fingerprint of the credentials that proved the account.
    pub fingerprint: Fingerprint,
    /// The login's client.
    pub client: VendorClient,
    /// What the set looked like when routed (a change wakes the worker).
    pub trigger: Trigger,
}

#[derive(Debug, Default)]
struct Inbox {
    members: Mutex<BTreeMap<SetId, Member>>,
    notify: Notify,
}

impl Inbox {
    fn members(&self) -> std::sync::MutexGuard<'_, BTreeMap<SetId, Member>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Handle {
    inbox: Arc<Inbox>,
    task: tokio::task::JoinHandle<()>,
}

/// Every account worker, by proven identity. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    env: Arc<Env>,
    workers: Arc<Mutex<HashMap<VendorIdentity, Handle>>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// No workers yet.
    pub fn new(env: Env) -> Self {
        Self {
            env: Arc::new(env),
            workers: Arc::default(),
            stop: tokio::sync::watch::Sender::new(false),
        }
    }

    /// What the workers share.
    pub fn env(&self) -> &Env {
        &self.env
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, HashMap<VendorIdentity, Handle>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins `set` to the account `identity` proved (taking it out of any
    /// other), starting the account's worker if needed. The worker is woken
    /// when the set is new to it or changed.
    pub fn join(&self, set: SetId, identity: VendorIdentity, member: Member) {
        let mut workers = self.workers();
        for (id, handle) in workers.iter() {
            if id != &identity && handle.inbox.members().remove(&set).is_some() {
                handle.inbox.notify.notify_one();
            }
        }
        let handle = workers.entry(identity.clone()).or_insert_with(|| {
            let inbox = Arc::new(Inbox::default());
            let worker = Worker::new(
                identity,
                self.env.clone(),
                inbox.clone(),
                self.workers.clone(),
            );
            let stop = self.stop.subscribe();
            Handle {
                inbox,
                task: tokio::spawn(worker.run(stop)),
            }
        });
        let changed = {
            let mut members = handle.inbox.members();
            let changed = members
                .get(&set)
                .is_none_or(|m| m.trigger != member.trigger || m.fingerprint != member.fingerprint);
            members.insert(set, member);
            changed
        };
        if changed {
            handle.inbox.notify.notify_one();
        }
    }

    /// Takes `set` out of its account (its credentials failed, or it was
    /// released). What its status records as owned stays protected there.
    /// Logins no member uses any more are dropped — also when `set` was no
    /// member (no worker is woken then): a refused login it tried goes once
    /// its quiet time is over.
    pub fn leave(&self, set: &SetId) {
        for handle in self.workers().values() {
            if handle.inbox.members().remove(set).is_some() {
                handle.inbox.notify.notify_one();
            }
        }
        sweep_logins(&self.workers, &self.env.logins);
    }

    /// The account `set` is a member of, if any.
    pub fn account_of(&self, set: &SetId) -> Option<(VendorIdentity, Fingerprint)> {
        self.workers().iter().find_map(|(id, h)| {
            h.inbox
                .members()
                .get(set)
                .map(|m| (id.clone(), m.fingerprint))
        })
    }

    /// Stops every worker after its current pass, and waits for them.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let tasks: Vec<tokio::task::JoinHandle<()>> =
            self.workers().drain().map(|(_, h)| h.task).collect();
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Drops the logins no member of any worker acts with any more
/// ([`Logins::sweep`]). Run at every pass — a set that changed credentials
/// or moved wakes the workers concerned, and a refusal's quiet time or a
/// fresh proof ends with no event — and when a set leaves.
fn sweep_logins(workers: &Mutex<HashMap<VendorIdentity, Handle>>, logins: &Logins<VendorClient>) {
    let used: BTreeSet<Fingerprint> = workers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .flat_map(|h| {
            h.inbox
                .members()
                .values()
                .map(|m| m.fingerprint)
                .collect::<Vec<_>>()
        })
        .collect();
    let dropped = logins.sweep(&used);
    if dropped > 0 {
        tracing::debug!(
            dropped,
            held = logins.len(),
            "dropped logins no set uses any more"
        );
    }
}

/// One account's worker.
struct Worker {
    /// `status.account` and the metrics' account label.
    name: String,
    /// The referenceID prefix of this account's orders.
    tag: String,
    env: Arc<Env>,
    inbox: Arc<Inbox>,
    journal: Journal,
    inventory: AccountInventory,
    generations: Generations,
    backoff: Backoff,
    /// When the last vendor mutation was answered: confirmations list after it.
    last_sent: Option<Timestamp>,
    /// When the members' Secrets were last read again.
    secrets_checked: Option<Instant>,
    /// Since when the worker has had no member set (see [`Worker::retire`]).
    idle_since: Option<Instant>,
    /// The account's identity, its key in `workers`.
    identity: VendorIdentity,
    /// Every worker (a retiring worker takes itself out).
    workers: Arc<Mutex<HashMap<VendorIdentity, Handle>>>,
}

/// Why a pass stopped before recording a plan.
#[derive(Debug, thiserror::Error)]
enum PassError {
    /// A listing failed.
    #[error("listing the inventory failed")]
    Listing(#[source] intelepeer::Error),
}

impl Worker {
    fn new(
        identity: VendorIdentity,
        env: Arc<Env>,
        inbox: Arc<Inbox>,
        workers: Arc<Mutex<HashMap<VendorIdentity, Handle>>>,
    ) -> Self {
        let name = identity.to_string();
        let digest = Sha256::digest(name.as_bytes());
        let tag = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Worker {
            name,
            tag,
            env,
            inbox,
            journal: Journal::default(),
            inventory: AccountInventory::new(None),
            generations: Generations::default(),
            backoff: Backoff::default(),
            last_sent: None,
            secrets_checked: None,
            idle_since: None,
            identity,
            workers,
        }
    }

    async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(account = %self.name, "account worker started");
        let mut routed = self.env.routed.clone();
        let _ = tokio::time::timeout(STARTUP_WAIT, routed.wait_for(|r| *r)).await;
        let mut next = Instant::now();
        loop {
            tokio::select! {
                () = self.inbox.notify.notified() => {}
                () = tokio::time::sleep_until(next) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
            tokio::time::sleep(DEBOUNCE).await;
            let timer = self.env.metrics.reconcile_started();
            let (after, failed) = self.pass().await;
            match failed {
                None => timer.success(),
                Some(kind) => timer.failure(&kind),
            }
            next = after;
            if self.retire() {
                tracing::info!(account = %self.name, "account worker retired: no set has used the account for a resync interval");
                return;
            }
        }
        tracing::info!(account = %self.name, "account worker stopped");
    }

    /// Takes the worker out once it has had no member set for a whole resync
    /// interval and holds no status it still has to write: its inventory, its
    /// journal and the account's metric series go. Sets that cannot act but
    /// own numbers here need no worker meanwhile (nothing acts on the
    /// account); when a set joins again, a new worker starts with a full walk.
    /// The check and the removal happen under the workers' lock, which
    /// [`Accounts::join`] holds while adding a member: no set joins a worker
    /// that is leaving. Returns whether the worker retired.
    fn retire(&self) -> bool {
        let resync = self.env.settings.resync_interval;
        if self.idle_since.is_none_or(|t| t.elapsed() < resync)
            || !self.journal.unsaved_uids().is_empty()
        {
            return false;
        }
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        if !self.inbox.members().is_empty() {
            return false;
        }
        if workers
            .get(&self.identity)
            .is_some_and(|h| Arc::ptr_eq(&h.inbox, &self.inbox))
        {
            workers.remove(&self.identity);
        }
        // Under the lock: a new worker of this account cannot report before.
        self.env.metrics.forget_account(&self.name);
        true
    }

    fn members(&self) -> BTreeMap<SetId, Member> {
        self.inbox.members().clone()
    }

    /// One pass; returns when to look again and, if it failed, the failure's
    /// metric label.
    async fn pass(&mut self) -> (Instant, Option<String>) {
        let now = Timestamp::now();
        let resync = self.env.settings.resync_interval;
        let members = self.members();
        sweep_logins(&self.workers, &self.env.logins);
        let ids: BTreeSet<SetId> = members.keys().cloned().collect();
        self.generations.retain(&ids);
        // One read of the store for the pass; what it lags behind this
        // worker's own writes, the journal lays over it.
        let stored = self.env.store.state();
        let live: BTreeSet<&str> = stored
            .iter()
            .filter_map(|o| o.metadata.uid.as_deref())
            .collect();
        self.journal.retain(&live);
        self.flush_unsaved(&stored).await;
        let Some(active) = members.values().next().cloned() else {
            self.idle_since.get_or_insert_with(Instant::now);
            return (Instant::now() + resync, None);
        };
        self.idle_since = None;
        self.recheck_secrets(&members, resync).await;

        // 1. Observe.
        let observed = observe::observe(
            &stored,
            &self.journal,
            &ids,
            &self.name,
            &mut self.generations,
            now,
        );
        if !observed.gone.is_empty() {
            let mut inbox = self.inbox.members();
            for id in &observed.gone {
                inbox.remove(id);
            }
        }
        if !self.inventory.has_walked() && self.inventory.trusted_count().is_none() {
            self.inventory = AccountInventory::new(observed.recorded_trusted_count);
        }

        // 2. Listings, 3. plan.
        let planned = match self.plan(&active, &observed, now).await {
            Ok(p) => p,
            Err(PassError::Listing(e)) => {
                return self.listing_failed(&observed, e, now).await;
            }
        };

        // 4. Execute.
        let executed = self.execute(&active, &observed, &planned, now).await;

        // 5. Record.
        let failed = executed
            .as_ref()
            .and_then(|(_, x)| x.stopped.as_ref())
            .map(|e| match e.vendor_source() {
                Some(v) => format!("vendor_{}", v.metric_label()),
                None => "execute".to_owned(),
            });
        self.record(&observed, &planned, executed.as_ref(), now)
            .await;
        let after = self.schedule(&planned, executed.as_ref().map(|(_, x)| x), now);
        (after, failed)
    }

    /// Re-reads the members' Secrets every resync interval (one `get` per
    /// distinct Secret): a changed or broken one routes its sets again.
    async fn recheck_secrets(&mut self, members: &BTreeMap<SetId, Member>, resync: Duration) {
        if self.secrets_checked.is_some_and(|t| t.elapsed() < resync) {
            return;
        }
        self.secrets_checked = Some(Instant::now());
        let mut by_secret: BTreeMap<&SecretRef, Vec<(&SetId, &Member)>> = BTreeMap::new();
        for (id, m) in members {
            by_secret.entry(&m.secret).or_default().push((id, m));
        }
        for (secret, sets) in by_secret {
            let still = match crate::logins::read_secret(&self.env.kube, secret).await {
                Ok(login) => sets.iter().all(|(_, m)| m.fingerprint == login.fingerprint),
                Err(e) => {
                    tracing::info!(account = %self.name, secret = %secret, error = %crate::error::report(&e), "a member's Secret cannot be used any more");
                    false
                }
            };
            if !still {
                for (id, _) in sets {
                    self.reroute(id);
                }
            }
        }
    }

    fn reroute(&self, id: &SetId) {
        let _ = self
            .env
            .reroute
            .send(ObjectRef::new(&id.name).within(&id.namespace));
    }

    /// Writes statuses that could not be stored before (laid over the store
    /// meanwhile), for members and former members alike.
    async fn flush_unsaved(&mut self, stored: &[Arc<TollFreeNumberSet>]) {
        let unsaved = self.journal.unsaved_uids();
        if unsaved.is_empty() {
            return;
        }
        let by_uid: HashMap<&str, &Arc<TollFreeNumberSet>> = stored
            .iter()
            .filter_map(|o| Some((o.metadata.uid.as_deref()?, o)))
            .collect();
        for uid in unsaved {
            let Some(obj) = by_uid.get(uid.as_str()) else {
                self.journal.forget(&uid);
                continue;
            };
            let obj = self.journal.overlay(obj);
            if let Some(status) = obj.status.clone() {
                let _ = record::write(&self.env.kube, &mut self.journal, &obj, status).await;
            }
        }
    }

    fn planner_input(&self, observed: &Observed, now: Timestamp) -> PlanInput {
        let count = self.inventory.len();
        PlanInput {
            now,
            sets: observed.sets.clone(),
            inventory: self.inventory.planner_view(now),
            last_good_count: self.inventory.trusted_count(),
            confirmed_count: observed.confirmed_counts.contains(&count).then_some(count),
        }
    }

    fn leaving(observed: &Observed) -> BTreeSet<intelepeer::E164> {
        observed
            .sets
            .iter()
            .flat_map(|s| &s.memory.intents)
            .filter(|i| i.kind == IntentKind::Disconnect)
            .flat_map(|i| i.numbers.iter().cloned())
            .collect()
    }

    /// The listings due before planning: a full walk when due, else the
    /// packages that orders in flight touched, once their orders were sent.
    fn listings_due(&self, observed: &Observed) -> vendor::Plan {
        let resync = self.env.settings.resync_interval;
        if self.inventory.walk_due(resync) {
            return vendor::Plan::Walk;
        }
        let mut packages = BTreeSet::new();
        for set in &observed.sets {
            for i in &set.memory.intents {
                match i.kind {
                    IntentKind::Reserve => {}
                    IntentKind::Purchase | IntentKind::Move => packages.extend(i.package),
                    IntentKind::Disconnect => {
                        packages.extend(
                            i.numbers
                                .iter()
                                .filter_map(|n| self.inventory.package_of(n)),
                        );
                    }
                }
            }
        }
        Needs {
            numbers: BTreeSet::new(),
            packages,
        }
        .cheapest(&self.inventory)
    }

    async fn plan(
        &mut self,
        active: &Member,
        observed: &Observed,
        now: Timestamp,
    ) -> Result<Planned, PassError> {
        let leaving = Self::leaving(observed);
        let due = self.listings_due(observed);
        self.listings(active)
            .run(due, &leaving)
            .await
            .map_err(PassError::Listing)?;
        let mut input = self.planner_input(observed, now);
        let mut plan = tollfree_plan::plan(&input);
        // Fresh before buying: list what a held reservation depends on.
        let needs = unverified(&plan);
        if !needs.is_empty() {
            let listing = needs.cheapest(&self.inventory);
            self.listings(active)
                .run(listing, &leaving)
                .await
                .map_err(PassError::Listing)?;
            input = self.planner_input(observed, now);
            plan = tollfree_plan::plan(&input);
        }
        self.inventory
            .set_trusted_count(plan.trusted_count, plan.trusted);
        self.env.metrics.set_unowned(&self.name, plan.unowned);
        Ok(Planned { input, plan })
    }

    fn listings<'a>(&'a mut self, active: &'a Member) -> Listings<'a, VendorClient> {
        Listings {
            client: &active.client,
            view: &mut self.inventory,
            metrics: &self.env.metrics,
            account: &self.name,
        }
    }

    /// Executes the plan's batches for the member sets; when reservations
    /// were answered, plans again at once and purchases them in a second
    /// round. Returns the plan of that second round, if one ran (else the
    /// plan passed in stands), and what was done; `None` when there was
    /// nothing to do.
    async fn execute(
        &mut self,
        active: &Member,
        observed: &Observed,
        planned: &Planned,
        now: Timestamp,
    ) -> Option<(Option<Planned>, Executed)> {
        let plans: Vec<&SetPlan> = planned
            .plan
            .sets
            .iter()
            .filter(|p| observed.plans_for(&p.id))
            .collect();
        let batches = tollfree_plan::batches(plans.iter().copied(), &planned.input.sets);
        if batches.is_empty() {
            return None;
        }
        let claimed = tollfree_plan::claimed_numbers(&planned.input);
        let first = self
            .run_batches(
                active,
                observed,
                Round {
                    planned,
                    memories: plans
                        .iter()
                        .map(|p| (p.id.clone(), p.memory.clone()))
                        .collect(),
                    claimed: claimed.clone(),
                    batches: &batches,
                },
                now,
            )
            .await;
        let reserved = first.runs.values().any(|r| {
            r.done
                .iter()
                .any(|d| matches!(d, execute::Done::Reserved { .. }))
        });
        if first.stopped.is_some() || !reserved {
            return Some((None, first));
        }
        // Second round: purchase what was just reserved, on the same listing.
        let mut input = planned.input.clone();
        for set in &mut input.sets {
            if let Some(run) = first.runs.get(&set.id) {
                set.memory = run.memory.clone();
            }
        }
        let mut plan = tollfree_plan::plan(&input);
        carry_settled(&planned.plan, &mut plan);
        let second_plans: Vec<&SetPlan> = plan
            .sets
            .iter()
            .filter(|p| observed.plans_for(&p.id))
            .collect();
        let purchases: Vec<Batch> =
            tollfree_plan::batches(second_plans.iter().copied(), &input.sets)
                .into_iter()
                .filter(|b| b.kind == BatchKind::Purchase)
                .collect();
        if purchases.is_empty() {
            return Some((None, first));
        }
        let memories = second_plans
            .iter()
            .map(|p| {
                let memory = first
                    .runs
                    .get(&p.id)
                    .map_or_else(|| p.memory.clone(), |r| r.memory.clone());
                (p.id.clone(), memory)
            })
            .collect();
        let replanned = Planned { input, plan };
        let second = self
            .run_batches(
                active,
                observed,
                Round {
                    planned: &replanned,
                    memories,
                    claimed,
                    batches: &purchases,
                },
                now,
            )
            .await;
        Some((Some(replanned), merge_runs(first, second)))
    }

    async fn run_batches(
        &mut self,
        active: &Member,
        observed: &Observed,
        round: Round<'_>,
        now: Timestamp,
    ) -> Executed {
        let Round {
            planned,
            memories,
            claimed,
            batches,
        } = round;
        let inputs: BTreeMap<SetId, &SetInput> = planned
            .input
            .sets
            .iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let plans: BTreeMap<SetId, &SetPlan> = planned
            .plan
            .sets
            .iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let ctx = record::Context {
            kube: &self.env.kube,
            now,
            account: &self.name,
            inventory_count: self.inventory.trusted_count().map(|c| c as u64),
        };
        let mut log = record::WriteAhead {
            ctx,
            journal: &mut self.journal,
            objects: &observed.objects,
            inputs: &inputs,
            plans: &plans,
        };
        let executed = Executor::new(&active.client, &mut log, now, &self.tag, memories, claimed)
            .run(batches)
            .await;
        if executed.last_sent.is_some() {
            self.last_sent = executed.last_sent;
        }
        if executed.disproved {
            self.inventory.disproved();
        }
        executed
    }

    async fn record(
        &mut self,
        observed: &Observed,
        planned: &Planned,
        executed: Option<&(Option<Planned>, Executed)>,
        now: Timestamp,
    ) {
        let last = executed
            .and_then(|(replanned, _)| replanned.as_ref())
            .unwrap_or(planned);
        let (plan, inputs) = (&last.plan, &last.input);
        let runs = executed.map(|(_, x)| &x.runs);
        let stopped = executed.and_then(|(_, x)| x.stopped.as_ref());
        let failure = stopped.and_then(|e| match e.vendor_source() {
            Some(v) => record::vendor_failure(v),
            None => Some(Failure {
                reason: crate::status::conditions::FailureReason::VendorRejected,
                message: crate::error::report(e),
            }),
        });
        if let Some(v) = stopped.and_then(|e| e.vendor_source()) {
            self.vendor_failed(v).await;
        } else {
            self.backoff.succeeded();
        }
        let env = self.env.clone();
        let name = self.name.clone();
        let ctx = record::Context {
            kube: &env.kube,
            now,
            account: &name,
            inventory_count: self.inventory.trusted_count().map(|c| c as u64),
        };
        let plans: HashMap<&SetId, &SetPlan> = plan.sets.iter().map(|p| (&p.id, p)).collect();
        let inputs: HashMap<&SetId, &SetInput> = inputs.sets.iter().map(|s| (&s.id, s)).collect();
        for (id, obj) in &observed.objects {
            let prev = obj.status.as_ref();
            if let Some(e) = observed.invalid.get(id) {
                let f = record::invalid_spec(e);
                let status = record::failure_status(obj, &f, now);
                self.report(obj, prev, status, None, f.reason.into()).await;
                continue;
            }
            let (Some(&set_plan), Some(&input)) = (plans.get(id), inputs.get(id)) else {
                continue;
            };
            let run = runs.and_then(|r| r.get(id));
            let memory = run.map_or(&set_plan.memory, |r| &r.memory);
            let set_failure = run.filter(|r| r.failed).and(failure.as_ref());
            let status = record::status_of(&ctx, obj, input, set_plan, memory, set_failure);
            let reason: ConditionReason = match set_failure {
                Some(f) => f.reason.into(),
                None => set_plan.reason.into(),
            };
            record::set_metrics(&env.metrics, id, &name, set_plan, memory, &status);
            if let Some(r) = run {
                record::count_orders(&env.metrics, &id.namespace, &r.done);
            }
            let stored = self.report(obj, prev, status, run, reason).await;
            if stored && set_plan.release && obj.metadata.deletion_timestamp.is_some() {
                self.release(id, obj).await;
            }
        }
    }

    async fn report(
        &mut self,
        obj: &TollFreeNumberSet,
        prev: Option<&crate::crd::TollFreeNumberSetStatus>,
        status: crate::crd::TollFreeNumberSetStatus,
        run: Option<&SetRun>,
        reason: ConditionReason,
    ) -> bool {
        record::record(
            &self.env.kube,
            &self.env.settings.instance,
            &mut self.journal,
            &self.env.events,
            record::Report {
                obj,
                prev,
                status,
                run,
                reason,
            },
        )
        .await
    }

    /// A deleted set with nothing left to do: its finalizer goes.
    async fn release(&mut self, id: &SetId, obj: &TollFreeNumberSet) {
        match record::remove_finalizer(&self.env.kube, obj).await {
            Ok(()) => {
                tracing::info!(set = %id, "released: finalizer removed");
                if let Some(uid) = &obj.metadata.uid {
                    self.journal.forget(uid);
                }
                self.inbox.members().remove(id);
                self.env.metrics.forget_set(id);
            }
            Err(e) => {
                tracing::warn!(set = %id, error = %crate::error::report(&e), "cannot remove the finalizer; trying again at the next pass");
            }
        }
    }

    /// A vendor failure stopped the pass: back off; a refused session
    /// revokes the login (its sets leave the account through the router).
    async fn vendor_failed(&mut self, e: &intelepeer::Error) -> Duration {
        let retry_after = match e {
            intelepeer::Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        };
        if e.is_auth_failure() {
            let members = self.members();
            if let Some(active) = members.values().next() {
                self.env
                    .logins
                    .revoke(&active.fingerprint, intelepeer::Error::Unauthorized)
                    .await;
                for (id, m) in &members {
                    if m.fingerprint == active.fingerprint {
                        self.reroute(id);
                    }
                }
            }
        }
        let delay = self.backoff.failed(retry_after);
        tracing::warn!(account = %self.name, error = %crate::error::report(e), retry_in = ?delay, "account pass failed");
        delay
    }

    async fn listing_failed(
        &mut self,
        observed: &Observed,
        e: intelepeer::Error,
        now: Timestamp,
    ) -> (Instant, Option<String>) {
        let delay = self.vendor_failed(&e).await;
        if let Some(f) = record::vendor_failure(&e) {
            for obj in observed.objects.values() {
                let status = record::failure_status(obj, &f, now);
                self.report(obj, obj.status.as_ref(), status, None, f.reason.into())
                    .await;
            }
        }
        (
            Instant::now() + delay,
            Some(format!("vendor_{}", e.metric_label())),
        )
    }

    /// When to look again (see the module documentation).
    fn schedule(&self, planned: &Planned, executed: Option<&Executed>, now: Timestamp) -> Instant {
        let resync = self.env.settings.resync_interval;
        let soon = |d: Duration| Instant::now() + d;
        // At `t`, but not sooner than a second from now.
        let wait = |t: Timestamp| {
            let left = t.duration_since(now);
            soon(
                Duration::try_from(left)
                    .unwrap_or(Duration::ZERO)
                    .max(Duration::from_secs(1)),
            )
        };
        let mut next = self.inventory.next_walk(resync);
        if let Some(until) = self.backoff.until() {
            return until;
        }
        if executed.is_some_and(|x| x.last_sent.is_some()) {
            next = next.min(soon(AFTER_MUTATION));
        }
        let memories = executed
            .map(|x| x.runs.values().map(|r| &r.memory).collect::<Vec<_>>())
            .unwrap_or_else(|| planned.plan.sets.iter().map(|p| &p.memory).collect());
        for memory in memories {
            for i in &memory.intents {
                match i.kind {
                    IntentKind::Reserve => {}
                    _ => {
                        let young = now.duration_since(i.started) < YOUNG_ORDER;
                        next = next.min(soon(if young {
                            ORDER_IN_FLIGHT
                        } else {
                            SLOW_ORDER_IN_FLIGHT
                        }));
                    }
                }
                if i.kind == IntentKind::Purchase && i.order_id.is_none() {
                    let at = i.refused.map_or_else(
                        || {
                            i.started
                                .saturating_add(tollfree_plan::PURCHASE_RETRY_DELAY)
                        },
                        |r| r.saturating_add(tollfree_plan::PROOF_INTERVAL),
                    );
                    if let Ok(at) = at {
                        next = next.min(wait(at));
                    }
                }
            }
        }
        for p in &planned.plan.sets {
            for h in &p.held {
                match &h.hold {
                    Hold::Grace(until) => next = next.min(wait(*until)),
                    // The listing it waited for failed to come: try soon.
                    Hold::Unverified => next = next.min(soon(AFTER_MUTATION)),
                    _ => {}
                }
            }
        }
        next
    }
}

/// One round of execution: the plan it carries out, each set's memory to
/// start from, the numbers an acquire must skip, and the vendor calls.
struct Round<'a> {
    planned: &'a Planned,
    memories: Vec<(SetId, tollfree_plan::Memory)>,
    claimed: BTreeSet<intelepeer::E164>,
    batches: &'a [Batch],
}

/// A plan and what it was planned from.
#[derive(Debug, Clone)]
struct Planned {
    input: PlanInput,
    plan: tollfree_plan::Plan,
}

/// What reservations held back for a fresher listing need listed: their
/// exact numbers, or the packages of acquire requests.
fn unverified(plan: &tollfree_plan::Plan) -> Needs {
    let mut needs = Needs::default();
    for set in &plan.sets {
        for h in set.held.iter().filter(|h| h.hold == Hold::Unverified) {
            match &h.action {
                Action::Reserve { numbers, .. } => needs.numbers.extend(numbers.iter().cloned()),
                Action::Acquire { package, .. } => {
                    needs.packages.insert(*package);
                }
                _ => {}
            }
        }
    }
    needs
}

/// The second round's plan starts from the memories the first plan resolved:
/// the orders the first plan saw settle are only in the first plan. They go
/// into the second, ahead of its own, so that status records them — an
/// order whose answer was lost is known only from its settlement (found by
/// the crash loop of `tests/e2e_hostile.rs`: a purchase that settled in a
/// pass that also reserved for another set never reached `status.orders`).
fn carry_settled(first: &tollfree_plan::Plan, second: &mut tollfree_plan::Plan) {
    for set in &mut second.sets {
        if let Some(earlier) = first.sets.iter().find(|p| p.id == set.id)
            && !earlier.settled.is_empty()
        {
            let mut settled = earlier.settled.clone();
            settled.append(&mut set.settled);
            set.settled = settled;
        }
    }
}

/// The second round's runs on top of the first's.
fn merge_runs(mut first: Executed, second: Executed) -> Executed {
    for (id, run) in second.runs {
        let entry = first.runs.entry(id).or_default();
        entry.memory = run.memory;
        entry.done.extend(run.done);
        entry.refusals.extend(run.refusals);
        entry.failed |= run.failed;
    }
    first.last_sent = second.last_sent.or(first.last_sent);
    first.disproved |= second.disproved;
    first.stopped = second.stopped;
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{busy_plan, n, set_id};

    fn plan_of(sets: Vec<SetPlan>) -> tollfree_plan::Plan {
        tollfree_plan::Plan {
            sets,
            unowned: 0,
            trusted_count: None,
            trusted: true,
        }
    }

    fn set_plan(name: &str, settled: Vec<tollfree_plan::Settled>) -> SetPlan {
        SetPlan {
            id: set_id("ns", name),
            settled,
            ..busy_plan()
        }
    }

    fn settled(order: u64) -> tollfree_plan::Settled {
        tollfree_plan::Settled {
            kind: IntentKind::Purchase,
            numbers: vec![n("+18005550100")],
            package: None,
            order_id: Some(intelepeer::OrderId(order)),
            reference_id: None,
            started: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_second_round_keeps_what_the_first_plan_saw_settle() {
        let first = plan_of(vec![set_plan("a", vec![settled(1)]), set_plan("b", vec![])]);
        let mut second = plan_of(vec![
            set_plan("a", vec![settled(2)]),
            set_plan("b", vec![settled(3)]),
        ]);
        carry_settled(&first, &mut second);
        let orders = |p: &SetPlan| -> Vec<u64> {
            p.settled
                .iter()
                .filter_map(|s| s.order_id.map(|o| o.0))
                .collect()
        };
        assert_eq!(orders(&second.sets[0]), vec![1, 2]);
        assert_eq!(orders(&second.sets[1]), vec![3]);
    }
}
