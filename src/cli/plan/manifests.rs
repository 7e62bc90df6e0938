//! Reading manifests for `plan`: files or directories (recursively), YAML with
//! any number of `---` documents, or JSON.
//!
//! Only two kinds of documents matter: `TollFreeNumberSet`s (what to plan) and
//! `v1` `Secret`s (which a set's `accountRef` may name as its credentials).
//! Everything else — Namespaces, Deployments, kustomizations, empty documents —
//! is skipped, so `plan` can be pointed at a whole GitOps directory. A `List`
//! (as `kubectl get -o yaml` prints) is read item by item.
//!
//! A document that claims to be a `TollFreeNumberSet` but does not decode, or
//! that strict decoding rejects (an unknown field, a value of the wrong type:
//! [`super::strict`]), is an error naming the file, the document, the field
//! and the value; so is a file that is not
//! YAML (or JSON) at all — a CI gate must not pass because it skipped a broken
//! file. Documents without a namespace are in `default`, as `kubectl apply`
//! would put them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize as _;
use serde_json::Value;

use crate::crd::{GROUP, TollFreeNumberSet, VERSION};

/// The namespace of a document that names none (`kubectl apply` without `-n`).
pub const DEFAULT_NAMESPACE: &str = "default";

/// Extensions read from a directory.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// How deep `List`s may nest (a guard against hostile input, not a real limit).
const MAX_LIST_DEPTH: usize = 8;

/// A problem with one manifest file. Displays as `file: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ManifestError {
    /// The file, as reached from the `-f` argument (e.g. `sets/support.yaml`).
    pub file: String,
    /// What is wrong: for a set, `namespace/name: field.path: problem`.
    pub message: String,
}

impl ManifestError {
    /// An error about `file`.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            message: message.into(),
        }
    }
}

/// A `TollFreeNumberSet` read from a file, its namespace filled in.
#[derive(Debug, Clone)]
pub struct LoadedSet {
    /// Where it was read.
    pub file: String,
    /// The object; `metadata.namespace` is always set.
    pub object: TollFreeNumberSet,
}

impl LoadedSet {
    /// `metadata.namespace` (always set by [`load`]).
    pub fn namespace(&self) -> &str {
        self.object
            .metadata
            .namespace
            .as_deref()
            .unwrap_or(DEFAULT_NAMESPACE)
    }

    /// `metadata.name`, or `""` when missing (the planner input reports it).
    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or("")
    }
}

/// A `v1` `Secret` read from a file. Its data is decoded only if a set needs it,
/// so an unrelated (say, SOPS-encrypted) Secret never stops a plan.
#[derive(Debug, Clone)]
pub struct LoadedSecret {
    /// Where it was read.
    pub file: String,
    /// `metadata.namespace`, defaulted.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// The document as written.
    pub document: Value,
}

/// Everything `plan` read.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// The sets, in the order read.
    pub sets: Vec<LoadedSet>,
    /// The Secrets, in the order read.
    pub secrets: Vec<LoadedSecret>,
}

impl Manifests {
    /// The Secret `namespace/name`, if the manifests have exactly one such.
    /// Two different definitions are an error (which one would apply wins?).
    pub fn secret(&self, namespace: &str, name: &str) -> Result<Option<&LoadedSecret>, String> {
        let mut found = self
            .secrets
            .iter()
            .filter(|s| s.namespace == namespace && s.name == name);
        let Some(first) = found.next() else {
            return Ok(None);
        };
        match found.find(|s| s.document != first.document) {
            Some(other) => Err(format!(
                "secret {namespace}/{name} is defined differently in {} and {}",
                first.file, other.file
            )),
            None => Ok(Some(first)),
        }
    }
}

/// Reads every manifest under `paths` (files, or directories read
/// recursively for `*.yaml`, `*.yml` and `*.json`, in name order, skipping
/// hidden entries and symbolic links to directories).
pub fn load(paths: &[PathBuf]) -> Result<Manifests, ManifestError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, true, &mut files)?;
    }
    let mut out = Manifests::default();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in files {
        let shown = file.display().to_string();
        let bytes = std::fs::read(&file)
            .map_err(|e| ManifestError::new(&shown, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ManifestError::new(&shown, "is not UTF-8 text"))?;
        let before = out.sets.len();
        parse_text(&shown, &text, is_json(&file), &mut out)?;
        for set in &out.sets[before..] {
            let id = (set.namespace().to_owned(), set.name().to_owned());
            if id.1.is_empty() {
                continue;
            }
            if let Some(first) = seen.insert(id.clone(), shown.clone()) {
                return Err(ManifestError::new(
                    &shown,
                    format!(
                        "TollFreeNumberSet {}/{} is also defined in {first}",
                        id.0, id.1
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Adds `path` (a file, or the manifest files below a directory) to `out`.
/// `top`: the path was named on the command line (read whatever its name).
fn collect(path: &Path, top: bool, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let shown = || path.display().to_string();
    let meta = if top {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    }
    .map_err(|e| ManifestError::new(shown(), format!("cannot read: {e}")))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ManifestError::new(shown(), format!("cannot list directory: {e}")))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(|e| ManifestError::new(shown(), format!("cannot list directory: {e}")))?;
        entries.sort();
        for entry in entries {
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                collect(&entry, false, out)?;
            }
        }
    } else if meta.file_type().is_symlink() {
        // A link below a directory: follow it to a file, never to a directory
        // (no loops).
        if std::fs::metadata(path).is_ok_and(|m| m.is_file()) && has_manifest_extension(path) {
            out.push(path.to_path_buf());
        }
    } else if top || (meta.is_file() && has_manifest_extension(path)) {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Reads the documents of one file into `out`. `file` names it in errors.
pub fn parse_text(
    file: &str,
    text: &str,
    json: bool,
    out: &mut Manifests,
) -> Result<(), ManifestError> {
    let documents = if json {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ManifestError::new(file, format!("is not valid JSON: {e}")))?;
        vec![value]
    } else {
        yaml_documents(text).map_err(|e| ManifestError::new(file, e))?
    };
    for (index, document) in documents.into_iter().enumerate() {
        let at = Place {
            file,
            text: (!json).then_some(text),
            index,
        };
        document_into(&at, document, 0, out)?;
    }
    Ok(())
}

/// Every document of a YAML stream as JSON values (an empty document is `null`).
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for document in yaml_serde::Deserializer::from_str(text) {
        // After a syntax error the stream cannot be trusted: stop at the first.
        let value = Value::deserialize(document).map_err(|e| format!("is not valid YAML: {e}"))?;
        out.push(value);
    }
    Ok(out)
}

/// Where a document sits, for error messages and for re-reading it.
struct Place<'a> {
    file: &'a str,
    /// The file's YAML text (none for JSON), to re-decode a bad set with the
    /// YAML decoder, whose errors name the field path and the line.
    text: Option<&'a str>,
    /// The document's index in the file (0-based).
    index: usize,
}

fn str_field<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn document_into(
    at: &Place<'_>,
    document: Value,
    depth: usize,
    out: &mut Manifests,
) -> Result<(), ManifestError> {
    let kind = str_field(&document, "kind").unwrap_or("");
    let api_version = str_field(&document, "apiVersion").unwrap_or("");
    let doc_name = || format!("document {}", at.index + 1);
    if kind == "TollFreeNumberSet" && api_version.split('/').next() == Some(GROUP) {
        let expected = format!("{GROUP}/{VERSION}");
        if api_version != expected {
            return Err(ManifestError::new(
                at.file,
                format!(
                    "{} (TollFreeNumberSet): apiVersion '{api_version}' is not supported; use {expected}",
                    doc_name()
                ),
            ));
        }
        let label = object_label(&document, &doc_name());
        let strict_error = |violations: Vec<super::strict::Violation>| {
            let first = violations.first()?;
            let more = match violations.len() {
                1 => String::new(),
                2 => " (and 1 more problem)".to_owned(),
                n => format!(" (and {} more problems)", n - 1),
            };
            Some(ManifestError::new(
                at.file,
                format!("{label}: {first}{more}"),
            ))
        };
        if let Some(e) = strict_error(super::strict::check_metadata_of(&document)) {
            return Err(e);
        }
        let mut object = match TollFreeNumberSet::deserialize(&document) {
            Ok(object) => object,
            Err(e) => {
                let detail = at
                    .text
                    .filter(|_| depth == 0)
                    .and_then(|text| yaml_decode_error(text, at.index))
                    .unwrap_or_else(|| e.to_string());
                return Err(ManifestError::new(at.file, format!("{label}: {detail}")));
            }
        };
        // What serde let through (unknown fields, some wrong types) the API
        // server still rejects.
        if let Some(e) = strict_error(super::strict::check_beyond_metadata(&document)) {
            return Err(e);
        }
        if object
            .metadata
            .namespace
            .as_deref()
            .is_none_or(str::is_empty)
        {
            object.metadata.namespace = Some(DEFAULT_NAMESPACE.to_owned());
        }
        out.sets.push(LoadedSet {
            file: at.file.to_owned(),
            object,
        });
    } else if kind == "Secret" && api_version == "v1" {
        let metadata = document.get("metadata");
        let namespace = metadata
            .and_then(|m| str_field(m, "namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_owned();
        let name = metadata
            .and_then(|m| str_field(m, "name"))
            .unwrap_or("")
            .to_owned();
        out.secrets.push(LoadedSecret {
            file: at.file.to_owned(),
            namespace,
            name,
            document,
        });
    } else if kind.ends_with("List")
        && let Some(Value::Array(items)) = document.get("items")
    {
        if depth >= MAX_LIST_DEPTH {
            return Err(ManifestError::new(
                at.file,
                format!("{}: Lists nest too deeply", doc_name()),
            ));
        }
        for item in items.clone() {
            document_into(at, item, depth + 1, out)?;
        }
    }
    Ok(())
}

/// `TollFreeNumberSet namespace/name` for messages, as far as the document says.
fn object_label(document: &Value, fallback: &str) -> String {
    let metadata = document.get("metadata");
    let name = metadata.and_then(|m| str_field(m, "name"));
    let namespace = metadata
        .and_then(|m| str_field(m, "namespace"))
        .filter(|n| !n.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE);
    match name {
        Some(name) => format!("{namespace}/{name}"),
        None => format!("{fallback} (TollFreeNumberSet without metadata.name)"),
    }
}

/// Decodes document `index` of `text` straight from YAML, only for its error:
/// the YAML decoder names the field path and the line (`spec.packages[0].
/// packageID: invalid type: ... at line 9 column 18`).
fn yaml_decode_error(text: &str, index: usize) -> Option<String> {
    let document = yaml_serde::Deserializer::from_str(text).nth(index)?;
    TollFreeNumberSet::deserialize(document)
        .err()
        .map(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifests, ManifestError> {
        let mut out = Manifests::default();
        parse_text("sets/x.yaml", text, false, &mut out).map(|()| out)
    }

    const SET: &str = "apiVersion: tollfree.dev/v1alpha1
kind: TollFreeNumberSet
metadata: {name: a}
spec:
  accountRef: {name: acct}
  packages:
    - packageID: 30744
      numbers: ['+18007293863']
";

    #[test]
    fn reads_sets_and_secrets_and_skips_other_kinds() {
        let text = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: telecom}}\n---\n{SET}---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: acct}}\nstringData: {{token: t}}\n---\n"
        );
        let m = parse(&text).expect("parses");
        assert_eq!(m.sets.len(), 1);
        assert_eq!(m.sets[0].namespace(), "default");
        assert_eq!(m.sets[0].name(), "a");
        assert_eq!(m.secrets.len(), 1);
        assert_eq!(m.secrets[0].namespace, "default");
    }

    #[test]
    fn reads_list_items() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "List",
            "items": [yaml_documents(SET).expect("yaml")[0].clone()]
        });
        let mut out = Manifests::default();
        parse_text("l.json", &json.to_string(), true, &mut out).expect("parses");
        assert_eq!(out.sets.len(), 1);
    }

    #[test]
    fn a_set_that_does_not_decode_names_file_set_and_field() {
        let bad = SET.replace("30744", "'x'");
        let e = parse(&bad).expect_err("bad packageID");
        assert_eq!(e.file, "sets/x.yaml");
        assert!(e.message.starts_with("default/a: "), "{e}");
        assert!(e.message.contains("packageID"), "{e}");
    }

    #[test]
    fn broken_yaml_is_an_error() {
        let e = parse("a: [\n").expect_err("broken");
        assert!(
            e.to_string().starts_with("sets/x.yaml: is not valid YAML"),
            "{e}"
        );
    }

    #[test]
    fn odd_documents_are_skipped_or_refused_never_a_panic() {
        for text in [
            "",
            "---\n---\n",
            "- a\n- b\n",
            "just a string",
            "kind: TollFreeNumberSet\n",
            "apiVersion: v1\nkind: List\nitems: 3\n",
            "apiVersion: v1\nkind: Secret\nmetadata: 7\n",
            "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nmetadata: []\n",
            "apiVersion: tollfree.dev/v1alpha1\nkind: TollFreeNumberSet\nspec: {}\n",
            "? [a, b]\n: c\n",
            "a: &x [*x]\n",
            "\u{feff}kind: Namespace\n",
        ] {
            let _ = parse(text);
        }
        assert!(parse("- a\n- b\n").expect("skipped").sets.is_empty());
    }

    #[test]
    fn other_versions_of_the_kind_are_refused() {
        let e = parse(&SET.replace("v1alpha1", "v9")).expect_err("version");
        assert!(e.message.contains("not supported"), "{e}");
    }
}
