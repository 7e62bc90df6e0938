//! `tollfree-operator approve -n NS NAME`: approve the actions a set holds
//! under an `Approve` policy (docs/safety.md rule 10, approval by hash), without copying a hash by hand.
//!
//! 1. Read the set. Its status must describe its current spec
//!    (`status.observedGeneration` = `metadata.generation`) and name a plan
//!    hash (`status.plan.hash`); otherwise there is nothing to approve yet.
//! 2. Show the actions awaiting approval and the hash; with `--hash`, refuse
//!    unless it is the set's current hash (the one a reviewer saw in `plan`).
//! 3. Ask for confirmation (`--yes` skips it; no answer is no).
//! 4. Read the set again and refuse if the plan changed since it was shown
//!    (another hash, or a newer spec); then set annotation
//!    `tollfree.dev/approve` with a merge patch carrying that read's
//!    `resourceVersion`, so the API server refuses the write (409) if the set
//!    changed in between — in which case step 4 starts over, and refuses if
//!    the hash is not the one shown.
//!
//! Nothing is sent to the vendor: the operator runs the approved actions at
//! its next pass. Exit codes: 0 approved (or already approved), 1 anything
//! else (declined, refused, error), with one line on stderr.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use kube::Api;
use kube::api::{Patch, PatchParams};

use crate::cli::cluster::{self, ClusterArgs, ClusterError, api_error, api_status};
use crate::crd::{APPROVE_ANNOTATION, HoldKind, PlannedAction, TollFreeNumberSet};

/// The field manager of the annotation write.
pub const FIELD_MANAGER: &str = "tollfree-operator-approve";

/// How many times a write refused with 409 (the set changed, e.g. a status
/// write of the operator) is tried again after re-checking the plan.
const MAX_CONFLICTS: usize = 5;

/// Shortest `--hash` prefix accepted (hex digits): as long as the prefix
/// the operator's messages show.
pub const MIN_HASH_PREFIX: usize = 12;

/// Arguments of `approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The set's namespace (default: the kubeconfig context's namespace).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,

    /// The TollFreeNumberSet.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Approve without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Approve only if the set's plan hash is this one (the hash a reviewer
    /// saw, e.g. in `plan` output): the whole hash or at least its first 12
    /// hex digits.
    #[arg(long, value_name = "HASH")]
    pub hash: Option<String>,

    /// Where the cluster is.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Why nothing was approved. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// No cluster is configured.
    #[error(
        "no cluster: pass --kubeconfig FILE, set KUBECONFIG, or run where ~/.kube/config exists"
    )]
    NoCluster,
    /// The cluster configuration is unusable.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// `--hash` is not a hash prefix.
    #[error(
        "--hash '{0}' is not a plan hash: give the hash (hex digits), or at least its first {MIN_HASH_PREFIX} characters"
    )]
    BadHash(String),
    /// Reading or writing the set failed.
    #[error("{action} TollFreeNumberSet {set}: {reason}")]
    Kube {
        /// `reading` or `annotating`.
        action: &'static str,
        /// `namespace/name`.
        set: String,
        /// The server's answer.
        reason: String,
    },
    /// The set does not exist.
    #[error("TollFreeNumberSet {0} not found")]
    NotFound(String),
    /// The status does not describe the current spec yet.
    #[error(
        "{set}: the operator has not planned the current spec yet (generation {generation}, status \
         describes {observed}); wait until it has, then approve what it shows"
    )]
    NotObserved {
        /// `namespace/name`.
        set: String,
        /// `metadata.generation`.
        generation: i64,
        /// `status.observedGeneration`, or `none`.
        observed: String,
    },
    /// No action awaits approval.
    #[error("{set}: nothing awaits approval{why}")]
    NothingToApprove {
        /// `namespace/name`.
        set: String,
        /// `: ` and the Ready condition's reason and message, if any.
        why: String,
    },
    /// `--hash` names another plan than the set's.
    #[error(
        "{set}: the set's plan hash is {current}, not {given}: the plan changed since that hash \
         was shown; review the set's plan again"
    )]
    HashMismatch {
        /// `namespace/name`.
        set: String,
        /// `--hash`.
        given: String,
        /// `status.plan.hash`.
        current: String,
    },
    /// The person said no (or gave no answer).
    #[error("{0}: not approved")]
    Declined(String),
    /// The plan changed between showing it and writing the approval.
    #[error(
        "{set}: the plan changed since it was shown (hash {shown} is now {now}): nothing was \
         approved; run approve again to review the new plan"
    )]
    PlanChanged {
        /// `namespace/name`.
        set: String,
        /// The hash shown.
        shown: String,
        /// The hash now (`none` when nothing awaits approval any more).
        now: String,
    },
    /// The set kept changing under the write.
    #[error("{0}: the set kept changing while the approval was written; run approve again")]
    Contended(String),
    /// The terminal could not be read or written.
    #[error("cannot {0}")]
    Terminal(String),
}

/// What awaits approval on a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// `status.plan.hash`.
    pub hash: String,
    /// The spec generation the plan belongs to.
    pub generation: i64,
    /// The actions held for approval.
    pub actions: Vec<PlannedAction>,
    /// The current value of the approval annotation, if any.
    pub annotated: Option<String>,
}

impl Pending {
    /// The annotation already approves this plan.
    pub fn approved(&self) -> bool {
        self.annotated
            .as_deref()
            .is_some_and(|a| tollfree_plan::approves(a, &self.hash))
    }
}

/// What the set's status says awaits approval, or why nothing does.
pub fn pending(set: &TollFreeNumberSet) -> Result<Pending, ApproveError> {
    let id = label(set);
    let generation = set.metadata.generation.unwrap_or(0);
    let status = set.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation);
    if observed != Some(generation) {
        return Err(ApproveError::NotObserved {
            set: id,
            generation,
            observed: observed.map_or_else(|| "none".to_owned(), |o| o.to_string()),
        });
    }
    let plan = status.and_then(|s| s.plan.as_ref());
    let hash = plan.map(|p| p.hash.clone()).unwrap_or_default();
    let actions: Vec<PlannedAction> = plan
        .map(|p| {
            p.actions
                .iter()
                .filter(|a| a.hold == Some(HoldKind::AwaitingApproval))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if hash.is_empty() || actions.is_empty() {
        let why = status
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| format!(": Ready is {} ({}: {})", c.status, c.reason, c.message))
            .unwrap_or_default();
        return Err(ApproveError::NothingToApprove { set: id, why });
    }
    Ok(Pending {
        hash,
        generation,
        actions,
        annotated: crate::spec::approved_hash(set).map(str::to_owned),
    })
}

/// Whether `given` (`--hash`) names `hash`: equal, or a prefix of at least
/// [`MIN_HASH_PREFIX`] characters, ignoring case.
pub fn hash_matches(given: &str, hash: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    let hash = hash.to_ascii_lowercase();
    given.len() >= MIN_HASH_PREFIX.min(hash.len()) && hash.starts_with(&given)
}

/// `namespace/name`.
fn label(set: &TollFreeNumberSet) -> String {
    format!(
        "{}/{}",
        set.metadata.namespace.as_deref().unwrap_or(""),
        set.metadata.name.as_deref().unwrap_or("")
    )
}

/// The actions as shown before the question.
pub fn render(id: &str, pending: &Pending) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let n = pending.actions.len();
    let _ = writeln!(
        out,
        "{id}: {n} {} awaiting approval, plan hash {}",
        if n == 1 { "action" } else { "actions" },
        pending.hash
    );
    for a in &pending.actions {
        let what = match a.count {
            Some(count) if a.numbers.is_empty() => {
                format!("{count} {}", if count == 1 { "number" } else { "numbers" })
            }
            _ => a.numbers.join(" "),
        };
        let package = a
            .package_id
            .map(|p| format!(" into package {p}"))
            .unwrap_or_default();
        let message = if a.message.is_empty() {
            String::new()
        } else {
            format!(" — {}", a.message)
        };
        let _ = writeln!(
            out,
            "  {:<10} {what}{package}{message}",
            format!("{:?}", a.action)
        );
    }
    if let Some(old) = pending.annotated.as_deref().filter(|_| !pending.approved()) {
        let _ = writeln!(
            out,
            "  (the annotation {APPROVE_ANNOTATION}={old} approves an earlier plan, not this one)"
        );
    }
    out
}

/// Whether an answer is yes.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Runs `approve`.
pub async fn main(args: ApproveArgs) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut output = std::io::stdout();
    match run(&args, &env, &mut input, &mut output).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = e.to_string().replace(['\n', '\r'], " ");
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// Everything `approve` does, with the terminal as parameters.
pub async fn run(
    args: &ApproveArgs,
    env: &impl Fn(&str) -> Option<String>,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> Result<(), ApproveError> {
    if let Some(given) = &args.hash
        && (given.trim().len() < MIN_HASH_PREFIX
            || !given.trim().chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(ApproveError::BadHash(given.clone()));
    }
    let cluster = cluster::connect(&args.cluster, env)
        .await?
        .ok_or(ApproveError::NoCluster)?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let id = format!("{namespace}/{}", args.name);
    let api: Api<TollFreeNumberSet> = Api::namespaced(cluster.client.clone(), &namespace);
    let say = |output: &mut dyn Write, text: &str| {
        output
            .write_all(text.as_bytes())
            .and_then(|()| output.flush())
            .map_err(|e| ApproveError::Terminal(format!("write to the terminal: {e}")))
    };

    let set = read(&api, &args.name, &id).await?;
    let shown = pending(&set)?;
    if let Some(given) = &args.hash
        && !hash_matches(given, &shown.hash)
    {
        return Err(ApproveError::HashMismatch {
            set: id,
            given: given.clone(),
            current: shown.hash,
        });
    }
    say(output, &render(&id, &shown))?;
    if shown.approved() {
        say(
            output,
            &format!(
                "{id}: already approved ({APPROVE_ANNOTATION}={})\n",
                shown.hash
            ),
        )?;
        return Ok(());
    }
    if !args.yes {
        say(
            output,
            &format!("Approve these actions (annotation {APPROVE_ANNOTATION})? [y/N] "),
        )?;
        let mut answer = String::new();
        input
            .read_line(&mut answer)
            .map_err(|e| ApproveError::Terminal(format!("read the answer: {e}")))?;
        if !is_yes(&answer) {
            return Err(ApproveError::Declined(id));
        }
    }

    // The patch carries the resourceVersion of the set as shown: if anything
    // changed since (the person may have taken minutes), the apiserver
    // answers 409 and the plan is read and compared again.
    let mut current = set;
    for attempt in 0..MAX_CONFLICTS {
        if attempt > 0 {
            current = read(&api, &args.name, &id).await?;
            let now = match pending(&current) {
                Ok(p) => p,
                Err(_) => {
                    return Err(ApproveError::PlanChanged {
                        set: id,
                        shown: shown.hash,
                        now: "none (nothing awaits approval now, or the spec is not planned yet)"
                            .to_owned(),
                    });
                }
            };
            if now.hash != shown.hash || now.generation != shown.generation {
                return Err(ApproveError::PlanChanged {
                    set: id,
                    shown: shown.hash,
                    now: now.hash,
                });
            }
        }
        let patch = serde_json::json!({
            "metadata": {
                "resourceVersion": current.metadata.resource_version,
                "annotations": {APPROVE_ANNOTATION: shown.hash},
            }
        });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        match api.patch(&args.name, &params, &Patch::Merge(&patch)).await {
            Ok(_) => {
                say(
                    output,
                    &format!(
                        "approved {id}: {APPROVE_ANNOTATION}={}; the operator runs the approved \
                         actions at its next pass\n",
                        shown.hash
                    ),
                )?;
                return Ok(());
            }
            // The set changed since it was read: look at the plan again.
            Err(e) if api_status(&e) == Some(409) => continue,
            Err(e) if api_status(&e) == Some(404) => return Err(ApproveError::NotFound(id)),
            Err(e) => {
                return Err(ApproveError::Kube {
                    action: "annotating",
                    set: id,
                    reason: api_error(&e),
                });
            }
        }
    }
    Err(ApproveError::Contended(id))
}

async fn read(
    api: &Api<TollFreeNumberSet>,
    name: &str,
    id: &str,
) -> Result<TollFreeNumberSet, ApproveError> {
    match api.get(name).await {
        Ok(set) => Ok(set),
        Err(e) if api_status(&e) == Some(404) => Err(ApproveError::NotFound(id.to_owned())),
        Err(e) => Err(ApproveError::Kube {
            action: "reading",
            set: id.to_owned(),
            reason: api_error(&e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9baf9231b5439a4e0000000000000000000000000000000000000000000000aa";

    fn set(generation: i64, observed: Option<i64>, hash: &str) -> TollFreeNumberSet {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": "s", "namespace": "telecom", "generation": generation},
            "spec": {"accountRef": {"name": "acct"},
                     "packages": [{"packageID": 30744, "numbers": ["+18885551201"]}]},
            "status": {
                "observedGeneration": observed,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Converged",
                                "message": "1 number active", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                "plan": {"hash": hash, "actions": [
                    {"action": "Reserve", "packageID": 30744, "numbers": ["+18885551201"],
                     "hold": "AwaitingApproval", "message": "purchase policy is Approve"},
                    {"action": "Disconnect", "numbers": ["+18005550100"], "hold": "Denied"}
                ]}
            }
        }))
        .expect("a set")
    }

    #[test]
    fn pending_lists_only_the_actions_awaiting_approval() {
        let p = pending(&set(2, Some(2), HASH)).expect("pending");
        assert_eq!(p.hash, HASH);
        assert_eq!(p.actions.len(), 1);
        assert!(!p.approved());
        let shown = render("telecom/s", &p);
        assert!(
            shown.starts_with(&format!(
                "telecom/s: 1 action awaiting approval, plan hash {HASH}\n  Reserve    +18885551201 into package 30744"
            )),
            "{shown}"
        );
    }

    #[test]
    fn a_status_of_an_older_generation_is_not_approvable() {
        let e = pending(&set(3, Some(2), HASH)).expect_err("stale");
        assert!(
            matches!(e, ApproveError::NotObserved { generation: 3, .. }),
            "{e}"
        );
    }

    #[test]
    fn nothing_to_approve_says_why() {
        let e = pending(&set(2, Some(2), "")).expect_err("no hash");
        assert_eq!(
            e.to_string(),
            "telecom/s: nothing awaits approval: Ready is True (Converged: 1 number active)"
        );
    }

    #[test]
    fn an_earlier_approval_is_pointed_out() {
        let mut s = set(2, Some(2), HASH);
        s.metadata.annotations = Some([(APPROVE_ANNOTATION.to_owned(), "0123".to_owned())].into());
        let p = pending(&s).expect("pending");
        assert!(render("telecom/s", &p).contains("approves an earlier plan"));
        s.metadata.annotations =
            Some([(APPROVE_ANNOTATION.to_owned(), HASH.to_uppercase())].into());
        assert!(pending(&s).expect("pending").approved());
    }

    #[test]
    fn hash_prefixes_need_twelve_digits() {
        assert!(hash_matches(HASH, HASH));
        assert!(hash_matches(&HASH[..12], HASH));
        assert!(hash_matches(&HASH[..12].to_uppercase(), HASH));
        assert!(!hash_matches(&HASH[..11], HASH));
        assert!(!hash_matches("9baf9231b5439a4f", HASH));
    }

    #[test]
    fn only_y_or_yes_is_yes() {
        for yes in ["y\n", "Y", " yes \n", "YES"] {
            assert!(is_yes(yes), "{yes}");
        }
        for no in ["", "\n", "n", "no", "yep", "sure"] {
            assert!(!is_yes(no), "{no}");
        }
    }
}
