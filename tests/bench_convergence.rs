//! Convergence benchmark: the built operator binary against the real control
//! plane and the IntelePeer simulator, at three sizes. It prints figures; it
//! asserts only correctness (every number where it was declared, nothing
//! bought twice, nothing disconnected, no mutation while idle), never a time.
//!
//! ```text
//! cargo test --release --test bench_convergence -- --ignored --nocapture
//! ```
//!
//! `--release` matters: `CARGO_BIN_EXE_tollfree-operator` is the binary of the
//! profile under test, so without it the *debug* operator is measured. The
//! scenarios take a lock, so they run one after another even without
//! `--test-threads=1`; each has its own namespace, simulator and operator
//! (`--namespace`, `--resync-interval` [`RESYNC`], `RUST_LOG=info`, every
//! other flag at its default — in particular the vendor rate limit of 10
//! requests/s per account).
//!
//! Scenarios (one vendor account each):
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
//!   set declares (must be left alone): a 4,000-number inventory, 40 pages.
//!
//! Figures, per scenario (the table's rows):
//!
//! - **wall time**: from the start of `kubectl apply` (all sets in one
//!   manifest) until a watch on the namespace has seen every set `Ready=True`
//!   at its current generation. `apply` alone is shown too.
//! - **operator CPU**: user + system time of the operator process
//!   (`/proc/<pid>/stat`), less noisy than wall time on a shared machine.
//! - **vendor calls** by endpoint, from the simulator's request counts, during
//!   convergence (total and per managed number) and during the steady state:
//!   `authenticate`; `GET /my/tf` *pages* (a full listing of N numbers is
//!   ⌈(N+1)/100⌉ pages); searches (`GET /carrier/tf`); reservations; purchase
//!   orders; package changes (moves); disconnects.
//! - **inventory listings**: full walks of `GET /my/tf`, from the operator's
//!   `tollfree_inventory_listing_duration_seconds_count`, and pages/listing.
//! - **mutations**: accepted vendor mutations (the simulator's ledger) by kind,
//!   and numbers bought.
//! - **reconciles**: `tollfree_reconciles_total` (all results).
//! - **peak RSS**: the operator's `VmHWM` (`/proc/<pid>/status`) after
//!   convergence and after the steady state, and `VmRSS` at the end.
//! - **steady state**: the same counters over 3 resync intervals after every set
//!   is Ready. The design wants listings only, about one per resync interval per
//!   *account* (not per set), and no mutation.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use intelepeer_sim::{LedgerEntry, LedgerKind, SimConfig, Simulator};
use kube::Api;
use kube::runtime::{WatchStreamExt, watcher};
use support::scenario::{ACCOUNT_SECRET, AUTHENTICATE, LIST_INVENTORY, is_ready, requests_between};
use support::{ControlPlane, Operator, TestNs, TestSim, metric_sum};
use tollfree_operator::crd::TollFreeNumberSet;

/// The operator's `--resync-interval` in every scenario.
const RESYNC: Duration = Duration::from_secs(15);
/// How many resync intervals the steady state is observed for.
const STEADY_INTERVALS: u32 = 3;
/// How long a scenario may take to converge before it is reported as stuck.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long the simulator takes to complete an order.
const ORDER_DELAY: Duration = Duration::from_millis(500);

const SEARCH: &str = "GET /_rest/v4/carrier/tf";
const RESERVE: &str = "POST /_rest/v4/carrier/tf/reservations";
const PURCHASE: &str = "POST /_rest/v4/my/tf/orders";
const PACKAGE: &str = "POST /_rest/v4/my/tf/package";
const DISCONNECT: &str = "POST /_rest/v4/my/tf/disconnect";
const LIST_INVENTORY_V3: &str = "GET /_rest/v3/my/tf";

/// Scenarios run one at a time: they would otherwise share the two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --release --test bench_convergence -- --ignored --nocapture"]
async fn a_one_set_of_10_bought_numbers() {
    let _serial = SERIAL.lock().await;
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let numbers = pick.purchasable(&[800, 833, 844, 855, 866], 10);
    let sets = vec![SetDef {
        name: "set-000".into(),
        package: 1000,
        numbers: numbers.clone(),
        acquire: None,
    }];
    let bench = Bench {
        title: "(a) 1 set × 10 declared numbers, all bought".into(),
        config,
        seeds: Vec::new(),
        expect_bought: 10,
        untouched: Vec::new(),
        sets,
    };
    bench.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --release --test bench_convergence -- --ignored --nocapture"]
async fn b_20_sets_of_25_half_adopted_half_bought() {
    let _serial = SERIAL.lock().await;
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let mut sets = Vec::new();
    let mut seeds: Vec<(String, u64)> = Vec::new();
    for i in 0..20u64 {
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
        sets.push(SetDef {
            name: format!("set-{i:03}"),
            package,
            numbers,
            acquire: Some((3, 888)),
        });
    }
    let bench = Bench {
        title: "(b) 20 sets × 25 numbers: 260 adopted (60 moved), 240 bought (40 by acquire)"
            .into(),
        config,
        seeds,
        expect_bought: 240,
        untouched: Vec::new(),
        sets,
    };
    bench.run().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --release --test bench_convergence -- --ignored --nocapture"]
async fn c_100_sets_of_20_adopted_among_2000_unowned() {
    let _serial = SERIAL.lock().await;
    let config = sim_config();
    let mut pick = Numbers::new(&config);
    let mut sets = Vec::new();
    let mut seeds: Vec<(String, u64)> = Vec::new();
    for i in 0..100u64 {
        let package = 3000 + i;
        let numbers = pick.fresh(&[800, 833, 844, 855], 20);
        for (k, n) in numbers.iter().enumerate() {
            // 15 in the right package, 5 in another one (moved).
            seeds.push((n.clone(), if k < 15 { package } else { 7777 }));
        }
        sets.push(SetDef {
            name: format!("set-{i:03}"),
            package,
            numbers,
            acquire: None,
        });
    }
    let unowned: Vec<(String, u64)> = pick
        .fresh(&[866, 877, 888], 2000)
        .into_iter()
        .map(|n| (n, 5555))
        .collect();
    seeds.extend(unowned.iter().cloned());
    let bench = Bench {
        title:
            "(c) 100 sets × 20 numbers = 2,000 adopted (500 moved), 2,000 unowned in the account"
                .into(),
        config,
        seeds,
        expect_bought: 0,
        untouched: unowned,
        sets,
    };
    bench.run().await;
}

fn sim_config() -> SimConfig {
    SimConfig {
        order_delay: ORDER_DELAY,
        ..SimConfig::default()
    }
}

/// One set of a scenario: its declared numbers in one package, and an optional
/// `acquire` of `(count, npa)` in the same package.
#[derive(Debug, Clone)]
struct SetDef {
    name: String,
    package: u64,
    numbers: Vec<String>,
    acquire: Option<(u32, u16)>,
}

impl SetDef {
    fn manifest(&self) -> String {
        let numbers = self
            .numbers
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut out = format!(
            "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata:\n  name: {}\nspec:\n  accountRef: {{name: {ACCOUNT_SECRET}}}\n  packages:\n    - packageID: {}\n      numbers: [{numbers}]\n",
            self.name, self.package
        );
        if let Some((count, npa)) = self.acquire {
            let _ = writeln!(out, "      acquire: {{count: {count}, npa: [{npa}]}}");
        }
        out
    }

    fn size(&self) -> usize {
        self.numbers.len() + self.acquire.map_or(0, |(c, _)| c as usize)
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

/// A scenario: what the account holds before, which sets are applied.
struct Bench {
    title: String,
    config: SimConfig,
    /// `(number, package)` put in the account before the operator starts.
    seeds: Vec<(String, u64)>,
    sets: Vec<SetDef>,
    /// How many numbers must be bought in total.
    expect_bought: usize,
    /// Seeded numbers no set declares: they must stay where they are.
    untouched: Vec<(String, u64)>,
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
}

impl Bench {
    async fn run(self) {
        let declared: usize = self.sets.iter().map(SetDef::size).sum();
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
            .arg(&format!("{}s", RESYNC.as_secs()))
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
        let load_start = load_average();
        let before = sample(sim.sim(), &op);
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
        let at_ready = sample(sim.sim(), &op);
        let hwm_converged = proc_status_kib(pid, "VmHWM");
        if let Err(stuck) = ready {
            panic!(
                "{}: not converged after {CONVERGE_TIMEOUT:?}: {stuck}\nrequests: {:#?}",
                self.title,
                requests_between(&before.requests, &at_ready.requests)
            );
        }

        tokio::time::sleep(RESYNC * STEADY_INTERVALS).await;
        let after = sample(sim.sim(), &op);
        let hwm_end = proc_status_kib(pid, "VmHWM");
        let rss_end = proc_status_kib(pid, "VmRSS");
        let still_ready = count_ready(&api).await;
        let load = format!("{load_start} at apply, {} at the end", load_average());

        let ledger = sim.sim().ledger();
        let converge_ledger = &ledger[before.ledger..at_ready.ledger];
        let steady_ledger = &ledger[at_ready.ledger..after.ledger];

        let report = Report {
            title: &self.title,
            sets: self.sets.len(),
            declared,
            inventory_before,
            applied,
            converged,
            before: &before,
            at_ready: &at_ready,
            after: &after,
            converge_ledger,
            steady_ledger,
            hwm_converged,
            hwm_end,
            rss_end,
            still_ready,
            load,
        };
        println!("{}", report.render());

        // Correctness, after the figures are out.
        self.verify(sim.sim(), &ledger, steady_ledger, still_ready);
        drop(op);
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
            for n in &set.numbers {
                assert_eq!(
                    inventory.get(n),
                    Some(&set.package),
                    "{}: {n} not in package {}",
                    set.name,
                    set.package
                );
            }
            if let Some((count, npa)) = set.acquire {
                let prefix = format!("+1{npa}");
                let got = inventory
                    .iter()
                    .filter(|(n, p)| **p == set.package && n.starts_with(&prefix))
                    .count();
                assert_eq!(got, count as usize, "{}: acquired {npa} numbers", set.name);
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

/// Everything one scenario printed.
struct Report<'a> {
    title: &'a str,
    sets: usize,
    declared: usize,
    inventory_before: usize,
    applied: Duration,
    converged: Duration,
    before: &'a Sample,
    at_ready: &'a Sample,
    after: &'a Sample,
    converge_ledger: &'a [LedgerEntry],
    steady_ledger: &'a [LedgerEntry],
    hwm_converged: Option<u64>,
    hwm_end: Option<u64>,
    rss_end: Option<u64>,
    still_ready: usize,
    load: String,
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
        let steady_window = RESYNC * STEADY_INTERVALS;

        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut row = |name: &str, c: String, p: String, s: String| {
            rows.push([name.to_owned(), c, p, s]);
        };
        row(
            "`kubectl apply` of all sets",
            secs(self.applied),
            String::new(),
            String::new(),
        );
        row(
            "**wall time, apply → all Ready**",
            format!("**{}**", secs(self.converged)),
            format!(
                "{:.1} ms",
                self.converged.as_secs_f64() * 1000.0 / self.declared as f64
            ),
            format!("({} window)", secs(steady_window)),
        );
        row(
            "operator CPU (user+sys)",
            secs(self.at_ready.cpu.saturating_sub(self.before.cpu)),
            format!(
                "{:.2} ms",
                self.at_ready
                    .cpu
                    .saturating_sub(self.before.cpu)
                    .as_secs_f64()
                    * 1000.0
                    / self.declared as f64
            ),
            secs(self.after.cpu.saturating_sub(self.at_ready.cpu)),
        );
        for (label, key) in [
            ("`POST /authenticate`", AUTHENTICATE),
            ("`GET /carrier/tf` (searches)", SEARCH),
            ("`POST /carrier/tf/reservations`", RESERVE),
            ("`POST /my/tf/orders` (purchases)", PURCHASE),
            ("`POST /my/tf/package` (moves)", PACKAGE),
            ("`POST /my/tf/disconnect`", DISCONNECT),
        ] {
            row(
                label,
                fmt(get(&conv, key)),
                fmt3(per(get(&conv, key))),
                fmt(get(&steady, key)),
            );
        }
        row(
            "`GET /my/tf` pages",
            fmt(pages(&conv)),
            fmt3(per(pages(&conv))),
            fmt(pages(&steady)),
        );
        row(
            "inventory listings (full walks)",
            fmt(conv_listings),
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
            ratio_s(
                self.after.listing_seconds - self.at_ready.listing_seconds,
                steady_listings,
            ),
        );
        row(
            "pages per listing",
            ratio(pages(&conv), conv_listings),
            String::new(),
            ratio(pages(&steady), steady_listings),
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
            );
        }
        row(
            "**all vendor calls**",
            format!("**{}**", fmt(total(&conv))),
            format!("**{}**", fmt3(per(total(&conv)))),
            format!("**{}**", fmt(total(&steady))),
        );
        row(
            "vendor mutations (ledger)",
            ledger_summary(self.converge_ledger),
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
            String::new(),
            String::new(),
        );
        row(
            "reconciles",
            fmt(self.at_ready.reconciles - self.before.reconciles),
            fmt3(per(self.at_ready.reconciles - self.before.reconciles)),
            fmt(self.after.reconciles - self.at_ready.reconciles),
        );
        row(
            "operator peak RSS (VmHWM)",
            mib(self.hwm_converged),
            String::new(),
            format!("{} (VmRSS {})", mib(self.hwm_end), mib(self.rss_end)),
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
            RESYNC.as_secs(),
            STEADY_INTERVALS,
            self.still_ready,
            self.sets,
            self.load,
        );
        let _ = writeln!(
            out,
            "| figure | convergence | per managed number | steady state |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for [a, b, c, d] in rows {
            let _ = writeln!(out, "| {a} | {b} | {c} | {d} |");
        }
        let steady_non_listing: u64 = steady
            .iter()
            .filter(|(k, _)| k.as_str() != LIST_INVENTORY && k.as_str() != LIST_INVENTORY_V3)
            .map(|(_, v)| v)
            .sum();
        let _ = writeln!(
            out,
            "\nsteady state: {steady_non_listing} non-listing vendor calls, {} mutations, {:.2} listings per resync interval for 1 account and {} sets{}",
            self.steady_ledger.len(),
            steady_listings / f64::from(STEADY_INTERVALS),
            self.sets,
            if steady_listings > 2.0 * f64::from(STEADY_INTERVALS) {
                "  <-- WARNING: more than ~1 listing per resync per account"
            } else {
                ""
            }
        );
        out
    }
}

fn sample(sim: &Simulator, op: &Operator) -> Sample {
    let metrics = op.metrics().unwrap_or_default();
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
    }
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

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn fmt(v: f64) -> String {
    format!("{v:.0}")
}

fn fmt3(v: f64) -> String {
    format!("{v:.3}")
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "–".into()
    } else {
        format!("{:.1}", a / b)
    }
}
