//! Exclusive ownership across the sets of one account (docs/safety.md, rules 1–3).
//!
//! A set *claims* a number when it declares it, owns it (memory), or has an
//! intent about it. Claims have a strength: a set that still **wants** the
//! number (declares it, keeps it for an `acquire` request, or is buying it for
//! one) beats a set that merely **holds** it (owns it but it left its spec, or
//! the set is being deleted). Between equal strengths the older set wins
//! (`created`, then `namespace/name`).
//!
//! Consequences, each deliberate:
//! - Two sets declaring one number: the older keeps it, the other reports
//!   `Conflict` and leaves it alone.
//! - A number leaving one set's spec while another set declares it is *handed
//!   over*, never disconnected: the holder loses it from `memory.owned`, the
//!   declaring set adopts it.
//! - Inventory numbers nobody claims are indexed by package so that `acquire`
//!   requests adopt them (lowest first, oldest set first) before buying; the
//!   index answers filter queries with range scans, never with a scan of the
//!   whole inventory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use intelepeer::{E164, PackageId};

use crate::desired::Desired;
use crate::model::{IntentKind, Inventory, Match, PlanInput, SetInput, SetPlan};

/// How strongly a set claims a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Owned or in flight, but no longer wanted.
    Held,
    /// Declared, kept for an `acquire` request, or being bought for one.
    Wanted,
}

/// The winning claim on a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Index of the winning set in `PlanInput::sets`.
    pub set: usize,
    /// How strongly it claims the number.
    pub strength: Strength,
}

/// The winner of every claimed number.
///
/// Keyed by the number's integer form: hashing a `u64` is several times
/// cheaper than hashing its string, and this map holds every claim of the
/// account.
#[derive(Debug, Default)]
pub struct Claims {
    winners: HashMap<u64, Claim>,
    /// Every number some set records as owned (`memory.owned`), whoever wins it.
    recorded: HashSet<u64>,
}

impl Claims {
    /// Resolves all claims. `order` lists set indices oldest first.
    pub fn resolve(sets: &[SetInput], order: &[usize], wants: &[Desired<'_>]) -> Self {
        let mut claims = Claims::default();
        let capacity: usize = sets
            .iter()
            .zip(wants)
            .map(|(s, w)| w.declared.len() + s.memory.owned.len())
            .sum();
        claims.winners.reserve(capacity);
        for &i in order {
            let (set, want) = (&sets[i], &wants[i]);
            for n in want.declared.keys() {
                claims.claim(n, i, Strength::Wanted);
            }
            for n in kept_acquired(set, want) {
                claims.claim(n, i, Strength::Wanted);
            }
            for intent in &set.memory.intents {
                let for_acquire = intent.acquired
                    && matches!(intent.kind, IntentKind::Reserve | IntentKind::Purchase)
                    && intent
                        .package
                        .is_some_and(|p| want.acquires.contains_key(&p));
                let strength = if for_acquire {
                    Strength::Wanted
                } else {
                    Strength::Held
                };
                for n in &intent.numbers {
                    claims.claim(n, i, strength);
                }
            }
            for n in set.memory.owned.keys() {
                claims.claim(n, i, Strength::Held);
                claims.recorded.insert(n.as_u64());
            }
        }
        claims
    }

    fn claim(&mut self, n: &E164, set: usize, strength: Strength) {
        let entry = self
            .winners
            .entry(n.as_u64())
            .or_insert(Claim { set, strength });
        if entry.set == set {
            entry.strength = entry.strength.max(strength);
        } else if strength > entry.strength {
            // A younger set that wants the number beats an older one that only holds it.
            *entry = Claim { set, strength };
        }
    }

    /// Who won the number, if anyone claims it.
    pub fn winner(&self, n: &E164) -> Option<Claim> {
        self.winners.get(&n.as_u64()).copied()
    }

    /// Whether set `i` won the number.
    pub fn won_by(&self, n: &E164, i: usize) -> bool {
        self.winner(n).is_some_and(|c| c.set == i)
    }

    /// Whether any set claims the number.
    pub fn contains(&self, n: &E164) -> bool {
        self.winners.contains_key(&n.as_u64())
    }

    /// Whether some set records the number as owned (in the memory this plan
    /// was given). Such a number is never reserved in the same plan, even by
    /// a set that wins it: a listing that does not show it may be wrong, and
    /// its owner lets it go first.
    pub fn recorded_owned(&self, n: &E164) -> bool {
        self.recorded.contains(&n.as_u64())
    }
}

/// The owned acquired numbers a set keeps for its `acquire` requests, by the
/// same rule the diff applies (lowest numbers first, up to `count`), so that
/// ownership and the diff agree on what is still wanted.
fn kept_acquired<'a>(set: &'a SetInput, want: &Desired<'_>) -> Vec<&'a E164> {
    if want.acquires.is_empty() {
        return Vec::new();
    }
    let mut per_package: BTreeMap<PackageId, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for (n, o) in &set.memory.owned {
        if !o.acquired || want.declared.contains_key(n) {
            continue;
        }
        let Some(a) = want.acquires.get(&o.package) else {
            continue;
        };
        let taken = per_package.entry(o.package).or_default();
        if (*taken as u64) < u64::from(a.count) {
            *taken += 1;
            kept.push(n);
        }
    }
    kept
}

/// Inventory numbers no set claims, by package, for `acquire` adoption.
/// Only packages some set acquires into are indexed.
#[derive(Debug, Default)]
pub struct Unclaimed<'a> {
    by_package: HashMap<PackageId, BTreeMap<u64, &'a E164>>,
}

impl<'a> Unclaimed<'a> {
    /// Indexes the unclaimed numbers of the packages any set acquires into.
    pub fn index(inventory: &'a Inventory, claims: &Claims, wants: &[Desired<'_>]) -> Self {
        let packages: HashSet<PackageId> = wants
            .iter()
            .flat_map(|w| w.acquires.keys().copied())
            .collect();
        let mut pool = Unclaimed::default();
        if packages.is_empty() {
            return pool;
        }
        for (n, owned) in &inventory.numbers {
            if packages.contains(&owned.package) && !claims.contains(n) {
                pool.by_package
                    .entry(owned.package)
                    .or_default()
                    .insert(n.as_u64(), n);
            }
        }
        pool
    }

    /// Takes up to `need` unclaimed numbers of `package` matching `filter`,
    /// lowest first; for a sequential request only one contiguous run of
    /// exactly `need` numbers (or nothing).
    pub fn take(
        &mut self,
        package: PackageId,
        filter: &Match,
        sequential: bool,
        need: u64,
    ) -> Vec<E164> {
        let Some(numbers) = self.by_package.get_mut(&package) else {
            return Vec::new();
        };
        if need == 0 {
            return Vec::new();
        }
        let candidates = filter_ranges(filter)
            .into_iter()
            .flat_map(|(lo, hi)| numbers.range(lo..hi))
            .filter(|(_, n)| filter.matches(n));
        let chosen: Vec<(u64, &E164)> = if sequential {
            let mut run: Vec<(u64, &E164)> = Vec::new();
            for (&k, &n) in candidates {
                if run
                    .last()
                    .is_some_and(|&(last, _)| last.checked_add(1) != Some(k))
                {
                    run.clear();
                }
                run.push((k, n));
                if run.len() as u64 == need {
                    break;
                }
            }
            if run.len() as u64 == need {
                run
            } else {
                Vec::new()
            }
        } else {
            let limit = usize::try_from(need).unwrap_or(usize::MAX);
            candidates.take(limit).map(|(&k, &n)| (k, n)).collect()
        };
        for (k, _) in &chosen {
            numbers.remove(k);
        }
        chosen.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

/// The `as_u64` ranges (half-open, ascending, disjoint) that can hold numbers
/// matching `filter`. E.164 numbers all have eleven digits after `+`, so a
/// prefix is a contiguous integer range.
fn filter_ranges(filter: &Match) -> Vec<(u64, u64)> {
    match filter {
        Match::Npa(npas) => {
            let set: BTreeSet<u64> = npas.iter().map(|n| u64::from(n.get())).collect();
            set.into_iter()
                .map(|npa| {
                    let lo = (1_000 + npa) * 10_000_000;
                    (lo, lo + 10_000_000)
                })
                .collect()
        }
        Match::Like(prefix) => {
            if "+".starts_with(prefix.as_str()) {
                return vec![(0, u64::MAX)];
            }
            let Some(digits) = prefix.strip_prefix('+') else {
                return Vec::new();
            };
            if digits.len() > 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Vec::new();
            }
            let Ok(value) = digits.parse::<u64>() else {
                return Vec::new();
            };
            let scale = 10u64.pow(11 - digits.len() as u32);
            vec![(value * scale, (value + 1) * scale)]
        }
    }
}

/// Account numbers no set owns, declares or has in flight after this plan
/// (docs/safety.md, rule 2: counted, never touched).
pub fn count_unowned(inventory: &Inventory, wants: &[Desired<'_>], plans: &[SetPlan]) -> usize {
    let mut claimed: HashSet<u64> = HashSet::new();
    for want in wants {
        claimed.extend(want.declared.keys().map(|n| n.as_u64()));
    }
    for plan in plans {
        claimed.extend(plan.memory.owned.keys().map(E164::as_u64));
        claimed.extend(
            plan.memory
                .intents
                .iter()
                .flat_map(|i| &i.numbers)
                .map(E164::as_u64),
        );
    }
    inventory
        .numbers
        .keys()
        .filter(|n| !claimed.contains(&n.as_u64()))
        .count()
}

/// Every number some set of the account declares, owns or has in flight.
///
/// The executor of an `Acquire` action skips these when it picks numbers from
/// a pool search, so that one set never reserves a number another set wants.
pub fn claimed_numbers(input: &PlanInput) -> BTreeSet<E164> {
    let mut out = BTreeSet::new();
    for set in &input.sets {
        if !set.deleting {
            for spec in &set.packages {
                out.extend(spec.numbers.iter().cloned());
            }
        }
        out.extend(set.memory.owned.keys().cloned());
        for intent in &set.memory.intents {
            out.extend(intent.numbers.iter().cloned());
        }
    }
    out
}
