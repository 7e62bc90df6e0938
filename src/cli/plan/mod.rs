//! `tollfree-operator plan`: a read-only preview of what the operator would do
//! for some manifests — for GitOps pipelines that want to show a pull
//! request's effect before it is merged (DESIGN.md §5; docs/plan.md).
//!
//! The pipeline, each step a module:
//!
//! 1. [`manifests`]: read `-f FILE_OR_DIR` (recursively; multi-document YAML,
//!    JSON); keep `TollFreeNumberSet`s and `Secret`s, skip other kinds.
//! 2. Validate every set as admission would ([`crate::spec::set_input`]):
//!    a bad manifest is an error naming the file, the field and the value,
//!    before any vendor call.
//! 3. [`credentials`]: `--secret-file`, else the environment, else the Secret
//!    each set's `accountRef` names among the manifests.
//! 4. [`vendor`]: one complete inventory listing per account — the only vendor
//!    call, and a read.
//! 5. [`tollfree_plan::plan`] per account, exactly as the operator plans: a
//!    manifest without `status` is planned as a fresh set (adopt what the
//!    account owns, buy the rest); a manifest with `status` uses its memory.
//! 6. [`report`] + [`table`]: print the table or the JSON document.
//!
//! Exit codes: 0 no changes, 2 changes (any action or held action), 1 error
//! (one line on stderr).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use tollfree_plan::{PlanInput, SetInput};

use crate::logins::VendorIdentity;
use crate::{memory, spec};

pub mod credentials;
pub mod manifests;
pub mod report;
pub mod table;
pub mod vendor;

use credentials::AccountCredentials;
use manifests::{LoadedSet, ManifestError, Manifests};
use report::{AccountReport, PlannedSet, Report};
use vendor::InventoryReader;

/// Exit code: the plan has changes (an action or a held action).
pub const EXIT_CHANGES: u8 = 2;

/// Appended to `plan --help`.
const AFTER_HELP: &str = "\
Credentials, first found wins: --secret-file; INTELEPEER_USERNAME and
INTELEPEER_PASSWORD (or INTELEPEER_TOKEN); a Secret among the manifests named by
a set's spec.accountRef (same namespace). Only the inventory is read (GET
/my/tf); nothing is ever reserved, bought, moved or disconnected.

Exit codes: 0 no changes, 2 changes (any action or held action), 1 error.

-o json prints one document (version 1):
  {\"version\": 1, \"changes\": bool,
   \"summary\": {\"sets\",\"buy\",\"move\",\"disconnect\",\"held\",\"adopt\",\"conflicts\"},
   \"accounts\": [{\"account\",\"numbers\",\"complete\",\"unowned\",\"sets\"}],
   \"sets\": [{\"namespace\",\"name\",\"file\",\"account\",\"reason\",\"message\",\"hash\",
     \"actions\": [{\"action\": Reserve|Acquire|Purchase|Move|Disconnect,
                  \"operation\": purchase|move|disconnect, \"packageID\", \"numbers\",
                  \"count\",\"npa\",\"like\",\"sequential\" (Acquire),
                  \"reservationID\",\"retry\" (Purchase), \"from\": {number: packageID} (Move)}],
     \"held\": [{...action fields, \"hold\": Denied|AwaitingApproval|Suspended|
                OverBudget|GracePeriod|UnsafeInventory, \"reason\", \"until\"}],
     \"adopted\": [{\"number\",\"packageID\"}],
     \"numbers\": [{\"number\",\"packageID\",\"state\",\"message\",
                  \"orderID\",\"reservationID\",\"reservedUntil\"}]}]}
Summary counts are numbers (an Acquire counts its count). See docs/plan.md.";

/// Arguments of `plan` (DESIGN.md §5).
///
/// Values are checked by [`main`], not by the argument parser, so that a bad
/// value exits 1 like every other error (the parser's own exit code, 2, means
/// "changes" here).
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct PlanArgs {
    /// Manifests: a file, or a directory read recursively (*.yaml, *.yml,
    /// *.json; multi-document YAML). Other kinds than TollFreeNumberSet and
    /// Secret are ignored. May be repeated.
    #[arg(short = 'f', long = "filename", value_name = "FILE_OR_DIR")]
    pub filename: Vec<PathBuf>,

    /// A Secret manifest with the IntelePeer credentials (data or stringData;
    /// keys username and password, or token). Serves every set.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// The IntelePeer API base URL. Plain http is refused except for loopback
    /// addresses (e.g. the simulator on 127.0.0.1).
    #[arg(long, env = "INTELEPEER_URL", value_name = "URL", default_value = intelepeer::DEFAULT_BASE_URL)]
    pub intelepeer_url: String,

    /// Output format: table (for people) or json (for pipelines; see below).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "table|json",
        default_value = "table"
    )]
    pub output: String,
}

/// How the plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A table per set and a summary line.
    Table,
    /// The JSON document of [`report`].
    Json,
}

/// Why `plan` could not produce a plan. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A command-line value is unusable.
    #[error("{0}")]
    Usage(String),
    /// A manifest is unreadable or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
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
    /// Printing failed (e.g. a closed pipe).
    #[error("cannot write the plan: {0}")]
    Output(std::io::Error),
}

/// Runs `plan`: prints the plan on stdout, or one error line on stderr.
pub async fn main(args: PlanArgs) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let result = match preview(&args, env).await {
        Ok((report, output)) => print(&report, output).map(|()| report.changes),
        Err(e) => Err(e),
    };
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(EXIT_CHANGES),
        Err(e) => {
            // One line, whatever the causes contain.
            let line = e.to_string().replace(['\n', '\r'], " ");
            // `eprintln!` would panic on a closed stderr; nothing is left to tell then.
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::FAILURE
        }
    }
}

fn print(report: &Report, output: Output) -> Result<(), PlanError> {
    let text = match output {
        Output::Table => table::render(report),
        Output::Json => {
            let mut json = serde_json::to_string_pretty(report)
                .map_err(|e| PlanError::Output(std::io::Error::other(e)))?;
            json.push('\n');
            json
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(PlanError::Output)
}

/// Parses `-o`.
pub fn parse_output(raw: &str) -> Result<Output, PlanError> {
    match raw {
        "table" => Ok(Output::Table),
        "json" => Ok(Output::Json),
        other => Err(PlanError::Usage(format!(
            "-o '{other}' is not an output format: use table or json"
        ))),
    }
}

/// A set ready to plan: where it came from and the planner's input.
struct Candidate {
    loaded: LoadedSet,
    input: SetInput,
}

/// Everything but printing: read, validate, list, plan. `env` reads the
/// environment (a parameter so tests need not touch the process's).
pub async fn preview(
    args: &PlanArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(Report, Output), PlanError> {
    let output = parse_output(&args.output)?;
    let url = intelepeer::validate_base_url(&args.intelepeer_url)
        .map_err(|e| PlanError::Usage(format!("--intelepeer-url: {e}")))?;
    if args.filename.is_empty() {
        return Err(PlanError::Usage(
            "no manifests: pass -f FILE_OR_DIR".to_owned(),
        ));
    }

    let manifests = manifests::load(&args.filename)?;
    if manifests.sets.is_empty() {
        let shown: Vec<String> = args
            .filename
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(PlanError::Usage(format!(
            "no TollFreeNumberSet found in {}",
            shown.join(", ")
        )));
    }
    let candidates = validate(&manifests)?;
    let groups = group_by_account(args, &env, &manifests, candidates)?;

    let now = jiff::Timestamp::now();
    let mut accounts = Vec::new();
    let mut planned = Vec::new();
    for group in groups.into_values() {
        let reader =
            InventoryReader::new(&url, group.account.credentials.clone()).map_err(|e| {
                PlanError::Vendor {
                    account: group.account.source.clone(),
                    url: url.clone(),
                    reason: crate::error::report(&e),
                }
            })?;
        let inventory = reader.inventory().await.map_err(|e| PlanError::Vendor {
            account: group.account.source.clone(),
            url: url.clone(),
            reason: crate::error::report(&e),
        })?;
        let last_good_count = group
            .sets
            .iter()
            .filter_map(|c| memory::last_good_count(c.loaded.object.status.as_ref()))
            .max();
        let input = PlanInput {
            now,
            sets: group.sets.iter().map(|c| c.input.clone()).collect(),
            inventory,
            last_good_count,
            confirmed_count: None,
        };
        let plan = tollfree_plan::plan(&input);
        accounts.push(AccountReport {
            account: group.account.source.clone(),
            numbers: input.inventory.numbers.len(),
            complete: input.inventory.complete,
            unowned: plan.unowned,
            sets: group.sets.iter().map(|c| c.input.id.to_string()).collect(),
        });
        planned.push((group, input, plan));
    }

    let mut sets = Vec::new();
    for (group, input, plan) in &planned {
        for set_plan in &plan.sets {
            let Some(candidate) = group.sets.iter().find(|c| c.input.id == set_plan.id) else {
                continue;
            };
            sets.push(PlannedSet {
                file: &candidate.loaded.file,
                account: &group.account.source,
                input: &candidate.input,
                plan: set_plan,
                inventory: &input.inventory,
            });
        }
    }
    Ok((Report::build(accounts, &sets), output))
}

/// Converts every set as admission would check it; the first bad one is the
/// error, naming its file, the set, the field path and the value.
fn validate(manifests: &Manifests) -> Result<Vec<Candidate>, PlanError> {
    manifests
        .sets
        .iter()
        .map(|loaded| {
            let object = &loaded.object;
            spec::set_input(object, spec::approved_hash(object))
                .map(|input| Candidate {
                    loaded: loaded.clone(),
                    input,
                })
                .map_err(|e| {
                    let label = if loaded.name().is_empty() {
                        format!("TollFreeNumberSet in namespace {}", loaded.namespace())
                    } else {
                        format!("{}/{}", loaded.namespace(), loaded.name())
                    };
                    PlanError::Manifest(ManifestError::new(&loaded.file, format!("{label}: {e}")))
                })
        })
        .collect()
}

/// The sets of one vendor account.
struct Group {
    account: AccountCredentials,
    sets: Vec<Candidate>,
}

/// Finds each set's credentials and groups the sets by account (sets of one
/// account are planned together: ownership is exclusive within an account).
fn group_by_account(
    args: &PlanArgs,
    env: &impl Fn(&str) -> Option<String>,
    manifests: &Manifests,
    candidates: Vec<Candidate>,
) -> Result<BTreeMap<VendorIdentity, Group>, PlanError> {
    let shared = match &args.secret_file {
        Some(path) => Some(credentials::from_secret_file(path).map_err(PlanError::Credentials)?),
        None => credentials::from_env(env).map_err(PlanError::Credentials)?,
    };
    let mut groups: BTreeMap<VendorIdentity, Group> = BTreeMap::new();
    for candidate in candidates {
        let account = match &shared {
            Some(account) => account.clone(),
            None => manifest_credentials(manifests, &candidate)?,
        };
        groups
            .entry(account.key.clone())
            .or_insert_with(|| Group {
                account,
                sets: Vec::new(),
            })
            .sets
            .push(candidate);
    }
    Ok(groups)
}

/// The credentials a set's `accountRef` names among the manifests.
fn manifest_credentials(
    manifests: &Manifests,
    candidate: &Candidate,
) -> Result<AccountCredentials, PlanError> {
    let namespace = candidate.loaded.namespace();
    let secret = &candidate.loaded.object.spec.account_ref.name;
    let found = manifests
        .secret(namespace, secret)
        .map_err(PlanError::Credentials)?;
    match found {
        Some(loaded) => credentials::from_secret(loaded).map_err(PlanError::Credentials),
        None => Err(PlanError::Credentials(format!(
            "no IntelePeer credentials for {} ({}): pass --secret-file FILE, set {} and {} \
             (or {}), or include Secret {namespace}/{secret} in the manifests",
            candidate.input.id,
            candidate.loaded.file,
            credentials::ENV_USERNAME,
            credentials::ENV_PASSWORD,
            credentials::ENV_TOKEN,
        ))),
    }
}
