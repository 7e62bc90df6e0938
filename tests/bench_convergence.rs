//! Convergence benchmark: the built operator binary against the real control
//! plane and the IntelePeer simulator, at four sizes. It prints figures; it
//! asserts only correctness (every number where it was declared, nothing
//! bought twice, nothing disconnected, unowned numbers untouched, no mutation
//! while idle), never a time.
//!
//! ```text
//! make bench-convergence                      # every scenario, one after another
//! cargo test --release --test bench_convergence -- --ignored --nocapture --test-threads 1 scenario_c
//! TOLLFREE_BENCH_SCALE_D=0.25 make bench-convergence BENCH_ONLY=scenario_d
//! ```
//!
//! `--release` matters: `CARGO_BIN_EXE_tollfree-operator` is the binary of the
//! profile under test, so without it the *debug* operator is measured. The
//! scenarios take a lock, so they run one after another even without
//! `--test-threads 1`; each has its own namespace, simulator and operator
//! (`--namespace`, `--resync-interval` [`resync`], `RUST_LOG=info`, every
//! other flag at its default — in particular the vendor rate limit of 10
//! requests/s per account).
//!
//! # Scenarios (one vendor account each)
//!
//! - **a** — 1 set × 10 declared numbers, all bought (search-free: declared
//!   numbers are reserved and purchased).
//! - **b** — 20 sets × 25 numbers = 500: per set 12 declared numbers already in
//!   the account (9 in the right package, 3 in another one: moved), 10 declared
//!   numbers bought, and `acquire: {count: 3, npa: [888]}` with one matching
//!   unclaimed number already in the package (adopted) and 2 bought after a
//!   search. 260 adopted (60 moved), 240 bought.
//! - **c** — 100 sets × 20 numbers = 2,000, all already in the account (15 per
//!   set in the right package, 5 in another: 500 moves), plus 2,000 numbers no
//!   set declares (must be left alone): a 4,000-number account. After its
//!   steady state, (c) also measures the latency of a spec change (below).
//! - **d** — 200 sets × 50 numbers = 10,000, all already in the account (45 per
//!   set in the right package, 5 in another: 1,000 moves), plus 10,000 unowned
//!   numbers: a 20,000-number account.
//!
//! A scale factor shrinks (b), (c) and (d) for a quick run:
//! `TOLLFREE_BENCH_SCALE_<B|C|D>` (or `TOLLFREE_BENCH_SCALE` for all three)
//! multiplies the number of sets and of unowned numbers; a set's own size
//! stays the same. The default, 1, is the sizes of issue 7. The minimum is
//! computed from the scaled definition, so the ratio stays meaningful.
//!
//! # The physical minimum of vendor calls
//!
//! [`minimum::Minimum::of`] computes it from the scenario's definition
//! ([`minimum::Work::of`]), never by hand:
//!
//! - 1 `POST /authenticate`;
//! - the pages of one full walk of the account as it is before the sets are
//!   applied: ⌈N/100⌉, at least 1, for N numbers (the client does not need an
//!   extra empty page after a last full one);
//! - the fewest mutation calls:
//!   - reserve: one per set and package with numbers to buy (its declared
//!     numbers not in the account, plus what its `acquire` must buy beyond the
//!     unclaimed matching numbers it adopts), at most 100 numbers each — the
//!     operator does not share reservations between sets;
//!   - purchase: one per package and order options (`orderDefaults`), at most
//!     100 numbers each, merging sets;
//!   - search: one per `acquire` that must buy;
//!   - move (`POST /my/tf/package`): one per target package, at most 100
//!     numbers each, merging sets;
//!   - disconnect: one per 100 numbers (none in these scenarios);
//! - the pages of ONE filtered confirmation listing (`packageID[]`) of every
//!   package touched by a purchase, a move or a disconnect: ⌈numbers in those
//!   packages after convergence / 100⌉, at least 1 when any was touched, 0
//!   when nothing changed.
//!
//! For the issue's sizes: (a) 5, (b) 89, (c) 161, (d) 501. The **critical
//! path** is that minimum at the vendor rate limit: minimum ÷ 10 requests/s.
//!
//! # Figures
//!
//! Per scenario, one row of the summary table (printed, with every scenario
//! run so far in this process, after each scenario, and written to
//! `target/tmp/bench-convergence-summary.md`), and a detail table:
//!
//! - **vendor calls** by endpoint, from the simulator's request counts, from
//!   `kubectl apply` until every set is Ready: `authenticate`; `GET /my/tf`
//!   *pages* (full walks and filtered listings alike); searches
//!   (`GET /carrier/tf`); reservations; purchase orders; package changes
//!   (moves); disconnects. Side by side with the minimum by endpoint, and the
//!   ratio of the totals.
//! - **wall time**: from the start of `kubectl apply` (all sets in one
//!   manifest) until a watch on the namespace has seen every set `Ready=True`
//!   at its current generation; and time ÷ critical path.
//! - **operator CPU**: user + system time of the operator process
//!   (`/proc/<pid>/stat`), less noisy than wall time on a shared machine.
//! - **peak RSS**: the operator's `VmHWM` (`/proc/<pid>/status`).
//! - **inventory listings**: full walks, from the operator's
//!   `tollfree_inventory_listing_duration_seconds_count`.
//! - **status writes**: the operator has no metric for them, so they are the
//!   API server's own count (`apiserver_request_total` of the
//!   `tollfreenumbersets/status` subresource, every writing verb); the test
//!   binary has its own API server and the scenarios run one at a time, so
//!   only this scenario's operator writes there.
//! - **steady state**: [`STEADY_INTERVALS`] resync intervals after every set
//!   is Ready, sampled at each interval's end: vendor calls (expected:
//!   ⌈N/100⌉ pages per interval for the account's N numbers, nothing else),
//!   status writes and operator CPU per interval, mean and range.
//! - **latency** (scenario (c) only, after its steady state): one set's spec is
//!   changed [`LATENCY_TRIES`] times, alternately adding a number to buy and
//!   moving one of its numbers to another package, waiting for the set to be
//!   Ready between tries. Each try: from `kubectl apply` returning to the
//!   simulator's ledger timestamp of the first accepted mutation concerning
//!   the changed number (the reservation of a bought number, the package
//!   change of a moved one). p50 / p90 / max are nearest-rank.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use intelepeer_sim::{LedgerEntry, LedgerKind, SimConfig, Simulator};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use support::scenario::{ACCOUNT_SECRET, AUTHENTICATE, LIST_INVENTORY, is_ready, requests_between};
use support::{ControlPlane, Operator, TestNs, TestSim, metric_sum, wait_for};
use tollfree_operator::crd::TollFreeNumberSet;

use minimum::{Minimum, Work};

/// The operator's `--resync-interval` in every scenario, unless
/// `TOLLFREE_BENCH_RESYNC` (seconds) says otherwise: see [`resync`].
const DEFAULT_RESYNC: Duration = Duration::from_secs(15);
/// How many resync intervals the steady state is observed for.
const STEADY_INTERVALS: u32 = 3;
/// How long a scenario may take to converge before it is reported as stuck
/// (the 20,000-number scenario took about 18 minutes before issue 7).
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// How long one latency try may take to be Ready again.
const TRY_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How many spec changes the latency measurement makes.
const LATENCY_TRIES: usize = 10;
/// How long the simulator takes to complete an order.
const ORDER_DELAY: Duration = Duration::from_millis(500);
/// The vendor rate limit the critical path is computed at (the operator's
/// default), in requests per second.
const RATE_LIMIT_PER_SECOND: f64 = 10.0;
/// The package the latency measurement moves numbers into (no scenario uses it).
const LATENCY_MOVE_PACKAGE: u64 = 6000;

const SEARCH: &str = "GET /_rest/v4/carrier/tf";
const RESERVE: &str = "POST /_rest/v4/carrier/tf/reservations";
const PURCHASE: &str = "POST /_rest/v4/my/tf/orders";
const PACKAGE: &str = "POST /_rest/v4/my/tf/package";
const DISCONNECT: &str = "POST /_rest/v4/my/tf/disconnect";
const LIST_INVENTORY_V3: &str = "GET /_rest/v3/my/tf";

/// Scenarios run one at a time: they would otherwise share the two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The summary rows of the scenarios run so far in this process, in order.
static SUMMARY: Mutex<Vec<Summary>> = Mutex::new(Vec::new());

// ---------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: make bench-convergence"]
async fn scenario_a_one_set_of_10_bought_numbers() {
    let _serial = SERIAL.lock().await;
    scenario_a().run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: make bench-convergence"]
async fn scenario_b_20_sets_of_25_half_adopted_half_bought() {
    let _serial = SERIAL.lock().await;
    scenario_b(scale("B")).run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: make bench-convergence"]
async fn scenario_c_100_sets_of_20_in_4000_with_500_moves_then_latency() {
    let _serial = SERIAL.lock().await;
    let mut bench = scenario_c(scale("C"));
    bench.latency_tries = LATENCY_TRIES;
    bench.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: make bench-convergence"]
async fn scenario_d_200_sets_of_50_in_20000_with_1000_moves() {
    let _serial = SERIAL.lock().await;
    scenario_d(scale("D")).run().await;
}

/// (a) 1 set × 10 declared numbers, all bought.
fn scenario_a() -> Bench {
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let numbers = pick.purchasable(&[800, 833, 844, 855, 866], 10);
    let sets = vec![SetDef::single("set-000", 1000, numbers, None)];
    Bench {
        key: "a",
        title: "(a) 1 set × 10 declared numbers, all bought".into(),
        scale: 1.0,
        config,
        seeds: Vec::new(),
        expect_bought: 10,
        untouched: Vec::new(),
        sets,
        pick,
        latency_tries: 0,
    }
}

/// (b) 20 sets × 25: per set 12 owned (3 moved), 10 bought, an acquire of 3
/// that adopts 1 and buys 2.
fn scenario_b(scale: f64) -> Bench {
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let count = scaled(20, scale);
    let mut sets = Vec::new();
    let mut seeds: Vec<(String, u64)> = Vec::new();
    for i in 0..count as u64 {
        let package = 2000 + i;
        let elsewhere = 9000 + i;
        // 12 declared numbers already owned: 9 in the package, 3 elsewhere (moved).
        let owned = pick.fresh(&[800, 833], 12);
        for (k, n) in owned.iter().enumerate() {
            seeds.push((n.clone(), if k < 9 { package } else { elsewhere }));
        }
        // One unclaimed 888 number in the package: the acquire adopts it.
        let spare = pick.fresh(&[888], 1);
        seeds.push((spare[0].clone(), package));
        // 10 declared numbers to buy (not 888: the acquires search 888).
        let bought = pick.purchasable(&[844, 855, 866, 877], 10);
        let mut numbers = owned;
        numbers.extend(bought);
        sets.push(SetDef::single(
            &format!("set-{i:03}"),
            package,
            numbers,
            Some((3, 888)),
        ));
    }
    Bench {
        key: "b",
        title: format!(
            "(b) {count} sets × 25 numbers: {} adopted ({} moved), {} bought ({} by acquire){}",
            13 * count,
            3 * count,
            12 * count,
            2 * count,
            scale_note(scale)
        ),
        scale,
        config,
        seeds,
        expect_bought: 12 * count,
        untouched: Vec::new(),
        sets,
        pick,
        latency_tries: 0,
    }
}

/// (c) 100 sets × 20 numbers, all owned, 5 per set in another package, among
/// 2,000 unowned: 4,000 numbers.
fn scenario_c(scale: f64) -> Bench {
    adopt_and_move(AdoptAndMove {
        key: "c",
        sets: scaled(100, scale),
        per_set: 20,
        moved_per_set: 5,
        unowned: scaled(2000, scale),
        first_package: 3000,
        scale,
    })
}

/// (d) 200 sets × 50 numbers, all owned, 5 per set in another package, among
/// 10,000 unowned: 20,000 numbers.
fn scenario_d(scale: f64) -> Bench {
    adopt_and_move(AdoptAndMove {
        key: "d",
        sets: scaled(200, scale),
        per_set: 50,
        moved_per_set: 5,
        unowned: scaled(10_000, scale),
        first_package: 4000,
        scale,
    })
}

/// The shape of (c) and (d): every declared number is already in the account,
/// some of each set's in a common other package (moved), and unowned numbers
/// no set declares in a package of their own.
struct AdoptAndMove {
    key: &'static str,
    sets: usize,
    per_set: usize,
    moved_per_set: usize,
    unowned: usize,
    first_package: u64,
    scale: f64,
}

/// Where the moved numbers of (c) and (d) start.
const MOVED_FROM_PACKAGE: u64 = 7777;
/// Where the unowned numbers of (c) and (d) are.
const UNOWNED_PACKAGE: u64 = 5555;

fn adopt_and_move(shape: AdoptAndMove) -> Bench {
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let mut sets = Vec::new();
    let mut seeds: Vec<(String, u64)> = Vec::new();
    for i in 0..shape.sets as u64 {
        let package = shape.first_package + i;
        let numbers = pick.fresh(&[800, 833, 844, 855], shape.per_set);
        let stay = shape.per_set - shape.moved_per_set;
        for (k, n) in numbers.iter().enumerate() {
            seeds.push((
                n.clone(),
                if k < stay {
                    package
                } else {
                    MOVED_FROM_PACKAGE
                },
            ));
        }
        sets.push(SetDef::single(
            &format!("set-{i:03}"),
            package,
            numbers,
            None,
        ));
    }
    let unowned: Vec<(String, u64)> = pick
        .fresh(&[866, 877, 888], shape.unowned)
        .into_iter()
        .map(|n| (n, UNOWNED_PACKAGE))
        .collect();
    seeds.extend(unowned.iter().cloned());
    let managed = shape.sets * shape.per_set;
    Bench {
        key: shape.key,
        title: format!(
            "({}) {} sets × {} numbers = {managed} adopted ({} moved), {} unowned: {} numbers in the account{}",
            shape.key,
            shape.sets,
            shape.per_set,
            shape.sets * shape.moved_per_set,
            shape.unowned,
            managed + shape.unowned,
            scale_note(shape.scale)
        ),
        scale: shape.scale,
        config,
        seeds,
        expect_bought: 0,
        untouched: unowned,
        sets,
        pick,
        latency_tries: 0,
    }
}

fn sim_config() -> SimConfig {
    SimConfig {
        order_delay: ORDER_DELAY,
        ..SimConfig::default()
    }
}

/// The scale factor of scenario `key` (`B`, `C`, `D`):
/// `TOLLFREE_BENCH_SCALE_<key>`, else `TOLLFREE_BENCH_SCALE`, else 1.
fn scale(key: &str) -> f64 {
    let raw = std::env::var(format!("TOLLFREE_BENCH_SCALE_{key}"))
        .or_else(|_| std::env::var("TOLLFREE_BENCH_SCALE"))
        .ok();
    match raw {
        None => 1.0,
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(s) if s > 0.0 && s.is_finite() => s,
            _ => panic!("the benchmark scale must be a positive number, not {raw:?}"),
        },
    }
}

/// The operator's `--resync-interval`: `TOLLFREE_BENCH_RESYNC` (whole
/// seconds), else [`DEFAULT_RESYNC`]. At 10 requests/s a walk of N numbers
/// takes N/1,000 s, so at 20,000 numbers (20 s) a 15 s interval is shorter
/// than one walk: the steady state of (d) is only meaningful with a longer one.
fn resync() -> Duration {
    match std::env::var("TOLLFREE_BENCH_RESYNC") {
        Err(_) => DEFAULT_RESYNC,
        Ok(raw) => match raw.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => panic!("TOLLFREE_BENCH_RESYNC must be a positive number of seconds, not {raw:?}"),
        },
    }
}

/// `n` scaled, rounded, at least 1.
fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

fn scale_note(scale: f64) -> String {
    if scale == 1.0 {
        String::new()
    } else {
        format!(" [scale {scale}]")
    }
}

/// One package entry of a set: declared numbers, and an optional `acquire` of
/// `(count, npa)`.
#[derive(Debug, Clone)]
struct PackageDef {
    package: u64,
    numbers: Vec<String>,
    acquire: Option<(u32, u16)>,
}

/// One set of a scenario.
#[derive(Debug, Clone)]
struct SetDef {
    name: String,
    packages: Vec<PackageDef>,
    /// `orderDefaults` as a YAML flow mapping (e.g. `{serviceArea: 4}`), or
    /// `None` for the defaults. Purchases with different order options cannot
    /// share an order.
    order_defaults: Option<String>,
}

impl SetDef {
    fn single(name: &str, package: u64, numbers: Vec<String>, acquire: Option<(u32, u16)>) -> Self {
        SetDef {
            name: name.to_owned(),
            packages: vec![PackageDef {
                package,
                numbers,
                acquire,
            }],
            order_defaults: None,
        }
    }

    fn manifest(&self) -> String {
        let mut out = format!(
            "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata:\n  name: {}\nspec:\n  accountRef: {{name: {ACCOUNT_SECRET}}}\n",
            self.name
        );
        if let Some(order) = &self.order_defaults {
            let _ = writeln!(out, "  orderDefaults: {order}");
        }
        out.push_str("  packages:\n");
        for p in &self.packages {
            let numbers = p
                .numbers
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "    - packageID: {}\n      numbers: [{numbers}]",
                p.package
            );
            if let Some((count, npa)) = p.acquire {
                let _ = writeln!(out, "      acquire: {{count: {count}, npa: [{npa}]}}");
            }
        }
        out
    }

    /// Numbers this set manages once converged (declared + acquired).
    fn size(&self) -> usize {
        self.packages
            .iter()
            .map(|p| p.numbers.len() + p.acquire.map_or(0, |(c, _)| c as usize))
            .sum()
    }
}

/// Deterministic toll-free numbers: from the simulator's purchasable pool, or
/// fresh ones (not in the pool, for seeding the account). Never the same twice.
struct Numbers {
    pool: BTreeSet<String>,
    used: BTreeSet<String>,
    next: HashMap<u16, u32>,
}

impl Numbers {
    fn new(config: &SimConfig) -> Numbers {
        Numbers {
            pool: config.initial_pool(),
            used: BTreeSet::new(),
            next: HashMap::new(),
        }
    }

    /// `count` purchasable numbers, round-robin over `npas`.
    fn purchasable(&mut self, npas: &[u16], count: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (k, npa) in npas.iter().cycle().enumerate() {
            if out.len() == count {
                break;
            }
            assert!(k < count * npas.len() * 4 + 100, "the pool ran out");
            let prefix = format!("+1{npa}");
            let n = self
                .pool
                .iter()
                .find(|n| n.starts_with(&prefix) && !self.used.contains(*n))
                .unwrap_or_else(|| panic!("no purchasable {npa} number left in the pool"))
                .clone();
            self.used.insert(n.clone());
            out.push(n);
        }
        out
    }

    /// `count` numbers outside the pool, round-robin over `npas`.
    fn fresh(&mut self, npas: &[u16], count: usize) -> Vec<String> {
        let mut out = Vec::new();
        for npa in npas.iter().cycle() {
            if out.len() == count {
                break;
            }
            loop {
                let k = self.next.entry(*npa).or_insert(0);
                let n = format!("+1{npa}{:03}{:04}", 200 + (*k / 10_000) % 800, *k % 10_000);
                *k += 7;
                if !self.pool.contains(&n) && self.used.insert(n.clone()) {
                    out.push(n);
                    break;
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// The physical minimum
// ---------------------------------------------------------------------------

/// The fewest vendor calls that can converge a scenario (see the file's docs).
mod minimum {
    use std::collections::{BTreeMap, BTreeSet};

    use super::SetDef;

    /// The vendor's batch size: numbers per mutation call, records per page.
    pub const BATCH: usize = 100;

    /// What a scenario needs done, in counts: the input of [`Minimum::of`].
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Work {
        /// Numbers in the account before the sets are applied.
        pub inventory_before: usize,
        /// Numbers to buy per set and package (one reservation each, split at
        /// [`BATCH`]); entries are never 0.
        pub reservations: Vec<usize>,
        /// Numbers to buy per `(package, order options)`, all sets together.
        pub purchases: BTreeMap<(u64, Option<String>), usize>,
        /// `acquire`s that must buy (one search each).
        pub searches: usize,
        /// Numbers to move per target package, all sets together.
        pub moves: BTreeMap<u64, usize>,
        /// Numbers to disconnect (one call per [`BATCH`], whatever their
        /// packages).
        pub disconnects: usize,
        /// The packages the disconnected numbers are in.
        pub disconnect_packages: BTreeSet<u64>,
        /// Numbers in every touched package (purchase or move target,
        /// disconnect source) once converged.
        pub confirmation_numbers: usize,
    }

    impl Work {
        /// The work of applying `sets` to an account holding `seeds`
        /// (`(number, package)`): declared numbers not in the account are
        /// bought, declared numbers in another package are moved, an
        /// `acquire` adopts unclaimed matching numbers of its package (in
        /// number order, none already adopted) and buys the rest. Nothing is
        /// disconnected (no set gives up a number it managed).
        pub fn of(seeds: &[(String, u64)], sets: &[SetDef]) -> Work {
            let before: BTreeMap<&str, u64> = seeds.iter().map(|(n, p)| (n.as_str(), *p)).collect();
            let declared: BTreeSet<&str> = sets
                .iter()
                .flat_map(|s| s.packages.iter())
                .flat_map(|p| p.numbers.iter().map(String::as_str))
                .collect();
            let mut after: BTreeMap<&str, u64> = before.clone();
            let mut adopted: BTreeSet<&str> = BTreeSet::new();
            let mut bought_by_acquire: BTreeMap<u64, usize> = BTreeMap::new();
            let mut work = Work {
                inventory_before: before.len(),
                ..Work::default()
            };
            for set in sets {
                for p in &set.packages {
                    let mut to_buy = 0;
                    for n in &p.numbers {
                        match before.get(n.as_str()) {
                            None => to_buy += 1,
                            Some(now) if *now != p.package => {
                                *work.moves.entry(p.package).or_default() += 1;
                            }
                            Some(_) => {}
                        }
                        after.insert(n, p.package);
                    }
                    if let Some((count, npa)) = p.acquire {
                        let prefix = format!("+1{npa}");
                        let adoptable: Vec<&str> = before
                            .iter()
                            .filter(|(n, pkg)| {
                                **pkg == p.package
                                    && n.starts_with(&prefix)
                                    && !declared.contains(**n)
                                    && !adopted.contains(**n)
                            })
                            .map(|(n, _)| *n)
                            .take(count as usize)
                            .collect();
                        let need = count as usize - adoptable.len();
                        adopted.extend(adoptable);
                        if need > 0 {
                            work.searches += 1;
                            to_buy += need;
                            *bought_by_acquire.entry(p.package).or_default() += need;
                        }
                    }
                    if to_buy > 0 {
                        work.reservations.push(to_buy);
                        *work
                            .purchases
                            .entry((p.package, set.order_defaults.clone()))
                            .or_default() += to_buy;
                    }
                }
            }
            let touched = work.touched_packages();
            work.confirmation_numbers = after.values().filter(|p| touched.contains(p)).count()
                + bought_by_acquire
                    .iter()
                    .filter(|(p, _)| touched.contains(p))
                    .map(|(_, n)| n)
                    .sum::<usize>();
            work
        }

        /// Packages a purchase, a move or a disconnect changes.
        pub fn touched_packages(&self) -> BTreeSet<u64> {
            self.purchases
                .keys()
                .map(|(p, _)| *p)
                .chain(self.moves.keys().copied())
                .chain(self.disconnect_packages.iter().copied())
                .collect()
        }

        /// Numbers bought in all.
        pub fn numbers_to_buy(&self) -> usize {
            self.reservations.iter().sum()
        }
    }

    /// The minimum, in vendor calls by endpoint.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Minimum {
        /// `POST /authenticate`: always 1 (one account, one token).
        pub authenticate: u64,
        /// `GET /my/tf` pages of the one full walk: ⌈N/100⌉, at least 1.
        pub walk_pages: u64,
        /// `GET /carrier/tf`: one per `acquire` that must buy.
        pub searches: u64,
        /// `POST /carrier/tf/reservations`: per set and package, per 100.
        pub reservations: u64,
        /// `POST /my/tf/orders`: per package and order options, per 100.
        pub purchases: u64,
        /// `POST /my/tf/package`: per target package, per 100.
        pub moves: u64,
        /// `POST /my/tf/disconnect`: per 100 numbers.
        pub disconnects: u64,
        /// `GET /my/tf` pages of the one filtered confirmation listing.
        pub confirmation_pages: u64,
    }

    /// ⌈n / BATCH⌉.
    fn batches(n: usize) -> u64 {
        n.div_ceil(BATCH) as u64
    }

    impl Minimum {
        /// The minimum for `work` (see the file's docs for the definition).
        pub fn of(work: &Work) -> Minimum {
            let touched = !work.touched_packages().is_empty() || work.disconnects > 0;
            Minimum {
                authenticate: 1,
                walk_pages: batches(work.inventory_before).max(1),
                searches: work.searches as u64,
                reservations: work.reservations.iter().map(|n| batches(*n)).sum(),
                purchases: work.purchases.values().map(|n| batches(*n)).sum(),
                moves: work.moves.values().map(|n| batches(*n)).sum(),
                disconnects: batches(work.disconnects),
                confirmation_pages: if touched {
                    batches(work.confirmation_numbers).max(1)
                } else {
                    0
                },
            }
        }

        /// Every call.
        pub fn total(&self) -> u64 {
            self.authenticate
                + self.walk_pages
                + self.searches
                + self.reservations
                + self.purchases
                + self.moves
                + self.disconnects
                + self.confirmation_pages
        }

        /// `GET /my/tf` pages: the walk and the confirmation listing.
        pub fn pages(&self) -> u64 {
            self.walk_pages + self.confirmation_pages
        }
    }
}

// ---------------------------------------------------------------------------
// Running a scenario
// ---------------------------------------------------------------------------

/// A scenario: what the account holds before, which sets are applied.
struct Bench {
    /// `a` … `d`.
    key: &'static str,
    title: String,
    scale: f64,
    config: SimConfig,
    /// `(number, package)` put in the account before the operator starts.
    seeds: Vec<(String, u64)>,
    sets: Vec<SetDef>,
    /// How many numbers must be bought in total.
    expect_bought: usize,
    /// Seeded numbers no set declares: they must stay where they are.
    untouched: Vec<(String, u64)>,
    /// Where more purchasable numbers come from (latency tries).
    pick: Numbers,
    /// Spec changes to time after the steady state (0: none).
    latency_tries: usize,
}

/// What is sampled at each point of a scenario.
#[derive(Debug, Clone, Default)]
struct Sample {
    requests: BTreeMap<String, u64>,
    ledger: usize,
    listings: f64,
    listing_seconds: f64,
    reconciles: f64,
    cpu: Duration,
    writes: ApiWrites,
}

/// Writes the API server counted (`apiserver_request_total`, writing verbs).
#[derive(Debug, Clone, Copy, Default)]
struct ApiWrites {
    /// To `tollfreenumbersets/status`.
    status: f64,
    /// To `tollfreenumbersets` themselves (finalizers, annotations; and the
    /// benchmark's own `kubectl apply`).
    sets: f64,
    /// Events (`events` of either API group).
    events: f64,
}

impl ApiWrites {
    fn minus(&self, earlier: &ApiWrites) -> ApiWrites {
        ApiWrites {
            status: self.status - earlier.status,
            sets: self.sets - earlier.sets,
            events: self.events - earlier.events,
        }
    }
}

/// Vendor calls by endpoint, from the simulator's request counts.
#[derive(Debug, Clone, Default)]
struct Calls {
    authenticate: u64,
    pages: u64,
    searches: u64,
    reservations: u64,
    purchases: u64,
    moves: u64,
    disconnects: u64,
    /// Any other request, by `METHOD /path`.
    other: BTreeMap<String, u64>,
}

impl Calls {
    fn of(requests: &BTreeMap<String, u64>) -> Calls {
        let mut calls = Calls::default();
        for (k, v) in requests {
            match k.as_str() {
                AUTHENTICATE => calls.authenticate += v,
                LIST_INVENTORY | LIST_INVENTORY_V3 => calls.pages += v,
                SEARCH => calls.searches += v,
                RESERVE => calls.reservations += v,
                PURCHASE => calls.purchases += v,
                PACKAGE => calls.moves += v,
                DISCONNECT => calls.disconnects += v,
                _ => {
                    calls.other.insert(k.clone(), *v);
                }
            }
        }
        calls
    }

    fn total(&self) -> u64 {
        self.authenticate
            + self.pages
            + self.searches
            + self.reservations
            + self.purchases
            + self.moves
            + self.disconnects
            + self.other.values().sum::<u64>()
    }

    fn non_listing(&self) -> u64 {
        self.total() - self.pages
    }

    /// `auth / pages / search / reserve / purchase / move / disconnect`.
    fn by_endpoint(&self) -> String {
        let other: u64 = self.other.values().sum();
        let mut out = format!(
            "{} / {} / {} / {} / {} / {} / {}",
            self.authenticate,
            self.pages,
            self.searches,
            self.reservations,
            self.purchases,
            self.moves,
            self.disconnects
        );
        if other > 0 {
            let _ = write!(out, " + {other} other");
        }
        out
    }
}

fn minimum_by_endpoint(m: &Minimum) -> String {
    format!(
        "{} / {} ({} walk + {} confirm) / {} / {} / {} / {} / {}",
        m.authenticate,
        m.pages(),
        m.walk_pages,
        m.confirmation_pages,
        m.searches,
        m.reservations,
        m.purchases,
        m.moves,
        m.disconnects
    )
}

/// One steady-state interval: what happened between two samples.
#[derive(Debug, Clone)]
struct Interval {
    calls: Calls,
    writes: ApiWrites,
    cpu: Duration,
    listings: f64,
    reconciles: f64,
}

impl Interval {
    fn between(a: &Sample, b: &Sample) -> Interval {
        Interval {
            calls: Calls::of(&requests_between(&a.requests, &b.requests)),
            writes: b.writes.minus(&a.writes),
            cpu: b.cpu.saturating_sub(a.cpu),
            listings: b.listings - a.listings,
            reconciles: b.reconciles - a.reconciles,
        }
    }
}

/// The kind of spec change a latency try makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// A purchasable number added to the set's first package.
    Buy,
    /// One of the set's numbers moved to [`LATENCY_MOVE_PACKAGE`].
    Move,
}

/// One latency try.
#[derive(Debug, Clone)]
struct Try {
    change: Change,
    number: String,
    /// `kubectl apply` returned → first accepted mutation of the number, in
    /// seconds (negative if the vendor saw it before `kubectl` exited).
    latency: f64,
    /// `kubectl apply` returned → the set Ready at its new generation.
    ready_after: Duration,
    /// Vendor calls from the apply to Ready.
    calls: Calls,
}

/// One row of the summary table.
#[derive(Debug, Clone)]
struct Summary {
    label: String,
    calls: Calls,
    minimum: Minimum,
    converged: Duration,
    cpu: Duration,
    hwm_kib: Option<u64>,
    inventory_after: usize,
    sets: usize,
    steady: Vec<Interval>,
    latency: Vec<Try>,
}

impl Bench {
    async fn run(mut self) {
        let declared: usize = self.sets.iter().map(SetDef::size).sum();
        let work = Work::of(&self.seeds, &self.sets);
        let minimum = Minimum::of(&work);
        assert_eq!(
            work.numbers_to_buy(),
            self.expect_bought,
            "{}: the minimum's model and the scenario disagree on what is bought",
            self.title
        );
        let ns = TestNs::create();
        ns.create_account_secret(ACCOUNT_SECRET);
        let sim = TestSim::with_config(self.config.clone());
        let mut by_package: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for (n, p) in &self.seeds {
            by_package.entry(*p).or_default().push(n);
        }
        for (p, numbers) in &by_package {
            sim.sim().seed_inventory(numbers, *p);
        }
        let inventory_before = sim.sim().inventory().len();

        let mut op = Operator::builder(sim.url())
            .namespace(ns.name())
            .arg("--resync-interval")
            .arg(&format!("{}s", resync().as_secs()))
            .env("RUST_LOG", "info")
            .start();
        op.wait_ready(Duration::from_secs(60)).await;
        let pid = op.pid();

        let manifest = self
            .sets
            .iter()
            .map(SetDef::manifest)
            .collect::<Vec<_>>()
            .join("---\n");
        // The first set written to a fresh API server costs ~2 s more than the
        // others (kubectl's caches, the API server's first request of the
        // kind): pay it with a server-side dry run that the operator never
        // sees, so that the timed apply is only the apply.
        let mut warm = self.sets[0].clone();
        warm.name = "warm-up".into();
        let warm_ns = ns.name().to_owned();
        let warmed = Instant::now();
        tokio::task::spawn_blocking(move || {
            ControlPlane::shared().kubectl_stdin(
                &[
                    "apply",
                    "--dry-run=server",
                    "--namespace",
                    &warm_ns,
                    "-f",
                    "-",
                ],
                &warm.manifest(),
            )
        })
        .await
        .expect("kubectl apply --dry-run=server");
        eprintln!(
            "{}: warm-up dry-run apply took {:.1} s",
            self.title,
            warmed.elapsed().as_secs_f64()
        );
        let load_start = load_average();
        let before = sample(sim.sim(), &op).await;
        let start = Instant::now();
        let apply_ns = ns.clone();
        tokio::task::spawn_blocking(move || apply_ns.apply(&manifest))
            .await
            .expect("kubectl apply");
        let applied = start.elapsed();

        let client = ControlPlane::shared().kube_client().await;
        let api: Api<TollFreeNumberSet> = Api::namespaced(client, ns.name());
        let ready = wait_all_ready(api.clone(), self.sets.len(), CONVERGE_TIMEOUT).await;
        let converged = start.elapsed();
        let at_ready = sample(sim.sim(), &op).await;
        let hwm_converged = proc_status_kib(pid, "VmHWM");
        if let Err(stuck) = ready {
            panic!(
                "{}: not converged after {CONVERGE_TIMEOUT:?}: {stuck}\nrequests: {:#?}",
                self.title,
                requests_between(&before.requests, &at_ready.requests)
            );
        }
        eprintln!(
            "{}: converged in {:.1} s; steady state for {} s",
            self.title,
            converged.as_secs_f64(),
            (resync() * STEADY_INTERVALS).as_secs()
        );

        let mut marks = vec![at_ready.clone()];
        for _ in 0..STEADY_INTERVALS {
            tokio::time::sleep(resync()).await;
            marks.push(sample(sim.sim(), &op).await);
        }
        let after = marks.last().cloned().unwrap_or_default();
        let steady: Vec<Interval> = marks
            .windows(2)
            .map(|w| Interval::between(&w[0], &w[1]))
            .collect();
        let still_ready = count_ready(&api).await;
        let hwm_steady = proc_status_kib(pid, "VmHWM");
        let rss_steady = proc_status_kib(pid, "VmRSS");
        let load = format!("{load_start} → {}", load_average());
        let inventory_after = sim.sim().inventory().len();
        // Before the latency tries change the first set.
        let label = self.short_label();
        let ledger = sim.sim().ledger();
        let converge_ledger = ledger[before.ledger..at_ready.ledger].to_vec();
        let steady_ledger = ledger[at_ready.ledger..after.ledger].to_vec();

        let tries = if self.latency_tries > 0 {
            self.latency(&ns, sim.sim(), &op, &api).await
        } else {
            Vec::new()
        };
        let hwm_end = proc_status_kib(pid, "VmHWM");

        let summary = Summary {
            label,
            calls: Calls::of(&requests_between(&before.requests, &at_ready.requests)),
            minimum,
            converged,
            cpu: at_ready.cpu.saturating_sub(before.cpu),
            hwm_kib: hwm_steady,
            inventory_after,
            sets: self.sets.len(),
            steady,
            latency: tries,
        };
        let report = Report {
            title: &self.title,
            sets: self.sets.len(),
            declared,
            inventory_before,
            applied,
            before: &before,
            at_ready: &at_ready,
            after: &after,
            converge_ledger: &converge_ledger,
            steady_ledger: &steady_ledger,
            hwm_converged,
            hwm_steady,
            hwm_end,
            rss_steady,
            still_ready,
            load,
            summary: &summary,
            work: &work,
        };
        println!("{}", report.render());

        // Correctness, after the figures are out.
        let ledger = sim.sim().ledger();
        self.verify(sim.sim(), &ledger, &steady_ledger, still_ready);
        drop(op);

        let all = {
            let mut rows = SUMMARY
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            rows.push(summary);
            rows.clone()
        };
        let table = render_summary(&all);
        println!(
            "\n## Summary of the scenarios run so far in this process ({} of 4)\n\n{table}",
            all.len()
        );
        let path =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-convergence-summary.md");
        match std::fs::write(&path, &table) {
            Ok(()) => println!("(also written to {})", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }

    fn short_label(&self) -> String {
        let managed: usize = self.sets.iter().map(SetDef::size).sum();
        let label = match self.key {
            "a" => "(a) 1 × 10 bought".to_owned(),
            "b" => format!(
                "(b) {} × 25, {managed} managed (half bought)",
                self.sets.len()
            ),
            key => format!(
                "({key}) {} × {} in {} ({} moves)",
                self.sets.len(),
                self.sets
                    .first()
                    .map_or(0, |s| s.packages.iter().map(|p| p.numbers.len()).sum()),
                self.seeds.len(),
                Work::of(&self.seeds, &self.sets)
                    .moves
                    .values()
                    .sum::<usize>()
            ),
        };
        format!("{label}{}", scale_note(self.scale))
    }

    /// Changes the first set's spec [`Bench::latency_tries`] times
    /// (alternately: buy a number, move a number) and times each change from
    /// `kubectl apply` returning to the vendor's first mutation of it.
    async fn latency(
        &mut self,
        ns: &TestNs,
        sim: &Simulator,
        op: &Operator,
        api: &Api<TollFreeNumberSet>,
    ) -> Vec<Try> {
        let mut tries = Vec::new();
        for k in 0..self.latency_tries {
            let change = if k % 2 == 0 {
                Change::Buy
            } else {
                Change::Move
            };
            let set = &mut self.sets[0];
            let number = match change {
                Change::Buy => {
                    let n = self.pick.purchasable(&[844, 855, 866, 877], 1)[0].clone();
                    set.packages[0].numbers.push(n.clone());
                    self.expect_bought += 1;
                    n
                }
                Change::Move => {
                    let n = set.packages[0]
                        .numbers
                        .first()
                        .cloned()
                        .expect("the set still has a number to move");
                    set.packages[0].numbers.retain(|x| *x != n);
                    match set
                        .packages
                        .iter_mut()
                        .find(|p| p.package == LATENCY_MOVE_PACKAGE)
                    {
                        Some(p) => p.numbers.push(n.clone()),
                        None => set.packages.push(PackageDef {
                            package: LATENCY_MOVE_PACKAGE,
                            numbers: vec![n.clone()],
                            acquire: None,
                        }),
                    }
                    n
                }
            };
            let name = set.name.clone();
            let manifest = set.manifest();
            let ledger_start = sim.ledger().len();
            let requests_start = sim.request_counts();
            let apply_ns = ns.clone();
            tokio::task::spawn_blocking(move || apply_ns.apply(&manifest))
                .await
                .expect("kubectl apply");
            let applied_at = jiff::Timestamp::now();
            let applied = Instant::now();
            wait_for(
                TRY_TIMEOUT,
                &format!("{name} Ready after latency try {k}"),
                || {
                    let api = api.clone();
                    let name = name.clone();
                    async move { api.get(&name).await.ok().filter(is_ready).map(drop) }
                },
            )
            .await;
            let ready_after = applied.elapsed();
            let calls = Calls::of(&requests_between(&requests_start, &sim.request_counts()));
            let first = sim.ledger()[ledger_start..]
                .iter()
                .find(|e| e.numbers.contains(&number))
                .cloned()
                .unwrap_or_else(|| {
                    panic!(
                        "latency try {k} ({change:?} {number}): {name} is Ready but the vendor never saw a mutation of the number; operator log:\n{}",
                        op.logs()
                    )
                });
            let latency = (first.time.as_nanosecond() - applied_at.as_nanosecond()) as f64 / 1e9;
            eprintln!(
                "latency try {k}: {change:?} {number}: first mutation ({:?}) after {latency:.3} s, Ready after {:.1} s",
                first.kind,
                ready_after.as_secs_f64()
            );
            tries.push(Try {
                change,
                number,
                latency,
                ready_after,
                calls,
            });
        }
        tries
    }

    fn verify(
        &self,
        sim: &Simulator,
        ledger: &[LedgerEntry],
        steady: &[LedgerEntry],
        still_ready: usize,
    ) {
        let inventory: BTreeMap<String, u64> = sim
            .inventory()
            .into_iter()
            .map(|n| (n.number, n.package_id))
            .collect();
        for set in &self.sets {
            for p in &set.packages {
                for n in &p.numbers {
                    assert_eq!(
                        inventory.get(n),
                        Some(&p.package),
                        "{}: {n} not in package {}",
                        set.name,
                        p.package
                    );
                }
                if let Some((count, npa)) = p.acquire {
                    let prefix = format!("+1{npa}");
                    let got = inventory
                        .iter()
                        .filter(|(n, pkg)| **pkg == p.package && n.starts_with(&prefix))
                        .count();
                    assert_eq!(got, count as usize, "{}: acquired {npa} numbers", set.name);
                }
            }
        }
        for (n, p) in &self.untouched {
            assert_eq!(inventory.get(n), Some(p), "unowned {n} was touched");
        }
        let mut bought: BTreeMap<&str, usize> = BTreeMap::new();
        for e in ledger.iter().filter(|e| e.kind == LedgerKind::Purchase) {
            for n in &e.numbers {
                *bought.entry(n).or_default() += 1;
            }
        }
        let twice: Vec<_> = bought.iter().filter(|(_, c)| **c > 1).collect();
        assert!(twice.is_empty(), "bought more than once: {twice:?}");
        assert_eq!(bought.len(), self.expect_bought, "numbers bought");
        assert!(
            !ledger.iter().any(|e| e.kind == LedgerKind::Disconnect),
            "a disconnect happened"
        );
        assert!(
            steady.is_empty(),
            "mutations in the steady state: {steady:#?}"
        );
        assert_eq!(
            still_ready,
            self.sets.len(),
            "sets Ready after the steady state"
        );
    }
}

// ---------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------

/// The critical path at the vendor rate limit: `minimum` calls at
/// [`RATE_LIMIT_PER_SECOND`].
fn critical_path(minimum: &Minimum) -> Duration {
    Duration::from_secs_f64(minimum.total() as f64 / RATE_LIMIT_PER_SECOND)
}

/// The three tables (convergence, steady state, latency) of every row, one
/// markdown block to paste into BENCHMARKS.md.
fn render_summary(rows: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Convergence (`kubectl apply` → all Ready). Calls by endpoint: auth / `GET /my/tf` pages / search / reserve / purchase / move / disconnect.\n"
    );
    let _ = writeln!(
        out,
        "| scenario | vendor calls | by endpoint | physical minimum | minimum by endpoint | ratio | wall time | critical path at 10 req/s | time ÷ critical path | peak RSS (VmHWM) | operator CPU |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let critical = critical_path(&r.minimum);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2}× | {} | {} | {:.1}× | {} | {} |",
            r.label,
            r.calls.total(),
            r.calls.by_endpoint(),
            r.minimum.total(),
            minimum_by_endpoint(&r.minimum),
            r.calls.total() as f64 / r.minimum.total() as f64,
            secs(r.converged),
            secs(critical),
            r.converged.as_secs_f64() / critical.as_secs_f64(),
            mib(r.hwm_kib),
            secs(r.cpu),
        );
    }
    let _ = writeln!(
        out,
        "\nSteady state, per resync interval ({} s, {} intervals after all Ready): mean (min–max). Expected vendor calls: ⌈N/100⌉ pages for the account's N numbers, nothing else.\n",
        resync().as_secs(),
        STEADY_INTERVALS
    );
    let _ = writeln!(
        out,
        "| scenario | sets | numbers | vendor calls | expected | of which not pages | full walks | status writes | reconciles | operator CPU |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let s = &r.steady;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.sets,
            r.inventory_after,
            spread(s, |i| i.calls.total() as f64, 0),
            r.inventory_after.div_ceil(minimum::BATCH).max(1),
            spread(s, |i| i.calls.non_listing() as f64, 0),
            spread(s, |i| i.listings, 0),
            spread(s, |i| i.writes.status, 0),
            spread(s, |i| i.reconciles, 0),
            spread_s(s, |i| i.cpu.as_secs_f64()),
        );
    }
    for r in rows.iter().filter(|r| !r.latency.is_empty()) {
        let all: Vec<f64> = r.latency.iter().map(|t| t.latency).collect();
        let of = |c: Change| -> Vec<f64> {
            r.latency
                .iter()
                .filter(|t| t.change == c)
                .map(|t| t.latency)
                .collect()
        };
        let _ = writeln!(
            out,
            "\nLatency on {} after convergence: spec change (`kubectl apply` returned) → first vendor mutation of that change (simulator ledger), {} tries alternating a number to buy and a number to move, Ready between tries. Nearest-rank percentiles.\n",
            r.label,
            all.len()
        );
        let _ = writeln!(
            out,
            "| changes | tries | p50 | p90 | max | apply → Ready, p50 | vendor calls per try, p50 |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for (label, values, tries) in [
            ("all", all.clone(), r.latency.iter().collect::<Vec<_>>()),
            (
                "buy a number",
                of(Change::Buy),
                r.latency
                    .iter()
                    .filter(|t| t.change == Change::Buy)
                    .collect(),
            ),
            (
                "move a number",
                of(Change::Move),
                r.latency
                    .iter()
                    .filter(|t| t.change == Change::Move)
                    .collect(),
            ),
        ] {
            let ready: Vec<f64> = tries.iter().map(|t| t.ready_after.as_secs_f64()).collect();
            let calls: Vec<f64> = tries.iter().map(|t| t.calls.total() as f64).collect();
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} | {} | {} |",
                values.len(),
                percentile_s(&values, 50.0),
                percentile_s(&values, 90.0),
                percentile_s(&values, 100.0),
                percentile_s(&ready, 50.0),
                percentile(&calls, 50.0).map_or_else(|| "–".into(), |v| format!("{v:.0}")),
            );
        }
    }
    out
}

/// Nearest-rank percentile `p` (0 < p ≤ 100) of `values`.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn percentile_s(values: &[f64], p: f64) -> String {
    percentile(values, p).map_or_else(|| "–".into(), |v| format!("{v:.2} s"))
}

/// `mean (min–max)` of `f` over `intervals`.
fn spread(intervals: &[Interval], f: impl Fn(&Interval) -> f64, decimals: usize) -> String {
    let values: Vec<f64> = intervals.iter().map(f).collect();
    if values.is_empty() {
        return "–".into();
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{mean:.1} ({min:.d$}–{max:.d$})", d = decimals)
}

fn spread_s(intervals: &[Interval], f: impl Fn(&Interval) -> f64) -> String {
    let values: Vec<f64> = intervals.iter().map(f).collect();
    if values.is_empty() {
        return "–".into();
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{mean:.2} s ({min:.2}–{max:.2})")
}

/// Everything one scenario printed in detail.
struct Report<'a> {
    title: &'a str,
    sets: usize,
    declared: usize,
    inventory_before: usize,
    applied: Duration,
    before: &'a Sample,
    at_ready: &'a Sample,
    after: &'a Sample,
    converge_ledger: &'a [LedgerEntry],
    steady_ledger: &'a [LedgerEntry],
    hwm_converged: Option<u64>,
    hwm_steady: Option<u64>,
    hwm_end: Option<u64>,
    rss_steady: Option<u64>,
    still_ready: usize,
    load: String,
    summary: &'a Summary,
    work: &'a Work,
}

impl Report<'_> {
    fn render(&self) -> String {
        let conv = requests_between(&self.before.requests, &self.at_ready.requests);
        let steady = requests_between(&self.at_ready.requests, &self.after.requests);
        let per = |v: f64| v / self.declared as f64;
        let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0) as f64;
        let pages = |m: &BTreeMap<String, u64>| get(m, LIST_INVENTORY) + get(m, LIST_INVENTORY_V3);
        let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>() as f64;
        let conv_listings = self.at_ready.listings - self.before.listings;
        let steady_listings = self.after.listings - self.at_ready.listings;
        let steady_window = resync() * STEADY_INTERVALS;
        let m = &self.summary.minimum;
        let converged = self.summary.converged;
        let conv_writes = self.at_ready.writes.minus(&self.before.writes);
        let steady_writes = self.after.writes.minus(&self.at_ready.writes);

        let mut rows: Vec<[String; 5]> = Vec::new();
        let mut row = |name: &str, c: String, min: String, p: String, s: String| {
            rows.push([name.to_owned(), c, min, p, s]);
        };
        row(
            "`kubectl apply` of all sets",
            secs(self.applied),
            String::new(),
            String::new(),
            String::new(),
        );
        row(
            "**wall time, apply → all Ready**",
            format!("**{}**", secs(converged)),
            format!("{} (critical path)", secs(critical_path(m))),
            format!(
                "{:.1} ms",
                converged.as_secs_f64() * 1000.0 / self.declared as f64
            ),
            format!("({} window)", secs(steady_window)),
        );
        row(
            "operator CPU (user+sys)",
            secs(self.summary.cpu),
            String::new(),
            format!(
                "{:.2} ms",
                self.summary.cpu.as_secs_f64() * 1000.0 / self.declared as f64
            ),
            secs(self.after.cpu.saturating_sub(self.at_ready.cpu)),
        );
        for (label, key, min) in [
            ("`POST /authenticate`", AUTHENTICATE, m.authenticate),
            ("`GET /carrier/tf` (searches)", SEARCH, m.searches),
            ("`POST /carrier/tf/reservations`", RESERVE, m.reservations),
            ("`POST /my/tf/orders` (purchases)", PURCHASE, m.purchases),
            ("`POST /my/tf/package` (moves)", PACKAGE, m.moves),
            ("`POST /my/tf/disconnect`", DISCONNECT, m.disconnects),
        ] {
            row(
                label,
                fmt(get(&conv, key)),
                min.to_string(),
                fmt3(per(get(&conv, key))),
                fmt(get(&steady, key)),
            );
        }
        row(
            "`GET /my/tf` pages",
            fmt(pages(&conv)),
            format!(
                "{} ({} walk + {} confirmation)",
                m.pages(),
                m.walk_pages,
                m.confirmation_pages
            ),
            fmt3(per(pages(&conv))),
            fmt(pages(&steady)),
        );
        row(
            "inventory listings (full walks)",
            fmt(conv_listings),
            "1".into(),
            fmt3(per(conv_listings)),
            format!(
                "{} ({:.2} per resync)",
                fmt(steady_listings),
                steady_listings / f64::from(STEADY_INTERVALS)
            ),
        );
        row(
            "mean listing time",
            ratio_s(
                self.at_ready.listing_seconds - self.before.listing_seconds,
                conv_listings,
            ),
            String::new(),
            String::new(),
            ratio_s(
                self.after.listing_seconds - self.at_ready.listing_seconds,
                steady_listings,
            ),
        );
        let other: BTreeMap<&String, &u64> = conv
            .iter()
            .chain(steady.iter())
            .filter(|(k, _)| {
                ![
                    AUTHENTICATE,
                    SEARCH,
                    RESERVE,
                    PURCHASE,
                    PACKAGE,
                    DISCONNECT,
                    LIST_INVENTORY,
                    LIST_INVENTORY_V3,
                ]
                .contains(&k.as_str())
            })
            .collect();
        if !other.is_empty() {
            row(
                "other vendor requests",
                format!("{other:?}"),
                String::new(),
                String::new(),
                String::new(),
            );
        }
        row(
            "**all vendor calls**",
            format!("**{}**", fmt(total(&conv))),
            format!(
                "**{}** (ratio {:.2}×)",
                m.total(),
                total(&conv) / m.total() as f64
            ),
            format!("**{}**", fmt3(per(total(&conv)))),
            format!("**{}**", fmt(total(&steady))),
        );
        row(
            "vendor mutations (ledger)",
            ledger_summary(self.converge_ledger),
            String::new(),
            String::new(),
            ledger_summary(self.steady_ledger),
        );
        row(
            "numbers bought",
            self.converge_ledger
                .iter()
                .filter(|e| e.kind == LedgerKind::Purchase)
                .map(|e| e.numbers.len())
                .sum::<usize>()
                .to_string(),
            self.work.numbers_to_buy().to_string(),
            String::new(),
            String::new(),
        );
        row(
            "status writes (API server)",
            fmt(conv_writes.status),
            String::new(),
            fmt3(per(conv_writes.status)),
            fmt(steady_writes.status),
        );
        row(
            "set writes (incl. `kubectl apply`) / Events written",
            format!("{} / {}", fmt(conv_writes.sets), fmt(conv_writes.events)),
            String::new(),
            String::new(),
            format!(
                "{} / {}",
                fmt(steady_writes.sets),
                fmt(steady_writes.events)
            ),
        );
        row(
            "reconciles",
            fmt(self.at_ready.reconciles - self.before.reconciles),
            String::new(),
            fmt3(per(self.at_ready.reconciles - self.before.reconciles)),
            fmt(self.after.reconciles - self.at_ready.reconciles),
        );
        row(
            "operator peak RSS (VmHWM)",
            mib(self.hwm_converged),
            String::new(),
            String::new(),
            format!("{} (VmRSS {})", mib(self.hwm_steady), mib(self.rss_steady)),
        );

        let mut out = String::new();
        let _ = writeln!(out, "\n### {}\n", self.title);
        let _ = writeln!(
            out,
            "{} sets, {} managed numbers, {} numbers in the account before; release={}; resync {}s; steady state {} × resync; sets Ready after it: {}/{}; 1-min load average {}\n",
            self.sets,
            self.declared,
            self.inventory_before,
            !cfg!(debug_assertions),
            resync().as_secs(),
            STEADY_INTERVALS,
            self.still_ready,
            self.sets,
            self.load,
        );
        let _ = writeln!(
            out,
            "| figure | convergence | physical minimum | per managed number | steady state |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for [a, b, c, d, e] in rows {
            let _ = writeln!(out, "| {a} | {b} | {c} | {d} | {e} |");
        }
        let _ = writeln!(out, "\nsteady state per interval:\n");
        let _ = writeln!(
            out,
            "| interval | vendor calls | pages | not pages | full walks | status writes | reconciles | operator CPU |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (k, i) in self.summary.steady.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                k + 1,
                i.calls.total(),
                i.calls.pages,
                i.calls.non_listing(),
                fmt(i.listings),
                fmt(i.writes.status),
                fmt(i.reconciles),
                secs2(i.cpu)
            );
        }
        if !self.summary.latency.is_empty() {
            let _ = writeln!(
                out,
                "\nlatency tries (after the steady state; operator VmHWM at the end {}):\n",
                mib(self.hwm_end)
            );
            let _ = writeln!(
                out,
                "| try | change | number | apply → first mutation | apply → Ready | vendor calls (by endpoint) |"
            );
            let _ = writeln!(out, "|---:|---|---|---:|---:|---|");
            for (k, t) in self.summary.latency.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| {} | {:?} | {} | {:.3} s | {} | {} ({}) |",
                    k + 1,
                    t.change,
                    t.number,
                    t.latency,
                    secs(t.ready_after),
                    t.calls.total(),
                    t.calls.by_endpoint()
                );
            }
        }
        out
    }
}

async fn sample(sim: &Simulator, op: &Operator) -> Sample {
    let metrics = op.metrics().unwrap_or_default();
    let writes = tokio::task::spawn_blocking(api_writes)
        .await
        .expect("reading the API server's metrics");
    Sample {
        requests: sim.request_counts(),
        ledger: sim.ledger().len(),
        listings: metric_sum(
            &metrics,
            "tollfree_inventory_listing_duration_seconds_count",
        ),
        listing_seconds: metric_sum(&metrics, "tollfree_inventory_listing_duration_seconds_sum"),
        reconciles: metric_sum(&metrics, "tollfree_reconciles_total"),
        cpu: proc_cpu(op.pid()).unwrap_or_default(),
        writes,
    }
}

/// The API server's count of writes so far (`kubectl get --raw /metrics`).
fn api_writes() -> ApiWrites {
    let text = ControlPlane::shared().kubectl_ok(&["get", "--raw", "/metrics"]);
    api_writes_of(&text)
}

/// Sums `apiserver_request_total` over writing verbs, by what was written.
fn api_writes_of(metrics: &str) -> ApiWrites {
    const WRITING: [&str; 6] = [
        "POST",
        "PUT",
        "PATCH",
        "APPLY",
        "DELETE",
        "DELETECOLLECTION",
    ];
    let mut writes = ApiWrites::default();
    for line in metrics.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        if !WRITING.contains(&label(labels, "verb").unwrap_or("")) {
            continue;
        }
        match (label(labels, "resource"), label(labels, "subresource")) {
            (Some("tollfreenumbersets"), Some("status")) => writes.status += value,
            (Some("tollfreenumbersets"), None | Some("")) => writes.sets += value,
            (Some("events"), _) => writes.events += value,
            _ => {}
        }
    }
    writes
}

/// The value of `name` in a Prometheus label set `a="1",b="2"`.
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("{name}=\"");
    let start = labels
        .match_indices(&needle)
        .find(|(i, _)| *i == 0 || labels.as_bytes()[i - 1] == b',')?
        .0
        + needle.len();
    let end = labels[start..].find('"')? + start;
    Some(&labels[start..end])
}

/// A field of `/proc/<pid>/status` in KiB (e.g. `VmHWM`).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// User + system CPU time of `pid` (`/proc/<pid>/stat`, fields 14 and 15).
fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses: state is the
    // first, so utime (field 14) is index 11 and stime index 12.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / clock_ticks()))
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Watches the namespace until `expected` sets are all Ready; on timeout, says
/// how many were.
async fn wait_all_ready(
    api: Api<TollFreeNumberSet>,
    expected: usize,
    timeout: Duration,
) -> Result<(), String> {
    let mut ready: HashMap<String, bool> = HashMap::new();
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, stream.try_next()).await {
            Err(_) => {
                let n = ready.values().filter(|r| **r).count();
                let not: Vec<&String> =
                    ready.iter().filter(|(_, r)| !**r).map(|(k, _)| k).collect();
                return Err(format!("{n}/{expected} Ready; not Ready: {not:?}"));
            }
            Ok(Ok(Some(set))) => {
                ready.insert(
                    set.metadata.name.clone().unwrap_or_default(),
                    is_ready(&set),
                );
                if ready.len() >= expected && ready.values().all(|r| *r) {
                    return Ok(());
                }
            }
            Ok(Ok(None)) => return Err("the watch ended".into()),
            Ok(Err(e)) => eprintln!("watch error (retrying): {e}"),
        }
    }
}

async fn count_ready(api: &Api<TollFreeNumberSet>) -> usize {
    api.list(&Default::default())
        .await
        .map(|l| l.items.iter().filter(|s| is_ready(s)).count())
        .unwrap_or(0)
}

fn ledger_summary(ledger: &[LedgerEntry]) -> String {
    if ledger.is_empty() {
        return "0".into();
    }
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in ledger {
        let x = by.entry(format!("{:?}", e.kind)).or_default();
        x.0 += 1;
        x.1 += e.numbers.len();
    }
    by.iter()
        .map(|(k, (calls, numbers))| format!("{k} {calls} ({numbers} nos.)"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ratio_s(seconds: f64, n: f64) -> String {
    if n == 0.0 {
        "–".into()
    } else {
        format!("{:.2} s", seconds / n)
    }
}

/// `/proc/loadavg`'s 1-minute figure: how busy the shared machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".into())
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn secs2(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn fmt(v: f64) -> String {
    format!("{v:.0}")
}

fn fmt3(v: f64) -> String {
    format!("{v:.3}")
}

// ---------------------------------------------------------------------------
// Unit tests of the minimum and of the report's arithmetic (not ignored: no
// cluster, no operator)
// ---------------------------------------------------------------------------

fn minimum_of(bench: &Bench) -> Minimum {
    Minimum::of(&Work::of(&bench.seeds, &bench.sets))
}

#[test]
fn the_minimum_of_one_set_buying_10_is_auth_one_page_one_reserve_one_purchase_one_confirmation() {
    let m = minimum_of(&scenario_a());
    assert_eq!(
        m,
        Minimum {
            authenticate: 1,
            walk_pages: 1,
            searches: 0,
            reservations: 1,
            purchases: 1,
            moves: 0,
            disconnects: 0,
            confirmation_pages: 1,
        }
    );
    assert_eq!(m.total(), 5);
}

#[test]
fn the_minimum_of_100_sets_adopting_2000_with_500_moves_in_4000_is_161() {
    let bench = scenario_c(1.0);
    assert_eq!(bench.seeds.len(), 4000);
    let m = minimum_of(&bench);
    // 1 + 40 pages + 100 moves (one per target package) + 20 confirmation
    // pages (2,000 numbers in the 100 touched packages).
    assert_eq!((m.walk_pages, m.moves, m.confirmation_pages), (40, 100, 20));
    assert_eq!(m.total(), 161);
}

#[test]
fn the_minimum_of_200_sets_adopting_10000_with_1000_moves_in_20000_is_501() {
    let bench = scenario_d(1.0);
    assert_eq!(bench.seeds.len(), 20_000);
    assert_eq!(bench.untouched.len(), 10_000);
    let work = Work::of(&bench.seeds, &bench.sets);
    assert_eq!(work.moves.values().sum::<usize>(), 1000);
    let m = Minimum::of(&work);
    assert_eq!(
        (m.walk_pages, m.moves, m.confirmation_pages),
        (200, 200, 100)
    );
    assert_eq!(m.total(), 501);
}

#[test]
fn the_minimum_of_20_sets_buying_adopting_and_acquiring_counts_one_search_per_acquire_that_buys() {
    let bench = scenario_b(1.0);
    let work = Work::of(&bench.seeds, &bench.sets);
    // 12 bought per set: 10 declared + 2 the acquire cannot adopt.
    assert_eq!(work.numbers_to_buy(), 240);
    assert_eq!(work.confirmation_numbers, 500);
    let m = Minimum::of(&work);
    assert_eq!(
        m,
        Minimum {
            authenticate: 1,
            walk_pages: 3,
            searches: 20,
            reservations: 20,
            purchases: 20,
            moves: 20,
            disconnects: 0,
            confirmation_pages: 5,
        }
    );
    assert_eq!(m.total(), 89);
}

#[test]
fn scaled_scenarios_keep_each_sets_size_and_shrink_the_account() {
    let bench = scenario_d(0.1);
    assert_eq!(bench.sets.len(), 20);
    assert_eq!(bench.seeds.len(), 2000);
    let m = minimum_of(&bench);
    assert_eq!((m.walk_pages, m.moves, m.confirmation_pages), (20, 20, 10));
    assert_eq!(scenario_b(0.01).sets.len(), 1, "never fewer than one set");
}

#[test]
fn an_empty_account_is_still_one_page_and_a_full_last_page_needs_no_extra_one() {
    let mut work = Work::default();
    assert_eq!(Minimum::of(&work).walk_pages, 1);
    work.inventory_before = 100;
    assert_eq!(Minimum::of(&work).walk_pages, 1);
    work.inventory_before = 101;
    assert_eq!(Minimum::of(&work).walk_pages, 2);
    // Nothing to change: no confirmation listing.
    assert_eq!(Minimum::of(&work).confirmation_pages, 0);
    assert_eq!(Minimum::of(&work).total(), 3);
}

#[test]
fn reservations_are_per_set_purchases_and_moves_merge_sets_per_package_and_options() {
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let owned = pick.fresh(&[800], 150);
    let seeds: Vec<(String, u64)> = owned.iter().map(|n| (n.clone(), 1)).collect();
    // Two sets buying 60 each into package 10: 2 reservations, 2 purchases
    // (120 numbers > 100); a third set buys 5 into 10 with other order
    // options: its own purchase. 150 moves into package 20 from two sets: 2.
    let buy = |n: usize, pick: &mut Numbers| pick.purchasable(&[833, 844, 855, 866], n);
    let mut sets = vec![
        SetDef::single("s1", 10, buy(60, &mut pick), None),
        SetDef::single("s2", 10, buy(60, &mut pick), None),
        SetDef::single("s3", 10, buy(5, &mut pick), None),
        SetDef::single("s4", 20, owned[..75].to_vec(), None),
        SetDef::single("s5", 20, owned[75..].to_vec(), None),
    ];
    sets[2].order_defaults = Some("{serviceArea: 4}".into());
    let work = Work::of(&seeds, &sets);
    let m = Minimum::of(&work);
    assert_eq!(m.reservations, 3);
    assert_eq!(m.purchases, 3);
    assert_eq!(m.moves, 2);
    // Touched: 10 (125 numbers) and 20 (150): 275 → 3 pages.
    assert_eq!(work.confirmation_numbers, 275);
    assert_eq!(m.confirmation_pages, 3);
    assert_eq!(m.walk_pages, 2);
    assert_eq!(m.total(), 1 + 2 + 3 + 3 + 2 + 3);
}

#[test]
fn disconnects_are_one_call_per_100_numbers_whatever_their_packages() {
    let work = Work {
        inventory_before: 250,
        disconnects: 201,
        disconnect_packages: [1, 2].into_iter().collect(),
        confirmation_numbers: 49,
        ..Work::default()
    };
    let m = Minimum::of(&work);
    assert_eq!(m.disconnects, 3);
    assert_eq!(m.confirmation_pages, 1, "at least one page when touched");
}

#[test]
fn an_acquire_that_can_adopt_everything_needs_no_search_and_no_purchase() {
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let spare = pick.fresh(&[888], 3);
    let seeds: Vec<(String, u64)> = spare.iter().map(|n| (n.clone(), 7)).collect();
    let sets = vec![SetDef::single("s", 7, Vec::new(), Some((3, 888)))];
    let m = Minimum::of(&Work::of(&seeds, &sets));
    assert_eq!((m.searches, m.reservations, m.purchases), (0, 0, 0));
    assert_eq!(m.total(), 2, "auth + one page");
}

#[test]
fn nearest_rank_percentiles_of_10_tries_are_the_5th_and_9th_values() {
    let v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
    assert_eq!(percentile(&v, 50.0), Some(5.0));
    assert_eq!(percentile(&v, 90.0), Some(9.0));
    assert_eq!(percentile(&v, 100.0), Some(10.0));
    assert_eq!(percentile(&[], 50.0), None);
}

#[test]
fn status_writes_are_read_from_the_api_servers_request_counter() {
    let text = "\
# HELP apiserver_request_total x
apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"tollfree.dev\",resource=\"tollfreenumbersets\",scope=\"resource\",subresource=\"status\",verb=\"APPLY\",version=\"v1alpha1\"} 7
apiserver_request_total{code=\"409\",component=\"apiserver\",dry_run=\"\",group=\"tollfree.dev\",resource=\"tollfreenumbersets\",scope=\"resource\",subresource=\"status\",verb=\"PATCH\",version=\"v1alpha1\"} 2
apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"tollfree.dev\",resource=\"tollfreenumbersets\",scope=\"resource\",subresource=\"status\",verb=\"GET\",version=\"v1alpha1\"} 50
apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"tollfree.dev\",resource=\"tollfreenumbersets\",scope=\"resource\",subresource=\"\",verb=\"PATCH\",version=\"v1alpha1\"} 3
apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"events.k8s.io\",resource=\"events\",scope=\"resource\",subresource=\"\",verb=\"POST\",version=\"v1\"} 4
apiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"secrets\",scope=\"resource\",subresource=\"\",verb=\"PATCH\",version=\"v1\"} 9
";
    let w = api_writes_of(text);
    assert_eq!((w.status, w.sets, w.events), (9.0, 3.0, 4.0));
}
