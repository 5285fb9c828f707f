//! The metrics listener: HTTP/1.1 (hyper) on `--metrics-listen ADDR:PORT`, `GET /metrics` only.
//!
//! Each scrape sends a [`MetricsQuery`] to the runtime's event loop (which asks the data plane
//! for its status as for `vrrpctl status`) and encodes the answer here. The exposition is
//! OpenMetrics when the client asks for it (Prometheus does), else Prometheus's text format
//! 0.0.4. Clients are bounded: [`MAX_CONNECTIONS`] at once (more are closed at once),
//! [`HEADER_TIMEOUT`] to send a request's headers, [`ANSWER_TIMEOUT`] for the event loop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

use super::{encode, prometheus_text, MetricsQuery};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// A client must send a request's headers within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a scrape waits for the event loop's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// OpenMetrics' media type.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Prometheus's text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the listener could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("metrics listener {addr}: {source}")]
pub struct MetricsError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The error.
    #[source]
    pub source: std::io::Error,
}

/// A listening metrics endpoint; it stops when dropped.
#[derive(Debug)]
pub struct MetricsListener {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsListener {
    /// Binds `addr` and serves it on the current runtime, asking `queries` for each scrape.
    pub async fn start(
        addr: SocketAddr,
        queries: mpsc::Sender<MetricsQuery>,
    ) -> Result<MetricsListener, MetricsError> {
        let err = |source| MetricsError { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(err)?;
        let addr = listener.local_addr().map_err(err)?;
        let task = tokio::spawn(accept_loop(listener, queries));
        tracing::info!(%addr, "metrics listening on http://{addr}/metrics");
        Ok(MetricsListener { addr, task })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, queries: mpsc::Sender<MetricsQuery>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(%peer, "metrics listener: too many connections, closed");
            continue;
        };
        let queries = queries.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| scrape(req, queries.clone()));
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "metrics connection ended");
            }
        });
    }
}

fn reply(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether the client's `Accept` header asks for OpenMetrics.
fn wants_openmetrics(req: &Request<Incoming>) -> bool {
    (req.headers().get_all(ACCEPT).iter())
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

async fn scrape(
    req: Request<Incoming>,
    queries: mpsc::Sender<MetricsQuery>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/metrics" {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            "not found: try GET /metrics\n",
        ));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = reply(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(r);
    }
    let (tx, rx) = oneshot::channel();
    if queries.send(MetricsQuery { reply: tx }).await.is_err() {
        return Ok(reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "vrrpd is stopping\n",
        ));
    }
    let snapshot = match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
        Ok(Ok(snapshot)) => snapshot,
        _ => {
            return Ok(reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "vrrpd could not give its status\n",
            ))
        }
    };
    let text = encode(&snapshot);
    let (body, media) = if wants_openmetrics(&req) {
        (text, OPENMETRICS)
    } else {
        (prometheus_text(&text), PROMETHEUS_TEXT)
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media));
    Ok(r)
}
