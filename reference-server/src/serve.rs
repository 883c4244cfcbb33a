//! Serving the routers within bounds, so that slow or greedy clients cannot take the server
//! down: the middleware every request passes ([`protect`]: a request ID, a bound on requests
//! in flight, a request timeout, a body limit), and the listener loop ([`spawn`]: a bound on
//! connections, a deadline for the request head, limits on its size and header count, TLS).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use crate::config::Config;

/// The longest a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The middleware every request passes, outermost first: a request ID (the client's own
/// `X-Request-Id`, echoed in the response, or a fresh one, which only the debug log shows);
/// at most `max_connections` requests handled at once (more wait); 408 when no response has
/// started within `request_timeout`; 413 for a body over `max_body_bytes`.
pub fn protect(router: Router, config: &Config) -> Router {
    router
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(GlobalConcurrencyLimitLayer::new(config.max_connections))
        .layer(axum::middleware::from_fn(in_request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
}

/// Runs the request in a debug span that names its ID, so its log lines can be told apart.
async fn in_request_span(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::debug_span!("request", id, method = %req.method(), path = req.uri().path());
    next.run(req).instrument(span).await
}

/// Serves `router` on `listener` until `stop` turns true, then stops accepting and lets the
/// open connections finish. With `tls`, every connection is HTTPS.
pub fn spawn(
    listener: TcpListener,
    router: Router,
    mut stop: watch::Receiver<bool>,
    tls: Option<Arc<rustls::ServerConfig>>,
    config: &Config,
) -> JoinHandle<()> {
    let builder = Arc::new(connection_builder(config));
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let handshake_timeout = config.header_read_timeout.min(TLS_HANDSHAKE_TIMEOUT);
    let tls = tls.map(TlsAcceptor::from);
    tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            // A connection is accepted only when one of the permits is free.
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stopped(&mut stop) => break,
            };
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, then go on.
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stopped(&mut stop) => break,
            };
            let connection = Connection {
                builder: builder.clone(),
                router: router.clone(),
                watcher: graceful.watcher(),
                peer,
                _permit: permit,
            };
            match &tls {
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let handshake =
                            tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await;
                        match handshake {
                            Ok(Ok(stream)) => connection.serve(stream).await,
                            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        }
                    });
                }
                None => {
                    tokio::spawn(connection.serve(tcp));
                }
            }
        }
        drop(listener);
        graceful.shutdown().await;
    })
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// HTTP/1.1 and HTTP/2, with the limits on the request head and the deadline for it.
fn connection_builder(config: &Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_headers(config.max_headers)
        // hyper refuses a buffer under 8 KiB.
        .max_buf_size(config.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// One accepted connection, holding its permit until it closes.
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: Router,
    watcher: Watcher,
    peer: SocketAddr,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve<IO>(self, io: IO)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let service = self.router.map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let conn = self
            .builder
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        if let Err(e) = self.watcher.watch(conn.into_owned()).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
}
