//! The toolkit of the end-to-end scenarios (`tests/e2e_scenarios.rs`,
//! `tests/e2e_safety.rs`): one namespace, one simulator and one operator per
//! test, and readers for both sides of every assertion — the set as `kubectl`
//! shows it (status, conditions, Events) and the vendor as the simulator knows
//! it (inventory, ledger, request counts).
//!
//! Everything here blocks: the simulator runs on its own thread and the
//! operator in its own process, so a test may poll with `kubectl` and sleep.
//! When a wait times out, the failure shows the set's YAML, its Events, the
//! simulator's inventory and ledger (and, on drop, the operator's log).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use intelepeer_sim::{LedgerEntry, LedgerKind, SimConfig};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::Value;
use tollfree_operator::crd::{NumberEntry, NumberState, TollFreeNumberSet};

use super::{ControlPlane, Operator, OperatorBuilder, TestNs, TestSim, describe};

/// The account Secret every scenario's sets reference.
pub const ACCOUNT_SECRET: &str = "intelepeer-account";
/// The operator's `--resync-interval` in the scenarios.
pub const RESYNC: Duration = Duration::from_secs(3);
/// How long the simulator takes to complete an order in the scenarios.
pub const ORDER_DELAY: Duration = Duration::from_millis(200);
/// How long a scenario waits for a set to converge.
pub const CONVERGE: Duration = Duration::from_secs(45);
/// Between two looks at the cluster (each look runs `kubectl`).
const POLL: Duration = Duration::from_millis(400);

/// The vendor request that lists the inventory.
pub const LIST_INVENTORY: &str = "GET /_rest/v4/my/tf";
/// The vendor request that authenticates.
pub const AUTHENTICATE: &str = "POST /_rest/v4/authenticate";

/// `SimConfig::default()` with fast orders.
pub fn sim_config() -> SimConfig {
    SimConfig {
        order_delay: ORDER_DELAY,
        ..SimConfig::default()
    }
}

/// A TollFreeNumberSet manifest named `name`, using [`ACCOUNT_SECRET`], with
/// `spec_rest` (YAML indented by two spaces, e.g. `  packages: [...]`) after
/// `accountRef`.
pub fn set_manifest(name: &str, spec_rest: &str) -> String {
    format!(
        "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata:\n  name: {name}\nspec:\n  accountRef: {{name: {ACCOUNT_SECRET}}}\n{spec_rest}"
    )
}

/// One test's world: a namespace, a simulator, and an operator scoped to the
/// namespace. Dropping it stops the operator first (printing its log if the
/// test is failing), then the simulator.
#[derive(Debug)]
pub struct Scenario {
    // Field order is drop order: the operator must not outlive its vendor.
    operator: Option<Operator>,
    sim: TestSim,
    ns: TestNs,
}

impl Scenario {
    /// A namespace with the account Secret (`demo` / `demo`), a simulator with
    /// [`sim_config`] and a running operator.
    pub fn start() -> Scenario {
        let mut s = Scenario::without_operator(sim_config());
        s.ns.create_account_secret(ACCOUNT_SECRET);
        s.start_operator();
        s
    }

    /// A namespace and a simulator with `config`; no Secret, no operator yet.
    pub fn without_operator(config: SimConfig) -> Scenario {
        Scenario::without_operator_on(ControlPlane::shared(), config)
    }

    /// Like [`Scenario::without_operator`], on control plane `cp` (e.g. a
    /// [`ControlPlane::dedicated`] one): the namespace, every `kubectl` and
    /// the operator use it.
    pub fn without_operator_on(cp: &'static ControlPlane, config: SimConfig) -> Scenario {
        Scenario {
            operator: None,
            sim: TestSim::with_config(config),
            ns: TestNs::create_on(cp),
        }
    }

    /// Starts the operator: `--namespace` this namespace, `--resync-interval`
    /// [`RESYNC`]. A previous operator must have been stopped.
    pub fn start_operator(&mut self) {
        self.start_operator_with(|b| b);
    }

    /// Starts the operator as [`Scenario::start_operator`] does, with the
    /// builder changed by `customize` first (extra arguments come after the
    /// defaults, so a second `--resync-interval` wins).
    pub fn start_operator_with(
        &mut self,
        customize: impl FnOnce(OperatorBuilder) -> OperatorBuilder,
    ) {
        assert!(
            self.operator.is_none(),
            "an operator is already running in this scenario"
        );
        let builder = Operator::builder(self.sim.url())
            .control_plane(self.cp())
            .namespace(self.ns.name())
            .arg("--resync-interval")
            .arg(&format!("{}s", RESYNC.as_secs()));
        self.operator = Some(customize(builder).start());
    }

    /// The control plane the scenario runs on.
    pub fn cp(&self) -> &'static ControlPlane {
        self.ns.control_plane()
    }

    /// Whether the operator is running (started and not killed).
    pub fn has_operator(&self) -> bool {
        self.operator.is_some()
    }

    /// SIGKILLs the operator, like a crashed pod, and prints its log.
    pub fn kill_operator(&mut self) {
        if let Some(mut op) = self.operator.take() {
            op.kill();
            eprintln!(
                "===== killed operator's log ({}) =====\n{}\n===== end =====",
                op.log_path().display(),
                op.logs()
            );
        }
    }

    /// SIGKILLs the operator without printing its log (a crash loop kills
    /// it dozens of times); returns where the log is.
    pub fn kill_operator_silently(&mut self) -> Option<std::path::PathBuf> {
        self.operator.take().map(|mut op| {
            op.kill();
            op.log_path().to_owned()
        })
    }

    /// The running operator.
    pub fn operator(&self) -> &Operator {
        self.operator.as_ref().expect("the operator is running")
    }

    /// The simulator.
    pub fn sim(&self) -> &intelepeer_sim::Simulator {
        self.sim.sim()
    }

    /// The simulator's base URL (for `--intelepeer-url` of other commands).
    pub fn sim_url(&self) -> &str {
        self.sim.url()
    }

    /// The namespace's name.
    pub fn ns(&self) -> &str {
        self.ns.name()
    }

    /// The namespace.
    pub fn test_ns(&self) -> &TestNs {
        &self.ns
    }

    /// `kubectl apply -f -` in the namespace; asserts success.
    #[track_caller]
    pub fn apply(&self, yaml: &str) -> String {
        self.ns.apply(yaml)
    }

    /// `kubectl ARGS --namespace NS`; asserts success and returns stdout.
    #[track_caller]
    pub fn kubectl(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--namespace", self.ns.name()]);
        self.cp().kubectl_ok(&all)
    }

    /// The set as `kubectl get tfns NAME -o json` shows it, or `None` if it
    /// does not exist.
    pub fn try_set(&self, name: &str) -> Option<TollFreeNumberSet> {
        let out = self.cp().kubectl(&[
            "get",
            "tfns",
            name,
            "--namespace",
            self.ns.name(),
            "-o",
            "json",
        ]);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("NotFound") || stderr.contains("not found"),
                "kubectl get tfns {name}: {}",
                describe(&out)
            );
            return None;
        }
        Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "kubectl get tfns {name} -o json does not decode as a TollFreeNumberSet: {e}\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        }))
    }

    /// The set; it must exist.
    #[track_caller]
    pub fn set(&self, name: &str) -> TollFreeNumberSet {
        self.try_set(name)
            .unwrap_or_else(|| panic!("tfns {name} does not exist\n{}", self.evidence(name)))
    }

    /// Polls the set until `check` holds, and returns it; on timeout, panics
    /// with `what` and the evidence (set YAML, Events, inventory, ledger).
    #[track_caller]
    pub fn wait_set(
        &self,
        name: &str,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&TollFreeNumberSet) -> bool,
    ) -> TollFreeNumberSet {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(set) = self.try_set(name)
                && check(&set)
            {
                return set;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for tfns {name}: {what}\n{}",
                    self.evidence(name)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the set is Ready=True for its current generation.
    #[track_caller]
    pub fn wait_ready(&self, name: &str) -> TollFreeNumberSet {
        self.wait_set(
            name,
            CONVERGE,
            "Ready=True at the current generation",
            |s| observed_current(s) && condition_is(s, "Ready", "True", None),
        )
    }

    /// Waits until condition `type_` has `status` and `reason` at the current
    /// generation.
    #[track_caller]
    pub fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> TollFreeNumberSet {
        self.wait_set(
            name,
            CONVERGE,
            &format!("{type_}={status} with reason {reason} at the current generation"),
            |s| observed_current(s) && condition_is(s, type_, status, Some(reason)),
        )
    }

    /// Waits until the set no longer exists.
    #[track_caller]
    pub fn wait_gone(&self, name: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.try_set(name).is_some() {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for tfns {name} to disappear\n{}",
                    self.evidence(name)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Every accepted vendor mutation, oldest first.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.sim().ledger()
    }

    /// The account's inventory: number → package.
    pub fn inventory(&self) -> BTreeMap<String, u64> {
        self.sim()
            .inventory()
            .into_iter()
            .map(|n| (n.number, n.package_id))
            .collect()
    }

    /// Vendor requests so far by `"METHOD /path"`.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.sim().request_counts()
    }

    /// The namespace's Events (`kubectl get events -o json`).
    pub fn events(&self) -> Vec<EventLine> {
        let out = self.kubectl(&["get", "events", "-o", "json"]);
        let list: Value = serde_json::from_str(&out).expect("kubectl printed JSON");
        list["items"]
            .as_array()
            .map(|items| items.iter().map(EventLine::from_json).collect())
            .unwrap_or_default()
    }

    /// The Events about set `name`.
    pub fn events_of(&self, name: &str) -> Vec<EventLine> {
        self.events()
            .into_iter()
            .filter(|e| e.object == name)
            .collect()
    }

    /// What a failing scenario prints: the set, its Events, the vendor's side.
    pub fn evidence(&self, name: &str) -> String {
        let cp = self.cp();
        let yaml = cp.kubectl(&[
            "get",
            "tfns",
            name,
            "--namespace",
            self.ns.name(),
            "-o",
            "yaml",
        ]);
        let events = cp.kubectl(&["get", "events", "--namespace", self.ns.name()]);
        format!(
            "--- kubectl get tfns {name} -o yaml ---\n{}{}\n--- kubectl get events ---\n{}\n--- inventory ---\n{:#?}\n--- ledger ---\n{}\n--- requests ---\n{:#?}",
            String::from_utf8_lossy(&yaml.stdout),
            String::from_utf8_lossy(&yaml.stderr),
            String::from_utf8_lossy(&events.stdout),
            self.inventory(),
            ledger_text(&self.ledger()),
            self.requests(),
        )
    }
}

/// A Kubernetes Event, as `kubectl get events -o json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// CamelCase reason.
    pub reason: String,
    /// The message (`note` in events.k8s.io/v1).
    pub message: String,
    /// The name of the object it is about.
    pub object: String,
    /// How many times it was observed (`series.count`, or `count`; 1 when
    /// neither is set).
    pub count: u64,
}

impl EventLine {
    fn from_json(v: &Value) -> EventLine {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let message = if v["message"].is_string() {
            s(&v["message"])
        } else {
            s(&v["note"])
        };
        let object = if v["involvedObject"]["name"].is_string() {
            s(&v["involvedObject"]["name"])
        } else {
            s(&v["regarding"]["name"])
        };
        let count = v["series"]["count"]
            .as_u64()
            .or_else(|| v["count"].as_u64())
            .unwrap_or(1);
        EventLine {
            type_: s(&v["type"]),
            reason: s(&v["reason"]),
            message,
            object,
            count,
        }
    }

    /// Whether the reason or message contains `needle` (case-insensitive).
    pub fn mentions(&self, needle: &str) -> bool {
        let needle = needle.to_lowercase();
        self.reason.to_lowercase().contains(&needle)
            || self.message.to_lowercase().contains(&needle)
    }
}

/// The condition of `type_`, if the set has one.
pub fn condition<'a>(set: &'a TollFreeNumberSet, type_: &str) -> Option<&'a Condition> {
    set.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

/// Whether condition `type_` has `status` (and `reason`, when given).
pub fn condition_is(
    set: &TollFreeNumberSet,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> bool {
    condition(set, type_)
        .is_some_and(|c| c.status == status && reason.is_none_or(|r| c.reason == r))
}

/// Whether the set is Ready for its current generation.
pub fn is_ready(set: &TollFreeNumberSet) -> bool {
    observed_current(set) && condition_is(set, "Ready", "True", None)
}

/// Whether the status describes the set's current generation.
pub fn observed_current(set: &TollFreeNumberSet) -> bool {
    let observed = set.status.as_ref().and_then(|s| s.observed_generation);
    observed.is_some() && observed == set.metadata.generation
}

/// The status line of `number`, if the set has one.
pub fn number_entry<'a>(set: &'a TollFreeNumberSet, number: &str) -> Option<&'a NumberEntry> {
    set.status
        .as_ref()
        .and_then(|s| s.numbers.iter().find(|n| n.number == number))
}

/// The state of `number` in the set's status.
pub fn number_state(set: &TollFreeNumberSet, number: &str) -> Option<NumberState> {
    number_entry(set, number).and_then(|n| n.state)
}

/// The ledger entries of one kind.
pub fn entries(ledger: &[LedgerEntry], kind: LedgerKind) -> Vec<&LedgerEntry> {
    ledger.iter().filter(|e| e.kind == kind).collect()
}

/// Every number in ledger entries of `kind`, with repeats (a number bought
/// twice appears twice).
pub fn numbers_of(ledger: &[LedgerEntry], kind: LedgerKind) -> Vec<String> {
    entries(ledger, kind)
        .into_iter()
        .flat_map(|e| e.numbers.iter().cloned())
        .collect()
}

/// How many times each number appears in entries of `kind`.
pub fn tally(ledger: &[LedgerEntry], kind: LedgerKind) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in numbers_of(ledger, kind) {
        *out.entry(n).or_default() += 1;
    }
    out
}

/// A [`tally`] in which each of `numbers` appears exactly once.
pub fn once(numbers: &[&str]) -> BTreeMap<String, usize> {
    numbers.iter().map(|n| ((*n).to_owned(), 1)).collect()
}

/// The ledger, one entry a line.
pub fn ledger_text(ledger: &[LedgerEntry]) -> String {
    ledger
        .iter()
        .map(|e| {
            format!(
                "{} {:?} {:?} package={:?} order={:?} reservations={:?} ref={:?}",
                e.time,
                e.kind,
                e.numbers,
                e.package_id,
                e.order_id,
                e.reservation_ids,
                e.reference_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The requests made between two [`Scenario::requests`] snapshots.
pub fn requests_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}
