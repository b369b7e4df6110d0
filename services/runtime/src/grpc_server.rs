//! Serving a gRPC service: its gRPC listener (the service itself, gRPC health and trace
//! context) beside its ops HTTP listener (`/healthz`, `/readyz`, `/metrics`), and the one
//! drain that ends both.
//!
//! Every gRPC service starts and stops the same way, so load balancers and Kubernetes see
//! the same from each. [`GrpcServer::bind`] binds both listeners before anything is served
//! (port 0 works, so tests run many services side by side). [`GrpcServer::serve`] reports
//! each service `SERVING` over gRPC health and serves until the shutdown token is
//! cancelled; then, in this order:
//!
//! 1. `/readyz` answers 503 (draining) and gRPC health reports each service `NOT_SERVING`,
//!    so load balancers stop sending new work;
//! 2. the gRPC listener stops accepting, and calls in flight may finish;
//! 3. calls and background tasks still running when the shutdown grace has passed are
//!    abandoned;
//! 4. the ops listener stops, last, so probes are answered for the whole drain.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::ops::{self, Readiness};
use crate::shutdown::CancellationToken;

/// The gRPC services one process serves, each reported by name over gRPC health.
#[derive(Default)]
pub struct GrpcServices {
    routes: Routes,
    names: Vec<&'static str>,
}

impl GrpcServices {
    /// No services yet; gRPC health is always added by [`GrpcServer::serve`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a generated `...Server`; gRPC health reports it under its
    /// [`NamedService::NAME`] (e.g. `chat.v1.AuthService`).
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes = self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }
}

/// A task that runs beside the gRPC server and ends once the shutdown token is cancelled
/// (a queue consumer, a periodic sweep), named for the log line when it is abandoned.
pub type BackgroundTask = (&'static str, JoinHandle<()>);

/// The bound gRPC and ops listeners of a service, not yet serving.
pub struct GrpcServer {
    grpc_listener: TcpListener,
    ops_listener: TcpListener,
    grpc_addr: SocketAddr,
    ops_addr: SocketAddr,
}

impl GrpcServer {
    /// Binds the gRPC listener on `grpc_addr` and the ops listener on `ops_addr`.
    pub async fn bind(grpc_addr: SocketAddr, ops_addr: SocketAddr) -> anyhow::Result<Self> {
        let grpc_listener = TcpListener::bind(grpc_addr)
            .await
            .with_context(|| format!("binding the gRPC listener {grpc_addr}"))?;
        let ops_listener = TcpListener::bind(ops_addr)
            .await
            .with_context(|| format!("binding the ops listener {ops_addr}"))?;
        Ok(Self {
            grpc_addr: grpc_listener.local_addr()?,
            ops_addr: ops_listener.local_addr()?,
            grpc_listener,
            ops_listener,
        })
    }

    /// Where the gRPC services and gRPC health are served.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// Serves `services` (with [`crate::grpc_trace::server_layer`]) and gRPC health on the
    /// gRPC listener and `readiness` on the ops listener until `shutdown` is cancelled,
    /// then drains as the [module](self) describes: calls in flight and `background`
    /// tasks get until `grace` after the cancellation. Should the gRPC server fail
    /// before, `shutdown` is cancelled so the background tasks stop too, and its error is
    /// returned once they have.
    pub async fn serve(
        self,
        services: GrpcServices,
        readiness: Readiness,
        shutdown: CancellationToken,
        grace: Duration,
        background: Vec<BackgroundTask>,
    ) -> anyhow::Result<()> {
        let GrpcServices { routes, names } = services;
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &names {
            health
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }

        let ops_stop = CancellationToken::new();
        let ops_task = tokio::spawn(ops::serve(
            self.ops_listener,
            ops::router(readiness.clone()),
            ops_stop.clone(),
        ));

        let draining = {
            let shutdown = shutdown.clone();
            async move {
                shutdown.cancelled().await;
                readiness.set_draining();
                for name in &names {
                    health
                        .set_service_status(name, ServingStatus::NotServing)
                        .await;
                }
                tracing::info!("draining: no new gRPC calls, finishing those in flight");
            }
        };
        let incoming = TcpIncoming::from(self.grpc_listener).with_nodelay(Some(true));
        let mut server = tokio::spawn(
            Server::builder()
                .layer(crate::grpc_trace::server_layer())
                .add_routes(routes.add_service(health_service))
                .serve_with_incoming_shutdown(incoming, draining),
        );

        let ended_early = tokio::select! {
            () = shutdown.cancelled() => None,
            // The server ends by itself only on error: stop the rest too.
            ended = &mut server => Some(ended),
        };
        shutdown.cancel();
        let deadline = Instant::now() + grace;
        let served = match ended_early {
            Some(ended) => Some(ended),
            None => finish_by(deadline, "gRPC server", server).await,
        };
        for (name, task) in background {
            finish_by(deadline, name, task).await;
        }

        ops_stop.cancel();
        match ops_task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(%err, "ops listener failed"),
            Err(err) => tracing::error!(%err, "ops listener task failed"),
        }
        match served {
            None => Ok(()),
            Some(ended) => ended.context("gRPC server task")?.context("gRPC server"),
        }
    }
}

/// Waits for `task` until `deadline`, then abandons it (`None`).
async fn finish_by<T>(
    deadline: Instant,
    name: &str,
    task: JoinHandle<T>,
) -> Option<Result<T, JoinError>> {
    let abort = task.abort_handle();
    match tokio::time::timeout_at(deadline, task).await {
        Ok(ended) => Some(ended),
        Err(_) => {
            tracing::warn!(
                task = name,
                "still busy after the shutdown grace; abandoning it"
            );
            abort.abort();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll};

    use tonic::transport::Channel;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus as Reported;
    use tonic_health::pb::health_client::HealthClient;

    use super::*;

    /// A named service that answers every call `UNIMPLEMENTED`.
    #[derive(Clone)]
    struct Unanswered;

    impl NamedService for Unanswered {
        const NAME: &'static str = "test.v1.Unanswered";
    }

    impl tower::Service<http::Request<Body>> for Unanswered {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<Body>) -> Self::Future {
            std::future::ready(Ok(tonic::Status::unimplemented("").into_http()))
        }
    }

    struct Running {
        grpc_addr: SocketAddr,
        ops_addr: SocketAddr,
        readiness: Readiness,
        shutdown: CancellationToken,
        served: JoinHandle<anyhow::Result<()>>,
        health: HealthClient<Channel>,
    }

    async fn start(grace: Duration, background: Vec<BackgroundTask>) -> Running {
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = GrpcServer::bind(local, local).await.unwrap();
        let (grpc_addr, ops_addr) = (server.grpc_addr(), server.ops_addr());
        let readiness = Readiness::new();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(server.serve(
            GrpcServices::new().add_service(Unanswered),
            readiness.clone(),
            shutdown.clone(),
            grace,
            background,
        ));
        let channel = Channel::from_shared(format!("http://{grpc_addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Running {
            grpc_addr,
            ops_addr,
            readiness,
            shutdown,
            served,
            health: HealthClient::new(channel),
        }
    }

    fn request() -> HealthCheckRequest {
        HealthCheckRequest {
            service: Unanswered::NAME.into(),
        }
    }

    #[tokio::test]
    async fn binds_port_zero_and_reports_each_service_serving() {
        let mut running = start(Duration::from_secs(5), Vec::new()).await;

        let status = running.health.check(request()).await.unwrap().into_inner();

        assert_ne!(running.grpc_addr.port(), 0);
        assert_ne!(running.ops_addr.port(), 0);
        assert_eq!(status.status(), Reported::Serving);
        assert!(!running.readiness.is_draining());
        running.shutdown.cancel();
        running.served.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_drain_reports_not_serving_then_abandons_calls_after_the_grace() {
        let mut running = start(Duration::from_millis(200), Vec::new()).await;
        // A watch is a call that never ends by itself.
        let mut watch = running.health.watch(request()).await.unwrap().into_inner();
        let first = watch.message().await.unwrap().unwrap();

        running.shutdown.cancel();
        let second = watch.message().await.unwrap().unwrap();
        let served = running.served.await.unwrap();

        assert_eq!(first.status(), Reported::Serving);
        assert_eq!(second.status(), Reported::NotServing);
        assert!(running.readiness.is_draining());
        served.unwrap();
        assert!(
            tokio::net::TcpStream::connect(running.ops_addr)
                .await
                .is_err(),
            "the ops listener is closed once serving ended"
        );
    }

    #[tokio::test]
    async fn background_tasks_finish_within_the_grace_or_are_abandoned() {
        let finished = Arc::new(AtomicBool::new(false));
        let shutdown = CancellationToken::new();
        let stops_on_shutdown = {
            let (finished, shutdown) = (finished.clone(), shutdown.clone());
            async move {
                shutdown.cancelled().await;
                finished.store(true, Ordering::SeqCst);
            }
        };
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let server = GrpcServer::bind(local, local).await.unwrap();
        let background = vec![
            ("finishes", tokio::spawn(stops_on_shutdown)),
            ("never finishes", tokio::spawn(std::future::pending())),
        ];
        shutdown.cancel();

        server
            .serve(
                GrpcServices::new(),
                Readiness::new(),
                shutdown,
                Duration::from_millis(200),
                background,
            )
            .await
            .unwrap();

        assert!(finished.load(Ordering::SeqCst));
    }
}
