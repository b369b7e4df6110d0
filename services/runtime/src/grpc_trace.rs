//! Trace context across gRPC calls: the client side injects the current span's context
//! into the request metadata; the server side starts each request's span as a child of
//! the caller's, with OpenTelemetry's RPC semantic-convention attributes.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry_http::HeaderExtractor;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A channel whose every request carries the caller's trace context.
pub type TracedChannel = InterceptedService<Channel, InjectTraceContext>;

/// Wraps a channel so each request carries `traceparent` from the current span.
pub fn traced(channel: Channel) -> TracedChannel {
    InterceptedService::new(channel, InjectTraceContext)
}

/// Client interceptor that writes the current trace context into gRPC metadata.
#[derive(Clone, Copy, Debug, Default)]
pub struct InjectTraceContext;

impl Interceptor for InjectTraceContext {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let context = tracing::Span::current().context();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut MetadataInjector(request.metadata_mut()));
        });
        Ok(request)
    }
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Reads trace context out of gRPC metadata (for code that holds a `tonic::Request`).
pub struct MetadataExtractor<'a>(pub &'a MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// The server-side span of one gRPC request, parented on the caller's trace context.
/// Use with `tower_http::trace::TraceLayer::new_for_grpc().make_span_with(server_span)`.
pub fn server_span<B>(request: &http::Request<B>) -> tracing::Span {
    let path = request.uri().path();
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("unknown", path));
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %format!("{service}/{method}"),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
    );
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
>;

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
}
