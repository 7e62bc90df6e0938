//! `tollfree-operator run`: the operator.
//!
//! Start-up order: logging, Kubernetes client, the metrics/health server
//! (bound first, so a busy port fails fast), signal handling, then the
//! controller — directly, or only while holding the leader Lease with
//! `--leader-elect`. On SIGTERM the controller drains, the Lease is released,
//! and the HTTP server stops last.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::context::{Context, Settings};
use crate::error::StartError;
use crate::leader::{self, LeaderConfig, LeaderHooks};
use crate::metrics::Metrics;
use crate::server::{Readiness, Server};
use crate::shutdown::{self, StopSignal};
use crate::telemetry::{self, LogFormat};

/// Arguments of `run` (a stable contract: the README's command line).
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The IntelePeer API base URL. Plain http is refused except for loopback
    /// addresses (e.g. the simulator on 127.0.0.1).
    #[arg(long, env = "INTELEPEER_URL", value_name = "URL", default_value = intelepeer::DEFAULT_BASE_URL, value_parser = parse_intelepeer_url)]
    pub intelepeer_url: String,

    /// Only reconcile TollFreeNumberSets in this namespace (default: all namespaces).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Run the controller only while holding the Lease `tollfree-operator`
    /// (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,

    /// The namespace of the leader Lease. Default: the pod's namespace (the
    /// service account's), else tollfree-system.
    #[arg(long, env = "POD_NAMESPACE", value_name = "NS")]
    pub leader_election_namespace: Option<String>,

    /// Where /metrics, /healthz and /readyz are served.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Log line format (the filter comes from RUST_LOG, default info).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How often the full inventory of each account is listed again (drift
    /// detection), e.g. 5m, 90s, 1h.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_interval)]
    pub resync_interval: Duration,

    /// Vendor API requests per second, per account (0: unlimited).
    #[arg(long, value_name = "PER_SEC", default_value_t = 10.0, value_parser = parse_rate)]
    pub vendor_rate_limit: f64,
}

/// Checks `--intelepeer-url` with the client's own rule (https, or http to a
/// loopback host) and normalizes it.
pub fn parse_intelepeer_url(raw: &str) -> Result<String, StartError> {
    intelepeer::validate_base_url(raw).map_err(|e| StartError::InvalidUrl {
        url: raw.to_owned(),
        reason: e.to_string(),
    })
}

/// Parses `--resync-interval`: a Go duration such as `5m`, `90s`, `1h30m`
/// (the grammar of every duration, see [`go_duration`]); at least one second.
pub fn parse_interval(raw: &str) -> Result<Duration, String> {
    let d = go_duration::parse(raw).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err(format!("'{raw}' is too short: use at least 1s"));
    }
    Ok(d)
}

/// Parses a non-negative, finite request rate.
pub fn parse_rate(raw: &str) -> Result<f64, String> {
    let r: f64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("'{raw}' is not a number"))?;
    if !r.is_finite() || r < 0.0 {
        return Err(format!(
            "'{raw}' must be a non-negative number of requests per second"
        ));
    }
    Ok(r)
}

/// Runs the operator until SIGTERM.
pub async fn main(args: RunArgs) -> ExitCode {
    if let Err(e) = telemetry::init(args.log_format) {
        eprintln!("error: {}", e.report());
        return ExitCode::FAILURE;
    }
    match run(args).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e.report(), kind = %e.metric_label(), "operator failed");
            ExitCode::FAILURE
        }
    }
}

/// Loads the Kubernetes configuration: an explicit `KUBECONFIG` wins; inside
/// a pod the in-cluster service account; else kube's usual inference
/// (`~/.kube/config`, then in-cluster).
pub async fn kube_client() -> Result<kube::Client, StartError> {
    let in_pod = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let config = if std::env::var_os("KUBECONFIG").is_none() && in_pod {
        kube::Config::incluster().map_err(|e| StartError::KubeConfig {
            what: "in-cluster service account",
            source: Box::new(e),
        })?
    } else {
        kube::Config::infer()
            .await
            .map_err(|e| StartError::KubeConfig {
                what: "KUBECONFIG, ~/.kube/config or in-cluster",
                source: Box::new(e),
            })?
    };
    kube::Client::try_from(config).map_err(|e| StartError::KubeConfig {
        what: "building the client",
        source: Box::new(e),
    })
}

/// The operator's life: everything after logging is set up.
pub async fn run(args: RunArgs) -> Result<(), StartError> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        intelepeer_url = %args.intelepeer_url,
        namespace = args.namespace.as_deref().unwrap_or("<all>"),
        leader_elect = args.leader_elect,
        resync_interval = ?args.resync_interval,
        "starting"
    );
    let client = kube_client().await?;
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    let server = Server::bind(args.metrics_addr).await?;

    // SIGTERM / Ctrl-C stop the work; a second one exits at once.
    let (stop_work, work_signal) = shutdown::channel();
    tokio::spawn(async move {
        shutdown::termination().await;
        stop_work.stop();
        shutdown::termination().await;
        tracing::warn!("second signal: exiting without draining");
        std::process::exit(130);
    });

    // The HTTP server outlives the work, so /metrics and /healthz answer
    // while the controller drains.
    let (stop_server, server_signal) = shutdown::channel();
    let server_task =
        tokio::spawn(server.serve(metrics.clone(), readiness.clone(), server_signal.wait()));

    let identity = leader::default_identity();
    let settings = Settings {
        intelepeer_url: args.intelepeer_url.clone(),
        namespace: args.namespace.clone(),
        resync_interval: args.resync_interval,
        vendor_rate_limit: args.vendor_rate_limit,
        instance: identity.clone(),
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        metrics.clone(),
        readiness.clone(),
        settings,
    ));

    let result = if args.leader_elect {
        let namespace = leader::resolve_namespace(args.leader_election_namespace.as_deref());
        let cfg = LeaderConfig::new(namespace, identity);
        let hooks = LeaderHooks {
            readiness: readiness.clone(),
            metrics: metrics.clone(),
        };
        leader::run_as_leader(client, cfg, hooks, work_signal, |stop: StopSignal| {
            crate::controller::run(ctx, stop.wait())
        })
        .await
    } else {
        metrics.set_leader(true);
        crate::controller::run(ctx, work_signal.wait()).await
    };

    stop_server.stop();
    match server_task.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e.report(), "metrics server failed"),
        Err(e) => tracing::warn!(error = %e, "metrics server task failed"),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied())).map(|c| c.run)
    }

    #[test]
    fn defaults_follow_the_design() {
        // INTELEPEER_URL / POD_NAMESPACE may be set by the environment running
        // the tests; pass the flags that would read them explicitly.
        let a = parse(&["--intelepeer-url", "https://customer.intelepeer.com/"]).expect("parses");
        assert_eq!(a.intelepeer_url, "https://customer.intelepeer.com");
        assert_eq!(a.metrics_addr, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(a.log_format, LogFormat::Text);
        assert_eq!(a.resync_interval, Duration::from_secs(300));
        assert!(!a.leader_elect);
        assert!(a.namespace.is_none());
        assert!((a.vendor_rate_limit - 10.0).abs() < f64::EPSILON);
    }

    #[test]
    fn every_flag_parses() {
        let a = parse(&[
            "--intelepeer-url",
            "http://127.0.0.1:8089",
            "--namespace",
            "telecom",
            "--leader-elect",
            "--leader-election-namespace",
            "ops",
            "--metrics-addr",
            "127.0.0.1:9090",
            "--log-format",
            "json",
            "--resync-interval",
            "90s",
            "--vendor-rate-limit",
            "2.5",
        ])
        .expect("parses");
        assert_eq!(a.intelepeer_url, "http://127.0.0.1:8089");
        assert_eq!(a.namespace.as_deref(), Some("telecom"));
        assert!(a.leader_elect);
        assert_eq!(a.leader_election_namespace.as_deref(), Some("ops"));
        assert_eq!(a.metrics_addr.port(), 9090);
        assert_eq!(a.log_format, LogFormat::Json);
        assert_eq!(a.resync_interval, Duration::from_secs(90));
        assert!((a.vendor_rate_limit - 2.5).abs() < f64::EPSILON);
    }

    #[test]
    fn plain_http_is_refused_except_for_loopback() {
        let e = parse(&["--intelepeer-url", "http://customer.intelepeer.com"])
            .expect_err("plain http to a remote host");
        assert!(e.to_string().contains("https is required"), "{e}");
        for ok in [
            "http://localhost:8089",
            "http://[::1]:8089",
            "https://example.com",
        ] {
            assert!(parse(&["--intelepeer-url", ok]).is_ok(), "{ok}");
        }
    }

    #[test]
    fn bad_durations_rates_and_formats_are_refused() {
        let url = ["--intelepeer-url", "https://customer.intelepeer.com"];
        for bad in [
            &["--resync-interval", "soon"][..],
            &["--resync-interval", "0s"],
            &["--resync-interval", "-5m"],
            &["--vendor-rate-limit", "-1"],
            &["--vendor-rate-limit", "NaN"],
            &["--log-format", "yaml"],
            &["--metrics-addr", "localhost"],
        ] {
            let args: Vec<&str> = url.iter().chain(bad.iter()).copied().collect();
            assert!(parse(&args).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn intervals_read_like_the_crd_durations() {
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        // One grammar for every duration: Go's, as the CRD's fields. ISO 8601
        // (`PT2M`), which this flag used to read too, is refused like in the CRD.
        assert!(parse_interval("PT2M").is_err());
        assert_eq!(parse_interval("1.5m"), Ok(Duration::from_secs(90)));
    }
}
