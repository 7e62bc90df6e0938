//! The health that GitOps tools compute for a TollFreeNumberSet, followed
//! through a set's life on a real apiserver with the operator and the
//! simulated vendor: kstatus (sigs.k8s.io/cli-utils, what Flux and kpt wait
//! on) and the shipped Argo CD health check (gopher-lua, as Argo CD runs it),
//! both computed on the objects exactly as `kubectl get -o json` returns them.
//!
//! | the set | kstatus | Argo CD |
//! |---|---|---|
//! | converging (orders in flight) | InProgress | Progressing |
//! | Ready for its generation | Current | Healthy |
//! | spec newer than status | InProgress | Progressing |
//! | Stalled (conflict, refused credentials) | Failed | Degraded |
//! | suspended, nothing held | Current | Suspended |
//! | suspended, holding actions | InProgress | Suspended |
//! | deleting | Terminating | Progressing |
//!
//! The live `/metrics` (classic text format, asked for by `Accept`) passes
//! `promtool check metrics` and carries the set's conditions.
//!
//! With `TOLLFREE_CAPTURE_FIXTURES=DIR`, every state above is also written to
//! DIR as the JSON the tools read (without `metadata.managedFields`): that is
//! how `tests/fixtures/status/` was captured (`tests/observability.rs` reads it).

mod support;
#[path = "support/tools.rs"]
mod tools;

use std::process::Command;
use std::time::{Duration, Instant};

use intelepeer_sim::SimConfig;
use serde_json::Value;
use support::ControlPlane;
use support::scenario::{ACCOUNT_SECRET, Scenario, set_manifest, sim_config};
use tools::{Verdict, argocd_health, kstatus, output_text};

/// Numbers of the simulator's pool.
const A: &str = "+18007293863";
const B: &str = "+18003255821";
const C: &str = "+18885551201";
const D: &str = "+18885551202";
/// A route profile.
const P1: u64 = 30744;

/// How long a look waits for a state.
const WAIT: Duration = Duration::from_secs(60);
/// Between two looks.
const POLL: Duration = Duration::from_millis(250);

/// The set as `kubectl get tfns NAME -o json` prints it, or `None` if it is gone.
fn raw(s: &Scenario, name: &str) -> Option<String> {
    let out = ControlPlane::shared().kubectl(&["get", "tfns", name, "-n", s.ns(), "-o", "json"]);
    if out.status.success() {
        return Some(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NotFound"),
        "kubectl get tfns {name}: {stderr}"
    );
    None
}

fn json(object: &str) -> Value {
    serde_json::from_str(object).expect("kubectl printed JSON")
}

/// `(status, reason)` of condition `type_`.
fn condition(v: &Value, type_: &str) -> Option<(String, String)> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
}

fn is(v: &Value, type_: &str, status: &str) -> bool {
    condition(v, type_).is_some_and(|(s, _)| s == status)
}

fn generations(v: &Value) -> (Option<i64>, Option<i64>) {
    (
        v["metadata"]["generation"].as_i64(),
        v["status"]["observedGeneration"].as_i64(),
    )
}

/// The status describes the current spec.
fn observed(v: &Value) -> bool {
    let (generation, observed) = generations(v);
    observed.is_some() && observed == generation
}

/// One look at the set: the object and what both tools say about it.
struct Look {
    object: String,
    value: Value,
    kstatus: Verdict,
    argocd: Verdict,
}

impl Look {
    fn of(object: String) -> Look {
        Look {
            value: json(&object),
            kstatus: kstatus(&object),
            argocd: argocd_health(&object),
            object,
        }
    }

    fn describe(&self) -> String {
        let (generation, observed) = generations(&self.value);
        format!(
            "generation {generation:?}, observed {observed:?}, Ready {:?}, Reconciling {:?}, Stalled {:?} -> kstatus {:?}, Argo CD {:?}",
            condition(&self.value, "Ready"),
            condition(&self.value, "Reconciling"),
            condition(&self.value, "Stalled"),
            self.kstatus,
            self.argocd
        )
    }

    /// Asserts both verdicts; on failure prints the object.
    #[track_caller]
    fn expect(&self, kstatus: &str, argocd: &str) {
        assert!(
            self.kstatus.status == kstatus && self.argocd.status == argocd,
            "expected kstatus {kstatus} and Argo CD {argocd}: {}\n{}",
            self.describe(),
            self.object
        );
    }

    /// Writes the object to `$TOLLFREE_CAPTURE_FIXTURES/FILE` when capturing.
    fn capture(&self, file: &str) {
        let Some(dir) = std::env::var_os("TOLLFREE_CAPTURE_FIXTURES") else {
            return;
        };
        let mut v = self.value.clone();
        if let Some(meta) = v["metadata"].as_object_mut() {
            meta.remove("managedFields");
        }
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("capture directory");
        let text = serde_json::to_string_pretty(&v).expect("JSON") + "\n";
        std::fs::write(dir.join(file), text).expect("writing a fixture");
        eprintln!("captured {file}: {}", self.describe());
    }
}

/// Looks at the set every [`POLL`] (each look computed by both tools) until
/// `done` holds for one; returns every look, the last one satisfying `done`.
#[track_caller]
fn follow(s: &Scenario, name: &str, what: &str, mut done: impl FnMut(&Look) -> bool) -> Vec<Look> {
    let deadline = Instant::now() + WAIT;
    let mut looks = Vec::new();
    loop {
        if let Some(object) = raw(s, name) {
            let look = Look::of(object);
            let finished = done(&look);
            looks.push(look);
            if finished {
                return looks;
            }
        }
        if Instant::now() >= deadline {
            let seen: Vec<String> = looks.iter().map(Look::describe).collect();
            panic!(
                "timed out after {WAIT:?} waiting for tfns {name}: {what}\nlooks:\n{}\n{}",
                seen.join("\n"),
                s.evidence(name)
            );
        }
        std::thread::sleep(POLL);
    }
}

/// Waits for one state and returns its look.
#[track_caller]
fn wait(s: &Scenario, name: &str, what: &str, done: impl FnMut(&Look) -> bool) -> Look {
    follow(s, name, what, done)
        .pop()
        .expect("follow returns the look that satisfied it")
}

/// The live `/metrics` in the classic text format, checked by promtool.
#[track_caller]
fn scrape_checked(s: &Scenario) -> String {
    let url = format!("{}/metrics", s.operator().metrics_url());
    let out = Command::new("curl")
        .args(["-sf", "-H", "Accept: text/plain; version=0.0.4", &url])
        .output()
        .expect("running curl");
    assert!(out.status.success(), "curl {url}: {}", output_text(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !text.contains("# EOF"),
        "OpenMetrics served for text/plain:\n{text}"
    );
    let check = tools::run("promtool", &["check", "metrics"], &text);
    assert!(
        check.status.success() && check.stdout.is_empty() && check.stderr.is_empty(),
        "promtool check metrics on the live /metrics:\n{text}\n{}",
        output_text(&check)
    );
    text
}

/// The value of `tollfree_set_condition` for a set's condition with `reason`.
fn condition_metric(
    text: &str,
    ns: &str,
    name: &str,
    condition: &str,
    reason: &str,
) -> Option<f64> {
    let series = format!(
        "tollfree_set_condition{{namespace=\"{ns}\",name=\"{name}\",condition=\"{condition}\",reason=\"{reason}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
}

/// Builds the tools before a scenario starts, so that a first build (minutes
/// on a fresh machine) never eats into a wait for the set.
fn tools_built() {
    for name in ["kstatus", "lua-health", "promtool"] {
        tools::tool(name);
    }
}

fn lines(numbers: &[&str], suspend: bool) -> String {
    let quoted: Vec<String> = numbers.iter().map(|n| format!("\"{n}\"")).collect();
    set_manifest(
        "lines",
        &format!(
            "  packages:\n    - packageID: {P1}\n      numbers: [{}]\n  suspend: {suspend}\n",
            quoted.join(", ")
        ),
    )
}

#[test]
fn kstatus_and_argocd_follow_a_set_from_apply_to_ready_through_a_spec_change() {
    tools_built();
    // Orders take 3 s, so the set is seen converging.
    let mut s = Scenario::without_operator(SimConfig {
        order_delay: Duration::from_secs(3),
        ..sim_config()
    });
    s.test_ns().create_account_secret(ACCOUNT_SECRET);
    s.apply(&lines(&[A, B], false));

    // No status yet: Argo CD waits. kstatus says Current for an object with
    // neither status.observedGeneration nor conditions (its generic rule);
    // no operator can write before it has seen the object.
    let fresh = Look::of(raw(&s, "lines").expect("applied"));
    assert!(fresh.value["status"].is_null(), "{}", fresh.object);
    fresh.expect("Current", "Progressing");
    fresh.capture("01-applied-no-status.json");

    // Converging, then Ready: InProgress until Current, never Current early.
    s.start_operator();
    let looks = follow(&s, "lines", "Ready=True at generation 1", |l| {
        observed(&l.value) && is(&l.value, "Ready", "True")
    });
    let converging = looks
        .iter()
        .find(|l| observed(&l.value) && is(&l.value, "Reconciling", "True"))
        .unwrap_or_else(|| {
            let seen: Vec<String> = looks.iter().map(Look::describe).collect();
            panic!("never saw the set Reconciling:\n{}", seen.join("\n"))
        });
    converging.expect("InProgress", "Progressing");
    converging.capture("02-converging.json");
    for l in looks.iter().filter(|l| l.value["status"].is_object()) {
        if !is(&l.value, "Ready", "True") {
            assert_eq!(l.kstatus.status, "InProgress", "{}", l.describe());
            assert_eq!(l.argocd.status, "Progressing", "{}", l.describe());
        }
    }
    let ready = looks.last().expect("the Ready look");
    ready.expect("Current", "Healthy");
    ready.capture("03-ready.json");

    let metrics = scrape_checked(&s);
    assert_eq!(
        condition_metric(&metrics, s.ns(), "lines", "Ready", "Converged"),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        condition_metric(&metrics, s.ns(), "lines", "Stalled", "Converged"),
        Some(0.0),
        "{metrics}"
    );

    // A spec change nobody has observed yet.
    s.kill_operator();
    s.apply(&lines(&[A, B, C], false));
    let edited = Look::of(raw(&s, "lines").expect("exists"));
    assert_eq!(
        generations(&edited.value),
        (Some(2), Some(1)),
        "{}",
        edited.object
    );
    edited.expect("InProgress", "Progressing");
    assert!(
        edited.kstatus.message.contains("generation is 2"),
        "{:?}",
        edited.kstatus
    );
    edited.capture("04-spec-changed-not-observed.json");

    // Observed and converged again; never Current before generation 2 is observed.
    s.start_operator();
    let looks = follow(&s, "lines", "Ready=True at generation 2", |l| {
        observed(&l.value) && is(&l.value, "Ready", "True")
    });
    for l in &looks {
        if !observed(&l.value) {
            l.expect("InProgress", "Progressing");
        }
    }
    looks
        .last()
        .expect("the Ready look")
        .expect("Current", "Healthy");

    // Suspended with nothing to do: converged as asked (kstatus Current);
    // Argo CD shows its own Suspended state.
    s.apply(&lines(&[A, B, C], true));
    let idle = wait(&s, "lines", "Ready=True at generation 3", |l| {
        generations(&l.value) == (Some(3), Some(3)) && is(&l.value, "Ready", "True")
    });
    idle.expect("Current", "Suspended");
    idle.capture("06-suspended-converged.json");

    // Suspended with a number still to buy: the spec is not realized and will
    // not be until someone resumes it (kstatus InProgress, not Failed: nothing
    // is wrong, a person chose to wait).
    s.apply(&lines(&[A, B, C, D], true));
    let holding = wait(&s, "lines", "Ready=False reason Suspended", |l| {
        observed(&l.value)
            && condition(&l.value, "Ready") == Some(("False".into(), "Suspended".into()))
    });
    holding.expect("InProgress", "Suspended");
    holding.capture("07-suspended-holding.json");

    // Deleted while no operator runs: the finalizer keeps it, Terminating.
    s.kill_operator();
    s.kubectl(&["delete", "tfns", "lines", "--wait=false"]);
    let deleting = Look::of(raw(&s, "lines").expect("the finalizer keeps it"));
    assert!(
        deleting.value["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        deleting.object
    );
    deleting.expect("Terminating", "Progressing");
    deleting.capture("09-deleting.json");
    s.start_operator();
    s.wait_gone("lines", WAIT);
}

#[test]
fn kstatus_says_failed_and_argocd_degraded_while_a_set_is_in_conflict() {
    tools_built();
    let s = Scenario::start();
    let set = |name: &str, numbers: &[&str]| {
        let quoted: Vec<String> = numbers.iter().map(|n| format!("\"{n}\"")).collect();
        set_manifest(
            name,
            &format!(
                "  packages:\n    - packageID: {P1}\n      numbers: [{}]\n",
                quoted.join(", ")
            ),
        )
    };
    s.apply(&set("older", &[A]));
    s.wait_ready("older");
    s.apply(&set("younger", &[A, C]));
    let conflict = wait(&s, "younger", "Stalled=True reason Conflict", |l| {
        observed(&l.value)
            && condition(&l.value, "Stalled") == Some(("True".into(), "Conflict".into()))
    });
    conflict.expect("Failed", "Degraded");
    assert!(
        conflict.argocd.message.starts_with("Conflict: "),
        "{:?}",
        conflict.argocd
    );
    assert!(conflict.argocd.message.contains(A), "{:?}", conflict.argocd);
    conflict.capture("05-stalled-conflict.json");

    let metrics = scrape_checked(&s);
    assert_eq!(
        condition_metric(&metrics, s.ns(), "younger", "Stalled", "Conflict"),
        Some(1.0),
        "{metrics}"
    );

    // The person resolves it: Current again, and the Conflict series is gone.
    s.apply(&set("younger", &[C]));
    let resolved = wait(&s, "younger", "Ready=True", |l| {
        observed(&l.value) && is(&l.value, "Ready", "True")
    });
    resolved.expect("Current", "Healthy");
    let metrics = scrape_checked(&s);
    assert_eq!(
        condition_metric(&metrics, s.ns(), "younger", "Stalled", "Conflict"),
        None,
        "a stale reason is still exposed:\n{metrics}"
    );
    assert_eq!(
        condition_metric(&metrics, s.ns(), "younger", "Ready", "Converged"),
        Some(1.0),
        "{metrics}"
    );
}

#[test]
fn kstatus_says_failed_and_argocd_degraded_while_credentials_are_refused() {
    tools_built();
    let mut s = Scenario::without_operator(sim_config());
    s.test_ns()
        .create_secret(ACCOUNT_SECRET, "demo", "not-the-password");
    s.start_operator();
    s.apply(&lines(&[A], false));
    let refused = wait(&s, "lines", "Stalled=True reason CredentialsInvalid", |l| {
        observed(&l.value)
            && condition(&l.value, "Stalled") == Some(("True".into(), "CredentialsInvalid".into()))
    });
    refused.expect("Failed", "Degraded");
    assert!(
        refused.argocd.message.starts_with("CredentialsInvalid: ")
            && refused.argocd.message.contains(ACCOUNT_SECRET),
        "{:?}",
        refused.argocd
    );
    assert!(!refused.object.contains("not-the-password"));
    refused.capture("08-stalled-credentials.json");

    s.test_ns().create_secret(ACCOUNT_SECRET, "demo", "demo");
    wait(&s, "lines", "Ready=True", |l| {
        observed(&l.value) && is(&l.value, "Ready", "True")
    })
    .expect("Current", "Healthy");
}
