//! `tollfree-operator plan` as a CI pipeline runs it: the built binary, manifests
//! in a temporary directory, an in-process simulator as the vendor.
//!
//! Every run goes through [`Sim::plan`], which also proves the command is
//! read-only: the simulator's ledger of mutations stays empty and the only
//! requests are `POST /authenticate` and `GET`s.

mod cli;

use std::path::Path;

use cli::{OUTSIDE_ENV, Run, TempDir};
use intelepeer_sim::{RunningSim, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");
const AUTHENTICATE: &str = "POST /_rest/v4/authenticate";

/// A simulator with user demo/demo.
struct Sim(RunningSim);

impl Sim {
    async fn start() -> Self {
        Self(
            intelepeer_sim::spawn(SimConfig::default())
                .await
                .expect("simulator starts"),
        )
    }

    fn seed(&self, numbers: &[&str], package: u64) {
        self.0.sim().seed_inventory(numbers, package);
    }

    /// Runs `plan ARGS` against this simulator with `env` (and no other
    /// `INTELEPEER_*` variable), then checks nothing was changed.
    async fn plan(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = tokio::process::Command::new(BIN);
        command.arg("plan").args(args);
        // No cluster either: these tests plan the manifests alone, as a
        // pipeline without a kubeconfig does.
        for var in OUTSIDE_ENV {
            command.env_remove(var);
        }
        command.env("HOME", std::env::temp_dir().join("tollfree-plan-no-home"));
        command.env("INTELEPEER_URL", self.0.url());
        command.envs(env.iter().copied());
        let output = command.output().await.expect("the binary runs");
        let run = Run::of(&output);
        self.assert_read_only(&run);
        run
    }

    /// The vendor saw no mutation: empty ledger, no POST but authenticate.
    fn assert_read_only(&self, run: &Run) {
        let ledger = self.0.sim().ledger();
        assert!(
            ledger.is_empty(),
            "plan mutated the account: {ledger:?}\n{run:?}"
        );
        for (request, count) in self.0.sim().request_counts() {
            assert!(
                request == AUTHENTICATE || request.starts_with("GET "),
                "plan sent {count}× {request}\n{run:?}"
            );
        }
    }

    fn requests(&self) -> u64 {
        self.0.sim().request_counts().values().sum()
    }
}

const DEMO: &[(&str, &str)] = &[
    ("INTELEPEER_USERNAME", "demo"),
    ("INTELEPEER_PASSWORD", "demo"),
];

/// A set in namespace `telecom` with `packages` (YAML list items, indented
/// by four spaces) and extra spec lines.
fn set(name: &str, packages: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata:
  name: {name}
  namespace: telecom
spec:
  accountRef: {{name: intelepeer-account}}
{extra_spec}  packages:
{packages}"
    )
}

fn numbers(package: u64, numbers: &[&str]) -> String {
    let list: Vec<String> = numbers.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "    - packageID: {package}\n      numbers: [{}]\n",
        list.join(", ")
    )
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn exits_0_when_every_declared_number_is_owned_in_its_package() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863", "+18003255821"], 30744);
    let dir = TempDir::new("no-changes");
    let file = dir.write(
        "support.yaml",
        &set(
            "support-lines",
            &numbers(30744, &["+18007293863", "+18003255821"]),
            "",
        ),
    );

    let run = sim.plan(&["-f", &arg(&file)], DEMO).await;

    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.has_line("adopt +18007293863 already in the account, package 30744"),
        "{run:?}"
    );
    assert!(run.has_line("no changes"), "{run:?}");
    assert!(
        run.has_line(
            "1 set: 0 to buy, 0 to move, 0 to disconnect, 0 held, 2 to adopt, 0 conflicts"
        ),
        "{run:?}"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[tokio::test]
async fn changes_exit_2_with_buy_move_and_adopt_lines() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    sim.seed(&["+18003255821"], 24188);
    let dir = TempDir::new("changes");
    let packages = format!(
        "{}      acquire: {{count: 2, npa: [888], sequential: true}}\n",
        numbers(30744, &["+18007293863", "+18003255821", "+18885551201"])
    );
    let file = dir.write("support.yaml", &set("support-lines", &packages, ""));

    let run = sim.plan(&["-f", &arg(&file)], DEMO).await;

    assert_eq!(run.code, 2, "{run:?}");
    for line in [
        "buy +18885551201 reserve+purchase into package 30744",
        "buy 2 numbers acquire by search (npa 888, sequential) into package 30744",
        "move +18003255821 package 24188 → 30744",
        "adopt +18007293863 already in the account, package 30744",
        "adopt +18003255821 already in the account, package 24188",
        "1 set: 3 to buy, 1 to move, 0 to disconnect, 0 held, 2 to adopt, 0 conflicts",
    ] {
        assert!(run.has_line(line), "missing {line:?} in\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains("+18885551201  30744    Reserved"),
        "per-number states: {run:?}"
    );
}

#[tokio::test]
async fn json_document_has_actions_numbers_and_summary() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    sim.seed(&["+18003255821"], 24188);
    let dir = TempDir::new("json");
    let packages = format!(
        "{}      acquire: {{count: 2, like: '+1888'}}\n",
        numbers(30744, &["+18007293863", "+18003255821", "+18885551201"])
    );
    let file = dir.write("support.yaml", &set("support-lines", &packages, ""));

    let run = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["changes"], true);
    assert_eq!(
        doc["summary"],
        serde_json::json!({"sets": 1, "buy": 3, "move": 1, "disconnect": 0,
                           "held": 0, "adopt": 2, "conflicts": 0})
    );
    assert_eq!(doc["accounts"][0]["numbers"], 2);
    assert_eq!(doc["accounts"][0]["complete"], true);
    let s = &doc["sets"][0];
    assert_eq!(s["namespace"], "telecom");
    assert_eq!(s["name"], "support-lines");
    assert_eq!(s["file"], arg(&file));
    assert_eq!(s["reason"], "Progressing");
    assert_eq!(s["hash"], "");
    let actions = s["actions"].as_array().expect("actions");
    let find = |kind: &str| {
        actions
            .iter()
            .find(|a| a["action"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {actions:?}"))
    };
    assert_eq!(
        find("Reserve"),
        &serde_json::json!({"action": "Reserve", "operation": "purchase",
                            "packageID": 30744, "numbers": ["+18885551201"]})
    );
    assert_eq!(
        find("Acquire"),
        &serde_json::json!({"action": "Acquire", "operation": "purchase", "packageID": 30744,
                            "numbers": [], "count": 2, "like": "+1888", "sequential": false})
    );
    assert_eq!(
        find("Move"),
        &serde_json::json!({"action": "Move", "operation": "move", "packageID": 30744,
                            "numbers": ["+18003255821"], "from": {"+18003255821": 24188}})
    );
    assert_eq!(s["held"], serde_json::json!([]));
    assert_eq!(
        s["adopted"],
        serde_json::json!([{"number": "+18003255821", "packageID": 24188},
                           {"number": "+18007293863", "packageID": 30744}])
    );
    let states: Vec<(&str, &str)> = s["numbers"]
        .as_array()
        .expect("numbers")
        .iter()
        .map(|n| {
            (
                n["number"].as_str().unwrap_or(""),
                n["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("+18003255821", "Moving"),
            ("+18007293863", "Active"),
            ("+18885551201", "Reserved")
        ]
    );
}

#[tokio::test]
async fn reads_a_directory_recursively_with_multi_document_yaml() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    let dir = TempDir::new("dir");
    dir.write(
        "sets/a.yaml",
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: telecom}}\n---\n{}---\n{}---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{a: b}}\n",
            set("a", &numbers(30744, &["+18007293863"]), ""),
            set("b", &numbers(24188, &["+18003255821"]), ""),
        ),
    );
    // No namespace: `default`, as kubectl apply would do.
    dir.write(
        "sets/nested/deeper/c.yml",
        &set("c", &numbers(30744, &["+18887293863"]), "").replace("  namespace: telecom\n", ""),
    );
    let json_set = serde_json::json!({
        "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
        "metadata": {"name": "d", "namespace": "telecom"},
        "spec": {"accountRef": {"name": "intelepeer-account"},
                 "packages": [{"packageID": 30744, "acquire": {"count": 1, "npa": [877]}}]}
    });
    dir.write("sets/nested/d.json", &json_set.to_string());
    dir.write("sets/README.md", "not a manifest: {{ broken");
    dir.write("sets/.hidden/e.yaml", "not: [valid");

    let run = sim
        .plan(&["-f", &arg(&dir.path().join("sets")), "-o", "json"], DEMO)
        .await;

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    let ids: Vec<String> = doc["sets"]
        .as_array()
        .expect("sets")
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["namespace"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(ids, ["default/c", "telecom/a", "telecom/b", "telecom/d"]);
    assert_eq!(doc["summary"]["buy"], 3);
    assert_eq!(doc["summary"]["adopt"], 1);
    let c = &doc["sets"][0];
    assert!(
        c["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("sets/nested/deeper/c.yml"),
        "{c}"
    );
}

#[tokio::test]
async fn a_bad_manifest_exits_1_naming_file_field_and_value() {
    let sim = Sim::start().await;
    let dir = TempDir::new("bad");
    dir.write(
        "sets/ok.yaml",
        &set("fine", &numbers(30744, &["+18007293863"]), ""),
    );
    let bad = dir.write(
        "sets/support.yaml",
        &set(
            "support-lines",
            &numbers(30744, &["+18003255821", "+13035550100"]),
            "",
        ),
    );

    let run = sim
        .plan(&["-f", &arg(&dir.path().join("sets"))], DEMO)
        .await;

    assert_eq!(run.code, 1, "{run:?}");
    let expected = format!(
        "error: {}: telecom/support-lines: spec.packages[0].numbers[1]: '+13035550100' is not toll-free",
        arg(&bad)
    );
    assert!(run.stderr.starts_with(&expected), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(sim.requests(), 0, "validation comes before any vendor call");
}

#[tokio::test]
async fn admission_rules_are_checked_before_planning() {
    let sim = Sim::start().await;
    let dir = TempDir::new("admission");
    let cases: [(&str, String, &str); 6] = [
        (
            "duplicate",
            numbers(30744, &["+18007293863", "+18007293863"]),
            "spec.packages[0].numbers[1]: '+18007293863' is also spec.packages[0].numbers[0]",
        ),
        (
            "like-and-npa",
            "    - packageID: 30744\n      acquire: {count: 1, npa: [888], like: '+1888'}\n"
                .to_owned(),
            "spec.packages[0].acquire: ",
        ),
        (
            "count",
            "    - packageID: 30744\n      acquire: {count: 0, npa: [888]}\n".to_owned(),
            "spec.packages[0].acquire.count: '0' is out of range",
        ),
        (
            "package",
            numbers(0, &["+18007293863"]),
            "spec.packages[0].packageID: '0' is not a package ID",
        ),
        (
            "npa",
            "    - packageID: 30744\n      acquire: {count: 1, npa: [303]}\n".to_owned(),
            "spec.packages[0].acquire.npa[0]: '303' is not a toll-free area code",
        ),
        (
            "service-area",
            numbers(30744, &["+18007293863"]),
            "spec.orderDefaults.serviceArea: '9' is out of range",
        ),
    ];
    for (name, packages, expected) in cases {
        let extra = if name == "service-area" {
            "  orderDefaults: {serviceArea: 9}\n"
        } else {
            ""
        };
        let file = dir.write(&format!("{name}.yaml"), &set(name, &packages, extra));
        let run = sim.plan(&["-f", &arg(&file)], DEMO).await;
        assert_eq!(run.code, 1, "{name}: {run:?}");
        let prefix = format!("error: {}: telecom/{name}: {expected}", arg(&file));
        assert!(run.stderr.starts_with(&prefix), "{name}: {run:?}");
    }
    assert_eq!(sim.requests(), 0);
}

#[tokio::test]
async fn a_set_that_does_not_decode_names_the_field_and_line() {
    let sim = Sim::start().await;
    let dir = TempDir::new("decode");
    let file = dir.write(
        "support.yaml",
        &set(
            "s",
            "    - packageID: many\n      numbers: ['+18007293863']\n",
            "",
        ),
    );

    let run = sim.plan(&["-f", &arg(&file)], DEMO).await;

    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: {}: telecom/s: spec.packages[0].packageID: invalid type",
            arg(&file)
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("line 9"), "{run:?}");
}

#[tokio::test]
async fn missing_credentials_exit_1_without_calling_the_vendor() {
    let sim = Sim::start().await;
    let dir = TempDir::new("no-creds");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );

    let run = sim.plan(&["-f", &arg(&file)], &[]).await;

    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: no IntelePeer credentials for telecom/support-lines"),
        "{run:?}"
    );
    for hint in [
        "--secret-file",
        "INTELEPEER_USERNAME",
        "INTELEPEER_TOKEN",
        "telecom/intelepeer-account",
    ] {
        assert!(run.stderr.contains(hint), "{hint}: {run:?}");
    }
    assert_eq!(sim.requests(), 0);

    let half = sim
        .plan(&["-f", &arg(&file)], &[("INTELEPEER_USERNAME", "demo")])
        .await;
    assert_eq!(half.code, 1, "{half:?}");
    assert!(
        half.stderr.contains("INTELEPEER_PASSWORD is not"),
        "{half:?}"
    );
}

#[tokio::test]
async fn wrong_credentials_exit_1_with_the_vendor_error() {
    let sim = Sim::start().await;
    let dir = TempDir::new("wrong-creds");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );

    let run = sim
        .plan(
            &["-f", &arg(&file)],
            &[
                ("INTELEPEER_USERNAME", "demo"),
                ("INTELEPEER_PASSWORD", "wrong"),
            ],
        )
        .await;

    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: reading the IntelePeer inventory"),
        "{run:?}"
    );
    assert!(
        !run.stderr.contains("wrong"),
        "no password in messages: {run:?}"
    );
}

/// Runs a set whose only number is owned, with credentials from `secret`.
async fn plan_with_secret_file(secret: &str) -> Run {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    let dir = TempDir::new("secret-file");
    let file = dir.write(
        "sets/support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );
    let secret_file = dir.write("secret.yaml", secret);
    sim.plan(
        &["-f", &arg(&file), "--secret-file", &arg(&secret_file)],
        &[],
    )
    .await
}

#[tokio::test]
async fn credentials_from_a_secret_file_with_base64_data() {
    // demo / demo, base64-encoded as `kubectl create secret` writes them.
    let run = plan_with_secret_file(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: intelepeer-account, namespace: telecom}\n\
         type: Opaque\ndata:\n  username: ZGVtbw==\n  password: ZGVtbw==\n",
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 set: 0 to buy"), "{run:?}");
}

#[tokio::test]
async fn credentials_from_a_secret_file_with_string_data() {
    let run = plan_with_secret_file(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: intelepeer-account}\n\
         stringData:\n  username: demo\n  password: demo\n",
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test]
async fn a_secret_file_without_usable_keys_exits_1() {
    let run = plan_with_secret_file(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: acct}\nstringData: {username: demo}\n",
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("has no key 'password'"), "{run:?}");
}

#[tokio::test]
async fn credentials_from_the_environment() {
    let sim = Sim::start().await;
    let dir = TempDir::new("env");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );

    let run = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    assert_eq!(
        doc["accounts"][0]["account"],
        "environment (INTELEPEER_USERNAME)"
    );
    assert_eq!(sim.0.sim().request_counts().get(AUTHENTICATE), Some(&1));
}

#[tokio::test]
async fn a_secret_among_the_manifests_serves_its_sets() {
    let sim = Sim::start().await;
    let dir = TempDir::new("manifest-secret");
    dir.write(
        "all.yaml",
        &format!(
            "{}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: intelepeer-account, namespace: telecom}}\n\
             stringData: {{username: demo, password: demo}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: unrelated, namespace: telecom}}\n\
             data: {{token: 'ENC[AES256_GCM,data:...]'}}\n",
            set("support-lines", &numbers(30744, &["+18007293863"]), "")
        ),
    );

    let run = sim.plan(&["-f", &arg(dir.path()), "-o", "json"], &[]).await;

    assert_eq!(run.code, 2, "{run:?}");
    let account = run.json()["sets"][0]["account"].clone();
    assert!(
        account
            .as_str()
            .unwrap_or("")
            .starts_with("secret telecom/intelepeer-account"),
        "{account}"
    );
}

#[tokio::test]
async fn numbers_no_set_declares_are_never_touched() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863", "+18005550100", "+18005550101"], 30744);
    for policy in ["Deny", "Auto"] {
        let dir = TempDir::new("unowned");
        let file = dir.write(
            "support.yaml",
            &set(
                "support-lines",
                &numbers(30744, &["+18007293863"]),
                &format!("  policy: {{disconnect: {policy}}}\n"),
            ),
        );

        let run = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;

        assert_eq!(run.code, 0, "{policy}: {run:?}");
        let doc = run.json();
        assert_eq!(doc["summary"]["disconnect"], 0, "{policy}");
        assert_eq!(doc["sets"][0]["actions"], serde_json::json!([]), "{policy}");
        assert_eq!(doc["sets"][0]["held"], serde_json::json!([]), "{policy}");
        assert_eq!(doc["accounts"][0]["unowned"], 2, "{policy}");
        let table = sim.plan(&["-f", &arg(&file)], DEMO).await;
        assert!(
            !table
                .lines()
                .iter()
                .any(|l| l.starts_with("disconnect") || l.contains("+18005550100")),
            "{policy}: {table:?}"
        );
    }
}

#[tokio::test]
async fn the_younger_of_two_sets_claiming_a_number_shows_a_conflict() {
    let sim = Sim::start().await;
    let dir = TempDir::new("conflict");
    let older = set("older", &numbers(30744, &["+18885551201"]), "").replace(
        "  namespace: telecom\n",
        "  namespace: telecom\n  creationTimestamp: '2024-01-01T00:00:00Z'\n",
    );
    dir.write("older.yaml", &older);
    // Never applied: the youngest, although its name sorts first.
    dir.write(
        "aaa-younger.yaml",
        &set("aaa-younger", &numbers(24188, &["+18885551201"]), ""),
    );

    let run = sim
        .plan(&["-f", &arg(dir.path()), "-o", "json"], DEMO)
        .await;

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    let younger = &doc["sets"][0];
    assert_eq!(younger["name"], "aaa-younger");
    assert_eq!(younger["reason"], "Conflict");
    assert_eq!(younger["actions"], serde_json::json!([]));
    assert_eq!(younger["numbers"][0]["state"], "Conflict");
    let older = &doc["sets"][1];
    assert_eq!(older["actions"][0]["action"], "Reserve");
    assert_eq!(doc["summary"]["conflicts"], 1);

    let table = sim.plan(&["-f", &arg(dir.path())], DEMO).await;
    assert!(
        table.has_line(
            "conflict +18885551201 also claimed by older set telecom/older, which keeps it; left alone"
        ),
        "{table:?}"
    );
}

#[tokio::test]
async fn held_actions_show_why_and_the_approval_hash() {
    let sim = Sim::start().await;
    let dir = TempDir::new("held");
    let file = dir.write(
        "support.yaml",
        &set(
            "support-lines",
            &numbers(30744, &["+18885551201"]),
            "  policy: {purchase: Approve}\n",
        ),
    );

    let run = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;

    assert_eq!(run.code, 2, "held actions are changes: {run:?}");
    let doc = run.json();
    let s = &doc["sets"][0];
    let hash = s["hash"].as_str().unwrap_or("");
    assert_eq!(hash.len(), 64, "{s}");
    assert_eq!(s["held"][0]["action"], "Reserve");
    assert_eq!(s["held"][0]["hold"], "AwaitingApproval");
    assert_eq!(doc["summary"]["held"], 1);
    assert_eq!(doc["summary"]["buy"], 0);

    let table = sim.plan(&["-f", &arg(&file)], DEMO).await;
    assert!(table.stdout.contains("held"), "{table:?}");
    assert!(
        table.has_line(&format!(
            "approve with: kubectl -n telecom annotate tfns support-lines tollfree.dev/approve={hash}"
        )),
        "{table:?}"
    );

    // Suspended: held too, with its own reason.
    let file = dir.write(
        "support.yaml",
        &set(
            "support-lines",
            &numbers(30744, &["+18885551201"]),
            "  suspend: true\n",
        ),
    );
    let run = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["sets"][0]["held"][0]["hold"], "Suspended");
}

#[tokio::test]
async fn a_manifest_with_status_is_planned_from_its_memory() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863", "+18005550100"], 30744);
    let dir = TempDir::new("status");
    let manifest = format!(
        "{}status:\n  numbers:\n    - {{number: '+18005550100', packageID: 30744, owned: true}}\n",
        set(
            "support-lines",
            &numbers(30744, &["+18007293863"]),
            "  policy: {disconnect: Auto}\n",
        )
    );
    let file = dir.write("support.yaml", &manifest);

    let run = sim.plan(&["-f", &arg(&file)], DEMO).await;

    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.has_line("disconnect +18005550100 disconnect from the account"),
        "the number the status says this set owned leaves it: {run:?}"
    );
    assert!(
        run.stdout.contains("0 to buy, 0 to move, 1 to disconnect"),
        "{run:?}"
    );
}

#[tokio::test]
async fn usage_errors_exit_1_not_2() {
    let sim = Sim::start().await;
    let dir = TempDir::new("usage");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );
    let f = arg(&file);
    let cases: [(&[&str], &str); 4] = [
        (
            &["-f", &f, "-o", "yaml"],
            "-o 'yaml' is not an output format",
        ),
        (
            &["-f", &f, "--intelepeer-url", "http://example.com"],
            "--intelepeer-url",
        ),
        (&[], "no manifests"),
        (
            &["-f", "/nonexistent/tollfree"],
            "/nonexistent/tollfree: cannot read",
        ),
    ];
    for (args, expected) in cases {
        let run = sim.plan(args, DEMO).await;
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {run:?}");
    }
    let empty = TempDir::new("empty");
    empty.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    );
    let run = sim.plan(&["-f", &arg(empty.path())], DEMO).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no TollFreeNumberSet found"), "{run:?}");
    assert_eq!(sim.requests(), 0);
}

#[tokio::test]
async fn an_unknown_flag_exits_1_because_2_means_changes() {
    let sim = Sim::start().await;
    let run = sim.plan(&["--bogus"], DEMO).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("--bogus"), "{run:?}");
    assert_eq!(sim.requests(), 0);
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_exit_1_naming_file_field_and_value() {
    let sim = Sim::start().await;
    let dir = TempDir::new("strict");
    let cases: [(&str, String, &str); 4] = [
        (
            "suspended",
            set(
                "suspended",
                &numbers(30744, &["+18007293863"]),
                "  suspended: true\n",
            ),
            "spec.suspended: unknown field (value true): the API server rejects it; did you mean suspend?",
        ),
        (
            "numbrs",
            set(
                "numbrs",
                "    - packageID: 30744\n      numbrs: ['+18007293863']\n      numbers: ['+18003255821']\n",
                "",
            ),
            "spec.packages[0].numbrs: unknown field (value [\"+18007293863\"]): the API server rejects it; did you mean numbers?",
        ),
        (
            "limits",
            set(
                "limits",
                &numbers(30744, &["+18007293863"]),
                "  limits: {maxPurchasesPerSync: 2.5}\n",
            ),
            // The decoder says it first, with the line.
            "spec.limits.maxPurchasesPerSync: invalid type: floating point `2.5`, expected i32 at line 8",
        ),
        (
            "label",
            set("label", &numbers(30744, &["+18007293863"]), "").replace(
                "  namespace: telecom\n",
                "  namespace: telecom\n  labels: {tier: 1}\n",
            ),
            "metadata.labels.tier: 1 must be of type string, not integer",
        ),
    ];
    for (name, manifest, expected) in cases {
        let file = dir.write(&format!("{name}.yaml"), &manifest);
        let run = sim.plan(&["-f", &arg(&file)], DEMO).await;
        assert_eq!(run.code, 1, "{name}: {run:?}");
        let line = format!("error: {}: telecom/{name}: {expected}", arg(&file));
        assert!(run.stderr.starts_with(&line), "{name}: {run:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{name}: one line: {run:?}");
        assert!(run.stdout.is_empty(), "{name}: {run:?}");
    }
    assert_eq!(sim.requests(), 0, "rejected before any vendor call");
}

#[tokio::test]
async fn without_a_cluster_the_table_and_json_warn_that_adopt_may_be_wrong() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    let dir = TempDir::new("offline");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );

    let table = sim.plan(&["-f", &arg(&file)], DEMO).await;
    assert_eq!(table.code, 0, "{table:?}");
    let first = table.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("warning: no cluster was read (no kubeconfig found"),
        "{table:?}"
    );
    assert!(
        first
            .contains("sets that exist only in the cluster are unknown, so \"adopt\" may be wrong"),
        "{table:?}"
    );

    let json = sim.plan(&["-f", &arg(&file), "-o", "json"], DEMO).await;
    let doc = json.json();
    assert_eq!(doc["cluster"]["read"], false, "{doc}");
    let warning = doc["cluster"]["warning"].as_str().unwrap_or("");
    assert!(warning.contains("\"adopt\" may be wrong"), "{doc}");
    assert_eq!(doc["sets"][0]["origin"], "Manifest");
    assert_eq!(doc["sets"][0]["live"], false);

    let explicit = sim
        .plan(&["-f", &arg(&file), "--no-cluster", "-o", "json"], DEMO)
        .await;
    assert_eq!(explicit.code, 0, "{explicit:?}");
    let warning = explicit.json()["cluster"]["warning"].clone();
    assert!(
        warning
            .as_str()
            .unwrap_or("")
            .starts_with("no cluster was read (--no-cluster)"),
        "{warning}"
    );
}

#[tokio::test]
async fn a_configured_but_unusable_cluster_exits_1_rather_than_planning_blind() {
    let sim = Sim::start().await;
    let dir = TempDir::new("bad-kubeconfig");
    let file = dir.write(
        "support.yaml",
        &set("support-lines", &numbers(30744, &["+18007293863"]), ""),
    );
    let kubeconfig = dir.write("kubeconfig", "not: [a kubeconfig");

    let run = sim
        .plan(
            &["-f", &arg(&file), "--kubeconfig", &arg(&kubeconfig)],
            DEMO,
        )
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot use the kubeconfig {}",
            arg(&kubeconfig)
        )),
        "{run:?}"
    );
    let run = sim
        .plan(
            &["-f", &arg(&file)],
            &[DEMO[0], DEMO[1], ("KUBECONFIG", &arg(&kubeconfig))],
        )
        .await;
    assert_eq!(
        run.code, 1,
        "KUBECONFIG is followed like kubectl does: {run:?}"
    );

    let both = sim
        .plan(
            &[
                "-f",
                &arg(&file),
                "--no-cluster",
                "--kubeconfig",
                &arg(&kubeconfig),
            ],
            DEMO,
        )
        .await;
    assert_eq!(both.code, 1, "{both:?}");
    assert!(
        both.stderr.contains("--no-cluster cannot be combined"),
        "{both:?}"
    );
    assert_eq!(sim.requests(), 0);
}

#[tokio::test]
async fn a_deleted_set_is_planned_for_deletion_from_its_memory() {
    let sim = Sim::start().await;
    sim.seed(&["+18007293863"], 30744);
    let dir = TempDir::new("deleted");
    // The set as exported from the cluster before the change removed it.
    let manifest = format!(
        "{}status:\n  numbers:\n    - {{number: '+18007293863', packageID: 30744, owned: true}}\n",
        set(
            "support-lines",
            &numbers(30744, &["+18007293863"]),
            "  policy: {disconnect: Auto}\n",
        )
    );
    let file = dir.write("support.yaml", &manifest);

    let run = sim
        .plan(
            &[
                "-f",
                &arg(&file),
                "--deleted",
                "telecom/support-lines",
                "--deleted",
                "telecom/never-existed",
                "-o",
                "json",
            ],
            DEMO,
        )
        .await;

    assert_eq!(run.code, 2, "{run:?}");
    let doc = run.json();
    let s = &doc["sets"][0];
    assert_eq!(s["deleted"], true, "{s}");
    assert_eq!(s["actions"][0]["action"], "Disconnect", "{s}");
    assert_eq!(
        s["actions"][0]["numbers"],
        serde_json::json!(["+18007293863"])
    );
    let notes = doc["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .unwrap_or("")
            .starts_with("--deleted telecom/never-existed: no such set")),
        "{notes:?}"
    );

    let table = sim
        .plan(
            &["-f", &arg(&file), "--deleted", "telecom/support-lines"],
            DEMO,
        )
        .await;
    assert!(
        table
            .stdout
            .contains(&format!("telecom/support-lines ({}; deleted):", arg(&file))),
        "{table:?}"
    );
    let bad = sim
        .plan(&["-f", &arg(&file), "--deleted", "nope"], DEMO)
        .await;
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("is not NAMESPACE/NAME"), "{bad:?}");
}
