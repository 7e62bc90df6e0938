//! `tollfree-operator simulator`: serve the IntelePeer API simulator (the
//! `intelepeer-sim` crate) for demos, local runs and end-to-end tests.
//!
//! Prints one line, `intelepeer simulator listening on http://ADDR`, once the
//! port is bound (so `--listen 127.0.0.1:0` tells which port it got), then
//! serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use go_duration::parse as parse_duration;
use intelepeer_sim::{Faults, SimConfig, Simulator, Tampering, UserSpec};
use tokio::net::TcpListener;

use crate::shutdown;
use crate::telemetry::{self, LogFormat};

/// Arguments of `simulator` (a stable contract: the README's command line).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulatorArgs {
    /// Where to listen; port 0 picks a free port (the printed URL says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,

    /// Accepted credentials, LOGIN:PASSWORD or LOGIN:PASSWORD@ACCOUNTID;
    /// repeat the flag or separate with commas (a,b:c@2002).
    ///
    /// Each login belongs to one account: the one after the last '@' when
    /// that is all digits, else the default --account-id. Logins of one
    /// account share its inventory, reservations, orders and trial seats; the
    /// pool of purchasable numbers is shared by all accounts. The password may
    /// contain ':' and '@' ("ops:p@ss" is in the default account); a password
    /// ending in '@' and digits needs its account written after it
    /// ("ops:pw@12@1004318").
    #[arg(
        long,
        value_name = "LOGIN:PASSWORD[@ACCOUNTID]",
        value_delimiter = ',',
        default_value = "demo:demo",
        value_parser = parse_user
    )]
    pub users: Vec<UserSpec>,

    /// How long after it is placed an order completes, e.g. 2s, 500ms, 0s.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub order_delay: Duration,

    /// How long a reservation holds its numbers.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub reservation_ttl: Duration,

    /// How long an authentication token stays valid.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Trial seat limit of every account: an account's purchases beyond it
    /// answer 402 (default: none).
    #[arg(long, value_name = "SEATS")]
    pub trial_seats: Option<u32>,

    /// The default account: of every login given without @ACCOUNTID, reported
    /// as accountID in its inventory records and orders.
    #[arg(long, value_name = "ID", default_value_t = SimConfig::default().account_id)]
    pub account_id: u64,

    /// Purchasable numbers per toll-free NPA in the initial pool.
    #[arg(long, value_name = "N", default_value_t = SimConfig::default().pool_per_npa)]
    pub pool_per_npa: usize,

    /// Keep state in this JSON file across restarts (loaded if present, saved
    /// after every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Faults to inject from the start, e.g.
    /// "latency=50ms,error-rate=0.1,fail-next=503:503,rate-limit-next=2,retry-after=1,drop-next=1,hang-next=1".
    #[arg(long, value_name = "SPEC", value_parser = parse_faults)]
    pub faults: Option<Faults>,

    /// Make GET /my/tf list badly from the start (the state stays true), e.g.
    /// "omit=+18005550100:+18005550101" (left out), "strip-plus=+18775550302"
    /// (listed as 18775550302), "duplicate=+18005550100@30745" (listed twice,
    /// the copy in package 30745), "empty=true" (no numbers), "endless=true"
    /// (hasMore forever, fresh synthetic records), "pad-to=1000000" with
    /// optional "pad-empty=true" and "pad-style=whitespace" (body padded to
    /// that many bytes), "has-more=false-on-full-page|true-on-short-page";
    /// "account=ID" limits it to one account. Changed at run time with
    /// PUT /_admin/tampering.
    #[arg(long, value_name = "SPEC", value_parser = parse_tampering)]
    pub tamper: Option<Tampering>,
}

impl SimulatorArgs {
    /// The simulator configuration these arguments describe.
    ///
    /// # Errors
    ///
    /// When `--users` gives one login two different accounts.
    pub fn config(&self) -> Result<SimConfig, intelepeer_sim::UserSpecError> {
        let mut config = SimConfig {
            order_delay: self.order_delay,
            token_ttl: self.token_ttl,
            reservation_ttl: self.reservation_ttl,
            trial_seats: self.trial_seats,
            account_id: self.account_id,
            pool_per_npa: self.pool_per_npa,
            faults: self.faults.clone().unwrap_or_default(),
            tampering: self.tamper.clone().unwrap_or_default(),
            state_file: self.state.clone(),
            ..SimConfig::default()
        };
        config.set_users(&self.users)?;
        Ok(config)
    }
}

/// `LOGIN:PASSWORD[@ACCOUNTID]` (see [`UserSpec`]).
fn parse_user(value: &str) -> Result<UserSpec, intelepeer_sim::UserSpecError> {
    value.parse()
}

fn parse_faults(value: &str) -> Result<Faults, intelepeer_sim::FaultsParseError> {
    value.parse()
}

fn parse_tampering(value: &str) -> Result<Tampering, intelepeer_sim::TamperingParseError> {
    value.parse()
}

/// Serves the simulator until SIGTERM / Ctrl-C.
pub async fn main(args: SimulatorArgs) -> ExitCode {
    if let Err(e) = telemetry::init(LogFormat::Text) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: SimulatorArgs) -> Result<(), String> {
    let config = args.config().map_err(|e| e.to_string())?;
    let sim = Simulator::try_new(config).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let users: Vec<String> = args
        .users
        .iter()
        .map(|user| format!("{}@{}", user.login, sim.config().account_of(&user.login)))
        .collect();
    tracing::info!(
        %addr,
        users = ?users,
        order_delay = %go_duration::format(args.order_delay),
        state = ?args.state,
        faults = %args.faults.clone().unwrap_or_default(),
        tampering = %args.tamper.clone().unwrap_or_default(),
        "simulator ready"
    );
    // The one line on stdout: scripts and tests read the URL from it.
    println!("intelepeer simulator listening on http://{addr}");
    sim.serve(listener, shutdown::termination())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulatorArgs,
    }

    fn config(args: &[&str]) -> Result<SimConfig, intelepeer_sim::UserSpecError> {
        Cli::try_parse_from(std::iter::once("simulator").chain(args.iter().copied()))
            .expect("arguments parse")
            .args
            .config()
    }

    fn user(login: &str, password: &str, account_id: Option<u64>) -> UserSpec {
        UserSpec {
            login: login.into(),
            password: password.into(),
            account_id,
        }
    }

    #[test]
    fn users_are_login_colon_password_with_an_optional_account() {
        assert_eq!(parse_user("demo:demo"), Ok(user("demo", "demo", None)));
        assert_eq!(parse_user("ops:a:b"), Ok(user("ops", "a:b", None)));
        assert_eq!(parse_user("bob:pw@2002"), Ok(user("bob", "pw", Some(2002))));
        for bad in ["demo", ":pw", "demo:", "", "bob:pw@0"] {
            assert!(parse_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn users_without_an_account_share_the_default_account() {
        let default = config(&[]).expect("config");
        assert_eq!(default.users, vec![("demo".to_owned(), "demo".to_owned())]);
        assert_eq!(default.account_of("demo"), 1_004_318);
        let two = config(&["--users", "a:b,c:d"]).expect("config");
        assert_eq!(two.account_of("a"), 1_004_318);
        assert_eq!(two.account_of("c"), 1_004_318);
        let mixed = config(&["--users", "a:b@7,c:d", "--account-id", "9"]).expect("config");
        assert_eq!(mixed.account_of("a"), 7);
        assert_eq!(mixed.account_of("c"), 9);
        assert!(config(&["--users", "a:b@7,a:c@8"]).is_err());
    }

    #[test]
    fn tamper_flag_sets_the_starting_tampering() {
        let config = config(&["--tamper", "omit=+18005550100,endless=true"]).expect("config");
        assert_eq!(
            config.tampering,
            Tampering::default()
                .omitting(["+18005550100"])
                .listing_endlessly()
        );
    }
}
