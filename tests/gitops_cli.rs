//! The GitOps commands end to end, on the real API server with the operator
//! and the simulated vendor (issue 10): `plan` against the live sets (what a
//! pull-request pipeline runs), `approve` (what a person runs), and `import`
//! (onboarding an account of 5,000 numbers).
//!
//! Each test has its own namespace, simulator and operator, and its own
//! IntelePeer login (so `status.account` differs from every other test's:
//! `plan` reads the sets of every namespace of the shared control plane and
//! plans only those of its login, as the operator does).

mod cli;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{OUTSIDE_ENV, Run};
use intelepeer_sim::LedgerKind;
use serde_json::Value;
use support::scenario::{ACCOUNT_SECRET, Scenario, is_ready, observed_current, sim_config};
use support::{ControlPlane, random_suffix};
use tollfree_operator::crd::{APPROVE_ANNOTATION, TollFreeNumberSet};

const BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");

/// Numbers of the simulator's pool (purchasable).
const C: &str = "+18885551201";
const D: &str = "+18885551202";
/// The numbers of the issue's report: owned by a live set.
const N1: &str = "+18552391933";
const N2: &str = "+18552391934";
const P1: u64 = 30744;

/// One test's world, logged in as its own IntelePeer user.
struct World {
    s: Scenario,
    user: String,
    account: u64,
    dir: PathBuf,
}

impl World {
    fn start() -> World {
        let user = format!("ops-{}", random_suffix());
        let account = 7_000_000 + u64::from(fastrand_u16());
        let config = sim_config().with_user(user.clone(), "pw", account);
        let mut s = Scenario::without_operator(config);
        s.test_ns().create_secret(ACCOUNT_SECRET, &user, "pw");
        s.start_operator();
        let dir = std::env::temp_dir().join(format!("tollfree-gitops-{}", random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        World {
            s,
            user,
            account,
            dir,
        }
    }

    /// `status.account` of this world's sets.
    fn identity(&self) -> String {
        format!("user {}", self.user)
    }

    fn seed(&self, numbers: &[&str], package: u64) {
        self.s
            .sim()
            .seed_inventory_in(self.account, numbers, package);
    }

    /// Writes `rel` under the test's directory.
    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dirs");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    /// A set manifest in this namespace.
    fn set(&self, name: &str, spec_rest: &str) -> String {
        format!(
            "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  accountRef: {{name: {ACCOUNT_SECRET}}}\n{spec_rest}",
            ns = self.s.ns()
        )
    }

    /// The command with this world's cluster, vendor and credentials, and
    /// nothing of the environment running the tests.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args);
        for var in OUTSIDE_ENV {
            command.env_remove(var);
        }
        command
            .env("HOME", &self.dir)
            .env("KUBECONFIG", ControlPlane::shared().kubeconfig_path())
            .env("INTELEPEER_URL", self.s.sim_url())
            .env("INTELEPEER_USERNAME", &self.user)
            .env("INTELEPEER_PASSWORD", "pw");
        command
    }

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_as(ControlPlane::shared().kubeconfig_path(), args, stdin)
    }

    /// Like [`World::run`] with another kubeconfig (another identity).
    fn run_as(&self, kubeconfig: &Path, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .env("KUBECONFIG", kubeconfig)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let output = child.wait_with_output().expect("exits");
        Run::of(&output)
    }

    /// `plan ARGS`, checking the vendor saw no mutation meanwhile.
    fn plan(&self, args: &[&str]) -> Run {
        let before = self.s.ledger().len();
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        let run = self.run(&all, "");
        assert_eq!(
            self.s.ledger().len(),
            before,
            "the ledger grew during plan: {run:?}"
        );
        run
    }

    fn annotation(&self, name: &str) -> Option<String> {
        self.s
            .set(name)
            .metadata
            .annotations
            .and_then(|a| a.get(APPROVE_ANNOTATION).cloned())
    }

    /// Waits until the set's status names a plan hash for its current spec.
    fn wait_hash(&self, name: &str, not: Option<&str>) -> String {
        let set = self
            .s
            .wait_set(name, Duration::from_secs(45), "a plan hash", |s| {
                observed_current(s)
                    && plan_hash(s).is_some_and(|h| !h.is_empty() && Some(h.as_str()) != not)
            });
        plan_hash(&set).unwrap_or_default()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fastrand_u16() -> u16 {
    let suffix = random_suffix();
    u16::from_str_radix(&suffix[..4], 16).unwrap_or(1)
}

fn plan_hash(set: &TollFreeNumberSet) -> Option<String> {
    set.status
        .as_ref()
        .and_then(|s| s.plan.as_ref())
        .map(|p| p.hash.clone())
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

fn ids(doc: &Value) -> Vec<String> {
    doc["sets"]
        .as_array()
        .map(|sets| {
            sets.iter()
                .map(|s| s["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The issue's report: a pull request adding a set with
/// `acquire: {count: 2, npa: [855]}` previewed "no changes; adopt" for two
/// numbers a live set owns — and the operator bought two others once merged.
#[test]
fn plan_with_the_cluster_buys_what_a_live_set_owns_instead_of_adopting_it() {
    let w = World::start();
    w.seed(&[N1, N2], P1);
    w.s.apply(&w.set(
        "owner",
        &format!("  packages:\n    - packageID: {P1}\n      numbers: ['{N1}', '{N2}']\n"),
    ));
    let owner = w.s.wait_ready("owner");
    assert_eq!(
        owner.status.as_ref().and_then(|s| s.account.clone()),
        Some(w.identity())
    );
    // A live set with its own business (awaiting approval) the change does
    // not touch: not reported, not a change of this pull request.
    w.s.apply(&w.set(
        "waiting",
        &format!(
            "  policy: {{purchase: Approve}}\n  packages:\n    - packageID: {P1}\n      numbers: ['{C}']\n"
        ),
    ));
    w.wait_hash("waiting", None);
    let pr = w.write(
        "pr/newcomer.yaml",
        &w.set(
            "newcomer",
            &format!(
                "  packages:\n    - packageID: {P1}\n      acquire: {{count: 2, npa: [855]}}\n"
            ),
        ),
    );

    // Without the cluster: the old, wrong preview — and a warning saying so.
    let blind = w.plan(&["-f", &arg(&pr), "--no-cluster"]);
    assert_eq!(blind.code, 0, "{blind:?}");
    assert!(
        blind.has_line(&format!("adopt {N1} already in the account, package {P1}")),
        "{blind:?}"
    );
    assert!(
        blind.stdout.starts_with("warning: no cluster was read"),
        "{blind:?}"
    );

    // With it: the operator's view.
    let seen = w.plan(&["-f", &arg(&pr)]);
    assert_eq!(seen.code, 2, "{seen:?}");
    assert!(
        seen.has_line(&format!(
            "buy 2 numbers acquire by search (npa 855) into package {P1}"
        )),
        "{seen:?}"
    );
    assert!(
        !seen.lines().iter().any(|l| l.starts_with("adopt")),
        "{seen:?}"
    );
    assert!(seen.stdout.starts_with("cluster: context "), "{seen:?}");
    assert!(!seen.stdout.contains("warning:"), "{seen:?}");

    let doc = w.plan(&["-f", &arg(&pr), "-o", "json"]).json();
    assert_eq!(doc["cluster"]["read"], true, "{doc}");
    assert!(doc["cluster"].get("warning").is_none(), "{doc}");
    assert_eq!(ids(&doc), ["newcomer"], "only the change's sets: {doc}");
    assert_eq!(doc["summary"]["buy"], 2);
    assert_eq!(doc["summary"]["adopt"], 0);
    assert_eq!(doc["sets"][0]["live"], false);
    let live: Vec<&str> = doc["accounts"][0]["liveSets"]
        .as_array()
        .expect("liveSets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let ns = w.s.ns();
    assert_eq!(live, [format!("{ns}/owner"), format!("{ns}/waiting")]);

    // Declaring an owned number exactly is a conflict with the older set.
    let exact = w.write(
        "pr2/newcomer.yaml",
        &w.set(
            "newcomer",
            &format!("  packages:\n    - packageID: {P1}\n      numbers: ['{N1}']\n"),
        ),
    );
    let conflict = w.plan(&["-f", &arg(&exact), "-o", "json"]).json();
    assert_eq!(conflict["sets"][0]["reason"], "Conflict", "{conflict}");
    assert_eq!(conflict["summary"]["conflicts"], 1);
    assert_eq!(conflict["summary"]["adopt"], 0);
    assert!(w.s.ledger().is_empty(), "{:?}", w.s.ledger());
}

/// A change to a live set is planned from its live memory (a number it owns
/// leaves it), a deleted set from its status; `--watch-namespace` limits
/// what is read.
#[test]
fn plan_with_the_cluster_uses_live_memory_for_edits_and_deletions() {
    let w = World::start();
    let (a, b, c) = ("+18005550141", "+18005550142", "+18005550143");
    w.seed(&[a, b, c], P1);
    let auto = "  policy: {disconnect: Auto}\n";
    w.s.apply(&w.set(
        "edited",
        &format!("{auto}  packages:\n    - packageID: {P1}\n      numbers: ['{a}', '{b}']\n"),
    ));
    w.s.apply(&w.set(
        "removed",
        &format!("{auto}  packages:\n    - packageID: {P1}\n      numbers: ['{c}']\n"),
    ));
    w.s.wait_ready("edited");
    w.s.wait_ready("removed");
    // The pull request drops `b` from one set and deletes the other.
    let pr = w.write(
        "pr/edited.yaml",
        &w.set(
            "edited",
            &format!("{auto}  packages:\n    - packageID: {P1}\n      numbers: ['{a}']\n"),
        ),
    );
    let ns = w.s.ns().to_owned();
    let removed = format!("{ns}/removed");

    let run = w.plan(&[
        "-f",
        &arg(&pr),
        "--deleted",
        &removed,
        "--watch-namespace",
        &ns,
        "-o",
        "json",
    ]);

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["cluster"]["namespace"], ns.as_str());
    assert_eq!(ids(&doc), ["edited", "removed"], "{doc}");
    let edited = &doc["sets"][0];
    assert_eq!(edited["live"], true);
    assert_eq!(edited["origin"], "Manifest");
    assert_eq!(edited["actions"][0]["action"], "Disconnect", "{edited}");
    assert_eq!(edited["actions"][0]["numbers"], serde_json::json!([b]));
    let gone = &doc["sets"][1];
    assert_eq!(gone["origin"], "Cluster");
    assert_eq!(gone["deleted"], true);
    assert_eq!(
        gone["actions"][0]["numbers"],
        serde_json::json!([c]),
        "{gone}"
    );
    assert_eq!(doc["summary"]["disconnect"], 2);

    // Blind, the same change looks harmless: `b` is merely not declared.
    let blind = w
        .plan(&["-f", &arg(&pr), "--no-cluster", "-o", "json"])
        .json();
    assert_eq!(blind["summary"]["disconnect"], 0, "{blind}");

    let table = w.plan(&["-f", &arg(&pr), "--deleted", &removed]);
    assert!(
        table
            .stdout
            .contains(&format!("{ns}/removed (cluster; deleted):")),
        "{table:?}"
    );
    assert!(
        table.has_line(&format!("disconnect {c} disconnect from the account")),
        "{table:?}"
    );
    assert!(w.s.ledger().is_empty(), "{:?}", w.s.ledger());
}

#[test]
fn approve_shows_the_held_actions_asks_and_sets_the_annotation() {
    let w = World::start();
    w.s.apply(&w.set(
        "gated",
        &format!(
            "  policy: {{purchase: Approve}}\n  packages:\n    - packageID: {P1}\n      numbers: ['{C}']\n"
        ),
    ));
    let hash = w.wait_hash("gated", None);
    let ns = w.s.ns().to_owned();

    // "no" (or no answer) approves nothing.
    let no = w.run(&["approve", "-n", &ns, "gated"], "n\n");
    assert_eq!(no.code, 1, "{no:?}");
    assert!(
        no.stdout.starts_with(&format!(
            "{ns}/gated: 1 action awaiting approval, plan hash {hash}\n"
        )),
        "{no:?}"
    );
    assert!(
        no.stdout
            .contains(&format!("Reserve    {C} into package {P1}")),
        "{no:?}"
    );
    assert!(no.stdout.contains("[y/N]"), "{no:?}");
    assert_eq!(no.stderr.trim(), format!("error: {ns}/gated: not approved"));
    let silent = w.run(&["approve", "-n", &ns, "gated"], "");
    assert_eq!(silent.code, 1, "{silent:?}");
    assert_eq!(w.annotation("gated"), None);

    // A hash that is not the set's.
    let other = w.run(
        &[
            "approve",
            "-n",
            &ns,
            "gated",
            "--hash",
            "0123456789ab",
            "--yes",
        ],
        "",
    );
    assert_eq!(other.code, 1, "{other:?}");
    assert!(
        other
            .stderr
            .contains("the plan changed since that hash was shown"),
        "{other:?}"
    );

    // An approval of another plan is named in the condition.
    let stale = "ab".repeat(32);
    w.s.kubectl(&[
        "annotate",
        "tfns",
        "gated",
        &format!("{APPROVE_ANNOTATION}={stale}"),
    ]);
    let set = w.s.wait_set(
        "gated",
        Duration::from_secs(45),
        "the condition names the stale approval",
        |s| {
            support::scenario::condition(s, "Ready")
                .is_some_and(|c| c.message.contains("approves an earlier plan"))
        },
    );
    let message = support::scenario::condition(&set, "Ready")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains(&stale[..12]), "{message}");
    assert!(w.s.ledger().is_empty(), "nothing bought without approval");

    // Yes: the annotation holds the hash, and the operator buys.
    let yes = w.run(&["approve", "-n", &ns, "gated", "--yes"], "");
    assert_eq!(yes.code, 0, "{yes:?}");
    assert!(
        yes.stdout
            .contains(&format!("approved {ns}/gated: {APPROVE_ANNOTATION}={hash}")),
        "{yes:?}"
    );
    assert_eq!(w.annotation("gated"), Some(hash.clone()));
    w.s.wait_ready("gated");
    let purchases = support::scenario::numbers_of(&w.s.ledger(), LedgerKind::Purchase);
    assert_eq!(purchases, [C], "{:?}", w.s.ledger());

    let again = w.run(&["approve", "-n", &ns, "gated"], "");
    assert_eq!(again.code, 1, "{again:?}");
    assert!(
        again.stderr.contains("nothing awaits approval"),
        "{again:?}"
    );
}

#[test]
fn approve_refuses_when_the_plan_changed_after_it_was_shown() {
    let w = World::start();
    let spec = |numbers: &str| {
        format!(
            "  policy: {{purchase: Approve}}\n  packages:\n    - packageID: {P1}\n      numbers: [{numbers}]\n"
        )
    };
    w.s.apply(&w.set("gated", &spec(&format!("'{C}'"))));
    let shown = w.wait_hash("gated", None);
    let ns = w.s.ns().to_owned();

    let mut child = w
        .command(&["approve", "-n", &ns, "gated"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("approve runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains("[y/N]") {
        assert!(Instant::now() < deadline, "no prompt: {seen}");
        let buffer = stdout.fill_buf().expect("read");
        if buffer.is_empty() {
            panic!("approve exited before asking: {seen}");
        }
        seen.push_str(&String::from_utf8_lossy(buffer));
        let n = buffer.len();
        stdout.consume(n);
    }
    assert!(seen.contains(&shown), "{seen}");

    // Meanwhile the spec changes and the operator plans it: another hash.
    w.s.apply(&w.set("gated", &spec(&format!("'{C}', '{D}'"))));
    let now = w.wait_hash("gated", Some(&shown));
    assert_ne!(now, shown);

    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"y\n")
        .expect("answer");
    let status = child.wait().expect("exits");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the plan changed since it was shown (hash {shown} is now {now})"
        )),
        "{stderr}"
    );
    assert_eq!(w.annotation("gated"), None, "nothing was approved");
    assert!(w.s.ledger().is_empty(), "{:?}", w.s.ledger());
}

/// Onboarding: 5,000 numbers in three packages, imported, previewed,
/// applied — and the operator converges without a single vendor mutation.
#[test]
fn an_imported_5000_number_account_converges_with_an_empty_ledger() {
    let w = World::start();
    let packages: [(u64, u16, usize); 3] =
        [(30744, 800, 2300), (24188, 833, 1700), (78314, 844, 1000)];
    for (package, npa, count) in packages {
        let numbers: Vec<String> = (0..count).map(|i| format!("+1{npa}2{i:06}")).collect();
        let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
        w.seed(&refs, package);
    }
    let before = w.s.sim().inventory_of(w.account);
    assert_eq!(before.len(), 5000);
    let out = w.dir.join("imported");
    let ns = w.s.ns().to_owned();

    let import = w.run(&["import", "--output-dir", &arg(&out), "-n", &ns], "");
    assert_eq!(import.code, 0, "{import:?}");
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .expect("files")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "imported-24188-1.yaml",
            "imported-24188-2.yaml",
            "imported-30744-1.yaml",
            "imported-30744-2.yaml",
            "imported-30744-3.yaml",
            "imported-78314.yaml",
        ]
    );

    // The pipeline's gate: nothing to buy, move or disconnect.
    let preview = w.plan(&["-f", &arg(&out), "-o", "json"]);
    assert_eq!(preview.code, 0, "{preview:?}");
    let doc = preview.json();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"sets": 6, "buy": 0, "move": 0, "disconnect": 0,
                           "held": 0, "adopt": 5000, "conflicts": 0})
    );

    ControlPlane::shared().kubectl_ok(&["apply", "--server-side", "-f", &arg(&out)]);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.trim_end_matches(".yaml").to_owned())
        .collect();
    for name in &names {
        let set =
            w.s.wait_set(name, Duration::from_secs(180), "Ready", is_ready);
        let status = set.status.expect("status");
        assert_eq!(status.account.as_deref(), Some(w.identity().as_str()));
        assert_eq!(status.active, status.desired, "{name}");
    }
    assert!(w.s.ledger().is_empty(), "{:?}", w.s.ledger());
    let after = w.s.sim().inventory_of(w.account);
    assert_eq!(after, before, "every number where it was");

    // Against the cluster now: the same sets, live, still nothing to do.
    let live = w.plan(&["-f", &arg(&out), "-o", "json"]);
    assert_eq!(live.code, 0, "{live:?}");
    let doc = live.json();
    assert_eq!(doc["cluster"]["read"], true);
    assert_eq!(
        doc["summary"]["adopt"], 0,
        "already owned: {}",
        doc["summary"]
    );
    assert!(
        doc["sets"]
            .as_array()
            .expect("sets")
            .iter()
            .all(|s| s["live"] == true && s["reason"] == "Converged"),
        "{doc}"
    );
}

/// The roles docs/gitops.md gives a pipeline (`tollfree-plan`: get, list) and
/// the people who approve (`tollfree-approve`: get, patch) are enough, and
/// the pipeline's cannot approve.
#[test]
fn plan_and_approve_work_with_the_roles_the_documentation_gives() {
    let w = World::start();
    let cp = ControlPlane::shared();
    let doc = std::fs::read_to_string(support::repo_path("docs/gitops.md")).expect("docs");
    let roles = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("name: tollfree-plan"))
        .expect("docs/gitops.md has the ClusterRoles");
    assert!(roles.contains("name: tollfree-approve"), "{roles}");
    let applied = cp.kubectl_stdin(&["apply", "-f", "-"], roles);
    assert!(applied.status.success(), "{}", support::describe(&applied));
    let ns = w.s.ns().to_owned();
    let sa = "tollfree-ci";
    cp.kubectl_ok(&["create", "serviceaccount", sa, "-n", &ns]);
    let bind = |role: &str| {
        cp.kubectl_ok(&[
            "create",
            "clusterrolebinding",
            &format!("{role}-{}", random_suffix()),
            &format!("--clusterrole={role}"),
            &format!("--serviceaccount={ns}:{sa}"),
        ]);
    };
    let kubeconfig = cp.kubeconfig_for_token(&cp.create_token(&ns, sa));
    let pr = w.write(
        "pr/gated.yaml",
        &w.set(
            "gated",
            &format!(
                "  policy: {{purchase: Approve}}\n  packages:\n    - packageID: {P1}\n      numbers: ['{C}']\n"
            ),
        ),
    );

    // No role yet: the gate fails rather than plan blind.
    let blind = w.run_as(&kubeconfig, &["plan", "-f", &arg(&pr)], "");
    assert_eq!(blind.code, 1, "{blind:?}");
    assert!(
        blind
            .stderr
            .contains("plan needs get and list on tollfreenumbersets.tollfree.dev"),
        "{blind:?}"
    );

    bind("tollfree-plan");

    w.s.apply(&std::fs::read_to_string(&pr).expect("manifest"));
    let hash = w.wait_hash("gated", None);

    let plan = wait_until_ok(|| {
        let run = w.run_as(&kubeconfig, &["plan", "-f", &arg(&pr), "-o", "json"], "");
        (run.code != 1).then_some(run)
    });
    assert_eq!(plan.code, 2, "held for approval: {plan:?}");
    let doc = plan.json();
    assert_eq!(doc["cluster"]["read"], true);
    assert_eq!(doc["sets"][0]["live"], true);
    assert_eq!(
        doc["sets"][0]["hash"],
        hash.as_str(),
        "the hash the operator shows"
    );

    let refused = w.run_as(&kubeconfig, &["approve", "-n", &ns, "gated", "--yes"], "");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stderr
            .starts_with(&format!("error: annotating TollFreeNumberSet {ns}/gated: ")),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("forbidden"), "{refused:?}");
    assert_eq!(w.annotation("gated"), None);

    bind("tollfree-approve");
    let approved = wait_until_ok(|| {
        let run = w.run_as(
            &kubeconfig,
            &[
                "approve",
                "-n",
                &ns,
                "gated",
                "--yes",
                "--hash",
                &hash[..12],
            ],
            "",
        );
        (run.code == 0).then_some(run)
    });
    assert!(approved.stdout.contains("approved"), "{approved:?}");
    assert_eq!(w.annotation("gated"), Some(hash));
}

/// Retries `f` for a while (RBAC bindings take effect within a moment).
fn wait_until_ok<T>(mut f: impl FnMut() -> Option<T>) -> T {
    support::wait_until(
        Duration::from_secs(20),
        "the binding to take effect",
        &mut f,
    )
}
