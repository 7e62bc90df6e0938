//! [`Simulator`]: a cheap, cloneable handle to one simulated vendor — its state,
//! clock, faults, tampering and request counts — with the in-process API tests
//! use.
//!
//! The single-account calls ([`Simulator::inventory`],
//! [`Simulator::seed_inventory`], [`Simulator::seed_owned`]) act on the default
//! account ([`SimConfig::account_id`]); their `_in` / `_of` twins take an
//! account. [`Simulator::ledger`] is every account's ledger (each entry names
//! its account), [`Simulator::ledger_of`] one account's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::Notify;

use crate::config::SimConfig;
use crate::faults::{Faults, Verdict};
use crate::records::{LedgerEntry, OwnedNumber};
use crate::state::{Ctx, World, plus};
use crate::tamper::Tampering;

/// Why a simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The state file exists but could not be read.
    #[error("cannot read simulator state file {path}: {source}")]
    ReadState {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The state file is not a simulator state.
    #[error("simulator state file {path} is not valid: {source}")]
    BadState {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// A handle to a simulated IntelePeer vendor and its accounts; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: SimConfig,
    world: Mutex<World>,
    live: Mutex<Live>,
    /// Wakes requests held by `hang_next` when the server shuts down.
    release_hung: Notify,
}

/// What is not persisted: faults, tampering, request counts, the clock's offset.
#[derive(Default)]
struct Live {
    faults: Faults,
    tampering: Tampering,
    requests: BTreeMap<String, u64>,
    clock_offset: Duration,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("account_id", &self.inner.config.account_id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later request into a panic.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    /// A simulator; state comes from `config.state_file` when that file exists.
    ///
    /// # Panics
    ///
    /// If the state file exists but cannot be read; use [`Simulator::try_new`]
    /// to handle that.
    pub fn new(config: SimConfig) -> Self {
        match Self::try_new(config) {
            Ok(sim) => sim,
            Err(e) => panic!("{e}"),
        }
    }

    /// A simulator, or why its state file cannot be loaded.
    pub fn try_new(config: SimConfig) -> Result<Self, SimError> {
        let world = match &config.state_file {
            Some(path) if path.exists() => {
                let mut world = load(path)?;
                world.upgrade(&config);
                world
            }
            _ => World::fresh(&config),
        };
        let live = Live {
            faults: config.faults.clone(),
            tampering: config.tampering.clone(),
            ..Live::default()
        };
        let sim = Self {
            inner: Arc::new(Inner {
                config,
                world: Mutex::new(world),
                live: Mutex::new(live),
                release_hung: Notify::new(),
            }),
        };
        sim.transact(|_, _| ());
        Ok(sim)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The vendor API and the admin API, ready to serve. Serve it with
    /// [`Simulator::serve`] (or with connect info [`crate::Connection`]) for
    /// the connection-dropping faults to work.
    pub fn router(&self) -> axum::Router {
        crate::server::router(self.clone())
    }

    /// The default account ([`SimConfig::account_id`]).
    pub fn default_account(&self) -> u64 {
        self.inner.config.account_id
    }

    /// Every account a user belongs to or that holds anything here.
    pub fn accounts(&self) -> BTreeSet<u64> {
        self.transact(|world, ctx| world.accounts(ctx.config))
    }

    /// Every accepted mutation of every account, oldest first; each entry
    /// names its account.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.transact(|world, _| world.ledger.clone())
    }

    /// The accepted mutations of one account, oldest first.
    pub fn ledger_of(&self, account: u64) -> Vec<LedgerEntry> {
        self.transact(|world, _| {
            world
                .ledger
                .iter()
                .filter(|e| e.account_id == account)
                .cloned()
                .collect()
        })
    }

    /// Vendor API calls so far by `"METHOD /path"` (faulted ones included).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.live).requests.clone()
    }

    /// The default account's inventory, in number order (orders due are
    /// completed first). The truth, whatever listings are tampered with.
    pub fn inventory(&self) -> Vec<OwnedNumber> {
        self.inventory_of(self.default_account())
    }

    /// One account's inventory, in number order (orders due are completed first).
    pub fn inventory_of(&self, account: u64) -> Vec<OwnedNumber> {
        self.transact(|world, _| {
            world
                .owned(Some(account))
                .into_iter()
                .map(|(_, owned)| owned)
                .collect()
        })
    }

    /// Which account owns `number`, if any.
    pub fn owner_of(&self, number: &str) -> Option<u64> {
        self.transact(|world, _| world.inventory.get(number).map(|h| h.account_id))
    }

    /// Puts numbers straight into the default account's inventory in
    /// `package_id`, as if owned for long (no order, no ledger entry). They
    /// leave the pool (and any other account).
    pub fn seed_inventory(&self, numbers: &[&str], package_id: u64) {
        self.seed_inventory_in(self.default_account(), numbers, package_id);
    }

    /// Like [`Simulator::seed_inventory`], into `account`.
    pub fn seed_inventory_in(&self, account: u64, numbers: &[&str], package_id: u64) {
        let owned: Vec<OwnedNumber> = numbers
            .iter()
            .map(|n| OwnedNumber {
                number: (*n).to_owned(),
                package_id,
                order_id: None,
                label: None,
                has_cpaas: false,
                pending_disconnect: false,
            })
            .collect();
        self.seed_owned_in(account, &owned);
    }

    /// Like [`Simulator::seed_inventory`] with every field chosen (label,
    /// SmartFlows, order ID); `pending_disconnect` is ignored.
    pub fn seed_owned(&self, owned: &[OwnedNumber]) {
        self.seed_owned_in(self.default_account(), owned);
    }

    /// Like [`Simulator::seed_owned`], into `account`.
    pub fn seed_owned_in(&self, account: u64, owned: &[OwnedNumber]) {
        self.transact(|world, _| world.seed(account, owned));
    }

    /// Replaces the active faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner.live).faults = faults;
    }

    /// The active faults (counted ones as far as not yet consumed).
    pub fn faults(&self) -> Faults {
        lock(&self.inner.live).faults.clone()
    }

    /// Replaces the listing tampering (see [`Tampering`]); it takes effect on
    /// the next `GET /my/tf` and never changes the state.
    pub fn set_tampering(&self, tampering: Tampering) {
        lock(&self.inner.live).tampering = tampering;
    }

    /// The active listing tampering.
    pub fn tampering(&self) -> Tampering {
        lock(&self.inner.live).tampering.clone()
    }

    /// Ends all listing tampering: listings tell the truth again.
    pub fn clear_tampering(&self) {
        self.set_tampering(Tampering::default());
    }

    /// Makes every current token answer 401 "Session Expired".
    pub fn expire_sessions(&self) {
        self.transact(|world, _| world.expire_sessions());
    }

    /// Completes every pending order now.
    pub fn complete_pending_orders(&self) {
        self.transact(|world, ctx| world.complete_all(ctx.now));
    }

    /// Moves the simulator's clock forward: orders complete, reservations and
    /// tokens expire as if that much time had passed. For deterministic tests.
    pub fn advance_clock(&self, by: Duration) {
        {
            let mut live = lock(&self.inner.live);
            live.clock_offset = live.clock_offset.saturating_add(by);
        }
        self.transact(|_, _| ());
    }

    /// The simulator's current time.
    pub fn now(&self) -> Timestamp {
        plus(Timestamp::now(), lock(&self.inner.live).clock_offset)
    }

    /// Back to a fresh vendor: the initial pool, empty accounts, no
    /// reservations, orders or ledger; faults, tampering and request counts
    /// cleared. Sessions survive, so connected clients keep working.
    pub fn reset(&self) {
        {
            let mut live = lock(&self.inner.live);
            live.faults = Faults::default();
            live.tampering = Tampering::default();
            live.requests.clear();
        }
        self.transact(|world, _| {
            let sessions = std::mem::take(&mut world.sessions);
            *world = World::fresh(&self.inner.config);
            world.sessions = sessions;
        });
    }

    /// The whole state as JSON (what `GET /_admin/state` answers).
    pub fn dump(&self) -> Value {
        self.dump_filtered(None)
    }

    /// One account's state as JSON (what `GET /_admin/state?account=ID`
    /// answers): its inventory, reservations, orders, sessions and ledger.
    pub fn dump_of(&self, account: u64) -> Value {
        self.dump_filtered(Some(account))
    }

    fn dump_filtered(&self, account: Option<u64>) -> Value {
        let mut dump = self.transact(|world, ctx| world.dump(ctx, account));
        let live = lock(&self.inner.live);
        if let Some(object) = dump.as_object_mut() {
            object.insert("requests".to_owned(), serde_json::json!(live.requests));
            object.insert("faults".to_owned(), serde_json::json!(live.faults));
            object.insert("tampering".to_owned(), serde_json::json!(live.tampering));
        }
        dump
    }

    /// Runs `f` on the state after completing the orders that are due, then
    /// saves the state file if anything changed. Every access goes through here.
    pub(crate) fn transact<T>(&self, f: impl FnOnce(&mut World, Ctx<'_>) -> T) -> T {
        let now = self.now();
        let ctx = Ctx {
            now,
            config: &self.inner.config,
        };
        let mut world = lock(&self.inner.world);
        world.settle(now);
        let result = f(&mut world, ctx);
        if world.dirty {
            world.dirty = false;
            if let Some(path) = &self.inner.config.state_file {
                save(path, &world);
            }
        }
        result
    }

    /// Counts a vendor request and decides its faults: the latency to wait and
    /// the verdict.
    pub(crate) fn admit(&self, method: &str, path: &str) -> (Duration, Verdict) {
        let mut live = lock(&self.inner.live);
        *live.requests.entry(format!("{method} {path}")).or_default() += 1;
        let latency = live.faults.latency;
        (latency, live.faults.next_verdict())
    }

    /// Waits until hanging requests are released (at shutdown).
    pub(crate) async fn hang(&self) {
        self.inner.release_hung.notified().await;
    }

    /// Releases every hanging request.
    pub(crate) fn release_hung(&self) {
        self.inner.release_hung.notify_waiters();
    }
}

fn load(path: &Path) -> Result<World, SimError> {
    let text = std::fs::read(path).map_err(|source| SimError::ReadState {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| SimError::BadState {
        path: path.display().to_string(),
        source,
    })
}

/// Writes the state atomically: a temporary file next to it, then a rename.
fn save(path: &Path, world: &World) {
    let result = serde_json::to_vec_pretty(world)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, path)
        });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot save simulator state");
    }
}
