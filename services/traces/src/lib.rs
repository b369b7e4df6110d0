//! An OTLP/gRPC trace receiver (`opentelemetry.proto.collector.trace.v1.TraceService`)
//! that keeps what it is sent, and renders a trace as an indented tree: what
//! `chat-traces` prints for `make run TRACES=1`, and what the end-to-end test inspects.

pub mod receiver;
pub mod tree;

pub use receiver::{Received, Receiver, attribute};
