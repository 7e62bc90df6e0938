//! How a simulator is set up: users and their accounts, delays, lifetimes, the
//! trial limit, the default account, the initial pool of purchasable numbers,
//! faults, listing tampering and the state file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::{Faults, Tampering};

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
    /// Accepted `(username, password)` pairs. A user's account is given by
    /// [`SimConfig::user_accounts`]; users not named there share
    /// [`SimConfig::account_id`].
    pub users: Vec<(String, String)>,
    /// The account of each login that does not use the default account
    /// (login → account ID). A login missing here is in `account_id`.
    pub user_accounts: BTreeMap<String, u64>,
    /// How long after it is placed an order completes.
    pub order_delay: Duration,
    /// How long a token from `POST /_rest/v4/authenticate` stays valid.
    pub token_ttl: Duration,
    /// How long a reservation holds its numbers.
    pub reservation_ttl: Duration,
    /// The trial seat limit of every account: an account's purchases are
    /// refused (402) beyond this many of its own numbers (owned or being bought).
    pub trial_seats: Option<u32>,
    /// The default account: the account of every user without one of its own
    /// in `user_accounts`, the account the single-account library calls
    /// ([`crate::Simulator::inventory`], [`crate::Simulator::seed_inventory`])
    /// act on, and the account of everything in a state file written before
    /// the simulator had accounts.
    pub account_id: u64,
    /// How many numbers the initial pool holds in each toll-free NPA, in
    /// contiguous runs of 25 (the reference's example numbers come on top).
    pub pool_per_npa: usize,
    /// Faults active from the start (see [`Faults`]).
    pub faults: Faults,
    /// Listing tampering active from the start (see [`Tampering`]).
    pub tampering: Tampering,
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
            user_accounts: BTreeMap::new(),
            order_delay: Duration::from_secs(2),
            token_ttl: Duration::from_secs(24 * 60 * 60),
            reservation_ttl: Duration::from_secs(30 * 60),
            trial_seats: None,
            account_id: 1_004_318,
            pool_per_npa: 200,
            faults: Faults::default(),
            tampering: Tampering::default(),
            state_file: None,
        }
    }
}

impl SimConfig {
    /// Adds a user whose login is in `account_id` (a test's second tenant:
    /// `SimConfig::default().with_user("bob", "pw", 2002)`). Adding a login
    /// again adds another accepted password and moves the login to the new
    /// account.
    #[must_use]
    pub fn with_user(
        mut self,
        login: impl Into<String>,
        password: impl Into<String>,
        account_id: u64,
    ) -> Self {
        let login = login.into();
        self.users.push((login.clone(), password.into()));
        self.user_accounts.insert(login, account_id);
        self
    }

    /// The account a login belongs to: its entry in `user_accounts`, or the
    /// default `account_id`.
    pub fn account_of(&self, login: &str) -> u64 {
        self.user_accounts
            .get(login)
            .copied()
            .unwrap_or(self.account_id)
    }

    /// Every account some user belongs to, the default one included.
    pub fn accounts(&self) -> BTreeSet<u64> {
        let mut accounts: BTreeSet<u64> = self
            .users
            .iter()
            .map(|(login, _)| self.account_of(login))
            .collect();
        accounts.insert(self.account_id);
        accounts
    }

    /// Sets the users from `login:password[@ACCOUNTID]` specifications (see
    /// [`UserSpec`]), replacing `users` and `user_accounts`. Users without an
    /// account are in the default `account_id`.
    ///
    /// # Errors
    ///
    /// When one login is given two different explicit accounts.
    pub fn set_users(&mut self, specs: &[UserSpec]) -> Result<(), UserSpecError> {
        let mut accounts: BTreeMap<String, u64> = BTreeMap::new();
        for spec in specs {
            if let Some(account) = spec.account_id {
                match accounts.insert(spec.login.clone(), account) {
                    Some(other) if other != account => {
                        return Err(UserSpecError::TwoAccounts {
                            login: spec.login.clone(),
                            first: other,
                            second: account,
                        });
                    }
                    _ => {}
                }
            }
        }
        self.users = specs
            .iter()
            .map(|s| (s.login.clone(), s.password.clone()))
            .collect();
        self.user_accounts = accounts;
        Ok(())
    }

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

/// One accepted user as written on the command line:
/// `LOGIN:PASSWORD` or `LOGIN:PASSWORD@ACCOUNTID`.
///
/// The login ends at the first `:`; the password may hold `:` and `@`. An
/// account is read only from a last `@` followed by digits alone, so
/// `ops:p@ss` is the password `p@ss` in the default account, `ops:pw@2002` the
/// password `pw` in account 2002, and a password that itself ends in
/// `@digits` is written with its account after it (`ops:pw@12@1004318`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    /// The `username` to authenticate with; not empty.
    pub login: String,
    /// The `password`; not empty.
    pub password: String,
    /// The account (greater than 0), or `None` for the default account.
    pub account_id: Option<u64>,
}

/// Why a user specification could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSpecError {
    /// No `:` between login and password, or one of them empty.
    #[error(
        "'{0}' is not LOGIN:PASSWORD or LOGIN:PASSWORD@ACCOUNTID (e.g. demo:demo or bob:s3cret@2002)"
    )]
    Malformed(String),
    /// An account ID that is 0 or too large.
    #[error("'{0}': the account ID must be a whole number from 1 to 18446744073709551615")]
    BadAccount(String),
    /// One login given two accounts.
    #[error("user '{login}' is given two accounts, {first} and {second}: a login has one account")]
    TwoAccounts {
        /// The login.
        login: String,
        /// The account given first.
        first: u64,
        /// The other account.
        second: u64,
    },
}

impl FromStr for UserSpec {
    type Err = UserSpecError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let malformed = || UserSpecError::Malformed(value.to_owned());
        let (login, rest) = value.split_once(':').ok_or_else(malformed)?;
        let (password, account_id) = match rest.rsplit_once('@') {
            Some((password, digits))
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let account = digits
                    .parse::<u64>()
                    .ok()
                    .filter(|a| *a > 0)
                    .ok_or_else(|| UserSpecError::BadAccount(value.to_owned()))?;
                (password, Some(account))
            }
            _ => (rest, None),
        };
        if login.is_empty() || password.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            login: login.to_owned(),
            password: password.to_owned(),
            account_id,
        })
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
    fn user_specs_take_an_optional_account_after_the_last_at() {
        let spec = |s: &str| s.parse::<UserSpec>();
        let user = |login: &str, password: &str, account_id| UserSpec {
            login: login.to_owned(),
            password: password.to_owned(),
            account_id,
        };
        assert_eq!(spec("demo:demo"), Ok(user("demo", "demo", None)));
        assert_eq!(spec("ops:a:b"), Ok(user("ops", "a:b", None)));
        assert_eq!(spec("bob:pw@2002"), Ok(user("bob", "pw", Some(2002))));
        assert_eq!(spec("bob:p@ss"), Ok(user("bob", "p@ss", None)));
        assert_eq!(spec("bob:pw@12@7"), Ok(user("bob", "pw@12", Some(7))));
        assert_eq!(spec("bob:pw@"), Ok(user("bob", "pw@", None)));
        for bad in ["demo", ":pw", "demo:", "", "demo:@5"] {
            assert!(
                matches!(spec(bad), Err(UserSpecError::Malformed(_))),
                "{bad}"
            );
        }
        for bad in ["bob:pw@0", "bob:pw@99999999999999999999999"] {
            assert!(
                matches!(spec(bad), Err(UserSpecError::BadAccount(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn users_without_an_account_share_the_default_one() {
        let mut config = SimConfig::default();
        let specs: Vec<UserSpec> = ["a:b", "c:d@2002", "e:f@2002"]
            .iter()
            .map(|s| s.parse().expect("spec"))
            .collect();
        config.set_users(&specs).expect("no conflict");
        assert_eq!(config.account_of("a"), 1_004_318);
        assert_eq!(config.account_of("c"), 2002);
        assert_eq!(config.account_of("e"), 2002);
        assert_eq!(config.accounts(), BTreeSet::from([2002, 1_004_318]));
        let twice: Vec<UserSpec> = ["a:b@1", "a:c@2"]
            .iter()
            .map(|s| s.parse().expect("spec"))
            .collect();
        assert!(matches!(
            config.set_users(&twice),
            Err(UserSpecError::TwoAccounts { .. })
        ));
        let config = SimConfig::default().with_user("bob", "pw", 7);
        assert_eq!(config.account_of("demo"), 1_004_318);
        assert_eq!(config.account_of("bob"), 7);
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
