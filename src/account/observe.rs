//! Observe: the sets of one vendor account, as the planner takes them.
//!
//! - **Members**: sets whose own credentials proved this account (the router
//!   joined them). Each is read from the controller's store with the status
//!   this worker last wrote laid over it ([`Journal`]), and parsed once into
//!   the planner's [`SetInput`]: its spec, its memory (empty when its status
//!   belongs to another login: a set whose Secret now proves another account
//!   starts afresh there), its approval and forget-missing annotations, and
//!   when this worker first saw its current generation (`observed_since`:
//!   fresh before buying).
//! - **Protected sets**: sets of the store that are not members but whose
//!   status says this account owns what they recorded (`status.account`) —
//!   their Secret is broken for now, or gone. They take part as claims-only
//!   participants ([`SetInput::claims_only`]): what they own or have in flight
//!   stays theirs, nothing they merely declare is claimed.
//! - A member whose spec or status does not convert is planned around the
//!   same way ([`spec::salvage`]) and reported `InvalidSpec`.
//!
//! [`participants`] is pure, and shared with `tollfree-operator plan` (which
//! lays a pull request's manifests over the live sets); [`observe`] only
//! lays the journal over the pass's one read of the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use tollfree_plan::{SetId, SetInput};

use super::journal::Journal;
use crate::crd::{CONFIRM_INVENTORY_ANNOTATION, FORGET_MISSING_ANNOTATION, TollFreeNumberSet};
use crate::spec::{self, SpecError};

/// What one pass observed of the account's sets.
#[derive(Debug, Default)]
pub struct Observed {
    /// Every participant, parsed: members (planned for) and claims-only sets
    /// (planned around).
    pub sets: Vec<SetInput>,
    /// The members' objects as read (journal laid over), by set.
    pub objects: BTreeMap<SetId, Arc<TollFreeNumberSet>>,
    /// Members whose spec or status does not convert, and why.
    pub invalid: BTreeMap<SetId, SpecError>,
    /// Members gone from the store (deleted and released elsewhere).
    pub gone: Vec<SetId>,
    /// Listing sizes people confirmed (`tollfree.dev/confirm-inventory`).
    pub confirmed_counts: BTreeSet<usize>,
    /// The trusted count the members' statuses recorded, from the most
    /// recently synced one (the baseline after a restart).
    pub recorded_trusted_count: Option<usize>,
}

impl Observed {
    /// Whether `set` is a member this pass plans for (not claims-only).
    pub fn plans_for(&self, set: &SetId) -> bool {
        self.objects.contains_key(set) && !self.invalid.contains_key(set)
    }
}

/// When this worker first saw each member's current generation.
#[derive(Debug, Default)]
pub struct Generations(BTreeMap<SetId, (Option<i64>, Timestamp)>);

impl Generations {
    /// When `set`'s `generation` was first seen; recorded now if it is new.
    /// A generation the status already observed was seen by an earlier run of
    /// the operator: any listing of this run is newer.
    fn since(
        &mut self,
        set: &SetId,
        generation: Option<i64>,
        observed: Option<i64>,
        now: Timestamp,
    ) -> Timestamp {
        let first = if observed.is_some() && observed == generation {
            Timestamp::UNIX_EPOCH
        } else {
            now
        };
        let entry = self.0.entry(set.clone()).or_insert((generation, first));
        if entry.0 != generation {
            *entry = (generation, now);
        }
        entry.1
    }

    /// Forgets sets that are no longer members.
    pub fn retain(&mut self, members: &BTreeSet<SetId>) {
        self.0.retain(|id, _| members.contains(id));
    }
}

/// Reads the account's sets from `stored` (the controller's store, as read
/// once for the pass). `members` are the sets joined to the account;
/// `account` is the login's name as `status.account` records it.
pub fn observe(
    stored: &[Arc<TollFreeNumberSet>],
    journal: &Journal,
    members: &BTreeSet<SetId>,
    account: &str,
    generations: &mut Generations,
    now: Timestamp,
) -> Observed {
    let objects: Vec<Arc<TollFreeNumberSet>> =
        stored.iter().map(|obj| journal.overlay(obj)).collect();
    participants(&objects, members, account, generations, now)
}

/// The account's participants among `objects` — every set the caller sees,
/// each with its latest status (the worker lays its journal over the store;
/// `tollfree-operator plan` lays a pull request's manifests over the live
/// sets): `members` are planned for, the other sets whose `status.account`
/// is `account` are planned around (claims-only). Pure: the worker and
/// `plan` decide from the same objects the same way.
pub fn participants(
    objects: &[Arc<TollFreeNumberSet>],
    members: &BTreeSet<SetId>,
    account: &str,
    generations: &mut Generations,
    now: Timestamp,
) -> Observed {
    let mut out = Observed::default();
    let mut latest_sync: Option<(Timestamp, usize)> = None;
    let by_id: BTreeMap<SetId, &Arc<TollFreeNumberSet>> = objects
        .iter()
        .filter_map(|obj| spec::set_id(obj).ok().map(|id| (id, obj)))
        .collect();
    for id in members {
        let Some(obj) = by_id.get(id).map(|obj| Arc::clone(obj)) else {
            out.gone.push(id.clone());
            continue;
        };
        let status = obj.status.as_ref();
        if let Some(s) = status
            && s.account.as_deref().is_none_or(|a| a == account)
            && let (Some(t), Some(c)) = (s.last_sync_time, s.inventory_count)
            && latest_sync.is_none_or(|(at, _)| t > at)
        {
            latest_sync = Some((t, usize::try_from(c).unwrap_or(usize::MAX)));
        }
        let annotations = obj.metadata.annotations.as_ref();
        if let Some(count) = annotations
            .and_then(|a| a.get(CONFIRM_INVENTORY_ANNOTATION))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            out.confirmed_counts.insert(count);
        }
        // A status written for another login says nothing about this account.
        let foreign = status
            .and_then(|s| s.account.as_deref())
            .is_some_and(|a| a != account);
        let parsed = if foreign {
            let fresh = TollFreeNumberSet {
                metadata: obj.metadata.clone(),
                spec: obj.spec.clone(),
                status: None,
            };
            spec::set_input(&fresh, spec::approved_hash(&obj))
        } else {
            spec::set_input(&obj, spec::approved_hash(&obj))
        };
        match parsed {
            Ok(mut input) => {
                input.forget_missing = annotations
                    .and_then(|a| a.get(FORGET_MISSING_ANNOTATION))
                    .cloned();
                input.observed_since = generations.since(
                    id,
                    obj.metadata.generation,
                    status.and_then(|s| s.observed_generation),
                    now,
                );
                out.sets.push(input);
            }
            Err(e) => {
                if !foreign {
                    out.sets.extend(spec::salvage(&obj));
                }
                out.invalid.insert(id.clone(), e);
            }
        }
        out.objects.insert(id.clone(), obj);
    }
    out.recorded_trusted_count = latest_sync.map(|(_, c)| c);

    // Sets that cannot act now, whose recorded ownership is this account's.
    for (id, obj) in &by_id {
        if members.contains(id) {
            continue;
        }
        let ours = obj
            .status
            .as_ref()
            .and_then(|s| s.account.as_deref())
            .is_some_and(|a| a == account);
        if !ours {
            continue;
        }
        match spec::set_input(obj, None) {
            Ok(input) => out.sets.push(input.claims_only()),
            Err(_) => out.sets.extend(spec::salvage(obj)),
        }
    }
    out.sets.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
