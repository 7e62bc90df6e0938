//! `plan()` over one account of 1,000 sets and 1,000 / 10,000 / 100,000
//! inventory numbers (about 100 declared numbers per set at the largest size).
//!
//! The account is a realistic steady state with some work in it: most numbers
//! are owned and in place, every 20th sits in the wrong package (move), every
//! 50th is missing (reserve), every 10th set has an acquire request that adopts
//! unclaimed numbers, every 7th set owns a number it no longer declares
//! (disconnect), pairs of sets collide on a number (conflict), and a few sets
//! have reservations and orders in flight.
//!
//! Run: `cargo bench -p tollfree-plan -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use intelepeer::{E164, Npa, OrderId, PackageId, ReservationId, TOLL_FREE_NPAS};
use jiff::{SignedDuration, Timestamp};
use tollfree_plan::*;

const SETS: usize = 1_000;
const NOW: Timestamp = Timestamp::constant(1_767_225_600, 0);

fn number(i: usize) -> E164 {
    let npa = TOLL_FREE_NPAS[(i / 10_000_000) % TOLL_FREE_NPAS.len()];
    E164::parse(&format!("+1{npa}{:07}", i % 10_000_000)).expect("bench number")
}

fn package(i: usize) -> PackageId {
    PackageId::new(1 + (i % 50) as u64).expect("bench package")
}

fn minutes(m: i64) -> Timestamp {
    NOW.checked_add(SignedDuration::from_mins(m)).expect("time")
}

/// An account with `size` inventory numbers across [`SETS`] sets.
fn account(size: usize) -> PlanInput {
    let per_set = (size * 9 / 10 / SETS).max(1);
    let mut inventory = Inventory {
        complete: true,
        taken_at: NOW,
        numbers: Default::default(),
        coverage: Coverage {
            full: Some(NOW),
            ..Coverage::default()
        },
    };
    let mut sets = Vec::with_capacity(SETS);
    let mut next = 0usize;
    for s in 0..SETS {
        let home = package(s);
        let mut declared = Vec::with_capacity(per_set);
        let mut memory = Memory::default();
        for k in 0..per_set {
            let n = number(next);
            next += 1;
            declared.push(n.clone());
            if next.is_multiple_of(50) {
                continue; // not in the account: reserve
            }
            let actual = if next.is_multiple_of(20) {
                package(s + 1)
            } else {
                home
            };
            inventory.numbers.insert(
                n.clone(),
                Owned {
                    package: actual,
                    order_id: Some(OrderId(k as u64)),
                },
            );
            memory.owned.insert(
                n,
                Ownership {
                    package: home,
                    acquired: false,
                },
            );
        }
        if s.is_multiple_of(7) {
            // Owned, no longer declared: disconnect.
            let n = number(next);
            next += 1;
            inventory.numbers.insert(
                n.clone(),
                Owned {
                    package: home,
                    order_id: None,
                },
            );
            memory.owned.insert(
                n,
                Ownership {
                    package: home,
                    acquired: false,
                },
            );
        }
        if s.is_multiple_of(13) && s > 0 {
            // Collides with the previous set's first number.
            declared.push(number(next - per_set - 2));
        }
        if s.is_multiple_of(11) {
            memory.intents.push(Intent {
                kind: IntentKind::Reserve,
                numbers: vec![declared[0].clone()],
                package: Some(home),
                reservation_id: Some(
                    ReservationId::parse(&format!("R-{s:08}")).expect("reservation id"),
                ),
                reserved_until: Some(minutes(20)),
                reference_id: None,
                order_id: None,
                acquired: false,
                started: minutes(-10),
                refused: None,
            });
        }
        if s.is_multiple_of(17) {
            memory.intents.push(Intent {
                kind: IntentKind::Purchase,
                numbers: vec![number(90_000_000 + s)],
                package: Some(home),
                reservation_id: None,
                reserved_until: None,
                reference_id: Some(format!("ref-{s}")),
                order_id: Some(OrderId(800_000 + s as u64)),
                acquired: false,
                started: minutes(-5),
                refused: None,
            });
        }
        let acquire = s.is_multiple_of(10).then(|| Acquire {
            count: 2,
            filter: Match::Npa(vec![Npa::new(800).expect("npa")]),
            sequential: false,
        });
        sets.push(SetInput {
            id: SetId {
                namespace: format!("team-{}", s % 20),
                name: format!("set-{s:04}"),
            },
            created: minutes(-(s as i64)),
            deleting: false,
            suspend: false,
            packages: vec![PackageSpec {
                package: home,
                numbers: declared,
                acquire,
            }],
            policy: Policy {
                purchase: Mode::Auto,
                r#move: Mode::Auto,
                disconnect: if s.is_multiple_of(2) {
                    Mode::Auto
                } else {
                    Mode::Approve
                },
            },
            grace: None,
            limits: Limits::default(),
            order_defaults: OrderDefaults::default(),
            approved_hash: None,
            forget_missing: None,
            observed_since: minutes(-60),
            memory,
        });
    }
    // The rest of the account: numbers no set claims (some get adopted).
    while inventory.numbers.len() < size {
        inventory.numbers.insert(
            number(next),
            Owned {
                package: package(next),
                order_id: None,
            },
        );
        next += 1;
    }
    PlanInput {
        now: NOW,
        sets,
        last_good_count: Some(inventory.numbers.len()),
        confirmed_count: None,
        inventory,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("account");
    group.sample_size(10);
    for size in [1_000usize, 10_000, 100_000] {
        let input = account(size);
        let plan = plan(&input);
        let actions: usize = plan.sets.iter().map(|s| s.actions.len()).sum();
        let held: usize = plan.sets.iter().map(|s| s.held.len()).sum();
        let lines: usize = plan.sets.iter().map(|s| s.numbers.len()).sum();
        println!(
            "account: {} inventory numbers, {} sets, {} declared; plan: {} actions, {} held, {} number lines, {} unowned",
            input.inventory.numbers.len(),
            input.sets.len(),
            input
                .sets
                .iter()
                .map(|s| s.packages.iter().map(|p| p.numbers.len()).sum::<usize>())
                .sum::<usize>(),
            actions,
            held,
            lines,
            plan.unowned,
        );
        group.throughput(Throughput::Elements(input.inventory.numbers.len() as u64));
        group.bench_with_input(BenchmarkId::new("plan", size), &input, |b, input| {
            b.iter(|| tollfree_plan::plan(black_box(input)))
        });
        // What one reconcile costs: the youngest set (it depends on every
        // older set with an acquire request).
        let youngest = input
            .sets
            .iter()
            .max_by_key(|s| (s.created, &s.id))
            .map(|s| s.id.clone())
            .expect("sets");
        group.bench_with_input(BenchmarkId::new("plan_one", size), &input, |b, input| {
            b.iter(|| tollfree_plan::plan_one(black_box(input), &youngest))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
