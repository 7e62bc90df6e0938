//! Property tests: random accounts and sets over a small number universe (so
//! claims collide), a model vendor, and an executor that applies plans the way
//! the operator does — write-ahead intents, vendor calls, answers recorded —
//! with crashes between intent and call (purchases included: the planner
//! sends the same purchase again), lost answers, and lost answers of
//! purchases whose order completes late (the re-sent purchase meets a
//! consumed reservation).
//!
//! Checked in every plan: limits hold; only owned numbers are disconnected,
//! only owned numbers are moved, purchases only name recorded reservations
//! (a re-sent purchase: an unanswered Purchase intent whose reservation is
//! live and whose numbers are not in the inventory); the plan does not depend
//! on the order of the sets (hash included); its vendor calls
//! (`batches`) carry every action exactly once, in execution order.
//! The listing sometimes lies: it says it is complete but omits owned numbers
//! (a vendor that lists by accident); the planner must then hold them
//! `Missing`, never buy them again.
//!
//! Checked by the vendor: no number is ever sold twice or sold while owned;
//! like the simulator, it refuses to purchase a reservation that was already
//! ordered, has expired or never existed ("Number(s) not available").
//! Checked at the end (all-Auto, generous limits): every set converged to an
//! empty plan with no intents, and no set bought more than it needs.

mod fixtures;

use std::collections::{BTreeMap, BTreeSet};

use fixtures::*;
use intelepeer::{E164, OrderId, PackageId, ReservationId};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tollfree_plan::*;

const STEP: SignedDuration = SignedDuration::from_mins(10);
const RESERVATION_LIFETIME: SignedDuration = SignedDuration::from_mins(30);

/// The number universe: the first `HOT` of each NPA are where declarations and
/// the initial inventory come from (collisions), the rest feed acquisitions.
const PER_NPA: u64 = 40;
const HOT: u64 = 8;

fn universe(k: u64) -> E164 {
    let (npa, i) = if k < PER_NPA {
        (800, k)
    } else {
        (888, k - PER_NPA)
    };
    E164::parse(&format!("+1{npa}5550{:03}", 100 + i)).expect("universe number")
}

fn hot(k: u64) -> E164 {
    universe(if k < HOT {
        k
    } else {
        PER_NPA + (k - HOT) % HOT
    })
}

// ------------------------------------------------------------ model vendor

#[derive(Debug, Clone)]
enum Pending {
    Purchase {
        numbers: Vec<E164>,
        package: PackageId,
    },
    Move {
        numbers: Vec<E164>,
        package: PackageId,
    },
    Disconnect {
        numbers: Vec<E164>,
    },
}

#[derive(Debug, Default)]
struct Vendor {
    now: Option<Timestamp>,
    inventory: BTreeMap<E164, PackageId>,
    pool: BTreeSet<E164>,
    /// Live reservations; an ordered or expired one is removed.
    reservations: BTreeMap<String, (Vec<E164>, Timestamp)>,
    /// Orders, with how many more steps each takes to complete.
    pending: Vec<(u32, Pending)>,
    pending_disconnect: BTreeSet<E164>,
    sold: BTreeSet<E164>,
    next_order: u64,
}

#[derive(Debug)]
enum Refused {
    NotAvailable,
    Other,
}

impl Vendor {
    fn now(&self) -> Timestamp {
        self.now.unwrap_or(BASE)
    }

    fn order(&mut self, pending: Pending) -> OrderId {
        self.next_order += 1;
        self.pending.push((0, pending));
        OrderId(800_000 + self.next_order)
    }

    /// The last order completes one step later than usual.
    fn slow_down_last_order(&mut self) {
        if let Some((delay, _)) = self.pending.last_mut() {
            *delay += 1;
        }
    }

    /// Orders complete, reservations expire, time passes.
    fn step(&mut self) -> Result<(), TestCaseError> {
        for (delay, p) in std::mem::take(&mut self.pending) {
            if delay > 0 {
                self.pending.push((delay - 1, p));
                continue;
            }
            match p {
                Pending::Purchase { numbers, package } => {
                    for n in numbers {
                        prop_assert!(
                            !self.inventory.contains_key(&n),
                            "sold {n}, which the account already owns"
                        );
                        prop_assert!(self.sold.insert(n.clone()), "sold {n} twice");
                        self.inventory.insert(n, package);
                    }
                }
                Pending::Move { numbers, package } => {
                    for n in numbers {
                        if let Some(p) = self.inventory.get_mut(&n) {
                            *p = package;
                        }
                    }
                }
                Pending::Disconnect { numbers } => {
                    for n in numbers {
                        self.inventory.remove(&n);
                        self.pending_disconnect.remove(&n);
                        // Aging: never available again.
                    }
                }
            }
        }
        self.now = Some(self.now().checked_add(STEP).expect("time"));
        let now = self.now();
        let expired: Vec<String> = self
            .reservations
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            if let Some((numbers, _)) = self.reservations.remove(&k) {
                self.pool.extend(numbers);
            }
        }
        Ok(())
    }

    fn search(&self, filter: &Match, count: u32, exclude: &BTreeSet<E164>) -> Vec<E164> {
        self.pool
            .iter()
            .filter(|n| filter.matches(n) && !exclude.contains(*n))
            .take(count as usize)
            .cloned()
            .collect()
    }

    fn reserve(&mut self, numbers: &[E164], id: &ReservationId) -> Result<Timestamp, Refused> {
        if numbers.is_empty() || !numbers.iter().all(|n| self.pool.contains(n)) {
            return Err(Refused::NotAvailable);
        }
        for n in numbers {
            self.pool.remove(n);
        }
        let until = self.now().checked_add(RESERVATION_LIFETIME).expect("time");
        self.reservations
            .insert(id.as_str().to_owned(), (numbers.to_vec(), until));
        Ok(until)
    }

    /// Purchases a live reservation, at most once: an ordered, expired or
    /// unknown reservation is "Number(s) not available" (as the simulator answers).
    fn purchase(
        &mut self,
        id: &ReservationId,
        package: PackageId,
    ) -> Result<(Vec<E164>, OrderId), Refused> {
        let Some((numbers, _)) = self.reservations.remove(id.as_str()) else {
            return Err(Refused::NotAvailable);
        };
        let order = self.order(Pending::Purchase {
            numbers: numbers.clone(),
            package,
        });
        Ok((numbers, order))
    }

    fn change_package(&mut self, numbers: &[E164], package: PackageId) -> Result<OrderId, Refused> {
        if !numbers.iter().all(|n| self.inventory.contains_key(n)) {
            return Err(Refused::Other);
        }
        Ok(self.order(Pending::Move {
            numbers: numbers.to_vec(),
            package,
        }))
    }

    fn disconnect(&mut self, numbers: &[E164]) -> Result<OrderId, Refused> {
        if !numbers
            .iter()
            .all(|n| self.inventory.contains_key(n) && !self.pending_disconnect.contains(n))
        {
            return Err(Refused::Other);
        }
        self.pending_disconnect.extend(numbers.iter().cloned());
        Ok(self.order(Pending::Disconnect {
            numbers: numbers.to_vec(),
        }))
    }

    fn listing(&self) -> Inventory {
        Inventory {
            complete: true,
            taken_at: self.now(),
            coverage: Coverage {
                full: Some(self.now()),
                ..Coverage::default()
            },
            numbers: self
                .inventory
                .iter()
                .map(|(n, p)| {
                    (
                        n.clone(),
                        Owned {
                            package: *p,
                            order_id: None,
                        },
                    )
                })
                .collect(),
        }
    }
}

// ------------------------------------------------------------ the operator model

/// What goes wrong around one vendor call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The intent is recorded, then the process dies before the call.
    CrashBeforeCall,
    /// The call happens, the answer is lost (the reconcile goes on).
    LoseAnswer,
    /// Like `LoseAnswer`, and a purchase order completes a sync late: the
    /// next plan sees neither an order ID nor the numbers.
    LoseAnswerSlowOrder,
}

struct Operator {
    vendor: Vendor,
    sets: Vec<SetInput>,
    last_good: Option<usize>,
    /// Numbers bought per set: (declared, acquired).
    bought: BTreeMap<SetId, (usize, usize)>,
    /// Which set made which reservation, and whether for an acquire request.
    reservations: BTreeMap<String, (SetId, bool)>,
    next_reservation: u64,
    faults: Vec<Fault>,
    fault_cursor: usize,
    faults_on: bool,
    syncs: usize,
    /// Every so many syncs the listing is incomplete and missing half its numbers.
    incomplete_every: Option<usize>,
    /// Every so many syncs the listing claims to be complete but omits up to
    /// two numbers some set owns (a vendor that lists by accident).
    omit_every: Option<usize>,
}

impl Operator {
    fn fault(&mut self) -> Fault {
        if !self.faults_on || self.faults.is_empty() {
            return Fault::None;
        }
        self.fault_cursor += 1;
        self.faults[self.fault_cursor % self.faults.len()]
    }

    fn input(&self, now: Timestamp, inventory: &Inventory) -> PlanInput {
        PlanInput {
            now,
            sets: self.sets.clone(),
            inventory: inventory.clone(),
            last_good_count: self.last_good,
            confirmed_count: None,
        }
    }

    /// One reconcile of set `i`. Returns whether the set may be forgotten (released).
    fn reconcile(&mut self, i: usize, inventory: &Inventory) -> Result<bool, TestCaseError> {
        let now = self.vendor.now();
        let input = self.input(now, inventory);
        let plan = plan(&input);
        check_plan(&input, &plan)?;
        self.last_good = plan.trusted_count;
        let id = self.sets[i].id.clone();
        let set_plan =
            plan_one(&input, &id).ok_or_else(|| TestCaseError::fail("set missing from plan"))?;
        prop_assert_eq!(plan.sets.iter().find(|s| s.id == id), Some(&set_plan));
        let mut memory = set_plan.memory.clone();
        let claimed = claimed_numbers(&input);

        'actions: for action in &set_plan.actions {
            let fault = self.fault();
            match action {
                Action::Reserve {
                    package,
                    numbers,
                    proves,
                } => {
                    // A proof reserves for the same use as the purchase it proves.
                    let proved = proves.as_ref().and_then(|r| {
                        memory.intents.iter().position(|x| {
                            x.kind == IntentKind::Purchase && x.reservation_id.as_ref() == Some(r)
                        })
                    });
                    if proves.is_some() && proved.is_none() {
                        return Err(TestCaseError::fail("proof of a purchase no intent records"));
                    }
                    let for_acquire = proved.is_some_and(|k| memory.intents[k].acquired);
                    let rid = self.fresh_reservation(&id, for_acquire);
                    memory.intents.push(Intent {
                        kind: IntentKind::Reserve,
                        numbers: numbers.clone(),
                        package: Some(*package),
                        reservation_id: Some(rid.clone()),
                        reserved_until: None,
                        reference_id: None,
                        order_id: None,
                        acquired: for_acquire,
                        started: now,
                        refused: None,
                    });
                    if fault == Fault::CrashBeforeCall {
                        break 'actions;
                    }
                    match self.vendor.reserve(numbers, &rid) {
                        Ok(until) => {
                            if fault == Fault::None
                                && let Some(x) = memory.intents.last_mut()
                            {
                                x.reserved_until = Some(until);
                            }
                            // Reserved: nobody owned or had ordered them, so
                            // the proved purchase bought nothing.
                            if let Some(k) = proved {
                                memory.intents.remove(k);
                            }
                        }
                        Err(_) => {
                            memory.intents.pop();
                            match proved {
                                Some(k) => memory.intents[k].refused = Some(now),
                                None => {
                                    for n in numbers {
                                        memory.unavailable.insert(n.clone(), now);
                                    }
                                }
                            }
                        }
                    }
                }
                Action::Acquire {
                    package,
                    count,
                    filter,
                    ..
                } => {
                    let mut exclude = claimed.clone();
                    for s in &self.sets {
                        exclude.extend(s.memory.intents.iter().flat_map(|x| x.numbers.clone()));
                    }
                    exclude.extend(memory.intents.iter().flat_map(|x| x.numbers.clone()));
                    let picks = self.vendor.search(filter, *count, &exclude);
                    if picks.is_empty() {
                        continue;
                    }
                    let rid = self.fresh_reservation(&id, true);
                    memory.intents.push(Intent {
                        kind: IntentKind::Reserve,
                        numbers: picks.clone(),
                        package: Some(*package),
                        reservation_id: Some(rid.clone()),
                        reserved_until: None,
                        reference_id: None,
                        order_id: None,
                        acquired: true,
                        started: now,
                        refused: None,
                    });
                    if fault == Fault::CrashBeforeCall {
                        break 'actions;
                    }
                    match self.vendor.reserve(&picks, &rid) {
                        Ok(until) if fault == Fault::None => {
                            if let Some(x) = memory.intents.last_mut() {
                                x.reserved_until = Some(until);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => {
                            memory.intents.pop();
                        }
                    }
                }
                Action::Purchase {
                    package,
                    reservation_id,
                    retry,
                    ..
                } => {
                    // The intent the purchase is written ahead into: the
                    // Reserve intent turns into a Purchase intent; a re-sent
                    // purchase reuses its unanswered Purchase intent.
                    let recorded = if *retry {
                        IntentKind::Purchase
                    } else {
                        IntentKind::Reserve
                    };
                    let Some(k) = memory.intents.iter().position(|x| {
                        x.kind == recorded
                            && x.order_id.is_none()
                            && x.reservation_id.as_ref() == Some(reservation_id)
                    }) else {
                        return Err(TestCaseError::fail(format!(
                            "purchase (retry: {retry}) of unrecorded reservation {reservation_id}"
                        )));
                    };
                    let x = &mut memory.intents[k];
                    x.kind = IntentKind::Purchase;
                    x.package = Some(*package);
                    if x.reference_id.is_none() {
                        x.reference_id = Some(format!("ref-{reservation_id}"));
                    }
                    x.started = now;
                    // A crash before the call leaves an unanswered Purchase
                    // intent, which the planner sends again while the
                    // reservation is live. The model allows it when the
                    // reservation outlives the next sync (each sync is
                    // STEP later, so the retry has a chance); otherwise the
                    // call is made and its answer lost.
                    let retry_possible = x
                        .reserved_until
                        .is_some_and(|u| now.checked_add(STEP).is_ok_and(|next| next < u));
                    if fault == Fault::CrashBeforeCall && retry_possible {
                        break 'actions;
                    }
                    match self.vendor.purchase(reservation_id, *package) {
                        Ok((numbers, order)) => {
                            let (owner, for_acquire) = self
                                .reservations
                                .get(reservation_id.as_str())
                                .cloned()
                                .ok_or_else(|| TestCaseError::fail("unknown reservation"))?;
                            prop_assert_eq!(&owner, &id);
                            let entry = self.bought.entry(owner).or_default();
                            if for_acquire {
                                entry.1 += numbers.len();
                            } else {
                                entry.0 += numbers.len();
                            }
                            match fault {
                                Fault::None => memory.intents[k].order_id = Some(order),
                                Fault::LoseAnswerSlowOrder => self.vendor.slow_down_last_order(),
                                Fault::CrashBeforeCall | Fault::LoseAnswer => {}
                            }
                        }
                        Err(Refused::NotAvailable) if *retry => {
                            // The earlier attempt bought it (or the
                            // reservation lapsed): kept for the inventory
                            // or a proof reservation to resolve.
                            memory.intents[k].refused = Some(now);
                        }
                        Err(Refused::NotAvailable) => {
                            memory.intents.remove(k);
                        }
                        Err(Refused::Other) => {
                            return Err(TestCaseError::fail(
                                "the model refuses purchases only as not available",
                            ));
                        }
                    }
                }
                Action::Move { package, numbers } => {
                    memory.intents.push(Intent {
                        kind: IntentKind::Move,
                        numbers: numbers.clone(),
                        package: Some(*package),
                        reservation_id: None,
                        reserved_until: None,
                        reference_id: Some("move".into()),
                        order_id: None,
                        acquired: false,
                        started: now,
                        refused: None,
                    });
                    if fault == Fault::CrashBeforeCall {
                        break 'actions;
                    }
                    match self.vendor.change_package(numbers, *package) {
                        Ok(order) if fault == Fault::None => {
                            if let Some(x) = memory.intents.last_mut() {
                                x.order_id = Some(order);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => {
                            memory.intents.pop();
                        }
                    }
                }
                Action::Disconnect { numbers } => {
                    memory.intents.push(Intent {
                        kind: IntentKind::Disconnect,
                        numbers: numbers.clone(),
                        package: None,
                        reservation_id: None,
                        reserved_until: None,
                        reference_id: Some("disconnect".into()),
                        order_id: None,
                        acquired: false,
                        started: now,
                        refused: None,
                    });
                    // Never re-sent: a crash before the call would strand it
                    // for a person, so crashes here are lost answers.
                    match self.vendor.disconnect(numbers) {
                        Ok(order) if fault == Fault::None => {
                            if let Some(x) = memory.intents.last_mut() {
                                x.order_id = Some(order);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => {
                            memory.intents.pop();
                        }
                    }
                }
            }
        }
        self.sets[i].memory = memory;
        Ok(set_plan.release)
    }

    fn fresh_reservation(&mut self, owner: &SetId, for_acquire: bool) -> ReservationId {
        self.next_reservation += 1;
        let rid = ReservationId::parse(&format!("R-{:08}", self.next_reservation))
            .expect("reservation id");
        self.reservations
            .insert(rid.as_str().to_owned(), (owner.clone(), for_acquire));
        rid
    }

    /// One sync of every set, in the given order.
    fn sync(&mut self, order: &[usize]) -> Result<(), TestCaseError> {
        self.vendor.step()?;
        self.syncs += 1;
        let mut inventory = self.vendor.listing();
        if self
            .incomplete_every
            .is_some_and(|k| self.syncs.is_multiple_of(k))
        {
            inventory.complete = false;
            let dropped: Vec<E164> = inventory.numbers.keys().step_by(2).cloned().collect();
            for n in dropped {
                inventory.numbers.remove(&n);
            }
        } else if self
            .omit_every
            .is_some_and(|k| self.syncs.is_multiple_of(k))
        {
            // Still "complete": the vendor does not say it left them out.
            let owned: BTreeSet<E164> = self
                .sets
                .iter()
                .flat_map(|s| s.memory.owned.keys().cloned())
                .collect();
            let omitted: Vec<E164> = inventory
                .numbers
                .keys()
                .filter(|n| owned.contains(*n))
                .take(2)
                .cloned()
                .collect();
            for n in omitted {
                inventory.numbers.remove(&n);
            }
        }
        let ids: Vec<SetId> = order
            .iter()
            .filter_map(|&k| {
                self.sets
                    .get(k % self.sets.len().max(1))
                    .map(|s| s.id.clone())
            })
            .collect();
        let mut seen = BTreeSet::new();
        for id in ids {
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(i) = self.sets.iter().position(|s| s.id == id) else {
                continue;
            };
            if self.reconcile(i, &inventory)? {
                self.sets.remove(i);
            }
        }
        // Sets the order skipped still reconcile (the controller visits all).
        let rest: Vec<SetId> = self
            .sets
            .iter()
            .map(|s| s.id.clone())
            .filter(|id| !seen.contains(id))
            .collect();
        for id in rest {
            if let Some(i) = self.sets.iter().position(|s| s.id == id)
                && self.reconcile(i, &inventory)?
            {
                self.sets.remove(i);
            }
        }
        Ok(())
    }
}

/// Invariants of every plan.
/// The calls the operator makes of a plan ([`batches`]): every action of
/// every set in exactly one call (a merged Move or Disconnect possibly split
/// across calls, its numbers adding up), each call of one kind and one
/// package, at most [`BATCH_LIMIT`] numbers, kinds in execution order.
fn check_batches(input: &PlanInput, plan: &Plan) -> Result<(), TestCaseError> {
    type Share = BTreeMap<(SetId, BatchKind), (usize, Vec<E164>)>;
    let mut planned: Share = BTreeMap::new();
    for sp in &plan.sets {
        for a in &sp.actions {
            let e = planned
                .entry((sp.id.clone(), BatchKind::of(a)))
                .or_default();
            e.0 += 1;
            e.1.extend(a.numbers().iter().cloned());
        }
    }
    let calls = batches(&plan.sets, &input.sets);
    let mut called: Share = BTreeMap::new();
    for call in &calls {
        prop_assert!(!call.parts.is_empty(), "an empty call");
        prop_assert!(
            call.numbers().count() <= BATCH_LIMIT,
            "a call of {} numbers",
            call.numbers().count()
        );
        for part in &call.parts {
            prop_assert_eq!(BatchKind::of(&part.action), call.kind);
        }
        let packages: BTreeSet<Option<PackageId>> =
            call.parts.iter().map(|p| p.action.package()).collect();
        prop_assert_eq!(packages.len(), 1, "one package per call: {:?}", call);
        for part in &call.parts {
            let e = called.entry((part.set.clone(), call.kind)).or_default();
            e.1.extend(part.action.numbers().iter().cloned());
        }
    }
    prop_assert!(
        calls.windows(2).all(|w| w[0].kind <= w[1].kind),
        "calls not in execution order: {:?}",
        calls.iter().map(|c| c.kind).collect::<Vec<_>>()
    );
    for ((set, kind), (count, mut numbers)) in planned {
        let (_, mut got) = called.remove(&(set.clone(), kind)).unwrap_or_default();
        numbers.sort();
        got.sort();
        prop_assert_eq!(
            &got,
            &numbers,
            "{} {:?}: the calls name other numbers",
            set,
            kind
        );
        if kind == BatchKind::Acquire || kind == BatchKind::Reserve {
            let calls_of_set = calls
                .iter()
                .filter(|c| c.kind == kind && c.parts.iter().any(|p| p.set == set))
                .count();
            prop_assert_eq!(
                calls_of_set,
                count,
                "{} {:?}: one call per action",
                set,
                kind
            );
        }
    }
    prop_assert!(called.is_empty(), "calls for no action: {:?}", called);
    Ok(())
}

fn check_plan(input: &PlanInput, plan: &Plan) -> Result<(), TestCaseError> {
    // Order independence, hash included.
    let mut reversed = input.clone();
    reversed.sets.reverse();
    prop_assert_eq!(
        plan,
        &tollfree_plan::plan(&reversed),
        "plan depends on set order"
    );

    let ids: Vec<&SetId> = plan.sets.iter().map(|s| &s.id).collect();
    prop_assert!(ids.windows(2).all(|w| w[0] <= w[1]), "sets not sorted");

    check_batches(input, plan)?;

    // Numbers some set records as owned, except those a person confirmed gone
    // (`forget_missing` with the hash its status showed).
    let recorded_owned: BTreeSet<&E164> = input
        .sets
        .iter()
        .flat_map(|s| {
            let confirmed = !s.memory.missing.is_empty()
                && s.forget_missing.as_deref() == Some(missing_hash(&s.memory.missing).as_str());
            s.memory
                .owned
                .keys()
                .filter(move |n| !(confirmed && s.memory.missing.contains_key(*n)))
        })
        .collect();
    for sp in &plan.sets {
        let set = input
            .sets
            .iter()
            .find(|s| s.id == sp.id)
            .ok_or_else(|| TestCaseError::fail("plan for unknown set"))?;
        let declared_by_others: BTreeSet<&E164> = input
            .sets
            .iter()
            .filter(|s| s.id != set.id && !s.deleting)
            .flat_map(|s| s.packages.iter().flat_map(|p| &p.numbers))
            .collect();
        let mut purchases = 0u64;
        let mut disconnects = 0u64;
        for action in &sp.actions {
            prop_assert!(action.numbers().len() <= BATCH_LIMIT);
            match action {
                Action::Reserve {
                    numbers, proves, ..
                } => {
                    match proves {
                        None => purchases += numbers.len() as u64,
                        Some(r) => prop_assert!(
                            set.memory
                                .intents
                                .iter()
                                .any(|x| x.kind == IntentKind::Purchase
                                    && x.order_id.is_none()
                                    && x.reservation_id.as_ref() == Some(r)
                                    && &x.numbers == numbers),
                            "proof of a purchase no unanswered intent records"
                        ),
                    }
                    for n in numbers {
                        prop_assert!(
                            !input.inventory.numbers.contains_key(n),
                            "reserve of owned {n}"
                        );
                        prop_assert!(
                            !recorded_owned.contains(n),
                            "reserve of {n}, which a set records as owned"
                        );
                    }
                }
                Action::Acquire { count, .. } => purchases += u64::from(*count),
                Action::Purchase {
                    reservation_id,
                    numbers,
                    retry: false,
                    ..
                } => {
                    purchases += numbers.len() as u64;
                    prop_assert!(
                        set.memory
                            .intents
                            .iter()
                            .any(|x| x.kind == IntentKind::Reserve
                                && x.reservation_id.as_ref() == Some(reservation_id)),
                        "purchase of unrecorded reservation"
                    );
                }
                Action::Purchase {
                    reservation_id,
                    numbers,
                    retry: true,
                    ..
                } => {
                    purchases += numbers.len() as u64;
                    let intent = set.memory.intents.iter().find(|x| {
                        x.kind == IntentKind::Purchase
                            && x.reservation_id.as_ref() == Some(reservation_id)
                    });
                    let Some(intent) = intent else {
                        return Err(TestCaseError::fail(format!(
                            "re-sent purchase of {reservation_id}, which no Purchase intent records"
                        )));
                    };
                    prop_assert!(intent.order_id.is_none(), "re-sent an answered purchase");
                    prop_assert!(intent.refused.is_none(), "re-sent a refused purchase");
                    let lapses = intent.reserved_until.unwrap_or_else(|| {
                        intent
                            .started
                            .saturating_add(RESERVATION_FALLBACK)
                            .unwrap_or(Timestamp::MAX)
                    });
                    prop_assert!(
                        input.now < lapses,
                        "re-sent the purchase of an expired reservation"
                    );
                    prop_assert!(
                        input.now
                            >= intent
                                .started
                                .saturating_add(PURCHASE_RETRY_DELAY)
                                .unwrap_or(Timestamp::MAX),
                        "re-sent before the retry delay"
                    );
                    prop_assert_eq!(&intent.numbers, numbers);
                    for n in numbers {
                        prop_assert!(
                            !input.inventory.numbers.contains_key(n),
                            "re-sent the purchase of {n}, which the account owns"
                        );
                    }
                    prop_assert!(inventory_check(input).is_ok());
                }
                Action::Move { numbers, .. } => {
                    for n in numbers {
                        prop_assert!(sp.memory.owned.contains_key(n), "move of unowned {n}");
                        prop_assert!(input.inventory.numbers.contains_key(n));
                    }
                }
                Action::Disconnect { numbers } => {
                    disconnects += numbers.len() as u64;
                    for n in numbers {
                        prop_assert!(
                            set.memory.owned.contains_key(n),
                            "disconnect of {n}, not in the set's memory.owned"
                        );
                        prop_assert!(input.inventory.numbers.contains_key(n));
                        prop_assert!(
                            !declared_by_others.contains(n),
                            "disconnect of {n}, which another set declares"
                        );
                    }
                    prop_assert!(inventory_check(input).is_ok());
                }
            }
        }
        prop_assert!(purchases <= u64::from(set.limits.max_purchases_per_sync));
        prop_assert!(disconnects <= u64::from(set.limits.max_disconnects_per_sync));
        if set.suspend {
            prop_assert!(sp.actions.is_empty(), "suspended set acts");
        }
        let numbers: Vec<&E164> = sp.numbers.iter().map(|l| &l.number).collect();
        prop_assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "status lines not sorted/unique"
        );
    }
    Ok(())
}

// ------------------------------------------------------------ strategies

fn filter() -> impl Strategy<Value = Match> {
    prop_oneof![
        Just(npa(&[800])),
        Just(npa(&[888])),
        Just(npa(&[800, 888])),
        Just(Match::Like("+1888555".into())),
    ]
}

#[derive(Debug, Clone)]
struct SetSeed {
    age: i64,
    declared: Vec<(u64, u64)>,
    acquire: Option<(u64, u32, Match)>,
    owned: Vec<(u64, u64, bool)>,
    leaving: Vec<(u64, i64)>,
    unavailable: Vec<(u64, i64)>,
    deleting: bool,
    grace: Option<i64>,
}

fn set_seed() -> impl Strategy<Value = SetSeed> {
    (
        0i64..3,
        prop::collection::vec((0..2 * HOT, 1u64..4), 0..5),
        prop::option::of((1u64..4, 1u32..4, filter())),
        prop::collection::vec((0..2 * HOT, 1u64..4, any::<bool>()), 0..4),
        prop::collection::vec((0..2 * HOT, 0i64..120), 0..2),
        prop::collection::vec((0..2 * HOT, 0i64..90), 0..2),
        prop::bool::weighted(0.15),
        prop::option::of(0i64..40),
    )
        .prop_map(
            |(age, declared, acquire, owned, leaving, unavailable, deleting, grace)| SetSeed {
                age,
                declared,
                acquire,
                owned,
                leaving,
                unavailable,
                deleting,
                grace,
            },
        )
}

fn build_set(k: usize, seed: &SetSeed) -> SetInput {
    let mut s = set(&format!("s{k}"), seed.age).0;
    let mut seen = BTreeSet::new();
    for (num, package) in &seed.declared {
        let number = hot(*num);
        if !seen.insert(number.clone()) {
            continue;
        }
        let p = pkg(*package);
        match s.packages.iter_mut().find(|x| x.package == p) {
            Some(spec) => spec.numbers.push(number),
            None => s.packages.push(PackageSpec {
                package: p,
                numbers: vec![number],
                acquire: None,
            }),
        }
    }
    if let Some((package, count, filter)) = &seed.acquire {
        let p = pkg(*package);
        let acquire = Some(Acquire {
            count: *count,
            filter: filter.clone(),
            sequential: false,
        });
        match s.packages.iter_mut().find(|x| x.package == p) {
            Some(spec) => spec.acquire = acquire,
            None => s.packages.push(PackageSpec {
                package: p,
                numbers: Vec::new(),
                acquire,
            }),
        }
    }
    for (num, package, acquired) in &seed.owned {
        s.memory.owned.insert(
            hot(*num),
            Ownership {
                package: pkg(*package),
                acquired: *acquired,
            },
        );
    }
    for (num, ago) in &seed.leaving {
        s.memory.leaving_since.insert(hot(*num), t(-ago));
    }
    for (num, ago) in &seed.unavailable {
        s.memory.unavailable.insert(hot(*num), t(-ago));
    }
    s.deleting = seed.deleting;
    s.grace = seed.grace.map(SignedDuration::from_mins);
    s
}

#[derive(Debug, Clone)]
struct AccountSeed {
    sets: Vec<SetSeed>,
    /// Hot numbers another customer reserves for a while (our reserve fails).
    outsider: Vec<u64>,
    inventory: Vec<(u64, u64)>,
    orders: Vec<Vec<usize>>,
    faults: Vec<Fault>,
}

fn account_seed() -> impl Strategy<Value = AccountSeed> {
    (
        prop::collection::vec(set_seed(), 1..5),
        prop::collection::vec(0..2 * HOT, 0..6),
        prop::collection::vec((0..2 * HOT, 1u64..4), 0..10),
        prop::collection::vec(prop::collection::vec(0usize..8, 0..5), 1..6),
        prop::collection::vec(
            prop_oneof![
                6 => Just(Fault::None),
                1 => Just(Fault::CrashBeforeCall),
                1 => Just(Fault::LoseAnswer),
                1 => Just(Fault::LoseAnswerSlowOrder),
            ],
            1..12,
        ),
    )
        .prop_map(|(sets, outsider, inventory, orders, faults)| AccountSeed {
            sets,
            outsider,
            inventory,
            orders,
            faults,
        })
}

fn operator(seed: &AccountSeed) -> Operator {
    let mut vendor = Vendor {
        now: Some(BASE),
        ..Vendor::default()
    };
    for (num, package) in &seed.inventory {
        vendor.inventory.insert(hot(*num), pkg(*package));
    }
    for k in 0..2 * PER_NPA {
        let n = universe(k);
        if !vendor.inventory.contains_key(&n) {
            vendor.pool.insert(n);
        }
    }
    Operator {
        vendor,
        sets: seed
            .sets
            .iter()
            .enumerate()
            .map(|(k, s)| build_set(k, s))
            .collect(),
        last_good: None,
        bought: BTreeMap::new(),
        reservations: BTreeMap::new(),
        next_reservation: 0,
        faults: seed.faults.clone(),
        fault_cursor: 0,
        faults_on: true,
        syncs: 0,
        incomplete_every: None,
        omit_every: None,
    }
}

/// What each set may buy at most: its declared numbers, and its acquire counts.
fn needs(sets: &[SetInput]) -> BTreeMap<SetId, (usize, usize)> {
    sets.iter()
        .map(|s| {
            let declared = s.packages.iter().map(|p| p.numbers.len()).sum();
            let acquired = s
                .packages
                .iter()
                .filter_map(|p| p.acquire.as_ref().map(|a| a.count as usize))
                .sum();
            (s.id.clone(), (declared, acquired))
        })
        .collect()
}

fn check_bought(
    op: &Operator,
    needs: &BTreeMap<SetId, (usize, usize)>,
) -> Result<(), TestCaseError> {
    for (id, (declared, acquired)) in &op.bought {
        let (need_declared, need_acquired) = needs.get(id).copied().unwrap_or_default();
        prop_assert!(
            *declared <= need_declared,
            "{} bought {} declared numbers, declares {}",
            id,
            declared,
            need_declared
        );
        prop_assert!(
            *acquired <= need_acquired,
            "{} bought {} numbers for acquire requests of {}",
            id,
            acquired,
            need_acquired
        );
    }
    Ok(())
}

const FAULTY_SYNCS: usize = 30;
const CALM_SYNCS: usize = 40;

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// All-Auto, generous limits, a listing that sometimes omits owned
    /// numbers while claiming to be complete: reaches an empty plan with no
    /// intents, never buys twice, never reserves what a set owns, never
    /// disconnects or moves what a set does not own, and no set buys more than
    /// it needs. Numbers a set owns that are really gone (the seed may say a
    /// set owns what the account lacks) stay `Missing` until a person confirms
    /// them gone, which the calm phase does as a person would: with the hash
    /// the status shows.
    #[test]
    fn random_accounts_converge_without_buying_twice(
        seed in account_seed(),
        omit_every in prop::option::of(2usize..6),
    ) {
        let mut op = operator(&seed);
        let needs = needs(&op.sets);
        for step in 0..FAULTY_SYNCS + CALM_SYNCS {
            op.faults_on = step < FAULTY_SYNCS;
            op.omit_every = omit_every.filter(|_| op.faults_on);
            if !op.faults_on {
                for s in op.sets.iter_mut() {
                    s.forget_missing = Some(missing_hash(&s.memory.missing));
                }
            }
            if op.faults_on && step.is_multiple_of(3) && !seed.outsider.is_empty() {
                let n = hot(seed.outsider[(step / 3) % seed.outsider.len()]);
                let id = ReservationId::parse(&format!("OUTSIDER-{step}")).expect("id");
                let _ = op.vendor.reserve(&[n], &id);
            }
            let order = &seed.orders[step % seed.orders.len()];
            op.sync(order)?;
        }
        check_bought(&op, &needs)?;
        // Converged: one more look finds nothing to do.
        op.vendor.step()?;
        let input = op.input(op.vendor.now(), &op.vendor.listing());
        let plan = plan(&input);
        for sp in &plan.sets {
            prop_assert!(sp.actions.is_empty() && sp.held.is_empty(), "{} not converged: {:#?}", sp.id, sp);
            prop_assert!(sp.memory.intents.is_empty(), "{} has intents: {:#?}", sp.id, sp.memory.intents);
            prop_assert!(!sp.reason.is_stalled() || sp.reason == Reason::Conflict, "{}: {:?} {}", sp.id, sp.reason, sp.message);
        }
    }
}

// ------------------------------------------------------------ any policy

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Auto), Just(Mode::Approve), Just(Mode::Deny)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any policies, budgets, suspend and approvals (sometimes approving the
    /// hash just shown, as a person would), and an inventory listing that is
    /// sometimes incomplete: the safety invariants hold in every plan.
    #[test]
    fn safety_holds_under_any_policy_and_budget(
        seed in account_seed(),
        policies in prop::collection::vec((mode(), mode(), mode(), 0u32..4, 0u32..3, prop::bool::weighted(0.2)), 5),
        approve_every in 1usize..4,
        incomplete_every in 2usize..6,
    ) {
        let mut op = operator(&seed);
        for (k, s) in op.sets.iter_mut().enumerate() {
            let (purchase, r#move, disconnect, p, d, suspend) = policies[k % policies.len()];
            s.policy = Policy { purchase, r#move, disconnect };
            s.limits = Limits { max_purchases_per_sync: p, max_disconnects_per_sync: d };
            s.suspend = suspend;
        }
        op.incomplete_every = Some(incomplete_every);
        op.omit_every = Some(incomplete_every + 1);
        let needs = needs(&op.sets);
        for step in 0..FAULTY_SYNCS {
            let order = &seed.orders[step % seed.orders.len()];
            op.sync(order)?;
            if step.is_multiple_of(approve_every) {
                // A person approves whatever hash status shows right now.
                let input = op.input(op.vendor.now(), &op.vendor.listing());
                let plan = plan(&input);
                for s in op.sets.iter_mut() {
                    if let Some(sp) = plan.sets.iter().find(|p| p.id == s.id) {
                        s.approved_hash = Some(sp.hash.clone());
                    }
                }
            }
        }
        check_bought(&op, &needs)?;
    }
}

// ------------------------------------------------------------ arbitrary inputs

fn number() -> impl Strategy<Value = E164> {
    (0..2 * PER_NPA).prop_map(universe)
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        8 => (-200i64..200).prop_map(t),
        1 => Just(Timestamp::MIN),
        1 => Just(Timestamp::MAX),
    ]
}

fn package() -> impl Strategy<Value = PackageId> {
    prop_oneof![9 => (1u64..5).prop_map(pkg), 1 => Just(pkg(u64::MAX))]
}

fn any_filter() -> impl Strategy<Value = Match> {
    prop_oneof![
        filter(),
        Just(Match::Npa(vec![])),
        "[+0-9a-z]{0,14}".prop_map(Match::Like),
    ]
}

fn intent() -> impl Strategy<Value = Intent> {
    (
        prop_oneof![
            Just(IntentKind::Reserve),
            Just(IntentKind::Purchase),
            Just(IntentKind::Move),
            Just(IntentKind::Disconnect)
        ],
        prop::collection::vec(number(), 0..4),
        prop::option::of(package()),
        prop::option::of("[A-F0-9]{1,8}".prop_map(|s| rid(&s))),
        prop::option::of(timestamp()),
        prop::option::of(0u64..10),
        any::<bool>(),
        timestamp(),
    )
        .prop_map(
            |(kind, numbers, package, reservation_id, reserved_until, order, acquired, started)| {
                Intent {
                    kind,
                    numbers,
                    package,
                    reservation_id,
                    reserved_until,
                    reference_id: None,
                    order_id: order.map(OrderId),
                    acquired,
                    started,
                    refused: if acquired { Some(started) } else { None },
                }
            },
        )
}

fn any_set() -> impl Strategy<Value = SetInput> {
    (
        (0usize..4, timestamp(), any::<bool>(), any::<bool>()),
        prop::collection::vec(
            (
                package(),
                prop::collection::vec(number(), 0..4),
                prop::option::of((any::<u32>(), any_filter(), any::<bool>())),
            ),
            0..4,
        ),
        (mode(), mode(), mode(), any::<u32>(), any::<u32>()),
        prop::option::of(prop_oneof![
            (-1000i64..1000).prop_map(SignedDuration::from_mins),
            Just(SignedDuration::MAX),
            Just(SignedDuration::MIN),
        ]),
        prop::option::of("[0-9a-f]{0,64}"),
        (
            prop::collection::btree_map(number(), (package(), any::<bool>()), 0..5),
            prop::collection::vec(intent(), 0..4),
            prop::collection::btree_map(number(), timestamp(), 0..3),
            prop::collection::btree_map(number(), timestamp(), 0..3),
            prop::collection::btree_map(number(), timestamp(), 0..2),
        ),
        (timestamp(), prop::option::of("[0-9a-f]{0,16}")),
    )
        .prop_map(
            |(
                (name, created, deleting, suspend),
                packages,
                (pu, mo, di, mp, md),
                grace,
                approved,
                (owned, intents, leaving, unavailable, missing),
                (observed_since, forget_missing),
            )| {
                SetInput {
                    id: SetId {
                        namespace: "ns".into(),
                        name: format!("s{name}"),
                    },
                    created,
                    deleting,
                    suspend,
                    packages: packages
                        .into_iter()
                        .map(|(package, numbers, acquire)| PackageSpec {
                            package,
                            numbers,
                            acquire: acquire.map(|(count, filter, sequential)| Acquire {
                                count,
                                filter,
                                sequential,
                            }),
                        })
                        .collect(),
                    policy: Policy {
                        purchase: pu,
                        r#move: mo,
                        disconnect: di,
                    },
                    grace,
                    limits: Limits {
                        max_purchases_per_sync: mp,
                        max_disconnects_per_sync: md,
                    },
                    order_defaults: OrderDefaults::default(),
                    approved_hash: approved,
                    forget_missing,
                    observed_since,
                    memory: Memory {
                        owned: owned
                            .into_iter()
                            .map(|(n, (package, acquired))| (n, Ownership { package, acquired }))
                            .collect(),
                        intents,
                        leaving_since: leaving,
                        unavailable,
                        missing,
                    },
                }
            },
        )
}

fn coverage() -> impl Strategy<Value = Coverage> {
    (
        prop::option::of(timestamp()),
        prop::collection::btree_map(package(), timestamp(), 0..2),
        prop::collection::btree_map(number(), timestamp(), 0..3),
    )
        .prop_map(|(full, packages, numbers)| Coverage {
            full,
            packages,
            numbers,
        })
}

fn any_input() -> impl Strategy<Value = PlanInput> {
    (
        timestamp(),
        prop::collection::vec(any_set(), 0..5),
        (any::<bool>(), coverage()),
        prop::collection::btree_map(number(), (package(), prop::option::of(0u64..5)), 0..20),
        (prop::option::of(0usize..40), prop::option::of(0usize..40)),
    )
        .prop_map(
            |(now, sets, (complete, coverage), numbers, (last_good_count, confirmed_count))| {
                PlanInput {
                    now,
                    sets,
                    inventory: Inventory {
                        complete,
                        taken_at: now,
                        numbers: numbers
                            .into_iter()
                            .map(|(n, (package, order))| {
                                (
                                    n,
                                    Owned {
                                        package,
                                        order_id: order.map(OrderId),
                                    },
                                )
                            })
                            .collect(),
                        coverage,
                    },
                    last_good_count,
                    confirmed_count,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Never panics on any input, and keeps its promises on garbage too.
    #[test]
    fn never_panics_and_keeps_limits_on_arbitrary_input(input in any_input()) {
        let plan = plan(&input);
        prop_assert_eq!(plan.sets.len(), input.sets.len());
        for sp in &plan.sets {
            let Some(set) = input.sets.iter().find(|s| s.id == sp.id) else { continue };
            let purchases: u64 = sp.actions.iter().map(|a| match a {
                Action::Reserve { numbers, .. } | Action::Purchase { numbers, .. } => numbers.len() as u64,
                Action::Acquire { count, .. } => u64::from(*count),
                _ => 0,
            }).sum();
            let disconnects: u64 = sp.actions.iter().map(|a| match a {
                Action::Disconnect { numbers } => numbers.len() as u64,
                _ => 0,
            }).sum();
            let same_id = input.sets.iter().filter(|s| s.id == sp.id).count();
            if same_id == 1 {
                prop_assert!(purchases <= u64::from(set.limits.max_purchases_per_sync));
                prop_assert!(disconnects <= u64::from(set.limits.max_disconnects_per_sync));
                for a in &sp.actions {
                    if let Action::Disconnect { numbers } = a {
                        for n in numbers {
                            prop_assert!(set.memory.owned.contains_key(n));
                        }
                    }
                }
            }
            prop_assert!(!sp.message.contains('\n'));
        }
    }

    /// The plan (hash included) does not depend on the order of the sets.
    #[test]
    fn plan_and_hash_do_not_depend_on_set_order(input in any_input(), rotate in 0usize..5) {
        // Distinct ids (Kubernetes guarantees it).
        let mut input = input;
        let mut seen = BTreeSet::new();
        input.sets.retain(|s| seen.insert(s.id.clone()));
        let one = plan(&input);
        let mut shuffled = input.clone();
        shuffled.sets.reverse();
        let len = shuffled.sets.len().max(1);
        shuffled.sets.rotate_left(rotate % len);
        let two = plan(&shuffled);
        prop_assert_eq!(&one, &two);
        for (a, b) in one.sets.iter().zip(&two.sets) {
            prop_assert_eq!(&a.hash, &b.hash);
        }
    }

    /// `plan_one` (what the reconciler calls for the set it reconciles) gives
    /// exactly that set's entry of `plan`.
    #[test]
    fn plan_one_matches_the_full_plan(input in any_input()) {
        let mut input = input;
        let mut seen = BTreeSet::new();
        input.sets.retain(|s| seen.insert(s.id.clone()));
        let full = plan(&input);
        for sp in &full.sets {
            let one = plan_one(&input, &sp.id);
            prop_assert_eq!(Some(sp), one.as_ref());
        }
        let missing = SetId { namespace: "nowhere".into(), name: "none".into() };
        prop_assert!(plan_one(&input, &missing).is_none());
    }
}
