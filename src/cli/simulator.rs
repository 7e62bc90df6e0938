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
use intelepeer_sim::{Faults, SimConfig, Simulator};
use tokio::net::TcpListener;

use crate::shutdown;
use crate::telemetry::{self, LogFormat};

/// Arguments of `simulator` (DESIGN.md §5).
#[derive(Debug, Clone, clap::Args)]
pub struct SimulatorArgs {
    /// Where to listen; port 0 picks a free port (the printed URL says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,

    /// Accepted credentials, USER:PASSWORD; repeat the flag or separate with commas.
    #[arg(
        long,
        value_name = "USER:PASSWORD",
        value_delimiter = ',',
        default_value = "demo:demo",
        value_parser = parse_user
    )]
    pub users: Vec<(String, String)>,

    /// How long after it is placed an order completes, e.g. 2s, 500ms, 0s.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub order_delay: Duration,

    /// How long a reservation holds its numbers.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub reservation_ttl: Duration,

    /// How long an authentication token stays valid.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Trial account seat limit: purchases beyond it answer 402 (default: none).
    #[arg(long, value_name = "SEATS")]
    pub trial_seats: Option<u32>,

    /// The account ID reported in inventory records and orders.
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
}

impl SimulatorArgs {
    /// The simulator configuration these arguments describe.
    pub fn config(&self) -> SimConfig {
        SimConfig {
            users: self.users.clone(),
            order_delay: self.order_delay,
            token_ttl: self.token_ttl,
            reservation_ttl: self.reservation_ttl,
            trial_seats: self.trial_seats,
            account_id: self.account_id,
            pool_per_npa: self.pool_per_npa,
            faults: self.faults.clone().unwrap_or_default(),
            state_file: self.state.clone(),
        }
    }
}

/// `USER:PASSWORD` (the password may contain ':'; neither part may be empty).
fn parse_user(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok((user.to_owned(), password.to_owned()))
        }
        _ => Err(format!("'{value}' is not USER:PASSWORD (e.g. demo:demo)")),
    }
}

fn parse_faults(value: &str) -> Result<Faults, intelepeer_sim::FaultsParseError> {
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
    let config = args.config();
    let sim = Simulator::try_new(config).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let users: Vec<&str> = args.users.iter().map(|(user, _)| user.as_str()).collect();
    tracing::info!(
        %addr,
        users = ?users,
        order_delay = %go_duration::format(args.order_delay),
        state = ?args.state,
        faults = %args.faults.clone().unwrap_or_default(),
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

    #[test]
    fn users_are_user_colon_password() {
        assert_eq!(parse_user("demo:demo"), Ok(("demo".into(), "demo".into())));
        assert_eq!(parse_user("ops:a:b"), Ok(("ops".into(), "a:b".into())));
        for bad in ["demo", ":pw", "demo:", ""] {
            assert!(parse_user(bad).is_err(), "{bad}");
        }
    }
}
