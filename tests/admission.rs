//! Admission: the real API server enforces the CRD's schema and CEL rules with
//! messages a person can act on (the README), accepts the design's example
//! unchanged, and `kubectl explain` / `kubectl get tfns` show what §2 promises.
//!
//! One rule per test; each test applies its manifest in a fresh namespace of the
//! binary's control plane (see `tests/support`).

mod support;

use std::time::Duration;

use support::{ControlPlane, TestNs, example_set, wait_until};

/// A set named `bad` whose spec is `spec` (YAML, indented by two spaces).
fn set_with_spec(spec: &str) -> String {
    format!(
        "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata: {{name: bad}}\nspec:\n{spec}"
    )
}

/// A valid spec whose single package is `package` (a flow-style mapping).
fn spec_with_package(package: &str) -> String {
    format!("  accountRef: {{name: intelepeer-account}}\n  packages:\n    - {package}\n")
}

/// Applies `manifest` in a fresh namespace, asserts that the API server rejects
/// it with a message containing every one of `expected`, and that nothing was
/// stored.
#[track_caller]
fn assert_rejected(manifest: &str, expected: &[&str]) {
    let ns = TestNs::create();
    let out = ns.try_apply(manifest);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the API server accepted:\n{manifest}\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for part in expected {
        assert!(
            stderr.contains(part),
            "rejected, but the message lacks {part:?}:\n{stderr}\nmanifest:\n{manifest}"
        );
    }
    let left =
        ControlPlane::shared().kubectl(&["get", "tfns", "--namespace", ns.name(), "-o", "name"]);
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "a rejected set was stored"
    );
}

#[test]
fn rejects_a_number_not_in_e164_form() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            r#"{packageID: 30744, numbers: ["8007293863"]}"#,
        )),
        &[
            "spec.packages[0].numbers[0]",
            "numbers must be E.164 toll-free, like +18005550100",
        ],
    );
}

#[test]
fn rejects_a_number_outside_the_toll_free_npas() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            r#"{packageID: 30744, numbers: ["+18007293863", "+13035550100"]}"#,
        )),
        &[
            "spec.packages[0].numbers[1]",
            "numbers must be E.164 toll-free",
            "NPA 800, 833, 844, 855, 866, 877 or 888",
        ],
    );
}

#[test]
fn rejects_a_number_listed_in_two_packages() {
    assert_rejected(
        &set_with_spec(
            r#"  accountRef: {name: intelepeer-account}
  packages:
    - {packageID: 30744, numbers: ["+18007293863"]}
    - {packageID: 24188, numbers: ["+18003255821", "+18007293863"]}
"#,
        ),
        &["a number may appear only once in a set"],
    );
}

#[test]
fn rejects_a_number_listed_twice_in_one_package() {
    // The schema could say `x-kubernetes-list-type: set`; either way it must not pass.
    let ns = TestNs::create();
    let out = ns.try_apply(&set_with_spec(&spec_with_package(
        r#"{packageID: 30744, numbers: ["+18007293863", "+18007293863"]}"#,
    )));
    assert!(!out.status.success(), "a duplicate number was accepted");
}

#[test]
fn rejects_package_id_zero() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            r#"{packageID: 0, numbers: ["+18007293863"]}"#,
        )),
        &[
            "spec.packages[0].packageID",
            "packageID must be a positive IntelePeer package",
        ],
    );
}

#[test]
fn rejects_the_same_package_id_twice() {
    assert_rejected(
        &set_with_spec(
            r#"  accountRef: {name: intelepeer-account}
  packages:
    - {packageID: 30744, numbers: ["+18007293863"]}
    - {packageID: 30744, numbers: ["+18003255821"]}
"#,
        ),
        &["each packageID may appear only once"],
    );
}

#[test]
fn rejects_a_package_with_neither_numbers_nor_acquire() {
    assert_rejected(
        &set_with_spec(&spec_with_package("{packageID: 30744}")),
        &["a package needs numbers, acquire, or both"],
    );
}

#[test]
fn rejects_like_and_npa_together() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            r#"{packageID: 24188, acquire: {count: 3, npa: [888], like: "+1888555"}}"#,
        )),
        &[
            "spec.packages[0].acquire",
            "acquire needs exactly one of npa (area codes) or like (a number prefix)",
        ],
    );
}

#[test]
fn rejects_acquire_without_like_or_npa() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            "{packageID: 24188, acquire: {count: 3}}",
        )),
        &["acquire needs exactly one of npa (area codes) or like (a number prefix)"],
    );
}

#[test]
fn rejects_an_npa_that_is_not_toll_free() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            "{packageID: 24188, acquire: {count: 1, npa: [888, 303]}}",
        )),
        &["npa values must be toll-free area codes"],
    );
}

#[test]
fn rejects_a_like_prefix_that_is_not_toll_free() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            r#"{packageID: 24188, acquire: {count: 1, like: "+1303"}}"#,
        )),
        &["like must be a toll-free prefix such as +1888"],
    );
}

#[test]
fn rejects_service_area_6() {
    assert_rejected(
        &set_with_spec(&format!(
            "{}  orderDefaults: {{serviceArea: 6}}\n",
            spec_with_package(r#"{packageID: 30744, numbers: ["+18007293863"]}"#)
        )),
        &[
            "spec.orderDefaults.serviceArea",
            "serviceArea must be 1, 2, 3, 4 or 5",
        ],
    );
}

#[test]
fn rejects_acquire_count_0() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            "{packageID: 24188, acquire: {count: 0, npa: [888]}}",
        )),
        &[
            "spec.packages[0].acquire.count",
            "count must be between 1 and 100",
        ],
    );
}

#[test]
fn rejects_acquire_count_101() {
    assert_rejected(
        &set_with_spec(&spec_with_package(
            "{packageID: 24188, acquire: {count: 101, npa: [888]}}",
        )),
        &[
            "spec.packages[0].acquire.count",
            "count must be between 1 and 100",
        ],
    );
}

#[test]
fn rejects_a_set_over_1000_numbers_saying_to_split_it() {
    let numbers: Vec<String> = (0..951).map(|k| format!("\"+1888{k:07}\"")).collect();
    assert_rejected(
        &set_with_spec(&format!(
            "  accountRef: {{name: intelepeer-account}}\n  packages:\n    - {{packageID: 1, numbers: [{}]}}\n    - {{packageID: 2, acquire: {{count: 50, npa: [800]}}}}\n",
            numbers.join(", ")
        )),
        &[
            "spec.packages",
            "a set may hold at most 1000 numbers (exact numbers plus acquire counts): split it into several sets",
        ],
    );
}

#[test]
fn rejects_an_unknown_policy_value() {
    assert_rejected(
        &set_with_spec(&format!(
            "{}  policy: {{disconnect: Sometimes}}\n",
            spec_with_package(r#"{packageID: 30744, numbers: ["+18007293863"]}"#)
        )),
        &[
            "spec.policy.disconnect",
            "Unsupported value: \"Sometimes\"",
            "\"Auto\", \"Approve\", \"Deny\"",
        ],
    );
}

#[test]
fn rejects_a_grace_period_that_is_not_a_duration() {
    assert_rejected(
        &set_with_spec(&format!(
            "{}  disconnectGracePeriod: 3 days\n",
            spec_with_package(r#"{packageID: 30744, numbers: ["+18007293863"]}"#)
        )),
        &[
            "spec.disconnectGracePeriod",
            "disconnectGracePeriod must be a duration like 72h, 30m or 1h30m",
        ],
    );
}

#[test]
fn accepts_the_design_example_unchanged() {
    let ns = TestNs::create();
    ns.apply(&example_set());
    let stored = ControlPlane::shared().kubectl_ok(&[
        "get",
        "tollfreenumberset",
        "support-lines",
        "--namespace",
        ns.name(),
        "-o",
        "json",
    ]);
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("JSON");
    let spec = &stored["spec"];
    // Nothing the user wrote was pruned.
    assert_eq!(spec["accountRef"]["name"], "intelepeer-account");
    assert_eq!(
        spec["packages"][0]["numbers"],
        serde_json::json!(["+18007293863", "+18003255821"])
    );
    assert_eq!(spec["packages"][1]["packageID"], 24188);
    assert_eq!(
        spec["packages"][1]["acquire"],
        serde_json::json!({"count": 3, "npa": [888], "sequential": true})
    );
    assert_eq!(spec["orderDefaults"]["email"], "noc@example.com");
    assert_eq!(spec["policy"]["disconnect"], "Deny");
    assert_eq!(spec["disconnectGracePeriod"], "72h");
    assert_eq!(spec["limits"]["maxDisconnectsPerSync"], 5);
    assert_eq!(spec["suspend"], false);
}

#[test]
fn accepts_a_minimal_set_and_defaults_the_rest() {
    let ns = TestNs::create();
    ns.apply(
        r#"
apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata: {name: minimal}
spec:
  accountRef: {name: intelepeer-account}
  packages:
    - {packageID: 24188, acquire: {count: 1, like: "+1888555"}}
"#,
    );
    let stored = ControlPlane::shared().kubectl_ok(&[
        "get",
        "tfns",
        "minimal",
        "--namespace",
        ns.name(),
        "-o",
        "jsonpath={.spec.packages[0].acquire.like}",
    ]);
    assert_eq!(stored, "+1888555");
}

#[test]
fn get_shows_the_printer_columns() {
    let ns = TestNs::create();
    ns.apply(&example_set());
    let table = ControlPlane::shared().kubectl_ok(&["get", "tfns", "--namespace", ns.name()]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "READY", "DESIRED", "ACTIVE", "PENDING", "AGE"],
        "{table}"
    );
    let row = lines.next().expect("a row");
    assert!(row.starts_with("support-lines "), "{table}");
}

#[test]
fn explain_documents_the_package_fields() {
    let cp = ControlPlane::shared();
    // The OpenAPI of a new CRD is published a moment after it is Established.
    let explained = wait_until(
        Duration::from_secs(60),
        "kubectl explain tollfreenumberset.spec.packages",
        || {
            let out = cp.kubectl(&["explain", "tollfreenumberset.spec.packages"]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (out.status.success() && text.contains("FIELDS")).then_some(text)
        },
    );
    for field in ["packageID", "numbers", "acquire"] {
        assert!(
            explained.contains(&format!("{field}\t")) || explained.contains(&format!("{field} ")),
            "`kubectl explain` does not list {field}:\n{explained}"
        );
    }
    // Descriptions come from the Rust doc comments.
    assert!(explained.contains("route profile"), "{explained}");
    assert!(explained.contains("adopted"), "{explained}");

    let acquire = cp.kubectl_ok(&["explain", "tfns.spec.packages.acquire"]);
    for field in ["count", "npa", "like", "sequential"] {
        assert!(
            acquire.contains(field),
            "`kubectl explain` does not list acquire.{field}:\n{acquire}"
        );
    }
}
