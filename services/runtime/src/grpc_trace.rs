//! Trace context across gRPC calls, with OpenTelemetry's RPC semantic conventions on
//! both sides: the client side gives each call a client span named
//! `{rpc.service}/{rpc.method}` and injects its context into the request metadata; the
//! server side starts each request's span as a child of the caller's. Both record
//! `rpc.grpc.status_code`.

use std::pin::Pin;
use std::task::{Context, Poll};

use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tonic::transport::Channel;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A channel whose every call gets a client span, and carries its trace context.
#[derive(Clone, Debug)]
pub struct TracedChannel(Channel);

/// Wraps a channel so each call is traced (see [`TracedChannel`]).
pub fn traced(channel: Channel) -> TracedChannel {
    TracedChannel(channel)
}

type CallFuture = Pin<
    Box<
        dyn Future<Output = Result<http::Response<tonic::body::Body>, tonic::transport::Error>>
            + Send,
    >,
>;

impl tower::Service<http::Request<tonic::body::Body>> for TracedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        let span = rpc_span(request.uri().path(), "client");
        let context = span.context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut HeaderInjector(request.headers_mut()));
        });
        let call = self.0.call(request);
        Box::pin(
            async move {
                let answer = call.await;
                let span = tracing::Span::current();
                match &answer {
                    // A failed call answers with its status in the headers (trailers only);
                    // a call that streams a body ends it with OK or a status in the
                    // trailers, which the client reads later.
                    Ok(response) => {
                        let code = grpc_status(response.headers()).unwrap_or(0);
                        span.record("rpc.grpc.status_code", code);
                        if code != 0 {
                            span.record("otel.status_code", "ERROR");
                        }
                    }
                    Err(_) => {
                        // Unavailable: the channel could not carry the call.
                        span.record("rpc.grpc.status_code", 14);
                        span.record("otel.status_code", "ERROR");
                    }
                }
                answer
            }
            .instrument(span),
        )
    }
}

/// `grpc-status` of an answer, when it carries one.
fn grpc_status(headers: &http::HeaderMap) -> Option<i64> {
    headers.get("grpc-status")?.to_str().ok()?.parse().ok()
}

/// The span of one side (`kind`: client or server) of the call to `path`, named and
/// attributed as the RPC conventions say; its status code is recorded once known.
fn rpc_span(path: &str, kind: &'static str) -> tracing::Span {
    let (service, method) = rpc_names(path);
    tracing::info_span!(
        "grpc",
        otel.name = %format!("{service}/{method}"),
        otel.kind = kind,
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
    )
}

/// `rpc.service` and `rpc.method` of a gRPC path (`/package.Service/Method`).
fn rpc_names(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", path))
}

/// The server-side span of one gRPC request, parented on the caller's trace context.
/// Use with `tower_http::trace::TraceLayer::new_for_grpc().make_span_with(server_span)`.
pub fn server_span<B>(request: &http::Request<B>) -> tracing::Span {
    let span = rpc_span(request.uri().path(), "server");
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let _ = span.set_parent(parent);
    span
}

/// The layer returned by [`server_layer`].
pub type ServerTraceLayer = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::GrpcErrorsAsFailures>,
    fn(&http::Request<tonic::body::Body>) -> tracing::Span,
    tower_http::trace::DefaultOnRequest,
    fn(&http::Response<tonic::body::Body>, std::time::Duration, &tracing::Span),
>;

/// Records the answer's `rpc.grpc.status_code` on the server span: a failed call's status
/// is in its headers (trailers only), a streamed answer's OK is in its trailers.
fn record_status(
    response: &http::Response<tonic::body::Body>,
    _latency: std::time::Duration,
    span: &tracing::Span,
) {
    span.record(
        "rpc.grpc.status_code",
        grpc_status(response.headers()).unwrap_or(0),
    );
}

/// A tower layer that gives every gRPC request a server span (see [`server_span`]).
///
/// Only server-side failures (internal, unknown, unavailable, data loss, deadline) are
/// logged as errors; a caller's mistake (invalid argument, not found, permission denied,
/// ...) is an answer, not a failure of the service.
pub fn server_layer() -> ServerTraceLayer {
    use tower_http::classify::{GrpcCode, GrpcErrorsAsFailures, SharedClassifier};
    let classifier = [
        GrpcCode::Cancelled,
        GrpcCode::InvalidArgument,
        GrpcCode::NotFound,
        GrpcCode::AlreadyExists,
        GrpcCode::PermissionDenied,
        GrpcCode::ResourceExhausted,
        GrpcCode::FailedPrecondition,
        GrpcCode::Aborted,
        GrpcCode::OutOfRange,
        GrpcCode::Unauthenticated,
    ]
    .into_iter()
    .fold(
        GrpcErrorsAsFailures::new(),
        GrpcErrorsAsFailures::with_success,
    );
    tower_http::trace::TraceLayer::new(SharedClassifier::new(classifier))
        .make_span_with(server_span::<tonic::body::Body> as fn(&_) -> _)
        .on_response(record_status as fn(&_, _, &_))
}
