//! The shape of the generated CRD: names, scope, subresources, printer columns,
//! schema bounds, defaults, descriptions and CEL rules. A change here is a change
//! of the user-facing contract (the README: what users write and see).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;
use tollfree_operator::crd::TollFreeNumberSet;

fn crd() -> CustomResourceDefinition {
    TollFreeNumberSet::crd()
}

fn schema() -> Value {
    let crd = crd();
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .expect("openAPIV3Schema"),
    )
    .expect("json")
}

/// The schema node at a dotted path of property names (`[]` steps into items).
fn at(path: &str) -> Value {
    let mut node = schema();
    for step in path.split('.') {
        node = if step == "[]" {
            node["items"].clone()
        } else {
            node["properties"][step].clone()
        };
        assert!(!node.is_null(), "{path}: no such schema node (at {step})");
    }
    node
}

/// `(rule, message)` pairs of a node.
fn rules(path: &str) -> Vec<(String, String)> {
    at(path)["x-kubernetes-validations"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| {
                    (
                        r["rule"].as_str().unwrap_or_default().to_string(),
                        r["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
fn assert_rule(path: &str, message_part: &str) {
    let rules = rules(path);
    assert!(
        rules.iter().any(|(_, m)| m.contains(message_part)),
        "{path}: no rule with message '{message_part}' in {rules:?}"
    );
}

#[test]
fn names_scope_and_version() {
    let crd = crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("tollfreenumbersets.tollfree.dev")
    );
    assert_eq!(crd.spec.group, "tollfree.dev");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "TollFreeNumberSet");
    assert_eq!(crd.spec.names.plural, "tollfreenumbersets");
    assert_eq!(
        crd.spec.names.singular.as_deref(),
        Some("tollfreenumberset")
    );
    assert_eq!(crd.spec.names.short_names, Some(vec!["tfns".to_string()]));
    assert_eq!(crd.spec.versions.len(), 1);
    let v = &crd.spec.versions[0];
    assert_eq!(v.name, "v1alpha1");
    assert!(v.served && v.storage);
}

#[test]
fn status_is_a_subresource() {
    let crd = crd();
    let sub = crd.spec.versions[0]
        .subresources
        .as_ref()
        .expect("subresources");
    assert!(sub.status.is_some());
    assert!(sub.scale.is_none());
}

#[test]
fn printer_columns_are_ready_desired_active_pending_age() {
    let crd = crd();
    let cols = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .expect("columns");
    let default: Vec<(&str, &str, &str)> = cols
        .iter()
        .filter(|c| c.priority.unwrap_or(0) == 0)
        .map(|c| (c.name.as_str(), c.type_.as_str(), c.json_path.as_str()))
        .collect();
    assert_eq!(
        default,
        vec![
            (
                "Ready",
                "string",
                r#".status.conditions[?(@.type=="Ready")].status"#
            ),
            ("Desired", "integer", ".status.desired"),
            ("Active", "integer", ".status.active"),
            ("Pending", "integer", ".status.pending"),
            ("Age", "date", ".metadata.creationTimestamp"),
        ]
    );
    // `kubectl get -o wide` adds the Ready reason.
    assert!(
        cols.iter()
            .any(|c| c.name == "Reason" && c.priority == Some(1))
    );
}

#[test]
fn spec_fields_use_the_documented_json_names() {
    let spec = at("spec");
    let mut names: Vec<&str> = spec["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            "accountRef",
            "disconnectGracePeriod",
            "limits",
            "orderDefaults",
            "packages",
            "policy",
            "suspend"
        ]
    );
    assert_eq!(
        spec["required"],
        serde_json::json!(["accountRef", "packages"])
    );
    for path in [
        "spec.accountRef.name",
        "spec.packages.[].packageID",
        "spec.packages.[].numbers",
        "spec.packages.[].acquire.count",
        "spec.packages.[].acquire.npa",
        "spec.packages.[].acquire.like",
        "spec.packages.[].acquire.sequential",
        "spec.orderDefaults.serviceArea",
        "spec.orderDefaults.myRespOrg",
        "spec.orderDefaults.email",
        "spec.orderDefaults.notes",
        "spec.policy.purchase",
        "spec.policy.move",
        "spec.policy.disconnect",
        "spec.limits.maxPurchasesPerSync",
        "spec.limits.maxDisconnectsPerSync",
    ] {
        at(path);
    }
}

#[test]
fn defaults_are_in_the_schema() {
    assert_eq!(
        at("spec.policy")["default"],
        serde_json::json!({"purchase": "Auto", "move": "Auto", "disconnect": "Deny"})
    );
    assert_eq!(
        at("spec.limits")["default"],
        serde_json::json!({"maxPurchasesPerSync": 25, "maxDisconnectsPerSync": 5})
    );
    assert_eq!(
        at("spec.orderDefaults")["default"],
        serde_json::json!({"serviceArea": 4, "myRespOrg": false})
    );
    assert_eq!(at("spec.suspend")["default"], serde_json::json!(false));
}

#[test]
fn policy_values_are_an_enum() {
    for op in ["purchase", "move", "disconnect"] {
        assert_eq!(
            at(&format!("spec.policy.{op}"))["enum"],
            serde_json::json!(["Auto", "Approve", "Deny"]),
            "{op}"
        );
    }
}

#[test]
fn lists_and_strings_are_bounded_so_cel_costs_are_estimable() {
    assert_eq!(at("spec.packages")["maxItems"], 100);
    assert_eq!(at("spec.packages.[].numbers")["maxItems"], 1000);
    // The apiserver refuses a repeated number in one package natively.
    assert_eq!(
        at("spec.packages.[].numbers")["x-kubernetes-list-type"],
        "set"
    );
    assert_eq!(at("spec.packages.[].numbers.[]")["maxLength"], 16);
    assert_eq!(at("spec.packages.[].acquire.npa")["maxItems"], 7);
    assert_eq!(at("spec.packages.[].acquire.like")["maxLength"], 12);
    assert_eq!(at("spec.accountRef.name")["maxLength"], 253);
    assert_eq!(at("spec.disconnectGracePeriod")["maxLength"], 64);
    assert_eq!(at("spec.orderDefaults.email")["maxLength"], 254);
    assert_eq!(at("spec.orderDefaults.notes")["maxLength"], 500);
}

#[test]
fn cel_rules_guard_every_documented_constraint() {
    assert_rule(
        "spec.packages.[].numbers.[]",
        "numbers must be E.164 toll-free, like +18005550100 (NPA 800, 833, 844, 855, 866, 877 or 888)",
    );
    assert_rule(
        "spec.packages",
        "a number may appear only once in a set (across all packages)",
    );
    assert_rule("spec.packages", "each packageID may appear only once");
    assert_rule(
        "spec.packages.[]",
        "a package needs numbers, acquire, or both",
    );
    assert_rule("spec.packages.[].packageID", "packageID must be a positive");
    assert_rule(
        "spec.packages.[].acquire",
        "exactly one of npa (area codes) or like",
    );
    assert_rule("spec.packages.[].acquire.count", "between 1 and 100");
    assert_rule(
        "spec.packages.[].acquire.npa",
        "npa values must be toll-free area codes",
    );
    assert_rule(
        "spec.packages.[].acquire.like",
        "like must be a toll-free prefix",
    );
    assert_rule(
        "spec.orderDefaults.serviceArea",
        "serviceArea must be 1, 2, 3, 4 or 5",
    );
    assert_rule("spec.orderDefaults.email", "email must be an address");
    assert_rule("spec.limits.maxPurchasesPerSync", "0 or more");
    assert_rule("spec.limits.maxDisconnectsPerSync", "0 or more");
    assert_rule("spec.disconnectGracePeriod", "must be a duration like 72h");
    assert_rule("spec.accountRef.name", "must be a Secret name");
}

#[test]
fn conditions_merge_by_type() {
    let conditions = at("status.conditions");
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(
        conditions["x-kubernetes-list-map-keys"],
        serde_json::json!(["type"])
    );
}

#[test]
fn status_carries_counters_numbers_orders_plan_and_intents() {
    for path in [
        "status.observedGeneration",
        "status.desired",
        "status.active",
        "status.pending",
        "status.lastSyncTime",
        "status.inventoryCount",
        "status.numbers.[].number",
        "status.numbers.[].packageID",
        "status.numbers.[].state",
        "status.numbers.[].orderID",
        "status.numbers.[].reservationID",
        "status.numbers.[].reservedUntil",
        "status.numbers.[].message",
        "status.numbers.[].owned",
        "status.numbers.[].acquired",
        "status.numbers.[].ownedPackageID",
        "status.numbers.[].leavingSince",
        "status.numbers.[].unavailableSince",
        "status.numbers.[].missingSince",
        "status.account",
        "status.orders.[].orderID",
        "status.orders.[].referenceID",
        "status.orders.[].type",
        "status.orders.[].status",
        "status.orders.[].created",
        "status.orders.[].numbers",
        "status.orders.[].packageID",
        "status.plan.hash",
        "status.plan.actions.[].action",
        "status.plan.actions.[].packageID",
        "status.plan.actions.[].numbers",
        "status.plan.actions.[].count",
        "status.plan.actions.[].hold",
        "status.plan.actions.[].message",
        "status.intents.[].kind",
        "status.intents.[].numbers",
        "status.intents.[].packageID",
        "status.intents.[].reservationID",
        "status.intents.[].reservedUntil",
        "status.intents.[].referenceID",
        "status.intents.[].orderID",
        "status.intents.[].acquired",
        "status.intents.[].started",
        "status.intents.[].refusedAt",
    ] {
        at(path);
    }
    assert_eq!(
        at("status.numbers.[].state")["enum"],
        serde_json::json!([
            "Active",
            "Reserved",
            "Purchasing",
            "Moving",
            "PendingDisconnect",
            "Disconnecting",
            "Unavailable",
            "Conflict",
            "Blocked",
            "Missing"
        ])
    );
    // Full precision: the memory must round-trip (metav1.Time would cut to seconds).
    assert_eq!(at("status.intents.[].started")["format"], "date-time");
}

#[test]
fn integers_use_formats_the_apiserver_knows() {
    fn walk(node: &Value, path: &str, bad: &mut Vec<String>) {
        if let Some(format) = node.get("format").and_then(Value::as_str)
            && !["int32", "int64", "date-time"].contains(&format)
        {
            bad.push(format!("{path}: {format}"));
        }
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                walk(v, &format!("{path}.{k}"), bad);
            }
        }
        if let Some(items) = node.get("items") {
            walk(items, &format!("{path}[]"), bad);
        }
    }
    let mut bad = Vec::new();
    walk(&schema(), "", &mut bad);
    assert!(bad.is_empty(), "unknown formats (kubectl warns): {bad:?}");
}

#[test]
fn every_field_is_documented_for_kubectl_explain() {
    fn walk(node: &Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                let p = format!("{path}.{k}");
                if v.get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    missing.push(p.clone());
                }
                walk(v, &p, missing);
            }
        }
        if let Some(items) = node.get("items") {
            walk(items, &format!("{path}[]"), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&schema(), "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without description: {missing:?}"
    );
}
