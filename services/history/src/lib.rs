//! The history service: every room's sequence stored in PostgreSQL.
//!
//! Gateways publish each sequenced `RoomEnvelope` to the RabbitMQ quorum queue
//! `chat.messages.persist`; [`consumer`] stores them in batches, idempotently, and
//! acknowledges only what is committed. [`sweeper`] stores envelopes that were fanned out
//! but never reached the broker (their pending records in Redis). [`grpc`] serves the
//! stored sequences: entries after a position (catch-up), message pages by position
//! cursor, and the latest position.

pub mod config;
pub mod consumer;
pub mod entry;
pub mod error;
pub mod grpc;
pub mod notify;
pub mod search;
pub mod startup;
pub mod store;
pub mod sweeper;

pub use config::{Command, Config};
pub use error::Error;
pub use startup::{App, MIGRATOR, migrate};
