//! The simulated vendor's state and the rules that change it: the pool, the
//! accounts' inventories, reservations, orders, sessions and the ledger.
//!
//! Everything here is synchronous and takes the current time as an argument, so
//! the rules can be read (and tested) without a server or a clock. Orders
//! complete lazily: [`World::settle`] runs before every request and applies
//! every order whose completion time has passed.
//!
//! Accounts: the pool is the vendor's, shared by all; every owned number,
//! reservation, order, session and ledger entry belongs to one account (the
//! caller's, see [`World::authorize`]). A number is owned by at most one
//! account, since the inventory is one map keyed by number.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::SimConfig;
use crate::error::ApiError;
use crate::records::{
    Holding, LedgerEntry, LedgerKind, Order, OrderDetails, OrderKind, OwnedNumber, Reservation,
    Session, iso8601,
};

/// What a purchase asks for.
#[derive(Debug, Clone, Default)]
pub(crate) struct PurchaseRequest {
    pub package_id: u64,
    /// Reservation IDs (from `reservations` and/or `reservationID`).
    pub reservation_ids: Vec<String>,
    /// Reserved (or available) numbers given as `endpoints`.
    pub numbers: Vec<String>,
    /// Or: this many numbers from the pool.
    pub quantity: Option<u64>,
    pub details: OrderDetails,
}

/// Time and configuration a rule needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub now: Timestamp,
    pub config: &'a SimConfig,
}

/// Search filters for the pool.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolFilter {
    pub like: Option<String>,
    pub npas: Vec<String>,
}

/// Inventory filters for `GET /my/tf`.
#[derive(Debug, Clone, Default)]
pub(crate) struct InventoryFilter {
    pub labels: Vec<String>,
    pub like: Option<String>,
    pub package_ids: Vec<u64>,
    pub has_cpaas: Option<bool>,
}

/// Everything the simulated vendor knows; serialized as the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct World {
    /// The state file's layout: absent (0) in files written before accounts,
    /// [`STATE_VERSION`] since. See [`World::upgrade`].
    #[serde(default)]
    pub version: u32,
    /// Numbers never sold (reserved ones included: see [`World::reserved`]).
    pub pool: BTreeSet<String>,
    /// Every owned number of every account, each holding naming its account.
    pub inventory: BTreeMap<String, Holding>,
    pub reservations: BTreeMap<String, Reservation>,
    pub orders: BTreeMap<u64, Order>,
    pub sessions: BTreeMap<String, Session>,
    pub ledger: Vec<LedgerEntry>,
    pub next_order_id: u64,
    pub next_batch_id: u64,
    /// Set by every change; the simulator saves the state file and clears it.
    #[serde(skip)]
    pub dirty: bool,
}

/// The first order ID, as in the reference's examples.
const FIRST_ORDER_ID: u64 = 800_240;
/// The first batch ID, as in the reference's examples.
const FIRST_BATCH_ID: u64 = 800_024;
/// The state file layout written now: 1 = records carry their account.
pub(crate) const STATE_VERSION: u32 = 1;

impl World {
    /// A fresh vendor: the configured pool, empty accounts.
    pub fn fresh(config: &SimConfig) -> Self {
        Self {
            version: STATE_VERSION,
            pool: config.initial_pool(),
            inventory: BTreeMap::new(),
            reservations: BTreeMap::new(),
            orders: BTreeMap::new(),
            sessions: BTreeMap::new(),
            ledger: Vec::new(),
            next_order_id: FIRST_ORDER_ID,
            next_batch_id: FIRST_BATCH_ID,
            dirty: true,
        }
    }

    /// Brings a state file written by an older simulator up to date: before
    /// accounts (version 0) everything belonged to the one account, which is
    /// now the default account; sessions take their user's configured account.
    pub fn upgrade(&mut self, config: &SimConfig) {
        if self.version >= STATE_VERSION {
            return;
        }
        let default = config.account_id;
        for holding in self.inventory.values_mut() {
            holding.account_id = default;
        }
        for reservation in self.reservations.values_mut() {
            reservation.account_id = default;
        }
        for order in self.orders.values_mut() {
            order.account_id = default;
        }
        for entry in &mut self.ledger {
            entry.account_id = default;
        }
        for session in self.sessions.values_mut() {
            session.account_id = config.account_of(&session.user);
        }
        self.version = STATE_VERSION;
        self.dirty = true;
    }

    /// Completes every pending order whose time has come, oldest first.
    pub fn settle(&mut self, now: Timestamp) {
        let due: Vec<u64> = self
            .orders
            .values()
            .filter(|o| o.completed.is_none() && o.completes_at <= now)
            .map(|o| o.id)
            .collect();
        for id in due {
            self.complete(id);
        }
    }

    /// Completes every pending order now.
    pub fn complete_all(&mut self, now: Timestamp) {
        for order in self.orders.values_mut().filter(|o| o.completed.is_none()) {
            order.completes_at = order.completes_at.min(now);
        }
        self.settle(now);
    }

    fn complete(&mut self, id: u64) {
        let Some(order) = self.orders.get_mut(&id) else {
            return;
        };
        order.completed = Some(order.completes_at);
        let order = order.clone();
        match order.kind {
            OrderKind::Purchase => {
                for number in &order.numbers {
                    self.inventory.insert(
                        number.clone(),
                        Holding {
                            account_id: order.account_id,
                            package_id: order.package_id.unwrap_or_default(),
                            order_id: Some(order.id),
                            label: None,
                            has_cpaas: false,
                        },
                    );
                }
            }
            OrderKind::ChangePackage => {
                for number in &order.numbers {
                    if let (Some(holding), Some(package)) = (
                        self.inventory
                            .get_mut(number)
                            .filter(|h| h.account_id == order.account_id),
                        order.package_id,
                    ) {
                        holding.package_id = package;
                    }
                }
            }
            // A disconnected number leaves the account but not for the pool: it
            // spends months in transitional status before anyone may take it.
            OrderKind::Return => {
                for number in &order.numbers {
                    if self
                        .inventory
                        .get(number)
                        .is_some_and(|h| h.account_id == order.account_id)
                    {
                        self.inventory.remove(number);
                    }
                }
            }
        }
        self.dirty = true;
    }

    /// A new session token for valid credentials, bound to the user's account.
    pub fn authenticate(
        &mut self,
        username: &str,
        password: &str,
        ctx: Ctx<'_>,
    ) -> Result<String, ApiError> {
        if !ctx
            .config
            .users
            .iter()
            .any(|(u, p)| u == username && p == password)
        {
            return Err(ApiError::unauthorized());
        }
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.sessions.insert(
            token.clone(),
            Session {
                user: username.to_owned(),
                account_id: ctx.config.account_of(username),
                issued: ctx.now,
                revoked: false,
            },
        );
        self.dirty = true;
        Ok(token)
    }

    /// Checks a bare `Authorization` token; answers the caller's account.
    pub fn authorize(&self, token: Option<&str>, ctx: Ctx<'_>) -> Result<u64, ApiError> {
        let session = token
            .and_then(|t| self.sessions.get(t))
            .ok_or_else(ApiError::unauthorized)?;
        if session.revoked || plus(session.issued, ctx.config.token_ttl) <= ctx.now {
            return Err(ApiError::session_expired());
        }
        Ok(session.account_id)
    }

    /// Expires every session now.
    pub fn expire_sessions(&mut self) {
        for session in self.sessions.values_mut() {
            session.revoked = true;
        }
        self.dirty = true;
    }

    /// Numbers held by live reservations, with the account holding each.
    fn reserved(&self, now: Timestamp) -> HashMap<&str, u64> {
        self.reservations
            .values()
            .filter(|r| r.is_live(now))
            .flat_map(|r| r.numbers.iter().map(|n| (n.as_str(), r.account_id)))
            .collect()
    }

    /// Numbers that can be bought now (in the pool and not reserved), in order.
    pub fn available(&self, filter: &PoolFilter, now: Timestamp) -> Vec<&str> {
        let reserved = self.reserved(now);
        self.pool
            .iter()
            .map(String::as_str)
            .filter(|n| !reserved.contains_key(n))
            .filter(|n| {
                filter
                    .like
                    .as_deref()
                    .is_none_or(|like| n.starts_with(like))
            })
            .filter(|n| {
                filter.npas.is_empty()
                    || filter
                        .npas
                        .iter()
                        .any(|npa| n.get(2..5) == Some(npa.as_str()))
            })
            .collect()
    }

    /// Reserves numbers that are all available, for `account`. Numbers of a
    /// pending purchase left the pool when it was placed, so they are not
    /// available to anyone.
    pub fn reserve(
        &mut self,
        account: u64,
        numbers: Vec<String>,
        id: Option<String>,
        ctx: Ctx<'_>,
    ) -> Result<Reservation, ApiError> {
        if let Some(existing) = id.as_ref().and_then(|id| self.reservations.get(id)) {
            // The reference is silent on reused IDs. A live or consumed
            // reservation keeps its ID: reusing it is refused like its numbers
            // would be. An expired one may be replaced.
            if existing.is_live(ctx.now) || existing.ordered_by.is_some() {
                return Err(ApiError::not_available());
            }
        }
        let reserved = self.reserved(ctx.now);
        if numbers
            .iter()
            .any(|n| !self.pool.contains(n) || reserved.contains_key(n.as_str()))
        {
            return Err(ApiError::not_available());
        }
        let reservation = Reservation {
            id: id.unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()),
            account_id: account,
            numbers,
            reserved: ctx.now,
            expires: plus(ctx.now, ctx.config.reservation_ttl),
            ordered_by: None,
        };
        self.reservations
            .insert(reservation.id.clone(), reservation.clone());
        self.record(LedgerEntry {
            time: ctx.now,
            account_id: account,
            kind: LedgerKind::Reserve,
            numbers: reservation.numbers.clone(),
            package_id: None,
            order_id: None,
            reservation_ids: vec![reservation.id.clone()],
            reference_id: None,
        });
        Ok(reservation)
    }

    /// How many seats an account uses: its owned numbers and the numbers it
    /// is buying.
    fn seats_used(&self, account: u64) -> u64 {
        let buying: usize = self
            .pending(account, Some(OrderKind::Purchase))
            .map(|o| o.numbers.len())
            .sum();
        let owned = self
            .inventory
            .values()
            .filter(|h| h.account_id == account)
            .count();
        (owned + buying) as u64
    }

    /// Places a purchase order for `account`, all or nothing: every
    /// reservation named must be a live reservation of `account` and every
    /// number given as `endpoints` unsold and not reserved by another account,
    /// or the answer is 409 "Number(s) not available." and nothing changes.
    /// All the numbers go into one order; its reservations are consumed, so a
    /// reservation is purchased at most once.
    pub fn purchase(
        &mut self,
        account: u64,
        request: PurchaseRequest,
        ctx: Ctx<'_>,
    ) -> Result<Order, ApiError> {
        // Counting seats walks the inventory: only when there is a limit.
        let used = match ctx.config.trial_seats {
            Some(_) => self.seats_used(account),
            None => 0,
        };
        if let Some(limit) = ctx.config.trial_seats
            && used >= u64::from(limit)
        {
            return Err(ApiError::trial_limit_realized(limit));
        }
        // Which numbers, and which reservations they come from. An unknown,
        // expired or already ordered reservation, or another account's, is 409
        // "Number(s) not available." (the reference is silent; its numbers are
        // not available to this order, which is what that answer says).
        let mut numbers: Vec<String> = Vec::new();
        let mut consumed: Vec<String> = Vec::new();
        for id in &request.reservation_ids {
            let reservation = self
                .reservations
                .get(id)
                .filter(|r| r.is_live(ctx.now) && r.account_id == account)
                .ok_or_else(ApiError::not_available)?;
            if !consumed.contains(id) {
                consumed.push(id.clone());
                push_unique(&mut numbers, &reservation.numbers);
            }
        }
        // `endpoints` are "reserved numbers to order": each must be held by a
        // reservation of this account or be free — unsold and not held for
        // another account.
        let reserved = self.reserved(ctx.now);
        if request.numbers.iter().any(|n| {
            !self.pool.contains(n) || reserved.get(n.as_str()).is_some_and(|a| *a != account)
        }) {
            return Err(ApiError::not_available());
        }
        push_unique(&mut numbers, &request.numbers);
        if let Some(quantity) = request.quantity {
            let quantity = usize::try_from(quantity).unwrap_or(usize::MAX);
            let free = self.available(&PoolFilter::default(), ctx.now);
            if free.len() < quantity {
                return Err(ApiError::not_available());
            }
            numbers.extend(free.iter().take(quantity).map(|n| (*n).to_owned()));
        }
        if let Some(limit) = ctx.config.trial_seats {
            let room = u64::from(limit).saturating_sub(used);
            if numbers.len() as u64 > room {
                return Err(ApiError::trial_limit_exceeded(room));
            }
        }

        let order = self.place(
            account,
            OrderKind::Purchase,
            numbers,
            Some(request.package_id),
            consumed,
            request.details,
            ctx,
        );
        for number in &order.numbers {
            self.pool.remove(number);
        }
        for reservation in self
            .reservations
            .values_mut()
            .filter(|r| r.is_live(ctx.now))
        {
            if order.reservation_ids.contains(&reservation.id) {
                reservation.ordered_by = Some(order.id);
            } else {
                reservation.numbers.retain(|n| !order.numbers.contains(n));
                if reservation.numbers.is_empty() {
                    reservation.ordered_by = Some(order.id);
                }
            }
        }
        self.record_order(&order, LedgerKind::Purchase);
        Ok(order)
    }

    /// Places a change-package order for numbers `account` owns. Another
    /// account's numbers are "not assigned to this account"; its orders are
    /// never mentioned.
    pub fn change_package(
        &mut self,
        account: u64,
        numbers: Vec<String>,
        package_id: u64,
        details: OrderDetails,
        ctx: Ctx<'_>,
    ) -> Result<Order, ApiError> {
        if self.any_pending(account, &numbers, None) {
            return Err(ApiError::conflicting_order());
        }
        self.check_assigned(account, &numbers)?;
        let order = self.place(
            account,
            OrderKind::ChangePackage,
            numbers,
            Some(package_id),
            Vec::new(),
            details,
            ctx,
        );
        self.record_order(&order, LedgerKind::ChangePackage);
        Ok(order)
    }

    /// Places a disconnect order for numbers `account` owns (as
    /// [`World::change_package`] for another account's numbers).
    pub fn disconnect(
        &mut self,
        account: u64,
        numbers: Vec<String>,
        details: OrderDetails,
        ctx: Ctx<'_>,
    ) -> Result<Order, ApiError> {
        if self.any_pending(account, &numbers, Some(OrderKind::Return)) {
            return Err(ApiError::already_pending_disconnect());
        }
        if self.any_pending(account, &numbers, None) {
            return Err(ApiError::conflicting_order());
        }
        self.check_assigned(account, &numbers)?;
        let order = self.place(
            account,
            OrderKind::Return,
            numbers,
            None,
            Vec::new(),
            details,
            ctx,
        );
        self.record_order(&order, LedgerKind::Disconnect);
        Ok(order)
    }

    fn check_assigned(&self, account: u64, numbers: &[String]) -> Result<(), ApiError> {
        if numbers.iter().all(|n| {
            self.inventory
                .get(n)
                .is_some_and(|h| h.account_id == account)
        }) {
            Ok(())
        } else {
            Err(ApiError::not_assigned())
        }
    }

    /// Pending orders of an account, of one kind or all.
    fn pending(&self, account: u64, kind: Option<OrderKind>) -> impl Iterator<Item = &Order> {
        self.orders.values().filter(move |o| {
            o.account_id == account && o.completed.is_none() && kind.is_none_or(|k| o.kind == k)
        })
    }

    fn any_pending(&self, account: u64, numbers: &[String], kind: Option<OrderKind>) -> bool {
        self.pending(account, kind)
            .any(|o| o.numbers.iter().any(|n| numbers.contains(n)))
    }

    #[allow(clippy::too_many_arguments)] // one order's fields, named at each call
    fn place(
        &mut self,
        account: u64,
        kind: OrderKind,
        numbers: Vec<String>,
        package_id: Option<u64>,
        reservation_ids: Vec<String>,
        details: OrderDetails,
        ctx: Ctx<'_>,
    ) -> Order {
        let order = Order {
            id: self.next_order_id,
            account_id: account,
            batch_id: self.next_batch_id,
            kind,
            numbers,
            package_id,
            reservation_ids,
            details,
            created: ctx.now,
            completes_at: plus(ctx.now, ctx.config.order_delay),
            completed: None,
        };
        self.next_order_id += 1;
        self.next_batch_id += 1;
        self.orders.insert(order.id, order.clone());
        self.dirty = true;
        order
    }

    fn record_order(&mut self, order: &Order, kind: LedgerKind) {
        self.record(LedgerEntry {
            time: order.created,
            account_id: order.account_id,
            kind,
            numbers: order.numbers.clone(),
            package_id: order.package_id,
            order_id: Some(order.id),
            reservation_ids: order.reservation_ids.clone(),
            reference_id: order.details.reference_id.clone(),
        });
    }

    fn record(&mut self, entry: LedgerEntry) {
        tracing::info!(account = entry.account_id, kind = ?entry.kind, numbers = ?entry.numbers, order = ?entry.order_id, "accepted");
        self.ledger.push(entry);
        self.dirty = true;
    }

    /// Puts numbers straight into `account`'s inventory (test and demo
    /// setup): they leave the pool, any reservation and any other account.
    pub fn seed(&mut self, account: u64, owned: &[OwnedNumber]) {
        for number in owned {
            self.pool.remove(&number.number);
            for reservation in self.reservations.values_mut() {
                reservation.numbers.retain(|n| *n != number.number);
            }
            self.inventory.insert(
                number.number.clone(),
                Holding {
                    account_id: account,
                    package_id: number.package_id,
                    order_id: number.order_id,
                    label: number.label.clone(),
                    has_cpaas: number.has_cpaas,
                },
            );
        }
        self.dirty = true;
    }

    /// The inventory of one account (or of all), in number order, each number
    /// with its account.
    pub fn owned(&self, account: Option<u64>) -> Vec<(u64, OwnedNumber)> {
        let disconnecting: HashSet<&str> = self
            .orders
            .values()
            .filter(|o| o.completed.is_none() && o.kind == OrderKind::Return)
            .flat_map(|o| o.numbers.iter().map(String::as_str))
            .collect();
        self.inventory
            .iter()
            .filter(|(_, h)| account.is_none_or(|a| a == h.account_id))
            .map(|(number, h)| {
                (
                    h.account_id,
                    OwnedNumber {
                        number: number.clone(),
                        package_id: h.package_id,
                        order_id: h.order_id,
                        label: h.label.clone(),
                        has_cpaas: h.has_cpaas,
                        pending_disconnect: disconnecting.contains(number.as_str()),
                    },
                )
            })
            .collect()
    }

    /// The numbers of `account` that match a `GET /my/tf` filter, in number
    /// order: the listing before paging (and before any tampering).
    pub fn listed<'a>(
        &'a self,
        account: u64,
        filter: &'a InventoryFilter,
    ) -> impl Iterator<Item = (&'a str, &'a Holding)> + 'a {
        self.inventory
            .iter()
            .filter(move |(_, h)| h.account_id == account)
            .filter(|(n, _)| {
                filter.like.as_deref().is_none_or(|like| {
                    n.starts_with(like) || n.trim_start_matches('+').starts_with(like)
                })
            })
            .filter(|(_, h)| {
                filter.labels.is_empty()
                    || h.label.as_ref().is_some_and(|l| filter.labels.contains(l))
            })
            .filter(|(_, h)| {
                filter.package_ids.is_empty() || filter.package_ids.contains(&h.package_id)
            })
            .filter(|(_, h)| filter.has_cpaas.is_none_or(|c| c == h.has_cpaas))
            .map(|(n, h)| (n.as_str(), h))
    }

    /// Every account that has or had something here, and every configured one.
    pub fn accounts(&self, config: &SimConfig) -> BTreeSet<u64> {
        let mut accounts = config.accounts();
        accounts.extend(self.inventory.values().map(|h| h.account_id));
        accounts.extend(self.reservations.values().map(|r| r.account_id));
        accounts.extend(self.orders.values().map(|o| o.account_id));
        accounts
    }

    /// A summary for `GET /_admin/state`: of one account, or of all (then
    /// `accountID` is the default account's and every item names its own:
    /// `accountId` in inventory records, which are [`OwnedNumber`]s, and
    /// `accountID` in reservations and orders, as the vendor spells it).
    pub fn dump(&self, ctx: Ctx<'_>, account: Option<u64>) -> Value {
        let mine = |a: u64| account.is_none_or(|wanted| wanted == a);
        let accounts: Vec<Value> = self
            .accounts(ctx.config)
            .into_iter()
            .filter(|a| mine(*a))
            .map(|a| {
                json!({
                    "accountID": a,
                    "owned": self.inventory.values().filter(|h| h.account_id == a).count(),
                    "seatsUsed": self.seats_used(a),
                })
            })
            .collect();
        let inventory: Vec<Value> = self
            .owned(account)
            .into_iter()
            .map(|(a, owned)| {
                let mut record = json!(owned);
                if let Some(object) = record.as_object_mut() {
                    object.insert("accountId".to_owned(), json!(a));
                }
                record
            })
            .collect();
        json!({
            "accountID": account.unwrap_or(ctx.config.account_id),
            "accounts": accounts,
            "now": iso8601(ctx.now),
            "poolAvailable": self.available(&PoolFilter::default(), ctx.now).len(),
            "inventory": inventory,
            "reservations": self.reservations.values().filter(|r| mine(r.account_id)).map(|r| json!({
                "accountID": r.account_id,
                "reservation": r.to_json(),
                "live": r.is_live(ctx.now),
                "orderedBy": r.ordered_by,
            })).collect::<Vec<_>>(),
            "orders": self.orders.values().filter(|o| mine(o.account_id)).map(|o| json!({
                "accountID": o.account_id,
                "order": o.to_json(),
                "numbers": o.numbers,
                "reservationIDs": o.reservation_ids,
                "details": o.details,
            })).collect::<Vec<_>>(),
            "sessions": self.sessions.values().filter(|s| mine(s.account_id)).count(),
            "ledger": self.ledger.iter().filter(|e| mine(e.account_id)).collect::<Vec<_>>(),
        })
    }
}

/// Appends the `more` that `list` does not hold yet, in order.
fn push_unique(list: &mut Vec<String>, more: &[String]) {
    for item in more {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

/// `ts + d`, saturating.
pub(crate) fn plus(ts: Timestamp, d: Duration) -> Timestamp {
    ts.saturating_add(d).unwrap_or(Timestamp::MAX)
}
