//! The client-facing HTTP server: the router over hyper (HTTP/1.1 with upgrades for
//! WebSockets, and HTTP/2), with the bounds `axum::serve` does not set: a client must send
//! its request head within `header_timeout` (else the connection closes: slow-header
//! attacks cannot hold connections open), and a request body may not stall longer than
//! `body_timeout` between two pieces. On shutdown the listener closes and open
//! connections finish what they are doing.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// How long accepting waits after the listener failed (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Time bounds on what clients send.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

/// A listener on `addr` whose kernel queue holds `backlog` opened connections not yet
/// accepted (tokio's own `bind` asks for 1,024).
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted gateway binds while its old connections
    // are still in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the open
/// connections to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.body_timeout));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        // Each request learns its connection's peer, as `ConnectInfo` extractors expect.
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More connections than tokio's default backlog (1,024) arrive while nothing accepts:
    /// every one opens at once. A connection the kernel's queue had no room for would have
    /// its SYN dropped and retried only after a second.
    #[tokio::test]
    async fn a_burst_beyond_the_default_backlog_opens_at_once() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 2048).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut opened = Vec::new();
        for n in 0..1500 {
            let connect = tokio::net::TcpStream::connect(addr);
            match tokio::time::timeout(Duration::from_millis(800), connect).await {
                Ok(stream) => opened.push(stream.unwrap()),
                Err(_) => panic!("connection {n} waited for the kernel to retry its SYN"),
            }
        }
        assert_eq!(opened.len(), 1500);
    }
}
