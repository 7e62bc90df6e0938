//! Serving: the router (vendor API behind the fault and content-negotiation
//! gate, admin API beside it), per-connection handles for dropped-connection
//! faults, and [`spawn`] for tests.

use std::future::Future;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::error::ApiError;
use crate::faults::Verdict;
use crate::{Simulator, admin, handlers};

/// The routes of the vendor API and the admin API.
pub(crate) fn router(sim: Simulator) -> Router {
    let vendor = Router::new()
        .route("/_rest/v4/authenticate", post(handlers::auth::authenticate))
        .route("/_rest/v4/carrier/tf", get(handlers::search::search))
        .route(
            "/_rest/v4/carrier/tf/reservations",
            post(handlers::reservations::reserve),
        )
        .route("/_rest/v4/my/tf", get(handlers::inventory::list))
        .route("/_rest/v3/my/tf", get(handlers::inventory::list))
        .route("/_rest/v4/my/tf/orders", post(handlers::orders::purchase))
        .route(
            "/_rest/v4/my/tf/package",
            post(handlers::orders::change_package),
        )
        .route(
            "/_rest/v4/my/tf/disconnect",
            post(handlers::orders::disconnect),
        )
        .fallback(|| async { ApiError::status(StatusCode::NOT_FOUND) })
        .method_not_allowed_fallback(|| async { ApiError::status(StatusCode::METHOD_NOT_ALLOWED) })
        .layer(middleware::from_fn_with_state(sim.clone(), vendor_gate))
        .with_state(sim.clone());
    Router::new()
        .nest("/_admin", admin::router(sim))
        .merge(vendor)
}

/// In front of every vendor request: count it, apply faults, then refuse an
/// `Accept` header that excludes JSON (406).
async fn vendor_gate(State(sim): State<Simulator>, request: Request, next: Next) -> Response {
    let (latency, verdict) = sim.admit(request.method().as_str(), request.uri().path());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let connection = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|c| c.0.clone());
    match verdict {
        Verdict::Pass | Verdict::DropAfter => {}
        Verdict::Drop => return close(connection.as_ref()),
        Verdict::Hang => {
            sim.hang().await;
            return ApiError::status(StatusCode::SERVICE_UNAVAILABLE).into_response();
        }
        Verdict::Fail(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut error = ApiError::status(status);
            if status == StatusCode::TOO_MANY_REQUESTS {
                error.retry_after = Some(sim.faults().retry_after_secs);
            }
            return error.into_response();
        }
        Verdict::RateLimit(seconds) => return ApiError::rate_limited(seconds).into_response(),
    }
    if !accepts_json(request.headers()) {
        return ApiError::not_acceptable().into_response();
    }
    let response = next.run(request).await;
    if verdict == Verdict::DropAfter {
        return close(connection.as_ref());
    }
    response
}

/// Closes the request's connection so the client gets no response at all. The
/// response returned afterwards can no longer be written. Served without
/// [`Connection`] info there is no socket to close: the request answers 503.
fn close(connection: Option<&Connection>) -> Response {
    if let Some(connection) = connection {
        connection.close();
    }
    ApiError::status(StatusCode::SERVICE_UNAVAILABLE).into_response()
}

/// Whether the `Accept` header, if any, admits `application/json`.
fn accepts_json(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values.iter().flat_map(|v| v.split(',')).any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

/// Per-connection info that lets a fault close the connection without a
/// response. Serve [`Simulator::router`] with
/// `into_make_service_with_connect_info::<Connection>()` (as
/// [`Simulator::serve`] does) for `drop_next` and `drop_after_next` to work.
#[derive(Clone, Debug)]
pub struct Connection {
    /// A duplicate of the connection's socket: shutting it down closes the
    /// connection under the HTTP server's feet.
    socket: Option<Arc<std::net::TcpStream>>,
}

impl Connection {
    fn close(&self) {
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        #[cfg(unix)]
        let socket = {
            use std::os::fd::AsFd;
            stream
                .io()
                .as_fd()
                .try_clone_to_owned()
                .ok()
                .map(|fd| Arc::new(std::net::TcpStream::from(fd)))
        };
        #[cfg(not(unix))]
        let socket = {
            let _ = stream;
            None
        };
        Self { socket }
    }
}

impl Simulator {
    /// Serves the simulator on `listener` until `shutdown` resolves; requests
    /// held by `hang_next` are then released.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let sim = self.clone();
        let signal = async move {
            shutdown.await;
            sim.release_hung();
        };
        let service = self
            .router()
            .into_make_service_with_connect_info::<Connection>();
        axum::serve(listener, service)
            .with_graceful_shutdown(signal)
            .await
    }
}

/// A simulator serving on a loopback port in a background task. Dropping it
/// stops the server, as [`RunningSim::shutdown`] does (without waiting).
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    sim: Simulator,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts a simulator on `127.0.0.1:0` (a free port) in a tokio task.
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let sim = Simulator::try_new(config).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = sim.clone();
    let task = tokio::spawn(async move {
        // A dropped sender also stops the server.
        server
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningSim {
        addr,
        sim,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningSim {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator, for inspection and setup.
    pub fn sim(&self) -> &Simulator {
        &self.sim
    }

    /// Stops accepting, lets open requests finish (up to 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}
