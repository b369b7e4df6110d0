//! The schemas shared between processes: gRPC services of auth, rooms, history and files, and
//! the payloads carried by Redis and RabbitMQ.

/// Version 1 of the chat schemas (`package chat.v1`).
pub mod v1 {
    tonic::include_proto!("chat.v1");
}
