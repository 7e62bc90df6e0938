//! The cluster side of `plan`: the live sets, and the pull request's
//! manifests laid over them, so that the preview is planned from the sets
//! the operator will see once the change is applied.
//!
//! - [`read`]: every `TollFreeNumberSet` (or those of `--watch-namespace`),
//!   read-only (`list`), decoded as the operator's watch decodes them.
//! - [`world`]: the sets after the change, by `namespace/name`:
//!   - a manifest with a live twin replaces the twin's `spec`, and its labels
//!     and annotations are laid over the twin's (as `kubectl apply` merges
//!     them); the twin's status (the operator's memory: owned numbers,
//!     intents, `status.account`), age, finalizers and generation stay — the
//!     generation is bumped when the spec changes, as the API server would;
//!   - a manifest without a twin is a new set: its `status` and
//!     `creationTimestamp` are dropped (the API server ignores them on
//!     create), so it is the youngest set and starts with no memory;
//!   - a set named by `--deleted NAMESPACE/NAME` is being deleted
//!     (`deletionTimestamp` now): with the operator's finalizer it is planned
//!     for deletion (its numbers released, or disconnected under
//!     `disconnect: Auto`), without it the API server removes it at once and
//!     it is left out;
//!   - every other live set is unchanged.
//!
//! Without a cluster the world is the manifests as written (a manifest's
//! `status`, if any, is its memory; see docs/plan.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use kube::api::ListParams;
use tollfree_plan::SetId;

use super::manifests::LoadedSet;
use crate::cli::cluster::{Cluster, api_error, api_status};
use crate::crd::{FINALIZER, TollFreeNumberSet};
use crate::spec;

/// Objects per `list` page.
const PAGE: u32 = 500;

/// Why the live sets could not be read. Displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The API server does not serve the kind: this is not a cluster where
    /// the operator runs (a CI runner's own cluster, say).
    #[error(
        "{cluster} does not serve TollFreeNumberSets (the CRD is not installed): it is not the \
         operator's cluster; pass --kubeconfig for that cluster, or --no-cluster to plan the \
         manifests alone"
    )]
    NoCrd {
        /// Which cluster ([`Cluster::describe`]).
        cluster: String,
    },
    /// The server refused or failed the `list`.
    #[error(
        "cannot list TollFreeNumberSets {scope} from {cluster}: {reason}{hint}",
        hint = match status {
            Some(401) | Some(403) => "; plan needs get and list on tollfreenumbersets.tollfree.dev (read-only; see docs/gitops.md), or pass --no-cluster to plan the manifests alone",
            _ => "; pass --no-cluster to plan the manifests alone",
        }
    )]
    List {
        /// `in every namespace` or `in namespace NS`.
        scope: String,
        /// Which cluster ([`Cluster::describe`]).
        cluster: String,
        /// The HTTP status, if the server answered.
        status: Option<u16>,
        /// The server's message.
        reason: String,
    },
}

/// Where a set of the world came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A manifest of the change (the file it was read from).
    Manifest(String),
    /// The cluster alone: the change does not touch it.
    Cluster,
}

/// One set of the world after the change.
#[derive(Debug, Clone)]
pub struct WorldSet {
    /// The object the operator would see (shared with the live listing and
    /// every account's planning: never copied per account).
    pub object: Arc<TollFreeNumberSet>,
    /// Where it came from.
    pub origin: Origin,
    /// The cluster has this set now (its status and age are the live ones).
    pub live: bool,
    /// Planned as being deleted (`--deleted`).
    pub deleted: bool,
}

impl WorldSet {
    /// The manifest file, or `""` for a set only in the cluster.
    pub fn file(&self) -> &str {
        match &self.origin {
            Origin::Manifest(file) => file,
            Origin::Cluster => "",
        }
    }
}

/// The world after the change, and what a person should know about it.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Every set, by id.
    pub sets: BTreeMap<SetId, WorldSet>,
    /// Remarks (a `--deleted` set that does not exist, one that the API
    /// server would remove at once).
    pub notes: Vec<String>,
}

impl World {
    /// The objects, as the operator's store would hold them.
    pub fn objects(&self) -> Vec<Arc<TollFreeNumberSet>> {
        self.sets.values().map(|s| s.object.clone()).collect()
    }
}

/// Reads every live set (of `namespace` only, if given), page by page.
pub async fn read(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<TollFreeNumberSet>, LiveError> {
    let api: Api<TollFreeNumberSet> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = match api.list(&params).await {
            Ok(page) => page,
            // Reading "no sets" from the wrong cluster would be a blind plan
            // that does not say so.
            Err(e) if api_status(&e) == Some(404) => {
                return Err(LiveError::NoCrd {
                    cluster: cluster.describe(),
                });
            }
            Err(e) => {
                return Err(LiveError::List {
                    scope: match namespace {
                        Some(ns) => format!("in namespace {ns}"),
                        None => "in every namespace".to_owned(),
                    },
                    cluster: cluster.describe(),
                    status: api_status(&e),
                    reason: api_error(&e),
                });
            }
        };
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(out)
}

/// The world after the change: `live` (`None` without a cluster) with
/// `manifests` laid over it and `deleted` being deleted at `now`.
pub fn world(
    live: Option<&[Arc<TollFreeNumberSet>]>,
    manifests: &[LoadedSet],
    deleted: &[SetId],
    now: Timestamp,
) -> World {
    let mut out = World::default();
    for object in live.unwrap_or_default() {
        if let Ok(id) = spec::set_id(object) {
            out.sets.insert(
                id,
                WorldSet {
                    object: object.clone(),
                    origin: Origin::Cluster,
                    live: true,
                    deleted: false,
                },
            );
        }
    }
    for loaded in manifests {
        let Ok(id) = spec::set_id(&loaded.object) else {
            continue;
        };
        let twin = out.sets.get(&id).filter(|s| s.live).map(|s| &s.object);
        let object = Arc::new(match (live, twin) {
            (None, _) => loaded.object.clone(),
            (Some(_), Some(twin)) => applied_over(twin, &loaded.object),
            (Some(_), None) => created(&loaded.object),
        });
        let live_twin = twin.is_some();
        out.sets.insert(
            id,
            WorldSet {
                object,
                origin: Origin::Manifest(loaded.file.clone()),
                live: live_twin,
                deleted: false,
            },
        );
    }
    for id in deleted {
        let Some(set) = out.sets.get_mut(id) else {
            out.notes.push(format!(
                "--deleted {id}: no such set {}: nothing to delete",
                if live.is_some() {
                    "in the cluster or the manifests"
                } else {
                    "among the manifests (no cluster was read)"
                }
            ));
            continue;
        };
        let guarded = set
            .object
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| f.iter().any(|f| f == FINALIZER));
        if set.live && !guarded {
            out.notes.push(format!(
                "--deleted {id}: the set has no {FINALIZER} finalizer (the operator never \
                 reconciled it), so deleting it removes it at once: nothing to plan"
            ));
            out.sets.remove(id);
            continue;
        }
        if set.object.metadata.deletion_timestamp.is_none() {
            Arc::make_mut(&mut set.object).metadata.deletion_timestamp = Some(Time(now));
        }
        set.deleted = true;
    }
    out
}

/// `manifest` applied over its live `twin`: the spec replaced, labels and
/// annotations laid over, everything the server and the operator own kept.
fn applied_over(twin: &TollFreeNumberSet, manifest: &TollFreeNumberSet) -> TollFreeNumberSet {
    let mut object = twin.clone();
    if object.spec != manifest.spec {
        object.spec = manifest.spec.clone();
        object.metadata.generation = Some(twin.metadata.generation.unwrap_or(0) + 1);
    }
    for (ours, theirs) in [
        (&mut object.metadata.labels, &manifest.metadata.labels),
        (
            &mut object.metadata.annotations,
            &manifest.metadata.annotations,
        ),
    ] {
        if let Some(theirs) = theirs {
            let merged = ours.get_or_insert_with(BTreeMap::new);
            for (k, v) in theirs {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    object
}

/// `manifest` as the API server would create it: no status, no age (the
/// youngest set), a first generation.
fn created(manifest: &TollFreeNumberSet) -> TollFreeNumberSet {
    let mut object = manifest.clone();
    object.status = None;
    let metadata = &mut object.metadata;
    metadata.creation_timestamp = None;
    metadata.deletion_timestamp = None;
    metadata.uid = None;
    metadata.resource_version = None;
    metadata.generation = Some(1);
    metadata.finalizers = None;
    object
}

/// Parses `--deleted NAMESPACE/NAME`.
pub fn parse_deleted(raw: &str) -> Result<SetId, String> {
    match raw.split_once('/') {
        Some((namespace, name))
            if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
        {
            Ok(SetId {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => Err(format!(
            "--deleted '{raw}' is not NAMESPACE/NAME (e.g. --deleted telecom/support-lines)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::account::observe::{Generations, participants};
    use crate::crd::TollFreeNumberSetStatus;

    fn set(name: &str, numbers: &[&str]) -> TollFreeNumberSet {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": name, "namespace": "telecom"},
            "spec": {"accountRef": {"name": "acct"},
                     "packages": [{"packageID": 30744, "numbers": numbers}]}
        }))
        .expect("a set")
    }

    /// A set as the operator left it: applied long ago, owning `owned` for
    /// `account`.
    fn live(name: &str, numbers: &[&str], owned: &[&str], account: &str) -> TollFreeNumberSet {
        let mut object = set(name, numbers);
        object.metadata.creation_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        object.metadata.generation = Some(3);
        object.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        let status: TollFreeNumberSetStatus = serde_json::from_value(serde_json::json!({
            "account": account,
            "observedGeneration": 3,
            "numbers": owned.iter().map(|n| serde_json::json!(
                {"number": n, "packageID": 30744, "state": "Active", "owned": true}
            )).collect::<Vec<_>>()
        }))
        .expect("a status");
        object.status = Some(status);
        object
    }

    fn loaded(object: TollFreeNumberSet) -> LoadedSet {
        LoadedSet {
            file: "pr/set.yaml".into(),
            object,
        }
    }

    fn id(name: &str) -> SetId {
        SetId {
            namespace: "telecom".into(),
            name: name.into(),
        }
    }

    const A: &str = "+18552391933";
    const B: &str = "+18552391934";

    #[test]
    fn a_manifest_replaces_its_live_twin_s_spec_and_keeps_its_memory_and_age() {
        let twin = live("a", &[A], &[A], "user demo");
        let mut edited = set("a", &[A, B]);
        edited.metadata.annotations = Some([("x".to_owned(), "1".to_owned())].into());
        let world = world(
            Some(&[Arc::new(twin.clone())]),
            &[loaded(edited.clone())],
            &[],
            Timestamp::now(),
        );
        let a = &world.sets[&id("a")];
        assert!(a.live);
        assert_eq!(a.origin, Origin::Manifest("pr/set.yaml".into()));
        assert_eq!(a.object.spec, edited.spec);
        assert_eq!(a.object.status, twin.status);
        assert_eq!(
            a.object.metadata.creation_timestamp,
            twin.metadata.creation_timestamp
        );
        assert_eq!(a.object.metadata.generation, Some(4), "spec changed");
        assert_eq!(
            a.object.metadata.annotations.as_ref().map(|a| a.len()),
            Some(1)
        );
    }

    #[test]
    fn a_new_manifest_is_the_youngest_set_without_memory() {
        let mut new = set("b", &[A]);
        new.metadata.creation_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        new.status = Some(TollFreeNumberSetStatus::default());
        let world = world(Some(&[]), &[loaded(new)], &[], Timestamp::now());
        let b = &world.sets[&id("b")];
        assert!(!b.live);
        assert_eq!(b.object.status, None);
        assert_eq!(b.object.metadata.creation_timestamp, None);
    }

    #[test]
    fn without_a_cluster_manifests_are_taken_as_written() {
        let mut new = set("b", &[A]);
        new.status = Some(TollFreeNumberSetStatus::default());
        let world = world(None, &[loaded(new.clone())], &[], Timestamp::now());
        assert_eq!(*world.sets[&id("b")].object, new);
    }

    #[test]
    fn deleted_sets_are_deleting_when_guarded_and_gone_otherwise() {
        let guarded = live("a", &[A], &[A], "user demo");
        let mut bare = live("c", &[B], &[], "user demo");
        bare.metadata.finalizers = None;
        let world = world(
            Some(&[Arc::new(guarded), Arc::new(bare)]),
            &[],
            &[id("a"), id("c"), id("nope")],
            Timestamp::now(),
        );
        let a = &world.sets[&id("a")];
        assert!(a.deleted && a.object.metadata.deletion_timestamp.is_some());
        assert!(!world.sets.contains_key(&id("c")));
        assert_eq!(world.notes.len(), 2, "{:?}", world.notes);
        assert!(world.notes[1].starts_with("--deleted telecom/nope: no such set"));
    }

    /// The operator's own observe logic over the world: a live set of the
    /// account keeps what it owns, so a new set cannot adopt it.
    #[test]
    fn live_members_take_part_with_their_memory() {
        let owner = live("owner", &[A], &[A], "user demo");
        let other = live("other", &[B], &[B], "user someone-else");
        let world = world(
            Some(&[Arc::new(owner), Arc::new(other)]),
            &[loaded(set("new", &[A]))],
            &[],
            Timestamp::now(),
        );
        let members: BTreeSet<SetId> = [id("owner"), id("new")].into();
        let observed = participants(
            &world.objects(),
            &members,
            "user demo",
            &mut Generations::default(),
            Timestamp::now(),
        );
        let ids: Vec<&str> = observed.sets.iter().map(|s| s.id.name.as_str()).collect();
        assert_eq!(ids, ["new", "owner"], "the other account's set is not here");
        let owner = &observed.sets[1];
        assert!(owner.memory.owned.keys().any(|n| n.as_str() == A));
        assert!(observed.plans_for(&id("new")) && observed.plans_for(&id("owner")));
    }

    #[test]
    fn deleted_names_parse_as_namespace_and_name() {
        assert_eq!(parse_deleted("telecom/a"), Ok(id("a")));
        for bad in ["a", "/a", "telecom/", "a/b/c"] {
            assert!(parse_deleted(bad).is_err(), "{bad}");
        }
    }
}
