//! Health probes and Prometheus metrics over HTTP, following Kubernetes conventions:
//! `/healthz` answers while the process is alive, `/readyz` only while its dependencies
//! answer and it is not draining, `/metrics` in the Prometheus text format.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::future::BoxFuture;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// One dependency check run by `/readyz`.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// What `/readyz` reports: each named dependency check, and whether the process drains.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
    draining: Arc<AtomicBool>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dependency check; it must answer within two seconds.
    pub fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// From now on `/readyz` answers 503, so load balancers stop sending new work.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Runs every check; `Ok` when all pass and the process is not draining.
    pub async fn report(&self) -> (bool, Value) {
        let mut results = Map::new();
        let mut ready = !self.is_draining();
        for (name, check) in &self.checks {
            let outcome = tokio::time::timeout(Duration::from_secs(2), check()).await;
            let value = match outcome {
                Ok(Ok(())) => Value::from("ok"),
                Ok(Err(err)) => {
                    ready = false;
                    Value::from(err)
                }
                Err(_) => {
                    ready = false;
                    Value::from("timed out")
                }
            };
            results.insert((*name).to_owned(), value);
        }
        let status = if self.is_draining() {
            "draining"
        } else if ready {
            "ready"
        } else {
            "not_ready"
        };
        (ready, json!({ "status": status, "checks": results }))
    }
}

/// The process-wide Prometheus recorder, installed on first use. Histograms ending in
/// `_seconds` get buckets suited to request latencies.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".to_owned()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            )
            .expect("bucket list is not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // A second recorder (several services in one test process) keeps the first.
        let _ = metrics::set_global_recorder(recorder);
        build_info();
        handle
    })
}

/// How this binary was built, as the `*_build_info` convention has it: a gauge of 1
/// labelled with the version and the Cargo profile (`debug` or `release`), so a load test
/// (or a dashboard) can tell a debug stack from a release one.
fn build_info() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    metrics::describe_gauge!("chat_build_info", "The build: version and Cargo profile");
    metrics::gauge!(
        "chat_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "profile" => profile
    )
    .set(1.0);
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus_metrics))
        .with_state(readiness)
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    let (ready, body) = readiness.report().await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn prometheus_metrics() -> impl IntoResponse {
    let handle = metrics_handle();
    process_metrics().collect();
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

/// The standard process metrics (`process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_open_fds`, ...), refreshed on every scrape.
fn process_metrics() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector = metrics_process::Collector::default();
        collector.describe();
        collector
    })
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metrics_include_the_standard_process_metrics() {
        let response = prometheus_metrics().await.into_response();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(text.contains("process_cpu_seconds_total"), "{text}");
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        // Tests are debug builds.
        assert!(
            text.contains(&format!(
                "chat_build_info{{version=\"{}\",profile=\"debug\"}} 1",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
    }
}
