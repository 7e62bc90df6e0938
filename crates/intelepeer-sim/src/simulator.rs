//! [`Simulator`]: a cheap, cloneable handle to one simulated vendor — its state,
//! clock, faults and request counts — with the in-process API tests use.

use std::collections::BTreeMap;
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

/// A handle to a simulated IntelePeer account and its vendor; clones share state.
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

/// What is not persisted: faults, request counts, the clock's offset.
#[derive(Default)]
struct Live {
    faults: Faults,
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
            Some(path) if path.exists() => load(path)?,
            _ => World::fresh(&config),
        };
        let live = Live {
            faults: config.faults.clone(),
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

    /// Every accepted mutation, oldest first.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.transact(|world, _| world.ledger.clone())
    }

    /// Vendor API calls so far by `"METHOD /path"` (faulted ones included).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.live).requests.clone()
    }

    /// The account's inventory, in number order (orders due are completed first).
    pub fn inventory(&self) -> Vec<OwnedNumber> {
        self.transact(|world, _| world.owned())
    }

    /// Puts numbers straight into the inventory in `package_id`, as if owned for
    /// long (no order, no ledger entry). They leave the pool.
    pub fn seed_inventory(&self, numbers: &[&str], package_id: u64) {
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
        self.seed_owned(&owned);
    }

    /// Like [`Simulator::seed_inventory`] with every field chosen (label,
    /// SmartFlows, order ID); `pending_disconnect` is ignored.
    pub fn seed_owned(&self, owned: &[OwnedNumber]) {
        self.transact(|world, _| world.seed(owned));
    }

    /// Replaces the active faults.
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner.live).faults = faults;
    }

    /// The active faults (counted ones as far as not yet consumed).
    pub fn faults(&self) -> Faults {
        lock(&self.inner.live).faults.clone()
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

    /// Back to a fresh vendor: the initial pool, an empty account, no
    /// reservations, orders or ledger; faults and request counts cleared.
    /// Sessions survive, so connected clients keep working.
    pub fn reset(&self) {
        {
            let mut live = lock(&self.inner.live);
            live.faults = Faults::default();
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
        let mut dump = self.transact(|world, ctx| world.dump(ctx));
        let live = lock(&self.inner.live);
        if let Some(object) = dump.as_object_mut() {
            object.insert("requests".to_owned(), serde_json::json!(live.requests));
            object.insert("faults".to_owned(), serde_json::json!(live.faults));
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
