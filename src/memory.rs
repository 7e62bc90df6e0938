//! What a set remembers, both ways between its status and the planner's
//! [`Memory`]: owned numbers (with their package and whether they were
//! acquired), write-ahead intents, when numbers started leaving, which
//! numbers the vendor refused, which owned numbers a listing no longer
//! shows, and the size of the last trusted listing.
//!
//! - [`from_status`] reads it back (after a restart or a crash the status is
//!   the only record); a corrupt entry is a [`SpecError`] naming its path,
//!   e.g. `status.intents[0].reservationID`. [`salvage`] keeps what parses of
//!   a status that does not parse as a whole.
//! - [`number_entries`] and [`intent_records`] write it: the plan's number
//!   lines merged with the memory, one entry per number, and the intents.
//!
//! Round trip: `from_status(status written from memory M) == M` — the status
//! loses nothing the planner needs after a crash (tested below, also through
//! JSON and for any memory the planner can return).

use std::collections::BTreeMap;

use intelepeer::{E164, OrderId, PackageId, ReservationId};
use tollfree_plan as plan;
use tollfree_plan::Memory;

use crate::crd::{IntentKind, IntentRecord, NumberEntry, NumberState, TollFreeNumberSetStatus};
use crate::spec::SpecError;

// ---------------------------------------------------------------------------
// Status -> memory
// ---------------------------------------------------------------------------

/// Rebuilds what the set remembers from its status. No status, no memory.
pub fn from_status(status: Option<&TollFreeNumberSetStatus>) -> Result<Memory, SpecError> {
    let mut memory = Memory::default();
    let Some(status) = status else {
        return Ok(memory);
    };
    for (i, entry) in status.numbers.iter().enumerate() {
        let at = format!("status.numbers[{i}]");
        let number = E164::parse(&entry.number)
            .map_err(|e| SpecError::parse(format!("{at}.number"), &entry.number, e))?;
        if entry.owned {
            let (field, raw) = match entry.owned_package_id {
                Some(p) => ("ownedPackageID", Some(p)),
                None => ("packageID", entry.package_id),
            };
            let raw = raw.ok_or_else(|| {
                SpecError::new(
                    format!("{at}.packageID"),
                    "",
                    "is missing for an owned number",
                )
            })?;
            let package = PackageId::new(raw)
                .map_err(|e| SpecError::parse(format!("{at}.{field}"), raw, e))?;
            memory.owned.insert(
                number.clone(),
                plan::Ownership {
                    package,
                    acquired: entry.acquired,
                },
            );
        }
        if let Some(t) = entry.leaving_since {
            memory.leaving_since.insert(number.clone(), t);
        }
        if let Some(t) = entry.unavailable_since {
            memory.unavailable.insert(number.clone(), t);
        }
        if let Some(t) = entry.missing_since {
            memory.missing.insert(number, t);
        }
    }
    for (i, record) in status.intents.iter().enumerate() {
        memory
            .intents
            .push(intent(&format!("status.intents[{i}]"), record)?);
    }
    Ok(memory)
}

/// The owned numbers and intents of a status that does not convert as a
/// whole, each entry that parses on its own (for a set that is planned
/// around, never for: see `spec::salvage`).
pub fn salvage(status: Option<&TollFreeNumberSetStatus>) -> Memory {
    let mut memory = Memory::default();
    let Some(status) = status else {
        return memory;
    };
    for entry in status.numbers.iter().filter(|e| e.owned) {
        let package = entry
            .owned_package_id
            .or(entry.package_id)
            .and_then(|p| PackageId::new(p).ok());
        if let (Ok(number), Some(package)) = (E164::parse(&entry.number), package) {
            memory.owned.insert(
                number,
                plan::Ownership {
                    package,
                    acquired: entry.acquired,
                },
            );
        }
    }
    memory.intents = status
        .intents
        .iter()
        .filter_map(|r| intent("", r).ok())
        .collect();
    memory
}

/// One intent record; `at` is its field path.
fn intent(at: &str, record: &IntentRecord) -> Result<plan::Intent, SpecError> {
    let numbers = record
        .numbers
        .iter()
        .enumerate()
        .map(|(j, n)| {
            E164::parse(n).map_err(|e| SpecError::parse(format!("{at}.numbers[{j}]"), n, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let package = record
        .package_id
        .map(|p| PackageId::new(p).map_err(|e| SpecError::parse(format!("{at}.packageID"), p, e)))
        .transpose()?;
    let reservation_id = record
        .reservation_id
        .as_deref()
        .map(|r| {
            ReservationId::parse(r)
                .map_err(|e| SpecError::parse(format!("{at}.reservationID"), r, e))
        })
        .transpose()?;
    Ok(plan::Intent {
        kind: match record.kind {
            IntentKind::Reserve => plan::IntentKind::Reserve,
            IntentKind::Purchase => plan::IntentKind::Purchase,
            IntentKind::Move => plan::IntentKind::Move,
            IntentKind::Disconnect => plan::IntentKind::Disconnect,
        },
        numbers,
        package,
        reservation_id,
        reserved_until: record.reserved_until,
        reference_id: record.reference_id.clone(),
        order_id: record.order_id.map(OrderId),
        acquired: record.acquired,
        started: record.started,
        refused: record.refused_at,
    })
}

/// The size of the last inventory listing the operator trusted, from status.
pub fn last_good_count(status: Option<&TollFreeNumberSetStatus>) -> Option<usize> {
    status
        .and_then(|s| s.inventory_count)
        .and_then(|c| usize::try_from(c).ok())
}

// ---------------------------------------------------------------------------
// Memory -> status
// ---------------------------------------------------------------------------

/// `status.numbers`: the plan's number `lines` merged with `memory`, one
/// entry per number, sorted. A number owned in another package than its line
/// shows (a move in flight) records the owned one as `ownedPackageID`.
pub fn number_entries(lines: &[plan::NumberStatus], memory: &Memory) -> Vec<NumberEntry> {
    let mut entries: BTreeMap<&E164, NumberEntry> = BTreeMap::new();
    for line in lines {
        entries.insert(
            &line.number,
            NumberEntry {
                number: line.number.to_string(),
                package_id: Some(line.package.get()),
                state: Some(number_state(line.state)),
                order_id: line.order_id.map(|o| o.0),
                reservation_id: line.reservation_id.as_ref().map(|r| r.to_string()),
                reserved_until: line.reserved_until,
                message: line.message.clone(),
                ..NumberEntry::default()
            },
        );
    }
    let bare = |n: &E164| NumberEntry {
        number: n.to_string(),
        ..NumberEntry::default()
    };
    for (n, own) in &memory.owned {
        let e = entries.entry(n).or_insert_with(|| NumberEntry {
            package_id: Some(own.package.get()),
            ..bare(n)
        });
        e.owned = true;
        e.acquired = own.acquired;
        if e.package_id != Some(own.package.get()) {
            e.owned_package_id = Some(own.package.get());
        }
    }
    for (n, t) in &memory.leaving_since {
        entries.entry(n).or_insert_with(|| bare(n)).leaving_since = Some(*t);
    }
    for (n, t) in &memory.unavailable {
        entries
            .entry(n)
            .or_insert_with(|| bare(n))
            .unavailable_since = Some(*t);
    }
    for (n, t) in &memory.missing {
        entries.entry(n).or_insert_with(|| bare(n)).missing_since = Some(*t);
    }
    entries.into_values().collect()
}

fn number_state(s: plan::NumberState) -> NumberState {
    match s {
        plan::NumberState::Active => NumberState::Active,
        plan::NumberState::Reserved => NumberState::Reserved,
        plan::NumberState::Purchasing => NumberState::Purchasing,
        plan::NumberState::Moving => NumberState::Moving,
        plan::NumberState::PendingDisconnect => NumberState::PendingDisconnect,
        plan::NumberState::Disconnecting => NumberState::Disconnecting,
        plan::NumberState::Unavailable => NumberState::Unavailable,
        plan::NumberState::Conflict => NumberState::Conflict,
        plan::NumberState::Blocked => NumberState::Blocked,
        plan::NumberState::Missing => NumberState::Missing,
    }
}

/// `status.intents`: the write-ahead intents, in order.
pub fn intent_records(memory: &Memory) -> Vec<IntentRecord> {
    memory.intents.iter().map(intent_record).collect()
}

fn intent_record(i: &plan::Intent) -> IntentRecord {
    IntentRecord {
        kind: match i.kind {
            plan::IntentKind::Reserve => IntentKind::Reserve,
            plan::IntentKind::Purchase => IntentKind::Purchase,
            plan::IntentKind::Move => IntentKind::Move,
            plan::IntentKind::Disconnect => IntentKind::Disconnect,
        },
        numbers: i.numbers.iter().map(E164::to_string).collect(),
        package_id: i.package.map(PackageId::get),
        reservation_id: i.reservation_id.as_ref().map(|r| r.to_string()),
        reserved_until: i.reserved_until,
        reference_id: i.reference_id.clone(),
        order_id: i.order_id.map(|o| o.0),
        acquired: i.acquired,
        started: i.started,
        refused_at: i.refused,
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::fixtures::{busy_plan, example, n, status_of, ts};

    #[test]
    fn no_status_means_no_memory() {
        assert_eq!(from_status(None), Ok(Memory::default()));
        assert_eq!(
            from_status(Some(&TollFreeNumberSetStatus::default())),
            Ok(Memory::default())
        );
    }

    #[test]
    fn a_corrupt_status_is_reported_by_path() {
        let status = TollFreeNumberSetStatus {
            numbers: vec![NumberEntry {
                number: "+13035550100".into(),
                owned: true,
                package_id: Some(1),
                ..NumberEntry::default()
            }],
            ..TollFreeNumberSetStatus::default()
        };
        let err = from_status(Some(&status)).expect_err("corrupt");
        assert_eq!(err.path, "status.numbers[0].number");

        let status = TollFreeNumberSetStatus {
            numbers: vec![NumberEntry {
                number: "+18005550100".into(),
                owned: true,
                ..NumberEntry::default()
            }],
            ..TollFreeNumberSetStatus::default()
        };
        assert_eq!(
            from_status(Some(&status)).expect_err("corrupt").to_string(),
            "status.numbers[0].packageID: is missing for an owned number"
        );

        let status = TollFreeNumberSetStatus {
            intents: vec![IntentRecord {
                kind: IntentKind::Reserve,
                numbers: vec![],
                package_id: Some(1),
                reservation_id: Some("not a uuid".into()),
                reserved_until: None,
                reference_id: None,
                order_id: None,
                acquired: false,
                started: Timestamp::UNIX_EPOCH,
                refused_at: None,
            }],
            ..TollFreeNumberSetStatus::default()
        };
        assert_eq!(
            from_status(Some(&status)).expect_err("corrupt").path,
            "status.intents[0].reservationID"
        );
    }

    #[test]
    fn memory_round_trips_through_status_and_json() {
        let plan = busy_plan();
        let status = status_of(&plan, None);
        // Through the wire, as the reconciler will read it after a crash.
        let json = serde_json::to_string(&status).expect("serializes");
        let back: TollFreeNumberSetStatus = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, status);
        let mut set = example();
        set.status = Some(back);
        assert_eq!(
            crate::spec::set_input(&set, None).expect("valid").memory,
            plan.memory
        );
    }

    mod round_trip {
        //! Any memory the planner can return survives status and JSON.

        use super::*;
        use crate::fixtures::{pkg, rid};
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        fn number() -> impl Strategy<Value = E164> {
            (0..7usize, 0..10_000_000u32)
                .prop_map(|(i, rest)| n(&format!("+1{}{rest:07}", intelepeer::TOLL_FREE_NPAS[i])))
        }

        fn package() -> impl Strategy<Value = PackageId> {
            (1..5u64).prop_map(pkg)
        }

        fn time() -> impl Strategy<Value = Timestamp> {
            (1_700_000_000..1_900_000_000i64, 0..1_000_000_000i32)
                .prop_map(|(s, ns)| Timestamp::new(s, ns).expect("in range"))
        }

        fn intent() -> impl Strategy<Value = plan::Intent> {
            (
                prop_oneof![
                    Just(plan::IntentKind::Reserve),
                    Just(plan::IntentKind::Purchase),
                    Just(plan::IntentKind::Move),
                    Just(plan::IntentKind::Disconnect),
                ],
                vec(number(), 0..4),
                proptest::option::of(package()),
                proptest::option::of("[0-9A-F]{8}-[0-9A-F]{4}"),
                proptest::option::of(time()),
                proptest::option::of("[a-z0-9-]{0,12}"),
                proptest::option::of(1..u64::from(u32::MAX)),
                any::<bool>(),
                (time(), proptest::option::of(time())),
            )
                .prop_map(
                    |(
                        kind,
                        numbers,
                        package,
                        reservation,
                        reserved_until,
                        reference_id,
                        order,
                        acquired,
                        (started, refused),
                    )| {
                        plan::Intent {
                            kind,
                            numbers,
                            package,
                            reservation_id: reservation.as_deref().map(rid),
                            reserved_until,
                            reference_id,
                            order_id: order.map(OrderId),
                            acquired,
                            started,
                            refused,
                        }
                    },
                )
        }

        fn memory() -> impl Strategy<Value = Memory> {
            (
                btree_map(
                    number(),
                    (package(), any::<bool>())
                        .prop_map(|(package, acquired)| plan::Ownership { package, acquired }),
                    0..6,
                ),
                vec(intent(), 0..4),
                btree_map(number(), time(), 0..4),
                btree_map(number(), time(), 0..4),
                btree_map(number(), time(), 0..3),
            )
                .prop_map(|(owned, intents, leaving_since, unavailable, missing)| {
                    Memory {
                        owned,
                        intents,
                        leaving_since,
                        unavailable,
                        missing,
                    }
                })
        }

        /// Number lines, some for remembered numbers (in any package), some not.
        fn lines(memory: &Memory) -> impl Strategy<Value = Vec<plan::NumberStatus>> + use<> {
            let remembered: Vec<E164> = memory.owned.keys().cloned().collect();
            (
                proptest::sample::subsequence(remembered.clone(), 0..=remembered.len()),
                vec(number(), 0..4),
                package(),
            )
                .prop_map(|(some, others, package)| {
                    some.into_iter()
                        .chain(others)
                        .map(|number| plan::NumberStatus {
                            number,
                            package,
                            state: plan::NumberState::Active,
                            order_id: None,
                            reservation_id: None,
                            reserved_until: None,
                            message: String::new(),
                        })
                        .collect()
                })
        }

        proptest! {
            #[test]
            fn memory_survives_status_and_json(
                (memory, lines) in memory().prop_flat_map(|m| (Just(m.clone()), lines(&m)))
            ) {
                let mut plan = busy_plan();
                plan.memory = memory;
                plan.numbers = lines;
                let status = status_of(&plan, None);
                let json = serde_json::to_vec(&status).expect("serializes");
                let back: TollFreeNumberSetStatus =
                    serde_json::from_slice(&json).expect("deserializes");
                prop_assert_eq!(&back, &status);
                prop_assert_eq!(from_status(Some(&back)).expect("parses"), plan.memory);
            }
        }
    }

    #[test]
    fn an_empty_memory_round_trips_too() {
        let mut plan = busy_plan();
        plan.memory = Memory::default();
        let status = status_of(&plan, None);
        assert_eq!(from_status(Some(&status)), Ok(Memory::default()));
    }

    #[test]
    fn number_entries_merge_lines_with_memory() {
        let status = status_of(&busy_plan(), None);
        let by_number: BTreeMap<&str, &NumberEntry> = status
            .numbers
            .iter()
            .map(|e| (e.number.as_str(), e))
            .collect();
        let numbers: Vec<&str> = by_number.keys().copied().collect();
        assert_eq!(
            numbers,
            status
                .numbers
                .iter()
                .map(|e| e.number.as_str())
                .collect::<Vec<_>>(),
            "sorted by number"
        );

        let moving = by_number["+18003255821"];
        assert_eq!(moving.state, Some(NumberState::Moving));
        assert_eq!(moving.package_id, Some(30744));
        assert!(moving.owned);
        assert_eq!(moving.owned_package_id, Some(11111));

        let active = by_number["+18007293863"];
        assert_eq!(active.state, Some(NumberState::Active));
        assert!(active.owned && !active.acquired);
        assert_eq!(active.owned_package_id, None);

        let leaving = by_number["+18335550199"];
        assert_eq!(leaving.state, None, "remembered only");
        assert_eq!(leaving.package_id, Some(30744));
        assert!(leaving.owned && leaving.acquired);
        assert_eq!(leaving.leaving_since, Some(ts("2026-02-28T00:00:00.5Z")));

        let unavailable = by_number["+18445550123"];
        assert_eq!(unavailable.state, Some(NumberState::Unavailable));
        assert!(!unavailable.owned);
        assert_eq!(
            unavailable.unavailable_since,
            Some(ts("2026-03-01T11:00:00Z"))
        );

        let purchasing = by_number["+18885550101"];
        assert_eq!(purchasing.order_id, Some(9001));
        assert_eq!(
            purchasing.reservation_id.as_deref(),
            Some("F78793B1-7E84-11E6-B908-52540029234D")
        );
        assert_eq!(purchasing.reserved_until, Some(ts("2026-03-01T12:30:00Z")));
        assert_eq!(purchasing.message, "Purchasing");
    }
}
