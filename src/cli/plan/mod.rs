//! `tollfree-operator plan`: a read-only preview of what the operator would do
//! for some manifests — for GitOps pipelines that want to show a pull
//! request's effect before it is merged (docs/plan.md,
//! docs/gitops.md).
//!
//! The pipeline, each step a module:
//!
//! 1. [`manifests`]: read `-f FILE_OR_DIR` (recursively; multi-document YAML,
//!    JSON); keep `TollFreeNumberSet`s and `Secret`s, skip other kinds; decode
//!    sets strictly, as the API server does ([`strict`]).
//! 2. Validate every set as admission would ([`crate::spec::set_input`]):
//!    a bad manifest is an error naming the file, the field and the value,
//!    before any vendor call.
//! 3. [`crate::cli::cluster`] + [`live`]: with a cluster (`--kubeconfig`,
//!    `KUBECONFIG`, `~/.kube/config`, in-cluster), read the live sets
//!    (`list`, nothing else) and lay the manifests over them by
//!    `namespace/name` (`--deleted` marks sets the change deletes). Without
//!    one, the manifests alone — and the report says that other sets are
//!    unknown.
//! 4. [`credentials`]: `--secret-file`, else the environment, else the Secret
//!    each set's `accountRef` names among the manifests.
//! 5. [`vendor`]: one complete inventory listing per account — the only vendor
//!    call, and a read.
//! 6. Per account, the operator's own observe step
//!    ([`crate::account::observe::participants`]) over those sets — the
//!    manifests, and the live sets whose `status.account` is the login's
//!    identity, with their memory (claims-only when they cannot be planned
//!    for) — then [`tollfree_plan::plan`], exactly as the account worker
//!    plans on its first pass.
//! 7. [`report`] + [`table`]: print the table or the JSON document: the
//!    change's sets, and live sets whose plan the change alters (compared
//!    with a plan of the cluster as it is).
//!
//! Exit codes: 0 no changes, 2 changes (any action or held action), 1 error
//! (one line on stderr).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use tollfree_plan::{PlanInput, SetId};

use crate::account::observe::{Generations, participants};
use crate::cli::cluster::{self, ClusterArgs, ClusterError};
use crate::crd::TollFreeNumberSet;
use crate::logins::VendorIdentity;
use crate::{memory, spec};

pub mod credentials;
pub mod live;
pub mod manifests;
pub mod report;
pub mod strict;
pub mod table;
pub mod vendor;

use credentials::AccountCredentials;
use live::{LiveError, Origin, World};
use manifests::{LoadedSet, ManifestError, Manifests};
use report::{AccountReport, ClusterReport, PlannedSet, Report};
use vendor::InventoryReader;

/// Exit code: the plan has changes (an action or a held action).
pub const EXIT_CHANGES: u8 = 2;

/// Appended to `plan --help`.
const AFTER_HELP: &str = "\
Credentials, first found wins: --secret-file; INTELEPEER_USERNAME and
INTELEPEER_PASSWORD (or INTELEPEER_TOKEN); a Secret among the manifests named by
a set's spec.accountRef (same namespace). Only the inventory is read (GET
/my/tf); nothing is ever reserved, bought, moved or disconnected.

The cluster, as kubectl finds it: --kubeconfig, KUBECONFIG, ~/.kube/config, or
the pod's service account. With one, the live TollFreeNumberSets are read (list
only) and the manifests replace their live twins by namespace/name; live sets of
the same IntelePeer login (status.account) take part with what they own, so
adoption and conflicts are decided as the operator will. --deleted NS/NAME plans
a set the change deletes. Without a cluster (or with --no-cluster) only the
manifests are known, and the output warns that \"adopt\" may be wrong.

Exit codes: 0 no changes, 2 changes (any action or held action), 1 error.

-o json prints one document (version 1):
  {\"version\": 1, \"changes\": bool,
   \"cluster\": {\"read\",\"context\",\"server\",\"namespace\",\"liveSets\",\"unproven\",\"warning\"},
   \"summary\": {\"sets\",\"buy\",\"move\",\"disconnect\",\"held\",\"adopt\",\"conflicts\"},
   \"accounts\": [{\"account\",\"numbers\",\"complete\",\"unowned\",\"sets\",\"liveSets\"}],
   \"sets\": [{\"namespace\",\"name\",\"file\",\"account\",\"origin\": Manifest|Cluster,
     \"live\",\"deleted\",\"reason\",\"message\",\"hash\",
     \"actions\": [{\"action\": Reserve|Acquire|Purchase|Move|Disconnect,
                  \"operation\": purchase|move|disconnect, \"packageID\", \"numbers\",
                  \"count\",\"npa\",\"like\",\"sequential\" (Acquire),
                  \"reservationID\",\"retry\" (Purchase), \"from\": {number: packageID} (Move)}],
     \"held\": [{...action fields, \"hold\": Denied|AwaitingApproval|Suspended|
                OverBudget|GracePeriod|UnsafeInventory, \"reason\", \"until\"}],
     \"adopted\": [{\"number\",\"packageID\"}],
     \"numbers\": [{\"number\",\"packageID\",\"state\",\"message\",
                  \"orderID\",\"reservationID\",\"reservedUntil\"}]}],
   \"notes\": [string]}
Summary counts are numbers (an Acquire counts its count). See docs/plan.md.";

/// Arguments of `plan` (a stable contract: the README's command line).
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

    /// Where the cluster is (see below).
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Do not read the cluster: plan the manifests alone (other sets are
    /// then unknown, and "adopt" may be wrong).
    #[arg(long)]
    pub no_cluster: bool,

    /// Read only this namespace's live sets, as an operator run with
    /// `run --namespace NS` sees them (default: every namespace).
    #[arg(long, value_name = "NS")]
    pub watch_namespace: Option<String>,

    /// A set the change deletes (Flux or Argo CD prune it): planned as being
    /// deleted, with its live status. May be repeated.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub deleted: Vec<String>,

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
    /// The cluster is configured but its configuration is unusable.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The live sets could not be read.
    #[error(transparent)]
    Live(#[from] LiveError),
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

/// A manifest's set that converts to planner input (admission's rules):
/// where it came from and its id. The input itself is built again when its
/// account is planned, from the world the change makes.
struct Candidate {
    loaded: LoadedSet,
    id: SetId,
}

/// Why no cluster was read, for the warning.
const NO_KUBECONFIG: &str = "no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) \
     and not running in a cluster";

/// The warning of a preview without the live sets.
pub fn offline_warning(why: &str) -> String {
    format!(
        "no cluster was read ({why}): sets that exist only in the cluster are unknown, so \
         \"adopt\" may be wrong — a number shown as adopted may belong to such a set, and the \
         operator would then buy another; pass --kubeconfig (or set KUBECONFIG) to plan against \
         the live sets"
    )
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
    let deleted: Vec<SetId> = args
        .deleted
        .iter()
        .map(|d| live::parse_deleted(d))
        .collect::<Result<_, _>>()
        .map_err(PlanError::Usage)?;
    if args.no_cluster
        && (args.cluster.kubeconfig.is_some()
            || args.cluster.context.is_some()
            || args.watch_namespace.is_some())
    {
        return Err(PlanError::Usage(
            "--no-cluster cannot be combined with --kubeconfig, --context or --watch-namespace"
                .to_owned(),
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
    let cluster = if args.no_cluster {
        None
    } else {
        cluster::connect(&args.cluster, &env).await?
    };
    if cluster.is_none() && args.watch_namespace.is_some() {
        return Err(PlanError::Usage(format!(
            "--watch-namespace: {NO_KUBECONFIG}"
        )));
    }
    let candidates = validate(&manifests, cluster.is_some())?;

    let observed_at = jiff::Timestamp::now();
    let live_sets = match &cluster {
        Some(c) => Some(
            live::read(c, args.watch_namespace.as_deref())
                .await?
                .into_iter()
                .map(std::sync::Arc::new)
                .collect::<Vec<_>>(),
        ),
        None => None,
    };
    let world = live::world(live_sets.as_deref(), &manifests.sets, &deleted, observed_at);
    let groups = group_by_account(args, &env, &manifests, candidates)?;
    let mut notes = world.notes.clone();
    notes.extend(other_logins(&world, &groups));

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
        let account = planned_account(&world, &group, live_sets.as_deref(), inventory, observed_at);
        for (id, e) in &account.invalid {
            notes.push(format!(
                "set {id} cannot be planned ({e}): planned around, claiming only what its \
                 status records"
            ));
        }
        accounts.push(AccountReport {
            account: group.account.source.clone(),
            numbers: account.input.inventory.numbers.len(),
            complete: account.input.inventory.complete,
            unowned: account.plan.unowned,
            sets: account.reported.iter().map(ToString::to_string).collect(),
            live_sets: account.live.iter().map(ToString::to_string).collect(),
        });
        planned.push((group, account));
    }

    let mut sets = Vec::new();
    for (group, account) in &planned {
        for set_plan in &account.plan.sets {
            let (Some(ws), Some(input)) = (
                world.sets.get(&set_plan.id),
                account.input.sets.iter().find(|s| s.id == set_plan.id),
            ) else {
                continue;
            };
            if !account.reported.contains(&set_plan.id) {
                continue;
            }
            sets.push(PlannedSet {
                file: ws.file(),
                origin: match ws.origin {
                    Origin::Manifest(_) => report::Origin::Manifest,
                    Origin::Cluster => report::Origin::Cluster,
                },
                live: ws.live,
                deleted: ws.deleted,
                account: &group.account.source,
                input,
                plan: set_plan,
                inventory: &account.input.inventory,
            });
        }
    }
    let cluster_report = match &cluster {
        Some(c) => ClusterReport {
            read: true,
            context: c.context.clone(),
            server: Some(c.server.clone()),
            namespace: args.watch_namespace.clone(),
            live_sets: live_sets.as_ref().map_or(0, Vec::len),
            unproven: world
                .sets
                .iter()
                .filter(|(_, s)| {
                    s.origin == Origin::Cluster && recorded_account(&s.object).is_none()
                })
                .map(|(id, _)| id.to_string())
                .collect(),
            warning: None,
        },
        None => ClusterReport {
            warning: Some(offline_warning(if args.no_cluster {
                "--no-cluster"
            } else {
                NO_KUBECONFIG
            })),
            ..ClusterReport::default()
        },
    };
    Ok((
        Report::build(cluster_report, accounts, &sets, notes),
        output,
    ))
}

/// The login a set's status belongs to, as the operator recorded it.
fn recorded_account(object: &TollFreeNumberSet) -> Option<&str> {
    object.status.as_ref().and_then(|s| s.account.as_deref())
}

/// A note naming the logins of live sets that none of the planned logins
/// is: a pipeline planning with another login than the operator's (say, a
/// read-only token) would otherwise not see that those sets were left out.
fn other_logins(world: &World, groups: &BTreeMap<VendorIdentity, Group>) -> Option<String> {
    let planned: BTreeSet<String> = groups.keys().map(ToString::to_string).collect();
    let mut others: BTreeMap<&str, usize> = BTreeMap::new();
    for set in world.sets.values().filter(|s| s.origin == Origin::Cluster) {
        if let Some(account) = recorded_account(&set.object)
            && !planned.contains(account)
        {
            *others.entry(account).or_default() += 1;
        }
    }
    if others.is_empty() {
        return None;
    }
    let list: Vec<String> = others
        .iter()
        .map(|(account, n)| format!("{account} ({n})"))
        .collect();
    Some(format!(
        "live sets of other IntelePeer logins were not planned: {}; if they share this vendor \
         account, plan with the login their Secret holds",
        list.join(", ")
    ))
}

/// One account's plan, and which sets to report.
struct PlannedAccount {
    input: PlanInput,
    plan: tollfree_plan::Plan,
    /// The sets to report: the change's own, and live sets whose plan the
    /// change alters.
    reported: BTreeSet<SetId>,
    /// Live participants besides the change's sets.
    live: BTreeSet<SetId>,
    /// Members that cannot be planned for, and why.
    invalid: BTreeMap<SetId, crate::spec::SpecError>,
}

/// Plans one account as its worker would on a first pass over `world`: the
/// members are the group's manifests and the live sets whose status belongs
/// to the login; every other set recorded for it is planned around.
/// `observed_at`: when the sets were read (before the listing started, so
/// the listing is fresh for every spec, as the worker requires before
/// buying).
fn planned_account(
    world: &World,
    group: &Group,
    live: Option<&[std::sync::Arc<TollFreeNumberSet>]>,
    inventory: tollfree_plan::Inventory,
    observed_at: jiff::Timestamp,
) -> PlannedAccount {
    let account = group.account.key.to_string();
    let now = jiff::Timestamp::now();
    let ours: BTreeSet<SetId> = group.sets.iter().map(|c| c.id.clone()).collect();
    let mut members = ours.clone();
    for (id, set) in &world.sets {
        if set.origin == Origin::Cluster && recorded_account(&set.object) == Some(account.as_str())
        {
            members.insert(id.clone());
        }
    }
    let observed = participants(
        &world.objects(),
        &members,
        &account,
        &mut Generations::default(),
        observed_at,
    );
    let count = inventory.numbers.len();
    let last_good_count = match live {
        Some(_) => observed.recorded_trusted_count,
        None => group
            .sets
            .iter()
            .filter_map(|c| memory::last_good_count(c.loaded.object.status.as_ref()))
            .max(),
    };
    let input = PlanInput {
        now,
        sets: observed.sets.clone(),
        inventory,
        last_good_count,
        confirmed_count: observed.confirmed_counts.contains(&count).then_some(count),
    };
    let plan = tollfree_plan::plan(&input);

    // The cluster as it is, to tell which live sets the change affects.
    let baseline = live.map(|live| {
        let members: BTreeSet<SetId> = live
            .iter()
            .filter(|o| recorded_account(o) == Some(account.as_str()))
            .filter_map(|o| spec::set_id(o).ok())
            .collect();
        let before = participants(
            live,
            &members,
            &account,
            &mut Generations::default(),
            observed_at,
        );
        tollfree_plan::plan(&PlanInput {
            now,
            sets: before.sets,
            inventory: input.inventory.clone(),
            last_good_count: before.recorded_trusted_count,
            confirmed_count: before.confirmed_counts.contains(&count).then_some(count),
        })
    });
    let mut reported = BTreeSet::new();
    for set_plan in &plan.sets {
        let id = &set_plan.id;
        if !observed.plans_for(id) {
            continue;
        }
        let changed = || {
            baseline
                .as_ref()
                .is_none_or(|b| b.sets.iter().find(|p| &p.id == id) != Some(set_plan))
        };
        let deleted = world.sets.get(id).is_some_and(|s| s.deleted);
        if ours.contains(id) || deleted || changed() {
            reported.insert(id.clone());
        }
    }
    let live_ids = observed
        .sets
        .iter()
        .map(|s| &s.id)
        .filter(|id| !ours.contains(*id))
        .filter(|id| world.sets.get(*id).is_some_and(|s| s.live))
        .cloned()
        .collect();
    PlannedAccount {
        input,
        plan,
        reported,
        live: live_ids,
        invalid: observed.invalid,
    }
}

/// Converts every set as admission would check it; the first bad one is the
/// error, naming its file, the set, the field path and the value. With a
/// cluster a manifest's `status` is not checked: the live one is used.
fn validate(manifests: &Manifests, cluster: bool) -> Result<Vec<Candidate>, PlanError> {
    manifests
        .sets
        .iter()
        .map(|loaded| {
            let mut object = loaded.object.clone();
            if cluster {
                object.status = None;
            }
            spec::set_input(&object, spec::approved_hash(&object))
                .map(|input| Candidate {
                    loaded: loaded.clone(),
                    id: input.id,
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
    let shared =
        credentials::given(args.secret_file.as_deref(), env).map_err(PlanError::Credentials)?;
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
            candidate.id,
            candidate.loaded.file,
            credentials::ENV_USERNAME,
            credentials::ENV_PASSWORD,
            credentials::ENV_TOKEN,
        ))),
    }
}
