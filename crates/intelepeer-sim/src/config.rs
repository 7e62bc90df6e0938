//! How a simulator is set up: users, delays, lifetimes, the trial limit, the
//! account, the initial pool of purchasable numbers, faults and the state file.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::Faults;

/// The toll-free NPAs (area codes); the simulator's pool has numbers in each.
///
/// The client crate has the same list; the simulator keeps its own on purpose,
/// sharing no code with the client whose wire format it judges.
pub const TOLL_FREE_NPAS: [u16; 7] = [800, 833, 844, 855, 866, 877, 888];

/// Every toll-free number the vendor's reference uses in an example. A fresh
/// simulator has all of them in its pool, so each example can be replayed.
pub const EXAMPLE_NUMBERS: [&str; 8] = [
    "+18887293863",
    "+18887293864",
    "+18885551201",
    "+18885551202",
    "+18885550001",
    "+18885550002",
    "+18007293863",
    "+18003255821",
];

/// The length of each contiguous run of numbers in the generated pool, so that
/// sequential searches (`sequential=1&pageSize=20`) can be served.
const RUN_LENGTH: usize = 25;

/// The configuration of a [`crate::Simulator`].
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Accepted `(username, password)` pairs; all share the one account.
    pub users: Vec<(String, String)>,
    /// How long after it is placed an order completes.
    pub order_delay: Duration,
    /// How long a token from `POST /_rest/v4/authenticate` stays valid.
    pub token_ttl: Duration,
    /// How long a reservation holds its numbers.
    pub reservation_ttl: Duration,
    /// The trial seat limit: purchases are refused (402) beyond this many numbers.
    pub trial_seats: Option<u32>,
    /// The account ID reported in inventory records and orders.
    pub account_id: u64,
    /// How many numbers the initial pool holds in each toll-free NPA, in
    /// contiguous runs of 25 (the reference's example numbers come on top).
    pub pool_per_npa: usize,
    /// Faults active from the start (see [`Faults`]).
    pub faults: Faults,
    /// Where state is kept across restarts: loaded at start if the file exists,
    /// saved (atomically) after every mutation.
    pub state_file: Option<PathBuf>,
}

impl Default for SimConfig {
    /// User `demo` / `demo`, orders complete after 2 s, tokens last 24 h,
    /// reservations 30 min, no trial limit, account 1004318, 200 numbers per NPA.
    fn default() -> Self {
        Self {
            users: vec![("demo".to_owned(), "demo".to_owned())],
            order_delay: Duration::from_secs(2),
            token_ttl: Duration::from_secs(24 * 60 * 60),
            reservation_ttl: Duration::from_secs(30 * 60),
            trial_seats: None,
            account_id: 1_004_318,
            pool_per_npa: 200,
            faults: Faults::default(),
            state_file: None,
        }
    }
}

impl SimConfig {
    /// The numbers a fresh simulator can sell: `pool_per_npa` numbers in every
    /// toll-free NPA, in deterministic contiguous runs, plus [`EXAMPLE_NUMBERS`].
    pub fn initial_pool(&self) -> BTreeSet<String> {
        let mut pool: BTreeSet<String> = EXAMPLE_NUMBERS.iter().map(|n| (*n).to_owned()).collect();
        for (i, npa) in TOLL_FREE_NPAS.iter().enumerate() {
            let mut remaining = self.pool_per_npa;
            let mut run = 0usize;
            while remaining > 0 {
                let len = remaining.min(RUN_LENGTH);
                // Spread the runs over plausible exchanges (NXX: 200..=999) and
                // line numbers without any randomness, so every start is the same.
                let exchange = 200 + (run * 97 + i * 13) % 800;
                let first_line = 1000 + (run * 1237 + i * 311) % 8000;
                for line in first_line..first_line + len {
                    pool.insert(format!("+1{npa}{exchange:03}{line:04}"));
                }
                remaining -= len;
                run += 1;
            }
        }
        pool
    }
}

// Durations (flags, faults, the admin API) use the operator's one grammar:
// Go durations such as 500ms, 2s, 30m, 24h, 1h30m (see the go-duration crate).
pub use go_duration::{DurationError, format as format_duration, parse as parse_duration};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pool_covers_every_npa_examples_and_long_runs() {
        let pool = SimConfig::default().initial_pool();
        for example in EXAMPLE_NUMBERS {
            assert!(pool.contains(example), "{example} missing");
        }
        for npa in TOLL_FREE_NPAS {
            let prefix = format!("+1{npa}");
            assert!(pool.iter().filter(|n| n.starts_with(&prefix)).count() >= 200);
        }
        let values: Vec<u64> = pool.iter().filter_map(|n| n[1..].parse().ok()).collect();
        let longest = values
            .windows(2)
            .fold((1usize, 1usize), |(best, cur), w| {
                let cur = if w[1] == w[0] + 1 { cur + 1 } else { 1 };
                (best.max(cur), cur)
            })
            .0;
        assert!(longest >= 20, "longest run {longest}");
    }

    #[test]
    fn durations_parse_in_friendly_form() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-2s").is_err());
        assert_eq!(
            parse_duration(&format_duration(Duration::from_millis(1500))),
            Ok(Duration::from_millis(1500))
        );
    }
}
