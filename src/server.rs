//! The HTTP endpoint of the operator (`--metrics-addr`, default `0.0.0.0:8080`):
//! `/metrics` (OpenMetrics text, or the classic Prometheus text format 0.0.4
//! when the `Accept` header prefers it: see [`metrics::Format::from_accept`]),
//! `/healthz` (the process is alive) and
//! `/readyz` (the controller's caches are synced, or this replica is a
//! leader-election standby — a standby is healthy and ready to take over).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::error::StartError;
use crate::metrics::{self, Metrics};

/// Whether this replica is ready, shared between the controller, leader
/// election and `/readyz`. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<ReadinessFlags>,
}

#[derive(Debug, Default)]
struct ReadinessFlags {
    caches_synced: AtomicBool,
    standby: AtomicBool,
}

impl Readiness {
    /// A replica that is not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The controller calls this once its reflector caches have synced
    /// (and with `false` when it stops).
    pub fn set_caches_synced(&self, synced: bool) {
        self.inner.caches_synced.store(synced, Ordering::SeqCst);
    }

    /// Leader election calls this: `true` while waiting as a standby.
    pub fn set_standby(&self, standby: bool) {
        self.inner.standby.store(standby, Ordering::SeqCst);
    }

    /// Ready: caches synced, or a standby waiting for the lease.
    pub fn is_ready(&self) -> bool {
        self.inner.caches_synced.load(Ordering::SeqCst) || self.inner.standby.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    readiness: Readiness,
}

/// The routes, without a listener (for tests and embedding).
pub fn router(metrics: Metrics, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, readiness })
}

async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // A header that is not visible ASCII is treated as absent.
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = metrics::Format::from_accept(accept);
    match state.metrics.encode_as(format) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                // Caches must not hand one format to a client that asked for the other.
                (header::VARY, "Accept"),
            ],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: controller caches not synced\n",
        )
            .into_response()
    }
}

/// A bound (but not yet serving) metrics server. Binding first lets `run`
/// fail fast on a busy port and lets tests bind port 0.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Server {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr) -> Result<Self, StartError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Server { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Server { addr, source })?;
        Ok(Self { listener, addr })
    }

    /// The address actually bound (resolves port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        metrics: Metrics,
        readiness: Readiness,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let addr = self.addr;
        tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
        axum::serve(self.listener, router(metrics, readiness))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| StartError::Server { addr, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        get_with(addr, path, "").await
    }

    /// A GET with `extra` header lines (each ending in `\r\n`).
    async fn get_with(addr: SocketAddr, path: &str, extra: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut buf = String::new();
        stream.read_to_string(&mut buf).await.expect("read");
        let code = buf
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status line");
        (code, buf)
    }

    #[tokio::test]
    async fn serves_metrics_health_and_readiness_then_shuts_down() {
        let metrics = Metrics::new();
        let readiness = Readiness::new();
        let server = Server::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(metrics, readiness.clone(), async {
            let _ = stopped.await;
        }));

        let (code, body) = get(addr, "/healthz").await;
        assert_eq!(code, 200, "{body}");
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503, "{body}");
        readiness.set_standby(true);
        assert_eq!(get(addr, "/readyz").await.0, 200);
        readiness.set_standby(false);
        readiness.set_caches_synced(true);
        assert_eq!(get(addr, "/readyz").await.0, 200);

        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("application/openmetrics-text"), "{body}");
        assert!(
            body.contains("# TYPE tollfree_reconciles counter"),
            "{body}"
        );

        stop.send(()).expect("server still running");
        task.await.expect("join").expect("clean shutdown");
    }

    #[tokio::test]
    async fn metrics_are_served_in_the_format_the_accept_header_asks_for() {
        let server = Server::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(Metrics::new(), Readiness::new(), async {
            let _ = stopped.await;
        }));

        let (code, body) =
            get_with(addr, "/metrics", "Accept: text/plain; version=0.0.4\r\n").await;
        assert_eq!(code, 200, "{body}");
        let lower = body.to_ascii_lowercase();
        assert!(
            lower.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{body}"
        );
        assert!(lower.contains("vary: accept"), "{body}");
        assert!(
            body.contains("# TYPE tollfree_reconciles_total counter"),
            "{body}"
        );
        assert!(!body.contains("# EOF"), "{body}");

        let (code, body) = get_with(
            addr,
            "/metrics",
            "Accept: application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.3\r\n",
        )
        .await;
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("application/openmetrics-text"), "{body}");
        assert!(body.contains("# EOF"), "{body}");

        stop.send(()).expect("server still running");
        task.await.expect("join").expect("clean shutdown");
    }

    #[tokio::test]
    async fn bind_failure_names_the_address() {
        let first = Server::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let err = Server::bind(first.local_addr())
            .await
            .expect_err("port busy");
        assert!(
            err.to_string().contains(&first.local_addr().to_string()),
            "{err}"
        );
    }
}
