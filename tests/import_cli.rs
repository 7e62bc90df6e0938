//! `tollfree-operator import` as a team onboarding an account runs it: the
//! built binary against an in-process simulator, then `plan` on what it
//! wrote. Every run checks the vendor saw reads only (empty ledger). The
//! end-to-end proof on the real API server, with the operator converging on a
//! 5,000-number import, is in `tests/gitops_cli.rs`.

mod cli;

use std::path::Path;

use cli::{OUTSIDE_ENV, Run, TempDir};
use intelepeer_sim::{OwnedNumber, RunningSim, SimConfig, Tampering};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tollfree-operator");

struct Sim(RunningSim);

impl Sim {
    async fn start() -> Self {
        Self(
            intelepeer_sim::spawn(SimConfig::default())
                .await
                .expect("simulator starts"),
        )
    }

    fn owned(&self, number: &str, package: u64, label: Option<&str>) -> OwnedNumber {
        OwnedNumber {
            number: number.to_owned(),
            package_id: package,
            order_id: None,
            label: label.map(str::to_owned),
            has_cpaas: false,
            pending_disconnect: false,
        }
    }

    /// Runs `tollfree-operator SUBCOMMAND ARGS` as user demo, without a
    /// cluster, then checks the vendor saw no mutation.
    async fn run(&self, subcommand: &str, args: &[&str]) -> Run {
        let mut command = tokio::process::Command::new(BIN);
        command.arg(subcommand).args(args);
        for var in OUTSIDE_ENV {
            command.env_remove(var);
        }
        command
            .env("HOME", std::env::temp_dir().join("tollfree-import-no-home"))
            .env("INTELEPEER_URL", self.0.url())
            .env("INTELEPEER_USERNAME", "demo")
            .env("INTELEPEER_PASSWORD", "demo");
        let output = command.output().await.expect("the binary runs");
        let run = Run::of(&output);
        let ledger = self.0.sim().ledger();
        assert!(
            ledger.is_empty(),
            "{subcommand} mutated the account: {ledger:?}\n{run:?}"
        );
        run
    }
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[tokio::test]
async fn imported_sets_own_every_number_where_it_is_and_plan_reports_no_changes() {
    let sim = Sim::start().await;
    sim.0
        .sim()
        .seed_inventory(&["+18007293863", "+18003255821", "+18003255822"], 30744);
    sim.0
        .sim()
        .seed_inventory(&["+18885550001", "+18885550002"], 24188);
    let dir = TempDir::new("two-packages");
    let out = dir.path().join("sets");

    let run = sim
        .run("import", &["--output-dir", &arg(&out), "-n", "telecom"])
        .await;

    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty(), "manifests go to files: {run:?}");
    assert!(
        run.stderr
            .starts_with("imported 5 numbers of environment (INTELEPEER_USERNAME) into 2 sets"),
        "{run:?}"
    );
    assert_eq!(
        dir.files("sets"),
        ["imported-24188.yaml", "imported-30744.yaml"]
    );
    let text = std::fs::read_to_string(out.join("imported-30744.yaml")).expect("read");
    for expected in [
        "kind: TollFreeNumberSet",
        "  name: imported-30744\n  namespace: telecom",
        "    name: intelepeer-account",
        "  - packageID: 30744",
        "    - '+18003255821'",
        "    disconnect: Deny",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }

    let plan = sim.run("plan", &["-f", &arg(&out), "-o", "json"]).await;
    assert_eq!(plan.code, 0, "no changes: {plan:?}");
    let doc: Value = serde_json::from_str(&plan.stdout).expect("json");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"sets": 2, "buy": 0, "move": 0, "disconnect": 0,
                           "held": 0, "adopt": 5, "conflicts": 0})
    );
    assert_eq!(doc["accounts"][0]["unowned"], 0, "every number is owned");
}

#[tokio::test]
async fn grouping_by_label_makes_one_set_per_package_and_label() {
    let sim = Sim::start().await;
    sim.0.sim().seed_owned(&[
        sim.owned("+18007293863", 30744, Some("Head office")),
        sim.owned("+18003255821", 30744, Some("Automated Messaging")),
        sim.owned("+18003255822", 30744, Some("Automated Messaging")),
        sim.owned("+18885550001", 30744, None),
    ]);

    let run = sim.run("import", &["--group-by", "label"]).await;

    assert_eq!(run.code, 0, "{run:?}");
    let mut names = Vec::new();
    for document in yaml_serde::Deserializer::from_str(&run.stdout) {
        let value: Value = serde::Deserialize::deserialize(document).expect("YAML");
        names.push(value["metadata"]["name"].as_str().unwrap_or("").to_owned());
        assert_eq!(value["metadata"]["namespace"], "default");
    }
    names.sort();
    assert_eq!(
        names,
        [
            "imported-30744-automated-messaging",
            "imported-30744-head-office",
            "imported-30744-unlabeled"
        ]
    );
    assert!(run.stdout.contains("label \"Head office\""), "{run:?}");
}

#[tokio::test]
async fn an_incomplete_listing_is_refused() {
    let sim = Sim::start().await;
    sim.0
        .sim()
        .seed_inventory(&["+18007293863", "+18003255821"], 30744);
    sim.0
        .sim()
        .set_tampering(Tampering::default().stripping_plus(["+18003255821"]));

    let run = sim.run("import", &[]).await;

    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: the inventory listing of environment (INTELEPEER_USERNAME) is not complete"
        ),
        "{run:?}"
    );
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[tokio::test]
async fn existing_files_are_kept_unless_forced_and_bad_options_exit_1() {
    let sim = Sim::start().await;
    sim.0.sim().seed_inventory(&["+18007293863"], 30744);
    let dir = TempDir::new("force");
    let out = arg(dir.path());
    std::fs::write(dir.path().join("imported-30744.yaml"), "# mine\n").expect("write");

    let run = sim.run("import", &["--output-dir", &out]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("exists: pass --force"), "{run:?}");
    let kept = std::fs::read_to_string(dir.path().join("imported-30744.yaml")).expect("read");
    assert_eq!(kept, "# mine\n");

    let run = sim.run("import", &["--output-dir", &out, "--force"]).await;
    assert_eq!(run.code, 0, "{run:?}");

    for (args, expected) in [
        (
            &["--max-numbers", "1001"][..],
            "--max-numbers 1001 is out of range",
        ),
        (
            &["--group-by", "npa"][..],
            "--group-by 'npa' is not a grouping",
        ),
        (
            &["--disconnect", "Sometimes"][..],
            "--disconnect 'Sometimes' is not a policy",
        ),
        (
            &["--package", "24188"][..],
            "owns no numbers in the packages asked for",
        ),
        (
            &["--name-prefix", "Bad_"][..],
            "choose another --name-prefix",
        ),
    ] {
        let run = sim.run("import", args).await;
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {run:?}");
    }
}
