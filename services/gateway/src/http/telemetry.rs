//! What each HTTP request leaves behind: a server span with OpenTelemetry's HTTP
//! semantic-convention attributes (parented on the caller's `traceparent`), and the
//! Prometheus series `http_server_requests_total` and
//! `http_server_request_duration_seconds`, labelled by method, route template and status.
//! Labels stay bounded: routes are templates (`/api/users/{id}`), unmatched paths are
//! `unmatched`, unusual methods are `other`.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, header};
use opentelemetry_http::HeaderExtractor;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span of one request. Route, status and user are recorded as they become known.
pub fn request_span<B>(request: &http::Request<B>) -> Span {
    let method = request.method().as_str();
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http.server",
        otel.name = %method,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = Empty,
        http.response.status_code = Empty,
        url.path = %request.uri().path(),
        network.protocol.version = ?request.version(),
        user_agent.original = %user_agent,
        request_id = %request_id,
        enduser.id = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let _ = span.set_parent(parent);
    span
}

/// Records the status on the request's span when the response starts.
pub fn record_response<B>(response: &http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    tracing::debug!(parent: span, status = status.as_u16(), latency_ms = latency.as_secs_f64() * 1e3, "served");
}

/// The route template a request matched, carried on the response for [`record_metrics`].
#[derive(Clone)]
struct Route(MatchedPath);

/// Route middleware (`Router::route_layer`): names the span after the matched route and
/// hands the template to the outer metrics middleware.
pub async fn tag_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let span = Span::current();
    span.record("http.route", matched.as_str());
    span.record(
        "otel.name",
        format!("{} {}", request.method(), matched.as_str()),
    );
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Route(matched));
    response
}

/// Outer middleware: counts every request and observes its duration.
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let route = response.extensions().get::<Route>().map_or_else(
        || "unmatched".to_owned(),
        |Route(path)| path.as_str().to_owned(),
    );
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_server_requests_total", &labels).increment(1);
    metrics::histogram!("http_server_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
