//! Strict decoding of `TollFreeNumberSet` manifests, as the API server
//! decodes them for `kubectl apply` (field validation `Strict`, kubectl's
//! default): a field the CRD's schema does not know (`spec.suspended`,
//! `numbrs`) and a value of the wrong type (`suspend: "yes"`) are errors, not
//! silently dropped — a preview that ignores a typo previews another set than
//! the one the cluster would refuse (or, with `Warn`, store without it).
//!
//! The rules are the structural schema's, taken from the generated CRD
//! ([`TollFreeNumberSet::crd`]) so they cannot drift from what is installed:
//! `properties` (anything else is unknown unless `additionalProperties` or
//! `x-kubernetes-preserve-unknown-fields` allows it), `items`, and `type`
//! (`object`, `array`, `string`, `integer`, `number`, `boolean`;
//! `x-kubernetes-int-or-string`). `null` is accepted anywhere, as the API
//! server prunes it. `metadata` is checked against `ObjectMeta`'s fields (the
//! CRD schema leaves it to the server). Value rules (patterns, ranges, CEL)
//! are [`crate::spec::set_input`]'s, run afterwards.

use std::sync::OnceLock;

use kube::CustomResourceExt as _;
use serde_json::Value;

use crate::crd::TollFreeNumberSet;

/// Longest rendering of a value in a message (characters).
const MAX_VALUE_CHARS: usize = 60;

/// Fields of `ObjectMeta` and their JSON types.
const METADATA_FIELDS: [(&str, Kind); 15] = [
    ("name", Kind::String),
    ("generateName", Kind::String),
    ("namespace", Kind::String),
    ("selfLink", Kind::String),
    ("uid", Kind::String),
    ("resourceVersion", Kind::String),
    ("generation", Kind::Integer),
    ("creationTimestamp", Kind::String),
    ("deletionTimestamp", Kind::String),
    ("deletionGracePeriodSeconds", Kind::Integer),
    ("labels", Kind::StringMap),
    ("annotations", Kind::StringMap),
    ("ownerReferences", Kind::Array),
    ("finalizers", Kind::StringArray),
    ("managedFields", Kind::Array),
];

/// A JSON type of an `ObjectMeta` field.
#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    Integer,
    StringMap,
    Array,
    StringArray,
}

/// One field the API server would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field's path, e.g. `spec.packages[0].numbrs`.
    pub path: String,
    /// What is wrong, naming the value.
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// The CRD's `openAPIV3Schema`, as JSON.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let crd = TollFreeNumberSet::crd();
        crd.spec
            .versions
            .first()
            .and_then(|v| v.schema.as_ref())
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null)
    })
}

/// Every field of `document` (a whole `TollFreeNumberSet`) that strict
/// decoding rejects: `metadata` first, then the rest in document order (keys
/// sorted) — the order in which `plan` finds them, which checks `metadata`
/// before decoding and the rest after.
#[cfg(test)]
pub fn check(document: &Value) -> Vec<Violation> {
    let mut out = check_metadata_of(document);
    out.extend(check_beyond_metadata(document));
    out
}

/// What strict decoding rejects outside `metadata` ([`check_metadata_of`]
/// checks that), in document order (keys sorted).
pub fn check_beyond_metadata(document: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let root = schema();
    let Some(object) = document.as_object() else {
        return out;
    };
    for (key, value) in object {
        let path = key.clone();
        if key == "metadata" {
            continue;
        }
        // Type information, which the generated schema leaves to the server.
        if key == "apiVersion" || key == "kind" {
            if !value.is_string() {
                out.push(wrong_type(&path, value, "string"));
            }
            continue;
        }
        match root.get("properties").and_then(|p| p.get(key)) {
            Some(field) => walk(value, field, &path, &mut out),
            None => out.push(unknown(&path, key, value, root)),
        }
    }
    out
}

fn walk(value: &Value, schema: &Value, path: &str, out: &mut Vec<Violation>) {
    if value.is_null() {
        return;
    }
    let flag = |name: &str| schema.get(name).and_then(Value::as_bool) == Some(true);
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_string() || is_integer(value)) {
            out.push(wrong_type(path, value, "integer or string"));
        }
        return;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                out.push(wrong_type(path, value, "object"));
                return;
            };
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            let preserve = flag("x-kubernetes-preserve-unknown-fields");
            for (key, field) in object {
                let at = format!("{path}.{key}");
                if let Some(s) = properties.and_then(|p| p.get(key)) {
                    walk(field, s, &at, out);
                } else if let Some(s) = additional.filter(|a| a.is_object()) {
                    walk(field, s, &at, out);
                } else if preserve || additional.and_then(Value::as_bool) == Some(true) {
                    continue;
                } else {
                    out.push(unknown(&at, key, field, schema));
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                out.push(wrong_type(path, value, "array"));
                return;
            };
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item, s, &format!("{path}[{i}]"), out);
                }
            }
        }
        Some("string") if !value.is_string() => out.push(wrong_type(path, value, "string")),
        Some("integer") if !is_integer(value) => out.push(wrong_type(path, value, "integer")),
        Some("number") if !value.is_number() => out.push(wrong_type(path, value, "number")),
        Some("boolean") if !value.is_boolean() => out.push(wrong_type(path, value, "boolean")),
        _ => {}
    }
}

/// The violations in `metadata` alone. Checked before decoding: the
/// decoder's own errors for `ObjectMeta` do not name the field.
pub fn check_metadata_of(document: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(metadata) = document.get("metadata") {
        check_metadata(metadata, &mut out);
    }
    out
}

fn check_metadata(value: &Value, out: &mut Vec<Violation>) {
    if value.is_null() {
        return;
    }
    let Some(object) = value.as_object() else {
        out.push(wrong_type("metadata", value, "object"));
        return;
    };
    for (key, field) in object {
        let path = format!("metadata.{key}");
        if field.is_null() {
            continue;
        }
        let Some((_, kind)) = METADATA_FIELDS.iter().find(|(name, _)| name == key) else {
            let names = METADATA_FIELDS.iter().map(|(n, _)| *n);
            out.push(unknown_among(&path, key, field, names));
            continue;
        };
        match kind {
            Kind::String if !field.is_string() => out.push(wrong_type(&path, field, "string")),
            Kind::Integer if !is_integer(field) => out.push(wrong_type(&path, field, "integer")),
            Kind::Array if !field.is_array() => out.push(wrong_type(&path, field, "array")),
            Kind::StringArray => match field.as_array() {
                None => out.push(wrong_type(&path, field, "array")),
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_string() {
                            out.push(wrong_type(&format!("{path}[{i}]"), item, "string"));
                        }
                    }
                }
            },
            Kind::StringMap => match field.as_object() {
                None => out.push(wrong_type(&path, field, "object")),
                Some(map) => {
                    for (k, v) in map {
                        if !v.is_string() {
                            // A YAML `1` or `true` label value must be quoted.
                            out.push(wrong_type(&format!("{path}.{k}"), v, "string"));
                        }
                    }
                }
            },
            _ => {}
        }
    }
}

/// Whether a JSON number is an integer (YAML `2.0` decodes as a float; the
/// API server takes a float without fraction as an integer).
fn is_integer(value: &Value) -> bool {
    value.is_i64()
        || value.is_u64()
        || value
            .as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The value as JSON, cut to [`MAX_VALUE_CHARS`].
pub fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= MAX_VALUE_CHARS {
        text
    } else {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    }
}

fn wrong_type(path: &str, value: &Value, expected: &str) -> Violation {
    Violation {
        path: path.to_owned(),
        problem: format!(
            "{} must be of type {expected}, not {}",
            shown(value),
            type_name(value)
        ),
    }
}

fn unknown(path: &str, key: &str, value: &Value, parent: &Value) -> Violation {
    let names = parent
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    unknown_among(path, key, value, names.into_iter())
}

fn unknown_among<'a>(
    path: &str,
    key: &str,
    value: &Value,
    names: impl Iterator<Item = &'a str>,
) -> Violation {
    let hint = closest(key, names)
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default();
    Violation {
        path: path.to_owned(),
        problem: format!(
            "unknown field (value {}): the API server rejects it{hint}",
            shown(value)
        ),
    }
}

/// The known name closest to `key`: equal ignoring case, or within an edit
/// distance of 2 (a third of the name's length at most).
fn closest<'a>(key: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let key_lower = key.to_ascii_lowercase();
    let limit = (key.chars().count() / 3).clamp(1, 2);
    names
        .map(|n| (distance(&key_lower, &n.to_ascii_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, n)| (*d, *n))
        .map(|(_, n)| n)
}

/// Levenshtein distance between two short names.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(spec: Value) -> Value {
        json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": "a", "namespace": "telecom"},
            "spec": spec,
        })
    }

    fn base() -> Value {
        json!({"accountRef": {"name": "acct"},
               "packages": [{"packageID": 30744, "numbers": ["+18007293863"]}]})
    }

    #[test]
    fn a_valid_set_has_no_violation() {
        assert_eq!(check(&set(base())), []);
        let mut full = base();
        full["policy"] = json!({"purchase": "Approve", "move": "Auto", "disconnect": "Deny"});
        full["limits"] = json!({"maxPurchasesPerSync": 3.0});
        full["suspend"] = json!(null);
        full["packages"][0]["acquire"] = json!({"count": 2, "npa": [888], "sequential": true});
        let mut doc = set(full);
        doc["metadata"]["labels"] = json!({"team": "noc"});
        doc["status"] = json!({"numbers": [{"number": "+18007293863", "owned": true}]});
        assert_eq!(check(&doc), []);
    }

    #[test]
    fn unknown_fields_are_named_with_their_value_and_a_suggestion() {
        let mut spec = base();
        spec["suspended"] = json!(true);
        spec["packages"][0]["numbrs"] = json!(["+18003255821"]);
        let found = check(&set(spec));
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, "spec.packages[0].numbrs");
        assert_eq!(
            found[0].problem,
            "unknown field (value [\"+18003255821\"]): the API server rejects it; did you mean numbers?"
        );
        assert_eq!(found[1].path, "spec.suspended");
        assert!(
            found[1].problem.ends_with("did you mean suspend?"),
            "{found:?}"
        );
    }

    #[test]
    fn wrong_types_are_named_with_their_value() {
        let mut spec = base();
        spec["suspend"] = json!("yes");
        spec["limits"] = json!({"maxPurchasesPerSync": 2.5});
        let found = check(&set(spec));
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "spec.limits.maxPurchasesPerSync: 2.5 must be of type integer, not number",
                "spec.suspend: \"yes\" must be of type boolean, not string",
            ]
        );
    }

    #[test]
    fn metadata_and_top_level_fields_are_checked() {
        let mut doc = set(base());
        doc["metadata"]["labelz"] = json!({"a": "b"});
        doc["metadata"]["annotations"] = json!({"n": 1});
        doc["spc"] = json!({});
        let text: Vec<String> = check(&doc).iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "metadata.annotations.n: 1 must be of type string, not integer",
                "metadata.labelz: unknown field (value {\"a\":\"b\"}): the API server rejects it; did you mean labels?",
                "spc: unknown field (value {}): the API server rejects it; did you mean spec?",
            ]
        );
    }

    #[test]
    fn long_values_are_cut() {
        let mut spec = base();
        spec["notes"] = json!("x".repeat(500));
        let found = check(&set(spec));
        assert!(found[0].problem.chars().count() < 150, "{found:?}");
    }
}
