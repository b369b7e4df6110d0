//! The whole chat stack in one process, isolated, for tests and benchmarks.
//!
//! Real auth, rooms and history services and gateways run inside the calling process on
//! port 0, against the machine's real PostgreSQL, Redis and RabbitMQ. Each [`Scope`] owns
//! uniquely named databases, a Redis key prefix and a persist queue, so any number of
//! stacks run side by side and twice in a row; dropping the scope stops its services and
//! removes all of it.
//!
//! - [`scope`]: the names one test owns, and their teardown.
//! - [`services`]: starting one service (or a gateway) in a scope, with flags to tune it.
//! - [`stack`]: auth, rooms, history and gateways started together.
//! - [`mail`]: the mail the scope's auth service wrote.
//! - [`socket`]: a WebSocket client that speaks the chat protocol as a test needs.

pub mod mail;
pub mod scope;
pub mod services;
pub mod socket;
pub mod stack;

use std::time::Duration;

pub use scope::Scope;
pub use services::{FileStorage, Flags, Gateway, Service, Upstreams};
pub use stack::{Stack, StackOptions};

/// How long a test waits for something that should happen before it fails: a guard
/// against hanging, not a timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(20);
