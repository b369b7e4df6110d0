//! Structured logs with `tracing`, and OpenTelemetry trace export over OTLP when an
//! endpoint is configured. Trace context travels in W3C `traceparent` headers.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Flushes pending spans when dropped; keep it alive for the life of the process.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("trace export shutdown failed: {err}");
        }
    }
}

/// Installs the global subscriber (logs filtered by `log_filter`, and, when
/// `otlp_endpoint` is set, traces of the spans `traces_filter` lets through, sampled as
/// `OTEL_TRACES_SAMPLER` says) and the W3C trace-context propagator. Call once, first
/// thing in `main`.
pub fn init(
    default_service_name: &str,
    config: &TelemetryConfig,
) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&config.log_filter)?;
    let fmt = match config.log_format {
        // Colours only for a terminal: piped into a file or `make run`'s log stream they
        // would be escape codes.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_target(true)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed(),
    };

    let service_name = config
        .service_name
        .clone()
        .unwrap_or_else(|| default_service_name.to_owned());
    let provider = match &config.otlp_endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint.clone())
                .build()?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(service_name.clone())
                        .build(),
                )
                .build();
            opentelemetry::global::set_tracer_provider(provider.clone());
            Some(provider)
        }
        None => None,
    };
    // Each layer has its own filter: the log level does not decide which spans become
    // traces.
    let otel = match &provider {
        Some(p) => Some(
            tracing_opentelemetry::layer()
                .with_tracer(p.tracer(service_name))
                .with_filter(EnvFilter::try_new(&config.traces_filter)?),
        ),
        None => None,
    };

    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

/// A subscriber for tests: compact logs filtered by `RUST_LOG` (default `warn`), installed
/// at most once per process.
pub fn init_for_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
