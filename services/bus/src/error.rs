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
    /// The caller passed something the bus cannot carry (for example an item without a room).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// RabbitMQ could not be reached, or the connection or channel failed.
    #[error("amqp: {0}")]
    Amqp(#[from] lapin::Error),
    /// The broker did not take responsibility for a message (nack, or unroutable).
    #[error("broker refused the message: {0}")]
    Refused(String),
    /// The broker did not answer in time (for a publish: it may or may not be stored).
    #[error("{what}: no answer within {after:?}")]
    Timeout {
        what: &'static str,
        after: std::time::Duration,
    },
}
