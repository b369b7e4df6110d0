//! What every chat service shares: a typed configuration read from the environment,
//! structured logs and OpenTelemetry traces, trace context across gRPC, the gRPC and ops
//! listeners with their drain, graceful shutdown, health and Prometheus metrics over
//! HTTP, database setup with migrations, the Redis connection, the rich gRPC error model,
//! and access-token verification.

pub mod config;
pub mod database;
pub mod grpc_server;
pub mod grpc_trace;
pub mod ops;
pub mod redis_connection;
pub mod redis_subscriber;
pub mod shutdown;
pub mod status;
pub mod telemetry;
pub mod time;
pub mod token;
