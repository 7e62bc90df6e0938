//! Execute: the only place that calls vendor mutations (the one choke point
//! downstream of the planner's gate). It carries out the account's
//! [`Batch`]es in order — one vendor call each, possibly serving several sets.
//!
//! For each call:
//!
//! 1. the write-ahead **intent** of every set the call serves goes into that
//!    set's memory and is written to its status *first*
//!    ([`IntentLog::write_ahead`]) — a fresh upper-case UUID v4 reservation ID
//!    for reserves, one referenceID `tfns-<account tag>-<ms>-<n>` shared by
//!    the sets of an order;
//! 2. then the vendor is called;
//! 3. then its answer (order ID, reservation expiry) is recorded in each
//!    set's intent.
//!
//! What a failure does to the intents depends on what it proves:
//!
//! | answer | intents |
//! |---|---|
//! | success | answer recorded |
//! | reserve: "Number(s) not available" | dropped; declared numbers recorded in `memory.unavailable`; for a proving reserve, the proved purchase records the refusal (`refused`) |
//! | reserve that proves a purchase unbought: success | the proved Purchase intent is dropped: the numbers were free, nothing was bought |
//! | purchase of one reservation, first attempt: "Number(s) not available" | dropped (the reservation lost its numbers; nothing was bought) |
//! | purchase of several reservations, or a re-sent one: "Number(s) not available" | kept, `refused` recorded: a proving reservation (planned next) or the inventory decides |
//! | 409 conflicting order (move, disconnect) | dropped; a later listing re-plans it |
//! | 409 already pending disconnect / not assigned | kept: the next trusted listing resolves it |
//! | any other refusal (4xx, 429, 503, connect failure) | dropped (a first purchase reverts to its reservation; a re-sent one stays as written); the pass stops and backs off |
//! | no answer (timeout, dropped connection, other 5xx) | kept as sent: the vendor may have acted; the inventory decides |
//!
//! Nothing here is retried: the vendor client already retried what was safe,
//! and the next pass re-plans from a fresh listing.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use intelepeer::{E164, OrderId, PackageId, ReservationId};
use jiff::Timestamp;
use tollfree_plan::{
    Action, Batch, BatchKind, BatchPart, Intent, IntentKind, Match, Memory, SetId,
};

use crate::status::text;

/// The vendor mutations (and the pool search) the executor needs.
/// Implemented by the IntelePeer client; tests use a scripted fake.
pub trait Vendor: Send + Sync {
    /// Searches the pool; returns the numbers found, in the vendor's order.
    fn search(
        &self,
        query: &intelepeer::SearchPool,
    ) -> impl Future<Output = Result<Vec<E164>, intelepeer::Error>> + Send;

    /// Reserves `numbers` under `id`; returns when the reservation expires, if the vendor says.
    fn reserve(
        &self,
        numbers: &[E164],
        id: &ReservationId,
    ) -> impl Future<Output = Result<Option<Timestamp>, intelepeer::Error>> + Send;

    /// Purchases; returns the order ID.
    fn purchase(
        &self,
        request: &intelepeer::PurchaseRequest,
    ) -> impl Future<Output = Result<OrderId, intelepeer::Error>> + Send;

    /// Changes the package of owned numbers; returns the order ID.
    fn change_package(
        &self,
        request: &intelepeer::ChangePackageRequest,
    ) -> impl Future<Output = Result<OrderId, intelepeer::Error>> + Send;

    /// Disconnects numbers; returns the order ID.
    fn disconnect(
        &self,
        request: &intelepeer::DisconnectRequest,
    ) -> impl Future<Output = Result<OrderId, intelepeer::Error>> + Send;
}

impl Vendor for intelepeer::Client {
    async fn search(&self, query: &intelepeer::SearchPool) -> Result<Vec<E164>, intelepeer::Error> {
        let page = self.search_pool(query).await?;
        Ok(page.numbers.into_iter().map(|n| n.endpoint).collect())
    }

    async fn reserve(
        &self,
        numbers: &[E164],
        id: &ReservationId,
    ) -> Result<Option<Timestamp>, intelepeer::Error> {
        let request =
            intelepeer::ReserveRequest::new(numbers.iter().cloned()).reservation_id(id.clone());
        let reservations = intelepeer::Client::reserve(self, &request).await?;
        Ok(reservations
            .iter()
            .find(|r| &r.reservation_id == id)
            .or(reservations.first())
            .and_then(|r| r.expiration_date))
    }

    async fn purchase(
        &self,
        request: &intelepeer::PurchaseRequest,
    ) -> Result<OrderId, intelepeer::Error> {
        Ok(intelepeer::Client::purchase(self, request).await?.order_id)
    }

    async fn change_package(
        &self,
        request: &intelepeer::ChangePackageRequest,
    ) -> Result<OrderId, intelepeer::Error> {
        Ok(intelepeer::Client::change_package(self, request)
            .await?
            .order_id)
    }

    async fn disconnect(
        &self,
        request: &intelepeer::DisconnectRequest,
    ) -> Result<OrderId, intelepeer::Error> {
        Ok(intelepeer::Client::disconnect(self, request)
            .await?
            .order_id)
    }
}

/// Where write-ahead intents go before a vendor call: the sets' status.
pub trait IntentLog: Send {
    /// Records durably the memory of each of `sets` (with the new intents)
    /// as it stands in `runs`; the vendor is called only after this returned
    /// `Ok`.
    fn write_ahead(
        &mut self,
        sets: &[SetId],
        runs: &BTreeMap<SetId, SetRun>,
    ) -> impl Future<Output = Result<(), WriteAheadError>> + Send;
}

/// A write-ahead that did not land: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("cannot record the intent of set {set} before the vendor call")]
pub struct WriteAheadError {
    /// The set whose status write failed.
    pub set: SetId,
    /// The cause.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Why execution stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// An intent could not be recorded; the vendor was not called.
    #[error(transparent)]
    WriteAhead(#[from] WriteAheadError),
    /// The vendor failed or refused in a way the executor does not handle.
    #[error("IntelePeer call failed")]
    Vendor(#[source] intelepeer::Error),
    /// The plan names something the memory does not hold (e.g. the purchase
    /// of a reservation no intent records). Nothing was sent.
    #[error("cannot execute the plan of set {set}: {reason}")]
    Inconsistent {
        /// The set.
        set: SetId,
        /// What was wrong.
        reason: String,
    },
}

impl ExecuteError {
    /// The vendor's error at the root of this one, if any.
    pub fn vendor_source(&self) -> Option<&intelepeer::Error> {
        match self {
            ExecuteError::Vendor(e) => Some(e),
            _ => None,
        }
    }
}

/// A vendor mutation that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Numbers reserved.
    Reserved {
        /// Target package of the later purchase.
        package: PackageId,
        /// The numbers.
        numbers: Vec<E164>,
        /// The reservation.
        reservation_id: ReservationId,
        /// When it expires, if the vendor said.
        until: Option<Timestamp>,
        /// Found by search for an acquire request.
        acquired: bool,
    },
    /// A reservation purchased.
    Purchased {
        /// The package.
        package: PackageId,
        /// The numbers.
        numbers: Vec<E164>,
        /// The order.
        order_id: OrderId,
        /// The reservation bought.
        reservation_id: ReservationId,
    },
    /// Numbers moved.
    Moved {
        /// The target package.
        package: PackageId,
        /// The numbers.
        numbers: Vec<E164>,
        /// The order.
        order_id: OrderId,
    },
    /// Numbers disconnected.
    Disconnected {
        /// The numbers.
        numbers: Vec<E164>,
        /// The order.
        order_id: OrderId,
    },
}

/// What kind of vendor refusal (or empty search) the executor handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefusalKind {
    /// A declared number cannot be reserved: someone else holds or bought it.
    NumberUnavailable,
    /// A pool search found nothing to reserve for an acquire request.
    PoolExhausted,
    /// A first purchase was refused: its reservation no longer holds the numbers.
    ReservationLost,
    /// A purchase was not answered, or was refused while an earlier attempt
    /// may have bought it: a proving reservation or the inventory decides.
    PurchaseUnconfirmed,
    /// A move or disconnect conflicts with another order at the vendor.
    OrderConflict,
    /// The numbers of a disconnect are already pending disconnect.
    AlreadyDisconnecting,
    /// The vendor says the numbers of a disconnect are not the account's.
    NotAssigned,
}

impl RefusalKind {
    /// The reason of its Warning Event.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::NumberUnavailable => "NumberUnavailable",
            RefusalKind::PoolExhausted => "PoolExhausted",
            RefusalKind::ReservationLost => "ReservationLost",
            RefusalKind::PurchaseUnconfirmed => "PurchaseUnconfirmed",
            RefusalKind::OrderConflict => "OrderConflict",
            RefusalKind::AlreadyDisconnecting => "AlreadyDisconnecting",
            RefusalKind::NotAssigned => "NotAssigned",
        }
    }

    /// Whether it proves the inventory view wrong, so that the account walks
    /// again before trusting it: the vendor knows of an order the listing did
    /// not show (a conflicting order, a number already pending disconnect) or
    /// denies a number the listing showed.
    pub fn disproves_inventory(self) -> bool {
        matches!(
            self,
            RefusalKind::OrderConflict
                | RefusalKind::AlreadyDisconnecting
                | RefusalKind::NotAssigned
        )
    }
}

/// A vendor refusal (or an empty search) the executor handled on its own;
/// each becomes a Warning Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What was refused; the Event reason.
    pub kind: RefusalKind,
    /// One line for a person.
    pub message: String,
}

/// One set's share of the execution.
#[derive(Debug, Clone, Default)]
pub struct SetRun {
    /// The memory to record: the plan's memory plus the intents written and answered.
    pub memory: Memory,
    /// Accepted mutations, in order.
    pub done: Vec<Done>,
    /// Refusals handled without stopping.
    pub refusals: Vec<Refusal>,
    /// The call serving this set failed and stopped the pass (its message).
    pub failed: bool,
}

/// The outcome of executing an account's batches.
#[derive(Debug, Default)]
pub struct Executed {
    /// Every set's memory and outcomes.
    pub runs: BTreeMap<SetId, SetRun>,
    /// When the last vendor mutation was answered (or sent, when it was not
    /// answered): the next listing must start after it to show its result.
    pub last_sent: Option<Timestamp>,
    /// A refusal proved the inventory view wrong.
    pub disproved: bool,
    /// The failure that stopped execution, if any (later batches were not tried).
    pub stopped: Option<ExecuteError>,
}

/// Whether a failed mutation proves the vendor did not act on it: it answered
/// with a refusal (any 4xx, 429, 503), or the connection failed before the
/// request was sent. Timeouts, dropped connections and other 5xx prove nothing.
pub fn refused(e: &intelepeer::Error) -> bool {
    e.is_retryable_for_mutation() || e.status().is_some_and(|s| (400..500).contains(&s))
}

/// A fresh client-chosen reservation ID: an upper-case UUID v4.
pub fn fresh_reservation_id(set: &SetId) -> Result<ReservationId, ExecuteError> {
    let raw = uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase();
    ReservationId::parse(&raw).map_err(|e| ExecuteError::Inconsistent {
        set: set.clone(),
        reason: format!("generated reservation ID {raw} refused: {e}"),
    })
}

/// The pool query for an acquire request, and how many results to ask for:
/// the wanted count plus the claimed numbers that could match (they are
/// skipped), at most a page. A sequential run is asked for exactly.
pub fn pool_query(
    filter: &Match,
    count: u32,
    sequential: bool,
    claimed: &BTreeSet<E164>,
) -> intelepeer::SearchPool {
    let query = match filter {
        Match::Npa(npas) => intelepeer::SearchPool::in_npas(npas.iter().copied()),
        Match::Like(prefix) => intelepeer::SearchPool::like(prefix.clone()),
    };
    let extra = if sequential {
        0
    } else {
        claimed.iter().filter(|n| filter.matches(n)).count()
    };
    let size = u32::try_from(extra)
        .unwrap_or(u32::MAX)
        .saturating_add(count)
        .clamp(1, intelepeer::MAX_PAGE_SIZE);
    query.sequential(sequential).page_size(size)
}

/// Picks the numbers to reserve from a pool search: the first `count` that no
/// set claims. A sequential run is taken whole or not at all (skipping a
/// claimed number would break it).
pub fn pick(found: &[E164], count: u32, sequential: bool, claimed: &BTreeSet<E164>) -> Vec<E164> {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if sequential {
        let run: Vec<E164> = found.iter().take(count).cloned().collect();
        if run.len() < count || run.iter().any(|n| claimed.contains(n)) {
            return Vec::new();
        }
        return run;
    }
    found
        .iter()
        .filter(|n| !claimed.contains(*n))
        .take(count)
        .cloned()
        .collect()
}

/// The calls a first Purchase batch is sent in: the parts whose reservation
/// the vendor answered in one call (in batch order), then each part whose
/// reservation has no recorded answer (`unanswered(set, reservation)`) in a
/// call of its own. A batch of one part, or a re-sent purchase, is one call.
pub fn split_unanswered(
    batch: &Batch,
    unanswered: impl Fn(&SetId, &ReservationId) -> bool,
) -> Vec<Batch> {
    let lone = |part: &BatchPart| match &part.action {
        Action::Purchase {
            reservation_id,
            retry: false,
            ..
        } => unanswered(&part.set, reservation_id),
        _ => false,
    };
    if batch.parts.len() < 2 || !batch.parts.iter().any(lone) {
        return vec![batch.clone()];
    }
    let with = |parts: Vec<BatchPart>| Batch {
        parts,
        ..batch.clone()
    };
    let (alone, merged): (Vec<BatchPart>, Vec<BatchPart>) =
        batch.parts.iter().cloned().partition(|p| lone(p));
    let mut calls = Vec::new();
    if !merged.is_empty() {
        calls.push(with(merged));
    }
    calls.extend(alone.into_iter().map(|p| with(vec![p])));
    calls
}

/// An intent the vendor has not answered yet: no reservation, reference or order.
pub fn new_intent(
    kind: IntentKind,
    numbers: Vec<E164>,
    package: Option<PackageId>,
    now: Timestamp,
) -> Intent {
    Intent {
        kind,
        numbers,
        package,
        reservation_id: None,
        reserved_until: None,
        reference_id: None,
        order_id: None,
        acquired: false,
        started: now,
        refused: None,
    }
}

/// Carries out an account's batches (see the module documentation).
pub struct Executor<'a, V, L> {
    vendor: &'a V,
    log: &'a mut L,
    now: Timestamp,
    /// The referenceID prefix of this account.
    tag: &'a str,
    /// Numbers any set of the account claims (an `Acquire` skips them).
    claimed: BTreeSet<E164>,
    calls: usize,
    out: Executed,
}

/// A set's intent before a call changed it (to put back when nothing was sent).
type Saved = (SetId, Option<Intent>, usize);

/// The vendor's order options of a batch, with the call's `reference`
/// (the referenceID a lost answer is found by).
fn vendor_options(
    options: &tollfree_plan::OrderOptions,
    reference: String,
) -> intelepeer::OrderOptions {
    intelepeer::OrderOptions {
        email: options.email.clone(),
        notes: options.notes.clone(),
        reference_id: Some(reference),
    }
}

/// The intents one order call wrote: the sets it serves, what undoes them,
/// and each set's intent (its index) with the numbers it carries.
#[derive(Debug, Default)]
struct OrderIntents {
    sets: Vec<SetId>,
    saved: Vec<Saved>,
    slots: Vec<(SetId, usize, Vec<E164>)>,
}

impl<'a, V: Vendor, L: IntentLog> Executor<'a, V, L> {
    /// An executor starting from each set's planned `memories`.
    pub fn new(
        vendor: &'a V,
        log: &'a mut L,
        now: Timestamp,
        tag: &'a str,
        memories: impl IntoIterator<Item = (SetId, Memory)>,
        claimed: BTreeSet<E164>,
    ) -> Self {
        let runs = memories
            .into_iter()
            .map(|(id, memory)| {
                (
                    id,
                    SetRun {
                        memory,
                        ..SetRun::default()
                    },
                )
            })
            .collect();
        Executor {
            vendor,
            log,
            now,
            tag,
            claimed,
            calls: 0,
            out: Executed {
                runs,
                ..Executed::default()
            },
        }
    }

    /// Executes `batches` in order; stops at the first failure that is not a
    /// handled refusal (recorded in [`Executed::stopped`], and as `failed` in
    /// the runs of the sets that call served).
    pub async fn run(mut self, batches: &[Batch]) -> Executed {
        for batch in batches {
            let step = match batch.kind {
                BatchKind::Purchase => self.purchases(batch).await,
                BatchKind::Move => self.change_package(batch).await,
                BatchKind::Disconnect => self.disconnect(batch).await,
                BatchKind::Reserve => self.reserve_part(batch).await,
                BatchKind::Acquire => self.acquire(batch).await,
            };
            if let Err(e) = step {
                for part in &batch.parts {
                    self.run_of(&part.set).failed = true;
                }
                self.out.stopped = Some(e);
                break;
            }
        }
        self.out
    }

    fn run_of(&mut self, set: &SetId) -> &mut SetRun {
        self.out.runs.entry(set.clone()).or_default()
    }

    fn reference(&mut self) -> String {
        self.calls += 1;
        format!(
            "tfns-{}-{}-{}",
            self.tag,
            self.now.as_millisecond(),
            self.calls
        )
    }

    fn sent(&mut self) {
        self.out.last_sent = Some(Timestamp::now());
    }

    fn refuse(&mut self, set: &SetId, kind: RefusalKind, message: String) {
        if kind.disproves_inventory() {
            self.out.disproved = true;
        }
        self.run_of(set).refusals.push(Refusal { kind, message });
    }

    /// Writes the sets' memory ahead of a call; on failure puts `saved`
    /// back (the vendor is not called).
    async fn write_ahead(&mut self, sets: &[SetId], saved: Vec<Saved>) -> Result<(), ExecuteError> {
        if let Err(e) = self.log.write_ahead(sets, &self.out.runs).await {
            self.restore(saved);
            return Err(e.into());
        }
        Ok(())
    }

    /// Puts intents back as they were: `(set, previous, index)` replaces the
    /// intent at `index` (or removes it when it was pushed, `previous` None).
    fn restore(&mut self, saved: Vec<Saved>) {
        for (set, previous, k) in saved.into_iter().rev() {
            let intents = &mut self.run_of(&set).memory.intents;
            match previous {
                Some(p) if k < intents.len() => intents[k] = p,
                None if k < intents.len() => {
                    intents.remove(k);
                }
                _ => {}
            }
        }
    }

    /// Pushes a new intent into `set`'s memory; returns what undoes it.
    fn push(&mut self, set: &SetId, intent: Intent) -> Saved {
        let intents = &mut self.run_of(set).memory.intents;
        intents.push(intent);
        (set.clone(), None, intents.len() - 1)
    }

    fn intent_mut(&mut self, set: &SetId, k: usize) -> Option<&mut Intent> {
        self.run_of(set).memory.intents.get_mut(k)
    }

    fn find(&self, set: &SetId, pred: impl Fn(&Intent) -> bool) -> Option<usize> {
        self.out
            .runs
            .get(set)
            .and_then(|r| r.memory.intents.iter().position(pred))
    }

    fn drop_intent(&mut self, set: &SetId, k: usize) {
        let intents = &mut self.run_of(set).memory.intents;
        if k < intents.len() {
            intents.remove(k);
        }
    }

    /// A Purchase batch, as one call or several: a reservation whose answer
    /// was never recorded (its reserve call may never have reached the
    /// vendor: a crash right after the write-ahead) is purchased in a call of
    /// its own. Merged with others, its refusal would refuse them all — the
    /// vendor buys a purchase all or nothing — and each would then wait for
    /// a proof that its own live reservation blocks until it lapses.
    async fn purchases(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        for call in split_unanswered(batch, |set, rid| {
            self.find(set, |i| {
                i.kind == IntentKind::Reserve && i.reservation_id.as_ref() == Some(rid)
            })
            .is_some_and(|k| {
                self.out.runs[set].memory.intents[k]
                    .reserved_until
                    .is_none()
            })
        }) {
            self.purchase(&call).await?;
        }
        Ok(())
    }

    /// One purchase call: the first purchase of one or more recorded
    /// reservations (merged across sets), or one re-sent purchase.
    async fn purchase(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        let retry = batch
            .parts
            .iter()
            .any(|p| matches!(p.action, Action::Purchase { retry: true, .. }));
        let Some(package) = batch.package() else {
            return Ok(());
        };
        let mut saved: Vec<Saved> = Vec::new();
        let mut slots: Vec<(SetId, usize, ReservationId, Vec<E164>)> = Vec::new();
        let recorded = if retry {
            IntentKind::Purchase
        } else {
            IntentKind::Reserve
        };
        for part in &batch.parts {
            let Action::Purchase {
                reservation_id,
                numbers,
                ..
            } = &part.action
            else {
                continue;
            };
            let Some(k) = self.find(&part.set, |i| {
                i.kind == recorded
                    && i.reservation_id.as_ref() == Some(reservation_id)
                    && i.order_id.is_none()
            }) else {
                return Err(ExecuteError::Inconsistent {
                    set: part.set.clone(),
                    reason: format!(
                        "purchase of reservation {reservation_id}, which no intent records"
                    ),
                });
            };
            slots.push((part.set.clone(), k, reservation_id.clone(), numbers.clone()));
        }
        if slots.is_empty() {
            return Ok(());
        }
        // A re-sent purchase repeats its first attempt's referenceID.
        let earlier = if retry {
            let (set, k, ..) = &slots[0];
            self.out.runs[set].memory.intents[*k].reference_id.clone()
        } else {
            None
        };
        let reference = match earlier {
            Some(r) => r,
            None => self.reference(),
        };
        let now = self.now;
        for (set, k, ..) in &slots {
            let Some(intent) = self.intent_mut(set, *k) else {
                continue;
            };
            let previous = intent.clone();
            intent.kind = IntentKind::Purchase;
            intent.package = Some(package);
            intent.reference_id = Some(reference.clone());
            intent.started = now;
            saved.push((set.clone(), Some(previous), *k));
        }
        let sets: Vec<SetId> = slots.iter().map(|(s, ..)| s.clone()).collect();
        // The previous state to put back if a refusal proves nothing was
        // bought by a first purchase.
        let before: Vec<Saved> = saved.clone();
        self.write_ahead(&sets, saved).await?;
        let o = &batch.options;
        let request = intelepeer::PurchaseRequest::by_reservations(
            slots.iter().map(|(_, _, r, _)| r.clone()),
            package,
            o.service_area,
        )
        .my_resp_org(o.my_resp_org)
        .options(vendor_options(o, reference));
        let answer = self.vendor.purchase(&request).await;
        self.sent();
        match answer {
            Ok(order_id) => {
                for (set, k, reservation_id, numbers) in slots {
                    if let Some(i) = self.intent_mut(&set, k) {
                        i.order_id = Some(order_id);
                    }
                    self.run_of(&set).done.push(Done::Purchased {
                        package,
                        numbers,
                        order_id,
                        reservation_id,
                    });
                }
                Ok(())
            }
            Err(intelepeer::Error::NotAvailable) if slots.len() == 1 && !retry => {
                // One reservation, first attempt: it no longer holds its
                // numbers, and nothing was bought.
                let (set, k, reservation_id, numbers) = &slots[0];
                self.drop_intent(set, *k);
                self.refuse(
                    set,
                    RefusalKind::ReservationLost,
                    text::reservation_lost(reservation_id, numbers),
                );
                Ok(())
            }
            Err(intelepeer::Error::NotAvailable) => {
                // Re-sent (an earlier attempt may have bought it), or several
                // reservations (one may have lapsed; the vendor may not buy
                // them all or nothing): each is proven unbought by a fresh
                // reservation, or shown bought by the inventory.
                let now = self.now;
                for (set, k, reservation_id, numbers) in slots {
                    if let Some(i) = self.intent_mut(&set, k) {
                        i.refused = Some(now);
                    }
                    self.refuse(
                        &set,
                        RefusalKind::PurchaseUnconfirmed,
                        text::resent_purchase_refused(&reservation_id, &numbers),
                    );
                }
                Ok(())
            }
            Err(e) if refused(&e) => {
                // This attempt bought nothing. A first purchase goes back to
                // its reservation; a re-sent one stays as written (the
                // earlier attempt may still have bought the numbers).
                if !retry {
                    self.restore(before);
                }
                Err(ExecuteError::Vendor(e))
            }
            Err(e) => {
                for (set, _, reservation_id, numbers) in &slots {
                    self.refuse(
                        set,
                        RefusalKind::PurchaseUnconfirmed,
                        text::purchase_unanswered(reservation_id, numbers, retry, &e),
                    );
                }
                Err(ExecuteError::Vendor(e))
            }
        }
    }

    /// Pushes one new order intent of `kind` per part, shares `reference`.
    fn order_intents(
        &mut self,
        kind: IntentKind,
        package: Option<PackageId>,
        parts: &[BatchPart],
        reference: &str,
    ) -> OrderIntents {
        let mut out = OrderIntents::default();
        for part in parts {
            let numbers = match &part.action {
                Action::Move { numbers, .. } | Action::Disconnect { numbers } => numbers.clone(),
                _ => continue,
            };
            let mut intent = new_intent(kind, numbers.clone(), package, self.now);
            intent.reference_id = Some(reference.to_owned());
            let undo = self.push(&part.set, intent);
            out.slots.push((part.set.clone(), undo.2, numbers));
            out.saved.push(undo);
            out.sets.push(part.set.clone());
        }
        out
    }

    /// An order the vendor accepted: its ID on every intent it carries, and
    /// what each set did (`done` of the set's numbers) for its Events.
    fn answered(
        &mut self,
        slots: Vec<(SetId, usize, Vec<E164>)>,
        done: impl Fn(Vec<E164>) -> Done,
        order_id: OrderId,
    ) {
        for (set, k, numbers) in slots {
            if let Some(i) = self.intent_mut(&set, k) {
                i.order_id = Some(order_id);
            }
            self.run_of(&set).done.push(done(numbers));
        }
    }

    /// An order the vendor refused as conflicting with one in flight:
    /// nothing was ordered, so its intents are undone, and every set it
    /// served is told (`message` of the set's numbers).
    fn conflicting(
        &mut self,
        saved: Vec<Saved>,
        slots: &[(SetId, usize, Vec<E164>)],
        message: impl Fn(&[E164]) -> String,
    ) {
        self.restore(saved);
        for (set, _, numbers) in slots {
            self.refuse(set, RefusalKind::OrderConflict, message(numbers));
        }
    }

    /// An order call that failed otherwise: a refusal (nothing ordered)
    /// undoes its intents; an unanswered call keeps them for the listing to
    /// resolve.
    fn failed(&mut self, saved: Vec<Saved>, e: intelepeer::Error) -> ExecuteError {
        if refused(&e) {
            self.restore(saved);
        }
        ExecuteError::Vendor(e)
    }

    /// A Move batch: numbers of one or more sets into one package.
    async fn change_package(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        let Some(package) = batch.package() else {
            return Ok(());
        };
        let reference = self.reference();
        let OrderIntents { sets, saved, slots } =
            self.order_intents(IntentKind::Move, Some(package), &batch.parts, &reference);
        if slots.is_empty() {
            return Ok(());
        }
        self.write_ahead(&sets, saved.clone()).await?;
        let request = intelepeer::ChangePackageRequest::new(
            package,
            slots.iter().flat_map(|(_, _, n)| n.iter().cloned()),
        )
        .options(vendor_options(&batch.options, reference));
        let answer = self.vendor.change_package(&request).await;
        self.sent();
        match answer {
            Ok(order_id) => {
                self.answered(
                    slots,
                    |numbers| Done::Moved {
                        package,
                        numbers,
                        order_id,
                    },
                    order_id,
                );
                Ok(())
            }
            Err(e @ (intelepeer::Error::ConflictingOrder | intelepeer::Error::Conflict { .. })) => {
                self.conflicting(saved, &slots, |numbers| {
                    text::move_conflict(package, numbers, &e)
                });
                Ok(())
            }
            Err(e) => Err(self.failed(saved, e)),
        }
    }

    /// A Disconnect batch: numbers of one or more sets.
    async fn disconnect(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        let reference = self.reference();
        let OrderIntents { sets, saved, slots } =
            self.order_intents(IntentKind::Disconnect, None, &batch.parts, &reference);
        if slots.is_empty() {
            return Ok(());
        }
        self.write_ahead(&sets, saved.clone()).await?;
        let request = intelepeer::DisconnectRequest::new(
            slots.iter().flat_map(|(_, _, n)| n.iter().cloned()),
        )
        .options(vendor_options(&batch.options, reference));
        let answer = self.vendor.disconnect(&request).await;
        self.sent();
        match answer {
            Ok(order_id) => {
                self.answered(
                    slots,
                    |numbers| Done::Disconnected { numbers, order_id },
                    order_id,
                );
                Ok(())
            }
            Err(intelepeer::Error::AlreadyPendingDisconnect) => {
                // The intents stay: the next trusted listing resolves them.
                for (set, _, numbers) in &slots {
                    self.refuse(
                        set,
                        RefusalKind::AlreadyDisconnecting,
                        text::already_disconnecting(numbers),
                    );
                }
                Ok(())
            }
            Err(intelepeer::Error::NotAssigned) => {
                for (set, _, numbers) in &slots {
                    self.refuse(set, RefusalKind::NotAssigned, text::not_assigned(numbers));
                }
                Ok(())
            }
            Err(e @ (intelepeer::Error::ConflictingOrder | intelepeer::Error::Conflict { .. })) => {
                self.conflicting(saved, &slots, |numbers| {
                    text::disconnect_conflict(numbers, &e)
                });
                Ok(())
            }
            Err(e) => Err(self.failed(saved, e)),
        }
    }

    /// A Reserve batch: one set's declared numbers, or a reservation proving
    /// a refused purchase unbought.
    async fn reserve_part(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        for part in &batch.parts {
            if let Action::Reserve {
                package,
                numbers,
                proves,
            } = &part.action
            {
                self.reserve(&part.set, *package, numbers.clone(), false, proves.as_ref())
                    .await?;
            }
        }
        Ok(())
    }

    async fn reserve(
        &mut self,
        set: &SetId,
        package: PackageId,
        numbers: Vec<E164>,
        acquired: bool,
        proves: Option<&ReservationId>,
    ) -> Result<(), ExecuteError> {
        let proved = match proves {
            Some(r) => {
                let k = self.find(set, |i| {
                    i.kind == IntentKind::Purchase
                        && i.order_id.is_none()
                        && i.reservation_id.as_ref() == Some(r)
                });
                if k.is_none() {
                    return Err(ExecuteError::Inconsistent {
                        set: set.clone(),
                        reason: format!(
                            "proof of the purchase of reservation {r}, which no unanswered intent records"
                        ),
                    });
                }
                k
            }
            None => None,
        };
        let acquired =
            acquired || proved.is_some_and(|k| self.out.runs[set].memory.intents[k].acquired);
        let rid = fresh_reservation_id(set)?;
        let mut intent = new_intent(
            IntentKind::Reserve,
            numbers.clone(),
            Some(package),
            self.now,
        );
        intent.reservation_id = Some(rid.clone());
        intent.acquired = acquired;
        let undo = self.push(set, intent);
        let k = undo.2;
        self.write_ahead(std::slice::from_ref(set), vec![undo])
            .await?;
        let answer = self.vendor.reserve(&numbers, &rid).await;
        self.sent();
        match answer {
            Ok(until) => {
                if let Some(i) = self.intent_mut(set, k) {
                    i.reserved_until = until;
                }
                if let Some(p) = proved {
                    // Reserved: nobody owned or had ordered them, so the
                    // refused purchase bought nothing. (`p` precedes `k`.)
                    self.drop_intent(set, p);
                }
                self.run_of(set).done.push(Done::Reserved {
                    package,
                    numbers,
                    reservation_id: rid,
                    until,
                    acquired,
                });
                Ok(())
            }
            Err(intelepeer::Error::NotAvailable) => {
                self.drop_intent(set, k);
                if let (Some(p), Some(r)) = (proved, proves) {
                    let now = self.now;
                    if let Some(i) = self.intent_mut(set, p) {
                        i.refused = Some(now);
                    }
                    self.refuse(
                        set,
                        RefusalKind::PurchaseUnconfirmed,
                        text::resent_purchase_refused(r, &numbers),
                    );
                    return Ok(());
                }
                if acquired {
                    // A race with another buyer: the numbers were free when
                    // searched. Back off and search again.
                    return Err(ExecuteError::Vendor(intelepeer::Error::NotAvailable));
                }
                let now = self.now;
                let run = self.run_of(set);
                for n in &numbers {
                    run.memory.unavailable.insert(n.clone(), now);
                }
                self.refuse(
                    set,
                    RefusalKind::NumberUnavailable,
                    text::number_unavailable(package, &numbers),
                );
                Ok(())
            }
            Err(e) if refused(&e) => {
                self.drop_intent(set, k);
                Err(ExecuteError::Vendor(e))
            }
            Err(e) => Err(ExecuteError::Vendor(e)),
        }
    }

    /// An Acquire batch: a pool search, then a reservation of what it found.
    async fn acquire(&mut self, batch: &Batch) -> Result<(), ExecuteError> {
        for part in &batch.parts {
            let Action::Acquire {
                package,
                count,
                filter,
                sequential,
            } = &part.action
            else {
                continue;
            };
            // Numbers reserved earlier in this pass are claimed too.
            let mut claimed = self.claimed.clone();
            claimed.extend(self.out.runs.values().flat_map(|r| {
                r.memory
                    .intents
                    .iter()
                    .flat_map(|i| i.numbers.iter().cloned())
            }));
            let query = pool_query(filter, *count, *sequential, &claimed);
            let found = self
                .vendor
                .search(&query)
                .await
                .map_err(ExecuteError::Vendor)?;
            let picks = pick(&found, *count, *sequential, &claimed);
            if picks.is_empty() {
                self.refuse(
                    &part.set,
                    RefusalKind::PoolExhausted,
                    text::pool_exhausted(*package, *count, filter, *sequential),
                );
                continue;
            }
            self.reserve(&part.set, *package, picks, true, None).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::fixtures::{n, pkg, rid, set_id, ts};
    use tollfree_plan::OrderOptions;

    /// What the fake vendor was asked, in order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Call {
        Search,
        Reserve(Vec<E164>),
        Purchase(Vec<ReservationId>, Option<String>),
        Move(PackageId, Vec<E164>),
        Disconnect(Vec<E164>),
    }

    /// A vendor answering from a script (one answer per call, in order;
    /// success when the script is empty).
    #[derive(Default)]
    struct Script {
        calls: Mutex<Vec<Call>>,
        answers: Mutex<VecDeque<Result<(), intelepeer::Error>>>,
        found: Vec<E164>,
    }

    impl Script {
        fn answering(answers: Vec<Result<(), intelepeer::Error>>) -> Self {
            Self {
                answers: Mutex::new(answers.into()),
                ..Self::default()
            }
        }

        fn answer(&self, call: Call) -> Result<(), intelepeer::Error> {
            self.calls.lock().expect("calls").push(call);
            self.answers
                .lock()
                .expect("answers")
                .pop_front()
                .unwrap_or(Ok(()))
        }

        fn calls(&self) -> Vec<Call> {
            self.calls.lock().expect("calls").clone()
        }
    }

    impl Vendor for Script {
        async fn search(&self, _: &intelepeer::SearchPool) -> Result<Vec<E164>, intelepeer::Error> {
            self.answer(Call::Search).map(|()| self.found.clone())
        }
        async fn reserve(
            &self,
            numbers: &[E164],
            _: &ReservationId,
        ) -> Result<Option<Timestamp>, intelepeer::Error> {
            self.answer(Call::Reserve(numbers.to_vec()))
                .map(|()| Some(ts("2026-03-01T12:30:00Z")))
        }
        async fn purchase(
            &self,
            r: &intelepeer::PurchaseRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            let ids = r.reservation_ids.clone();
            self.answer(Call::Purchase(ids, r.options.reference_id.clone()))
                .map(|()| OrderId(800))
        }
        async fn change_package(
            &self,
            r: &intelepeer::ChangePackageRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            self.answer(Call::Move(r.package_id, r.endpoints.clone()))
                .map(|()| OrderId(801))
        }
        async fn disconnect(
            &self,
            r: &intelepeer::DisconnectRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            self.answer(Call::Disconnect(r.endpoints.clone()))
                .map(|()| OrderId(802))
        }
    }

    /// Records which sets' intents were written before each call; fails
    /// every write while `fail` is set.
    #[derive(Default)]
    struct Log {
        writes: Vec<Vec<SetId>>,
        /// The intents of each set as written, at the last write.
        written: BTreeMap<SetId, Vec<Intent>>,
        fail: bool,
    }

    impl IntentLog for Log {
        async fn write_ahead(
            &mut self,
            sets: &[SetId],
            runs: &BTreeMap<SetId, SetRun>,
        ) -> Result<(), WriteAheadError> {
            if self.fail {
                return Err(WriteAheadError {
                    set: sets[0].clone(),
                    source: "apiserver down".into(),
                });
            }
            self.writes.push(sets.to_vec());
            for s in sets {
                self.written
                    .insert(s.clone(), runs[s].memory.intents.clone());
            }
            Ok(())
        }
    }

    const NOW: &str = "2026-03-01T12:00:00Z";

    /// A reservation the vendor answered (its expiry recorded).
    fn reserve_intent(id: &str, numbers: &[&str], package: u64) -> Intent {
        let mut i = new_intent(
            IntentKind::Reserve,
            numbers.iter().map(|x| n(x)).collect(),
            Some(pkg(package)),
            ts(NOW),
        );
        i.reservation_id = Some(rid(id));
        i.reserved_until = Some(ts("2026-03-01T12:30:00Z"));
        i
    }

    /// A Reserve intent written ahead whose answer was never recorded.
    fn unanswered_reserve_intent(id: &str, numbers: &[&str], package: u64) -> Intent {
        Intent {
            reserved_until: None,
            ..reserve_intent(id, numbers, package)
        }
    }

    fn memory(intents: Vec<Intent>) -> Memory {
        Memory {
            intents,
            ..Memory::default()
        }
    }

    fn purchase(package: u64, id: &str, numbers: &[&str], retry: bool) -> Action {
        Action::Purchase {
            package: pkg(package),
            reservation_id: rid(id),
            numbers: numbers.iter().map(|x| n(x)).collect(),
            retry,
        }
    }

    fn batch(kind: BatchKind, parts: Vec<(SetId, Action)>) -> Batch {
        Batch {
            kind,
            options: OrderOptions::purchase(&tollfree_plan::OrderDefaults {
                service_area: 4,
                ..Default::default()
            }),
            parts: parts
                .into_iter()
                .map(|(set, action)| BatchPart { set, action })
                .collect(),
        }
    }

    async fn run(
        vendor: &Script,
        log: &mut Log,
        memories: Vec<(SetId, Memory)>,
        batches: &[Batch],
    ) -> Executed {
        Executor::new(vendor, log, ts(NOW), "t3st", memories, BTreeSet::new())
            .run(batches)
            .await
    }

    #[tokio::test]
    async fn one_purchase_serves_several_sets_each_intent_written_ahead_and_answered() {
        let (a, b) = (set_id("t", "a"), set_id("t", "b"));
        let vendor = Script::default();
        let mut log = Log::default();
        let call = batch(
            BatchKind::Purchase,
            vec![
                (a.clone(), purchase(1, "R1", &["+18005550100"], false)),
                (b.clone(), purchase(1, "R2", &["+18005550101"], false)),
            ],
        );
        let out = run(
            &vendor,
            &mut log,
            vec![
                (
                    a.clone(),
                    memory(vec![reserve_intent("R1", &["+18005550100"], 1)]),
                ),
                (
                    b.clone(),
                    memory(vec![reserve_intent("R2", &["+18005550101"], 1)]),
                ),
            ],
            &[call],
        )
        .await;
        assert!(out.stopped.is_none());
        let calls = vendor.calls();
        let Call::Purchase(ids, Some(reference)) = &calls[0] else {
            panic!("{calls:?}")
        };
        assert_eq!(
            ids,
            &vec![rid("R1"), rid("R2")],
            "one call, both reservations"
        );
        assert!(reference.starts_with("tfns-t3st-"), "{reference}");
        assert_eq!(
            log.writes,
            vec![vec![a.clone(), b.clone()]],
            "both written before the call"
        );
        for set in [&a, &b] {
            let written = &log.written[set][0];
            assert_eq!(
                written.kind,
                IntentKind::Purchase,
                "written as a Purchase intent"
            );
            assert_eq!(written.order_id, None, "before the answer");
            let intent = &out.runs[set].memory.intents[0];
            assert_eq!(
                intent.order_id,
                Some(OrderId(800)),
                "each set records the order"
            );
            assert_eq!(intent.reference_id.as_deref(), Some(reference.as_str()));
            assert!(matches!(out.runs[set].done[..], [Done::Purchased { .. }]));
        }
    }

    #[tokio::test]
    async fn a_reservation_without_a_recorded_answer_is_purchased_in_a_call_of_its_own() {
        // Killed between the write-ahead of b's reservation and its call: the
        // vendor never made R2. Merged, its refusal would refuse R1 too.
        let (a, b, c) = (set_id("t", "a"), set_id("t", "b"), set_id("t", "c"));
        let vendor = Script::answering(vec![Ok(()), Err(intelepeer::Error::NotAvailable)]);
        let out = run(
            &vendor,
            &mut Log::default(),
            vec![
                (
                    a.clone(),
                    memory(vec![reserve_intent("R1", &["+18005550100"], 1)]),
                ),
                (
                    b.clone(),
                    memory(vec![unanswered_reserve_intent("R2", &["+18005550101"], 1)]),
                ),
                (
                    c.clone(),
                    memory(vec![reserve_intent("R3", &["+18005550102"], 1)]),
                ),
            ],
            &[batch(
                BatchKind::Purchase,
                vec![
                    (a.clone(), purchase(1, "R1", &["+18005550100"], false)),
                    (b.clone(), purchase(1, "R2", &["+18005550101"], false)),
                    (c.clone(), purchase(1, "R3", &["+18005550102"], false)),
                ],
            )],
        )
        .await;
        let calls: Vec<Vec<ReservationId>> = vendor
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Purchase(ids, _) => Some(ids),
                _ => None,
            })
            .collect();
        assert_eq!(calls, vec![vec![rid("R1"), rid("R3")], vec![rid("R2")]]);
        for set in [&a, &c] {
            assert_eq!(out.runs[set].memory.intents[0].order_id, Some(OrderId(800)));
        }
        // Alone, on its first attempt: the refusal proves nothing was bought.
        assert!(out.runs[&b].memory.intents.is_empty());
        assert_eq!(out.runs[&b].refusals[0].kind, RefusalKind::ReservationLost);
    }

    #[tokio::test]
    async fn a_refused_purchase_of_one_reservation_drops_it_of_several_marks_each_for_a_proof() {
        let a = set_id("t", "a");
        // One reservation, first attempt: nothing was bought.
        let vendor = Script::answering(vec![Err(intelepeer::Error::NotAvailable)]);
        let mut log = Log::default();
        let out = run(
            &vendor,
            &mut log,
            vec![(
                a.clone(),
                memory(vec![reserve_intent("R1", &["+18005550100"], 1)]),
            )],
            &[batch(
                BatchKind::Purchase,
                vec![(a.clone(), purchase(1, "R1", &["+18005550100"], false))],
            )],
        )
        .await;
        assert!(out.runs[&a].memory.intents.is_empty());
        assert_eq!(out.runs[&a].refusals[0].kind, RefusalKind::ReservationLost);

        // Several: the vendor may have bought some; each is kept, refused.
        let b = set_id("t", "b");
        let vendor = Script::answering(vec![Err(intelepeer::Error::NotAvailable)]);
        let out = run(
            &vendor,
            &mut Log::default(),
            vec![
                (
                    a.clone(),
                    memory(vec![reserve_intent("R1", &["+18005550100"], 1)]),
                ),
                (
                    b.clone(),
                    memory(vec![reserve_intent("R2", &["+18005550101"], 1)]),
                ),
            ],
            &[batch(
                BatchKind::Purchase,
                vec![
                    (a.clone(), purchase(1, "R1", &["+18005550100"], false)),
                    (b.clone(), purchase(1, "R2", &["+18005550101"], false)),
                ],
            )],
        )
        .await;
        for set in [&a, &b] {
            let i = &out.runs[set].memory.intents[0];
            assert_eq!((i.kind, i.refused), (IntentKind::Purchase, Some(ts(NOW))));
            assert_eq!(
                out.runs[set].refusals[0].kind,
                RefusalKind::PurchaseUnconfirmed
            );
        }
    }

    #[tokio::test]
    async fn a_resent_purchase_keeps_its_reference_and_a_refusal_marks_it() {
        let a = set_id("t", "a");
        let mut unanswered = reserve_intent("R1", &["+18005550100"], 1);
        unanswered.kind = IntentKind::Purchase;
        unanswered.reference_id = Some("tfns-old-1".into());
        let vendor = Script::answering(vec![Err(intelepeer::Error::NotAvailable)]);
        let out = run(
            &vendor,
            &mut Log::default(),
            vec![(a.clone(), memory(vec![unanswered]))],
            &[batch(
                BatchKind::Purchase,
                vec![(a.clone(), purchase(1, "R1", &["+18005550100"], true))],
            )],
        )
        .await;
        assert_eq!(
            vendor.calls(),
            vec![Call::Purchase(vec![rid("R1")], Some("tfns-old-1".into()))]
        );
        let i = &out.runs[&a].memory.intents[0];
        assert_eq!(i.refused, Some(ts(NOW)), "never sent again; proven next");
        assert_eq!(i.order_id, None);
    }

    #[tokio::test]
    async fn a_proof_that_reserves_drops_the_refused_purchase_and_one_that_fails_marks_it() {
        let a = set_id("t", "a");
        let mut refused = reserve_intent("R1", &["+18005550100"], 1);
        refused.kind = IntentKind::Purchase;
        refused.refused = Some(ts("2026-03-01T11:59:00Z"));
        let proof = Action::Reserve {
            package: pkg(1),
            numbers: vec![n("+18005550100")],
            proves: Some(rid("R1")),
        };
        let call = || batch(BatchKind::Reserve, vec![(a.clone(), proof.clone())]);
        let out = run(
            &Script::default(),
            &mut Log::default(),
            vec![(a.clone(), memory(vec![refused.clone()]))],
            &[call()],
        )
        .await;
        let intents = &out.runs[&a].memory.intents;
        assert_eq!(intents.len(), 1, "{intents:?}");
        assert_eq!(
            intents[0].kind,
            IntentKind::Reserve,
            "the new reservation, to purchase"
        );
        assert_ne!(intents[0].reservation_id, Some(rid("R1")));

        let out = run(
            &Script::answering(vec![Err(intelepeer::Error::NotAvailable)]),
            &mut Log::default(),
            vec![(a.clone(), memory(vec![refused]))],
            &[call()],
        )
        .await;
        let intents = &out.runs[&a].memory.intents;
        assert_eq!(intents.len(), 1, "kept: bought, or held by someone");
        assert_eq!(intents[0].refused, Some(ts(NOW)));
        assert!(
            out.runs[&a].memory.unavailable.is_empty(),
            "not a declared refusal"
        );
    }

    #[tokio::test]
    async fn moves_of_several_sets_go_in_one_call_and_a_conflict_drops_their_intents() {
        let (a, b) = (set_id("t", "a"), set_id("t", "b"));
        let moves = |set: &SetId, x: &str| {
            (
                set.clone(),
                Action::Move {
                    package: pkg(2),
                    numbers: vec![n(x)],
                },
            )
        };
        let call = batch(
            BatchKind::Move,
            vec![moves(&a, "+18005550100"), moves(&b, "+18005550101")],
        );
        let vendor = Script::default();
        let out = run(
            &vendor,
            &mut Log::default(),
            vec![
                (a.clone(), Memory::default()),
                (b.clone(), Memory::default()),
            ],
            std::slice::from_ref(&call),
        )
        .await;
        assert_eq!(
            vendor.calls(),
            vec![Call::Move(
                pkg(2),
                vec![n("+18005550100"), n("+18005550101")]
            )]
        );
        assert_eq!(out.runs[&b].memory.intents[0].order_id, Some(OrderId(801)));

        let out = run(
            &Script::answering(vec![Err(intelepeer::Error::ConflictingOrder)]),
            &mut Log::default(),
            vec![
                (a.clone(), Memory::default()),
                (b.clone(), Memory::default()),
            ],
            &[call],
        )
        .await;
        assert!(out.stopped.is_none(), "a handled refusal");
        assert!(out.disproved, "the listing did not show the other order");
        for set in [&a, &b] {
            assert!(out.runs[set].memory.intents.is_empty());
            assert_eq!(out.runs[set].refusals[0].kind, RefusalKind::OrderConflict);
        }
    }

    #[tokio::test]
    async fn a_disconnect_already_pending_keeps_its_intent_for_the_listing() {
        let a = set_id("t", "a");
        let call = batch(
            BatchKind::Disconnect,
            vec![(
                a.clone(),
                Action::Disconnect {
                    numbers: vec![n("+18005550100")],
                },
            )],
        );
        let out = run(
            &Script::answering(vec![Err(intelepeer::Error::AlreadyPendingDisconnect)]),
            &mut Log::default(),
            vec![(a.clone(), Memory::default())],
            &[call],
        )
        .await;
        assert_eq!(out.runs[&a].memory.intents.len(), 1);
        assert_eq!(
            out.runs[&a].refusals[0].kind,
            RefusalKind::AlreadyDisconnecting
        );
        assert!(out.disproved);
    }

    #[tokio::test]
    async fn nothing_is_sent_when_the_intent_cannot_be_written_and_memory_is_as_before() {
        let a = set_id("t", "a");
        let vendor = Script::default();
        let mut log = Log {
            fail: true,
            ..Log::default()
        };
        let before = memory(vec![reserve_intent("R1", &["+18005550100"], 1)]);
        let out = run(
            &vendor,
            &mut log,
            vec![(a.clone(), before.clone())],
            &[batch(
                BatchKind::Purchase,
                vec![(a.clone(), purchase(1, "R1", &["+18005550100"], false))],
            )],
        )
        .await;
        assert!(vendor.calls().is_empty(), "no call without its intent");
        assert!(matches!(out.stopped, Some(ExecuteError::WriteAhead(_))));
        assert_eq!(out.runs[&a].memory, before, "put back");
        assert!(out.runs[&a].failed);
    }

    #[tokio::test]
    async fn an_unanswered_call_keeps_its_intent_a_refusal_puts_the_reservation_back() {
        let a = set_id("t", "a");
        let call = || {
            batch(
                BatchKind::Purchase,
                vec![(a.clone(), purchase(1, "R1", &["+18005550100"], false))],
            )
        };
        let before = memory(vec![reserve_intent("R1", &["+18005550100"], 1)]);
        let timeout = intelepeer::Error::Timeout {
            after: std::time::Duration::from_secs(30),
        };
        let out = run(
            &Script::answering(vec![Err(timeout)]),
            &mut Log::default(),
            vec![(a.clone(), before.clone())],
            &[call()],
        )
        .await;
        let i = &out.runs[&a].memory.intents[0];
        assert_eq!(
            (i.kind, i.order_id),
            (IntentKind::Purchase, None),
            "the vendor may have bought it"
        );
        assert!(out.stopped.is_some());

        let refused = intelepeer::Error::Server {
            status: 503,
            message: "busy".into(),
        };
        let out = run(
            &Script::answering(vec![Err(refused)]),
            &mut Log::default(),
            vec![(a.clone(), before.clone())],
            &[call()],
        )
        .await;
        assert_eq!(
            out.runs[&a].memory, before,
            "nothing bought: the reservation again"
        );
    }

    #[tokio::test]
    async fn an_acquire_skips_claimed_numbers_and_reports_an_empty_pool() {
        let a = set_id("t", "a");
        let vendor = Script {
            found: vec![n("+18885550100"), n("+18885550101")],
            ..Script::default()
        };
        let claimed: BTreeSet<E164> = [n("+18885550100")].into();
        let acquire = Action::Acquire {
            package: pkg(3),
            count: 1,
            filter: Match::Npa(vec![intelepeer::Npa::new(888).expect("npa")]),
            sequential: false,
        };
        let mut log = Log::default();
        let out = Executor::new(
            &vendor,
            &mut log,
            ts(NOW),
            "t3st",
            vec![(a.clone(), Memory::default())],
            claimed,
        )
        .run(&[batch(
            BatchKind::Acquire,
            vec![(a.clone(), acquire.clone())],
        )])
        .await;
        assert_eq!(vendor.calls()[1], Call::Reserve(vec![n("+18885550101")]));
        assert!(out.runs[&a].memory.intents[0].acquired);

        let empty = Script::default();
        let out = run(
            &empty,
            &mut Log::default(),
            vec![(a.clone(), Memory::default())],
            &[batch(BatchKind::Acquire, vec![(a.clone(), acquire)])],
        )
        .await;
        assert_eq!(out.runs[&a].refusals[0].kind, RefusalKind::PoolExhausted);
        assert!(out.runs[&a].memory.intents.is_empty());
    }
}

/// The split of a Purchase batch around reservations without a recorded answer.
#[cfg(test)]
mod split_tests {
    use super::*;
    use crate::fixtures::{n, pkg, rid, set_id};

    fn part(set: &str, reservation: &str) -> BatchPart {
        BatchPart {
            set: set_id("ns", set),
            action: Action::Purchase {
                package: pkg(1),
                reservation_id: rid(reservation),
                numbers: vec![n("+18005550100")],
                retry: false,
            },
        }
    }

    fn batch(parts: Vec<BatchPart>) -> Batch {
        Batch {
            kind: BatchKind::Purchase,
            options: tollfree_plan::OrderOptions {
                service_area: 4,
                my_resp_org: false,
                email: None,
                notes: None,
            },
            parts,
        }
    }

    fn reservations(calls: &[Batch]) -> Vec<Vec<String>> {
        calls
            .iter()
            .map(|b| {
                b.parts
                    .iter()
                    .filter_map(|p| match &p.action {
                        Action::Purchase { reservation_id, .. } => Some(reservation_id.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_reservation_without_a_recorded_answer_is_purchased_alone() {
        let ids = ["A", "B", "C", "D"].map(|r| rid(r).to_string());
        let merged = batch(vec![
            part("a", &ids[0]),
            part("b", &ids[1]),
            part("c", &ids[2]),
            part("d", &ids[3]),
        ]);
        let unanswered =
            |_: &SetId, r: &ReservationId| r.to_string() == ids[1] || r.to_string() == ids[3];
        assert_eq!(
            reservations(&split_unanswered(&merged, unanswered)),
            vec![
                vec![ids[0].clone(), ids[2].clone()],
                vec![ids[1].clone()],
                vec![ids[3].clone()]
            ]
        );
        // Every reservation answered, or a single one: one call.
        assert_eq!(
            split_unanswered(&merged, |_: &SetId, _: &ReservationId| false),
            vec![merged.clone()]
        );
        let single = batch(vec![part("b", &ids[1])]);
        assert_eq!(split_unanswered(&single, unanswered), vec![single.clone()]);
    }
}
