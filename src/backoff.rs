//! When to try again after a failure: 5 s doubling to 5 min (or the vendor's
//! `Retry-After` if longer), reset by a success — for a set the router could
//! not route (its Secret), and for an account whose worker failed (the
//! vendor). No hot loop on bad credentials, a 402 or an unreachable vendor.
//!
//! A set's backoff window holds only while nothing a person changed: every
//! watch event triggers a reconcile, including the operator's own status
//! write of the failure, and a failure whose message changes each time (a
//! 429's "retry after N s") must not retry at the vendor's answer rate; but a
//! change of the set's spec, annotations or deletion ([`Trigger`]) reacts at
//! once.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::time::Instant;
use tollfree_plan::SetId;

use crate::crd::TollFreeNumberSet;

/// The first backoff after a failure.
pub const BACKOFF_START: Duration = Duration::from_secs(5);
/// The longest backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The backoff after the `failures`-th failure in a row (1-based): 5 s, 10 s,
/// 20 s, ... at most 5 min.
pub fn backoff_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_START
        .saturating_mul(1u32 << doublings)
        .min(BACKOFF_MAX)
}

/// What a person can change on a set to make it try again at once: its spec
/// (generation), its annotations (approval, confirmations) and its deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// A hash of `metadata.annotations`.
    pub annotations: u64,
    /// Whether the set is being deleted.
    pub deleting: bool,
}

impl Trigger {
    /// The trigger of `obj`.
    pub fn of(obj: &TollFreeNumberSet) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        obj.metadata.annotations.hash(&mut h);
        Self {
            generation: obj.metadata.generation,
            annotations: h.finish(),
            deleting: obj.metadata.deletion_timestamp.is_some(),
        }
    }
}

/// Failures in a row and the window of the latest one.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    count: u32,
    until: Option<Instant>,
}

impl Backoff {
    /// Counts a failure; returns how long to back off (the doubling delay, or
    /// `retry_after` if longer).
    pub fn failed(&mut self, retry_after: Option<Duration>) -> Duration {
        self.count = self.count.saturating_add(1);
        let delay = backoff_delay(self.count).max(retry_after.unwrap_or_default());
        self.until = Some(Instant::now() + delay);
        delay
    }

    /// Resets after a success.
    pub fn succeeded(&mut self) {
        *self = Backoff::default();
    }

    /// Until when the latest failure backs off, if it still does.
    pub fn until(&self) -> Option<Instant> {
        self.until.filter(|u| *u > Instant::now())
    }
}

/// Per-set backoff windows of the router.
#[derive(Debug, Default)]
pub struct SetBackoffs(std::sync::Mutex<HashMap<SetId, (Backoff, Trigger)>>);

impl SetBackoffs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SetId, (Backoff, Trigger)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a failure of `set` (seen as `trigger`); returns the delay.
    pub fn failed(&self, set: &SetId, trigger: Trigger, retry_after: Option<Duration>) -> Duration {
        let mut map = self.lock();
        let entry = map
            .entry(set.clone())
            .or_insert_with(|| (Backoff::default(), trigger.clone()));
        entry.1 = trigger;
        entry.0.failed(retry_after)
    }

    /// The time `set` must still wait, if it is inside its window and nothing
    /// a person changed since the failure.
    pub fn remaining(&self, set: &SetId, now: &Trigger) -> Option<Duration> {
        let map = self.lock();
        let (backoff, failed_on) = map.get(set)?;
        if failed_on != now {
            return None;
        }
        backoff
            .until()
            .map(|u| u.saturating_duration_since(Instant::now()))
    }

    /// Forgets the failures of `set` (a success, or the set is gone).
    pub fn succeeded(&self, set: &SetId) {
        self.lock().remove(set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_to_five_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff_delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff_delay(0).as_secs(), 5);
        assert_eq!(backoff_delay(u32::MAX), BACKOFF_MAX);
    }

    fn set() -> TollFreeNumberSet {
        crate::fixtures::set("a", "one", "acct", "+18885550100")
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_holds_until_it_ends_or_a_person_changes_something() {
        let backoffs = SetBackoffs::default();
        let id = crate::fixtures::set_id("a", "one");
        let obj = set();
        let failed_on = Trigger::of(&obj);
        assert_eq!(backoffs.remaining(&id, &failed_on), None, "no failure yet");
        assert_eq!(backoffs.failed(&id, failed_on.clone(), None), BACKOFF_START);
        assert_eq!(backoffs.remaining(&id, &failed_on), Some(BACKOFF_START));
        // Our own status write (same generation and annotations): wait.
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            backoffs.remaining(&id, &failed_on),
            Some(Duration::from_secs(3))
        );
        // What a person changes reacts at once.
        let mut spec = obj.clone();
        spec.metadata.generation = Some(2);
        let mut approved = obj.clone();
        approved.metadata.annotations = Some(
            [("tollfree.dev/approve".to_owned(), "abc".to_owned())]
                .into_iter()
                .collect(),
        );
        let mut deleted = obj.clone();
        deleted.metadata.deletion_timestamp = Some(
            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::UNIX_EPOCH),
        );
        for (what, changed) in [
            ("spec", spec),
            ("approval", approved),
            ("deletion", deleted),
        ] {
            assert_eq!(
                backoffs.remaining(&id, &Trigger::of(&changed)),
                None,
                "{what}"
            );
        }
        // A longer Retry-After wins; the count is kept.
        assert_eq!(
            backoffs.failed(&id, failed_on.clone(), Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
        assert_eq!(
            backoffs.failed(&id, failed_on.clone(), None),
            BACKOFF_START * 4
        );
        tokio::time::advance(BACKOFF_START * 4).await;
        assert_eq!(
            backoffs.remaining(&id, &failed_on),
            None,
            "the window is over"
        );
        backoffs.succeeded(&id);
        assert_eq!(
            backoffs.failed(&id, failed_on, None),
            BACKOFF_START,
            "reset"
        );
    }
}
