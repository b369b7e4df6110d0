//! What can go wrong on the bus.

/// A failure to publish to, or read from, the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis could not be reached or refused the command.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A payload on a channel was not the protobuf message it should be.
    #[error("undecodable payload: {0}")]
    Decode(#[from] prost::DecodeError),
}
