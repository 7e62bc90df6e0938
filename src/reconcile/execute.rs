//! Execute: the only place that calls vendor mutations (DESIGN.md §3.6).
//!
//! For each action of a set's plan, in order:
//!
//! 1. the write-ahead **intent** goes into the set's memory and is written to
//!    status *first* ([`IntentLog::write_ahead`]) — a fresh upper-case UUID v4
//!    reservation ID for reserves, a referenceID `tfns-<uid prefix>-<n>` for
//!    orders;
//! 2. then the vendor is called;
//! 3. then its answer (order ID, reservation expiry) is recorded in the intent.
//!
//! An `Acquire` searches the pool first (skipping every number any set of the
//! account claims), then reserves like a `Reserve`. A `Purchase` turns the
//! recorded Reserve intent into a Purchase intent in place, as the planner
//! expects. A `Purchase` with `retry` sends the same purchase again for an
//! unanswered Purchase intent (same reservation, referenceID and package): it
//! writes the attempt time (`started`) ahead and sends; the vendor buys a
//! reservation at most once, so this never buys twice.
//!
//! What a failure does to the intent depends on what it proves:
//!
//! | answer | intent |
//! |---|---|
//! | success | answer recorded |
//! | reserve: "Number(s) not available" | dropped; declared numbers recorded in `memory.unavailable` |
//! | purchase: "Number(s) not available" | first attempt: dropped (the reservation lost its numbers; nothing was bought). Re-sent purchase: kept — the earlier attempt probably bought them (or the reservation lapsed); `reserved_until` set to now so it is not sent again; the inventory (or the settle window) decides. Never reserved again. |
//! | 409 conflicting order (move, disconnect) | dropped; a later listing re-plans it |
//! | 409 already pending disconnect / not assigned | kept: the next trusted listing resolves it |
//! | any other refusal (4xx, 429, 503, connect failure) | dropped (a first purchase reverts to its reservation; a re-sent one stays a Purchase intent); the reconcile fails and backs off |
//! | no answer (timeout, dropped connection, other 5xx) | kept as sent: the vendor may have acted; the inventory decides. A purchase may be re-sent by the planner (same reservation) once `PURCHASE_RETRY_DELAY` passed and while its reservation is live. |
//!
//! Nothing here is retried: the vendor client already retried what was safe,
//! and the next reconcile re-plans from a fresh listing.

use std::collections::BTreeSet;
use std::future::Future;

use intelepeer::{E164, OrderId, PackageId, ReservationId};
use jiff::Timestamp;
use tollfree_plan::{Action, Intent, IntentKind, Match, Memory, OrderDefaults, SetId};

use crate::error::Error;
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
        let until = reservations
            .iter()
            .find(|r| &r.reservation_id == id)
            .or(reservations.first())
            .and_then(|r| r.expiration_date);
        Ok(until)
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

/// Where write-ahead intents go before a vendor call: the set's status.
pub trait IntentLog: Send {
    /// Records `memory` (with the new intent) durably; the vendor is called
    /// only after this returned `Ok`.
    fn write_ahead(&mut self, memory: &Memory) -> impl Future<Output = Result<(), Error>> + Send;
}

/// What the executor needs to know about the set.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    /// The set.
    pub set: &'a SetId,
    /// The account, as errors name it (`namespace/secret`).
    pub account: &'a str,
    /// The first characters of the set's UID, for referenceIDs.
    pub uid_prefix: &'a str,
    /// `spec.orderDefaults`.
    pub order_defaults: &'a OrderDefaults,
    /// Numbers any set of the account claims (an `Acquire` skips them).
    pub claimed: &'a BTreeSet<E164>,
    /// The clock.
    pub now: Timestamp,
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

/// What the vendor refused (or an empty search), as the executor handled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefusalKind {
    /// A declared number cannot be reserved: someone else holds or bought it.
    NumberUnavailable,
    /// A pool search found nothing to reserve for an acquire request.
    PoolExhausted,
    /// A first purchase was refused: its reservation no longer holds the numbers.
    ReservationLost,
    /// A purchase was not answered, or a re-sent one was refused: it may have
    /// bought the numbers; the inventory decides.
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

    /// Whether it proves the inventory snapshot wrong, so that every set of
    /// the account should plan on a new listing: the vendor knows of an order
    /// the listing did not show (a conflicting order, a number already
    /// pending disconnect) or denies a number the listing showed.
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
    /// One line for a person (from [`text`]).
    pub message: String,
}

/// The outcome of executing one set's actions.
#[derive(Debug)]
pub struct Executed {
    /// The memory to record: the plan's memory plus the intents written and answered.
    pub memory: Memory,
    /// Accepted mutations, in order.
    pub done: Vec<Done>,
    /// Refusals handled without failing the reconcile.
    pub refusals: Vec<Refusal>,
    /// Whether any vendor mutation was sent (the inventory must be listed again).
    pub sent: bool,
    /// The failure that stopped execution, if any (later actions were not tried).
    pub error: Option<Error>,
}

/// Whether a failed mutation proves the vendor did not act on it: it answered
/// with a refusal (any 4xx, 429, 503), or the connection failed before the
/// request was sent. Timeouts, dropped connections and other 5xx prove nothing.
pub fn refused(e: &intelepeer::Error) -> bool {
    e.is_retryable_for_mutation() || e.status().is_some_and(|s| (400..500).contains(&s))
}

/// A fresh client-chosen reservation ID: an upper-case UUID v4.
pub fn fresh_reservation_id(set: &SetId) -> Result<ReservationId, Error> {
    let raw = uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase();
    ReservationId::parse(&raw).map_err(|e| Error::Executor {
        set: set.to_string(),
        reason: format!("generated reservation ID {raw} refused: {e}"),
    })
}

/// The referenceID of the `n`-th order of this reconcile: `tfns-<uid prefix>-<k>`,
/// `k` growing with time so that a set's references do not repeat.
pub fn reference_id(uid_prefix: &str, now: Timestamp, n: usize) -> String {
    let k = now
        .as_millisecond()
        .saturating_add(i64::try_from(n).unwrap_or(0));
    format!("tfns-{uid_prefix}-{k}")
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

fn vendor_error(job: &Job<'_>, source: intelepeer::Error) -> Error {
    Error::Vendor {
        account: job.account.to_owned(),
        source,
    }
}

/// A mutation whose intent `k` was written ahead failed. A refusal proves the
/// vendor did not act: the intent is dropped. Anything else (no answer) proves
/// nothing: the intent stays as sent and the inventory decides.
fn failed(job: &Job<'_>, run: &mut Executed, k: usize, e: intelepeer::Error) -> Result<(), Error> {
    if refused(&e) {
        run.memory.intents.remove(k);
    }
    Err(vendor_error(job, e))
}

/// Executes `actions` in order, starting from the planner's `memory`.
/// Stops at the first failure that is not a handled refusal.
pub async fn execute<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    actions: &[Action],
    memory: Memory,
) -> Executed {
    let mut run = Executed {
        memory,
        done: Vec::new(),
        refusals: Vec::new(),
        sent: false,
        error: None,
    };
    for (n, action) in actions.iter().enumerate() {
        let step = match action {
            Action::Reserve { package, numbers } => {
                reserve(vendor, log, job, &mut run, *package, numbers.clone(), false).await
            }
            Action::Acquire {
                package,
                count,
                filter,
                sequential,
            } => {
                acquire(
                    vendor,
                    log,
                    job,
                    &mut run,
                    *package,
                    *count,
                    filter,
                    *sequential,
                )
                .await
            }
            Action::Purchase {
                package,
                reservation_id,
                numbers,
                retry,
            } => {
                purchase(
                    vendor,
                    log,
                    job,
                    &mut run,
                    n,
                    *package,
                    reservation_id,
                    numbers,
                    *retry,
                )
                .await
            }
            Action::Move { package, numbers } => {
                change_package(vendor, log, job, &mut run, n, *package, numbers).await
            }
            Action::Disconnect { numbers } => {
                disconnect(vendor, log, job, &mut run, n, numbers).await
            }
        };
        if let Err(e) = step {
            run.error = Some(e);
            break;
        }
    }
    run
}

/// Pushes `intent` and writes it ahead; on a failed write the intent is
/// taken back out (the vendor was not called).
async fn write_ahead<L: IntentLog>(
    log: &mut L,
    memory: &mut Memory,
    intent: Intent,
) -> Result<usize, Error> {
    memory.intents.push(intent);
    let index = memory.intents.len() - 1;
    if let Err(e) = log.write_ahead(memory).await {
        memory.intents.pop();
        return Err(e);
    }
    Ok(index)
}

/// An intent the vendor has not answered yet: no reservation, reference or order.
pub(super) fn new_intent(
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
    }
}

#[allow(clippy::too_many_arguments)]
async fn reserve<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    run: &mut Executed,
    package: PackageId,
    numbers: Vec<E164>,
    acquired: bool,
) -> Result<(), Error> {
    let rid = fresh_reservation_id(job.set)?;
    let mut intent = new_intent(IntentKind::Reserve, numbers.clone(), Some(package), job.now);
    intent.reservation_id = Some(rid.clone());
    intent.acquired = acquired;
    let k = write_ahead(log, &mut run.memory, intent).await?;
    run.sent = true;
    match vendor.reserve(&numbers, &rid).await {
        Ok(until) => {
            if let Some(i) = run.memory.intents.get_mut(k) {
                i.reserved_until = until;
            }
            run.done.push(Done::Reserved {
                package,
                numbers,
                reservation_id: rid,
                until,
                acquired,
            });
            Ok(())
        }
        Err(intelepeer::Error::NotAvailable) => {
            run.memory.intents.remove(k);
            if acquired {
                // A race with another buyer: the numbers were free when
                // searched. Back off and search again.
                return Err(vendor_error(job, intelepeer::Error::NotAvailable));
            }
            for n in &numbers {
                run.memory.unavailable.insert(n.clone(), job.now);
            }
            run.refusals.push(Refusal {
                kind: RefusalKind::NumberUnavailable,
                message: text::number_unavailable(package, &numbers),
            });
            Ok(())
        }
        Err(e) => failed(job, run, k, e),
    }
}

#[allow(clippy::too_many_arguments)]
async fn acquire<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    run: &mut Executed,
    package: PackageId,
    count: u32,
    filter: &Match,
    sequential: bool,
) -> Result<(), Error> {
    // Numbers reserved earlier in this reconcile are claimed too.
    let mut claimed = job.claimed.clone();
    claimed.extend(
        run.memory
            .intents
            .iter()
            .flat_map(|i| i.numbers.iter().cloned()),
    );
    let query = pool_query(filter, count, sequential, &claimed);
    let found = vendor
        .search(&query)
        .await
        .map_err(|e| vendor_error(job, e))?;
    let picks = pick(&found, count, sequential, &claimed);
    if picks.is_empty() {
        run.refusals.push(Refusal {
            kind: RefusalKind::PoolExhausted,
            message: text::pool_exhausted(package, count, filter, sequential),
        });
        return Ok(());
    }
    reserve(vendor, log, job, run, package, picks, true).await
}

/// Purchases a reservation: the first purchase of a Reserve intent, or, with
/// `retry`, the same purchase sent again for an unanswered Purchase intent
/// (the same reservation, referenceID and package). Either way the Purchase
/// intent and its attempt time (`started`, so the planner waits
/// `PURCHASE_RETRY_DELAY` before another attempt) are written ahead of the
/// call. A re-sent purchase's intent is never dropped here and its reservation
/// never renewed: a refusal may follow an earlier attempt that bought the
/// numbers.
#[allow(clippy::too_many_arguments)]
async fn purchase<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    run: &mut Executed,
    n: usize,
    package: PackageId,
    reservation_id: &ReservationId,
    numbers: &[E164],
    retry: bool,
) -> Result<(), Error> {
    let Some(k) = run.memory.intents.iter().position(|i| {
        i.reservation_id.as_ref() == Some(reservation_id)
            && if retry {
                i.kind == IntentKind::Purchase && i.order_id.is_none()
            } else {
                i.kind == IntentKind::Reserve
            }
    }) else {
        let reason = if retry {
            format!(
                "re-sent purchase of reservation {reservation_id}, which no unanswered purchase intent records"
            )
        } else {
            format!("purchase of reservation {reservation_id}, which no intent records")
        };
        return Err(Error::Executor {
            set: job.set.to_string(),
            reason,
        });
    };
    let previous = run.memory.intents[k].clone();
    let (package, reference) = if retry {
        (
            previous.package.unwrap_or(package),
            previous
                .reference_id
                .clone()
                .unwrap_or_else(|| reference_id(job.uid_prefix, job.now, n)),
        )
    } else {
        (package, reference_id(job.uid_prefix, job.now, n))
    };
    {
        let i = &mut run.memory.intents[k];
        i.kind = IntentKind::Purchase;
        i.package = Some(package);
        i.reference_id = Some(reference.clone());
        i.started = job.now;
    }
    if let Err(e) = log.write_ahead(&run.memory).await {
        run.memory.intents[k] = previous;
        return Err(e);
    }
    let request = purchase_request(job, package, reservation_id, reference);
    run.sent = true;
    match vendor.purchase(&request).await {
        Ok(order_id) => {
            run.memory.intents[k].order_id = Some(order_id);
            run.done.push(Done::Purchased {
                package,
                numbers: numbers.to_vec(),
                order_id,
                reservation_id: reservation_id.clone(),
            });
            Ok(())
        }
        Err(intelepeer::Error::NotAvailable) if retry => {
            // The reservation was already ordered (most likely by the attempt
            // whose answer was lost) or has lapsed. Kept for the inventory to
            // resolve; marked spent so it is not sent again.
            run.memory.intents[k].reserved_until = Some(job.now);
            run.refusals.push(Refusal {
                kind: RefusalKind::PurchaseUnconfirmed,
                message: text::resent_purchase_refused(reservation_id, numbers),
            });
            Ok(())
        }
        Err(intelepeer::Error::NotAvailable) => {
            // First attempt: the reservation no longer holds its numbers:
            // nothing was bought.
            run.memory.intents.remove(k);
            run.refusals.push(Refusal {
                kind: RefusalKind::ReservationLost,
                message: text::reservation_lost(reservation_id, numbers),
            });
            Ok(())
        }
        Err(e) if refused(&e) => {
            // This attempt bought nothing. A first purchase goes back to its
            // reservation for a later attempt (the planner drops it once it
            // expires). A re-sent one stays the Purchase intent as written:
            // the earlier attempt may still have bought the numbers.
            if !retry {
                run.memory.intents[k] = previous;
            }
            Err(vendor_error(job, e))
        }
        Err(e) => {
            // The purchase may have happened: the Purchase intent stays and
            // the inventory decides (the planner may send the same purchase
            // again while the reservation is live: bought at most once).
            run.refusals.push(Refusal {
                kind: RefusalKind::PurchaseUnconfirmed,
                message: text::purchase_unanswered(reservation_id, numbers, retry, &e),
            });
            Err(vendor_error(job, e))
        }
    }
}

/// The purchase of one reservation, with the set's order defaults.
fn purchase_request(
    job: &Job<'_>,
    package: PackageId,
    reservation_id: &ReservationId,
    reference: String,
) -> intelepeer::PurchaseRequest {
    let d = job.order_defaults;
    let mut request = intelepeer::PurchaseRequest::by_reservations(
        [reservation_id.clone()],
        package,
        d.service_area,
    )
    .my_resp_org(d.my_resp_org)
    .reference_id(reference);
    if let Some(email) = &d.email {
        request = request.email(email.clone());
    }
    if let Some(notes) = &d.notes {
        request = request.notes(notes.clone());
    }
    request
}

#[allow(clippy::too_many_arguments)]
async fn change_package<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    run: &mut Executed,
    n: usize,
    package: PackageId,
    numbers: &[E164],
) -> Result<(), Error> {
    let reference = reference_id(job.uid_prefix, job.now, n);
    let mut intent = new_intent(IntentKind::Move, numbers.to_vec(), Some(package), job.now);
    intent.reference_id = Some(reference.clone());
    let k = write_ahead(log, &mut run.memory, intent).await?;
    let d = job.order_defaults;
    let mut request = intelepeer::ChangePackageRequest::new(package, numbers.iter().cloned())
        .reference_id(reference);
    if let Some(email) = &d.email {
        request = request.email(email.clone());
    }
    if let Some(notes) = &d.notes {
        request = request.notes(notes.clone());
    }
    run.sent = true;
    match vendor.change_package(&request).await {
        Ok(order_id) => {
            run.memory.intents[k].order_id = Some(order_id);
            run.done.push(Done::Moved {
                package,
                numbers: numbers.to_vec(),
                order_id,
            });
            Ok(())
        }
        Err(e @ (intelepeer::Error::ConflictingOrder | intelepeer::Error::Conflict { .. })) => {
            run.memory.intents.remove(k);
            run.refusals.push(Refusal {
                kind: RefusalKind::OrderConflict,
                message: text::move_conflict(package, numbers, &e),
            });
            Ok(())
        }
        Err(e) => failed(job, run, k, e),
    }
}

async fn disconnect<V: Vendor, L: IntentLog>(
    vendor: &V,
    log: &mut L,
    job: &Job<'_>,
    run: &mut Executed,
    n: usize,
    numbers: &[E164],
) -> Result<(), Error> {
    let reference = reference_id(job.uid_prefix, job.now, n);
    let mut intent = new_intent(IntentKind::Disconnect, numbers.to_vec(), None, job.now);
    intent.reference_id = Some(reference.clone());
    let k = write_ahead(log, &mut run.memory, intent).await?;
    let d = job.order_defaults;
    let mut request =
        intelepeer::DisconnectRequest::new(numbers.iter().cloned()).reference_id(reference);
    if let Some(email) = &d.email {
        request = request.email(email.clone());
    }
    if let Some(notes) = &d.notes {
        request = request.notes(notes.clone());
    }
    run.sent = true;
    match vendor.disconnect(&request).await {
        Ok(order_id) => {
            run.memory.intents[k].order_id = Some(order_id);
            run.done.push(Done::Disconnected {
                numbers: numbers.to_vec(),
                order_id,
            });
            Ok(())
        }
        Err(intelepeer::Error::AlreadyPendingDisconnect) => {
            // Already leaving: the intent stays until the listing shows them gone.
            run.refusals.push(Refusal {
                kind: RefusalKind::AlreadyDisconnecting,
                message: text::already_disconnecting(numbers),
            });
            Ok(())
        }
        Err(intelepeer::Error::NotAssigned) => {
            run.refusals.push(Refusal {
                kind: RefusalKind::NotAssigned,
                message: text::not_assigned(numbers),
            });
            Ok(())
        }
        Err(e @ (intelepeer::Error::ConflictingOrder | intelepeer::Error::Conflict { .. })) => {
            run.memory.intents.remove(k);
            run.refusals.push(Refusal {
                kind: RefusalKind::OrderConflict,
                message: text::disconnect_conflict(numbers, &e),
            });
            Ok(())
        }
        Err(e) => failed(job, run, k, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{n, npa, pkg, set_id};
    use std::sync::Mutex;

    /// Scripted vendor: answers from queues, records calls in order.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        search: Mutex<Vec<E164>>,
        reserve: Mutex<Vec<Result<Option<Timestamp>, intelepeer::Error>>>,
        order: Mutex<Vec<Result<OrderId, intelepeer::Error>>>,
    }

    impl Fake {
        fn log(&self, s: String) {
            self.calls.lock().expect("lock").push(s);
        }
        fn next_order(&self) -> Result<OrderId, intelepeer::Error> {
            let mut q = self.order.lock().expect("lock");
            if q.is_empty() {
                Ok(OrderId(1))
            } else {
                q.remove(0)
            }
        }
    }

    impl Vendor for Fake {
        async fn search(
            &self,
            _q: &intelepeer::SearchPool,
        ) -> Result<Vec<E164>, intelepeer::Error> {
            self.log("search".into());
            Ok(self.search.lock().expect("lock").clone())
        }
        async fn reserve(
            &self,
            numbers: &[E164],
            _id: &ReservationId,
        ) -> Result<Option<Timestamp>, intelepeer::Error> {
            self.log(format!("reserve {}", numbers.len()));
            let mut q = self.reserve.lock().expect("lock");
            if q.is_empty() { Ok(None) } else { q.remove(0) }
        }
        async fn purchase(
            &self,
            r: &intelepeer::PurchaseRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            let ids: Vec<&str> = r.reservation_ids.iter().map(|i| i.as_str()).collect();
            self.log(format!(
                "purchase {} into {} ref {}",
                ids.join(","),
                r.package_id,
                r.options.reference_id.as_deref().unwrap_or("-")
            ));
            self.next_order()
        }
        async fn change_package(
            &self,
            _r: &intelepeer::ChangePackageRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            self.log("move".into());
            self.next_order()
        }
        async fn disconnect(
            &self,
            _r: &intelepeer::DisconnectRequest,
        ) -> Result<OrderId, intelepeer::Error> {
            self.log("disconnect".into());
            self.next_order()
        }
    }

    /// Records every write-ahead, and which intents it held.
    #[derive(Default)]
    struct Log {
        writes: Vec<Vec<Intent>>,
        fail: bool,
    }

    impl IntentLog for Log {
        async fn write_ahead(&mut self, memory: &Memory) -> Result<(), Error> {
            if self.fail {
                return Err(Error::Executor {
                    set: "t/s".into(),
                    reason: "write failed".into(),
                });
            }
            self.writes.push(memory.intents.clone());
            Ok(())
        }
    }

    fn job<'a>(
        set: &'a SetId,
        defaults: &'a OrderDefaults,
        claimed: &'a BTreeSet<E164>,
    ) -> Job<'a> {
        Job {
            set,
            account: "t/acct",
            uid_prefix: "0123abcd",
            order_defaults: defaults,
            claimed,
            now: "2025-01-01T00:00:00Z".parse().expect("ts"),
        }
    }

    fn ids() -> SetId {
        set_id("t", "s")
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn the_intent_is_written_before_the_vendor_is_called() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let vendor = Fake::default();
        let mut log = Log::default();
        let action = Action::Reserve {
            package: pkg(7),
            numbers: vec![n("+18005550100")],
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            Memory::default(),
        ));
        assert!(out.error.is_none());
        assert_eq!(log.writes.len(), 1);
        let written = &log.writes[0][0];
        assert_eq!(written.kind, IntentKind::Reserve);
        let rid = written
            .reservation_id
            .as_ref()
            .expect("reservation id")
            .as_str()
            .to_owned();
        assert_eq!(rid, rid.to_uppercase(), "upper-case UUID");
        assert_eq!(rid.len(), 36);
        assert_eq!(out.memory.intents.len(), 1);
        assert!(out.sent);
    }

    #[test]
    fn a_failed_write_ahead_calls_nothing() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let vendor = Fake::default();
        let mut log = Log {
            fail: true,
            ..Log::default()
        };
        let action = Action::Move {
            package: pkg(7),
            numbers: vec![n("+18005550100")],
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            Memory::default(),
        ));
        assert!(out.error.is_some());
        assert!(vendor.calls.lock().expect("lock").is_empty());
        assert!(out.memory.intents.is_empty());
        assert!(!out.sent);
    }

    #[test]
    fn an_unavailable_declared_number_is_remembered_and_its_intent_dropped() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let vendor = Fake::default();
        vendor
            .reserve
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::NotAvailable));
        let mut log = Log::default();
        let actions = [
            Action::Reserve {
                package: pkg(7),
                numbers: vec![n("+18005550100")],
            },
            Action::Move {
                package: pkg(7),
                numbers: vec![n("+18005550101")],
            },
        ];
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &actions,
            Memory::default(),
        ));
        assert!(
            out.error.is_none(),
            "a handled refusal does not stop the plan"
        );
        assert!(out.memory.unavailable.contains_key(&n("+18005550100")));
        assert_eq!(out.memory.intents.len(), 1);
        assert_eq!(out.memory.intents[0].kind, IntentKind::Move);
        assert_eq!(out.refusals[0].kind, RefusalKind::NumberUnavailable);
        assert_eq!(*vendor.calls.lock().expect("lock"), ["reserve 1", "move"]);
    }

    fn reserved(rid: &ReservationId) -> Memory {
        let mut memory = Memory::default();
        let mut i = new_intent(
            IntentKind::Reserve,
            vec![n("+18885550100")],
            Some(pkg(7)),
            Timestamp::UNIX_EPOCH,
        );
        i.reservation_id = Some(rid.clone());
        memory.intents.push(i);
        memory
    }

    #[test]
    fn a_purchase_turns_the_reservation_into_a_purchase_intent_with_its_order() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor.order.lock().expect("lock").push(Ok(OrderId(42)));
        let mut log = Log::default();
        let action = Action::Purchase {
            package: pkg(7),
            reservation_id: rid.clone(),
            numbers: vec![n("+18885550100")],
            retry: false,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            reserved(&rid),
        ));
        assert!(out.error.is_none());
        assert_eq!(
            log.writes[0][0].kind,
            IntentKind::Purchase,
            "written before the call"
        );
        assert!(
            log.writes[0][0]
                .reference_id
                .as_deref()
                .is_some_and(|r| r.starts_with("tfns-0123abcd-"))
        );
        let i = &out.memory.intents[0];
        assert_eq!(
            (i.kind, i.order_id),
            (IntentKind::Purchase, Some(OrderId(42)))
        );
        assert!(matches!(
            &out.done[0],
            Done::Purchased {
                order_id: OrderId(42),
                ..
            }
        ));
    }

    #[test]
    fn a_refused_purchase_keeps_the_reservation_and_fails() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor
            .order
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::TrialLimitRealized { limit: 5 }));
        let mut log = Log::default();
        let action = Action::Purchase {
            package: pkg(7),
            reservation_id: rid.clone(),
            numbers: vec![n("+18885550100")],
            retry: false,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            reserved(&rid),
        ));
        let e = out.error.expect("fails");
        assert!(matches!(
            e.vendor_source(),
            Some(intelepeer::Error::TrialLimitRealized { limit: 5 })
        ));
        assert_eq!(
            out.memory,
            reserved(&rid),
            "back to the reservation: nothing was bought"
        );
    }

    #[test]
    fn an_unanswered_purchase_stays_in_flight_for_the_inventory_to_decide() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor
            .order
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::Timeout {
                after: std::time::Duration::from_secs(30),
            }));
        let mut log = Log::default();
        let action = Action::Purchase {
            package: pkg(7),
            reservation_id: rid.clone(),
            numbers: vec![n("+18885550100")],
            retry: false,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            reserved(&rid),
        ));
        assert!(out.error.is_some());
        assert_eq!(out.memory.intents[0].kind, IntentKind::Purchase);
        assert_eq!(out.memory.intents[0].order_id, None);
        assert_eq!(out.refusals[0].kind, RefusalKind::PurchaseUnconfirmed);
    }

    /// A Purchase intent whose answer was never recorded, last sent at the
    /// epoch, its reservation live until 2025-01-01T00:30:00Z.
    fn unanswered(rid: &ReservationId) -> Memory {
        let mut memory = reserved(rid);
        let i = &mut memory.intents[0];
        i.kind = IntentKind::Purchase;
        i.reference_id = Some("tfns-0123abcd-1".into());
        i.reserved_until = Some("2025-01-01T00:30:00Z".parse().expect("ts"));
        memory
    }

    fn resend(rid: &ReservationId) -> Action {
        Action::Purchase {
            package: pkg(7),
            reservation_id: rid.clone(),
            numbers: vec![n("+18885550100")],
            retry: true,
        }
    }

    #[test]
    fn a_resent_purchase_is_the_same_purchase_written_ahead_with_its_attempt_time() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor.order.lock().expect("lock").push(Ok(OrderId(42)));
        let mut log = Log::default();
        let job = job(&set, &d, &claimed);
        let out = run(execute(
            &vendor,
            &mut log,
            &job,
            &[resend(&rid)],
            unanswered(&rid),
        ));
        assert!(out.error.is_none());
        assert_eq!(
            *vendor.calls.lock().expect("lock"),
            [format!("purchase {rid} into 7 ref tfns-0123abcd-1")],
            "same reservation, package and referenceID"
        );
        let written = &log.writes[0][0];
        assert_eq!(
            written.started, job.now,
            "attempt time written before the call"
        );
        assert_eq!(written.order_id, None);
        let i = &out.memory.intents[0];
        assert_eq!(
            (i.kind, i.order_id, i.reference_id.as_deref()),
            (
                IntentKind::Purchase,
                Some(OrderId(42)),
                Some("tfns-0123abcd-1")
            )
        );
        assert!(matches!(
            &out.done[0],
            Done::Purchased {
                order_id: OrderId(42),
                ..
            }
        ));
    }

    #[test]
    fn a_resent_purchase_refused_as_not_available_keeps_the_intent_and_reserves_nothing() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor
            .order
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::NotAvailable));
        let mut log = Log::default();
        let job = job(&set, &d, &claimed);
        let out = run(execute(
            &vendor,
            &mut log,
            &job,
            &[resend(&rid)],
            unanswered(&rid),
        ));
        assert!(out.error.is_none(), "handled: the inventory decides");
        assert_eq!(out.memory.intents.len(), 1, "never dropped");
        let i = &out.memory.intents[0];
        assert_eq!((i.kind, i.order_id), (IntentKind::Purchase, None));
        assert_eq!(i.started, job.now);
        assert_eq!(
            i.reserved_until,
            Some(job.now),
            "the reservation is spent: not sent again"
        );
        assert!(out.memory.unavailable.is_empty());
        assert_eq!(out.refusals[0].kind, RefusalKind::PurchaseUnconfirmed);
        assert!(
            out.refusals[0].message.contains("never reserved again"),
            "{}",
            out.refusals[0].message
        );
        assert_eq!(vendor.calls.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_first_purchase_refused_as_not_available_drops_the_intent() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor
            .order
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::NotAvailable));
        let mut log = Log::default();
        let action = Action::Purchase {
            package: pkg(7),
            reservation_id: rid.clone(),
            numbers: vec![n("+18885550100")],
            retry: false,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            reserved(&rid),
        ));
        assert!(out.error.is_none());
        assert!(out.memory.intents.is_empty());
        assert_eq!(out.refusals[0].kind, RefusalKind::ReservationLost);
    }

    #[test]
    fn a_resent_purchase_refused_otherwise_stays_a_purchase_intent() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        vendor
            .order
            .lock()
            .expect("lock")
            .push(Err(intelepeer::Error::RateLimited { retry_after: None }));
        let mut log = Log::default();
        let job = job(&set, &d, &claimed);
        let out = run(execute(
            &vendor,
            &mut log,
            &job,
            &[resend(&rid)],
            unanswered(&rid),
        ));
        assert!(out.error.is_some(), "backs off");
        let i = &out.memory.intents[0];
        assert_eq!((i.kind, i.order_id), (IntentKind::Purchase, None));
        assert_eq!(i.started, job.now);
    }

    #[test]
    fn a_resent_purchase_without_its_intent_calls_nothing() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let rid = fresh_reservation_id(&set).expect("rid");
        let vendor = Fake::default();
        let mut log = Log::default();
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[resend(&rid)],
            reserved(&rid),
        ));
        assert!(out.error.is_some());
        assert!(vendor.calls.lock().expect("lock").is_empty());
        assert!(log.writes.is_empty());
    }

    #[test]
    fn acquire_skips_claimed_numbers_and_reserves_the_rest() {
        let (set, d) = (ids(), OrderDefaults::default());
        let claimed: BTreeSet<E164> = [n("+18885550100")].into();
        let vendor = Fake::default();
        *vendor.search.lock().expect("lock") =
            vec![n("+18885550100"), n("+18885550101"), n("+18885550102")];
        let mut log = Log::default();
        let action = Action::Acquire {
            package: pkg(7),
            count: 2,
            filter: Match::Npa(vec![npa(888)]),
            sequential: false,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            Memory::default(),
        ));
        assert!(out.error.is_none());
        let i = &out.memory.intents[0];
        assert_eq!(i.numbers, [n("+18885550101"), n("+18885550102")]);
        assert!(i.acquired);
        assert_eq!(*vendor.calls.lock().expect("lock"), ["search", "reserve 2"]);
    }

    #[test]
    fn an_empty_pool_is_reported_not_failed() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let vendor = Fake::default();
        let mut log = Log::default();
        let action = Action::Acquire {
            package: pkg(7),
            count: 2,
            filter: Match::Like("+1888".into()),
            sequential: true,
        };
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &[action],
            Memory::default(),
        ));
        assert!(out.error.is_none());
        assert_eq!(out.refusals[0].kind, RefusalKind::PoolExhausted);
        assert!(out.memory.intents.is_empty());
        assert!(!out.sent);
    }

    #[test]
    fn disconnect_conflicts_are_recorded_without_resending() {
        let (set, d, claimed) = (ids(), OrderDefaults::default(), BTreeSet::new());
        let vendor = Fake::default();
        vendor.order.lock().expect("lock").extend([
            Err(intelepeer::Error::AlreadyPendingDisconnect),
            Err(intelepeer::Error::ConflictingOrder),
        ]);
        let mut log = Log::default();
        let actions = [
            Action::Disconnect {
                numbers: vec![n("+18005550100")],
            },
            Action::Disconnect {
                numbers: vec![n("+18005550101")],
            },
        ];
        let out = run(execute(
            &vendor,
            &mut log,
            &job(&set, &d, &claimed),
            &actions,
            Memory::default(),
        ));
        assert!(out.error.is_none());
        let kinds: Vec<RefusalKind> = out.refusals.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RefusalKind::AlreadyDisconnecting,
                RefusalKind::OrderConflict
            ]
        );
        assert_eq!(
            out.memory.intents.len(),
            1,
            "pending disconnect kept, conflict dropped"
        );
        assert_eq!(out.memory.intents[0].numbers, [n("+18005550100")]);
    }

    #[test]
    fn refusals_and_silences_are_told_apart() {
        assert!(refused(&intelepeer::Error::Unauthorized));
        assert!(refused(&intelepeer::Error::RateLimited {
            retry_after: None
        }));
        assert!(refused(&intelepeer::Error::Server {
            status: 503,
            message: String::new()
        }));
        assert!(!refused(&intelepeer::Error::Server {
            status: 500,
            message: String::new()
        }));
        assert!(!refused(&intelepeer::Error::Timeout {
            after: std::time::Duration::from_secs(1)
        }));
    }

    #[test]
    fn pool_queries_ask_for_enough_and_picks_keep_runs_whole() {
        let claimed: BTreeSet<E164> = [n("+18885550101"), n("+18005550100")].into();
        let npa888 = Match::Npa(vec![npa(888)]);
        let q = pool_query(&npa888, 2, false, &claimed);
        assert_eq!(q.page_size, Some(3), "one claimed 888 number may come back");
        let q = pool_query(&npa888, 200, false, &claimed);
        assert_eq!(q.page_size, Some(100));
        let q = pool_query(&npa888, 3, true, &claimed);
        assert_eq!((q.page_size, q.sequential), (Some(3), Some(true)));

        let found = [n("+18885550100"), n("+18885550101"), n("+18885550102")];
        assert!(
            pick(&found, 3, true, &claimed).is_empty(),
            "a claimed number breaks the run"
        );
        assert_eq!(
            pick(&found, 2, false, &claimed),
            [n("+18885550100"), n("+18885550102")]
        );
        assert!(
            pick(&found[..2], 3, true, &BTreeSet::new()).is_empty(),
            "too short a run"
        );
    }

    #[test]
    fn only_refusals_that_contradict_the_listing_disprove_the_inventory() {
        use RefusalKind::*;
        let disproving: Vec<RefusalKind> = [
            NumberUnavailable,
            PoolExhausted,
            ReservationLost,
            PurchaseUnconfirmed,
            OrderConflict,
            AlreadyDisconnecting,
            NotAssigned,
        ]
        .into_iter()
        .filter(|k| k.disproves_inventory())
        .collect();
        assert_eq!(
            disproving,
            [OrderConflict, AlreadyDisconnecting, NotAssigned]
        );
        assert_eq!(AlreadyDisconnecting.as_str(), "AlreadyDisconnecting");
    }
}
