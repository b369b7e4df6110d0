//! Receiving spans over OTLP/gRPC.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::{Request, Response, Status};

/// A span as received, with the `service.name` of the process that sent it.
#[derive(Clone, Debug)]
pub struct Received {
    pub service: String,
    pub span: Span,
}

/// Keeps every span it is sent, in arrival order.
#[derive(Clone, Default)]
pub struct Receiver(Arc<Mutex<Vec<Received>>>);

impl Receiver {
    /// Serves OTLP/gRPC on `addr` until the returned task is aborted.
    pub fn serve(
        &self,
        addr: SocketAddr,
    ) -> tokio::task::JoinHandle<Result<(), tonic::transport::Error>> {
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve(addr),
        )
    }

    /// What was received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the spans received so far, leaving none.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|resource| string_value(&resource.attributes, "service.name"))
                .unwrap_or_default()
                .to_owned();
            for scope in resource_spans.scope_spans {
                kept.extend(scope.spans.into_iter().map(|span| Received {
                    service: service.clone(),
                    span,
                }));
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A string attribute of `span`.
pub fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    string_value(&span.attributes, key)
}

fn string_value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Any::StringValue(text) => Some(text.as_str()),
            _ => None,
        }
    })
}
