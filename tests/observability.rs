//! What monitoring teams load from `charts/tollfree-operator/files`, checked
//! with the tools they load it with (no cluster needed):
//!
//! - `/metrics` in the classic text format passes `promtool check metrics`,
//!   and in OpenMetrics it is read by promtool's OpenMetrics parser;
//! - `prometheus-rules.yaml` passes `promtool check rules` and its unit tests
//!   (`tests/prometheus/*.yaml`, `promtool test rules`);
//! - `grafana-dashboard.json` is a dashboard with a data source variable, and
//!   like the rules it names only metrics the operator exposes;
//! - `argocd-health.lua`, run by gopher-lua as Argo CD runs it, and kstatus
//!   (sigs.k8s.io/cli-utils) read the status objects captured from the
//!   operator on a real apiserver (`tests/fixtures/status/`, captured by
//!   `tests/e2e_kstatus.rs`) as documented in docs/observability.md.
//!
//! promtool, kstatus and lua-health are built from Go modules by
//! `hack/tools.sh` on first use and cached.

#[path = "support/tools.rs"]
mod tools;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tollfree_operator::metrics::{FAMILIES, Format, Metrics, SetNumbers};
use tollfree_plan::{NumberState, SetId};
use tools::{argocd_health, kstatus, output_text, repo_root, run};

const RULES: &str = "charts/tollfree-operator/files/prometheus-rules.yaml";
const DASHBOARD: &str = "charts/tollfree-operator/files/grafana-dashboard.json";
const HEALTH_LUA: &str = "charts/tollfree-operator/files/argocd-health.lua";
const FIXTURES: &str = "tests/fixtures/status";

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative))
        .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

/// Metrics with a series in every family (a family without series is not
/// exposed at all).
fn every_family_recorded() -> Metrics {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    let m = Metrics::new();
    let set = SetId {
        namespace: "telecom".into(),
        name: "support-lines".into(),
    };
    m.reconcile_started().failure("vendor_timeout");
    m.inventory_anomalies("user demo", "malformed_endpoint", 1);
    m.vendor_call("list_inventory", "200", Duration::from_millis(12));
    m.record_set(
        &set,
        &SetNumbers {
            account: "telecom/intelepeer-account".into(),
            states: [(NumberState::Active, 3), (NumberState::Blocked, 1)].into(),
            pending_orders: 1,
            missing: 0,
        },
    );
    m.record_conditions(
        &set,
        &[Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Converged".into(),
            message: "every number is in its package".into(),
            observed_generation: Some(1),
            last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
        }],
    );
    m.purchased("telecom", 1);
    m.moved("telecom", 1);
    m.disconnected("telecom", 1);
    m.set_unowned("telecom/intelepeer-account", 2);
    m.inventory_listed(
        "telecom/intelepeer-account",
        Duration::from_millis(80),
        4,
        true,
    );
    m.set_leader(true);
    m
}

#[test]
fn metrics_in_the_classic_text_format_pass_promtool_check_metrics() {
    let text = every_family_recorded()
        .encode_as(Format::PrometheusText)
        .expect("encode");
    let out = run("promtool", &["check", "metrics"], &text);
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics complains about\n{text}\n{}",
        output_text(&out)
    );
}

/// promtool has no `check` for OpenMetrics, but its backfill reads
/// OpenMetrics text with a strict parser (type and unit metadata, counter
/// and histogram sample names, the closing `# EOF`); backfill needs a
/// timestamp on every sample, so each gets one.
#[test]
fn metrics_in_openmetrics_parse_with_promtools_openmetrics_parser() {
    let text = every_family_recorded().encode().expect("encode");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let stamped: String = text
        .lines()
        .map(|l| {
            if l.starts_with('#') {
                format!("{l}\n")
            } else {
                format!("{l} 1700000000\n")
            }
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("openmetrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("metrics.om");
    std::fs::write(&input, &stamped).expect("write");
    let blocks = dir.join("blocks");
    let out = run(
        "promtool",
        &[
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            input.to_str().expect("utf-8 path"),
            blocks.to_str().expect("utf-8 path"),
        ],
        "",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "promtool cannot read the OpenMetrics exposition\n{stamped}\n{}",
        output_text(&out)
    );
}

#[test]
fn alert_rules_pass_promtool_check_rules() {
    let out = run("promtool", &["check", "rules", RULES], "");
    assert!(out.status.success(), "{}", output_text(&out));
}

#[test]
fn alert_rules_pass_their_promtool_unit_tests() {
    let dir = repo_root().join("tests/prometheus");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/prometheus")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            p.strip_prefix(repo_root())
                .expect("under the repository")
                .display()
                .to_string()
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rule tests in {}", dir.display());
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run("promtool", &args, "");
    assert!(out.status.success(), "{}", output_text(&out));
}

/// Every identifier starting with `tollfree_` in a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("tollfree_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.insert(tail[..len].to_owned());
        }
        rest = &tail[len..];
    }
    names
}

/// Why `name` (a sample name in a query) is not one the operator exposes,
/// if it is not: it must be a family of [`FAMILIES`] with the suffix its
/// type gives its samples, as the exposition itself shows them.
fn unknown_metric(name: &str, exposed: &BTreeSet<String>) -> Option<String> {
    let family = ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .find_map(|suffix| {
            name.strip_suffix(suffix)
                .filter(|base| FAMILIES.contains(base))
        })
        .or_else(|| FAMILIES.iter().copied().find(|f| *f == name));
    match family {
        None => Some(format!("{name} is no family of metrics::FAMILIES")),
        Some(_) if !exposed.contains(name) => Some(format!(
            "{name} is not a sample name the operator exposes (a counter's end in _total, a histogram's in _bucket/_count/_sum)"
        )),
        Some(_) => None,
    }
}

/// Every sample name of a full exposition.
fn exposed_samples() -> BTreeSet<String> {
    let text = every_family_recorded().encode().expect("encode");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn alert_rules_name_only_metrics_the_operator_exposes() {
    let rules: Value = yaml_serde::from_str(&read(RULES)).expect("rules are YAML");
    let exposed = exposed_samples();
    let mut problems = Vec::new();
    let mut alerts = 0;
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            alerts += 1;
            let expr = rule["expr"].as_str().expect("expr");
            let names = metric_names(expr);
            if names.is_empty() {
                problems.push(format!("{}: names no tollfree_ metric", rule["alert"]));
            }
            for name in names {
                if let Some(why) = unknown_metric(&name, &exposed) {
                    problems.push(format!("{}: {why}", rule["alert"]));
                }
            }
        }
    }
    assert!(alerts >= 5, "{alerts} alerts");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The panels of a dashboard, those inside rows included.
fn all_panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels is an array") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

#[test]
fn dashboard_is_a_grafana_dashboard_with_a_datasource_variable() {
    let d: Value = serde_json::from_str(&read(DASHBOARD)).expect("dashboard is JSON");
    assert!(d["uid"].as_str().is_some_and(|u| !u.is_empty()), "uid");
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()), "title");
    assert!(d["schemaVersion"].as_u64().is_some(), "schemaVersion");

    let variables = d["templating"]["list"].as_array().expect("templating.list");
    let datasource = variables
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(datasource["query"], "prometheus");
    let ds_ref = format!("${{{}}}", datasource["name"].as_str().expect("name"));

    let panels = all_panels(&d);
    let mut ids = BTreeSet::new();
    let mut graphs = 0;
    for p in &panels {
        let id = p["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("panel without id: {p}"));
        assert!(ids.insert(id), "panel id {id} twice");
        assert!(p["title"].as_str().is_some(), "panel {id} has no title");
        let grid = &p["gridPos"];
        for k in ["h", "w", "x", "y"] {
            assert!(grid[k].as_u64().is_some(), "panel {id}: gridPos.{k}");
        }
        assert!(
            grid["x"].as_u64().unwrap_or(0) + grid["w"].as_u64().unwrap_or(0) <= 24,
            "panel {id} wider than the dashboard"
        );
        if p["type"] == "row" {
            continue;
        }
        graphs += 1;
        assert_eq!(
            p["datasource"]["uid"],
            ds_ref.as_str(),
            "panel {id} datasource"
        );
        let targets = p["targets"]
            .as_array()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| panic!("panel {id} ({}) has no targets", p["title"]));
        let mut ref_ids = BTreeSet::new();
        for t in targets {
            assert!(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                "panel {id}: target without expr: {t}"
            );
            assert!(
                ref_ids.insert(t["refId"].as_str().expect("refId").to_owned()),
                "panel {id}: refId twice"
            );
            assert_eq!(
                t["datasource"]["uid"],
                ds_ref.as_str(),
                "panel {id} target datasource"
            );
        }
    }
    assert!(graphs >= 10, "{graphs} panels");
}

#[test]
fn dashboard_names_only_metrics_the_operator_exposes() {
    let d: Value = serde_json::from_str(&read(DASHBOARD)).expect("dashboard is JSON");
    let exposed = exposed_samples();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    let variables = d["templating"]["list"].as_array().expect("templating.list");
    let queries = variables
        .iter()
        .filter_map(|v| v["definition"].as_str().map(|q| ("variable", q)));
    let exprs = all_panels(&d).into_iter().flat_map(|p| {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str().map(|e| ("panel", e)))
    });
    for (what, expr) in queries.chain(exprs) {
        for name in metric_names(expr) {
            if let Some(why) = unknown_metric(&name, &exposed) {
                problems.push(format!("{what} query {expr:?}: {why}"));
            }
            used.insert(name);
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The dashboard shows every family (by some sample name).
    let shown: BTreeSet<&str> = FAMILIES
        .iter()
        .copied()
        .filter(|f| {
            used.iter().any(|u| {
                u == f
                    || ["_total", "_bucket", "_count", "_sum"]
                        .iter()
                        .any(|s| u.strip_suffix(s) == Some(f))
            })
        })
        .collect();
    let missing: Vec<&str> = FAMILIES
        .iter()
        .copied()
        .filter(|f| !shown.contains(f))
        .collect();
    assert!(missing.is_empty(), "families on no panel: {missing:?}");
}

#[test]
fn metric_names_are_found_in_promql() {
    assert_eq!(
        metric_names(
            r#"sum by (le) (rate(tollfree_vendor_call_duration_seconds_bucket{code="401"}[5m])) / x_tollfree_not"#
        ),
        BTreeSet::from(["tollfree_vendor_call_duration_seconds_bucket".to_owned()])
    );
    let exposed = exposed_samples();
    assert!(unknown_metric("tollfree_reconciles_total", &exposed).is_none());
    assert!(
        unknown_metric("tollfree_reconciles", &exposed).is_some(),
        "a counter family is no sample"
    );
    assert!(
        unknown_metric("tollfree_numbers_total", &exposed).is_some(),
        "a gauge has no _total"
    );
    assert!(unknown_metric("tollfree_nonsense", &exposed).is_some());
}

/// One captured status object: what the Argo CD health check and kstatus
/// must say about it.
struct Captured {
    file: &'static str,
    argocd: &'static str,
    /// Words the Argo CD message must contain.
    argocd_says: &'static [&'static str],
    kstatus: &'static str,
}

/// Every fixture in `tests/fixtures/status` (docs/observability.md says how
/// they were captured).
const CAPTURED: &[Captured] = &[
    Captured {
        file: "01-applied-no-status.json",
        argocd: "Progressing",
        argocd_says: &["waiting for the operator"],
        // kstatus' rule for an object with neither observedGeneration nor
        // conditions: Current. Nothing the operator writes can change it
        // before its first status write (docs/observability.md).
        kstatus: "Current",
    },
    Captured {
        file: "02-converging.json",
        argocd: "Progressing",
        argocd_says: &["Progressing"],
        kstatus: "InProgress",
    },
    Captured {
        file: "03-ready.json",
        argocd: "Healthy",
        argocd_says: &["2 numbers active"],
        kstatus: "Current",
    },
    Captured {
        file: "04-spec-changed-not-observed.json",
        argocd: "Progressing",
        argocd_says: &["generation 2 is not observed yet"],
        kstatus: "InProgress",
    },
    Captured {
        file: "05-stalled-conflict.json",
        argocd: "Degraded",
        argocd_says: &["Conflict"],
        kstatus: "Failed",
    },
    Captured {
        file: "06-suspended-converged.json",
        argocd: "Suspended",
        argocd_says: &["spec.suspend is true"],
        kstatus: "Current",
    },
    Captured {
        file: "07-suspended-holding.json",
        argocd: "Suspended",
        argocd_says: &["spec.suspend is true"],
        kstatus: "InProgress",
    },
    Captured {
        file: "08-stalled-credentials.json",
        argocd: "Degraded",
        argocd_says: &["CredentialsInvalid", "intelepeer-account"],
        kstatus: "Failed",
    },
    Captured {
        file: "09-deleting.json",
        argocd: "Progressing",
        argocd_says: &["being deleted"],
        kstatus: "Terminating",
    },
];

#[test]
fn every_captured_fixture_has_an_expectation() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(repo_root().join(FIXTURES))
        .expect("tests/fixtures/status")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let expected: BTreeSet<String> = CAPTURED.iter().map(|c| c.file.to_owned()).collect();
    assert_eq!(on_disk, expected);
}

#[test]
fn argocd_health_check_reads_every_captured_state() {
    for c in CAPTURED {
        let object = read(&format!("{FIXTURES}/{}", c.file));
        let got = argocd_health(&object);
        assert_eq!(got.status, c.argocd, "{}: {got:?}", c.file);
        for words in c.argocd_says {
            assert!(
                got.message.contains(words),
                "{}: {got:?} should say {words:?}",
                c.file
            );
        }
    }
}

#[test]
fn kstatus_reads_every_captured_state() {
    for c in CAPTURED {
        let got = kstatus(&read(&format!("{FIXTURES}/{}", c.file)));
        assert_eq!(got.status, c.kstatus, "{}: {got:?}", c.file);
    }
}

#[test]
fn the_degraded_message_is_the_stalled_conditions() {
    let object: Value =
        serde_json::from_str(&read(&format!("{FIXTURES}/05-stalled-conflict.json"))).expect("JSON");
    let stalled = object["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Stalled")
        .expect("Stalled");
    let got = argocd_health(&object.to_string());
    assert_eq!(
        got.message,
        format!(
            "{}: {}",
            stalled["reason"].as_str().expect("reason"),
            stalled["message"].as_str().expect("message")
        )
    );
}

/// The harness is only as good as its likeness to Argo CD: a script using a
/// library Argo CD does not open for custom checks must fail here too.
#[test]
fn the_lua_harness_leaves_out_the_libraries_argo_cd_leaves_out() {
    let dir = std::env::temp_dir().join(format!("lua-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let object = read(&format!("{FIXTURES}/03-ready.json"));
    for (lib, script) in [
        (
            "string",
            r#"return {status = "Healthy", message = string.format("%d", 1)}"#,
        ),
        (
            "os",
            r#"return {status = "Healthy", message = os.getenv("HOME")}"#,
        ),
        (
            "math",
            r#"return {status = "Healthy", message = tostring(math.floor(1.5))}"#,
        ),
    ] {
        let path = dir.join(format!("{lib}.lua"));
        std::fs::write(&path, script).expect("script");
        let out = run("lua-health", &[path.to_str().expect("utf-8 path")], &object);
        assert!(
            !out.status.success(),
            "{lib} is available: {}",
            output_text(&out)
        );
    }
    let path = dir.join("bad-status.lua");
    std::fs::write(&path, r#"return {status = "Fine"}"#).expect("script");
    let out = run("lua-health", &[path.to_str().expect("utf-8 path")], &object);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Lua returned an invalid health status"),
        "{}",
        output_text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
    // And the shipped script itself only uses what is there.
    let script = read(HEALTH_LUA);
    for lib in ["string.", "math.", "os.", "io."] {
        assert!(!script.contains(lib), "argocd-health.lua uses {lib}");
    }
}
