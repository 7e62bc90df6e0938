//! One stop signal for the whole process: SIGTERM / Ctrl-C, lost leadership,
//! or a test saying "stop" all end up as a [`StopSignal`] resolving.

use tokio::sync::watch;

/// Fires the stop signal. Dropping the trigger also stops every waiter, so a
/// task that owns it can never leave its signals hanging.
#[derive(Debug)]
pub struct StopTrigger(watch::Sender<bool>);

/// Resolves when the work should stop. Cheap to clone; every clone sees the same signal.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

/// A connected trigger and signal.
pub fn channel() -> (StopTrigger, StopSignal) {
    let (tx, rx) = watch::channel(false);
    (StopTrigger(tx), StopSignal(rx))
}

impl StopTrigger {
    /// Asks every holder of the signal to stop. Idempotent.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Another signal connected to this trigger.
    pub fn signal(&self) -> StopSignal {
        StopSignal(self.0.subscribe())
    }
}

impl StopSignal {
    /// A signal that never fires (for work that runs until it ends by itself).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so the signal never resolves.
        std::mem::forget(tx);
        StopSignal(rx)
    }

    /// Whether stop was requested (or the trigger was dropped).
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Waits until stop is requested or the trigger is dropped.
    pub async fn wait(mut self) {
        // `Err` means the trigger was dropped: that is a stop too.
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// Waits for SIGTERM (what Kubernetes sends) or Ctrl-C / SIGINT.
pub async fn termination() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_clone_sees_the_stop() {
        let (trigger, signal) = channel();
        let other = signal.clone();
        assert!(!signal.is_stopped());
        trigger.stop();
        assert!(signal.is_stopped());
        tokio::time::timeout(Duration::from_secs(1), other.wait())
            .await
            .expect("resolves");
        // Signals taken after the stop resolve at once.
        tokio::time::timeout(Duration::from_secs(1), trigger.signal().wait())
            .await
            .expect("resolves");
    }

    #[tokio::test]
    async fn dropping_the_trigger_stops() {
        let (trigger, signal) = channel();
        drop(trigger);
        assert!(signal.is_stopped());
        tokio::time::timeout(Duration::from_secs(1), signal.wait())
            .await
            .expect("resolves");
    }

    #[tokio::test]
    async fn never_does_not_fire() {
        let s = StopSignal::never();
        assert!(!s.is_stopped());
        assert!(
            tokio::time::timeout(Duration::from_millis(20), s.wait())
                .await
                .is_err()
        );
    }
}
