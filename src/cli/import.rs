//! `tollfree-operator import`: manifests for an account the operator does not
//! manage yet — onboarding, like Terraform's `import` with
//! `-generate-config-out` or Crossplane's observe-only resources.
//!
//! It reads the account's inventory (one full walk of `GET /my/tf`, read-only,
//! credentials as `plan` takes them) and writes `TollFreeNumberSet`s that own
//! every number exactly where it is: one set per package (or per package and
//! vendor label with `--group-by label`), each declaring its numbers as exact
//! numbers in their current package, so that the operator adopts them all and
//! has nothing to buy, move or disconnect. A group larger than `--max-numbers`
//! (at most 1000, the admission limit of one set) is split into parts of
//! consecutive numbers. `policy.disconnect` is `Deny` unless asked otherwise:
//! a number later removed from a set stays in the account.
//!
//! Only a complete listing is imported: a number left out would stay
//! unmanaged without anyone noticing. Every generated set is checked as `plan`
//! checks a manifest (strict decoding and admission rules) before anything is
//! written. Files are never overwritten without `--force`.
//!
//! The next step is `plan` against the generated files (exit 0: nothing to
//! buy, move or disconnect), then committing and applying them; see
//! docs/gitops.md.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use intelepeer::{E164, InventoryNumber, PackageId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::cli::plan::credentials::{self, AccountCredentials};
use crate::cli::plan::manifests::{self, Manifests};
use crate::cli::plan::vendor::InventoryReader;
use crate::crd::{MAX_SET_NUMBERS, PolicyMode, PolicySpec};

/// Appended to `import --help`.
const AFTER_HELP: &str = "\
Credentials, first found wins: --secret-file; INTELEPEER_USERNAME and
INTELEPEER_PASSWORD (or INTELEPEER_TOKEN). Only the inventory is read (GET
/my/tf); nothing is ever reserved, bought, moved or disconnected.

Sets are named PREFIX + package (+ '-' + label with --group-by label), with
'-1', '-2'... when a group is split. Without --output-dir the manifests are
printed as one multi-document YAML stream; a summary goes to stderr.

Next: tollfree-operator plan -f DIR (exit 0: nothing to buy, move or
disconnect), then commit and apply. See docs/gitops.md.";

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct ImportArgs {
    /// A Secret manifest with the IntelePeer credentials (data or stringData;
    /// keys username and password, or token).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// The IntelePeer API base URL. Plain http is refused except for loopback
    /// addresses (e.g. the simulator on 127.0.0.1).
    #[arg(long, env = "INTELEPEER_URL", value_name = "URL", default_value = intelepeer::DEFAULT_BASE_URL)]
    pub intelepeer_url: String,

    /// The namespace of the generated sets.
    #[arg(short = 'n', long, value_name = "NS", default_value = "default")]
    pub namespace: String,

    /// The Secret (in that namespace) the sets name as spec.accountRef: the
    /// one the operator will read the credentials from.
    #[arg(long, value_name = "NAME", default_value = "intelepeer-account")]
    pub account_ref: String,

    /// The start of every set's name.
    #[arg(long, value_name = "PREFIX", default_value = "imported-")]
    pub name_prefix: String,

    /// One set per `package`, or per package and vendor `label`.
    #[arg(long, value_name = "package|label", default_value = "package")]
    pub group_by: String,

    /// Most numbers per set (1 to 1000); larger groups are split.
    #[arg(long, value_name = "N", default_value_t = MAX_SET_NUMBERS)]
    pub max_numbers: usize,

    /// Import only these packages (repeatable; default: every package).
    #[arg(long = "package", value_name = "ID")]
    pub packages: Vec<u64>,

    /// spec.policy.purchase of the generated sets (Auto, Approve or Deny).
    #[arg(long, value_name = "MODE", default_value = "Auto")]
    pub purchase: String,

    /// spec.policy.move of the generated sets.
    #[arg(long = "move", value_name = "MODE", default_value = "Auto")]
    pub r#move: String,

    /// spec.policy.disconnect of the generated sets: Deny keeps a number
    /// removed from a set in the account.
    #[arg(long, value_name = "MODE", default_value = "Deny")]
    pub disconnect: String,

    /// Write one file per set (NAME.yaml) into this directory (created if
    /// needed) instead of printing them.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Overwrite files that exist in --output-dir.
    #[arg(long)]
    pub force: bool,
}

/// How numbers are grouped into sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// One group per package.
    Package,
    /// One group per package and vendor label.
    Label,
}

/// Why nothing was imported. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A command-line value is unusable.
    #[error("{0}")]
    Usage(String),
    /// Credentials are missing or unusable.
    #[error("{0}")]
    Credentials(String),
    /// The vendor could not be read.
    #[error("reading the IntelePeer inventory ({account}) from {url} failed: {reason}")]
    Vendor {
        /// Where the credentials came from.
        account: String,
        /// The base URL.
        url: String,
        /// The client's error with its causes.
        reason: String,
    },
    /// The listing is not complete.
    #[error(
        "the inventory listing of {account} is not complete ({anomalies} records not understood, \
         {doubtful} numbers without a trustworthy package): importing it would leave numbers \
         unmanaged; try again later or check the account with the vendor"
    )]
    Incomplete {
        /// Where the credentials came from.
        account: String,
        /// Anomalies of the walk.
        anomalies: u64,
        /// Numbers listed without a trustworthy record.
        doubtful: usize,
    },
    /// Nothing matched.
    #[error("{0}: nothing to import")]
    Empty(String),
    /// A generated set does not pass `plan`'s checks (a bug, or a bad prefix).
    #[error("generated set {name} is not valid: {reason}")]
    Invalid {
        /// The set's name.
        name: String,
        /// The check that failed.
        reason: String,
    },
    /// A file exists and `--force` was not given.
    #[error("{0} exists: pass --force to overwrite it, or choose another --output-dir")]
    Exists(String),
    /// Writing failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file or directory.
        path: String,
        /// The system's error.
        reason: String,
    },
}

/// One generated set.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSet {
    /// `metadata.name`.
    pub name: String,
    /// The package its numbers sit in.
    pub package: PackageId,
    /// The vendor label of its numbers (`--group-by label`; `None`: none).
    pub label: Option<String>,
    /// Which part of a split group (1-based) and of how many.
    pub part: (usize, usize),
    /// Its numbers, sorted.
    pub numbers: Vec<E164>,
    /// The manifest, as YAML (with a comment header).
    pub yaml: String,
}

/// The options that shape the manifests.
#[derive(Debug, Clone)]
pub struct Shape {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.accountRef.name`.
    pub account_ref: String,
    /// Name prefix.
    pub prefix: String,
    /// Grouping.
    pub group_by: GroupBy,
    /// Most numbers per set.
    pub max_numbers: usize,
    /// `spec.policy` of every set.
    pub policy: PolicySpec,
    /// Where the inventory came from, for the header comment.
    pub source: String,
}

fn parse_mode(flag: &str, raw: &str) -> Result<PolicyMode, ImportError> {
    match raw.to_ascii_lowercase().as_str() {
        "auto" => Ok(PolicyMode::Auto),
        "approve" => Ok(PolicyMode::Approve),
        "deny" => Ok(PolicyMode::Deny),
        _ => Err(ImportError::Usage(format!(
            "{flag} '{raw}' is not a policy: use Auto, Approve or Deny"
        ))),
    }
}

/// Runs `import`.
pub async fn main(args: ImportArgs) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    match run(&args, env).await {
        Ok(summary) => {
            let _ = std::io::stderr().write_all(summary.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let line = e.to_string().replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// Reads, generates, checks and writes; returns the summary for stderr.
pub async fn run(
    args: &ImportArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, ImportError> {
    let url = intelepeer::validate_base_url(&args.intelepeer_url)
        .map_err(|e| ImportError::Usage(format!("--intelepeer-url: {e}")))?;
    let group_by = match args.group_by.as_str() {
        "package" => GroupBy::Package,
        "label" => GroupBy::Label,
        other => {
            return Err(ImportError::Usage(format!(
                "--group-by '{other}' is not a grouping: use package or label"
            )));
        }
    };
    if !(1..=MAX_SET_NUMBERS).contains(&args.max_numbers) {
        return Err(ImportError::Usage(format!(
            "--max-numbers {} is out of range: 1 to {MAX_SET_NUMBERS} (the most one set may hold)",
            args.max_numbers
        )));
    }
    let policy = PolicySpec {
        purchase: parse_mode("--purchase", &args.purchase)?,
        r#move: parse_mode("--move", &args.r#move)?,
        disconnect: parse_mode("--disconnect", &args.disconnect)?,
    };
    let packages: Vec<PackageId> = args
        .packages
        .iter()
        .map(|p| {
            PackageId::new(*p)
                .map_err(|e| ImportError::Usage(format!("--package {p} is not a package ID: {e}")))
        })
        .collect::<Result<_, _>>()?;

    let account: AccountCredentials = credentials::given(args.secret_file.as_deref(), &env)
        .map_err(ImportError::Credentials)?
        .ok_or_else(|| {
            ImportError::Credentials(format!(
                "no IntelePeer credentials: pass --secret-file FILE, or set {} and {} (or {})",
                credentials::ENV_USERNAME,
                credentials::ENV_PASSWORD,
                credentials::ENV_TOKEN
            ))
        })?;
    let vendor_error = |e: intelepeer::Error| ImportError::Vendor {
        account: account.source.clone(),
        url: url.clone(),
        reason: crate::error::report(&e),
    };
    let reader = InventoryReader::new(&url, account.credentials.clone()).map_err(vendor_error)?;
    let listing = reader.snapshot().await.map_err(vendor_error)?;
    if !listing.is_complete() || !listing.doubtful.is_empty() {
        return Err(ImportError::Incomplete {
            account: account.source.clone(),
            anomalies: listing.anomaly_total(),
            doubtful: listing.doubtful.len(),
        });
    }
    let records: Vec<&InventoryNumber> = listing
        .numbers
        .iter()
        .filter(|r| packages.is_empty() || r.package_id.is_some_and(|p| packages.contains(&p)))
        .collect();
    let shape = Shape {
        namespace: args.namespace.clone(),
        account_ref: args.account_ref.clone(),
        prefix: args.name_prefix.clone(),
        group_by,
        max_numbers: args.max_numbers,
        policy,
        source: account.key.to_string(),
    };
    let sets = generate(&shape, &records)?;
    if sets.is_empty() {
        return Err(ImportError::Empty(format!(
            "the account ({}) owns no numbers{}",
            account.source,
            if packages.is_empty() {
                ""
            } else {
                " in the packages asked for"
            }
        )));
    }
    check(&sets)?;
    let total: usize = sets.iter().map(|s| s.numbers.len()).sum();
    let written = match &args.output_dir {
        Some(dir) => {
            write_files(dir, &sets, args.force)?;
            format!(" into {}", dir.display())
        }
        None => {
            let stream: Vec<&str> = sets.iter().map(|s| s.yaml.as_str()).collect();
            let text = stream.join("---\n");
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| ImportError::Write {
                    path: "stdout".to_owned(),
                    reason: e.to_string(),
                })?;
            String::new()
        }
    };
    let mut summary = format!(
        "imported {total} numbers of {} into {} sets{written} (namespace {}, accountRef {}, \
         disconnect: {:?})\n",
        account.source,
        sets.len(),
        args.namespace,
        args.account_ref,
        // The mode's name as a manifest spells it (Auto, Approve, Deny).
        shape.policy.disconnect,
    );
    for set in &sets {
        summary.push_str(&format!(
            "  {:<40} package {:<8} {:>5} numbers{}\n",
            set.name,
            set.package,
            set.numbers.len(),
            set.label
                .as_deref()
                .map(|l| format!("  label {l:?}"))
                .unwrap_or_default()
        ));
    }
    summary.push_str(
        "next: tollfree-operator plan -f <the manifests> (exit 0: nothing to buy, move or \
         disconnect), then commit and apply them\n",
    );
    Ok(summary)
}

/// The sets for `records` (every record must have a package; those without
/// one are skipped — a complete listing has none).
pub fn generate(
    shape: &Shape,
    records: &[&InventoryNumber],
) -> Result<Vec<ImportedSet>, ImportError> {
    let mut groups: BTreeMap<(PackageId, Option<String>), Vec<E164>> = BTreeMap::new();
    for record in records {
        let Some(package) = record.package_id else {
            continue;
        };
        let label = match shape.group_by {
            GroupBy::Package => None,
            GroupBy::Label => record
                .label
                .as_deref()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        };
        groups
            .entry((package, label))
            .or_default()
            .push(record.endpoint.clone());
    }
    // Labels that shorten to the same name part get a digest each.
    let mut slugs: BTreeMap<(PackageId, String), usize> = BTreeMap::new();
    for (package, label) in groups.keys() {
        *slugs.entry((*package, slug(label.as_deref()))).or_default() += 1;
    }
    let mut out = Vec::new();
    for ((package, label), mut numbers) in groups {
        numbers.sort();
        numbers.dedup();
        let mut base = format!("{}{package}", shape.prefix);
        if shape.group_by == GroupBy::Label {
            let s = slug(label.as_deref());
            let clash = slugs.get(&(package, s.clone())).is_some_and(|n| *n > 1);
            base.push('-');
            base.push_str(&s);
            if clash {
                base.push('-');
                base.push_str(&digest(label.as_deref().unwrap_or("")));
            }
        }
        let parts = numbers.len().div_ceil(shape.max_numbers);
        for (i, chunk) in numbers.chunks(shape.max_numbers).enumerate() {
            let name = if parts > 1 {
                format!("{base}-{}", i + 1)
            } else {
                base.clone()
            };
            let part = (i + 1, parts);
            let yaml = manifest(shape, &name, package, label.as_deref(), part, chunk)?;
            out.push(ImportedSet {
                name,
                package,
                label: label.clone(),
                part,
                numbers: chunk.to_vec(),
                yaml,
            });
        }
    }
    Ok(out)
}

/// A label as part of a name: lower case letters, digits and `-`, at most 40
/// characters; `unlabeled` for none.
fn slug(label: Option<&str>) -> String {
    let Some(label) = label else {
        return "unlabeled".to_owned();
    };
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(40).collect();
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        format!("label-{}", digest(label))
    } else {
        out
    }
}

/// The first 8 hex digits of SHA-256 of `text`.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A generated manifest, fields in the order people write them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: &'a str,
    kind: &'a str,
    metadata: Metadata<'a>,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    namespace: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    account_ref: AccountRef<'a>,
    packages: Vec<Package<'a>>,
    policy: &'a PolicySpec,
}

#[derive(Serialize)]
struct AccountRef<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Package<'a> {
    #[serde(rename = "packageID")]
    package_id: u64,
    numbers: Vec<&'a str>,
}

fn manifest(
    shape: &Shape,
    name: &str,
    package: PackageId,
    label: Option<&str>,
    part: (usize, usize),
    numbers: &[E164],
) -> Result<String, ImportError> {
    let document = Document {
        api_version: "tollfree.dev/v1alpha1",
        kind: "TollFreeNumberSet",
        metadata: Metadata {
            name,
            namespace: &shape.namespace,
        },
        spec: Spec {
            account_ref: AccountRef {
                name: &shape.account_ref,
            },
            packages: vec![Package {
                package_id: package.get(),
                numbers: numbers.iter().map(E164::as_str).collect(),
            }],
            policy: &shape.policy,
        },
    };
    let body = yaml_serde::to_string(&document).map_err(|e| ImportError::Invalid {
        name: name.to_owned(),
        reason: format!("cannot render YAML: {e}"),
    })?;
    let mut header = format!(
        "# Imported by tollfree-operator import from the inventory of {}:\n# package {package}",
        shape.source.replace('\n', " ")
    );
    if let Some(label) = label {
        header.push_str(&format!(", label {:?}", label.replace('\n', " ")));
    }
    header.push_str(&format!(", {} numbers", numbers.len()));
    if part.1 > 1 {
        header.push_str(&format!(" (part {} of {})", part.0, part.1));
    }
    header.push_str(
        ".\n# Owned as they are: applying this set buys, moves and disconnects nothing.\n",
    );
    Ok(format!("{header}{body}"))
}

/// Reads every generated manifest back as `plan` reads one: strict decoding
/// and the admission rules.
fn check(sets: &[ImportedSet]) -> Result<(), ImportError> {
    for set in sets {
        let mut parsed = Manifests::default();
        manifests::parse_text(&set.name, &set.yaml, false, &mut parsed).map_err(|e| {
            ImportError::Invalid {
                name: set.name.clone(),
                reason: e.message,
            }
        })?;
        let Some(loaded) = parsed.sets.first() else {
            return Err(ImportError::Invalid {
                name: set.name.clone(),
                reason: "no TollFreeNumberSet in the generated text".to_owned(),
            });
        };
        crate::spec::set_input(&loaded.object, None).map_err(|e| ImportError::Invalid {
            name: set.name.clone(),
            reason: e.to_string(),
        })?;
        if !crate::spec::is_dns1123_subdomain(&set.name) {
            return Err(ImportError::Invalid {
                name: set.name.clone(),
                reason: "not a valid object name (lower case letters, digits, '-' and '.', \
                         starting and ending with a letter or digit, at most 253 characters): \
                         choose another --name-prefix"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

fn write_files(dir: &Path, sets: &[ImportedSet], force: bool) -> Result<(), ImportError> {
    let failed = |path: &Path, e: std::io::Error| ImportError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let paths: Vec<PathBuf> = sets
        .iter()
        .map(|s| dir.join(format!("{}.yaml", s.name)))
        .collect();
    if !force && let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(ImportError::Exists(existing.display().to_string()));
    }
    for (set, path) in sets.iter().zip(&paths) {
        std::fs::write(path, &set.yaml).map_err(|e| failed(path, e))?;
    }
    Ok(())
}

/// The records of a listing as `generate` takes them, from JSON (tests).
#[cfg(test)]
fn record(number: &str, package: u64, label: Option<&str>) -> InventoryNumber {
    let mut value = serde_json::json!({"endpoint": number, "packageID": package});
    if let Some(label) = label {
        value["label"] = serde_json::Value::String(label.to_owned());
    }
    serde_json::from_value(value).expect("a record")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(group_by: GroupBy, max: usize) -> Shape {
        Shape {
            namespace: "telecom".into(),
            account_ref: "intelepeer-account".into(),
            prefix: "imported-".into(),
            group_by,
            max_numbers: max,
            policy: PolicySpec::default(),
            source: "user demo".into(),
        }
    }

    fn numbers(n: usize, npa: u16) -> Vec<String> {
        (0..n).map(|i| format!("+1{npa}555{i:04}")).collect()
    }

    #[test]
    fn one_set_per_package_with_every_number_where_it_is() {
        let records: Vec<InventoryNumber> = numbers(3, 800)
            .iter()
            .map(|n| record(n, 30744, None))
            .chain(numbers(2, 888).iter().map(|n| record(n, 24188, None)))
            .collect();
        let refs: Vec<&InventoryNumber> = records.iter().collect();
        let sets = generate(&shape(GroupBy::Package, 1000), &refs).expect("sets");
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["imported-24188", "imported-30744"]);
        assert_eq!(sets[1].numbers.len(), 3);
        check(&sets).expect("valid manifests");
        let yaml = &sets[1].yaml;
        assert!(yaml.contains("disconnect: Deny"), "{yaml}");
        assert!(yaml.contains("- packageID: 30744"), "{yaml}");
        assert!(
            yaml.starts_with("# Imported by tollfree-operator import"),
            "{yaml}"
        );
    }

    #[test]
    fn large_packages_are_split_into_consecutive_parts() {
        let records: Vec<InventoryNumber> = numbers(2500, 800)
            .iter()
            .map(|n| record(n, 30744, None))
            .collect();
        let refs: Vec<&InventoryNumber> = records.iter().collect();
        let sets = generate(&shape(GroupBy::Package, 1000), &refs).expect("sets");
        let sizes: Vec<(&str, usize, (usize, usize))> = sets
            .iter()
            .map(|s| (s.name.as_str(), s.numbers.len(), s.part))
            .collect();
        assert_eq!(
            sizes,
            [
                ("imported-30744-1", 1000, (1, 3)),
                ("imported-30744-2", 1000, (2, 3)),
                ("imported-30744-3", 500, (3, 3))
            ]
        );
        assert!(sets[0].numbers.last() < sets[1].numbers.first());
        check(&sets).expect("a 1000-number set passes admission");
    }

    #[test]
    fn grouping_by_label_names_sets_after_their_label() {
        let records = [
            record("+18007293863", 30744, Some("Head office")),
            record("+18003255821", 30744, Some("Automated Messaging")),
            record("+18003255822", 30744, None),
            record("+18003255823", 30744, Some("head-office")),
        ];
        let refs: Vec<&InventoryNumber> = records.iter().collect();
        let sets = generate(&shape(GroupBy::Label, 1000), &refs).expect("sets");
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        let h1 = digest("Head office");
        let h2 = digest("head-office");
        let mut expected = vec![
            "imported-30744-unlabeled".to_owned(),
            "imported-30744-automated-messaging".to_owned(),
            format!("imported-30744-head-office-{h1}"),
            format!("imported-30744-head-office-{h2}"),
        ];
        expected.sort();
        let mut got: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        got.sort();
        assert_eq!(got, expected);
        check(&sets).expect("valid");
    }

    #[test]
    fn a_bad_prefix_is_refused_before_writing() {
        let records = [record("+18007293863", 30744, None)];
        let refs: Vec<&InventoryNumber> = records.iter().collect();
        let mut s = shape(GroupBy::Package, 1000);
        s.prefix = "Imported_".into();
        let sets = generate(&s, &refs).expect("sets");
        let e = check(&sets).expect_err("bad name");
        assert!(e.to_string().contains("--name-prefix"), "{e}");
    }

    #[test]
    fn slugs_are_short_lower_case_names() {
        assert_eq!(slug(Some("Head office")), "head-office");
        assert_eq!(slug(Some("  **Support -- Lines**  ")), "support-lines");
        assert_eq!(slug(None), "unlabeled");
        assert!(slug(Some("日本")).starts_with("label-"));
        assert!(slug(Some(&"x".repeat(100))).len() <= 40);
    }
}
