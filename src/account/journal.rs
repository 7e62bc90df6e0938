//! The statuses an account worker wrote, and those it could not write yet.
//!
//! The reflector store's copy of a set may lag the worker's own status
//! write by a moment; a lagging copy must never hide an intent (that could
//! buy twice). And a status the worker computed but could not store (the
//! apiserver was down) may hold an order ID the vendor gave: it must not be
//! dropped. So the worker lays over every set it reads:
//!
//! 1. the status it computed but has not stored yet ([`Journal::unsaved`]),
//!    retried at every pass until stored;
//! 2. else the status it last stored, unless the store's copy is that very
//!    write (same resourceVersion).
//!
//! Owned by one worker task: no lock.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::crd::{TollFreeNumberSet, TollFreeNumberSetStatus};

#[derive(Debug, Clone, Default)]
struct Entry {
    /// The last write known to be stored, with its resourceVersion.
    stored: Option<(Option<String>, TollFreeNumberSetStatus)>,
    /// A status computed after it, not stored yet.
    unsaved: Option<TollFreeNumberSetStatus>,
}

/// What the worker wrote, by object UID.
#[derive(Debug, Default)]
pub struct Journal(HashMap<String, Entry>);

impl Journal {
    /// `obj` with the status this worker last computed for it (see the module
    /// documentation). The store's own object (shared, not copied) when it
    /// is current: at 200 sets of 50 numbers every copy of all statuses is
    /// about 2 MB.
    pub fn overlay(&self, obj: &Arc<TollFreeNumberSet>) -> Arc<TollFreeNumberSet> {
        let Some(e) = obj.metadata.uid.as_ref().and_then(|uid| self.0.get(uid)) else {
            return Arc::clone(obj);
        };
        let status = match (&e.unsaved, &e.stored) {
            (Some(unsaved), _) => unsaved,
            (None, Some((rv, stored))) if rv != &obj.metadata.resource_version => stored,
            _ => return Arc::clone(obj),
        };
        Arc::new(TollFreeNumberSet {
            metadata: obj.metadata.clone(),
            spec: obj.spec.clone(),
            status: Some(status.clone()),
        })
    }

    /// The status last written (or computed) for `uid`, to compare a new one with.
    pub fn latest(&self, uid: &str) -> Option<&TollFreeNumberSetStatus> {
        let e = self.0.get(uid)?;
        e.unsaved.as_ref().or(e.stored.as_ref().map(|(_, s)| s))
    }

    /// Whether `uid` has a status that could not be stored yet.
    pub fn has_unsaved(&self, uid: &str) -> bool {
        self.0.get(uid).is_some_and(|e| e.unsaved.is_some())
    }

    /// A status write landed (`stored` is the object the API returned; its
    /// status is kept, the rest dropped).
    pub fn stored(&mut self, stored: TollFreeNumberSet) {
        if let (Some(uid), Some(status)) = (stored.metadata.uid, stored.status) {
            self.0.insert(
                uid,
                Entry {
                    stored: Some((stored.metadata.resource_version, status)),
                    unsaved: None,
                },
            );
        }
    }

    /// A status write failed: keep `status` until it is stored. The last
    /// write known to be stored stays too.
    pub fn unsaved(&mut self, uid: &str, status: TollFreeNumberSetStatus) {
        self.0.entry(uid.to_owned()).or_default().unsaved = Some(status);
    }

    /// Forgets an object (released, or gone).
    pub fn forget(&mut self, uid: &str) {
        self.0.remove(uid);
    }

    /// Forgets every object whose UID is not in `live`, except those with an
    /// unsaved status (kept until written; an object that is really gone
    /// fails its write and is dropped by [`Journal::forget`]).
    pub fn retain(&mut self, live: &BTreeSet<&str>) {
        self.0
            .retain(|uid, e| live.contains(uid.as_str()) || e.unsaved.is_some());
    }

    /// The UIDs with a status not stored yet.
    pub fn unsaved_uids(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, e)| e.unsaved.is_some())
            .map(|(uid, _)| uid.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rv: &str, desired: u32) -> Arc<TollFreeNumberSet> {
        let mut s: TollFreeNumberSet = serde_json::from_value(serde_json::json!({
            "apiVersion": "tollfree.dev/v1alpha1", "kind": "TollFreeNumberSet",
            "metadata": {"name": "one", "namespace": "a", "uid": "uid-1", "resourceVersion": rv},
            "spec": {"accountRef": {"name": "acct"}, "packages": [{"packageID": 1, "numbers": ["+18885550100"]}]}
        }))
        .expect("set");
        s.status = Some(TollFreeNumberSetStatus {
            desired,
            ..Default::default()
        });
        Arc::new(s)
    }

    #[test]
    fn the_last_write_is_laid_over_a_lagging_store() {
        let mut journal = Journal::default();
        journal.stored(Arc::unwrap_or_clone(set("2", 7)));
        let lagging = set("1", 1);
        assert_eq!(
            journal.overlay(&lagging).status.as_ref().map(|s| s.desired),
            Some(7)
        );
        let current = set("2", 7);
        assert_eq!(journal.overlay(&current), current, "the store caught up");
        journal.retain(&BTreeSet::new());
        assert_eq!(
            journal.overlay(&lagging),
            lagging,
            "gone objects are forgotten"
        );
    }

    #[test]
    fn an_unsaved_status_is_kept_until_stored_and_wins_over_everything() {
        let mut journal = Journal::default();
        journal.stored(Arc::unwrap_or_clone(set("2", 7)));
        journal.unsaved(
            "uid-1",
            TollFreeNumberSetStatus {
                desired: 8,
                ..Default::default()
            },
        );
        assert!(journal.has_unsaved("uid-1"));
        assert_eq!(
            journal
                .overlay(&set("2", 7))
                .status
                .as_ref()
                .map(|s| s.desired),
            Some(8)
        );
        assert_eq!(journal.latest("uid-1").map(|s| s.desired), Some(8));
        journal.retain(&BTreeSet::new());
        assert!(journal.has_unsaved("uid-1"), "kept until written");
        journal.stored(Arc::unwrap_or_clone(set("3", 8)));
        assert!(!journal.has_unsaved("uid-1"));
        assert!(journal.unsaved_uids().is_empty());
    }
}
