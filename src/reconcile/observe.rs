//! Observe: everything the planner needs about one set's vendor account.
//!
//! - the **account** named by the set's `accountRef` (a Secret in the set's own
//!   namespace, never another);
//! - **every set of the same vendor account** from the controller's reflector
//!   store, whatever its namespace: sets whose Secrets hold the same login
//!   ([`VendorIdentity`]) compete for the same numbers, so ownership (DESIGN.md
//!   §3.1) is decided across all of them. A set that cannot be planned *for*
//!   — its Secret cannot be read (its account is unknown) or its spec or
//!   status does not convert — is still planned *around*: it takes part in
//!   every account's plan as a claims-only participant
//!   ([`SetInput::claims_only`], [`spec::salvage`]), so that nothing it
//!   declares or owns counts as unowned (DESIGN.md §3.1–3.2);
//! - the account's **inventory** from the shared per-account cache: listed
//!   after the set's latest mutation (and young) when the set has orders in
//!   flight, else up to the resync interval old ([`inventory_freshness`]).
//!
//! Nothing here calls a vendor mutation or writes to Kubernetes.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;

use tollfree_plan::{Memory, SetId, SetInput};

use crate::accounts::{Account, VendorIdentity};
use crate::context::{Context, VendorClient};
use crate::crd::TollFreeNumberSet;
use crate::error::Error;
use crate::inventory::Snapshot;
use crate::spec::{self, SpecError};

/// How old an inventory snapshot may be while a set has orders in flight (or
/// is being deleted): a completed order should show within seconds.
pub const FRESH_INVENTORY: Duration = Duration::from_secs(2);

/// Resolves the vendor account of a set: its Secret, read from the set's own
/// namespace, and the account's shared client.
pub async fn account(
    ctx: &Context,
    namespace: &str,
    secret: &str,
) -> Result<Account<VendorClient>, Error> {
    ctx.account(namespace, secret).await
}

/// What inventory snapshot a set accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// How old it may be.
    pub max_age: Duration,
    /// Its listing must have started at or after this instant.
    pub not_before: Option<Timestamp>,
}

/// What inventory snapshot a set accepts.
///
/// - Orders in flight (purchase, move, disconnect intents): a listing that
///   **started after the set's latest mutation was sent** (`not_before`: the
///   latest such intent's `started`, or `sent_at` — when this process last saw
///   the set's mutations answered — if later; an intent's `started` is taken
///   before the listing of the reconcile that sent it), and at most
///   [`FRESH_INVENTORY`] old, so that polling sees the orders land.
/// - Being deleted: at most [`FRESH_INVENTORY`] old.
/// - Otherwise the resync interval (the cache never serves anything older),
///   even right after *other* sets of the account sent mutations. That is
///   safe because the planner does not learn about other sets' work from the
///   inventory: their intents and owned numbers are in their status memory,
///   which every plan reads. `tollfree_plan::claimed_numbers` and the
///   planner's ownership claims cover every number another set declares, owns
///   or has an intent about (reserve, purchase, move, disconnect), so a stale
///   listing can neither offer such a number for adoption nor let an
///   `Acquire` reserve it; and the vendor refuses to reserve a number that is
///   already reserved or owned. A number bought by another set that is not yet
///   listed is simply absent, which is what the previous listing said too.
///
/// A mere reservation needs no fresh listing (it never shows in the inventory).
pub fn inventory_freshness(
    memory: &Memory,
    deleting: bool,
    resync: Duration,
    sent_at: Option<Timestamp>,
) -> Freshness {
    let latest_order = memory
        .intents
        .iter()
        .filter(|i| i.kind != tollfree_plan::IntentKind::Reserve)
        .map(|i| i.started)
        .max();
    match latest_order {
        Some(started) => Freshness {
            max_age: FRESH_INVENTORY.min(resync),
            not_before: Some(sent_at.map_or(started, |s| s.max(started))),
        },
        None if deleting => Freshness {
            max_age: FRESH_INVENTORY.min(resync),
            not_before: None,
        },
        None => Freshness {
            max_age: resync,
            not_before: None,
        },
    }
}

/// The account's inventory from the shared cache.
pub async fn inventory(
    ctx: &Context,
    account: &Account<VendorClient>,
    freshness: Freshness,
) -> Result<Arc<Snapshot>, Error> {
    ctx.inventory
        .snapshot(account, freshness.max_age, freshness.not_before)
        .await
}

/// The sets of one vendor account, parsed for the planner, and the sets left out.
#[derive(Debug, Default)]
pub struct Peers {
    /// Sets of the account, other than the one being reconciled, and the
    /// claims-only participants.
    pub sets: Vec<SetInput>,
    /// Sets whose spec or status could not be parsed (planned around as
    /// claims-only participants, with what could be salvaged).
    pub skipped: Vec<(SetId, SpecError)>,
    /// Sets whose account is unknown (planned around as claims-only participants).
    pub unresolved: Vec<SetId>,
}

/// Picks, among `sets`, those whose Secret has the vendor identity `identity`
/// (as told by `identity_of(namespace, secret name)`), except `this`, and
/// parses them for the planner. Sets whose identity is unknown may be of the
/// account: they are claims-only participants, as are sets of the account (or
/// of an unknown one) that do not parse (with what [`spec::salvage`]
/// recovers). Sets of another known account are left out. Pure: the caller
/// resolves identities first.
pub fn select_peers<'a>(
    sets: impl IntoIterator<Item = &'a TollFreeNumberSet>,
    identity: &VendorIdentity,
    this: &SetId,
    identity_of: impl Fn(&str, &str) -> Option<VendorIdentity>,
) -> Peers {
    let mut peers = Peers::default();
    for obj in sets {
        let Ok(id) = spec::set_id(obj) else {
            continue;
        };
        if &id == this {
            continue;
        }
        let known = match identity_of(&id.namespace, &obj.spec.account_ref.name) {
            Some(other) if &other != identity => continue,
            Some(_) => true,
            None => false,
        };
        match spec::set_input(obj, spec::approved_hash(obj)) {
            Ok(input) if known => peers.sets.push(input),
            Ok(input) => {
                peers.sets.push(input.claims_only());
                peers.unresolved.push(id);
            }
            Err(e) => {
                peers.sets.extend(spec::salvage(obj));
                if !known {
                    peers.unresolved.push(id.clone());
                }
                peers.skipped.push((id, e));
            }
        }
    }
    peers.sets.sort_by(|a, b| a.id.cmp(&b.id));
    peers
}

/// How long a Secret that could not be read is not read again on behalf of
/// another set (its own set's reconciles still read it every time).
pub const UNRESOLVED_QUIET: Duration = Duration::from_secs(30);

/// Secrets of other sets that could not be read lately, so that a set with a
/// missing Secret does not cost every other reconcile a read.
#[derive(Debug, Default)]
pub struct Unresolved(Mutex<HashMap<(String, String), Instant>>);

impl Unresolved {
    fn recently_failed(&self, key: &(String, String)) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, at| at.elapsed() < UNRESOLVED_QUIET);
        map.contains_key(key)
    }

    fn failed(&self, key: (String, String)) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Instant::now());
    }
}

/// Every other set of the vendor account `identity`, from `sets` (the
/// controller's store, with the statuses this operator last wrote). A set
/// whose Secret was never resolved is resolved now (one read of its Secret,
/// then cached); a set whose Secret cannot be read is a claims-only
/// participant of every account.
pub async fn peers(
    ctx: &Context,
    unresolved: &Unresolved,
    sets: &[TollFreeNumberSet],
    identity: &VendorIdentity,
    this: &SetId,
) -> Peers {
    let unknown: BTreeSet<(String, String)> = sets
        .iter()
        .filter_map(|s| {
            let ns = s.metadata.namespace.clone()?;
            let secret = s.spec.account_ref.name.clone();
            ctx.accounts
                .cached_key(&ns, &secret)
                .is_none()
                .then_some((ns, secret))
        })
        .filter(|key| !unresolved.recently_failed(key))
        .collect();
    for (ns, secret) in unknown {
        if let Err(e) = ctx.account(&ns, &secret).await {
            tracing::debug!(namespace = %ns, secret = %secret, error = %e.report(), "a set's account cannot be resolved; its claims still count in every account's plan");
            unresolved.failed((ns, secret));
        }
    }
    let peers = select_peers(sets, identity, this, |ns, secret| {
        ctx.accounts
            .cached_key(ns, secret)
            .map(|k| k.identity().clone())
    });
    for (id, e) in &peers.skipped {
        tracing::warn!(set = %id, error = %e, "a set that may share the account cannot be planned; what it declares or owns is still claimed (its own reconcile reports why)");
    }
    peers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{set, set_id as id};
    use crate::reconcile::execute::new_intent;

    /// demo in `telecom` and `billing` (different Secret names), other in `lab`.
    fn identity_of(ns: &str, secret: &str) -> Option<VendorIdentity> {
        match (ns, secret) {
            ("telecom", "acct") | ("billing", "ip-login") => {
                Some(VendorIdentity::User("demo".into()))
            }
            ("lab", "acct") => Some(VendorIdentity::User("other".into())),
            _ => None,
        }
    }

    #[test]
    fn sets_sharing_a_login_are_one_account_across_namespaces() {
        let sets = [
            set("telecom", "a", "acct", "+18005550100"),
            set("billing", "b", "ip-login", "+18005550101"),
            set("lab", "c", "acct", "+18005550102"),
            set("telecom", "d", "missing", "+18005550103"),
        ];
        let demo = VendorIdentity::User("demo".into());
        let peers = select_peers(&sets, &demo, &id("telecom", "a"), identity_of);
        let ids: Vec<String> = peers.sets.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(
            ids,
            ["billing/b", "telecom/d"],
            "not itself, not another login; an unresolved set is planned around"
        );
        assert!(peers.skipped.is_empty());
        assert_eq!(peers.unresolved, [id("telecom", "d")]);
        let d = &peers.sets[1];
        assert!(d.suspend, "claims-only: never planned for");
        assert!(!peers.sets[0].suspend);
    }

    #[test]
    fn the_same_secret_name_in_another_namespace_is_another_account_unless_same_login() {
        let sets = [
            set("telecom", "a", "acct", "+18005550100"),
            set("lab", "c", "acct", "+18005550102"),
        ];
        let demo = VendorIdentity::User("demo".into());
        let peers = select_peers(&sets, &demo, &id("telecom", "x"), identity_of);
        let ids: Vec<String> = peers.sets.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(ids, ["telecom/a"]);
    }

    #[test]
    fn a_peer_that_cannot_be_parsed_is_skipped_and_named() {
        let bad = set("billing", "b", "ip-login", "+13035550100");
        let good = set("telecom", "a", "acct", "+18005550100");
        let demo = VendorIdentity::User("demo".into());
        let peers = select_peers([&bad, &good], &demo, &id("telecom", "z"), identity_of);
        assert_eq!(peers.sets.len(), 2, "the bad set is planned around");
        let salvaged = peers
            .sets
            .iter()
            .find(|s| s.id == id("billing", "b"))
            .expect("salvaged");
        assert!(salvaged.suspend && salvaged.packages.iter().all(|p| p.numbers.is_empty()));
        assert_eq!(peers.skipped.len(), 1);
        assert_eq!(peers.skipped[0].0, id("billing", "b"));
        assert!(
            peers.skipped[0].1.to_string().contains("+13035550100"),
            "{}",
            peers.skipped[0].1
        );
    }

    #[test]
    fn an_unparseable_peer_still_claims_what_parses_and_what_its_status_owns() {
        let mut bad = set("billing", "b", "missing", "+13035550100");
        bad.spec.packages[0].numbers.push("+18005550104".into());
        bad.status = Some(crate::crd::TollFreeNumberSetStatus {
            numbers: vec![
                crate::crd::NumberEntry {
                    number: "+18005550105".into(),
                    owned: true,
                    package_id: Some(30744),
                    ..Default::default()
                },
                crate::crd::NumberEntry {
                    number: "not a number".into(),
                    owned: true,
                    package_id: Some(30744),
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        let demo = VendorIdentity::User("demo".into());
        let peers = select_peers([&bad], &demo, &id("telecom", "z"), identity_of);
        assert_eq!(peers.unresolved, [id("billing", "b")]);
        assert_eq!(peers.skipped.len(), 1);
        let claimed: Vec<String> = peers.sets[0]
            .packages
            .iter()
            .flat_map(|p| p.numbers.iter().map(ToString::to_string))
            .collect();
        assert_eq!(claimed, ["+18005550104", "+18005550105"]);
    }

    #[test]
    fn in_flight_orders_ask_for_a_listing_started_after_their_mutation() {
        let resync = Duration::from_secs(300);
        let t = |s: &str| s.parse::<Timestamp>().expect("timestamp");
        let idle = Freshness {
            max_age: resync,
            not_before: None,
        };
        let mut memory = Memory::default();
        assert_eq!(inventory_freshness(&memory, false, resync, None), idle);
        assert_eq!(
            inventory_freshness(&memory, false, resync, Some(t("2025-01-01T00:00:09Z"))),
            idle,
            "a mutation without an order in flight asks for nothing"
        );
        assert_eq!(
            inventory_freshness(&memory, true, resync, None),
            Freshness {
                max_age: FRESH_INVENTORY,
                not_before: None
            }
        );
        memory.intents.push(new_intent(
            tollfree_plan::IntentKind::Reserve,
            vec![],
            None,
            t("2025-01-01T00:00:05Z"),
        ));
        assert_eq!(inventory_freshness(&memory, false, resync, None), idle);
        for (kind, started) in [
            (tollfree_plan::IntentKind::Move, "2025-01-01T00:00:01Z"),
            (tollfree_plan::IntentKind::Purchase, "2025-01-01T00:00:03Z"),
        ] {
            memory
                .intents
                .push(new_intent(kind, vec![], None, t(started)));
        }
        let fresh = |not_before: &str| Freshness {
            max_age: FRESH_INVENTORY,
            not_before: Some(t(not_before)),
        };
        assert_eq!(
            inventory_freshness(&memory, false, resync, None),
            fresh("2025-01-01T00:00:03Z"),
            "the latest order, not the reservation"
        );
        assert_eq!(
            inventory_freshness(&memory, false, resync, Some(t("2025-01-01T00:00:04Z"))),
            fresh("2025-01-01T00:00:04Z"),
            "the answer came after the intent was written"
        );
        assert_eq!(
            inventory_freshness(&memory, false, resync, Some(t("2025-01-01T00:00:02Z"))),
            fresh("2025-01-01T00:00:03Z")
        );
    }
}
