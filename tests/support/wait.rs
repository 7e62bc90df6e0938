//! Polling with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(200);

/// Polls `check` until it returns `Some(value)` and returns the value; panics
/// naming `what` if `timeout` passes first.
///
/// ```ignore
/// let set = wait_for(Duration::from_secs(30), "set is Ready", || async {
///     let s = api.get("support-lines").await.ok()?;
///     is_ready(&s).then_some(s)
/// })
/// .await;
/// ```
#[track_caller]
pub fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> impl Future<Output = T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let caller = std::panic::Location::caller();
    let what = what.to_owned();
    async move {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for: {what} (at {caller})");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The blocking twin of [`wait_for`], for tests that only run commands.
#[track_caller]
pub fn wait_until<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        std::thread::sleep(POLL);
    }
}
