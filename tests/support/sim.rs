//! The IntelePeer simulator, in-process.

use std::sync::mpsc;
use std::thread::JoinHandle;

use intelepeer_sim::{SimConfig, Simulator};
use tokio::sync::oneshot;

/// A simulator serving on a loopback port, on its own thread and tokio runtime,
/// so that a test blocking its own runtime (`kubectl`, `std::thread::sleep`)
/// never stalls the vendor the operator is talking to. Stopped on drop.
#[derive(Debug)]
pub struct TestSim {
    url: String,
    sim: Simulator,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestSim {
    /// Starts a simulator with `SimConfig::default()` (user `demo` / `demo`,
    /// orders complete after 2 s).
    pub fn start() -> TestSim {
        TestSim::with_config(SimConfig::default())
    }

    /// Starts a simulator where `demo` / `demo` is in the default account
    /// (1004318) and each `(login, password, account)` of `users` in its own
    /// account: real tenant separation for multi-tenant tests. Seed and inspect
    /// an account with `sim().seed_inventory_in(account, ..)`,
    /// `sim().inventory_of(account)`, `sim().ledger_of(account)`.
    pub fn with_accounts(users: &[(&str, &str, u64)]) -> TestSim {
        let config = users.iter().fold(
            SimConfig::default(),
            |config, (login, password, account)| config.with_user(*login, *password, *account),
        );
        TestSim::with_config(config)
    }

    /// Starts a simulator with `config`.
    pub fn with_config(config: SimConfig) -> TestSim {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("intelepeer-sim".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the simulator");
                runtime.block_on(async move {
                    let running = match intelepeer_sim::spawn(config).await {
                        Ok(running) => running,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok((running.url(), running.sim().clone())));
                    let _ = stopped.await;
                    running.shutdown().await;
                });
            })
            .expect("spawning the simulator thread");
        let (url, sim) = ready_rx
            .recv()
            .expect("the simulator thread answers")
            .unwrap_or_else(|e| panic!("starting the simulator: {e}"));
        TestSim {
            url,
            sim,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (for `--intelepeer-url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The simulator's state, for setup and inspection (`ledger()`,
    /// `inventory()`, `seed_inventory()`, their per-account twins
    /// `ledger_of()`, `inventory_of()`, `seed_inventory_in()`,
    /// `request_counts()`, faults, listing tampering with `set_tampering()`...).
    pub fn sim(&self) -> &Simulator {
        &self.sim
    }
}

impl Drop for TestSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
