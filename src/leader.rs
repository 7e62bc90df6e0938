//! Leader election on a `coordination.k8s.io/v1` Lease (`--leader-elect`).
//!
//! kube 5 has no elector, so this is a small one in the style of client-go's:
//!
//! - A candidate reads the Lease and acquires it when it is free (no holder —
//!   a leader that shut down cleanly releases it) or expired. Expiry is judged
//!   on the *local* monotonic clock: the record must stay unchanged for its
//!   `leaseDurationSeconds` while we watch it, so clock skew between nodes
//!   cannot make two replicas leaders.
//! - Every write is a `replace` guarded by the `resourceVersion` just read (a
//!   create when the Lease does not exist): of two candidates, the API server
//!   lets exactly one win and answers the other 409 Conflict.
//! - The leader renews every 5 s. If it cannot renew for the renew deadline
//!   (10 s, shorter than the 15 s lease), it stops its work and
//!   [`run_as_leader`] returns [`StartError::LeadershipLost`]: the process exits and
//!   restarts as a standby. A standby polls every 2 s.
//! - On shutdown the leader stops its work (renewing meanwhile, so no standby
//!   starts while vendor calls are still in flight), then releases the Lease
//!   (no holder, 1 s duration) so a standby takes over at its next poll.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::time::Instant;

use crate::error::StartError;
use crate::metrics::Metrics;
use crate::server::Readiness;
use crate::shutdown::{self, StopSignal};

/// The Lease's name.
pub const LEASE_NAME: &str = "tollfree-operator";
/// The namespace used when neither the flag, `POD_NAMESPACE` nor the service
/// account's namespace file says otherwise.
pub const DEFAULT_NAMESPACE: &str = "tollfree-system";
/// Where Kubernetes mounts the pod's namespace.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Leader election settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderConfig {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity (written as `holderIdentity`).
    pub identity: String,
    /// How long a lease is valid without renewal (15 s).
    pub lease_duration: Duration,
    /// How often the leader renews (5 s).
    pub renew_interval: Duration,
    /// The leader gives up when it could not renew for this long (10 s).
    pub renew_deadline: Duration,
    /// How often a standby retries (2 s).
    pub retry_interval: Duration,
}

impl LeaderConfig {
    /// The defaults (15 s lease, renew every 5 s, give up after 10 s, standby
    /// polls every 2 s) for `identity` in `namespace`.
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            lease_name: LEASE_NAME.to_owned(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_interval: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
            retry_interval: Duration::from_secs(2),
        }
    }

    fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// This replica's identity: `POD_NAME` when set (the Deployment injects it),
/// else the host name plus a random suffix, so two local processes differ.
pub fn default_identity() -> String {
    identity_from(
        std::env::var("POD_NAME").ok(),
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok()),
    )
}

fn identity_from(pod_name: Option<String>, hostname: Option<String>) -> String {
    if let Some(pod) = pod_name
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
    {
        return pod;
    }
    let host = hostname
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tollfree-operator".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}", &suffix[..8])
}

/// The Lease's namespace: the flag if given, else `POD_NAMESPACE` (the flag
/// reads it through clap's `env`), else the service account's namespace file,
/// else [`DEFAULT_NAMESPACE`].
pub fn resolve_namespace(flag: Option<&str>) -> String {
    namespace_from(
        flag,
        std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE_FILE).ok(),
    )
}

fn namespace_from(flag: Option<&str>, service_account_file: Option<String>) -> String {
    flag.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            service_account_file
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
}

/// What a candidate should do about the Lease it just read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Free or expired: try to take it.
    Acquire,
    /// Someone else holds it.
    Wait {
        /// The current holder.
        holder: String,
        /// How long until it expires unless renewed.
        remaining: Duration,
    },
}

/// Decides about a Lease held by `holder` whose record has not changed since
/// `unchanged_since` (local monotonic clock), given the holder's declared
/// `lease_duration`. Pure, so the rules are tested without a cluster.
pub fn decide(
    holder: Option<&str>,
    identity: &str,
    lease_duration: Duration,
    unchanged_since: Instant,
    now: Instant,
) -> Decision {
    match holder {
        Some(h) if h == identity => Decision::Renew,
        None => Decision::Acquire,
        Some("") => Decision::Acquire,
        Some(h) => {
            let held_for = now.saturating_duration_since(unchanged_since);
            if held_for >= lease_duration {
                Decision::Acquire
            } else {
                Decision::Wait {
                    holder: h.to_owned(),
                    remaining: lease_duration - held_for,
                }
            }
        }
    }
}

/// The outcome of one election round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// We hold the Lease (acquired or renewed).
    Held,
    /// Another replica holds it and it has not expired.
    HeldByOther,
    /// Our write lost a race (409): read again.
    Raced,
}

/// When we last saw the Lease change, by our own clock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    resource_version: Option<String>,
    since: Instant,
}

/// The I/O half of the elector: reads and writes the Lease.
struct Elector {
    api: Api<Lease>,
    cfg: LeaderConfig,
    observed: Option<Observed>,
}

impl Elector {
    fn new(client: kube::Client, cfg: LeaderConfig) -> Self {
        Self {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
            observed: None,
        }
    }

    fn lease_ref(&self) -> String {
        format!("{}/{}", self.cfg.namespace, self.cfg.lease_name)
    }

    /// One round: read the Lease, then acquire or renew it if we may.
    async fn try_acquire_or_renew(&mut self) -> Result<Round, StartError> {
        let now = Instant::now();
        let stamp = MicroTime(jiff::Timestamp::now());
        let lease = self
            .api
            .get_opt(&self.cfg.lease_name)
            .await
            .map_err(|e| StartError::lease(format!("reading lease {}", self.lease_ref()), e))?;
        let Some(mut lease) = lease else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.lease_name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.cfg.identity.clone()),
                    lease_duration_seconds: Some(self.cfg.lease_duration_seconds()),
                    acquire_time: Some(stamp.clone()),
                    renew_time: Some(stamp),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Round::Held),
                Err(kube::Error::Api(s)) if s.is_already_exists() || s.is_conflict() => {
                    Ok(Round::Raced)
                }
                Err(e) => Err(StartError::lease(
                    format!("creating lease {}", self.lease_ref()),
                    e,
                )),
            };
        };

        let rv = lease.metadata.resource_version.clone();
        let since = match &self.observed {
            Some(o) if o.resource_version == rv => o.since,
            _ => now,
        };
        self.observed = Some(Observed {
            resource_version: rv,
            since,
        });

        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let declared = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .unwrap_or(self.cfg.lease_duration);
        match decide(
            spec.holder_identity.as_deref(),
            &self.cfg.identity,
            declared,
            since,
            now,
        ) {
            Decision::Wait { holder, remaining } => {
                tracing::debug!(%holder, ?remaining, lease = %self.lease_ref(), "lease held by another replica");
                return Ok(Round::HeldByOther);
            }
            Decision::Renew => {
                spec.renew_time = Some(stamp);
                spec.lease_duration_seconds = Some(self.cfg.lease_duration_seconds());
            }
            Decision::Acquire => {
                let previous = spec.holder_identity.clone().unwrap_or_default();
                if !previous.is_empty() {
                    tracing::info!(%previous, lease = %self.lease_ref(), "taking over an expired lease");
                }
                spec.holder_identity = Some(self.cfg.identity.clone());
                spec.acquire_time = Some(stamp.clone());
                spec.renew_time = Some(stamp);
                spec.lease_duration_seconds = Some(self.cfg.lease_duration_seconds());
                spec.lease_transitions =
                    Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
            }
        }
        // `lease` still carries the resourceVersion we read: the API server
        // rejects the replace with 409 if anyone wrote in between.
        match self
            .api
            .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.observed = Some(Observed {
                    resource_version: written.metadata.resource_version,
                    since: now,
                });
                Ok(Round::Held)
            }
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(Round::Raced),
            Err(e) => Err(StartError::lease(
                format!("updating lease {}", self.lease_ref()),
                e,
            )),
        }
    }

    /// Gives the Lease up if we still hold it: no holder, 1 s duration.
    async fn release(&self) -> Result<(), StartError> {
        let lease = self
            .api
            .get_opt(&self.cfg.lease_name)
            .await
            .map_err(|e| StartError::lease(format!("reading lease {}", self.lease_ref()), e))?;
        let Some(mut lease) = lease else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(jiff::Timestamp::now()));
        match self
            .api
            .replace(&self.cfg.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            // Someone else wrote it: it is not ours to release any more.
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(()),
            Err(e) => Err(StartError::lease(
                format!("releasing lease {}", self.lease_ref()),
                e,
            )),
        }
    }
}

/// Where leader election reports its state: `/readyz` (a standby is ready)
/// and the `tollfree_leader` gauge.
#[derive(Debug, Clone)]
pub struct LeaderHooks {
    /// Set to standby while waiting for the Lease.
    pub readiness: Readiness,
    /// `tollfree_leader` follows leadership.
    pub metrics: Metrics,
}

/// Runs `work` only while this replica holds the Lease.
///
/// Waits (as a ready standby) until the Lease is acquired or `shutdown`
/// fires, then calls `work` with a [`StopSignal`] that fires on shutdown or
/// when leadership is lost, renewing the Lease meanwhile.
///
/// Returns `work`'s own result when it ends (after releasing the Lease),
/// `Ok(())` on a shutdown before leadership, and [`StartError::LeadershipLost`]
/// when the Lease could not be renewed — the caller should exit the process.
/// After a loss, `work` gets until the Lease would expire to stop and is then
/// dropped (cancelled).
pub async fn run_as_leader<F, Fut>(
    client: kube::Client,
    cfg: LeaderConfig,
    hooks: LeaderHooks,
    shutdown: StopSignal,
    work: F,
) -> Result<(), StartError>
where
    F: FnOnce(StopSignal) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let mut elector = Elector::new(client, cfg.clone());
    hooks.metrics.set_leader(false);
    hooks.readiness.set_standby(true);
    tracing::info!(identity = %cfg.identity, lease = %elector.lease_ref(), "waiting for leadership");

    // Standby: poll until we hold the Lease.
    loop {
        if shutdown.is_stopped() {
            return Ok(());
        }
        let round = tokio::select! {
            () = shutdown.clone().wait() => return Ok(()),
            r = tokio::time::timeout(cfg.renew_deadline, elector.try_acquire_or_renew()) => r,
        };
        match round {
            Ok(Ok(Round::Held)) => break,
            Ok(Ok(Round::HeldByOther | Round::Raced)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e.report(), "leader election round failed"),
            Err(_) => tracing::warn!("leader election round timed out"),
        }
        tokio::select! {
            () = shutdown.clone().wait() => return Ok(()),
            () = tokio::time::sleep(cfg.retry_interval) => {}
        }
    }

    tracing::info!(identity = %cfg.identity, lease = %elector.lease_ref(), "became leader");
    hooks.metrics.set_leader(true);
    hooks.readiness.set_standby(false);

    let (trigger, stop) = shutdown::channel();
    let work = work(stop);
    tokio::pin!(work);
    let mut last_renew = Instant::now();
    let mut renew = tokio::time::interval_at(last_renew + cfg.renew_interval, cfg.renew_interval);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;

    loop {
        tokio::select! {
            result = &mut work => {
                hooks.metrics.set_leader(false);
                if let Err(e) = elector.release().await {
                    tracing::warn!(error = %e.report(), "releasing the lease failed; a standby takes over when it expires");
                } else {
                    tracing::info!(lease = %elector.lease_ref(), "released the lease");
                }
                return result;
            }
            () = shutdown.clone().wait(), if !stopping => {
                // Keep renewing while the work drains.
                stopping = true;
                trigger.stop();
            }
            _ = renew.tick() => {
                let budget = cfg.renew_deadline.saturating_sub(last_renew.elapsed());
                let round = async {
                    // A 409 means someone wrote the Lease since we read it
                    // (perhaps only an annotation): read it again at once.
                    loop {
                        match elector.try_acquire_or_renew().await {
                            Ok(Round::Raced) => continue,
                            other => return other,
                        }
                    }
                };
                match tokio::time::timeout(budget, round).await {
                    Ok(Ok(Round::Held)) => last_renew = Instant::now(),
                    Ok(Ok(Round::HeldByOther | Round::Raced)) => break,
                    Ok(Err(e)) => tracing::warn!(error = %e.report(), "renewing the lease failed"),
                    Err(_) => tracing::warn!("renewing the lease timed out"),
                }
                if last_renew.elapsed() >= cfg.renew_deadline {
                    break;
                }
            }
        }
    }

    tracing::error!(identity = %cfg.identity, lease = %elector.lease_ref(), "lost leadership; stopping work");
    hooks.metrics.set_leader(false);
    trigger.stop();
    // Another replica may start once the lease expires: stop before that.
    let grace = (last_renew + cfg.lease_duration).saturating_duration_since(Instant::now());
    match tokio::time::timeout(grace, &mut work).await {
        Ok(Err(e)) => tracing::warn!(error = %e.report(), "work failed while stopping"),
        Ok(Ok(())) => {}
        Err(_) => tracing::warn!("work did not stop before the lease expired; cancelling it"),
    }
    Err(StartError::LeadershipLost {
        namespace: cfg.namespace,
        name: cfg.lease_name,
        identity: cfg.identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "op-1";
    const LEASE: Duration = Duration::from_secs(15);

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    #[test]
    fn a_free_lease_is_acquired() {
        let t = Instant::now();
        assert_eq!(decide(None, ME, LEASE, t, t), Decision::Acquire);
        assert_eq!(decide(Some(""), ME, LEASE, t, t), Decision::Acquire);
    }

    #[test]
    fn our_own_lease_is_renewed() {
        let t = Instant::now();
        assert_eq!(decide(Some(ME), ME, LEASE, t, at(t, 60)), Decision::Renew);
    }

    #[test]
    fn another_holders_lease_is_respected_until_unchanged_for_its_duration() {
        let t = Instant::now();
        assert_eq!(
            decide(Some("op-2"), ME, LEASE, t, at(t, 5)),
            Decision::Wait {
                holder: "op-2".into(),
                remaining: Duration::from_secs(10)
            }
        );
        assert!(matches!(
            decide(Some("op-2"), ME, LEASE, t, at(t, 14)),
            Decision::Wait { .. }
        ));
        assert_eq!(
            decide(Some("op-2"), ME, LEASE, t, at(t, 15)),
            Decision::Acquire
        );
    }

    #[test]
    fn a_released_lease_with_one_second_duration_expires_fast() {
        let t = Instant::now();
        assert_eq!(
            decide(Some("op-2"), ME, Duration::from_secs(1), t, at(t, 1)),
            Decision::Acquire
        );
    }

    #[test]
    fn identity_prefers_the_pod_name() {
        assert_eq!(
            identity_from(
                Some("tollfree-operator-7d9f-abcde".into()),
                Some("host".into())
            ),
            "tollfree-operator-7d9f-abcde"
        );
    }

    #[test]
    fn identity_falls_back_to_hostname_with_a_random_suffix() {
        let a = identity_from(None, Some("laptop\n".into()));
        let b = identity_from(Some("  ".into()), Some("laptop".into()));
        assert!(
            a.starts_with("laptop-") && a.len() == "laptop-".len() + 8,
            "{a}"
        );
        assert_ne!(a, b, "two processes on one host must differ");
        assert!(identity_from(None, None).starts_with("tollfree-operator-"));
    }

    #[test]
    fn namespace_prefers_flag_then_service_account_then_default() {
        assert_eq!(namespace_from(Some("ops"), Some("sa-ns\n".into())), "ops");
        assert_eq!(namespace_from(None, Some("sa-ns\n".into())), "sa-ns");
        assert_eq!(namespace_from(Some(""), None), DEFAULT_NAMESPACE);
    }

    #[test]
    fn defaults_match_the_design() {
        let c = LeaderConfig::new("tollfree-system", ME);
        assert_eq!(c.lease_name, "tollfree-operator");
        assert_eq!(c.lease_duration, Duration::from_secs(15));
        assert_eq!(c.renew_interval, Duration::from_secs(5));
        assert!(c.renew_deadline < c.lease_duration);
    }
}
